package provision

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// ourClaimsPolicy creates the policy `sso --claims default` would make for f's app (our name,
// Entra's default claims) and assigns it to each of spIDs.
func ourClaimsPolicy(t *testing.T, f *fixture, spIDs ...string) graph.ClaimsPolicy {
	t.Helper()
	p, err := f.client.CreateClaimsPolicy(t.Context(), ClaimsPolicyPrefix+f.cfg.AppName, ClaimsDefinition(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range spIDs {
		if err := f.client.AssignClaimsPolicy(t.Context(), sp, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// Teardown deletes the claims-mapping policy sso --claims made for the app (read while the
// service principal exists, deleted before the app), shows it in the plan and in a dry run
// (which changes nothing), and never deletes a policy it did not make or one another app
// still uses.
func TestTeardownDeletesOurClaimsPolicy(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	spID := res.ServicePrincipalID
	own := Ownership{TemplateID: f.cfg.Cloud.TemplateID, Recorded: spID, What: "only ours"}
	ours, err := f.client.CreateClaimsPolicy(ctx, ClaimsPolicyPrefix+f.cfg.AppName, ClaimsDefinition([]ClaimMapping{{Claim: samlClaimNS + "nameidentifier", Source: "user.mail"}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.client.AssignClaimsPolicy(ctx, spID, ours.ID); err != nil {
		t.Fatal(err)
	}

	// Dry run: the plan names the policy, nothing is written.
	f.tenant.ResetRequests()
	dry, err := Teardown(ctx, f.client, TeardownRequest{ServicePrincipalID: spID, Ownership: own, DryRun: true,
		Confirm: func(TeardownPlan) (bool, error) { t.Fatal("a dry run asked to confirm"); return false, nil }})
	if err != nil || dry.Outcome != "will-delete" || len(dry.ClaimsPolicies) != 1 || dry.ClaimsPolicies[0].ID != ours.ID ||
		dry.ClaimsPolicies[0].Outcome != PolicyWillDelete || len(dry.Warnings) != 0 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if w := f.tenant.Writes(); len(w) != 0 {
		t.Fatalf("a dry run wrote %+v", w)
	}

	// The plan handed to Confirm lists the policy; the run deletes it, then the app.
	var plan TeardownPlan
	td, err := Teardown(ctx, f.client, TeardownRequest{ServicePrincipalID: spID, Ownership: own,
		Confirm: func(p TeardownPlan) (bool, error) { plan = p; return true, nil }})
	if err != nil || td.Outcome != "deleted" || len(td.ClaimsPolicies) != 1 || td.ClaimsPolicies[0].Outcome != PolicyDeleted {
		t.Fatalf("teardown: %+v, %v", td, err)
	}
	if len(plan.ClaimsPolicies) != 1 || plan.ClaimsPolicies[0].DisplayName != ClaimsPolicyPrefix+f.cfg.AppName || plan.ClaimsPolicies[0].Outcome != PolicyWillDelete {
		t.Errorf("confirmed plan %+v", plan)
	}
	if _, total := f.tenant.ClaimsPolicies(spID); total != 0 {
		t.Errorf("%d claims-mapping policies left in the tenant, want 0", total)
	}
	var order []string
	for _, w := range f.tenant.Writes() {
		order = append(order, w.Method+" "+w.Path)
	}
	if len(order) != 3 || order[2] != "DELETE /v1.0/applications/"+td.ApplicationID {
		t.Errorf("writes %v: want unassign, delete the policy, then delete the app", order)
	}
}

func TestTeardownLeavesPoliciesNotOnlyOurs(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	spID := res.ServicePrincipalID
	own := Ownership{TemplateID: f.cfg.Cloud.TemplateID, Recorded: spID, What: "only ours"}
	// A policy with our name, assigned to another app too: left, naming that app.
	other := f.tenant.AddApp("Other")
	ourClaimsPolicy(t, f, spID, other.ServicePrincipalID)
	td, err := Teardown(ctx, f.client, TeardownRequest{ServicePrincipalID: spID, Ownership: own})
	if err != nil || td.Outcome != "deleted" || len(td.ClaimsPolicies) != 1 || td.ClaimsPolicies[0].Outcome != PolicyLeft ||
		td.ClaimsPolicies[0].Reason != "also assigned to "+other.ServicePrincipalID {
		t.Fatalf("teardown: %+v, %v", td, err)
	}
	if as, total := f.tenant.ClaimsPolicies(other.ServicePrincipalID); len(as) != 1 || total != 1 {
		t.Errorf("the shared policy: %d assigned to the other app, %d in the tenant; want 1, 1", len(as), total)
	}

	// A policy someone else made: left.
	f2, res2 := setUpApp(t)
	f2.tenant.AssignForeignClaimsPolicy(res2.ServicePrincipalID, "Contoso claims")
	td, err = Teardown(ctx, f2.client, TeardownRequest{ServicePrincipalID: res2.ServicePrincipalID,
		Ownership: Ownership{TemplateID: f2.cfg.Cloud.TemplateID, Recorded: res2.ServicePrincipalID, What: "only ours"}})
	if err != nil || td.Outcome != "deleted" || len(td.ClaimsPolicies) != 1 || td.ClaimsPolicies[0].Outcome != PolicyLeft ||
		td.ClaimsPolicies[0].Reason != "not made by invicti-scim" {
		t.Fatalf("teardown with a foreign policy: %+v, %v", td, err)
	}
	if _, total := f2.tenant.ClaimsPolicies(res2.ServicePrincipalID); total != 1 {
		t.Errorf("the foreign policy was deleted")
	}
}

// When teardown cannot tell whether another app uses its policy (appliesTo refused), it
// leaves the policy, says why, and still deletes the app.
func TestTeardownLeavesPolicyItCannotCheck(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	spID := res.ServicePrincipalID
	p := ourClaimsPolicy(t, f, spID)
	f.tenant.InjectFault(entratest.Fault{Method: "GET", Path: regexp.MustCompile(`/appliesTo$`), Status: 403})
	td, err := Teardown(ctx, f.client, TeardownRequest{ServicePrincipalID: spID,
		Ownership: Ownership{TemplateID: f.cfg.Cloud.TemplateID, Recorded: spID, What: "only ours"}})
	if err != nil || td.Outcome != "deleted" || len(td.ClaimsPolicies) != 1 || td.ClaimsPolicies[0].Outcome != PolicyLeft ||
		!strings.Contains(td.ClaimsPolicies[0].Reason, "could not tell whether another app uses it") {
		t.Fatalf("teardown: %+v, %v", td, err)
	}
	if len(td.Warnings) != 1 || !strings.Contains(td.Warnings[0], "DELETE /policies/claimsMappingPolicies/"+p.ID) {
		t.Errorf("warnings %q: want one naming the Graph call for %s", td.Warnings, p.ID)
	}
	if _, total := f.tenant.ClaimsPolicies(spID); total != 1 {
		t.Errorf("%d policies in the tenant, want the unchecked one left", total)
	}
}

// With no app named and none recorded (an earlier teardown, or no setup with this config dir)
// teardown changes nothing and succeeds, naming the tagged apps it could remove with --sp-id;
// ResolveApp's error for that case is the one the command recognises.
func TestTeardownNothingRecorded(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	if _, _, err := ResolveApp(ctx, f.client, AppRef{}, state.State{}); !errors.Is(err, ErrNoAppRecorded) || Classify(err) != KindUsage {
		t.Fatalf("ResolveApp with nothing recorded: %v", err)
	}
	f.tenant.ResetRequests()
	td, err := Teardown(ctx, f.client, TeardownRequest{NothingRecorded: true,
		Confirm: func(TeardownPlan) (bool, error) { t.Fatal("asked to confirm deleting nothing"); return false, nil }})
	if err != nil || td.Outcome != "nothing-recorded" || td.ApplicationID != "" {
		t.Fatalf("teardown: %+v, %v", td, err)
	}
	if w := f.tenant.Writes(); len(w) != 0 {
		t.Fatalf("wrote %+v", w)
	}
	if len(td.OtherTagged) != 1 || td.OtherTagged[0].ServicePrincipalID != res.ServicePrincipalID {
		t.Errorf("tagged apps %+v, want the one setup made", td.OtherTagged)
	}
}
