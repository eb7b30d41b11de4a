package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// doctor checks the app --sp-id or --app-id names (found by ResolveApp), not the one in the
// state: a real app the state does not record passes under "App" and "Job", an id that names
// no app fails with the flag in the fix.
func TestDoctorNamedApp(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	checks := func(st state.State, ref AppRef) (*DoctorReport, map[string]DoctorCheck) {
		rep := Doctor(ctx, DoctorRequest{State: st, App: ref, Graph: f.client, Cloud: f.cfg.Cloud, InvictiErr: errors.New("no secret")})
		m := map[string]DoctorCheck{}
		for _, c := range rep.Checks {
			m[c.Name] = c
		}
		return rep, m
	}
	empty := state.State{Tenant: f.tenant.TenantID()}
	for _, ref := range []AppRef{{SPID: res.ServicePrincipalID}, {AppID: res.AppID}} {
		_, m := checks(empty, ref)
		if c := m["App"]; !c.OK || !strings.Contains(c.Detail, res.ServicePrincipalID) {
			t.Errorf("%+v: App %+v", ref, c)
		}
		if c := m["Job"]; !c.OK || !strings.Contains(c.Detail, res.JobID) {
			t.Errorf("%+v: Job %+v (all %+v)", ref, c, m)
		}
		if _, ok := m["App in state"]; ok {
			t.Errorf("%+v: checked the state's app too", ref)
		}
	}

	st, err := f.setup.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	st.Tenant = f.tenant.TenantID()
	for _, ref := range []AppRef{{SPID: "00000000-0000-4000-8000-000000000000"}, {AppID: "00000000-0000-4000-8000-000000000000"}} {
		rep, m := checks(st, ref)
		c := m["App"]
		if rep.OK || c.OK || !strings.Contains(c.Detail, "00000000-0000-4000-8000-000000000000") || !strings.Contains(c.Fix, ref.flag()) {
			t.Errorf("%+v: OK %v, App %+v", ref, rep.OK, c)
		}
		if _, ok := m["App in state"]; ok {
			t.Errorf("%+v: checked the state's app instead", ref)
		}
	}
}

// A malformed --sp-id or --app-id is a usage error naming the flag and the value, by the one
// rule every command uses.
func TestAppRefValidate(t *testing.T) {
	for _, tc := range []struct {
		ref  AppRef
		want string
	}{
		{AppRef{SPID: "not-a-guid"}, `--sp-id "not-a-guid": expected an object id (GUID)`},
		{AppRef{AppID: "x"}, `--app-id "x": expected an appId (GUID)`},
	} {
		err := tc.ref.Validate()
		if err == nil || err.Error() != tc.want || Classify(err) != KindUsage {
			t.Errorf("%+v: %v, want usage error %q", tc.ref, err, tc.want)
		}
	}
	if err := (AppRef{SPID: "00000000-0000-4000-8000-000000000000"}).Validate(); err != nil {
		t.Errorf("a GUID: %v", err)
	}
}

// refusingGraph is a tenant whose Graph refuses the token on every app read, the way Graph
// answers a malformed or other-tenant token: 401 InvalidAuthenticationToken (pkg/entratest
// answers "IDX14100: JWT is not well formed" for a token that is not a JWT). notJWT makes its
// claims unreadable too.
type refusingGraph struct {
	DoctorGraph
	notJWT bool
}

var errRefused = &graph.Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "IDX14100: JWT is not well formed, there are no dots (.)."}

func (g refusingGraph) TokenClaims(ctx context.Context) (graph.Claims, error) {
	if g.notJWT {
		return graph.Claims{}, graph.ErrNotJWT
	}
	return g.DoctorGraph.TokenClaims(ctx)
}

func (refusingGraph) ServicePrincipal(context.Context, string) (graph.ServicePrincipal, error) {
	return graph.ServicePrincipal{}, errRefused
}

func (refusingGraph) FindServicePrincipals(context.Context, string) ([]graph.ServicePrincipal, error) {
	return nil, errRefused
}

// A token Graph refuses is a failed Graph sign-in with the sign-in fix, by the rule every
// command uses (TokenRefused): never a missing permission, and Err is a sign-in problem
// (KindAuth, exit 4). It used to fail "App in state" with "needs Application.ReadWrite.All".
func TestDoctorRefusedToken(t *testing.T) {
	f, _ := setUpApp(t)
	st, err := f.setup.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		st   state.State
		g    refusingGraph
	}{
		{"not a JWT, app recorded", st, refusingGraph{DoctorGraph: f.client, notJWT: true}},
		{"not a JWT, no app", state.State{}, refusingGraph{DoctorGraph: f.client, notJWT: true}},
		{"readable claims", st, refusingGraph{DoctorGraph: f.client}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := Doctor(t.Context(), DoctorRequest{State: tc.st, Graph: tc.g, Cloud: f.cfg.Cloud, InvictiErr: errors.New("no secret")})
			var signIn *DoctorCheck
			for i, c := range rep.Checks {
				if c.Name == "Graph sign-in" {
					signIn = &rep.Checks[i]
				}
				if strings.Contains(c.Fix, "needs ") || strings.Contains(c.Fix, "Application.ReadWrite.All") {
					t.Errorf("check %q blames a permission: %+v", c.Name, c)
				}
				if c.Name != "Graph sign-in" && c.Status == "fail" {
					t.Errorf("check %q fails for the token: %+v", c.Name, c)
				}
			}
			if signIn == nil || signIn.OK || signIn.Status != "fail" || signIn.Fix != SignInAgain || !strings.Contains(signIn.Detail, "did not accept") {
				t.Fatalf("Graph sign-in check %+v (all %+v)", signIn, rep.Checks)
			}
			err := rep.Err()
			if rep.OK || err == nil || Classify(err) != KindAuth || Hint(err) != SignInAgain {
				t.Errorf("OK %v, Err %v (kind %v, hint %q)", rep.OK, err, Classify(err), Hint(err))
			}
		})
	}
}

