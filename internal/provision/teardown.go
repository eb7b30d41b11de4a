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
	claimsRemover
	// ClaimsPolicy reads one policy (for the one the state recorded when the app is gone).
	ClaimsPolicy(ctx context.Context, policyID string) (graph.ClaimsPolicy, error)
	// TokenClaimer reads the signed-in token's permissions, so the plan can say a policy will
	// probably be left.
	TokenClaimer
}

// TeardownRequest says which app to delete.
type TeardownRequest struct {
	// ServicePrincipalID is the app's service principal; "" when the app named by its appId
	// was not found (then it is already gone).
	ServicePrincipalID string
	// Ownership decides whether the app is invicti-scim's (see OwnedApp).
	Ownership Ownership
	// KnownAppID and KnownName name the app in the report when Graph cannot (from the state);
	// the application deleted is always the one Graph confirms, never one read from a file.
	KnownAppID, KnownName string
	// KnownClaimsPolicyID is the claims-mapping policy sso --claims made for this app, as the
	// state recorded it. When the app is already gone nothing leads to the policy through the
	// app any more: teardown then deletes this one if it still exists, is the tool's and
	// applies to nothing, and otherwise warns with its id and the Graph call.
	KnownClaimsPolicyID string
	// Confirm is asked once the app to delete is known, before the delete; false cancels
	// (Teardown then returns ErrDeclined). nil deletes without asking.
	Confirm func(TeardownPlan) (bool, error)
	// NothingRecorded: no app was named and the config dir records none (ErrNoAppRecorded), as
	// after an earlier teardown or before any setup with this config dir. Teardown then changes
	// nothing and succeeds (Outcome "nothing-recorded"), listing the tagged apps it could remove
	// with --sp-id. ServicePrincipalID must be "".
	NothingRecorded bool
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
	Outcome string // "deleted", "already-gone", "nothing-recorded", or "will-delete" (dry run)
	// OtherTagged lists the other apps carrying the invicti-scim tag (e.g. a twin from two
	// runs at once): the report names them rather than calling the tenant clean over them.
	OtherTagged []TaggedApp
}

// ErrDeclined means the person answered no to a confirmation; nothing was changed.
var ErrDeclined = errors.New("declined; nothing was changed")

