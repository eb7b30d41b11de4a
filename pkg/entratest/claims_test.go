package entratest

import (
	"testing"
)

func TestClaimsMappingPolicies(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	pol, sp := "/policies/claimsMappingPolicies", "/servicePrincipals/"+f.spID+"/claimsMappingPolicies"
	good := `{"ClaimsMappingPolicy":{"Version":1,"IncludeBasicClaimSet":"true","ClaimsSchema":[{"Source":"user","ID":"mail","SamlClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"}]}}`

	// The definition must be one JSON document with ClaimsMappingPolicy.Version and ClaimsSchema.
	for _, bad := range []string{`not json`, `{"Other":{}}`, `{"ClaimsMappingPolicy":{"ClaimsSchema":[]}}`, `{"ClaimsMappingPolicy":{"Version":1}}`} {
		c.post(pol, map[string]any{"displayName": "p", "definition": []string{bad}}).expect(t, 400, "BadRequest")
	}
	c.post(pol, map[string]any{"displayName": "", "definition": []string{good}}).expect(t, 400, "BadRequest", "displayName")
	p1 := str(c.post(pol, map[string]any{"displayName": "one", "definition": []string{good}}).expect(t, 201).body, "id")
	p2 := str(c.post(pol, map[string]any{"displayName": "two", "definition": []string{good}}).expect(t, 201).body, "id")

	// Assign by @odata.id; a second policy on the same service principal is refused.
	ref := func(id string) map[string]any {
		return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/policies/claimsMappingPolicies/" + id}
	}
	c.post(sp+"/$ref", ref("00000000-0000-0000-0000-000000000000")).expect(t, 404)
	// An SDK's shared $ref template can leave "?@id=" on the POST (msgraph-sdk-typescript#917).
	c.post(sp+"/$ref?@id=", ref(p1)).expect(t, 400, "Request_BadRequest", "Unrecognized query argument specified: '@id'.")
	c.post(sp+"/$ref", ref(p1)).expect(t, 204)
	c.post(sp+"/$ref", ref(p2)).expect(t, 400, "BadRequest", "only one")
	if got := str(c.get(sp).body, "value", 0, "displayName"); got != "one" {
		t.Fatalf("assigned policy %q, want one", got)
	}
	c.call("DELETE", sp+"/"+p2+"/$ref", nil).expect(t, 404)
	c.call("DELETE", sp+"/"+p1+"/$ref", nil).expect(t, 204)
	c.post(sp+"/$ref", ref(p2)).expect(t, 204)
	c.call("DELETE", pol+"/"+p2, nil).expect(t, 204)
	if as, total := tn.ClaimsPolicies(f.spID); len(as) != 0 || total != 1 {
		t.Fatalf("after deleting the assigned policy: %d assigned, %d in the tenant", len(as), total)
	}

	// Assigning needs Application.ReadWrite.All and a Policy permission; creating needs
	// Policy.ReadWrite.ApplicationConfiguration.
	noPolicy := MakeToken(tn.TenantID(), Principal{UPN: DefaultAdminUPN, Roles: []string{RoleGlobalAdministrator}, Scopes: []string{"Application.ReadWrite.All"}})
	tn.AddToken(noPolicy, Principal{UPN: DefaultAdminUPN, Roles: []string{RoleGlobalAdministrator}, Scopes: []string{"Application.ReadWrite.All"}})
	c.with(noPolicy).post(sp+"/$ref", ref(p1)).expect(t, 403, "Authorization_RequestDenied")
	c.with(noPolicy).post(pol, map[string]any{"displayName": "x", "definition": []string{good}}).expect(t, 403, "Authorization_RequestDenied")
}

// The sandbox keeps its tenant across processes: policies and their assignment survive.
func TestClaimsPoliciesSnapshot(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	tn.AssignForeignClaimsPolicy(f.spID, "Contoso claims")
	snap, err := tn.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	tn2, _ := newTenant(t, Options{})
	if err := tn2.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if as, total := tn2.ClaimsPolicies(f.spID); len(as) != 1 || as[0].DisplayName != "Contoso claims" || total != 1 {
		t.Fatalf("restored: %+v, %d in the tenant", as, total)
	}
}