// A report's failed checks decide its kind: a sign-in or permission check among them is a
// sign-in problem (exit 4, hinted with that check's fix, whatever else failed); the direct
// Invicti check alone is a failed connection test (exit 3, as test-connection); anything else is
// an ordinary failure (exit 1) with the first fix as the hint. The message names the failed
// checks; a passing report has no error. Permissions and a failed Invicti check used to exit 1.
func TestDoctorReportErr(t *testing.T) {
	ok := DoctorCheck{Name: "Graph sign-in", OK: true}
	invicti := DoctorCheck{Name: "Invicti credentials", Fix: "re-create the client"}
	for _, tc := range []struct {
		name     string
		checks   []DoctorCheck
		kind     ErrorKind
		names    string
		wantHint string
	}{
		{"other checks", []DoctorCheck{ok, {Name: "state file", Fix: "move it"}, {Name: "B", Fix: "later"}}, KindFailed, "2 checks failed: state file, B", "move it"},
		{"permissions", []DoctorCheck{ok, {Name: "Graph permissions", Fix: "grant Synchronization.ReadWrite.All"}}, KindAuth, "1 check failed: Graph permissions", "grant Synchronization.ReadWrite.All"},
		{"directory role beside others", []DoctorCheck{{Name: "state file", Fix: "move it"}, {Name: "Directory role", Fix: "ask for a role"}, invicti}, KindAuth, "3 checks failed: state file, Directory role, Invicti credentials", "ask for a role"},
		{"no sign-in", []DoctorCheck{{Name: "Graph sign-in", Fix: "set INVICTI_SCIM_GRAPH_TOKEN"}, {Name: "Invicti credentials", OK: true, Status: "skip"}}, KindAuth, "1 check failed: Graph sign-in", "set INVICTI_SCIM_GRAPH_TOKEN"},
		{"another tenant", []DoctorCheck{{Name: "Tenant", Fix: "sign in to the tenant"}, ok}, KindAuth, "1 check failed: Tenant", "sign in to the tenant"},
		{"Invicti alone", []DoctorCheck{ok, invicti}, KindConnection, "1 check failed: Invicti credentials", "re-create the client"},
		{"Invicti and another", []DoctorCheck{ok, invicti, {Name: "App in state", Fix: "run setup"}}, KindFailed, "2 checks failed: Invicti credentials, App in state", "re-create the client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&DoctorReport{Checks: tc.checks}).Err()
			if err == nil || Classify(err) != tc.kind || err.Error() != "doctor: "+tc.names || Hint(err) != tc.wantHint {
				t.Errorf("Err %v (kind %v, hint %q), want kind %v, %q, hint %q", err, Classify(err), Hint(err), tc.kind, tc.names, tc.wantHint)
			}
		})
	}
	if err := (&DoctorReport{OK: true}).Err(); err != nil {
		t.Errorf("passing report: %v", err)
	}
}

// A token whose claims cannot be read because its payload does not decode ("a.b.c") is the
// same case as one that is not a JWT: doctor asks Graph, and a refusal is a failed sign-in with
// the standard fix (exit 4). It used to fail "decode token payload" with its own fix (exit 1).
func TestDoctorUnreadableToken(t *testing.T) {
	f, _ := setUpApp(t)
	rep := Doctor(t.Context(), DoctorRequest{Graph: garbledGraph{refusingGraph{DoctorGraph: f.client}}, Cloud: f.cfg.Cloud, InvictiErr: errors.New("no secret")})
	var signIn DoctorCheck
	for _, c := range rep.Checks {
		if c.Name == "Graph sign-in" {
			signIn = c
		}
	}
	if signIn.OK || signIn.Fix != SignInAgain || !strings.Contains(signIn.Detail, "did not accept the access token") {
		t.Errorf("Graph sign-in %+v", signIn)
	}
	if err := rep.Err(); Classify(err) != KindAuth || Hint(err) != SignInAgain {
		t.Errorf("Err %v (kind %v, hint %q)", err, Classify(err), Hint(err))
	}
}

// garbledGraph hands out the token "a.b.c": three parts, a payload that is not base64url.
type garbledGraph struct{ refusingGraph }

func (garbledGraph) TokenClaims(context.Context) (graph.Claims, error) {
	return graph.ParseClaims("a.b.c")
}
