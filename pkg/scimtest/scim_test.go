package scimtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestDiscovery(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("GET", "/ServiceProviderConfig", nil)
	wantStatus(t, r, 200)
	if r.header.Get("Content-Type") != "application/scim+json" {
		t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
	}
	sup := func(k string) bool { m, _ := r.body[k].(map[string]any); b, _ := m["supported"].(bool); return b }
	if !sup("patch") || sup("bulk") || !sup("filter") || sup("changePassword") || !sup("sort") || sup("etag") {
		t.Errorf("ServiceProviderConfig = %s", r.raw)
	}
	if f, _ := r.body["filter"].(map[string]any); num(f["maxResults"]) != 200 {
		t.Errorf("maxResults = %v", f["maxResults"])
	}
	if as, _ := r.body["authenticationSchemes"].([]any); len(as) != 1 || as[0].(map[string]any)["type"] != "oauth2" {
		t.Errorf("authenticationSchemes = %v", r.body["authenticationSchemes"])
	}

	r = e.do("GET", "/Schemas", nil)
	wantStatus(t, r, 200)
	if num(r.body["totalResults"]) != 2 || resources(r)[0]["id"] != SchemaUser || resources(r)[1]["id"] != SchemaGroup {
		t.Errorf("Schemas = %s", r.raw)
	}
	r = e.do("GET", "/Schemas/"+SchemaUser, nil)
	wantStatus(t, r, 200)
	attrs, _ := r.body["attributes"].([]any)
	var names []string
	for _, a := range attrs {
		names = append(names, a.(map[string]any)["name"].(string))
	}
	if !strings.Contains(strings.Join(names, ","), "userName,name,displayName") || strings.Contains(strings.Join(names, ","), "meta") {
		t.Errorf("User attributes = %v", names)
	}
	wantSCIMError(t, e.do("GET", "/Schemas/urn:nope", nil), 404, "")

	r = e.do("GET", "/ResourceTypes", nil)
	if num(r.body["totalResults"]) != 2 || resources(r)[0]["endpoint"] != "/Users" {
		t.Errorf("ResourceTypes = %s", r.raw)
	}
	wantStatus(t, e.do("GET", "/ResourceTypes/Group", nil), 200)
}

func TestRoutesAndMethods(t *testing.T) {
	e := newEnv(t, Options{})
	wantSCIMError(t, e.do("GET", "/Nope", nil), 404, "")
	wantSCIMError(t, e.do("GET", "", nil), 404, "")
	wantSCIMError(t, e.do("GET", "/Users/", nil), 404, "")
	wantSCIMError(t, e.do("GET", "/users", nil), 404, "")
	wantSCIMError(t, e.do("POST", "/Bulk", "{}"), 501, "")
	r := e.do("DELETE", "/Users", nil)
	wantSCIMError(t, r, 405, "")
	if r.header.Get("Allow") != "GET, POST" {
		t.Errorf("Allow = %q", r.header.Get("Allow"))
	}
	wantSCIMError(t, e.do("POST", "/ServiceProviderConfig", "{}"), 405, "")
	// Outside the SCIM prefix too (no token needed to get a 404).
	req, _ := http.NewRequest("GET", e.s.URL+"/api/other", nil)
	wantSCIMError(t, e.send(req), 404, "")
}

