package entratest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	tn, c := newTenant(t, Options{})
	expired := MakeToken(tn.TenantID(), Principal{UPN: DefaultAdminUPN, Scopes: DefaultScopes, ExpiresAt: time.Now().Add(-time.Hour)})
	tn.AddToken(expired, Principal{UPN: DefaultAdminUPN, Scopes: DefaultScopes, ExpiresAt: time.Now().Add(-time.Hour)})
	early := Principal{UPN: DefaultAdminUPN, Scopes: DefaultScopes, NotBefore: time.Now().Add(time.Hour)}
	notYet := MakeToken(tn.TenantID(), early)
	tn.AddToken(notYet, early)
	// A token Graph's clock considers expired although its exp claim is in the future.
	midRun := MakeToken(tn.TenantID(), Principal{UPN: DefaultAdminUPN, Scopes: DefaultScopes})
	tn.AddToken(midRun, Principal{UPN: DefaultAdminUPN, Scopes: DefaultScopes})
	tn.ExpireToken(midRun)
	tests := []struct {
		name, token string
		status      int
		code, msg   string
	}{
		{"missing", "", 401, "InvalidAuthenticationToken", "Access token is empty."},
		{"unknown JWT", MakeToken(tn.TenantID(), Principal{UPN: "x@y"}), 401, "InvalidAuthenticationToken", "Invalid audience"},
		{"garbage", "not-a-jwt", 401, "InvalidAuthenticationToken", "not well formed"},
		{"expired", expired, 401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."},
		{"not yet valid", notYet, 401, "InvalidAuthenticationToken", "not yet valid"},
		{"expired mid-run", midRun, 401, "InvalidAuthenticationToken", "the token is expired"},
		{"default", tn.Token(), 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.with(tt.token).get("/organization")
			if tt.status != 200 {
				r.expect(t, tt.status, tt.code, tt.msg)
				if r.header.Get("request-id") == "" || str(r.body, "error", "innerError", "request-id") == "" {
					t.Errorf("missing request-id: %v %s", r.header, r.raw)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("error Content-Type = %q", ct)
				}
				return
			}
			r.expect(t, 200)
			if str(r.body, "value", 0, "id") != tn.TenantID() {
				t.Errorf("organization id: %s", r.raw)
			}
		})
	}
	// Auth is checked before routing, like Graph.
	c.with("").get("/nonsense").expect(t, 401, "InvalidAuthenticationToken")
}

func TestMakeTokenClaims(t *testing.T) {
	tn, _ := newTenant(t, Options{TenantID: "11111111-2222-3333-4444-555555555555"})
	parts := strings.Split(tn.Token(), ".")
	if len(parts) != 3 || parts[2] == "" {
		t.Fatalf("token is not JWT-shaped: %s", tn.Token())
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["tid"] != tn.TenantID() || claims["upn"] != DefaultAdminUPN || claims["oid"] == "" {
		t.Errorf("claims: %v", claims)
	}
	for _, s := range DefaultScopes {
		if !strings.Contains(claims["scp"].(string), s) {
			t.Errorf("scp lacks %s: %v", s, claims["scp"])
		}
	}
	if w := claims["wids"].([]any); len(w) != 1 || w[0] != RoleApplicationAdministrator {
		t.Errorf("wids: %v", w)
	}
	if exp := int64(claims["exp"].(float64)); exp < time.Now().AddDate(50, 0, 0).Unix() {
		t.Errorf("exp not far future: %d", exp)
	}
	app := MakeToken(tn.TenantID(), Principal{AppOnly: true, Scopes: []string{"Application.ReadWrite.All"}})
	raw, _ = base64.RawURLEncoding.DecodeString(strings.Split(app, ".")[1])
	_ = json.Unmarshal(raw, &claims)
	if claims["idtyp"] != "app" || claims["roles"] == nil {
		t.Errorf("app-only claims: %v", claims)
	}
}

func TestRoutingErrors(t *testing.T) {
	_, c := newTenant(t, Options{})
	tests := []struct {
		name, method, path string
		status             int
		code, msg          string
	}{
		{"unknown root", "GET", "/widgets", 400, "BadRequest", "Resource not found for the segment 'widgets'."},
		{"unknown version", "GET", "!/v2.0/users", 400, "BadRequest", "segment 'v2.0'"},
		{"beta outside connectivityParameters", "GET", "!/beta/users", 400, "BadRequest", "segment 'users'"},
		{"unknown child", "GET", "/servicePrincipals/00000000-0000-0000-0000-000000000001/widgets", 400, "BadRequest", "segment 'widgets'"},
		{"unknown sync child", "GET", "/servicePrincipals/00000000-0000-0000-0000-000000000001/synchronization/widgets", 400, "BadRequest", "segment 'widgets'"},
		{"wrong method", "DELETE", "/users", 405, "Request_BadRequest", "not allowed"},
		{"wrong method on job action", "GET", "/servicePrincipals/00000000-0000-0000-0000-000000000001/synchronization/jobs/x/start", 405, "Request_BadRequest", ""},
		{"malformed SP id", "GET", "/servicePrincipals/not-a-guid", 400, "Request_BadRequest", "Invalid object identifier 'not-a-guid'."},
		{"malformed app id", "GET", "/applications/123", 400, "Request_BadRequest", "Invalid object identifier '123'."},
		{"missing SP", "GET", "/servicePrincipals/00000000-0000-0000-0000-000000000001", 404, "Request_ResourceNotFound", "does not exist"},
		{"unsupported query option", "GET", "/users?$orderby=displayName", 400, "BadRequest", "$orderby"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.call(tt.method, tt.path, nil).expect(t, tt.status, tt.code, tt.msg)
			if tt.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
		})
	}
}

func TestPermissions(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	tok := func(p Principal) string {
		token := MakeToken(tn.TenantID(), p)
		tn.AddToken(token, p)
		return token
	}
	noSync := tok(Principal{UPN: DefaultAdminUPN, Roles: []string{RoleApplicationAdministrator},
		Scopes: []string{"Application.ReadWrite.All", "User.Read.All"}})
	noRole := tok(Principal{UPN: "carol@" + Domain, Scopes: DefaultScopes})
	cloudAdmin := tok(Principal{UPN: "dave@" + Domain, Scopes: DefaultScopes, Roles: []string{RoleCloudApplicationAdministrator}})
	readOnlySync := tok(Principal{UPN: DefaultAdminUPN, Roles: []string{RoleGlobalAdministrator}, Scopes: []string{"Synchronization.Read.All"}})
	appOnly := tok(Principal{AppOnly: true, Scopes: []string{"Application.ReadWrite.All", "Synchronization.ReadWrite.All"}})
	noScopes := tok(Principal{UPN: DefaultAdminUPN, Roles: []string{RoleGlobalAdministrator}})
	ownedBy := tok(Principal{AppOnly: true, Scopes: []string{"Application.ReadWrite.OwnedBy"}})

	jobs := "/servicePrincipals/" + f.spID + "/synchronization/jobs"
	inst := "/applicationTemplates/" + tn.TemplateID() + "/instantiate"
	tests := []struct {
		name, token, method, path string
		body                      any
		status                    int
		code                      string
	}{
		{"sync read without scope is 401 UnknownError", noSync, "GET", jobs, nil, 401, "UnknownError"},
		{"sync write without scope is 401 UnknownError", readOnlySync, "POST", jobs, map[string]any{"templateId": "scim"}, 401, "UnknownError"},
		{"sync read with Read.All", readOnlySync, "GET", jobs, nil, 200, ""},
		{"instantiate without scope", noScopes, "POST", inst, map[string]any{"displayName": "x"}, 403, "Authorization_RequestDenied"},
		{"delegated without admin role", noRole, "POST", inst, map[string]any{"displayName": "x"}, 403, "Authorization_RequestDenied"},
		{"delegated without admin role on sync write", noRole, "POST", jobs, map[string]any{"templateId": "scim"}, 403, "Authorization_RequestDenied"},
		{"delegated without admin role can read", noRole, "GET", jobs, nil, 200, ""},
		{"cloud application administrator", cloudAdmin, "POST", inst, map[string]any{"displayName": "x"}, 201, ""},
		{"app-only needs no role", appOnly, "POST", inst, map[string]any{"displayName": "y"}, 201, ""},
		{"app-only /me", appOnly, "GET", "/me", nil, 400, "BadRequest"},
		{"OwnedBy can instantiate", ownedBy, "POST", inst, map[string]any{"displayName": "owner-less"}, 201, ""},
		{"OwnedBy cannot configure sync", ownedBy, "GET", jobs, nil, 401, "UnknownError"},
		{"users without scope", appOnly, "GET", "/users", nil, 403, "Authorization_RequestDenied"},
		{"groups without scope", noSync, "GET", "/groups", nil, 403, "Authorization_RequestDenied"},
		{"audit logs without scope", noSync, "GET", "/auditLogs/provisioning", nil, 403, "Authorization_RequestDenied"},
		{"assign without scope", noSync, "POST", "/servicePrincipals/" + f.spID + "/appRoleAssignedTo",
			map[string]any{"principalId": f.spID, "resourceId": f.spID, "appRoleId": f.userRoleID}, 403, "Authorization_RequestDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.with(tt.token).call(tt.method, tt.path, tt.body).expect(t, tt.status)
			if tt.code != "" && r.code() != tt.code {
				t.Fatalf("code = %q, want %q (%s)", r.code(), tt.code, r.raw)
			}
			if tt.code == "UnknownError" && r.message() != "" {
				t.Fatalf("UnknownError must have an empty message, got %q", r.message())
			}
		})
	}
	c.with(appOnly).get("/me").expect(t, 400, "BadRequest", "/me request is only valid with delegated authentication flow.")
}

