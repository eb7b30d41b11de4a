package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// TeardownGraph is what Teardown needs from Graph.
type TeardownGraph interface {
	SPReader
	AppFinder
	ApplicationByAppID(ctx context.Context, appID string) (graph.Application, error)
	DeleteApplication(ctx context.Context, id string) error
	// Claims-mapping policies: the one sso --claims made goes with the app.
	ServicePrincipalClaimsPolicies(ctx context.Context, spID string) ([]graph.ClaimsPolicy, error)
	ClaimsPolicyAppliesTo(ctx context.Context, policyID string) ([]string, error)
	UnassignClaimsPolicy(ctx context.Context, spID, policyID string) error
	DeleteClaimsPolicy(ctx context.Context, policyID string) error
}

// TeardownRequest says which app to delete.
type TeardownRequest struct {
	ServicePrincipalID string
	// Ownership decides whether the app is invicti-scim's (see OwnedApp).
	Ownership Ownership
	// KnownAppID and KnownName name the app in the report when Graph cannot (from the state);
	// the application deleted is always the one Graph confirms, never one read from a file.
	KnownAppID, KnownName string
	// Confirm is asked once the app to delete is known, before the delete; false cancels
	// (Teardown then returns ErrDeclined). nil deletes without asking.
	Confirm func(TeardownPlan) (bool, error)
	// DryRun plans (Outcome "will-delete", claims policies "will-delete") and changes nothing;
	// Confirm is not asked.
	DryRun bool
	// Progress receives EventBegin for each Graph step (for a spinner); nil is allowed.
	Progress Progress
}

// TeardownPlan is what will be deleted.
type TeardownPlan struct {
	ApplicationID, AppID, AppName, ServicePrincipalID string
	// ClaimsPolicies are the claims-mapping policies assigned to the app: this tool's, which
	// teardown deletes, and any it leaves (Outcome "left", with the Reason).
	ClaimsPolicies []TeardownClaimsPolicy
	// Warnings say what teardown may leave behind and how to remove it (e.g. the policies
	// could not be read without Policy.Read.All).
	Warnings []string
}

// Outcomes of a claims-mapping policy in teardown.
const (
	PolicyWillDelete = "will-delete"
	PolicyDeleted    = "deleted"
	PolicyLeft       = "left"
)

// TeardownClaimsPolicy is a claims-mapping policy assigned to the app being torn down.
type TeardownClaimsPolicy struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// Outcome is PolicyWillDelete (plan, dry run), PolicyDeleted or PolicyLeft.
	Outcome string `json:"outcome"`
	// Reason says why a policy is left (not made by invicti-scim, assigned to another app, …).
	Reason string `json:"reason,omitempty"`
}

// TaggedApp is an enterprise app carrying the invicti-scim tag.
type TaggedApp struct {
	ServicePrincipalID string `json:"servicePrincipalId"`
	AppID              string `json:"appId"`
	DisplayName        string `json:"displayName"`
}

// TeardownResult is what Teardown did.
type TeardownResult struct {
	TeardownPlan
	Outcome string // "deleted", "already-gone", or "will-delete" (dry run)
	// OtherTagged lists the other apps carrying the invicti-scim tag (e.g. a twin from two
	// runs at once): the report names them rather than calling the tenant clean over them.
	OtherTagged []TaggedApp
}

// ErrDeclined means the person answered no to a confirmation; nothing was changed.
var ErrDeclined = errors.New("declined; nothing was changed")

// Teardown deletes the application object behind an app invicti-scim made (Entra then deletes
// its service principal, job, saved credentials and assignments). An app that is already gone
// is success ("already-gone"); an app that is not ours is a *HintedError and nothing is
// deleted. Graph 401/403 come back as *PermissionError.
func Teardown(ctx context.Context, g TeardownGraph, req TeardownRequest) (*TeardownResult, error) {
	spID := req.ServicePrincipalID
	res := &TeardownResult{TeardownPlan: TeardownPlan{ServicePrincipalID: spID, AppID: req.KnownAppID, AppName: req.KnownName}}
	req.Progress.emit(Event{Kind: EventBegin, StepID: "lookup", Message: "Looking up the app"})
	sp, err := OwnedApp(ctx, g, spID, req.Ownership)
	var he *HintedError
	if errors.As(err, &he) {
		return nil, err
	}
	switch {
	case err == nil:
		res.AppID, res.AppName = sp.AppID, sp.DisplayName
		app, aerr := g.ApplicationByAppID(ctx, sp.AppID)
		if aerr != nil && !graph.IsNotFound(aerr) {
			return nil, PermissionHint(aerr, PermApplication)
		}
		if aerr == nil {
			res.ApplicationID = app.ID
		}
	case graph.IsNotFound(err):
		res.Outcome = "already-gone"
	default:
		return nil, PermissionHint(err, PermApplication)
	}
	if res.Outcome == "" && res.ApplicationID == "" {
		res.Outcome = "already-gone"
	}
	if res.Outcome == "" {
		// Read the policies while the service principal exists: afterwards nothing leads to them.
		req.Progress.emit(Event{Kind: EventBegin, StepID: "claims", Message: "Reading the app's claims-mapping policies"})
		res.ClaimsPolicies, res.Warnings = planClaimsTeardown(ctx, g, spID, res.AppName)
	}
	if res.Outcome == "" && req.DryRun {
		res.Outcome = "will-delete"
	}
	if res.Outcome == "" {
		if req.Confirm != nil {
			// A copy: the outcomes in res change as the deletes run.
			plan := res.TeardownPlan
			plan.ClaimsPolicies, plan.Warnings = slices.Clone(plan.ClaimsPolicies), slices.Clone(plan.Warnings)
			ok, err := req.Confirm(plan)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, ErrDeclined
			}
		}
		deleteClaimsPolicies(ctx, g, spID, res)
		req.Progress.emit(Event{Kind: EventBegin, StepID: "delete", Message: "Deleting the app"})
		err := g.DeleteApplication(ctx, res.ApplicationID)
		switch {
		case err == nil:
			res.Outcome = "deleted"
		case graph.IsNotFound(err):
			res.Outcome = "already-gone"
		default:
			return nil, PermissionHint(err, PermApplication)
		}
	}
	res.OtherTagged = OtherTagged(ctx, g, spID)
	return res, nil
}

