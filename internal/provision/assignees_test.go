package provision

import (
	"errors"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// setup's --assign-* are looked up before anything exists: names that do not resolve are one
// usage error naming each flag and value (quoted for a shell), found with reads only.
func TestResolveAssigneesRefusesWithReadsOnly(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	_, err := ResolveAssignees(t.Context(), f.client, []string{"nobody@contoso.example", "erin@contoso.example"}, []string{"No Such Group"})
	var ue *UsageError
	if !errors.As(err, &ue) || Classify(err) != KindUsage {
		t.Fatalf("err = %v, want a usage error", err)
	}
	for _, want := range []string{"--assign-user nobody@contoso.example: no user with this user principal name or mail",
		"--assign-user erin@contoso.example: the account is disabled", "--assign-group 'No Such Group': no group named No Such Group"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if Hint(err) != FixAssignees {
		t.Errorf("hint %q", Hint(err))
	}
	for _, r := range f.tenant.Requests() {
		if r.Method != "GET" && !strings.HasSuffix(r.Path, "/$batch") {
			t.Errorf("a write while resolving: %s %s", r.Method, r.Path)
		}
	}
	if len(f.tenant.Writes()) != 0 {
		t.Errorf("writes: %v", f.tenant.Writes())
	}
	before := len(f.tenant.Requests())
	if items, err := ResolveAssignees(t.Context(), f.client, nil, nil); items != nil || err != nil || len(f.tenant.Requests()) != before {
		t.Errorf("nothing to assign: %v, %v with %d requests; want no request", items, err, len(f.tenant.Requests())-before)
	}
}

// The assignment after setup reuses the lookups: no user or group is looked up twice.
func TestAfterSetupReusesTheResolution(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	users, groups := []string{"alice@contoso.example"}, []string{"Invicti Users"}
	resolved, err := ResolveAssignees(t.Context(), f.client, users, groups)
	if err != nil {
		t.Fatal(err)
	}
	f.tenant.ResetRequests()
	x, err := (&AfterSetup{Graph: f.client}).Run(t.Context(), AfterSetupRequest{ServicePrincipalID: res.ServicePrincipalID, JobID: res.JobID,
		Users: users, Groups: groups, Resolved: resolved})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range x.Assign.Items {
		if it.Status != StatusAssigned {
			t.Errorf("%s: %s %s", it.Input, it.Status, it.Error)
		}
	}
	for _, r := range f.tenant.Requests() {
		if r.Method == "GET" && (strings.HasPrefix(r.Path, "/v1.0/users") || strings.HasPrefix(r.Path, "/v1.0/groups")) {
			t.Errorf("looked up again: %s %s?%s", r.Method, r.Path, r.Query)
		}
	}
}