func TestModes(t *testing.T) {
	e := newEnv(t, Options{})
	cases := []struct {
		mode   Mode
		status int
		ctype  string
	}{
		{ModeNotSCIM, 200, "text/html; charset=utf-8"},
		{ModeNoSCIM, 404, "text/html; charset=utf-8"},
		{ModeServerError, 500, "application/scim+json"},
		{ModeRateLimited, 429, "application/scim+json"},
		{ModeSCIMForbidden, 403, "application/scim+json"},
		{ModeStrictAudience, 200, "application/scim+json"},
		{ModeRawBasic, 200, "application/scim+json"},
		{ModeNormal, 200, "application/scim+json"},
	}
	for _, c := range cases {
		e.s.SetMode(c.mode)
		if e.s.Mode() != c.mode {
			t.Fatal("Mode() mismatch")
		}
		r := e.do("GET", "/Users", nil)
		if r.status != c.status || r.header.Get("Content-Type") != c.ctype {
			t.Errorf("mode %q: %d %q", c.mode, r.status, r.header.Get("Content-Type"))
		}
		if c.mode == ModeRateLimited && r.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		if c.mode == ModeNotSCIM && !strings.Contains(string(r.raw), "<title>Sign in") {
			t.Errorf("login page = %s", r.raw)
		}
		// The token endpoint is unaffected (raw-basic changes client authentication: below).
		if c.mode != ModeRawBasic {
			wantStatus(t, e.tokenReq(e.audQuery(), grant, testClient, testSecret), 200)
		}
	}
	if len(Modes()) != 9 {
		t.Error("Modes() incomplete")
	}
}

