package graph

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The calls whose URLs moved from hand-written paths to the typed request builders send what
// they sent before, byte for byte in the path (ids escaped as one segment: '#' as %23, '/' as
// %2F) and value for value in the query. The want list was recorded from the hand-written
// versions.
func TestBuilderURLsMatchTheHandWrittenOnes(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		line := r.Method + " " + r.URL.EscapedPath()
		if len(q) > 0 {
			line += "?" + q.Encode()
		}
		got = append(got, line)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodPut:
			w.WriteHeader(http.StatusNoContent)
		case strings.HasSuffix(r.URL.Path, "/schema"):
			_, _ = w.Write([]byte(`{"synchronizationRules":[{"id":"r","objectMappings":[]}]}`))
		case strings.HasSuffix(r.URL.Path, "/applications"):
			_, _ = w.Write([]byte(`{"value":[{"id":"a"}]}`))
		default:
			_, _ = w.Write([]byte(`{"value":[]}`))
		}
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{RootURL: srv.URL, Credential: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.ApplicationByAppID(ctx, "app'1")
	must(err)
	_, err = c.Application(ctx, "obj#1")
	must(err)
	must(c.DeleteApplication(ctx, "obj/1"))
	_, err = c.FindUsers(ctx, "mail eq 'a+b@x.example'")
	must(err)
	_, err = c.Group(ctx, "g#1")
	must(err)
	_, err = c.FindGroups(ctx, "displayName eq 'Team A&B'")
	must(err)
	_, err = c.Me(ctx)
	must(err)
	_, err = c.Organization(ctx)
	must(err)
	_, err = c.MyDirectoryRoles(ctx)
	must(err)
	_, err = c.SyncTemplates(ctx, "sp#1")
	must(err)
	_, err = c.Jobs(ctx, "sp#1")
	must(err)
	_, err = c.Job(ctx, "sp#1", "scim.a#b")
	must(err)
	_, err = c.SearchUsers(ctx, "", 5)
	must(err)
	_, err = c.SearchUsers(ctx, "al ice", 5)
	must(err)
	_, err = c.SearchGroups(ctx, "Team", 5)
	must(err)
	_, err = c.SearchGroups(ctx, "", 5)
	must(err)
	_, err = c.Secrets(ctx, "sp#1")
	must(err)
	must(c.PutSecrets(ctx, "sp#1", []KeyValue{{Key: "BaseAddress", Value: "https://x.example"}}))
	schema, err := c.Schema(ctx, "sp#1", "scim.a#b")
	must(err)
	must(c.PutSchema(ctx, "sp#1", "scim.a#b", schema, nil))
	want := []string{
		"GET /v1.0/applications?%24filter=appId+eq+%27app%27%271%27&%24select=id%2CappId%2CdisplayName%2CcreatedDateTime",
		"GET /v1.0/applications/obj%231?%24select=id%2CappId%2CdisplayName",
		"DELETE /v1.0/applications/obj%2F1",
		"GET /v1.0/users?%24filter=mail+eq+%27a%2Bb%40x.example%27&%24select=id%2CuserPrincipalName%2Cmail%2CdisplayName%2CaccountEnabled%2CuserType&%24top=10",
		"GET /v1.0/groups/g%231?%24select=id%2CdisplayName%2CsecurityEnabled%2CmailEnabled%2CgroupTypes",
		"GET /v1.0/groups?%24filter=displayName+eq+%27Team+A%26B%27&%24select=id%2CdisplayName%2CsecurityEnabled%2CmailEnabled%2CgroupTypes&%24top=10",
		"GET /v1.0/me?%24select=id%2CuserPrincipalName%2CdisplayName",
		"GET /v1.0/organization?%24select=id%2CdisplayName",
		"GET /v1.0/me/memberOf",
		"GET /v1.0/servicePrincipals/sp%231/synchronization/templates",
		"GET /v1.0/servicePrincipals/sp%231/synchronization/jobs",
		"GET /v1.0/servicePrincipals/sp%231/synchronization/jobs/scim.a%23b",
		"GET /v1.0/users?%24select=id%2CuserPrincipalName%2Cmail%2CdisplayName%2CaccountEnabled%2CuserType&%24top=5",
		"GET /v1.0/users?%24filter=startswith%28displayName%2C%27al+ice%27%29&%24select=id%2CuserPrincipalName%2Cmail%2CdisplayName%2CaccountEnabled%2CuserType&%24top=5",
		"GET /v1.0/users?%24filter=startswith%28userPrincipalName%2C%27al+ice%27%29&%24select=id%2CuserPrincipalName%2Cmail%2CdisplayName%2CaccountEnabled%2CuserType&%24top=5",
		"GET /v1.0/groups?%24filter=startswith%28displayName%2C%27Team%27%29&%24select=id%2CdisplayName%2CsecurityEnabled%2CmailEnabled%2CgroupTypes&%24top=5",
		"GET /v1.0/groups?%24select=id%2CdisplayName%2CsecurityEnabled%2CmailEnabled%2CgroupTypes&%24top=5",
		"GET /v1.0/servicePrincipals/sp%231/synchronization/secrets",
		"PUT /v1.0/servicePrincipals/sp%231/synchronization/secrets",
		"GET /v1.0/servicePrincipals/sp%231/synchronization/jobs/scim.a%23b/schema",
		"PUT /v1.0/servicePrincipals/sp%231/synchronization/jobs/scim.a%23b/schema",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