// claimsPolicyFix says how to remove a claims-mapping policy teardown could not: before
// teardown with sso, or afterwards with Graph (id "" when it is not known).
func claimsPolicyFix(id string) string {
	find := ""
	if id == "" {
		id, find = "{id}", "GET /policies/claimsMappingPolicies to find its id, then "
	}
	return "remove it first with `invicti-scim sso --claims default` (needs " + PermPolicyWrite +
		"), or afterwards with Graph: " + find + "DELETE /policies/claimsMappingPolicies/" + id +
		" (PowerShell: Remove-MgPolicyClaimMappingPolicy)"
}

// planClaimsTeardown reads the claims-mapping policies assigned to the service principal and
// decides for each: this tool's policy (ClaimsPolicyPrefix) assigned to this app only is
// deleted; another's, or one assigned elsewhere too, or one whose assignments cannot be read,
// is left. A refused read is a warning, not an error: the app is still deleted.
func planClaimsTeardown(ctx context.Context, g TeardownGraph, spID, appName string) ([]TeardownClaimsPolicy, []string) {
	ps, err := g.ServicePrincipalClaimsPolicies(ctx, spID)
	if err != nil {
		why := err.Error()
		if graph.IsAuth(err) {
			why = "needs " + PermPolicyRead
		}
		return nil, []string{fmt.Sprintf("could not read the app's claims-mapping policies (%s): if `sso --claims` set claims, its policy %q stays in the tenant after teardown; %s",
			why, ClaimsPolicyPrefix+appName, claimsPolicyFix(""))}
	}
	var out []TeardownClaimsPolicy
	var warnings []string
	for _, p := range ps {
		tp := TeardownClaimsPolicy{ID: p.ID, DisplayName: p.DisplayName, Outcome: PolicyWillDelete}
		switch applies, err := g.ClaimsPolicyAppliesTo(ctx, p.ID); {
		case !strings.HasPrefix(p.DisplayName, ClaimsPolicyPrefix):
			tp.Outcome, tp.Reason = PolicyLeft, "not made by invicti-scim"
		case err != nil:
			tp.Outcome, tp.Reason = PolicyLeft, "could not tell whether another app uses it: "+err.Error()
			if graph.IsAuth(err) {
				tp.Reason = "could not tell whether another app uses it (reading that needs " + PermPolicyRead + ")"
			}
			warnings = append(warnings, fmt.Sprintf("the claims-mapping policy %q (id %s) is left: %s; if no other app uses it, %s",
				p.DisplayName, p.ID, tp.Reason, claimsPolicyFix(p.ID)))
		default:
			var others []string
			for _, id := range applies {
				if !strings.EqualFold(id, spID) {
					others = append(others, id)
				}
			}
			if len(others) > 0 {
				tp.Outcome, tp.Reason = PolicyLeft, "also assigned to "+strings.Join(others, ", ")
			}
		}
		out = append(out, tp)
	}
	return out, warnings
}

// deleteClaimsPolicies deletes the policies planned for deletion: unassigned first (as sso
// --claims default does), then deleted. A failure leaves that policy (Outcome "left") with a
// warning saying how to remove it; the app is deleted all the same.
func deleteClaimsPolicies(ctx context.Context, g TeardownGraph, spID string, res *TeardownResult) {
	for i := range res.ClaimsPolicies {
		p := &res.ClaimsPolicies[i]
		if p.Outcome != PolicyWillDelete {
			continue
		}
		err := g.UnassignClaimsPolicy(ctx, spID, p.ID)
		if err == nil || graph.IsNotFound(err) {
			err = g.DeleteClaimsPolicy(ctx, p.ID)
		}
		if err == nil || graph.IsNotFound(err) {
			p.Outcome = PolicyDeleted
			continue
		}
		why := err.Error()
		if graph.IsAuth(err) {
			why = "deleting it needs " + PermPolicyWrite
		}
		p.Outcome, p.Reason = PolicyLeft, "could not delete it: "+why
		res.Warnings = append(res.Warnings, fmt.Sprintf("the claims-mapping policy %q (id %s) is left in the tenant: %s; delete it with Graph: DELETE /policies/claimsMappingPolicies/%s (PowerShell: Remove-MgPolicyClaimMappingPolicy)",
			p.DisplayName, p.ID, why, p.ID))
	}
}

// OtherTagged lists the apps carrying the invicti-scim tag other than spID. It is a report,
// so a Graph that cannot answer the tag query only loses the report (nil).
func OtherTagged(ctx context.Context, g AppFinder, spID string) []TaggedApp {
	sps, err := g.FindServicePrincipals(ctx, "tags/any(t:t eq "+graph.Quote(MarkerTag)+")")
	if err != nil {
		return nil
	}
	var out []TaggedApp
	for _, sp := range sps {
		if strings.EqualFold(sp.ID, spID) {
			continue // the one torn down (Entra's lists lag behind the delete)
		}
		out = append(out, TaggedApp{ServicePrincipalID: sp.ID, AppID: sp.AppID, DisplayName: sp.DisplayName})
	}
	return out
}