func TestInstantiate(t *testing.T) {
	tn, c := newTenant(t, Options{})
	path := "/applicationTemplates/" + TemplateIDGlobal + "/instantiate"
	r := c.post(path, map[string]any{"displayName": "Invicti Platform (SCIM)"}).expect(t, 201)
	app, sp := get(r.body, "application"), get(r.body, "servicePrincipal")
	for _, k := range []string{"id", "appId", "applicationTemplateId", "displayName"} {
		if str(app, k) == "" {
			t.Errorf("application.%s missing: %s", k, r.raw)
		}
	}
	if str(sp, "appId") != str(app, "appId") || str(sp, "id") == str(app, "id") || str(sp, "applicationTemplateId") != TemplateIDGlobal {
		t.Errorf("service principal ids: %s", r.raw)
	}
	if get(sp, "appRoleAssignmentRequired") != true {
		t.Errorf("appRoleAssignmentRequired: %v", get(sp, "appRoleAssignmentRequired"))
	}
	var names []string
	for _, role := range arr(sp, "appRoles") {
		names = append(names, str(role, "displayName"))
		if id := str(role, "id"); id == "18d14569-c3bd-439b-9a66-3a2aee01d14f" || id == "b9632174-c057-4f7e-951b-be3adc52bfe6" || !isGUID(id) {
			t.Errorf("app role id must be a random GUID, got %s", id)
		}
	}
	if !slices.Equal(names, []string{"User", "msiam_access"}) {
		t.Errorf("roles = %v", names)
	}
	if tags := arr(sp, "tags"); len(tags) != 2 || tags[0] != "WindowsAzureActiveDirectoryIntegratedApp" || tags[1] != "WindowsAzureActiveDirectoryCustomSingleSignOnApplication" {
		t.Errorf("tags = %v", tags)
	}
	second := c.instantiate("Invicti Platform (SCIM)")
	if second.userRoleID == str(arr(sp, "appRoles")[0], "id") {
		t.Error("app role ids must differ between apps")
	}
	if apps := tn.Apps(); len(apps) != 2 || apps[0].ServicePrincipalID != str(sp, "id") {
		t.Errorf("Apps() = %+v", apps)
	}

	gz := gzipped(t, `{"@odata.type":"#microsoft.graph.applicationTemplate","displayName":"gzipped"}`)
	tests := []struct {
		name   string
		path   string
		body   any
		hdr    []string
		status int
		code   string
	}{
		{"gzip body and @odata.type", path, gz, []string{"Content-Encoding", "gzip"}, 201, ""},
		{"usgov template on global", "/applicationTemplates/" + TemplateIDUSGov + "/instantiate", map[string]any{"displayName": "x"}, nil, 404, "Request_ResourceNotFound"},
		{"gallery template", "/applicationTemplates/229946b9-a9fb-45b8-9531-efa47453ac9e/instantiate", map[string]any{"displayName": "x"}, nil, 404, "Request_ResourceNotFound"},
		{"empty displayName", path, map[string]any{"displayName": ""}, nil, 400, "Request_BadRequest"},
		{"missing displayName", path, map[string]any{}, nil, 400, "Request_BadRequest"},
		{"long displayName", path, map[string]any{"displayName": strings.Repeat("a", 257)}, nil, 400, "Request_BadRequest"},
		{"unknown property", path, map[string]any{"displayName": "x", "owner": "me"}, nil, 400, "BadRequest"},
		{"wrong-case property", path, map[string]any{"DisplayName": "x"}, nil, 400, "BadRequest"},
		{"malformed JSON", path, `{"displayName":`, nil, 400, "BadRequest"},
		{"trailing garbage", path, `{"displayName":"x"} {}`, nil, 400, "BadRequest"},
		{"empty body", path, "", nil, 400, "BadRequest"},
		{"text/plain", path, `{"displayName":"x"}`, []string{"Content-Type", "text/plain"}, 415, "UnsupportedMediaType"},
		{"no content type", path, `{"displayName":"x"}`, []string{"Content-Type", ""}, 415, "UnsupportedMediaType"},
		{"bad gzip", path, `{"displayName":"x"}`, []string{"Content-Encoding", "gzip"}, 400, "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.call("POST", tt.path, tt.body, tt.hdr...).expect(t, tt.status)
			if tt.code != "" && r.code() != tt.code {
				t.Fatalf("code %q, want %q: %s", r.code(), tt.code, r.raw)
			}
		})
	}
	reqs := tn.Requests()
	for _, rq := range reqs {
		if strings.Contains(rq.Body, "gzipped") && !strings.HasPrefix(rq.Body, "{") {
			t.Errorf("logged body not decompressed: %q", rq.Body)
		}
	}

	gov, gc := newTenant(t, Options{Cloud: "usgov"})
	gc.post("/applicationTemplates/"+TemplateIDUSGov+"/instantiate", map[string]any{"displayName": "gov"}).expect(t, 201)
	gc.post("/applicationTemplates/"+TemplateIDGlobal+"/instantiate", map[string]any{"displayName": "gov"}).expect(t, 404)
	if gov.TemplateID() != TemplateIDUSGov {
		t.Error(gov.TemplateID())
	}
	cn, cc := newTenant(t, Options{Cloud: "china"})
	cc.post("/applicationTemplates/"+cn.TemplateID()+"/instantiate", map[string]any{"displayName": "cn"}).expect(t, 201)
	if cn.TemplateID() != TemplateIDChina {
		t.Error(cn.TemplateID())
	}
}

func TestReplication(t *testing.T) {
	clk := newClock()
	tn, c := newTenant(t, Options{Now: clk.Now, ReplicationDelay: 30 * time.Second})
	tn.SeedDemo()
	alice := tn.mustUser(t, "alice@"+Domain)
	f := c.instantiate("Replicating")
	sp := "/servicePrincipals/" + f.spID

	c.get(sp).expect(t, 404, "Request_ResourceNotFound", "Resource '"+f.spID+"' does not exist or one of its queried reference-property objects are not present.")
	c.get("/applications/"+f.appObjID).expect(t, 404, "Request_ResourceNotFound")
	r1 := c.get(sp + "/synchronization/templates")
	r2 := c.get(sp + "/synchronization/templates")
	got := []int{r1.status, r2.status}
	slices.Sort(got)
	if !slices.Equal(got, []int{403, 409}) {
		t.Fatalf("sync during replication: %d %d, want 403 and 409", r1.status, r2.status)
	}
	c.post(sp+"/synchronization/jobs", map[string]any{"templateId": "scim"}).expect(t, r1.status)
	c.assign(f, alice.ID).expect(t, 400, "Request_BadRequest", "Not a valid reference update.")
	l := c.get("/servicePrincipals?$filter="+url.QueryEscape("displayName eq 'Replicating'")).expect(t, 200)
	if len(arr(l.body, "value")) != 0 {
		t.Fatalf("filtered list must not include the new SP yet: %s", l.raw)
	}

	clk.Advance(31 * time.Second)
	c.get(sp).expect(t, 200)
	c.get("/applications/"+f.appObjID).expect(t, 200)
	l = c.get("/servicePrincipals?$filter="+url.QueryEscape("displayName eq 'Replicating'")).expect(t, 200)
	if len(arr(l.body, "value")) != 1 {
		t.Fatalf("list after replication: %s", l.raw)
	}
	j := c.post(sp+"/synchronization/jobs", map[string]any{"templateId": "scim"}).expect(t, 201)
	jobID := str(j.body, "id")
	c.get(sp+"/synchronization/jobs/"+jobID).expect(t, 404, "Request_ResourceNotFound")
	if v := arr(c.get(sp+"/synchronization/jobs").expect(t, 200).body, "value"); len(v) != 0 {
		t.Fatalf("new job listed during replication: %v", v)
	}
	clk.Advance(31 * time.Second)
	c.get(sp+"/synchronization/jobs/"+jobID).expect(t, 200)
	c.assign(f, alice.ID).expect(t, 201)
}

