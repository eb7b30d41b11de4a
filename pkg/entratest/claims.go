package entratest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Claims-mapping policies, as Microsoft Graph documents them:
//   - POST /policies/claimsMappingPolicies {displayName, definition: ["<JSON>"]}
//     (claimsmappingpolicy-post-claimsmappingpolicies.md; the claimsMappingPolicy resource:
//     definition is "a string collection containing a JSON string that defines the rules and
//     settings"; its ClaimsMappingPolicy object has Version (required, 1), IncludeBasicClaimSet
//     and ClaimsSchema; displayName is required). Permission:
//     Policy.ReadWrite.ApplicationConfiguration.
//   - GET/DELETE /policies/claimsMappingPolicies/{id} (claimsmappingpolicy-get.md, -delete.md).
//     The delete page states no precondition (no "unassign it first", no error for a policy in
//     use) and answers 204; so the emulator deletes an assigned policy too, and it then applies
//     nowhere. [INF] What real Graph does with such a delete is not documented further; the
//     tool never relies on it: sso and teardown unassign the policy before deleting it.
//     Delete permission: the page's earlier revision (microsoft-graph-docs-contrib,
//     api-reference/v1.0/api/claimsmappingpolicy-delete.md) lists only
//     Policy.ReadWrite.ApplicationConfiguration; the current Learn page also names
//     Policy.Read.ApplicationConfiguration as "least privileged", a read permission for a
//     delete, which the emulator takes for a documentation slip and does not accept. [INF]
//   - GET /policies/claimsMappingPolicies/{id}/appliesTo (claimsmappingpolicy-list-appliesto.md,
//     "List appliesTo"): the directory objects the policy is assigned to, as directoryObjects
//     with @odata.type. Permission: as for reading the policy (Policy.Read.All, or
//     Policy.ReadWrite.ApplicationConfiguration; claimsmappingpolicy-get.md).
//   - GET /servicePrincipals/{id}/claimsMappingPolicies, POST …/claimsMappingPolicies/$ref
//     {"@odata.id": "…/policies/claimsMappingPolicies/{id}"} answering 204, DELETE
//     …/claimsMappingPolicies/{policyId}/$ref answering 204
//     (serviceprincipal-list-claimsmappingpolicies.md, serviceprincipal-post-
//     claimsmappingpolicies.md, serviceprincipal-delete-claimsmappingpolicies.md). Permission:
//     Application.ReadWrite.All and Policy.Read.All (or Policy.ReadWrite.ApplicationConfiguration).
//
// One policy per service principal: a second assignment is refused. [INF] Microsoft's Graph
// reference pages do not state the limit; third-party summaries of Microsoft's claims-mapping
// documentation ("only one policy can be active per service principal") do, and two policies
// would leave which claims apply undefined. The error wording is ours.

type claimsPolicy struct {
	id, displayName string
	definition      []string
}

func (c *claimsPolicy) json() map[string]any {
	return map[string]any{"id": c.id, "displayName": c.displayName, "definition": slices.Clone(c.definition),
		"isOrganizationDefault": false, "deletedDateTime": nil, "description": nil}
}

var (
	permPolicyWrite = []string{"Policy.ReadWrite.ApplicationConfiguration"}
	permPolicyRead  = []string{"Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"}
)

func routePolicies(s []string, p params) (methods, params, *apiError) {
	if len(s) < 2 || !eq(s[1], "claimsMappingPolicies") {
		if len(s) < 2 {
			return nil, p, segmentNotFound("policies")
		}
		return nil, p, segmentNotFound(s[1])
	}
	if len(s) == 2 {
		return methods{
			"GET":  {perms: permPolicyRead, fn: hClaimsPolicyList},
			"POST": {perms: permPolicyWrite, fn: hClaimsPolicyCreate},
		}, p, nil
	}
	p.policyID = s[2]
	if len(s) == 4 && eq(s[3], "appliesTo") {
		return methods{"GET": {perms: permPolicyRead, fn: hClaimsPolicyAppliesTo}}, p, nil
	}
	if len(s) > 3 {
		return nil, p, segmentNotFound(s[len(s)-1])
	}
	return methods{
		"GET":    {perms: permPolicyRead, fn: hClaimsPolicyGet},
		"DELETE": {perms: permPolicyWrite, fn: hClaimsPolicyDelete},
	}, p, nil
}

