package provision

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/httpx"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// ssoFixture is an app set up in the emulated tenant, with the request sso would build for it
// and the policy ids it was told to record.
type ssoFixture struct {
	*fixture
	c        *SSOConfigurator
	req      SSORequest
	recorded []string
}

func newSSOFixture(t *testing.T) *ssoFixture {
	t.Helper()
	f, res := setUpApp(t)
	st, err := f.setup.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	st.Tenant = f.tenant.TenantID() // cmd records it at sign-in
	req, err := NewSSORequest(t.Context(), f.client, st, res.ServicePrincipalID)
	if err != nil {
		t.Fatal(err)
	}
	s := &ssoFixture{fixture: f, req: req}
	s.c = &SSOConfigurator{Graph: f.client, Claims: f.client, Cloud: f.cfg.Cloud, Now: time.Now}
	s.req.OnClaimsPolicy = func(id string) error { s.recorded = append(s.recorded, id); return nil }
	return s
}

// run runs sso with the fixture's request changed by edit.
func (s *ssoFixture) run(t *testing.T, edit func(*SSORequest)) (*SSOResult, error) {
	t.Helper()
	req := s.req
	edit(&req)
	return s.c.Run(t.Context(), req)
}

func (s *ssoFixture) enable(t *testing.T, claims *ClaimsSpec) {
	t.Helper()
	if _, err := s.run(t, func(r *SSORequest) {
		r.Identifier, r.ReplyURL, r.Claims = "https://x.invicti.com/sp", "https://x.invicti.com/acs", claims
	}); err != nil {
		t.Fatal(err)
	}
}

func mailNameID() *ClaimsSpec {
	return &ClaimsSpec{Mappings: []ClaimMapping{{Claim: samlClaimNS + "nameidentifier", Source: "user.mail"}}}
}