func TestServicePrincipalQueries(t *testing.T) {
	tn, c := newTenant(t, Options{})
	a := c.instantiate("Invicti")
	b := c.instantiate("O'Brien App")
	c.instantiate("Third")
	tn.AddApp("Old app")

	r := c.get("/servicePrincipals/"+a.spID+"?$select=appId,appRoles").expect(t, 200)
	keys := []string{}
	for k := range r.body {
		if !strings.HasPrefix(k, "@odata") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"appId", "appRoles", "id"}) {
		t.Errorf("$select returned %v", keys)
	}
	c.get("/servicePrincipals/"+a.spID+"?$select=id,bogus").expect(t, 400, "BadRequest", "Could not find a property named 'bogus'")
	full := c.get("/servicePrincipals/"+a.spID).expect(t, 200)
	for _, k := range []string{"displayName", "tags", "applicationTemplateId", "servicePrincipalType", "appRoleAssignmentRequired"} {
		if _, ok := full.body[k]; !ok {
			t.Errorf("full SP lacks %s", k)
		}
	}

	q := func(filter string, extra ...string) resp {
		return c.get("/servicePrincipals?$filter=" + url.QueryEscape(filter) + strings.Join(extra, ""))
	}
	tests := []struct {
		filter string
		want   int
		status int
		code   string
	}{
		{"tags/any(t:t eq 'WindowsAzureActiveDirectoryCustomSingleSignOnApplication')", 4, 200, ""},
		{"tags/any(x: x eq 'windowsazureactivedirectoryintegratedapp')", 4, 200, ""},
		{"displayName eq 'O''Brien App'", 1, 200, ""},
		{"displayName eq 'invicti'", 1, 200, ""},
		{"appId eq '" + b.appID + "'", 1, 200, ""},
		{"id eq '" + a.spID + "'", 1, 200, ""},
		{"displayName eq 'Invicti' and appId eq '" + b.appID + "'", 0, 200, ""},
		{"startswith(displayName,'Inv')", 0, 400, "Request_UnsupportedQuery"},
		{"displayName ne 'x'", 0, 400, "Request_UnsupportedQuery"},
		{"servicePrincipalType eq 'Application'", 0, 400, "Request_UnsupportedQuery"},
		{"displayName eq 'a' or displayName eq 'b'", 0, 400, "Request_UnsupportedQuery"},
		{"displayName eq Invicti", 0, 400, "BadRequest"},
		{"displayName eq 'unterminated", 0, 400, "BadRequest"},
		{"displayName", 0, 400, "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			r := q(tt.filter).expect(t, tt.status)
			if tt.status != 200 {
				if r.code() != tt.code {
					t.Fatalf("code %q, want %q: %s", r.code(), tt.code, r.raw)
				}
				return
			}
			if n := len(arr(r.body, "value")); n != tt.want {
				t.Fatalf("got %d results, want %d: %s", n, tt.want, r.raw)
			}
			if !strings.Contains(str(r.body, "@odata.context"), "$metadata#servicePrincipals") {
				t.Errorf("@odata.context: %s", str(r.body, "@odata.context"))
			}
		})
	}

	// $select on lists and paging with $top.
	page := q("tags/any(t:t eq 'WindowsAzureActiveDirectoryIntegratedApp')", "&$select=id,displayName&$top=3").expect(t, 200)
	if n := len(arr(page.body, "value")); n != 3 {
		t.Fatalf("page 1 has %d", n)
	}
	if _, ok := get(page.body, "value", 0).(map[string]any)["tags"]; ok {
		t.Error("$select not applied to list items")
	}
	next := str(page.body, "@odata.nextLink")
	if !strings.HasPrefix(next, tn.URL+"/v1.0/servicePrincipals?") || !strings.Contains(next, "$skiptoken=") {
		t.Fatalf("nextLink = %q", next)
	}
	page2 := c.get(strings.TrimPrefix(next, tn.URL+"/v1.0")).expect(t, 200)
	if n := len(arr(page2.body, "value")); n != 1 || str(page2.body, "@odata.nextLink") != "" {
		t.Fatalf("page 2: %s", page2.raw)
	}
	c.get("/servicePrincipals?$top=0").expect(t, 400, "BadRequest")
	c.get("/servicePrincipals?$skiptoken=garbage").expect(t, 400, "BadRequest")

	// Key syntax.
	c.get("/servicePrincipals(appId='"+a.appID+"')").expect(t, 200)
	c.get("/servicePrincipals(appId='"+a.appID+"')/synchronization/jobs").expect(t, 200)
	c.get("/servicePrincipals(appId='00000000-0000-0000-0000-000000000009')").expect(t, 404)
}

func TestPatchServicePrincipal(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.instantiate("Invicti")
	path := "/servicePrincipals/" + f.spID
	tags := []string{"WindowsAzureActiveDirectoryIntegratedApp", "WindowsAzureActiveDirectoryCustomSingleSignOnApplication", "invicti-scim"}
	c.call("PATCH", path, map[string]any{"tags": tags, "notes": "managed by invicti-scim", "displayName": "Invicti 2"}).expect(t, 204)
	r := c.get(path+"?$select=tags,notes,displayName").expect(t, 200)
	if len(arr(r.body, "tags")) != 3 || str(r.body, "notes") != "managed by invicti-scim" || str(r.body, "displayName") != "Invicti 2" {
		t.Fatalf("after PATCH: %s", r.raw)
	}
	if apps := tn.Apps(); !slices.Contains(apps[0].Tags, "invicti-scim") || apps[0].DisplayName != "Invicti 2" {
		t.Errorf("Apps: %+v", apps[0])
	}
	c.call("PATCH", path, map[string]any{"homepage": "x"}).expect(t, 400, "BadRequest")
	c.call("PATCH", path, map[string]any{"tags": "not-an-array"}).expect(t, 400, "BadRequest")
	c.call("PATCH", path, map[string]any{"displayName": ""}).expect(t, 400)
	c.call("PATCH", "/servicePrincipals/00000000-0000-0000-0000-000000000001", map[string]any{"notes": "x"}).expect(t, 404)
}

func TestApplications(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	c.putSecrets(f.spID, map[string]string{"BaseAddress": "https://x.example/scim"}).expect(t, 204)
	r := c.get("/applications/"+f.appObjID+"?$select=appId,displayName").expect(t, 200)
	if str(r.body, "appId") != f.appID || str(r.body, "displayName") != "Invicti" || r.body["id"] != f.appObjID {
		t.Fatalf("application: %s", r.raw)
	}
	if _, ok := r.body["appRoles"]; ok {
		t.Error("$select ignored")
	}
	l := c.get("/applications?$filter="+url.QueryEscape("appId eq '"+f.appID+"'")).expect(t, 200)
	if len(arr(l.body, "value")) != 1 {
		t.Fatalf("filter appId: %s", l.raw)
	}
	l = c.get("/applications?$filter="+url.QueryEscape("displayName eq 'nope'")).expect(t, 200)
	if len(arr(l.body, "value")) != 0 {
		t.Fatalf("filter displayName: %s", l.raw)
	}
	c.get("/applications?$filter="+url.QueryEscape("signInAudience eq 'x'")).expect(t, 400, "Request_UnsupportedQuery")

	c.call("DELETE", "/applications/"+f.appObjID, nil).expect(t, 204)
	c.get("/servicePrincipals/"+f.spID).expect(t, 404)
	c.get("/servicePrincipals/"+f.spID+"/synchronization/jobs").expect(t, 404)
	c.call("DELETE", "/applications/"+f.appObjID, nil).expect(t, 404)
	if n := len(tn.Apps()); n != 0 {
		t.Fatalf("Apps after delete: %d", n)
	}
}

func TestSynchronizationJobs(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.instantiate("Invicti")
	base := "/servicePrincipals/" + f.spID + "/synchronization"
	tpl := c.get(base+"/templates").expect(t, 200)
	if str(tpl.body, "value", 0, "id") != "scim" || str(tpl.body, "value", 0, "factoryTag") != "CustomSCIM" ||
		str(tpl.body, "value", 0, "applicationId") != f.appID || get(tpl.body, "value", 0, "default") != true {
		t.Fatalf("templates: %s", tpl.raw)
	}
	c.post(base+"/jobs", map[string]any{"templateId": "customappsso"}).expect(t, 400, "BadRequest")
	c.post(base+"/jobs", map[string]any{"templateId": "scim", "name": "x"}).expect(t, 400, "BadRequest")
	j := c.post(base+"/jobs", map[string]any{"@odata.type": "#microsoft.graph.synchronizationJob", "templateId": "scim"}).expect(t, 201)
	id := str(j.body, "id")
	want := regexp.MustCompile(`^scim\.` + strings.ReplaceAll(tn.TenantID(), "-", "") + `\.[0-9a-f]{32}$`)
	if !want.MatchString(id) {
		t.Errorf("job id %q", id)
	}
	if str(j.body, "schedule", "state") != "Disabled" || str(j.body, "schedule", "interval") != "P10675199DT2H48M5.4775807S" ||
		get(j.body, "schedule", "expiration") != nil {
		t.Errorf("schedule: %v", get(j.body, "schedule"))
	}
	status := get(j.body, "status")
	if str(status, "code") != "NotConfigured" || get(status, "lastExecution") != nil || get(status, "quarantine") != nil ||
		get(status, "countSuccessiveCompleteFailures") != float64(0) {
		t.Errorf("status: %v", status)
	}
	if s := str(status, "steadyStateLastAchievedTime"); s != "0001-01-01T00:00:00Z" {
		t.Errorf("steadyStateLastAchievedTime = %q", s)
	}
	list := c.get(base+"/jobs").expect(t, 200)
	if len(arr(list.body, "value")) != 1 || str(list.body, "value", 0, "id") != id {
		t.Fatalf("jobs: %s", list.raw)
	}
	c.get(base+"/jobs/"+id).expect(t, 200)
	c.get(base+"/jobs/scim.nope").expect(t, 404)

	// Graph allows a second job with the same template; Apps() exposes the count.
	j2 := c.post(base+"/jobs", map[string]any{"templateId": "scim"}).expect(t, 201)
	if n := len(tn.Apps()[0].Jobs); n != 2 {
		t.Fatalf("jobs in Apps(): %d", n)
	}
	c.call("DELETE", base+"/jobs/"+str(j2.body, "id"), nil).expect(t, 204)
	if n := len(tn.Apps()[0].Jobs); n != 1 {
		t.Fatalf("jobs after delete: %d", n)
	}

	s1 := c.get(base+"/jobs/"+id+"/schema").expect(t, 200)
	s2 := c.get(base+"/jobs/"+id+"/schema").expect(t, 200)
	rule := get(s1.body, "synchronizationRules", 0)
	if rid := str(rule, "id"); !strings.HasSuffix(rid, "#V2") || !isGUID(strings.TrimSuffix(rid, "#V2")) ||
		rid != str(s2.body, "synchronizationRules", 0, "id") || rid != tn.Apps()[0].Jobs[0].RuleID {
		t.Errorf("rule id %q not stable/shaped", rid)
	}
	if str(rule, "sourceDirectoryName") != "Azure Active Directory" || str(rule, "targetDirectoryName") != "customappsso" ||
		str(rule, "objectMappings", 0, "sourceObjectName") != "User" ||
		str(rule, "objectMappings", 0, "targetObjectName") != "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" ||
		str(rule, "objectMappings", 1, "sourceObjectName") != "Group" {
		t.Errorf("schema rule: %v", rule)
	}
	if str(s1.body, "directories", 0, "name") != "Azure Active Directory" || str(s1.body, "directories", 1, "name") != "customappsso" {
		t.Errorf("directories: %v", get(s1.body, "directories"))
	}
}

