package provision

import (
	"errors"
	"strings"
	"testing"

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
