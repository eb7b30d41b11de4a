package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// Removing the claims-mapping policy sso --claims made for an app: teardown does it before it
// deletes the app, and sso --disable when it turns SAML off (a claims-mapping policy only
// shapes SAML tokens, so without SAML it does nothing). Both follow one rule: only a policy
// this tool made (ClaimsPolicyPrefix) and assigned to this app and nothing else is removed,
// unassigned first, then deleted; every other policy is left and said to be left.

// claimsRemover is what removing the tool's claims-mapping policy needs from Graph
// (implemented by *graph.Client).
type claimsRemover interface {
	ServicePrincipalClaimsPolicies(ctx context.Context, spID string) ([]graph.ClaimsPolicy, error)
	ClaimsPolicyAppliesTo(ctx context.Context, policyID string) ([]string, error)
	UnassignClaimsPolicy(ctx context.Context, spID, policyID string) error
	DeleteClaimsPolicy(ctx context.Context, policyID string) error
	AssignClaimsPolicy(ctx context.Context, spID, policyID string) error
}

// claimsFixer says how to remove a policy that was left (id "" when it is not known); each
// caller names a command that works in its situation.
type claimsFixer func(id string) string

// graphDeleteFix is the Graph call that deletes a policy; find says how to find an unknown id.
func graphDeleteFix(id string) string {
	find := ""
	if id == "" {
		id, find = "{id}", "GET /policies/claimsMappingPolicies to find its id, then "
	}
	return find + "DELETE /policies/claimsMappingPolicies/" + id + " (PowerShell: Remove-MgPolicyClaimMappingPolicy)"
}

// planClaimsRemoval reads the claims-mapping policies assigned to the service principal and
// decides for each: this tool's policy (ClaimsPolicyPrefix) assigned to this app only is
// PolicyWillDelete; another's, or one assigned elsewhere too, or one whose assignments cannot
// be read, is PolicyLeft with the reason. A refused read is a warning, not an error: the
// caller goes on with the rest of its work.
func planClaimsRemoval(ctx context.Context, g claimsRemover, spID, appName string, fix claimsFixer) ([]TeardownClaimsPolicy, []string) {
	ps, err := g.ServicePrincipalClaimsPolicies(ctx, spID)
	if err != nil {
		why := err.Error()
		if graph.IsAuth(err) {
			why = "needs " + PermPolicyRead
		}
		return nil, []string{fmt.Sprintf("could not read the app's claims-mapping policies (%s): if `sso --claims` set claims, its policy %q stays in the tenant; %s",
			why, ClaimsPolicyPrefix+appName, fix(""))}
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
				p.DisplayName, p.ID, tp.Reason, fix(p.ID)))
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

// removeClaimsPolicies removes the policies planned for deletion: unassigned first, then
// deleted (a 404 counts as done). A failure leaves that policy (PolicyLeft, with the reason)
// and returns a warning naming its id and how to remove it; the others go on. With reassign,
// a policy that was unassigned but could not be deleted is assigned again, so that the app
// still leads to it and the command named in fix finds it (else only its id would).
func removeClaimsPolicies(ctx context.Context, g claimsRemover, spID string, ps []TeardownClaimsPolicy, fix claimsFixer, reassign bool) []string {
	var warnings []string
	for i := range ps {
		p := &ps[i]
		if p.Outcome != PolicyWillDelete {
			continue
		}
		unassigned := false
		err := g.UnassignClaimsPolicy(ctx, spID, p.ID)
		if err == nil || graph.IsNotFound(err) {
			unassigned = true
			err = g.DeleteClaimsPolicy(ctx, p.ID)
		}
		why := policyDeleteFailure(err)
		if why == "" {
			p.Outcome = PolicyDeleted
			continue
		}
		p.Outcome, p.Reason = PolicyLeft, "could not delete it: "+why
		how := fix(p.ID)
		if unassigned && reassign {
			if aerr := g.AssignClaimsPolicy(ctx, spID, p.ID); aerr != nil {
				how = "it is no longer assigned to the app (assigning it back failed: " + aerr.Error() + "): delete it with Graph: " + graphDeleteFix(p.ID)
			}
		}
		warnings = append(warnings, fmt.Sprintf("the claims-mapping policy %q (id %s) is left in the tenant: %s; %s",
			p.DisplayName, p.ID, why, how))
	}
	return warnings
}

// lacksPolicyWrite reports whether the signed-in token (read the way doctor reads it) lacks
// Policy.ReadWrite.ApplicationConfiguration, which deleting a claims-mapping policy needs.
// A token whose claims cannot be read (not a JWT) is not known to lack it: false.
func lacksPolicyWrite(ctx context.Context, g TokenClaimer) bool {
	if g == nil {
		return false
	}
	claims, err := g.TokenClaims(ctx)
	if err != nil {
		return false
	}
	return !hasPerm(claims.Scopes(), PermPolicyWrite)
}

// ClaimsPolicyRecorder returns an SSORequest.OnClaimsPolicy that records the tool's policy id
// for the app spID in the state file (when the state records that app; another app's state
// is left alone), saving only when the id changes.
func ClaimsPolicyRecorder(store state.Store, spID string) func(policyID string) error {
	return func(policyID string) error {
		st, err := store.Load()
		if err != nil {
			return err
		}
		if st.App == nil || !strings.EqualFold(st.App.ServicePrincipalID, spID) || st.App.ClaimsPolicyID == policyID {
			return nil
		}
		st.App.ClaimsPolicyID = policyID
		return store.Save(st)
	}
}

// policyDeleteFailure is why a policy's unassign or delete failed, in the words plans and
// warnings use; "" when it worked or the policy is already gone.
func policyDeleteFailure(err error) string {
	switch {
	case err == nil || graph.IsNotFound(err):
		return ""
	case graph.IsAuth(err):
		return "deleting it needs " + PermPolicyWrite
	}
	return err.Error()
}