// clientWithout is a Graph client for the same tenant whose token lacks the given permissions.
func clientWithout(t *testing.T, f *fixture, perms ...string) *graph.Client {
	t.Helper()
	var scopes []string
	for _, s := range entratest.DefaultScopes {
		if !slices.Contains(perms, s) {
			scopes = append(scopes, s)
		}
	}
	p := entratest.Principal{UPN: entratest.DefaultAdminUPN, Scopes: scopes, Roles: []string{entratest.RoleApplicationAdministrator}}
	tok := entratest.MakeToken(f.tenant.TenantID(), p)
	f.tenant.AddToken(tok, p)
	c, err := graph.New(graph.Options{RootURL: f.tenant.URL, Credential: graph.StaticToken(tok), HTTPClient: &http.Client{Transport: &httpx.Retry{Sleep: noSleep}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// --claims alone on an app with SAML on keeps its URLs and certificate and changes only the
// claims; on an app without SAML it is a usage error naming the flags that turn SAML on, and
// nothing is written.
func TestSSOClaimsAlone(t *testing.T) {
	s := newSSOFixture(t)
	spID := s.req.ServicePrincipalID

	s.tenant.ResetRequests()
	_, err := s.run(t, func(r *SSORequest) { r.Claims, r.ClaimsOnly = &ClaimsSpec{Default: true}, true })
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--identifier and --reply-url") || !strings.Contains(err.Error(), "SAML single sign-on is off") {
		t.Fatalf("--claims alone without SAML: %v, want a usage error naming --identifier and --reply-url", err)
	}
	if w := s.tenant.Writes(); len(w) != 0 {
		t.Fatalf("a refused --claims wrote %+v", w)
	}

	s.enable(t, nil)
	before := s.tenant.SSOSettings(spID)
	s.tenant.ResetRequests()
	res, err := s.run(t, func(r *SSORequest) { r.Claims, r.ClaimsOnly = mailNameID(), true })
	if err != nil {
		t.Fatal(err)
	}
	after := s.tenant.SSOSettings(spID)
	if !slices.Equal(after.IdentifierURIs, before.IdentifierURIs) || !slices.Equal(after.RedirectURIs, before.RedirectURIs) ||
		len(after.SigningCertsExpiry) != len(before.SigningCertsExpiry) || after.Mode != "saml" {
		t.Errorf("--claims alone changed SAML: before %+v, after %+v", before, after)
	}
	for _, w := range s.tenant.Writes() {
		if !strings.Contains(w.Path, "claimsMappingPolicies") {
			t.Errorf("--claims alone wrote %s %s", w.Method, w.Path)
		}
	}
	assigned, _ := s.tenant.ClaimsPolicies(spID)
	if len(assigned) != 1 || res.Claims == nil || res.Claims.PolicyID != assigned[0].ID || !slices.Equal(res.IdentifierURIs, before.IdentifierURIs) {
		t.Fatalf("claims %+v, assigned %+v, identifiers %v", res.Claims, assigned, res.IdentifierURIs)
	}
	if !slices.Equal(s.recorded, []string{assigned[0].ID}) {
		t.Errorf("recorded %v, want the new policy's id", s.recorded)
	}

	// --claims default alone removes it, and the record goes.
	if _, err := s.run(t, func(r *SSORequest) { r.Claims, r.ClaimsOnly = &ClaimsSpec{Default: true}, true }); err != nil {
		t.Fatal(err)
	}
	if _, total := s.tenant.ClaimsPolicies(spID); total != 0 || !slices.Equal(s.recorded, []string{assigned[0].ID, ""}) {
		t.Errorf("after --claims default: %d policies, recorded %v", total, s.recorded)
	}
}

// sso --disable removes the tool's claims-mapping policy with SAML, says so in its steps and
// result, and forgets the recorded id; a policy it did not make stays.
func TestSSODisableRemovesOurClaimsPolicy(t *testing.T) {
	s := newSSOFixture(t)
	spID := s.req.ServicePrincipalID
	s.enable(t, mailNameID())
	assigned, _ := s.tenant.ClaimsPolicies(spID)
	if len(assigned) != 1 {
		t.Fatalf("%d policies assigned", len(assigned))
	}

	// Dry run: planned, not done.
	s.tenant.ResetRequests()
	dry, err := s.run(t, func(r *SSORequest) { r.Disable, r.DryRun = true, true })
	if err != nil || len(dry.ClaimsPolicies) != 1 || dry.ClaimsPolicies[0].Outcome != PolicyWillDelete || len(s.tenant.Writes()) != 0 {
		t.Fatalf("dry run: %+v, %v, writes %v", dry, err, s.tenant.Writes())
	}

	res, err := s.run(t, func(r *SSORequest) { r.Disable = true })
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(res.Steps, func(st SSOStep) bool { return st.Name == "remove claims-mapping policy" })
	if i < 0 || res.Steps[i].Outcome != Updated || !strings.Contains(res.Steps[i].Detail, ClaimsPolicyPrefix) {
		t.Errorf("steps %+v: want the policy's removal", res.Steps)
	}
	if len(res.ClaimsPolicies) != 1 || res.ClaimsPolicies[0].ID != assigned[0].ID || res.ClaimsPolicies[0].Outcome != PolicyDeleted ||
		res.Claims == nil || !res.Claims.Default || len(res.Warnings) != 0 {
		t.Errorf("result: policies %+v, claims %+v, warnings %v", res.ClaimsPolicies, res.Claims, res.Warnings)
	}
	if _, total := s.tenant.ClaimsPolicies(spID); total != 0 {
		t.Errorf("%d policies left in the tenant", total)
	}
	if s.tenant.SSOSettings(spID).Mode != "" {
		t.Errorf("SAML is still on")
	}
	if s.recorded[len(s.recorded)-1] != "" {
		t.Errorf("recorded %v: want the id forgotten", s.recorded)
	}

	// A foreign policy is left, and said to be.
	s.tenant.AssignForeignClaimsPolicy(spID, "Contoso claims")
	res, err = s.run(t, func(r *SSORequest) { r.Disable = true })
	if err != nil || len(res.ClaimsPolicies) != 1 || res.ClaimsPolicies[0].Outcome != PolicyLeft || res.ClaimsPolicies[0].Reason != "not made by invicti-scim" {
		t.Fatalf("disable with a foreign policy: %+v, %v", res, err)
	}
	if _, total := s.tenant.ClaimsPolicies(spID); total != 1 {
		t.Errorf("the foreign policy was deleted")
	}
}

// When the policy cannot be deleted (no Policy.ReadWrite.ApplicationConfiguration), SAML is
// still turned off and a warning names the policy and a way to remove it that works with SAML
// off: sso --disable again, which then does remove it.
func TestSSODisableLeavesPolicyItCannotDelete(t *testing.T) {
	s := newSSOFixture(t)
	spID := s.req.ServicePrincipalID
	s.enable(t, mailNameID())
	assigned, _ := s.tenant.ClaimsPolicies(spID)
	weak := &SSOConfigurator{Graph: s.client, Claims: clientWithout(t, s.fixture, PermPolicyWrite), Cloud: s.cfg.Cloud, Now: time.Now}
	req := s.req
	req.Disable = true
	res, err := weak.Run(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if s.tenant.SSOSettings(spID).Mode != "" {
		t.Errorf("SAML is still on")
	}
	if len(res.ClaimsPolicies) != 1 || res.ClaimsPolicies[0].Outcome != PolicyLeft || len(res.Warnings) != 1 ||
		!strings.Contains(res.Warnings[0], assigned[0].ID) || !strings.Contains(res.Warnings[0], "`invicti-scim sso --disable` again") {
		t.Fatalf("policies %+v, warnings %v", res.ClaimsPolicies, res.Warnings)
	}
	if st := res.Steps[len(res.Steps)-1]; st.Outcome != Failed {
		t.Errorf("last step %+v: want failed", st)
	}
	if _, total := s.tenant.ClaimsPolicies(spID); total != 1 {
		t.Errorf("%d policies, want the one left", total)
	}
	// The hint works: --disable again, with the permission, removes it.
	if _, err := s.run(t, func(r *SSORequest) { r.Disable = true }); err != nil {
		t.Fatal(err)
	}
	if _, total := s.tenant.ClaimsPolicies(spID); total != 0 {
		t.Errorf("sso --disable again left %d policies", total)
	}
}

// With Policy.Read.All but without Policy.ReadWrite.ApplicationConfiguration, teardown's plan
// says the policy will probably be left; the real run then reports what happened instead.
func TestTeardownPlanWarnsWithoutPolicyWrite(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	spID := res.ServicePrincipalID
	p := ourClaimsPolicy(t, f, spID)
	own := Ownership{TemplateID: f.cfg.Cloud.TemplateID, Recorded: spID, What: "only ours"}
	weak := clientWithout(t, f, PermPolicyWrite)
	probably := func(ws []string) bool {
		return slices.ContainsFunc(ws, func(w string) bool {
			return strings.Contains(w, "lacks "+PermPolicyWrite) && strings.Contains(w, "will probably be left") && strings.Contains(w, p.ID)
		})
	}
	dry, err := Teardown(ctx, weak, TeardownRequest{ServicePrincipalID: spID, Ownership: own, DryRun: true})
	if err != nil || !probably(dry.Warnings) {
		t.Fatalf("dry run: %v, warnings %v", err, dry.Warnings)
	}
	// The full token: no such warning.
	full, err := Teardown(ctx, f.client, TeardownRequest{ServicePrincipalID: spID, Ownership: own, DryRun: true})
	if err != nil || len(full.Warnings) != 0 {
		t.Fatalf("dry run with the full token: %v, warnings %v", err, full.Warnings)
	}
	var plan TeardownPlan
	td, err := Teardown(ctx, weak, TeardownRequest{ServicePrincipalID: spID, Ownership: own,
		Confirm: func(pl TeardownPlan) (bool, error) { plan = pl; return true, nil }})
	if err != nil || !probably(plan.Warnings) {
		t.Fatalf("confirmation: %v, warnings %v", err, plan.Warnings)
	}
	if probably(td.Warnings) || len(td.ClaimsPolicies) != 1 || td.ClaimsPolicies[0].Outcome != PolicyLeft {
		t.Errorf("after the run: policies %+v, warnings %v", td.ClaimsPolicies, td.Warnings)
	}
}

// When the app was deleted elsewhere, teardown deletes the claims-mapping policy the state
// recorded for it (nothing else leads to it any more), and warns with its id when it cannot.
func TestTeardownGoneAppDeletesRecordedPolicy(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	spID := res.ServicePrincipalID
	p := ourClaimsPolicy(t, f, spID)
	f.tenant.DeleteAppBehindBack(spID)
	own := Ownership{TemplateID: f.cfg.Cloud.TemplateID, Recorded: spID, What: "only ours"}
	req := TeardownRequest{ServicePrincipalID: spID, Ownership: own, KnownClaimsPolicyID: p.ID}

	// Refused: left, with the id and the Graph call.
	f.tenant.InjectFault(entratest.Fault{Method: "DELETE", Path: regexp.MustCompile(`/policies/claimsMappingPolicies/`), Status: 403, Times: 1})
	td, err := Teardown(ctx, f.client, req)
	if err != nil || td.Outcome != "already-gone" || len(td.ClaimsPolicies) != 1 || td.ClaimsPolicies[0].Outcome != PolicyLeft ||
		len(td.Warnings) != 1 || !strings.Contains(td.Warnings[0], "DELETE /policies/claimsMappingPolicies/"+p.ID) {
		t.Fatalf("refused delete: %+v, %v", td, err)
	}

	f.tenant.ResetRequests()
	dry := req
	dry.DryRun = true
	td, err = Teardown(ctx, f.client, dry)
	if err != nil || td.Outcome != "already-gone" || len(td.ClaimsPolicies) != 1 || td.ClaimsPolicies[0].Outcome != PolicyWillDelete || len(f.tenant.Writes()) != 0 {
		t.Fatalf("dry run: %+v, %v, writes %v", td, err, f.tenant.Writes())
	}

	td, err = Teardown(ctx, f.client, req)
	if err != nil || td.Outcome != "already-gone" || len(td.ClaimsPolicies) != 1 || td.ClaimsPolicies[0].Outcome != PolicyDeleted || len(td.Warnings) != 0 {
		t.Fatalf("teardown: %+v, %v", td, err)
	}
	if _, total := f.tenant.ClaimsPolicies(spID); total != 0 {
		t.Errorf("%d policies left", total)
	}
	// Again: the policy is gone, nothing to say.
	td, err = Teardown(ctx, f.client, req)
	if err != nil || len(td.ClaimsPolicies) != 0 || len(td.Warnings) != 0 {
		t.Errorf("again: %+v, %v", td, err)
	}
}

// A policy the state names that another app uses now, or that is not the tool's, is left.
func TestTeardownGoneAppLeavesPolicyInUse(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	spID := res.ServicePrincipalID
	other := f.tenant.AddApp("Other")
	p := ourClaimsPolicy(t, f, other.ServicePrincipalID)
	f.tenant.DeleteAppBehindBack(spID)
	td, err := Teardown(ctx, f.client, TeardownRequest{ServicePrincipalID: spID, KnownClaimsPolicyID: p.ID,
		Ownership: Ownership{TemplateID: f.cfg.Cloud.TemplateID, Recorded: spID, What: "only ours"}})
	if err != nil || len(td.ClaimsPolicies) != 1 || td.ClaimsPolicies[0].Outcome != PolicyLeft || !strings.Contains(td.ClaimsPolicies[0].Reason, other.ServicePrincipalID) {
		t.Fatalf("teardown: %+v, %v", td, err)
	}
	if _, total := f.tenant.ClaimsPolicies(other.ServicePrincipalID); total != 1 {
		t.Errorf("the policy in use was deleted")
	}
}

// The recorder writes the id into the state of the app it was made for, and only there.
func TestClaimsPolicyRecorder(t *testing.T) {
	store := state.Store{Dir: t.TempDir()}
	if err := store.Save(state.State{App: &state.App{ServicePrincipalID: "sp-1"}}); err != nil {
		t.Fatal(err)
	}
	if err := ClaimsPolicyRecorder(store, "sp-2")("p-0"); err != nil {
		t.Fatal(err)
	}
	if err := ClaimsPolicyRecorder(store, "sp-1")("p-1"); err != nil {
		t.Fatal(err)
	}
	st, _ := store.Load()
	if st.App.ClaimsPolicyID != "p-1" {
		t.Errorf("recorded %q, want p-1", st.App.ClaimsPolicyID)
	}
}

// When a change of claims cannot delete the old policy (already unassigned), the error names
// the Graph call that removes it, and that call works; the new policy is recorded.
func TestSSOClaimsChangeNamesWorkingFixForOldPolicy(t *testing.T) {
	s := newSSOFixture(t)
	spID := s.req.ServicePrincipalID
	s.enable(t, mailNameID())
	old, _ := s.tenant.ClaimsPolicies(spID)
	s.tenant.InjectFault(entratest.Fault{Method: "DELETE", Path: regexp.MustCompile(`/policies/claimsMappingPolicies/`), Status: 403, Times: 1})
	_, err := s.run(t, func(r *SSORequest) {
		r.ClaimsOnly, r.Claims = true, &ClaimsSpec{Mappings: []ClaimMapping{{Claim: samlClaimNS + "nameidentifier", Source: "user.userprincipalname"}}}
	})
	if err == nil || !strings.Contains(err.Error(), "DELETE /policies/claimsMappingPolicies/"+old[0].ID) {
		t.Fatalf("err %v: want the Graph call that deletes %s", err, old[0].ID)
	}
	now, total := s.tenant.ClaimsPolicies(spID)
	if len(now) != 1 || total != 2 || s.recorded[len(s.recorded)-1] != now[0].ID {
		t.Fatalf("assigned %+v, %d in the tenant, recorded %v", now, total, s.recorded)
	}
	if err := s.client.DeleteClaimsPolicy(t.Context(), old[0].ID); err != nil {
		t.Fatalf("the named call: %v", err)
	}
	if _, total := s.tenant.ClaimsPolicies(spID); total != 1 {
		t.Errorf("%d policies after the named call, want 1", total)
	}
}
