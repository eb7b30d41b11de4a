package scimtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	testClient = "client-1"
	testSecret = "s3cret+/=%:value"
)

type env struct {
	t     *testing.T
	s     *Server
	hc    *http.Client
	token string
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	s := New(opts)
	t.Cleanup(s.Close)
	s.AddClient(testClient, testSecret)
	tok, err := s.IssueToken(testClient)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, s: s, hc: s.Client(), token: tok}
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r resp) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// do sends a SCIM request relative to the tenant URL. body may be a string
// (sent as is) or a value (JSON encoded). hdr are "Name: value" pairs.
func (e *env) do(method, path string, body any, hdr ...string) resp {
	e.t.Helper()
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
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.s.TenantURL()+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		if strings.TrimSpace(v) == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, strings.TrimSpace(v))
		}
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// tokenReq posts a token request. query is appended to /oauth/token.
func (e *env) tokenReq(query string, form url.Values, basicID, basicSecret string, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.s.URL+"/oauth/token"+query, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" || basicSecret != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	return e.send(req)
}

func (e *env) audQuery() string { return "?audience=" + e.s.URL + "/api" }

func wantStatus(t *testing.T, r resp, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body: %s", r.status, want, r.raw)
	}
}

func wantSCIMError(t *testing.T, r resp, status int, scimType string) {
	t.Helper()
	wantStatus(t, r, status)
	if ct := r.header.Get("Content-Type"); ct != "application/scim+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	sch, _ := r.body["schemas"].([]any)
	if len(sch) != 1 || sch[0] != SchemaError {
		t.Errorf("schemas = %v", r.body["schemas"])
	}
	if r.str("status") != itoa(status) {
		t.Errorf("status member = %q", r.str("status"))
	}
	if r.str("scimType") != scimType {
		t.Errorf("scimType = %q, want %q (detail %q)", r.str("scimType"), scimType, r.str("detail"))
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func userBody(userName string, extra map[string]any) map[string]any {
	b := map[string]any{
		"schemas":  []any{SchemaUser},
		"userName": userName,
		"active":   true,
	}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func patchBody(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []any{SchemaPatchOp}, "Operations": list}
}

func op(o, path string, value any) map[string]any {
	m := map[string]any{"op": o}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

func resources(r resp) []map[string]any {
	list, _ := r.body["Resources"].([]any)
	out := make([]map[string]any, len(list))
	for i, v := range list {
		out[i], _ = v.(map[string]any)
	}
	return out
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}
