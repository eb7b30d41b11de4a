package graph

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// FindServicePrincipals reads every page: 120 matches at 50 a page are three requests, not
// the first 50 (the cap it used to have).
func TestFindServicePrincipalsPages(t *testing.T) {
	ten := entratest.New(entratest.Options{})
	t.Cleanup(ten.Close)
	for range 120 {
		ten.AddApp("Same Name")
	}
	ten.AddApp("Other")
	c, err := New(Options{RootURL: ten.URL, Credential: StaticToken(ten.Token())})
	if err != nil {
		t.Fatal(err)
	}
	ten.ResetRequests()
	sps, err := c.FindServicePrincipals(t.Context(), "displayName eq "+Quote("Same Name"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sps) != 120 {
		t.Fatalf("got %d service principals, want 120", len(sps))
	}
	seen := map[string]bool{}
	for _, sp := range sps {
		if seen[sp.ID] {
			t.Fatalf("%s twice", sp.ID)
		}
		seen[sp.ID] = true
	}
	if n := len(ten.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 pages of 50", n)
	}
}

// A nextLink naming another host is followed on the client's own Graph URL: the token never
// goes to the host a (hostile or broken) answer names.
func TestFindServicePrincipalsNextLinkStaysOnGraph(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			_, _ = w.Write([]byte(`{"value":[{"id":"a"}],"@odata.nextLink":"` + other.URL + `/v1.0/servicePrincipals?$skiptoken=2"}`))
			return
		}
		if !strings.Contains(r.URL.RawQuery, "skiptoken=2") {
			t.Errorf("second page query %q", r.URL.RawQuery)
		}
		_, _ = w.Write([]byte(`{"value":[{"id":"b"}]}`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{RootURL: srv.URL, Credential: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	sps, err := c.FindServicePrincipals(t.Context(), "appId eq 'x'")
	if err != nil {
		t.Fatal(err)
	}
	if len(sps) != 2 || calls.Load() != 2 || elsewhere.Load() != 0 {
		t.Errorf("got %d items, %d calls to Graph, %d elsewhere", len(sps), calls.Load(), elsewhere.Load())
	}
}

// RestartJob sends Graph's restart criteria: the scopes in the caller's order without spaces
// or repeats (a flags enum, which Graph reads in any order), no criteria for "", and nothing at
// all for a name outside the enum.
func TestRestartJobBody(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, r.Method+" "+r.URL.Path+" "+string(b))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{RootURL: srv.URL, Credential: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	for _, scope := range []string{"Watermark, Escrows, QuarantineState,Watermark", "Full", ""} {
		if err := c.RestartJob(t.Context(), "sp", "scim.1", scope); err != nil {
			t.Fatalf("%q: %v", scope, err)
		}
	}
	if err := c.RestartJob(t.Context(), "sp", "scim.1", "Full,Nope"); err == nil {
		t.Error("an unknown scope must not be sent")
	}
	want := []string{
		`POST /v1.0/servicePrincipals/sp/synchronization/jobs/scim.1/restart {"criteria":{"resetScope":"Watermark,Escrows,QuarantineState"}}`,
		`POST /v1.0/servicePrincipals/sp/synchronization/jobs/scim.1/restart {"criteria":{"resetScope":"Full"}}`,
		`POST /v1.0/servicePrincipals/sp/synchronization/jobs/scim.1/restart {}`,
	}
	if len(bodies) != len(want) {
		t.Fatalf("requests %q", bodies)
	}
	for i := range want {
		if bodies[i] != want[i] {
			t.Errorf("request %d:\n got %s\nwant %s", i, bodies[i], want[i])
		}
	}
}

func TestErrorPredicates(t *testing.T) {
	dup := parseErrorBody(400, nil, []byte(`{"error":{"code":"Request_BadRequest","message":"Permission being assigned already exists on the object"}}`))
	lag := parseErrorBody(400, nil, []byte(`{"error":{"code":"Request_BadRequest","message":"Not a valid reference update."}}`))
	other := parseErrorBody(400, nil, []byte(`{"error":{"code":"Request_BadRequest","message":"Invalid value"}}`))
	if !IsAlreadyExists(dup) || IsAlreadyExists(other) || IsAlreadyExists(errors.New("already exists")) {
		t.Error("IsAlreadyExists: only Graph's own answer counts")
	}
	if !IsReplicationLag(lag) || !IsReplicationLag(&Error{Status: 404}) || IsReplicationLag(other) {
		t.Error("IsReplicationLag")
	}
	if _, err := ParseClaims("opaque-token"); !errors.Is(err, ErrNotJWT) {
		t.Errorf("ParseClaims(opaque) = %v, want ErrNotJWT", err)
	}
	// Three parts whose payload does not decode (base64 or JSON): the claims cannot be read
	// either, which is the same case as an opaque token, not a different failure.
	for _, tok := range []string{"a.b.c", "x.e30K!.y", "x.bm90LWpzb24.y"} {
		if _, err := ParseClaims(tok); !errors.Is(err, ErrNotJWT) {
			t.Errorf("ParseClaims(%q) = %v, want ErrNotJWT", tok, err)
		}
	}
}

// A $ref builder shares one URL template between POST and DELETE ("…/$ref?@id={%40id}"): at
// must cut its query, or Graph answers 400 "Unrecognized query argument specified: '@id'."
// Every URL built by at carries no query at all.
func TestAtSendsNoTemplateQuery(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{RootURL: srv.URL, Credential: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AssignClaimsPolicy(t.Context(), "sp-1", "pol-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetTags(t.Context(), "sp-1", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST /v1.0/servicePrincipals/sp-1/claimsMappingPolicies/$ref?",
		"PATCH /v1.0/servicePrincipals/sp-1?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A server that never stops sending nextLinks is read for maxPages pages, not forever; each
// caller says so in its own words.
func TestListAllStopsAtMaxPages(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"value":[{"id":"x%d"}],"@odata.nextLink":"http://%s%s?$skiptoken=%d"}`, n, r.Host, r.URL.Path, n)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{RootURL: srv.URL, Credential: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FindServicePrincipals(t.Context(), "appId eq 'x'")
	if err == nil || err.Error() != `find service principals: more than 1000 pages of 50; narrow the filter "appId eq 'x'"` || calls.Load() != maxPages {
		t.Errorf("service principals: %v after %d calls", err, calls.Load())
	}
	// Every other paged list goes through the same pager (the hand-written loops of
	// GroupMembers, Assignments and ProvisioningLogs had no bound).
	for _, tc := range []struct {
		op   string
		list func() error
	}{
		{"list what the claims-mapping policy applies to", func() error { _, err := c.ClaimsPolicyAppliesTo(t.Context(), "p"); return err }},
		{"list group members", func() error { _, _, err := c.GroupMembers(t.Context(), "g"); return err }},
		{"list app role assignments", func() error { _, err := c.Assignments(t.Context(), "sp"); return err }},
		{"list provisioning logs", func() error { _, err := c.ProvisioningLogs(t.Context(), "jobId eq 'j'", 0); return err }},
	} {
		calls.Store(0)
		err := tc.list()
		if err == nil || err.Error() != tc.op+": more than 1000 pages" || !errors.Is(err, errTooManyPages) || calls.Load() != maxPages {
			t.Errorf("%s: %v after %d calls", tc.op, err, calls.Load())
		}
	}
}

// ProvisioningLogs stops reading once it has limit entries (a page of 100 at most), and the
// lists ask for the same URLs as before they moved to the typed builders (a '#' in an id
// travels as %23).
func TestPagedListRequests(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.EscapedPath()+"?"+r.URL.Query().Encode())
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"value":[{"id":"a"},{"id":"b"},{"id":"c"}],"@odata.nextLink":"http://%s%s?$skiptoken=%d"}`, r.Host, r.URL.Path, len(got))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{RootURL: srv.URL, Credential: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := c.ProvisioningLogs(t.Context(), "jobId eq 'j 1'", 5)
	if err != nil || len(evs) != 5 {
		t.Fatalf("logs: %d entries, %v; want 5", len(evs), err)
	}
	if _, _, err := c.GroupMembers(t.Context(), "g#1"); err == nil {
		t.Fatal("members: want the too-many-pages error from this endless server")
	}
	got = got[:3] // two pages of logs, then the members' first
	if _, err := c.Assignments(t.Context(), "sp-1"); err == nil {
		t.Fatal("assignments: want the too-many-pages error")
	}
	got = got[:4]
	want := []string{
		"/v1.0/auditLogs/provisioning?%24filter=jobId+eq+%27j+1%27&%24top=5",
		"/v1.0/auditLogs/provisioning?%24skiptoken=1",
		"/v1.0/groups/g%231/members?%24select=id%2CuserPrincipalName%2Cmail%2CdisplayName%2CaccountEnabled&%24top=100",
		"/v1.0/servicePrincipals/sp-1/appRoleAssignedTo?%24top=999",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