// appliesTo lists the service principals a policy is assigned to; deleting the app takes its
// service principal and so the assignment with it, but leaves the policy in the tenant (Entra
// deletes what belongs to the application, and a policy is a tenant object of its own).
// Reading it needs a Policy permission; deleting a policy needs
// Policy.ReadWrite.ApplicationConfiguration.
func TestClaimsPolicyAppliesTo(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	g := c.setup("Other")
	pol := "/policies/claimsMappingPolicies"
	good := `{"ClaimsMappingPolicy":{"Version":1,"IncludeBasicClaimSet":"true","ClaimsSchema":[]}}`
	id := str(c.post(pol, map[string]any{"displayName": "shared", "definition": []string{good}}).expect(t, 201).body, "id")
	ref := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/policies/claimsMappingPolicies/" + id}
	c.get(pol+"/00000000-0000-0000-0000-000000000000/appliesTo").expect(t, 404)
	if n := len(c.get(pol+"/"+id+"/appliesTo").expect(t, 200).body["value"].([]any)); n != 0 {
		t.Fatalf("unassigned policy applies to %d objects", n)
	}
	c.post("/servicePrincipals/"+f.spID+"/claimsMappingPolicies/$ref", ref).expect(t, 204)
	c.post("/servicePrincipals/"+g.spID+"/claimsMappingPolicies/$ref", ref).expect(t, 204)
	r := c.get(pol+"/"+id+"/appliesTo").expect(t, 200)
	if str(r.body, "value", 0, "id") != f.spID || str(r.body, "value", 1, "id") != g.spID ||
		str(r.body, "value", 0, "@odata.type") != "#microsoft.graph.servicePrincipal" {
		t.Fatalf("appliesTo %v", r.body)
	}

	noPolicy := MakeToken(tn.TenantID(), Principal{UPN: DefaultAdminUPN, Roles: []string{RoleGlobalAdministrator}, Scopes: []string{"Application.ReadWrite.All"}})
	tn.AddToken(noPolicy, Principal{UPN: DefaultAdminUPN, Roles: []string{RoleGlobalAdministrator}, Scopes: []string{"Application.ReadWrite.All"}})
	c.with(noPolicy).get(pol+"/"+id+"/appliesTo").expect(t, 403, "Authorization_RequestDenied")
	c.with(noPolicy).get("/servicePrincipals/"+f.spID+"/claimsMappingPolicies").expect(t, 403, "Authorization_RequestDenied")
	readOnly := MakeToken(tn.TenantID(), Principal{UPN: DefaultAdminUPN, Roles: []string{RoleGlobalAdministrator}, Scopes: []string{"Application.ReadWrite.All", "Policy.Read.All"}})
	tn.AddToken(readOnly, Principal{UPN: DefaultAdminUPN, Roles: []string{RoleGlobalAdministrator}, Scopes: []string{"Application.ReadWrite.All", "Policy.Read.All"}})
	c.with(readOnly).get(pol+"/"+id+"/appliesTo").expect(t, 200)
	c.with(readOnly).call("DELETE", pol+"/"+id, nil).expect(t, 403, "Authorization_RequestDenied")

	// Deleting the app: the policy stays, applying only to the other app.
	c.call("DELETE", "/applications/"+f.appObjID, nil).expect(t, 204)
	r = c.get(pol+"/"+id+"/appliesTo").expect(t, 200)
	if v := r.body["value"].([]any); len(v) != 1 || str(r.body, "value", 0, "id") != g.spID {
		t.Fatalf("after deleting the app, appliesTo %v", r.body)
	}
	if _, total := tn.ClaimsPolicies(g.spID); total != 1 {
		t.Fatalf("%d policies in the tenant after deleting one app, want 1", total)
	}
}
