package entratest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a manual clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 5, 4, 3, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// gc is a minimal Graph client for tests.
type gc struct {
	t      *testing.T
	tenant *Tenant
	token  string
}

func newTenant(t *testing.T, opts Options) (*Tenant, gc) {
	t.Helper()
	tn := New(opts)
	t.Cleanup(tn.Close)
	return tn, gc{t: t, tenant: tn, token: tn.Token()}
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// call sends a request; path is relative to /v1.0 unless it starts with "!" (then it is used as is).
// body: nil, string (raw, sent as application/json), []byte (raw) or a value marshalled to JSON.
// hdr: alternating header names and values; "Content-Type" "" removes the default.
func (c gc) call(method, path string, body any, hdr ...string) resp {
	c.t.Helper()
	u := c.tenant.URL + "/v1.0" + path
	if strings.HasPrefix(path, "!") {
		u = c.tenant.URL + path[1:]
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &r.body)
	}
	return r
}

func (c gc) get(path string) resp { c.t.Helper(); return c.call("GET", path, nil) }
func (c gc) post(path string, body any) resp {
	c.t.Helper()
	return c.call("POST", path, body)
}

func (c gc) with(token string) gc { c.token = token; return c }

func (r resp) code() string    { return str(r.body, "error", "code") }
func (r resp) message() string { return str(r.body, "error", "message") }

// expect fails unless the status (and, when given, the error code and a message fragment) match.
func (r resp) expect(t *testing.T, status int, codeAndMsg ...string) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.status, status, r.raw)
	}
	if len(codeAndMsg) > 0 && r.code() != codeAndMsg[0] {
		t.Fatalf("error code = %q, want %q; body: %s", r.code(), codeAndMsg[0], r.raw)
	}
	if len(codeAndMsg) > 1 && !strings.Contains(r.message(), codeAndMsg[1]) {
		t.Fatalf("error message = %q, want it to contain %q", r.message(), codeAndMsg[1])
	}
	return r
}

func get(m any, path ...any) any {
	cur := m
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = mm[k]
		case int:
			a, ok := cur.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			cur = a[k]
		}
	}
	return cur
}

func str(m any, path ...any) string {
	s, _ := get(m, path...).(string)
	return s
}

func arr(m any, path ...any) []any {
	a, _ := get(m, path...).([]any)
	return a
}

func gzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	_ = zw.Close()
	return b.Bytes()
}

// fixture is an instantiated app with a job.
type fixture struct {
	spID, appObjID, appID, userRoleID, jobID, ruleID string
}

func (c gc) instantiate(name string) fixture {
	c.t.Helper()
	r := c.post("/applicationTemplates/"+c.tenant.TemplateID()+"/instantiate", map[string]any{"displayName": name}).expect(c.t, 201)
	f := fixture{spID: str(r.body, "servicePrincipal", "id"), appObjID: str(r.body, "application", "id"),
		appID: str(r.body, "application", "appId")}
	for _, role := range arr(r.body, "servicePrincipal", "appRoles") {
		if str(role, "displayName") == "User" {
			f.userRoleID = str(role, "id")
		}
	}
	return f
}

func (c gc) setup(name string) fixture {
	c.t.Helper()
	f := c.instantiate(name)
	j := c.post("/servicePrincipals/"+f.spID+"/synchronization/jobs", map[string]any{"templateId": "scim"}).expect(c.t, 201)
	f.jobID = str(j.body, "id")
	s := c.get("/servicePrincipals/"+f.spID+"/synchronization/jobs/"+f.jobID+"/schema").expect(c.t, 200)
	f.ruleID = str(s.body, "synchronizationRules", 0, "id")
	return f
}

func (c gc) putSecrets(spID string, kv map[string]string) resp {
	c.t.Helper()
	var pairs []map[string]string
	for k, v := range kv {
		pairs = append(pairs, map[string]string{"key": k, "value": v})
	}
	return c.call("PUT", "/servicePrincipals/"+spID+"/synchronization/secrets", map[string]any{"value": pairs})
}

func (c gc) assign(f fixture, principalID string) resp {
	c.t.Helper()
	return c.post("/servicePrincipals/"+f.spID+"/appRoleAssignedTo",
		map[string]any{"principalId": principalID, "resourceId": f.spID, "appRoleId": f.userRoleID})
}

func (c gc) pod(f fixture, objectID, typ string, members ...string) resp {
	c.t.Helper()
	subj := map[string]any{"objectId": objectID, "objectTypeName": typ}
	if len(members) > 0 {
		var ms []map[string]any
		for _, m := range members {
			ms = append(ms, map[string]any{"objectId": m, "objectTypeName": "User"})
		}
		subj["links"] = map[string]any{"members": ms}
	}
	return c.post("/servicePrincipals/"+f.spID+"/synchronization/jobs/"+f.jobID+"/provisionOnDemand",
		map[string]any{"parameters": []any{map[string]any{"ruleId": f.ruleID, "subjects": []any{subj}}}})
}

// verdict decodes the provisionOnDemand key/value strings.
func verdict(t *testing.T, r resp) (key, value map[string]any) {
	t.Helper()
	r.expect(t, 200)
	if err := json.Unmarshal([]byte(str(r.body, "key")), &key); err != nil {
		t.Fatalf("key is not a JSON string: %s", r.raw)
	}
	if err := json.Unmarshal([]byte(str(r.body, "value")), &value); err != nil {
		t.Fatalf("value is not a JSON string: %s", r.raw)
	}
	return key, value
}

func (tn *Tenant) mustUser(t *testing.T, upn string) User {
	t.Helper()
	u, ok := tn.LookupUser(upn)
	if !ok {
		t.Fatalf("no user %s", upn)
	}
	return u
}

func (tn *Tenant) mustGroup(t *testing.T, name string) Group {
	t.Helper()
	g, ok := tn.LookupGroup(name)
	if !ok {
		t.Fatalf("no group %s", name)
	}
	return g
}