func TestSecrets(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	path := "/servicePrincipals/" + f.spID + "/synchronization/secrets"
	put := func(body any) resp { return c.call("PUT", path, body) }
	kv := func(pairs ...string) map[string]any {
		var v []map[string]string
		for i := 0; i+1 < len(pairs); i += 2 {
			v = append(v, map[string]string{"key": pairs[i], "value": pairs[i+1]})
		}
		return map[string]any{"value": v}
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		msg    string
	}{
		{"wrong-case key", kv("baseAddress", "https://x"), 500, "InternalError", "Requested value 'baseAddress' was not found."},
		{"unknown key", kv("TenantId", "x"), 500, "InternalError", "Requested value 'TenantId' was not found."},
		{"credentials property", map[string]any{"credentials": []any{}}, 400, "BadRequest", "credentials"},
		{"missing value", map[string]any{}, 400, "BadRequest", ""},
		{"value not an array", map[string]any{"value": "x"}, 400, "BadRequest", ""},
		{"pair with extra field", map[string]any{"value": []any{map[string]any{"key": "SyncAll", "value": "false", "x": 1}}}, 400, "BadRequest", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { put(tt.body).expect(t, tt.status, tt.code, tt.msg) })
	}
	if len(tn.Apps()[0].Secrets) != 0 {
		t.Fatal("a rejected PUT must not store anything")
	}

	put(kv("BaseAddress", "https://platform.invicti.com/api/scim/v2", "Oauth2ClientId", "cid",
		"Oauth2ClientSecret", "csecret", "Oauth2TokenExchangeUri", "https://platform.invicti.com/oauth/token?audience=x",
		"SyncAll", "false")).expect(t, 204)
	r := c.get(path).expect(t, 200)
	got := map[string]string{}
	for _, p := range arr(r.body, "value") {
		got[str(p, "key")] = str(p, "value")
	}
	if got["Oauth2ClientSecret"] != "*" || got["Oauth2ClientId"] != "cid" || got["BaseAddress"] == "" || len(got) != 5 {
		t.Fatalf("GET secrets: %v", got)
	}
	if tn.Apps()[0].Secrets["Oauth2ClientSecret"] != "csecret" {
		t.Error("Apps().Secrets must be unmasked")
	}
	job := c.get("/servicePrincipals/"+f.spID+"/synchronization/jobs/"+f.jobID).expect(t, 200)
	if code := str(job.body, "status", "code"); code != "NotRun" {
		t.Errorf("status after BaseAddress: %s", code)
	}

	// Upsert: unlisted keys stay, "" removes, gzip and @odata.type are accepted.
	body := `{"@odata.type":"#microsoft.graph.synchronizationSecretsPutRequestBody","value":[{"@odata.type":"#microsoft.graph.synchronizationSecretKeyStringValuePair","key":"SyncAll","value":""},{"key":"SkipOutOfScopeDeletions","value":"true"}]}`
	c.call("PUT", path, gzipped(t, body), "Content-Encoding", "gzip").expect(t, 204)
	sec := tn.Apps()[0].Secrets
	if _, ok := sec["SyncAll"]; ok || sec["SkipOutOfScopeDeletions"] != "true" || sec["Oauth2ClientId"] != "cid" {
		t.Fatalf("upsert: %v", sec)
	}

	tn.RejectSecretKeys("AuthenticationType")
	put(kv("AuthenticationType", "OAuth2ClientCredentialsGrant")).expect(t, 500, "InternalError", "Requested value 'AuthenticationType' was not found.")
	tn.ConfigurePortalStyle(f.spID, map[string]string{"AuthenticationType": "OAuth2ClientCredentialsGrant"})
	if tn.Apps()[0].Secrets["AuthenticationType"] != "OAuth2ClientCredentialsGrant" {
		t.Error("ConfigurePortalStyle did not write the key")
	}
	for _, w := range tn.Writes() {
		if w.Status == 0 {
			t.Errorf("write logged without status: %+v", w)
		}
	}
}