// The client-authentication modes: raw-basic takes Basic credentials verbatim, body-only takes
// only client_secret_post.
func TestClientAuthModes(t *testing.T) {
	e := newEnv(t, Options{})
	const odd = "a+b/c=d:e%f"
	e.s.AddClient("odd-client", odd)
	raw := func() resp {
		req, err := http.NewRequest(http.MethodPost, e.s.URL+"/oauth/token"+e.audQuery(), strings.NewReader(grant.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("odd-client", odd)
		return e.send(req)
	}
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {"odd-client"}, "client_secret": {odd}}

	wantStatus(t, e.tokenReq(e.audQuery(), grant, "odd-client", odd), 200) // RFC 6749 §2.3.1
	wantStatus(t, raw(), 400)                                              // "%f" does not decode
	e.s.SetMode(ModeRawBasic)
	wantStatus(t, e.tokenReq(e.audQuery(), grant, "odd-client", odd), 401)
	wantStatus(t, raw(), 200)
	e.s.SetMode(ModeBodyOnly)
	wantStatus(t, e.tokenReq(e.audQuery(), grant, "odd-client", odd), 401)
	wantStatus(t, raw(), 401)
	wantStatus(t, e.tokenReq(e.audQuery(), body, "", ""), 200)
}

func TestUserCRUD(t *testing.T) {
	e := newEnv(t, Options{})
	body := userBody("Alice@Example.com", map[string]any{
		"schemas":     []any{SchemaUser, SchemaEnterpriseUser},
		"externalId":  "ext-1",
		"displayName": "Alice A",
		"name":        map[string]any{"givenName": "Alice", "familyName": "A", "bogus": 1},
		"emails":      []any{map[string]any{"value": "alice@example.com", "type": "work", "primary": true}},
		"password":    "never-stored",
		"unknownAttr": "ignored",
		"id":          "client-chosen-id",
		"groups":      []any{map[string]any{"value": "x"}},
		SchemaEnterpriseUser: map[string]any{
			"department": "Security",
		},
	})
	r := e.do("POST", "/Users", body)
	wantStatus(t, r, 201)
	id := r.str("id")
	if id == "" || id == "client-chosen-id" || r.header.Get("Location") != e.s.TenantURL()+"/Users/"+id {
		t.Fatalf("id %q Location %q", id, r.header.Get("Location"))
	}
	if r.str("meta", "resourceType") != "User" || r.str("meta", "location") != r.header.Get("Location") || r.str("meta", "created") == "" {
		t.Errorf("meta = %v", r.body["meta"])
	}
	for _, k := range []string{"password", "unknownAttr", "groups"} {
		if _, ok := r.body[k]; ok {
			t.Errorf("%s returned", k)
		}
	}
	if r.str(SchemaEnterpriseUser, "department") != "Security" || len(r.body["schemas"].([]any)) != 2 {
		t.Errorf("extension = %s", r.raw)
	}
	if strings.Contains(string(r.raw), "never-stored") {
		t.Error("password echoed")
	}
	u, ok := e.s.User(id)
	want := User{ID: id, UserName: "Alice@Example.com", DisplayName: "Alice A", GivenName: "Alice", FamilyName: "A", Email: "alice@example.com", ExternalID: "ext-1", Active: true}
	if !ok || u != want {
		t.Errorf("stored = %+v", u)
	}

	// Uniqueness is case-insensitive.
	wantSCIMError(t, e.do("POST", "/Users", userBody("alice@EXAMPLE.com", nil)), 409, "uniqueness")
	// Validation.
	wantSCIMError(t, e.do("POST", "/Users", map[string]any{"schemas": []any{SchemaUser}}), 400, "invalidValue")
	wantSCIMError(t, e.do("POST", "/Users", map[string]any{"userName": "b@x"}), 400, "invalidSyntax")
	wantSCIMError(t, e.do("POST", "/Users", map[string]any{"schemas": []any{SchemaGroup}, "userName": "b@x"}), 400, "invalidSyntax")
	wantSCIMError(t, e.do("POST", "/Users", userBody("b@x", map[string]any{"active": "yes"})), 400, "invalidValue")
	wantSCIMError(t, e.do("POST", "/Users", userBody("b@x", map[string]any{"emails": map[string]any{"value": "x"}})), 400, "invalidValue")
	wantSCIMError(t, e.do("POST", "/Users", userBody("b@x", map[string]any{"displayName": 5})), 400, "invalidValue")
	wantSCIMError(t, e.do("POST", "/Users", userBody("b@x", map[string]any{"emails": []any{
		map[string]any{"value": "a@x", "primary": true}, map[string]any{"value": "b@x", "primary": true}}})), 400, "invalidValue")
	wantSCIMError(t, e.do("POST", "/Users", `{"schemas":`), 400, "invalidSyntax")
	wantSCIMError(t, e.do("POST", "/Users", `[1]`), 400, "invalidSyntax")
	wantSCIMError(t, e.do("POST", "/Users", userBody("b@x", nil), "Content-Type: text/plain"), 415, "")
	big := userBody("big@x", map[string]any{"title": strings.Repeat("x", MaxBodyBytes)})
	wantSCIMError(t, e.do("POST", "/Users", big), 413, "")
	// Entra's string booleans are accepted on create too.
	r = e.do("POST", "/Users", userBody("c@x", map[string]any{"active": "False"}), "Content-Type: application/json")
	wantStatus(t, r, 201)
	if r.body["active"] != false {
		t.Errorf("active = %v", r.body["active"])
	}

	// GET.
	r = e.do("GET", "/Users/"+id, nil)
	wantStatus(t, r, 200)
	if r.str("userName") != "Alice@Example.com" {
		t.Errorf("GET = %s", r.raw)
	}
	wantSCIMError(t, e.do("GET", "/Users/nope", nil), 404, "")
	r = e.do("GET", "/Users/"+id+"?attributes=userName,name.givenName", nil)
	if len(r.body) != 4 || r.str("name", "givenName") != "Alice" || r.str("name", "familyName") != "" {
		t.Errorf("attributes projection = %s", r.raw)
	}
	r = e.do("GET", "/Users/"+id+"?excludedAttributes=emails,id,"+SchemaEnterpriseUser+":department", nil)
	if _, ok := r.body["emails"]; ok || r.str("id") != id || r.str(SchemaEnterpriseUser, "department") != "" {
		t.Errorf("excludedAttributes projection = %s", r.raw)
	}
	wantSCIMError(t, e.do("GET", "/Users/"+id+"?attributes=nope", nil), 400, "invalidValue")

	// PUT replaces everything.
	r = e.do("PUT", "/Users/"+id, userBody("alice@example.com", map[string]any{"displayName": "Alice B"}))
	wantStatus(t, r, 200)
	if r.str("displayName") != "Alice B" || r.body["emails"] != nil || r.body["externalId"] != nil {
		t.Errorf("PUT = %s", r.raw)
	}
	wantSCIMError(t, e.do("PUT", "/Users/"+id, userBody("c@X", nil)), 409, "uniqueness")
	wantSCIMError(t, e.do("PUT", "/Users/"+id, userBody("z@x", map[string]any{"id": "other"})), 400, "mutability")
	wantSCIMError(t, e.do("PUT", "/Users/nope", userBody("z@x", nil)), 404, "")

	// DELETE.
	wantStatus(t, e.do("DELETE", "/Users/"+id, nil), 204)
	wantSCIMError(t, e.do("DELETE", "/Users/"+id, nil), 404, "")
	wantSCIMError(t, e.do("GET", "/Users/"+id, nil), 404, "")
	if len(e.s.Users()) != 1 {
		t.Errorf("Users() = %+v", e.s.Users())
	}
}

func TestUserPatchEntraStyle(t *testing.T) {
	e := newEnv(t, Options{})
	mgr := e.s.AddUser(User{UserName: "boss@x", DisplayName: "The Boss"})
	u := e.s.AddUser(User{UserName: "u@x", Active: true, GivenName: "U"})
	path := "/Users/" + u.ID
	r := e.do("PATCH", path, patchBody(
		op("Replace", "active", "False"),
		op("Add", `emails[type eq "work"].value`, "u@work.example"),
		op("Replace", "name.familyName", "Jones"),
		op("Add", "", map[string]any{"displayName": "U Jones", "name.givenName": "Ulla", "nonsense": "x"}),
		op("Add", SchemaEnterpriseUser+":manager", mgr.ID),
		op("Replace", SchemaEnterpriseUser+":department", "R&D"),
		op("Add", "phoneNumbers", []any{map[string]any{"value": "+1 555", "type": "mobile"}}),
		op("Replace", "externalId", "ext-9"),
	))
	wantStatus(t, r, 200)
	got, _ := e.s.User(u.ID)
	want := User{ID: u.ID, UserName: "u@x", DisplayName: "U Jones", GivenName: "Ulla", FamilyName: "Jones", Email: "u@work.example", ExternalID: "ext-9", Active: false}
	if got != want {
		t.Errorf("after PATCH: %+v", got)
	}
	ext, _ := r.body[SchemaEnterpriseUser].(map[string]any)
	m, _ := ext["manager"].(map[string]any)
	if m["value"] != mgr.ID || m["displayName"] != "The Boss" || ext["department"] != "R&D" {
		t.Errorf("extension = %v", ext)
	}

	// Replace on an existing filtered element, then add a second email type.
	e.do("PATCH", path, patchBody(op("replace", `emails[type eq "work"].value`, "new@work.example"), op("add", `emails[type eq "home"].value`, "home@example.com")))
	r = e.do("GET", path, nil)
	emails, _ := r.body["emails"].([]any)
	if len(emails) != 2 || emails[0].(map[string]any)["value"] != "new@work.example" {
		t.Errorf("emails = %v", emails)
	}
	// Remove a filtered element, a sub-attribute and an attribute.
	wantStatus(t, e.do("PATCH", path, patchBody(
		op("remove", `emails[type eq "home"]`, nil),
		op("remove", "name.givenName", nil),
		op("Remove", SchemaEnterpriseUser+":manager", nil),
		op("remove", "title", nil), // absent: no-op
	)), 200)
	r = e.do("GET", path, nil)
	if emails, _ := r.body["emails"].([]any); len(emails) != 1 || r.str("name", "givenName") != "" || r.str("name", "familyName") != "Jones" {
		t.Errorf("after removes: %s", r.raw)
	}
	if ext, _ := r.body[SchemaEnterpriseUser].(map[string]any); ext["manager"] != nil {
		t.Errorf("manager not removed: %v", ext)
	}
	// No-path replace of the whole extension object.
	e.do("PATCH", path, patchBody(op("replace", "", map[string]any{SchemaEnterpriseUser: map[string]any{"costCenter": "42"}})))
	if r = e.do("GET", path, nil); r.str(SchemaEnterpriseUser, "costCenter") != "42" {
		t.Errorf("costCenter: %s", r.raw)
	}

	// Errors.
	cases := []struct {
		name     string
		body     any
		status   int
		scimType string
	}{
		{"no PatchOp schema", map[string]any{"schemas": []any{SchemaUser}, "Operations": []any{op("add", "title", "x")}}, 400, "invalidSyntax"},
		{"no operations", map[string]any{"schemas": []any{SchemaPatchOp}, "Operations": []any{}}, 400, "invalidSyntax"},
		{"bad op", patchBody(op("move", "title", "x")), 400, "invalidSyntax"},
		{"remove without path", patchBody(op("remove", "", nil)), 400, "noTarget"},
		{"unknown path", patchBody(op("add", "nope", "x")), 400, "invalidPath"},
		{"unknown schema", patchBody(op("add", "urn:x:y:title", "x")), 400, "invalidPath"},
		{"read-only id", patchBody(op("replace", "id", "x")), 400, "mutability"},
		{"read-only groups", patchBody(op("add", "groups", []any{map[string]any{"value": "x"}})), 400, "mutability"},
		{"remove userName", patchBody(op("remove", "userName", nil)), 400, "invalidValue"},
		{"bad boolean", patchBody(op("replace", "active", "maybe")), 400, "invalidValue"},
		{"bad filter", patchBody(op("replace", `emails[type zz "work"].value`, "x")), 400, "invalidFilter"},
		{"filter on single-valued", patchBody(op("replace", `name[givenName eq "x"]`, "x")), 400, "invalidPath"},
		{"multi without filter", patchBody(op("replace", "emails.value", "x")), 400, "invalidPath"},
		{"unmatched complex filter", patchBody(op("replace", `emails[type eq "a" or type eq "b"].value`, "x")), 400, "noTarget"},
		{"duplicate userName", patchBody(op("replace", "userName", "BOSS@x")), 409, "uniqueness"},
		{"missing value", patchBody(map[string]any{"op": "add", "path": "title"}), 400, "invalidValue"},
	}
	before, _ := e.s.User(u.ID)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantSCIMError(t, e.do("PATCH", path, c.body), c.status, c.scimType)
		})
	}
	if after, _ := e.s.User(u.ID); after != before {
		t.Errorf("failed PATCHes changed the user: %+v", after)
	}
	wantSCIMError(t, e.do("PATCH", "/Users/nope", patchBody(op("add", "title", "x"))), 404, "")
}