func routeSPClaims(s []string, p params) (methods, params, *apiError) {
	switch {
	case len(s) == 3:
		return methods{"GET": {perms: permAppWrite, also: permPolicyRead, fn: hSPClaimsList}}, p, nil
	case len(s) == 4 && s[3] == "$ref":
		return methods{"POST": {perms: permAppWrite, also: permPolicyRead, write: true, fn: hSPClaimsAssign}}, p, nil
	case len(s) == 5 && s[4] == "$ref":
		p.policyID = s[3]
		return methods{"DELETE": {perms: permAppWrite, also: permPolicyRead, write: true, fn: hSPClaimsUnassign}}, p, nil
	case len(s) >= 4:
		return nil, p, segmentNotFound(s[len(s)-1])
	}
	return nil, p, segmentNotFound(s[2])
}

func (t *Tenant) findClaimsPolicy(id string) *claimsPolicy {
	for _, c := range t.claims {
		if eq(c.id, id) {
			return c
		}
	}
	return nil
}

// validClaimsDefinition checks a definition the way the resource page describes it: one JSON
// document with a ClaimsMappingPolicy object carrying Version 1 and a ClaimsSchema array.
// [INF] Graph's exact messages are not public.
func validClaimsDefinition(def []string) *apiError {
	if len(def) != 1 {
		return badRequest("Property 'definition' must contain exactly one JSON string.")
	}
	var doc struct {
		ClaimsMappingPolicy *struct {
			Version      *int               `json:"Version"`
			ClaimsSchema *[]json.RawMessage `json:"ClaimsSchema"`
		} `json:"ClaimsMappingPolicy"`
	}
	if err := json.Unmarshal([]byte(def[0]), &doc); err != nil {
		return badRequest("Property 'definition' is not valid JSON: %v", err)
	}
	switch c := doc.ClaimsMappingPolicy; {
	case c == nil:
		return badRequest("Property 'definition' has no ClaimsMappingPolicy object.")
	case c.Version == nil || *c.Version != 1:
		return badRequest("ClaimsMappingPolicy.Version is required and must be 1.")
	case c.ClaimsSchema == nil:
		return badRequest("ClaimsMappingPolicy.ClaimsSchema is required.")
	}
	return nil
}

func hClaimsPolicyCreate(t *Tenant, req *request, _ params) *response {
	body, e := req.bodyObject("claimsMappingPolicy", "displayName", "definition", "isOrganizationDefault", "description")
	if e != nil {
		return t.errorResponse(req, e)
	}
	var name string
	var def []string
	if _, e := prop(body, "displayName", &name); e != nil {
		return t.errorResponse(req, e)
	}
	if _, e := prop(body, "definition", &def); e != nil {
		return t.errorResponse(req, e)
	}
	if strings.TrimSpace(name) == "" {
		return t.errorResponse(req, badRequest("Property 'displayName' is required."))
	}
	if e := validClaimsDefinition(def); e != nil {
		return t.errorResponse(req, e)
	}
	c := &claimsPolicy{id: uuid.NewString(), displayName: name, definition: slices.Clone(def)}
	t.claims = append(t.claims, c)
	out := c.json()
	out["@odata.context"] = req.contextURL("policies/claimsMappingPolicies/$entity")
	return jsonResponse(http.StatusCreated, out)
}

func hClaimsPolicyList(t *Tenant, req *request, _ params) *response {
	items := []any{}
	for _, c := range t.claims {
		items = append(items, c.json())
	}
	return jsonResponse(http.StatusOK, map[string]any{"@odata.context": req.contextURL("policies/claimsMappingPolicies"), "value": items})
}

func hClaimsPolicyGet(t *Tenant, req *request, p params) *response {
	c := t.findClaimsPolicy(p.policyID)
	if c == nil {
		return t.errorResponse(req, notFound(p.policyID))
	}
	return jsonResponse(http.StatusOK, c.json())
}

func hClaimsPolicyAppliesTo(t *Tenant, req *request, p params) *response {
	c := t.findClaimsPolicy(p.policyID)
	if c == nil {
		return t.errorResponse(req, notFound(p.policyID))
	}
	items := []any{}
	for _, a := range t.apps {
		if a.sp != nil && slices.ContainsFunc(a.sp.claimsPolicyIDs, func(id string) bool { return eq(id, c.id) }) {
			items = append(items, map[string]any{"@odata.type": "#microsoft.graph.servicePrincipal",
				"id": a.sp.id, "appId": a.sp.appID, "displayName": a.sp.displayName})
		}
	}
	return jsonResponse(http.StatusOK, map[string]any{"@odata.context": req.contextURL("directoryObjects"), "value": items})
}