func TestValidateCredentials(t *testing.T) {
	scim := newFakeSCIM(t)
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	jobPath := "/servicePrincipals/" + f.spID + "/synchronization/jobs/" + f.jobID + "/validateCredentials"
	collPath := "/servicePrincipals/" + f.spID + "/synchronization/jobs/validateCredentials"
	pairs := func(m map[string]string) []map[string]string {
		var out []map[string]string
		for k, v := range m {
			out = append(out, map[string]string{"key": k, "value": v})
		}
		return out
	}
	with := func(mod func(m map[string]string)) []map[string]string {
		m := scim.creds()
		mod(m)
		return pairs(m)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	tests := []struct {
		name   string
		path   string
		body   map[string]any
		status int
		code   string
		msg    string
	}{
		{"good credentials", jobPath, map[string]any{"useSavedCredentials": false, "credentials": pairs(scim.creds())}, 204, "", ""},
		{"collection form", collPath, map[string]any{"templateId": "scim", "applicationIdentifier": f.appID, "useSavedCredentials": false, "credentials": pairs(scim.creds())}, 204, "", ""},
		{"wrong secret", jobPath, map[string]any{"credentials": with(func(m map[string]string) { m["Oauth2ClientSecret"] = "wrong" })},
			400, codeUnavailable, "Token request to " + scim.tokenURI() + " failed: HTTP 401"},
		{"audience dropped", jobPath, map[string]any{"credentials": with(func(m map[string]string) { m["Oauth2TokenExchangeUri"] = scim.srv.URL + "/oauth/token" })},
			400, codeUnavailable, "audience"},
		{"missing client id", jobPath, map[string]any{"credentials": with(func(m map[string]string) { delete(m, "Oauth2ClientId") })},
			400, codeUnavailable, "Oauth2ClientId"},
		{"missing base address", jobPath, map[string]any{"credentials": with(func(m map[string]string) { delete(m, "BaseAddress") })},
			400, codeUnavailable, "BaseAddress"},
		{"SCIM path 404", jobPath, map[string]any{"credentials": with(func(m map[string]string) { m["BaseAddress"] = scim.srv.URL + "/wrong" })},
			400, codeIncompatible, "HTTP 404"},
		{"token endpoint down", jobPath, map[string]any{"credentials": with(func(m map[string]string) { m["Oauth2TokenExchangeUri"] = deadURL + "/token" })},
			400, codeUnavailable, "Token request to"},
		{"nothing saved yet", jobPath, map[string]any{"useSavedCredentials": true}, 400, codeUnavailable, "BaseAddress"},
		{"wrong-case key", jobPath, map[string]any{"credentials": []map[string]string{{"key": "baseaddress", "value": "x"}}},
			500, "InternalError", "Requested value 'baseaddress' was not found."},
		{"unknown property", jobPath, map[string]any{"creds": []any{}}, 400, "BadRequest", ""},
		{"unknown template", collPath, map[string]any{"templateId": "nope", "credentials": pairs(scim.creds())}, 400, "BadRequest", ""},
		{"unknown job", "/servicePrincipals/" + f.spID + "/synchronization/jobs/scim.x/validateCredentials", map[string]any{"useSavedCredentials": true}, 404, "Request_ResourceNotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { c.post(tt.path, tt.body).expect(t, tt.status, tt.code, tt.msg) })
	}
	if scim.lastTokenBody != "grant_type=client_credentials" || !strings.HasPrefix(scim.lastTokenContentType, "application/x-www-form-urlencoded") {
		t.Errorf("token request: %q %q", scim.lastTokenContentType, scim.lastTokenBody)
	}
	if !strings.HasPrefix(scim.lastFilter, `userName eq "`) || !isGUID(strings.Trim(strings.TrimPrefix(scim.lastFilter, "userName eq "), `"`)) {
		t.Errorf("probe filter = %q", scim.lastFilter)
	}

	// Saved credentials.
	c.putSecrets(f.spID, scim.creds()).expect(t, 204)
	c.post(jobPath, map[string]any{"useSavedCredentials": true}).expect(t, 204)
	scim.mu.Lock()
	scim.usersStatus = http.StatusUnauthorized
	scim.mu.Unlock()
	r := c.post(jobPath, map[string]any{"useSavedCredentials": true}).expect(t, 400, codeCredFailure, "GET "+scim.base()+"/Users?filter=")
	if !strings.Contains(r.message(), "HTTP 401") {
		t.Errorf("failure message should quote the response: %s", r.message())
	}
	scim.mu.Lock()
	scim.usersStatus = 0
	scim.mu.Unlock()

	// Key set v1 (no AuthenticationType): Entra fetches no token and the probe goes out with
	// the stored Oauth2AccessToken, here none (SCIMServer's live test; the onboarding agent).
	scim.mu.Lock()
	before := scim.tokenCalls
	scim.mu.Unlock()
	c.post(jobPath, map[string]any{"credentials": with(func(m map[string]string) { delete(m, "AuthenticationType") })}).
		expect(t, 400, codeCredFailure, "HTTP 401")
	scim.mu.Lock()
	if scim.tokenCalls != before {
		t.Errorf("a token was fetched without AuthenticationType (%d → %d)", before, scim.tokenCalls)
	}
	scim.mu.Unlock()
	tn.SetKnobs(Knobs{LegacyTokenFetch: true})
	c.post(jobPath, map[string]any{"credentials": with(func(m map[string]string) { delete(m, "AuthenticationType") })}).expect(t, 204)
	tn.SetKnobs(Knobs{})
	// credentialLocationInRequest is not in the enum: inline it is refused (onboarding agent).
	c.post(jobPath, map[string]any{"credentials": with(func(m map[string]string) { m["CredentialLocationInRequest"] = "Header" })}).
		expect(t, 500, "InternalError", "Requested value 'CredentialLocationInRequest' was not found.")

	// Keys the service rejects can still be set in the portal and used with saved credentials.
	tn.RejectSecretKeys("Oauth2ClientSecret")
	c.post(jobPath, map[string]any{"credentials": pairs(scim.creds())}).expect(t, 500, "InternalError")
	c.post(jobPath, map[string]any{"useSavedCredentials": true}).expect(t, 204)
}

func TestStartPauseRestart(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	job := "/servicePrincipals/" + f.spID + "/synchronization/jobs/" + f.jobID
	c.post(job+"/start", nil).expect(t, 400, "BadRequest", "Credentials not configured")
	c.putSecrets(f.spID, map[string]string{"BaseAddress": "https://x.example/scim"}).expect(t, 204)
	c.post(job+"/start", nil).expect(t, 204)
	r := c.get(job).expect(t, 200)
	if str(r.body, "schedule", "state") != "Active" || str(r.body, "schedule", "interval") != "PT40M" || str(r.body, "status", "code") != "Active" {
		t.Fatalf("after start: %s", r.raw)
	}
	if j := tn.Apps()[0].Jobs[0]; j.StartCalls != 1 || j.StartWhileActive != 0 {
		t.Fatalf("counters: %+v", j)
	}
	c.post(job+"/start", nil).expect(t, 204)
	if j := tn.Apps()[0].Jobs[0]; j.StartCalls != 2 || j.StartWhileActive != 1 {
		t.Fatalf("start while active not counted: %+v", j)
	}
	c.post(job+"/pause", nil).expect(t, 204)
	if j := tn.Apps()[0].Jobs[0]; j.ScheduleState != "Paused" || j.StatusCode != "Paused" {
		t.Fatalf("after pause: %+v", j)
	}

	tn.Quarantine(f.spID, "EncounteredQuarantineException")
	r = c.get(job).expect(t, 200)
	q := get(r.body, "status", "quarantine")
	if str(r.body, "status", "code") != "Quarantine" || str(q, "reason") != "EncounteredQuarantineException" ||
		str(q, "currentBegan") == "" || str(q, "nextAttempt") == "" || str(q, "seriesBegan") == "" ||
		get(q, "seriesCount") != float64(1) || str(q, "error", "code") == "" {
		t.Fatalf("quarantine: %s", r.raw)
	}
	tests := []struct {
		name   string
		body   any
		status int
	}{
		{"invalid scope", map[string]any{"criteria": map[string]any{"resetScope": "Watermark, Everything"}}, 400},
		{"wrong-case scope", map[string]any{"criteria": map[string]any{"resetScope": "watermark"}}, 400},
		{"unknown property", map[string]any{"criteria": map[string]any{"scope": "Full"}}, 400},
		{"valid scope", map[string]any{"criteria": map[string]any{"resetScope": "Watermark, Escrows, QuarantineState"}}, 204},
		{"kiota flags format", map[string]any{"criteria": map[string]any{"resetScope": "Watermark,Escrows,QuarantineState"}}, 204},
		{"no criteria", map[string]any{}, 204},
		{"no body", nil, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { c.post(job+"/restart", tt.body).expect(t, tt.status) })
	}
	if j := tn.Apps()[0].Jobs[0]; j.StatusCode != "Active" || j.QuarantineReason != "" {
		t.Fatalf("after restart: %+v", j)
	}
	tn.Quarantine(f.spID, "EncounteredQuarantineException")
	c.post(job+"/start", nil).expect(t, 204)
	if j := tn.Apps()[0].Jobs[0]; j.StatusCode != "Active" || j.QuarantineReason != "" {
		t.Fatalf("start must clear quarantine: %+v", j)
	}
	tn.SetJobState(f.spID, "Paused", "Paused")
	tn.RunCycle(f.spID, "Succeeded")
	r = c.get(job).expect(t, 200)
	if str(r.body, "schedule", "state") != "Paused" || str(r.body, "status", "lastExecution", "state") != "Succeeded" ||
		str(r.body, "status", "lastSuccessfulExecution", "state") != "Succeeded" {
		t.Fatalf("knobs: %s", r.raw)
	}
}

func TestAppRoleAssignedTo(t *testing.T) {
	tn, c := newTenant(t, Options{})
	tn.SeedDemo()
	f := c.setup("Invicti")
	alice, bob := tn.mustUser(t, "alice@"+Domain), tn.mustUser(t, "bob_fabrikam.example#EXT#@"+Domain)
	invUsers, allCo := tn.mustGroup(t, "Invicti Users"), tn.mustGroup(t, "All Company")
	path := "/servicePrincipals/" + f.spID + "/appRoleAssignedTo"

	r := c.assign(f, alice.ID).expect(t, 201)
	if id := str(r.body, "id"); id == "" || isGUID(id) {
		t.Errorf("assignment id should be an opaque non-GUID string, got %q", id)
	}
	if str(r.body, "principalType") != "User" || str(r.body, "principalDisplayName") != alice.DisplayName ||
		str(r.body, "resourceId") != f.spID || str(r.body, "resourceDisplayName") != "Invicti" ||
		str(r.body, "appRoleId") != f.userRoleID || str(r.body, "createdDateTime") == "" {
		t.Errorf("assignment: %s", r.raw)
	}
	c.assign(f, invUsers.ID).expect(t, 201)
	if g := c.assign(f, allCo.ID).expect(t, 201); str(g.body, "principalType") != "Group" {
		t.Errorf("group assignment: %s", g.raw)
	}
	c.assign(f, bob.ID).expect(t, 201)

	body := func(principal, resource, role string) map[string]any {
		return map[string]any{"principalId": principal, "resourceId": resource, "appRoleId": role}
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		msg    string
	}{
		{"duplicate", body(alice.ID, f.spID, f.userRoleID), 400, "Request_BadRequest", "Permission being assigned already exists on the object."},
		{"unknown role", body(alice.ID, f.spID, "18d14569-c3bd-439b-9a66-3a2aee01d14f"), 400, "Request_BadRequest", "Permission being assigned was not found on application '" + f.appID + "'."},
		{"default access on app with roles", body(alice.ID, f.spID, zeroGUID), 400, "Request_BadRequest", "was not found on application"},
		{"unknown principal", body("00000000-0000-0000-0000-0000000000aa", f.spID, f.userRoleID), 404, "Request_ResourceNotFound", ""},
		{"resource mismatch", body(alice.ID, "00000000-0000-0000-0000-0000000000bb", f.userRoleID), 400, "Request_BadRequest", ""},
		{"malformed principal", body("alice", f.spID, f.userRoleID), 400, "BadRequest", "Edm.Guid"},
		{"missing appRoleId", map[string]any{"principalId": alice.ID, "resourceId": f.spID}, 400, "Request_BadRequest", "appRoleId"},
		{"unknown property", map[string]any{"principalId": alice.ID, "resourceId": f.spID, "appRoleId": f.userRoleID, "role": "x"}, 400, "BadRequest", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { c.post(path, tt.body).expect(t, tt.status, tt.code, tt.msg) })
	}
	// kiota sends @odata.type; accepted.
	carol := tn.mustUser(t, "carol@"+Domain)
	c.post(path, map[string]any{"@odata.type": "#microsoft.graph.appRoleAssignment", "principalId": carol.ID,
		"resourceId": f.spID, "appRoleId": f.userRoleID}).expect(t, 201)

	l := c.get(path+"?$filter="+url.QueryEscape("principalId eq "+alice.ID)).expect(t, 200)
	if v := arr(l.body, "value"); len(v) != 1 || str(v[0], "principalId") != alice.ID {
		t.Fatalf("filter principalId: %s", l.raw)
	}
	c.get(path+"?$filter="+url.QueryEscape("principalId eq '"+alice.ID+"'")).expect(t, 400, "BadRequest", "incompatible types")
	c.get(path+"?$filter="+url.QueryEscape("principalDisplayName eq 'x'")).expect(t, 400, "Request_UnsupportedQuery")

	all := 0
	next := path + "?$top=2"
	for next != "" {
		p := c.get(next).expect(t, 200)
		all += len(arr(p.body, "value"))
		next = strings.TrimPrefix(str(p.body, "@odata.nextLink"), tn.URL+"/v1.0")
	}
	if all != 5 {
		t.Fatalf("paged %d assignments, want 5", all)
	}
	if n := len(tn.Apps()[0].Assignments); n != 5 {
		t.Fatalf("Apps().Assignments = %d", n)
	}
	id := str(r.body, "id")
	c.get(path+"/"+id).expect(t, 200)
	c.call("DELETE", path+"/"+id, nil).expect(t, 204)
	c.call("DELETE", path+"/"+id, nil).expect(t, 404)
}

func TestProvisionOnDemand(t *testing.T) {
	scim := newFakeSCIM(t)
	clk := newClock()
	tn, c := newTenant(t, Options{Now: clk.Now, ProvisionDelay: 2 * time.Minute})
	tn.SeedDemo()
	f := c.setup("Invicti")
	alice, erin, frank := tn.mustUser(t, "alice@"+Domain), tn.mustUser(t, "erin@"+Domain), tn.mustUser(t, "frank@"+Domain)
	bob := tn.mustUser(t, "bob_fabrikam.example#EXT#@"+Domain)
	c.assign(f, alice.ID).expect(t, 201)

	// Credentials are checked after entitlement.
	clk.Advance(3 * time.Minute)
	key, _ := verdict(t, c.pod(f, alice.ID, "User"))
	if key["result"] != "Failure" || str(key, "details", "errorCode") != "CredentialsMissing" {
		t.Fatalf("no credentials: %v", key)
	}
	c.putSecrets(f.spID, scim.creds()).expect(t, 204)

	// A fresh assignment is not honoured before ProvisionDelay.
	c.assign(f, erin.ID).expect(t, 201)
	key, value := verdict(t, c.pod(f, erin.ID, "User"))
	if key["result"] != "Skipped" || str(key, "details", "errorCode") != "NotEffectivelyEntitled" ||
		!strings.Contains(str(key, "details", "errorMessage"), "not assigned to the application") {
		t.Fatalf("before ProvisionDelay: %v", key)
	}
	if value["action"] != "Other" || str(value, "statusInfo", "status") != "Skipped" {
		t.Errorf("value: %v", value)
	}
	clk.Advance(2 * time.Minute)
	key, value = verdict(t, c.pod(f, erin.ID, "User"))
	if key["result"] != "Success" || value["action"] != "Create" {
		t.Fatalf("after ProvisionDelay: %v %v", key, value)
	}
	var stepNames []string
	for _, s := range arr(value, "provisioningSteps") {
		stepNames = append(stepNames, str(s, "name"))
	}
	if !slices.Equal(stepNames, []string{"EntryImport", "EntrySynchronizationScoping", "EntryImportByMatch", "EntrySynchronizationAdd", "EntryExportAdd"}) {
		t.Errorf("steps: %v", stepNames)
	}
	if str(value, "targetSystem", "name") != "customappsso" || str(value, "sourceIdentity", "id") != erin.ID ||
		str(value, "targetIdentity", "id") == "" || len(arr(value, "modifiedProperties")) == 0 {
		t.Errorf("value: %v", value)
	}
	if str(arr(value, "modifiedProperties")[0], "displayName") != "userName" {
		t.Errorf("modifiedProperties: %v", arr(value, "modifiedProperties"))
	}
	scim.mu.Lock()
	var created map[string]any
	for _, u := range scim.users {
		created = u
	}
	scim.mu.Unlock()
	if created["userName"] != erin.UserPrincipalName || created["active"] != false || str(created, "name", "familyName") != "Evans" ||
		str(created, "emails", 0, "value") != erin.Mail || created["externalId"] != "erin" {
		t.Errorf("SCIM user (disabled users are provisioned with active=false): %v", created)
	}
	if n := tn.InvictiUsersProvisioned(); n != 1 {
		t.Fatalf("InvictiUsersProvisioned = %d", n)
	}

	// Second call: already in sync.
	key, value = verdict(t, c.pod(f, erin.ID, "User"))
	if key["result"] != "Skipped" || str(key, "details", "errorCode") != "RedundantExport" || value["action"] != "Other" {
		t.Fatalf("second call: %v %v", key, value)
	}

	// The target's copy drifted: Entra PATCHes it back.
	scim.mu.Lock()
	for _, u := range scim.users {
		u["displayName"] = "Somebody Else"
	}
	scim.mu.Unlock()
	key, value = verdict(t, c.pod(f, erin.ID, "User"))
	if key["result"] != "Success" || value["action"] != "Update" || str(value, "modifiedProperties", 0, "newValue") != erin.DisplayName {
		t.Fatalf("update: %v %v", key, value)
	}
	key, _ = verdict(t, c.pod(f, erin.ID, "User"))
	if str(key, "details", "errorCode") != "RedundantExport" {
		t.Fatalf("after update: %v", key)
	}

	// Rate limit: 5 per 10 s per job; start from an empty window.
	clk.Advance(11 * time.Second)
	for range 5 {
		c.pod(f, erin.ID, "User").expect(t, 200)
	}
	r := c.pod(f, erin.ID, "User").expect(t, 429, "TooManyRequests")
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
	clk.Advance(11 * time.Second)

	// Target rejects the create.
	c.assign(f, frank.ID).expect(t, 201)
	clk.Advance(3 * time.Minute)
	scim.mu.Lock()
	scim.rejectUserPost = "Invicti rejected: email domain not allowed"
	scim.mu.Unlock()
	key, value = verdict(t, c.pod(f, frank.ID, "User"))
	if key["result"] != "Failure" || str(key, "details", "errorCode") != codeBadRequest ||
		!strings.Contains(str(key, "details", "errorMessage"), "email domain not allowed") {
		t.Fatalf("target rejection: %v", key)
	}
	if str(value, "statusInfo", "status") != "Failure" {
		t.Errorf("value: %v", value)
	}
	scim.mu.Lock()
	scim.rejectUserPost = ""
	scim.mu.Unlock()

	// A user entitled through a group; the guest's UPN contains #EXT#.
	big := tn.mustGroup(t, "Big Group")
	c.assign(f, big.ID).expect(t, 201)
	clk.Advance(3 * time.Minute)
	key, _ = verdict(t, c.pod(f, bob.ID, "User"))
	if key["result"] != "Success" {
		t.Fatalf("group-entitled guest: %v", key)
	}
	clk.Advance(11 * time.Second)

	// Validation.
	badRule := map[string]any{"parameters": []any{map[string]any{"ruleId": "03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8",
		"subjects": []any{map[string]any{"objectId": alice.ID, "objectTypeName": "User"}}}}}
	podPath := "/servicePrincipals/" + f.spID + "/synchronization/jobs/" + f.jobID + "/provisionOnDemand"
	c.post(podPath, badRule).expect(t, 400, "BadRequest", "rule id")
	c.pod(f, alice.ID, "user").expect(t, 400, "BadRequest", "objectTypeName")
	members := append([]string{}, big.MemberIDs[:6]...)
	c.pod(f, big.ID, "Group", members...).expect(t, 400, "BadRequest", "up to 5 members")
	c.pod(f, "00000000-0000-0000-0000-0000000000cc", "User").expect(t, 404)
	clk.Advance(11 * time.Second)

	// Group with members: members are provisioned first, the group is created with them, value is "{}".
	before := scim.userCount()
	r = c.pod(f, big.ID, "Group", alice.ID, bob.ID)
	r.expect(t, 200)
	if str(r.body, "value") != "{}" {
		t.Errorf("group value = %q", str(r.body, "value"))
	}
	key, _ = verdict(t, r)
	if key["result"] != "Success" {
		t.Fatalf("group: %v", key)
	}
	if scim.userCount() != before+1 || len(scim.lastGroupPostMemberIDs) != 2 {
		t.Errorf("group members: users %d->%d, members %v", before, scim.userCount(), scim.lastGroupPostMemberIDs)
	}
	// A group that is not assigned.
	inv := tn.mustGroup(t, "Invicti Users")
	key, _ = verdict(t, c.pod(f, inv.ID, "Group"))
	if str(key, "details", "errorCode") != "NotEffectivelyEntitled" {
		t.Fatalf("unassigned group: %v", key)
	}

	// Every call left a provisioning log entry.
	logs := c.get("/auditLogs/provisioning?$filter="+url.QueryEscape("servicePrincipal/id eq '"+f.spID+"'")+"&$top=500").expect(t, 200)
	if n := len(arr(logs.body, "value")); n < 10 {
		t.Fatalf("only %d log entries", n)
	}
}

func TestAuditLogs(t *testing.T) {
	clk := newClock()
	tn, c := newTenant(t, Options{Now: clk.Now})
	tn.SeedDemo()
	f := c.setup("Invicti")
	alice := tn.mustUser(t, "alice@"+Domain)
	t0 := clk.Now()
	tn.AddProvisioningLog(f.spID, LogEntry{UserID: alice.ID, Action: "create", Status: "success", Time: t0})
	tn.AddProvisioningLog(f.spID, LogEntry{UserPrincipalName: "carol@" + Domain, Action: "create", Status: "failure",
		ErrorCode: "SystemForCrossDomainIdentityManagementBadRequest", Reason: "bad", Time: t0.Add(time.Minute)})
	tn.AddProvisioningLog(f.spID, LogEntry{UserID: alice.ID, Action: "update", Status: "skipped", Time: t0.Add(2 * time.Minute)})
	tn.AddProvisioningLog("00000000-0000-0000-0000-000000000001", LogEntry{UserID: alice.ID, Status: "success", Time: t0})

	q := func(filter string, extra string) resp {
		return c.get("/auditLogs/provisioning?$filter=" + url.QueryEscape(filter) + extra)
	}
	spf := "servicePrincipal/id eq '" + f.spID + "'"
	tests := []struct {
		name, filter string
		want         int
		status       int
	}{
		{"by service principal", spf, 3, 200},
		{"failures", spf + " and statusInfo/status eq 'failure'", 1, 200},
		{"provisioningStatusInfo alias", spf + " and provisioningStatusInfo/status eq 'success'", 1, 200},
		{"since", spf + " and activityDateTime ge " + t0.Add(time.Minute).Format(time.RFC3339), 2, 200},
		{"by source", spf + " and sourceIdentity/id eq '" + alice.ID + "'", 2, 200},
		{"case-sensitive", spf + " and statusInfo/status eq 'FAILURE'", 0, 200},
		{"quoted date", spf + " and activityDateTime ge '2026-01-01T00:00:00Z'", 0, 400},
		{"unsupported property", "initiatedBy/displayName eq 'x'", 0, 400},
		{"unsupported function", "contains(jobId,'scim')", 0, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := q(tt.filter, "").expect(t, tt.status)
			if tt.status == 200 && len(arr(r.body, "value")) != tt.want {
				t.Fatalf("got %d, want %d: %s", len(arr(r.body, "value")), tt.want, r.raw)
			}
		})
	}
	r := q(spf, "&$top=2").expect(t, 200)
	v := arr(r.body, "value")
	e := v[0]
	if str(e, "activityDateTime") != t0.Add(2*time.Minute).Format(time.RFC3339) {
		t.Errorf("newest first: %v", str(e, "activityDateTime"))
	}
	for _, k := range []string{"id", "activityDateTime", "provisioningAction", "jobId", "provisioningSteps", "modifiedProperties"} {
		if _, ok := e.(map[string]any)[k]; !ok {
			t.Errorf("entry lacks %s", k)
		}
	}
	if str(e, "provisioningStatusInfo", "status") != "skipped" || str(e, "servicePrincipal", "id") != f.spID ||
		str(e, "servicePrincipal", "displayName") != "Invicti" || str(e, "sourceIdentity", "identityType") != "User" ||
		str(e, "sourceIdentity", "details", "userPrincipalName") != alice.UserPrincipalName || str(e, "jobId") != f.jobID {
		t.Errorf("entry: %v", e)
	}
	fail := v[1]
	if str(fail, "provisioningStatusInfo", "errorInformation", "errorCode") != "SystemForCrossDomainIdentityManagementBadRequest" ||
		str(fail, "provisioningStatusInfo", "errorInformation", "reason") != "bad" {
		t.Errorf("failure entry: %v", fail)
	}
	next := str(r.body, "@odata.nextLink")
	if !strings.Contains(next, "$skiptoken=") {
		t.Fatalf("nextLink %q", next)
	}
	r2 := c.get(strings.TrimPrefix(next, tn.URL+"/v1.0")).expect(t, 200)
	if len(arr(r2.body, "value")) != 1 || str(r2.body, "@odata.nextLink") != "" {
		t.Fatalf("page 2: %s", r2.raw)
	}
}

func TestUsers(t *testing.T) {
	tn, c := newTenant(t, Options{})
	tn.SeedDemo()
	bobUPN := "bob_fabrikam.example#EXT#@" + Domain
	bob := tn.mustUser(t, bobUPN)

	r := c.get("/users/"+url.PathEscape(bobUPN)).expect(t, 200)
	if r.body["id"] != bob.ID || str(r.body, "userPrincipalName") != bobUPN {
		t.Fatalf("guest by escaped UPN: %s", r.raw)
	}
	if _, ok := r.body["accountEnabled"]; ok {
		t.Error("accountEnabled must only be returned when selected")
	}
	if reqs := tn.Requests(); !strings.HasSuffix(reqs[len(reqs)-1].Path, bobUPN) {
		t.Errorf("logged path %q should be decoded", reqs[len(reqs)-1].Path)
	}
	// A raw '#' never reaches the server: the UPN is cut at the fragment.
	c.get("/users/bob_fabrikam.example").expect(t, 400, "Request_BadRequest", "Invalid object identifier")
	c.get("/users/bob_fabrikam.example%23EXT").expect(t, 400)
	c.get("/users/nobody@"+Domain).expect(t, 404, "Request_ResourceNotFound", "Resource 'nobody@"+Domain+"' does not exist")
	c.get("/users/"+bob.ID+"?$select=id,accountEnabled,userType,otherMails").expect(t, 200)
	sel := c.get("/users/ERIN@CONTOSO.EXAMPLE?$select=accountEnabled,userType").expect(t, 200)
	if sel.body["accountEnabled"] != false || sel.body["userType"] != "Member" || sel.body["id"] == nil || len(sel.body) != 4 {
		t.Errorf("$select: %s", sel.raw)
	}
	c.get("/users/"+bob.ID+"?$select=manager").expect(t, 400, "BadRequest")

	// A UPN starting with '$': 400 as a plain segment, found in the documented key form.
	dollar := tn.AddUser(User{UserPrincipalName: "$svc@" + Domain, AccountEnabled: true})
	c.get("/users/$svc@"+Domain).expect(t, 400, "BadRequest", "The request URI is not valid")
	if r := c.get("/users('$svc@"+Domain+"')").expect(t, 200); r.body["id"] != dollar.ID {
		t.Errorf("key form: %s", r.raw)
	}
	quoted := tn.AddUser(User{UserPrincipalName: "$o'neil@" + Domain, AccountEnabled: true})
	if r := c.get("/users('$o''neil@"+Domain+"')?$select=id").expect(t, 200); r.body["id"] != quoted.ID {
		t.Errorf("key form with a doubled quote: %s", r.raw)
	}
	c.get("/users('$nobody@"+Domain+"')").expect(t, 404, "Request_ResourceNotFound")

	tests := []struct {
		filter string
		want   []string
		status int
	}{
		{"mail eq 'ALICE@contoso.example'", []string{"alice@" + Domain}, 200},
		{"userPrincipalName eq '" + strings.ReplaceAll(bobUPN, "'", "''") + "'", []string{bobUPN}, 200},
		{"otherMails/any(m:m eq 'bob@fabrikam.example')", []string{bobUPN}, 200},
		{"mail eq 'bob@fabrikam.example'", []string{bobUPN}, 200},
		{"id in ('" + bob.ID + "', '" + tn.mustUser(t, "carol@"+Domain).ID + "')", []string{bobUPN, "carol@" + Domain}, 200},
		{"mail eq 'nobody@x'", nil, 200},
		{"startswith(mail,'ALI')", []string{"alice@" + Domain}, 200},
		{"startswith(displayName,'zz')", nil, 200},
		{"startswith(mail,a)", nil, 400},
		{"startswith(otherMails,'a')", nil, 400},
		{"accountEnabled eq true", nil, 400},
		{"mail eq alice", nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			r := c.get("/users?$filter="+url.QueryEscape(tt.filter)+"&$select=id,userPrincipalName").expect(t, tt.status)
			if tt.status != 200 {
				return
			}
			var got []string
			for _, u := range arr(r.body, "value") {
				got = append(got, str(u, "userPrincipalName"))
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
	ids := []string{}
	for range 16 {
		ids = append(ids, "'"+bob.ID+"'")
	}
	c.get("/users?$filter="+url.QueryEscape("id in ("+strings.Join(ids, ",")+")")).expect(t, 400, "BadRequest", "Max allowed: 15")
	p := c.get("/users?$top=3").expect(t, 200)
	if len(arr(p.body, "value")) != 3 || str(p.body, "@odata.nextLink") == "" {
		t.Fatalf("users paging: %s", p.raw)
	}
}

func TestGroups(t *testing.T) {
	tn, c := newTenant(t, Options{})
	tn.SeedDemo()
	inv := tn.mustGroup(t, "Invicti Users")
	outer := tn.AddGroup(Group{DisplayName: "Outer", SecurityEnabled: true, MemberIDs: []string{inv.ID, tn.mustUser(t, "heidi@"+Domain).ID}})

	r := c.get("/groups?$filter="+url.QueryEscape("displayName eq 'invicti users'")+"&$select=id,securityEnabled").expect(t, 200)
	if v := arr(r.body, "value"); len(v) != 1 || str(v[0], "id") != inv.ID || get(v[0], "securityEnabled") != true {
		t.Fatalf("group filter: %s", r.raw)
	}
	c.get("/groups?$filter="+url.QueryEscape("securityEnabled eq true")).expect(t, 400, "Request_UnsupportedQuery")
	all := c.get("/groups/"+tn.mustGroup(t, "All Company").ID).expect(t, 200)
	if all.body["securityEnabled"] != false || all.body["mailEnabled"] != true || str(all.body, "groupTypes", 0) != "Unified" {
		t.Errorf("All Company: %s", all.raw)
	}
	g := c.get("/groups/"+inv.ID+"?$select=displayName,groupTypes").expect(t, 200)
	if len(g.body) != 4 { // id, displayName, groupTypes, @odata.context
		t.Errorf("group $select: %s", g.raw)
	}
	c.get("/groups/not-a-guid").expect(t, 400, "Request_BadRequest")
	c.get("/groups/00000000-0000-0000-0000-000000000001").expect(t, 404)

	m := c.get("/groups/"+outer.ID+"/members?$select=id,userPrincipalName,displayName").expect(t, 200)
	if v := arr(m.body, "value"); len(v) != 2 || str(v[0], "@odata.type") != "#microsoft.graph.group" ||
		str(v[1], "@odata.type") != "#microsoft.graph.user" || str(v[1], "userPrincipalName") != "heidi@"+Domain {
		t.Fatalf("members: %s", m.raw)
	}
	tm := c.get("/groups/"+outer.ID+"/transitiveMembers").expect(t, 200)
	if n := len(arr(tm.body, "value")); n != 5 { // Invicti Users + heidi + its 3 members
		t.Fatalf("transitiveMembers = %d: %s", n, tm.raw)
	}
	big := c.get("/groups/"+tn.mustGroup(t, "Big Group").ID+"/members?$top=5").expect(t, 200)
	if len(arr(big.body, "value")) != 5 || str(big.body, "@odata.nextLink") == "" {
		t.Fatalf("members paging: %s", big.raw)
	}
}

func TestMeAndOrganization(t *testing.T) {
	tn, c := newTenant(t, Options{})
	tn.SeedDemo()
	me := c.get("/me?$select=id,userPrincipalName,displayName").expect(t, 200)
	if str(me.body, "userPrincipalName") != DefaultAdminUPN || str(me.body, "id") == "" {
		t.Fatalf("/me: %s", me.raw)
	}
	mo := c.get("/me/memberOf").expect(t, 200)
	var roles []string
	for _, o := range arr(mo.body, "value") {
		if str(o, "@odata.type") == "#microsoft.graph.directoryRole" {
			roles = append(roles, str(o, "roleTemplateId")+"="+str(o, "displayName"))
		}
	}
	if !slices.Equal(roles, []string{RoleApplicationAdministrator + "=Application Administrator"}) {
		t.Fatalf("memberOf roles: %v", roles)
	}
	org := c.get("/organization").expect(t, 200)
	if str(org.body, "value", 0, "displayName") != "Contoso (emulated)" || str(org.body, "value", 0, "verifiedDomains", 0, "name") != Domain {
		t.Fatalf("organization: %s", org.raw)
	}
}

func TestBatch(t *testing.T) {
	tn, c := newTenant(t, Options{})
	tn.SeedDemo()
	f := c.setup("Invicti")
	alice, carol := tn.mustUser(t, "alice@"+Domain), tn.mustUser(t, "carol@"+Domain)
	tn.ResetRequests()
	tn.InjectFault(Fault{Path: regexp.MustCompile(`/users/carol@`), Status: 429, RetryAfter: 7, Times: 1})
	batch := map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/users/alice@" + Domain + "?$select=id"},
		map[string]any{"id": "2", "method": "GET", "url": "users/carol@" + Domain},
		map[string]any{"id": "3", "method": "POST", "url": "/servicePrincipals/" + f.spID + "/appRoleAssignedTo",
			"headers": map[string]string{"Content-Type": "application/json"},
			"body":    map[string]any{"principalId": alice.ID, "resourceId": f.spID, "appRoleId": f.userRoleID}},
		map[string]any{"id": "4", "method": "POST", "url": "/servicePrincipals/" + f.spID + "/appRoleAssignedTo",
			"body": map[string]any{"principalId": carol.ID, "resourceId": f.spID, "appRoleId": f.userRoleID}},
		map[string]any{"id": "5", "method": "GET", "url": "/users/" + alice.ID, "dependsOn": []string{"2"}},
		map[string]any{"id": "6", "method": "GET", "url": "/nonsense"},
	}}
	r := c.post("/$batch", batch).expect(t, 200)
	byID := map[string]any{}
	for _, item := range arr(r.body, "responses") {
		byID[str(item, "id")] = item
	}
	status := func(id string) int { v, _ := get(byID[id], "status").(float64); return int(v) }
	if len(byID) != 6 || status("1") != 200 || status("2") != 429 || status("3") != 201 || status("4") != 400 ||
		status("5") != 424 || status("6") != 400 {
		t.Fatalf("batch statuses: %s", r.raw)
	}
	if ra := str(byID["2"], "headers", "Retry-After"); ra != "7" {
		t.Errorf("item 429 Retry-After = %q", ra)
	}
	if !strings.Contains(str(byID["4"], "body", "error", "message"), "Content-Type") {
		t.Errorf("item without Content-Type: %v", byID["4"])
	}
	if str(byID["1"], "body", "id") != alice.ID {
		t.Errorf("item 1 body: %v", byID["1"])
	}
	var batched, outer int
	for _, rq := range tn.Requests() {
		if rq.InBatch {
			batched++
		} else if rq.Path == "/v1.0/$batch" {
			outer++
		}
	}
	if batched != 6 || outer != 1 {
		t.Errorf("logged %d sub-requests and %d outer", batched, outer)
	}
	writes := tn.Writes()
	if len(writes) != 2 || !writes[0].InBatch {
		t.Errorf("Writes() = %+v", writes)
	}
	if n := len(tn.Apps()[0].Assignments); n != 1 {
		t.Errorf("assignments after batch: %d", n)
	}

	many := []any{}
	for i := range 21 {
		many = append(many, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/me"})
	}
	tests := []struct {
		name string
		body any
		msg  string
	}{
		{"absolute URL", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users/x"}}}, "Invalid request URL"},
		{"too many", map[string]any{"requests": many}, "limit of 20"},
		{"duplicate ids", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "/me"}, map[string]any{"id": "1", "method": "GET", "url": "/me"}}}, "unique"},
		{"bad method", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "FETCH", "url": "/me"}}}, "method"},
		{"dependsOn later id", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "/me", "dependsOn": []string{"2"}}, map[string]any{"id": "2", "method": "GET", "url": "/me"}}}, "depends"},
		{"no requests", map[string]any{"requests": []any{}}, ""},
		{"not a batch", map[string]any{"value": 1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { c.post("/$batch", tt.body).expect(t, 400, "BadRequest", tt.msg) })
	}
	// gzip-compressed batch bodies are accepted too.
	gz := gzipped(t, `{"requests":[{"id":"a","method":"GET","url":"/organization"}]}`)
	if v := arr(c.call("POST", "/$batch", gz, "Content-Encoding", "gzip").expect(t, 200).body, "responses"); len(v) != 1 {
		t.Fatalf("gzip batch: %v", v)
	}
}

