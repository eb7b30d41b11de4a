package graph

import (
	"context"

	abs "github.com/microsoft/kiota-abstractions-go"
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
	return policies.NewPoliciesRequestBuilderInternal(c.pathParams(), c.adapter)
}

// claimsPolicyWire is a claimsMappingPolicy as Graph sends it.
type claimsPolicyWire struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Definition  []string `json:"definition"`
}

func (p claimsPolicyWire) policy() ClaimsPolicy {
	out := ClaimsPolicy{ID: p.ID, DisplayName: p.DisplayName}
	if len(p.Definition) > 0 {
		out.Definition = p.Definition[0]
	}
	return out
}

// ServicePrincipalClaimsPolicies lists the claims-mapping policies assigned to a service
// principal (GET /servicePrincipals/{id}/claimsMappingPolicies).
func (c *Client) ServicePrincipalClaimsPolicies(ctx context.Context, spID string) ([]ClaimsPolicy, error) {
	var res struct {
		Value []claimsPolicyWire `json:"value"`
	}
	ri := at(abs.GET, c.servicePrincipals().ByServicePrincipalId(spID).ClaimsMappingPolicies().BaseRequestBuilder)
	if err := c.send(ctx, "list the app's claims-mapping policies", ri, nil, &res); err != nil {
		return nil, err
	}
	var out []ClaimsPolicy
	for _, p := range res.Value {
		out = append(out, p.policy())
	}
	return out, nil
}

// CreateClaimsPolicy creates a claims-mapping policy (POST /policies/claimsMappingPolicies)
// with one definition document; it is not assigned to anything yet.
func (c *Client) CreateClaimsPolicy(ctx context.Context, displayName, definition string) (ClaimsPolicy, error) {
	body := struct {
		DisplayName string   `json:"displayName"`
		Definition  []string `json:"definition"`
	}{displayName, []string{definition}}
	var res claimsPolicyWire
	ri := at(abs.POST, c.policies().ClaimsMappingPolicies().BaseRequestBuilder)
	if err := c.send(ctx, "create the claims-mapping policy", ri, body, &res); err != nil {
		return ClaimsPolicy{}, err
	}
	return res.policy(), nil
}

// AssignClaimsPolicy assigns a policy to a service principal
// (POST /servicePrincipals/{id}/claimsMappingPolicies/$ref with the policy's @odata.id).
func (c *Client) AssignClaimsPolicy(ctx context.Context, spID, policyID string) error {
	// Graph's referenceCreate: the @odata.id of the object to link.
	body := struct {
		ODataID string `json:"@odata.id"`
	}{c.baseURL + "/policies/claimsMappingPolicies/" + PathEscape(policyID)}
	ri := at(abs.POST, c.servicePrincipals().ByServicePrincipalId(spID).ClaimsMappingPolicies().Ref().BaseRequestBuilder)
	return c.send(ctx, "assign the claims-mapping policy", ri, body, nil)
}

// UnassignClaimsPolicy removes a policy from a service principal
// (DELETE /servicePrincipals/{id}/claimsMappingPolicies/{policyId}/$ref); the policy stays.
func (c *Client) UnassignClaimsPolicy(ctx context.Context, spID, policyID string) error {
	err := c.servicePrincipals().ByServicePrincipalId(spID).ClaimsMappingPolicies().ByClaimsMappingPolicyId(policyID).Ref().Delete(ctx, nil)
	return convert("unassign the claims-mapping policy", err)
}

// ClaimsPolicy reads one policy (GET /policies/claimsMappingPolicies/{id}, Graph's "Get
// claimsMappingPolicy" page; Policy.Read.All or Policy.ReadWrite.ApplicationConfiguration).
// A policy that does not exist is a 404 (IsNotFound).
func (c *Client) ClaimsPolicy(ctx context.Context, policyID string) (ClaimsPolicy, error) {
	var res claimsPolicyWire
	ri := at(abs.GET, c.policies().ClaimsMappingPolicies().ByClaimsMappingPolicyId(policyID).BaseRequestBuilder)
	if err := c.send(ctx, "read the claims-mapping policy", ri, nil, &res); err != nil {
		return ClaimsPolicy{}, err
	}
	return res.policy(), nil
}

// DeleteClaimsPolicy deletes a policy (DELETE /policies/claimsMappingPolicies/{id}).
func (c *Client) DeleteClaimsPolicy(ctx context.Context, policyID string) error {
	err := c.policies().ClaimsMappingPolicies().ByClaimsMappingPolicyId(policyID).Delete(ctx, nil)
	return convert("delete the claims-mapping policy", err)
}

// ClaimsPolicyAppliesTo lists the ids of the directory objects (service principals and
// applications) a claims-mapping policy is assigned to
// (GET /policies/claimsMappingPolicies/{id}/appliesTo, Graph's "List appliesTo" page,
// claimsmappingpolicy-list-appliesto; read permission as for the policy, Policy.Read.All),
// following @odata.nextLink: teardown decides from the whole list whether a policy is only its
// app's, so a later page must not be dropped.
func (c *Client) ClaimsPolicyAppliesTo(ctx context.Context, policyID string) ([]string, error) {
	const op = "list what the claims-mapping policy applies to"
	b := c.policies().ClaimsMappingPolicies().ByClaimsMappingPolicyId(policyID).AppliesTo()
	objs, err := listAll[struct {
		ID string `json:"id"`
	}](ctx, c, op, at(abs.GET, b.BaseRequestBuilder))
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out, nil
}
