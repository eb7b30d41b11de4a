package graph

import (
	"context"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"
)

// Claims-mapping policies (https://learn.microsoft.com/graph/api/resources/claimsmappingpolicy):
// a policy object under /policies/claimsMappingPolicies whose definition is one JSON string,
// assigned to a service principal through its claimsMappingPolicies navigation property.
// Permissions (each call's Graph reference page): creating and deleting a policy needs
// Policy.ReadWrite.ApplicationConfiguration; listing, assigning and unassigning need
// Application.ReadWrite.All and Policy.Read.All (or Policy.ReadWrite.ApplicationConfiguration).

// ClaimsPolicy is one claims-mapping policy.
type ClaimsPolicy struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// Definition is the policy's definition: Graph stores a collection of strings, of which
	// a claims-mapping policy uses the first (one JSON document).
	Definition string `json:"definition"`
}

func (c *Client) policies() *policies.PoliciesRequestBuilder {
	return policies.NewPoliciesRequestBuilderInternal(map[string]string{"baseurl": c.baseURL}, c.adapter)
}

func claimsPolicyOf(p models.ClaimsMappingPolicyable) ClaimsPolicy {
	out := ClaimsPolicy{ID: str(p.GetId()), DisplayName: str(p.GetDisplayName())}
	if d := p.GetDefinition(); len(d) > 0 {
		out.Definition = d[0]
	}
	return out
}

// ServicePrincipalClaimsPolicies lists the claims-mapping policies assigned to a service
// principal (GET /servicePrincipals/{id}/claimsMappingPolicies).
func (c *Client) ServicePrincipalClaimsPolicies(ctx context.Context, spID string) ([]ClaimsPolicy, error) {
	res, err := c.sp.ByServicePrincipalId(spID).ClaimsMappingPolicies().Get(ctx, nil)
	if err != nil {
		return nil, convert("list the app's claims-mapping policies", err)
	}
	var out []ClaimsPolicy
	for _, p := range res.GetValue() {
		out = append(out, claimsPolicyOf(p))
	}
	return out, nil
}

// CreateClaimsPolicy creates a claims-mapping policy (POST /policies/claimsMappingPolicies)
// with one definition document; it is not assigned to anything yet.
func (c *Client) CreateClaimsPolicy(ctx context.Context, displayName, definition string) (ClaimsPolicy, error) {
	body := models.NewClaimsMappingPolicy()
	body.SetDisplayName(&displayName)
	body.SetDefinition([]string{definition})
	res, err := c.policies().ClaimsMappingPolicies().Post(ctx, body, nil)
	if err != nil {
		return ClaimsPolicy{}, convert("create the claims-mapping policy", err)
	}
	return claimsPolicyOf(res), nil
}

// AssignClaimsPolicy assigns a policy to a service principal
// (POST /servicePrincipals/{id}/claimsMappingPolicies/$ref with the policy's @odata.id).
func (c *Client) AssignClaimsPolicy(ctx context.Context, spID, policyID string) error {
	ref := models.NewReferenceCreate()
	odataID := c.baseURL + "/policies/claimsMappingPolicies/" + PathEscape(policyID)
	ref.SetOdataId(&odataID)
	err := c.sp.ByServicePrincipalId(spID).ClaimsMappingPolicies().Ref().Post(ctx, ref, nil)
	return convert("assign the claims-mapping policy", err)
}

// UnassignClaimsPolicy removes a policy from a service principal
// (DELETE /servicePrincipals/{id}/claimsMappingPolicies/{policyId}/$ref); the policy stays.
func (c *Client) UnassignClaimsPolicy(ctx context.Context, spID, policyID string) error {
	err := c.sp.ByServicePrincipalId(spID).ClaimsMappingPolicies().ByClaimsMappingPolicyId(policyID).Ref().Delete(ctx, nil)
	return convert("unassign the claims-mapping policy", err)
}

// DeleteClaimsPolicy deletes a policy (DELETE /policies/claimsMappingPolicies/{id}).
func (c *Client) DeleteClaimsPolicy(ctx context.Context, policyID string) error {
	err := c.policies().ClaimsMappingPolicies().ByClaimsMappingPolicyId(policyID).Delete(ctx, nil)
	return convert("delete the claims-mapping policy", err)
}