func TestFaults(t *testing.T) {
	tn, c := newTenant(t, Options{})
	tn.InjectFault(Fault{Method: "GET", Path: regexp.MustCompile(`^/v1\.0/organization$`), Status: 503, RetryAfter: 2, Times: 2})
	r := c.get("/organization").expect(t, 503, "ServiceUnavailable")
	if r.header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	c.get("/organization").expect(t, 503)
	c.get("/organization").expect(t, 200)
	c.post("/$batch", map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "/me"}}}).expect(t, 200)

	tn.InjectFault(Fault{Path: regexp.MustCompile(`/me$`), Status: 429, Code: "activityLimitReached", Message: "slow down"})
	c.get("/me").expect(t, 429, "activityLimitReached", "slow down")
	c.get("/me").expect(t, 429)
	tn.ClearFaults()
	c.get("/me").expect(t, 200)

	tn.InjectFault(Fault{Delay: 2 * time.Second, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", tn.URL+"/v1.0/me", nil)
	req.Header.Set("Authorization", "Bearer "+tn.Token())
	start := time.Now()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("expected a client timeout")
	}
	if time.Since(start) > time.Second {
		t.Fatal("timeout not honoured")
	}
}

func TestLatencyPerHTTPRequest(t *testing.T) {
	_, c := newTenant(t, Options{Latency: 100 * time.Millisecond})
	start := time.Now()
	c.get("/me").expect(t, 200)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	var reqs []any
	for i := range 5 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/me"})
	}
	start = time.Now()
	c.post("/$batch", map[string]any{"requests": reqs}).expect(t, 200)
	if d := time.Since(start); d < 100*time.Millisecond || d > 450*time.Millisecond {
		t.Fatalf("a $batch must cost one latency, took %v", d)
	}
}