func TestFilters(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.s.AddUser(User{UserName: "alice@example.com", ExternalID: "EXT-a", Email: "alice@work.example", DisplayName: "Alice", Active: true})
	b := e.s.AddUser(User{UserName: "bob@example.com", ExternalID: "ext-b", DisplayName: "Bob"})
	g := e.s.AddGroup(Group{DisplayName: "Team A", MemberIDs: []string{a.ID}})
	e.s.AddGroup(Group{DisplayName: "Team B"})

	ids := func(path, filter string) string {
		t.Helper()
		r := e.do("GET", path+"?filter="+url.QueryEscape(filter), nil)
		wantStatus(t, r, 200)
		var out []string
		for _, res := range resources(r) {
			out = append(out, res["id"].(string))
		}
		if num(r.body["totalResults"]) != len(out) {
			t.Errorf("totalResults %v for %d resources", r.body["totalResults"], len(out))
		}
		return strings.Join(out, ",")
	}
	cases := []struct{ path, filter, want string }{
		{"/Users", `userName eq "alice@example.com"`, a.ID},
		{"/Users", `userName Eq "ALICE@example.com"`, a.ID},
		{"/Users", `USERNAME EQ "alice@example.com"`, a.ID},
		{"/Users", `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@example.com"`, b.ID},
		{"/Users", `userName eq "nobody@example.com"`, ""},
		{"/Users", `externalId eq "EXT-a"`, a.ID},
		{"/Users", `externalId eq "ext-a"`, ""}, // caseExact
		{"/Users", `id eq "` + b.ID + `"`, b.ID},
		{"/Users", `emails[type eq "work"].value eq "Alice@Work.example"`, a.ID},
		{"/Users", `emails[type eq "home"].value eq "alice@work.example"`, ""},
		{"/Users", `emails[type eq "work"]`, a.ID},
		{"/Users", `emails.value eq "alice@work.example"`, a.ID},
		{"/Users", `emails pr`, a.ID},
		{"/Users", `userName sw "b" or displayName eq "alice"`, a.ID + "," + b.ID},
		{"/Users", `not (userName sw "b") and active eq true`, a.ID},
		{"/Users", `active eq false`, b.ID},
		{"/Users", `(userName co "example") and (displayName ew "ob")`, b.ID},
		{"/Users", `meta.created pr and meta.resourceType eq "User"`, a.ID + "," + b.ID},
		{"/Users", `groups.value eq "` + g.ID + `"`, a.ID},
		{"/Users", `externalId eq null`, ""},
		{"/Groups", `displayName eq "team a"`, g.ID},
		{"/Groups", `members eq "` + a.ID + `"`, g.ID},
		{"/Groups", `id eq "` + g.ID + `" and members[value eq "` + a.ID + `"]`, g.ID},
		{"/Groups", `members.value eq "` + b.ID + `"`, ""},
	}
	for _, c := range cases {
		if got := ids(c.path, c.filter); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.path, c.filter, got, c.want)
		}
	}
	bad := []string{
		``, `userName`, `userName eq`, `userName zz "x"`, `nope eq "x"`, `userName eq alice`,
		`userName eq "x" and`, `(userName eq "x"`, `emails[type eq "work"`, `name[givenName eq "x"]`,
		`active gt true`, `active eq 1`, `userName eq 5`, `emails[value[type eq "x"] eq "y"]`,
		`urn:foo:bar:userName eq "x"`, `userName eq "unterminated`, `name eq "x"`,
		`emails[type eq "work"].nope eq "x"`, `userName gt null`,
	}
	for _, f := range bad {
		r := e.do("GET", "/Users?filter="+url.QueryEscape(f), nil)
		if r.status != 400 || r.str("scimType") != "invalidFilter" {
			t.Errorf("filter %q: %d %s", f, r.status, r.raw)
		}
	}
}