func hClaimsPolicyDelete(t *Tenant, req *request, p params) *response {
	c := t.findClaimsPolicy(p.policyID)
	if c == nil {
		return t.errorResponse(req, notFound(p.policyID))
	}
	t.claims = slices.DeleteFunc(t.claims, func(x *claimsPolicy) bool { return x == c })
	// A deleted policy no longer applies anywhere.
	for _, a := range t.apps {
		if a.sp != nil {
			a.sp.claimsPolicyIDs = slices.DeleteFunc(a.sp.claimsPolicyIDs, func(id string) bool { return eq(id, c.id) })
		}
	}
	return noContent()
}

func hSPClaimsList(t *Tenant, req *request, p params) *response {
	sp, e := t.visibleSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	items := []any{}
	for _, id := range sp.claimsPolicyIDs {
		if c := t.findClaimsPolicy(id); c != nil {
			items = append(items, c.json())
		}
	}
	return jsonResponse(http.StatusOK, map[string]any{"@odata.context": req.contextURL("policies/claimsMappingPolicies"), "value": items})
}

func hSPClaimsAssign(t *Tenant, req *request, p params) *response {
	sp, e := t.visibleSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	// A $ref POST takes no query. Real Graph answers an `@id` argument (what an SDK's shared
	// $ref template leaves behind: POST …/members/$ref?@id=) with this 400
	// (microsoftgraph/msgraph-sdk-typescript#917, "Can't add users to groups").
	for k := range req.query {
		return t.errorResponse(req, newErr(http.StatusBadRequest, "Request_BadRequest", "Unrecognized query argument specified: '%s'.", k))
	}
	// The body is only the @odata.id annotation, which bodyObject drops: read it directly.
	if _, e := req.bodyObject("referenceCreate"); e != nil {
		return t.errorResponse(req, e)
	}
	var body struct {
		Ref string `json:"@odata.id"`
	}
	_ = json.Unmarshal(req.body, &body) // bodyObject has checked it is one JSON object
	ref := body.Ref
	i := strings.LastIndex(strings.ToLower(ref), "/policies/claimsmappingpolicies/")
	if i < 0 {
		return t.errorResponse(req, badRequest("Invalid @odata.id '%s': expected a claimsMappingPolicy URL.", ref))
	}
	id := ref[i+len("/policies/claimsMappingPolicies/"):]
	c := t.findClaimsPolicy(id)
	if c == nil {
		return t.errorResponse(req, notFound(id))
	}
	if slices.ContainsFunc(sp.claimsPolicyIDs, func(x string) bool { return eq(x, c.id) }) {
		return t.errorResponse(req, badRequest("One or more added object references already exist for the following modified properties: 'claimsMappingPolicies'."))
	}
	if len(sp.claimsPolicyIDs) > 0 {
		return t.errorResponse(req, badRequest("The service principal already has a claims-mapping policy assigned; only one is allowed."))
	}
	sp.claimsPolicyIDs = append(sp.claimsPolicyIDs, c.id)
	return noContent()
}

func hSPClaimsUnassign(t *Tenant, req *request, p params) *response {
	sp, e := t.visibleSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	n := len(sp.claimsPolicyIDs)
	sp.claimsPolicyIDs = slices.DeleteFunc(sp.claimsPolicyIDs, func(id string) bool { return eq(id, p.policyID) })
	if len(sp.claimsPolicyIDs) == n {
		return t.errorResponse(req, notFound(p.policyID))
	}
	return noContent()
}

// ClaimsPolicy is a claims-mapping policy as the tests see it.
type ClaimsPolicy struct {
	ID, DisplayName, Definition string
}

// ClaimsPolicies returns the claims-mapping policies assigned to a service principal, and
// how many exist in the tenant.
func (t *Tenant) ClaimsPolicies(spID string) (assigned []ClaimsPolicy, total int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sp := t.findSP(spID); sp != nil {
		for _, id := range sp.claimsPolicyIDs {
			if c := t.findClaimsPolicy(id); c != nil {
				assigned = append(assigned, ClaimsPolicy{ID: c.id, DisplayName: c.displayName, Definition: strings.Join(c.definition, "")})
			}
		}
	}
	return assigned, len(t.claims)
}

// AssignForeignClaimsPolicy creates a claims-mapping policy named displayName (as an admin
// would in the portal or PowerShell) and assigns it to the service principal.
func (t *Tenant) AssignForeignClaimsPolicy(spID, displayName string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := &claimsPolicy{id: uuid.NewString(), displayName: displayName,
		definition: []string{`{"ClaimsMappingPolicy":{"Version":1,"IncludeBasicClaimSet":"true","ClaimsSchema":[]}}`}}
	t.claims = append(t.claims, c)
	if sp := t.findSP(spID); sp != nil {
		sp.claimsPolicyIDs = append(sp.claimsPolicyIDs, c.id)
	}
}