// Teardown deletes the application object behind an app invicti-scim made (Entra then deletes
// its service principal, job, saved credentials and assignments). An app that is already gone
// is success ("already-gone"), and then the claims-mapping policy the state recorded for it
// (KnownClaimsPolicyID) is deleted when nothing uses it; an app that is not ours is a
// *HintedError and nothing is deleted. Graph 401/403 come back as *PermissionError.
func Teardown(ctx context.Context, g TeardownGraph, req TeardownRequest) (*TeardownResult, error) {
	spID := req.ServicePrincipalID
	res := &TeardownResult{TeardownPlan: TeardownPlan{ServicePrincipalID: spID, AppID: req.KnownAppID, AppName: req.KnownName}}
	if req.NothingRecorded && spID == "" {
		// Idempotent like rm -f: a second teardown (or one before any setup) has nothing to do
		// and must not fail a script; the apps tagged as invicti-scim's are named so an app set
		// up with another config dir is not mistaken for a clean tenant.
		res.Outcome = "nothing-recorded"
		res.OtherTagged = OtherTagged(ctx, g, "")
		return res, nil
	}
	if spID == "" {
		res.Outcome = "already-gone" // no service principal has the appId asked for
	} else {
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
	}
	if res.Outcome == "" && res.ApplicationID == "" {
		res.Outcome = "already-gone"
	}
	// Warnings that only guess (the token's permissions): the real run replaces them with
	// what happened.
	var guesses []string
	switch {
	case res.Outcome == "":
		// Read the policies while the service principal exists: afterwards nothing leads to them.
		req.Progress.emit(Event{Kind: EventBegin, StepID: "claims", Message: "Reading the app's claims-mapping policies"})
		res.ClaimsPolicies, res.Warnings = planClaimsRemoval(ctx, g, spID, res.AppName, teardownFirstFix)
	case req.KnownClaimsPolicyID != "":
		req.Progress.emit(Event{Kind: EventBegin, StepID: "claims", Message: "Looking up the claims-mapping policy sso --claims made"})
		res.ClaimsPolicies, res.Warnings = planOrphanPolicy(ctx, g, req.KnownClaimsPolicyID)
	}
	if slices.ContainsFunc(res.ClaimsPolicies, func(p TeardownClaimsPolicy) bool { return p.Outcome == PolicyWillDelete }) && lacksPolicyWrite(ctx, g) {
		for _, p := range res.ClaimsPolicies {
			if p.Outcome == PolicyWillDelete {
				guesses = append(guesses, fmt.Sprintf("the signed-in token lacks %s, so the claims-mapping policy %q (id %s) will probably be left in the tenant; %s",
					PermPolicyWrite, p.DisplayName, p.ID, teardownFirstFix(p.ID)))
			}
		}
		res.Warnings = append(res.Warnings, guesses...)
	}
	deletes := res.Outcome == "" || slices.ContainsFunc(res.ClaimsPolicies, func(p TeardownClaimsPolicy) bool { return p.Outcome == PolicyWillDelete })
	if res.Outcome == "" && req.DryRun {
		res.Outcome = "will-delete"
	}
	if deletes && !req.DryRun {
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
		res.Warnings = slices.DeleteFunc(res.Warnings, func(w string) bool { return slices.Contains(guesses, w) })
		if res.Outcome == "already-gone" {
			res.Warnings = append(res.Warnings, deleteOrphanPolicies(ctx, g, res.ClaimsPolicies)...)
		} else {
			res.Warnings = append(res.Warnings, removeClaimsPolicies(ctx, g, spID, res.ClaimsPolicies, teardownAfterFix, false)...)
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
	}
	res.OtherTagged = OtherTagged(ctx, g, spID)
	return res, nil
}

// teardownFirstFix says how to remove a policy teardown may leave: before teardown with sso
// --disable (which removes the tool's policy whether SAML is on or off, and turning SAML off
// costs nothing on an app about to go), or afterwards with Graph.
func teardownFirstFix(id string) string {
	return "remove it first with `invicti-scim sso --disable` (it turns SAML off and deletes the tool's policy; needs " + PermPolicyWrite +
		"), or afterwards with Graph: " + graphDeleteFix(id)
}

// teardownAfterFix says how to remove a policy teardown left: the app is gone (or going), so
// only Graph leads to it.
func teardownAfterFix(id string) string { return "delete it with Graph: " + graphDeleteFix(id) }

// planOrphanPolicy looks up the policy the state recorded for an app that is gone: one that no
// longer exists needs nothing; the tool's policy assigned to nothing is PolicyWillDelete; any
// other is left, and a lookup that fails is a warning with the id and the Graph call.
func planOrphanPolicy(ctx context.Context, g TeardownGraph, id string) ([]TeardownClaimsPolicy, []string) {
	p, err := g.ClaimsPolicy(ctx, id)
	if graph.IsNotFound(err) {
		return nil, nil
	}
	cant := func(what string, err error) []string {
		why := err.Error()
		if graph.IsAuth(err) {
			why = "needs " + PermPolicyRead
		}
		return []string{fmt.Sprintf("the app is gone, but the claims-mapping policy %s that `sso --claims` made for it may be left: could not %s (%s); if it is there and no app uses it, %s",
			id, what, why, teardownAfterFix(id))}
	}
	if err != nil {
		return nil, cant("read it", err)
	}
	tp := TeardownClaimsPolicy{ID: p.ID, DisplayName: p.DisplayName, Outcome: PolicyWillDelete}
	if !strings.HasPrefix(p.DisplayName, ClaimsPolicyPrefix) {
		tp.Outcome, tp.Reason = PolicyLeft, "not made by invicti-scim"
		return []TeardownClaimsPolicy{tp}, nil
	}
	applies, err := g.ClaimsPolicyAppliesTo(ctx, p.ID)
	if err != nil {
		tp.Outcome, tp.Reason = PolicyLeft, "could not tell whether an app uses it"
		return []TeardownClaimsPolicy{tp}, cant("tell whether an app uses it", err)
	}
	if len(applies) > 0 {
		tp.Outcome, tp.Reason = PolicyLeft, "assigned to "+strings.Join(applies, ", ")
	}
	return []TeardownClaimsPolicy{tp}, nil
}

// deleteOrphanPolicies deletes the planned policies of an app that is gone (nothing to
// unassign); a failure leaves the policy with a warning naming its id and the Graph call.
func deleteOrphanPolicies(ctx context.Context, g TeardownGraph, ps []TeardownClaimsPolicy) []string {
	var warnings []string
	for i := range ps {
		p := &ps[i]
		if p.Outcome != PolicyWillDelete {
			continue
		}
		why := policyDeleteFailure(g.DeleteClaimsPolicy(ctx, p.ID))
		if why == "" {
			p.Outcome = PolicyDeleted
			continue
		}
		p.Outcome, p.Reason = PolicyLeft, "could not delete it: "+why
		warnings = append(warnings, fmt.Sprintf("the claims-mapping policy %q (id %s) is left in the tenant: %s; %s",
			p.DisplayName, p.ID, why, teardownAfterFix(p.ID)))
	}
	return warnings
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