func TestPaginationAndSort(t *testing.T) {
	e := newEnv(t, Options{})
	for i := 0; i < 250; i++ {
		e.s.AddUser(User{UserName: fmt.Sprintf("user%03d@example.com", i), DisplayName: fmt.Sprintf("U%03d", 249-i)})
	}
	page := func(q string) resp {
		r := e.do("GET", "/Users?"+q, nil)
		wantStatus(t, r, 200)
		return r
	}
	check := func(q string, total, start, items int, first string) {
		t.Helper()
		r := page(q)
		res := resources(r)
		if num(r.body["totalResults"]) != total || num(r.body["startIndex"]) != start || num(r.body["itemsPerPage"]) != items || len(res) != items {
			t.Errorf("%s: total %v start %v items %v len %d", q, r.body["totalResults"], r.body["startIndex"], r.body["itemsPerPage"], len(res))
			return
		}
		if items > 0 && res[0]["userName"] != first {
			t.Errorf("%s: first = %v, want %s", q, res[0]["userName"], first)
		}
	}
	check("", 250, 1, 100, "user000@example.com")
	check("count=500", 250, 1, 200, "user000@example.com")
	check("startIndex=201&count=100", 250, 201, 50, "user200@example.com")
	check("startIndex=0&count=1", 250, 1, 1, "user000@example.com")
	check("startIndex=300", 250, 300, 0, "")
	check("count=0", 250, 1, 0, "")
	check("count=-5", 250, 1, 0, "")
	check("sortBy=displayName&count=1", 250, 1, 1, "user249@example.com")
	check("sortBy=userName&sortOrder=descending&count=1", 250, 1, 1, "user249@example.com")
	check("filter="+url.QueryEscape(`userName sw "user24"`)+"&startIndex=2&count=5", 10, 2, 5, "user241@example.com")
	r := page("count=2&attributes=userName")
	if res := resources(r); len(res[0]) != 3 {
		t.Errorf("projection in list: %v", res[0])
	}
	for _, q := range []string{"count=abc", "startIndex=x", "sortBy=nope", "sortOrder=sideways"} {
		wantSCIMError(t, e.do("GET", "/Users?"+q, nil), 400, "invalidValue")
	}
	if r := page("filter=" + url.QueryEscape(`userName eq "none"`)); r.body["Resources"] == nil {
		t.Error("Resources must be [] not null")
	}
}