func TestKnobsAndInspection(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	if len(tn.Requests()) == 0 {
		t.Fatal("no requests logged")
	}
	last := tn.Requests()[len(tn.Requests())-1]
	if last.Method != "GET" || last.Status != 200 || !strings.HasSuffix(last.Path, "/schema") || last.Time.IsZero() {
		t.Errorf("last request %+v", last)
	}
	tn.ResetRequests()
	if len(tn.Requests()) != 0 {
		t.Fatal("ResetRequests")
	}
	c.get("/servicePrincipals/" + f.spID + "?$select=id")
	if rq := tn.Requests(); len(rq) != 1 || rq[0].Query != "$select=id" || len(tn.Writes()) != 0 {
		t.Errorf("requests %+v", rq)
	}
	tn.DeleteAppBehindBack(f.spID)
	c.get("/servicePrincipals/"+f.spID).expect(t, 404)
	if len(tn.Apps()) != 0 || len(tn.Requests()) != 2 {
		t.Fatalf("DeleteAppBehindBack: apps=%d requests=%d", len(tn.Apps()), len(tn.Requests()))
	}
	old := tn.AddApp("Existing")
	l := c.get("/servicePrincipals?$filter="+url.QueryEscape("displayName eq 'Existing'")).expect(t, 200)
	if str(l.body, "value", 0, "id") != old.ServicePrincipalID || old.AppID == "" || len(old.AppRoles) != 2 {
		t.Fatalf("AddApp: %+v %s", old, l.raw)
	}

	// NewHandler works without a server.
	h := NewHandler(Options{TenantID: "AAAAAAAA-0000-0000-0000-000000000000"})
	if h.URL != "" || h.TenantID() != "aaaaaaaa-0000-0000-0000-000000000000" {
		t.Errorf("NewHandler: %q %q", h.URL, h.TenantID())
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1.0/organization", nil)
	req.Header.Set("Authorization", "Bearer "+h.Token())
	h.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), h.TenantID()) || rec.Header().Get("request-id") == "" {
		t.Fatalf("handler: %d %s", rec.Code, rec.Body)
	}
}

func TestConcurrentUse(t *testing.T) {
	tn, c := newTenant(t, Options{})
	tn.SeedDemo()
	f := c.setup("Invicti")
	users := []string{"alice", "carol", "dave", "frank", "grace", "heidi"}
	errs := make(chan string, len(users)*3)
	done := make(chan struct{})
	for _, u := range users {
		go func() {
			defer func() { done <- struct{}{} }()
			id := tn.mustUser(t, u+"@"+Domain).ID
			for _, r := range []resp{
				c.get("/users/" + u + "@" + Domain),
				c.assign(f, id),
				c.get("/servicePrincipals/" + f.spID + "/appRoleAssignedTo"),
			} {
				if r.status >= 300 {
					errs <- fmt.Sprintf("%s: %d %s", u, r.status, r.raw)
				}
			}
		}()
	}
	for range users {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := len(tn.Apps()[0].Assignments); n != len(users) {
		t.Fatalf("assignments = %d", n)
	}
}