func TestGroups(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.s.AddUser(User{UserName: "a@x", DisplayName: "A"})
	b := e.s.AddUser(User{UserName: "b@x"})
	c := e.s.AddUser(User{UserName: "c@x"})
	r := e.do("POST", "/Groups", map[string]any{
		"schemas": []any{SchemaGroup}, "displayName": "Security", "externalId": "entra-gid",
		"members": []any{map[string]any{"value": a.ID, "display": "ignored"}},
	})
	wantStatus(t, r, 201)
	gid := r.str("id")
	ms, _ := r.body["members"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["display"] != "A" || ms[0].(map[string]any)["$ref"] != e.s.TenantURL()+"/Users/"+a.ID {
		t.Errorf("members = %v", ms)
	}
	wantSCIMError(t, e.do("POST", "/Groups", map[string]any{"schemas": []any{SchemaGroup}, "displayName": "SECURITY"}), 409, "uniqueness")
	wantSCIMError(t, e.do("POST", "/Groups", map[string]any{"schemas": []any{SchemaGroup}}), 400, "invalidValue")
	wantSCIMError(t, e.do("POST", "/Groups", map[string]any{"schemas": []any{SchemaGroup}, "displayName": "X",
		"members": []any{map[string]any{"value": "no-such-user"}}}), 400, "invalidValue")
	wantSCIMError(t, e.do("POST", "/Groups", map[string]any{"schemas": []any{SchemaGroup}, "displayName": "X",
		"members": []any{map[string]any{"value": gid}}}), 400, "invalidValue")
	wantSCIMError(t, e.do("POST", "/Groups", map[string]any{"schemas": []any{SchemaGroup}, "displayName": "X",
		"members": []any{map[string]any{"display": "no value"}}}), 400, "invalidValue")

	path := "/Groups/" + gid
	members := func() string {
		g, _ := e.s.Group(gid)
		return strings.Join(g.MemberIDs, ",")
	}
	// Entra adds members with an array value (duplicates are ignored).
	wantStatus(t, e.do("PATCH", path, patchBody(op("Add", "members", []any{map[string]any{"value": b.ID}, map[string]any{"value": c.ID}, map[string]any{"value": a.ID}}))), 200)
	if members() != a.ID+","+b.ID+","+c.ID {
		t.Errorf("after add: %s", members())
	}
	// Entra removes with a filtered path…
	wantStatus(t, e.do("PATCH", path, patchBody(op("Remove", `members[value eq "`+b.ID+`"]`, nil))), 200)
	// …or with a value list.
	wantStatus(t, e.do("PATCH", path, patchBody(op("Remove", "members", []any{map[string]any{"value": c.ID}}))), 200)
	if members() != a.ID {
		t.Errorf("after removes: %s", members())
	}
	wantStatus(t, e.do("PATCH", path, patchBody(op("Replace", "displayName", "Security Team"), op("replace", "", map[string]any{"externalId": "g2"}))), 200)
	if g, _ := e.s.Group(gid); g.DisplayName != "Security Team" {
		t.Errorf("displayName = %q", g.DisplayName)
	}
	wantSCIMError(t, e.do("PATCH", path, patchBody(op("add", "members", []any{map[string]any{"value": "ghost"}}))), 400, "invalidValue")
	wantSCIMError(t, e.do("PATCH", path, patchBody(op("replace", "displayName", nil))), 400, "invalidValue")

	// The user's groups attribute is computed.
	r = e.do("GET", "/Users/"+a.ID, nil)
	gs, _ := r.body["groups"].([]any)
	if len(gs) != 1 || gs[0].(map[string]any)["value"] != gid || gs[0].(map[string]any)["display"] != "Security Team" {
		t.Errorf("groups = %v", gs)
	}
	// excludedAttributes=members, as Entra asks.
	r = e.do("GET", path+"?excludedAttributes=members", nil)
	if _, ok := r.body["members"]; ok || r.str("displayName") != "Security Team" {
		t.Errorf("excluded members: %s", r.raw)
	}
	// Replace all members, then PUT.
	wantStatus(t, e.do("PATCH", path, patchBody(op("replace", "members", []any{map[string]any{"value": b.ID}}))), 200)
	if members() != b.ID {
		t.Errorf("after replace: %s", members())
	}
	r = e.do("PUT", path, map[string]any{"schemas": []any{SchemaGroup}, "displayName": "Sec", "members": []any{map[string]any{"value": c.ID}}})
	wantStatus(t, r, 200)
	if members() != c.ID {
		t.Errorf("after PUT: %s", members())
	}
	// Deleting a user removes it from groups.
	wantStatus(t, e.do("DELETE", "/Users/"+c.ID, nil), 204)
	if members() != "" {
		t.Errorf("after user delete: %q", members())
	}
	wantStatus(t, e.do("DELETE", path, nil), 204)
	if len(e.s.Groups()) != 0 {
		t.Error("group not deleted")
	}
}

func TestAddHelpers(t *testing.T) {
	s := NewHandler(Options{})
	s.AddUser(User{UserName: "a@x"})
	if _, err := s.TryAddUser(User{UserName: "A@X"}); err == nil {
		t.Error("duplicate userName accepted")
	}
	if _, err := s.TryAddUser(User{}); err == nil {
		t.Error("empty userName accepted")
	}
	if _, err := s.TryAddGroup(Group{DisplayName: "g", MemberIDs: []string{"nope"}}); err == nil {
		t.Error("unknown member accepted")
	}
	g := s.AddGroup(Group{ID: "fixed", DisplayName: "g"})
	if g.ID != "fixed" {
		t.Errorf("ID = %q", g.ID)
	}
	if _, err := s.TryAddGroup(Group{ID: "fixed", DisplayName: "h"}); err == nil {
		t.Error("duplicate id accepted")
	}
	defer func() {
		if recover() == nil {
			t.Error("AddUser did not panic")
		}
	}()
	s.AddUser(User{})
}

func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// All goroutines race for the same userName; exactly one wins.
			req, _ := http.NewRequest("POST", e.s.TenantURL()+"/Users", strings.NewReader(`{"schemas":["`+SchemaUser+`"],"userName":"same@x"}`))
			req.Header.Set("Content-Type", "application/scim+json")
			req.Header.Set("Authorization", "Bearer "+e.token)
			res, err := e.hc.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			res.Body.Close()
			errs <- fmt.Sprint(res.StatusCode)
		}(i)
	}
	wg.Wait()
	close(errs)
	created := 0
	for s := range errs {
		switch s {
		case "201":
			created++
		case "409":
		default:
			t.Errorf("unexpected: %s", s)
		}
	}
	if created != 1 || len(e.s.Users()) != 1 {
		t.Errorf("created %d", created)
	}
}
