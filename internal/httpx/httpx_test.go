package httpx

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	r := &Redactor{}
	r.Add("sUp3r-s3cret")
	r.Add("ab") // too short to mask
	tests := []struct {
		name, in, mustNot, must string
	}{
		{"registered secret", "value=sUp3r-s3cret!", "sUp3r-s3cret", Mask},
		{"bearer header", "Authorization: Bearer eyJabc.def.ghi", "eyJabc", "Bearer " + Mask},
		{"basic header", "authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", Mask},
		{"json access token", `{"access_token":"tok123","token_type":"Bearer"}`, "tok123", `"access_token":"` + Mask + `"`},
		{"json client secret", `{"clientSecret": "zzz"}`, "zzz", Mask},
		{"sync secret pair", `{"key":"Oauth2ClientSecret","value":"hidden-value"}`, "hidden-value", Mask},
		{"sync non-secret pair stays", `{"key":"BaseAddress","value":"https://x/api/scim/v2"}`, "REDACTED", "https://x/api/scim/v2"},
		{"form body", "grant_type=client_credentials&client_secret=formsecret&x=1", "formsecret", "client_secret=" + Mask},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Redact(tt.in)
			if strings.Contains(got, tt.mustNot) {
				t.Errorf("Redact(%q) = %q still contains %q", tt.in, got, tt.mustNot)
			}
			if !strings.Contains(got, tt.must) {
				t.Errorf("Redact(%q) = %q, want it to contain %q", tt.in, got, tt.must)
			}
		})
	}
	if got := r.Redact("ab cd"); got != "ab cd" {
		t.Errorf("short values must not be masked: %q", got)
	}
}

func TestTracerRedactsAndKeepsBodies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) != "client_secret=s3cret-form&grant_type=client_credentials" {
			t.Errorf("server saw body %q", body)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"issued-token-123","expires_in":3600}`)
	}))
	defer srv.Close()
	var trace bytes.Buffer
	red := &Redactor{}
	red.Add("s3cret-form")
	c := &http.Client{Transport: &Tracer{Out: &trace, Redactor: red}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth/token", strings.NewReader("client_secret=s3cret-form&grant_type=client_credentials"))
	req.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "issued-token-123") {
		t.Fatalf("the caller must still get the body, got %q", body)
	}
	out := trace.String()
	for _, leak := range []string{"s3cret-form", "issued-token-123", "Zm9vOmJhcg=="} {
		if strings.Contains(out, leak) {
			t.Errorf("trace leaks %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "> POST "+srv.URL+"/oauth/token") || !strings.Contains(out, "< 200 OK") {
		t.Errorf("trace lacks the request or response line:\n%s", out)
	}
}

func TestRetryHonoursRetryAfterAndReplaysBody(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) != `{"x":1}` {
			t.Errorf("attempt %d saw body %q", calls.Load()+1, body)
		}
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var waits []time.Duration
	rt := &Retry{Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	// A body without GetBody, as kiota sends it.
	req, _ := http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(strings.NewReader(`{"x":1}`)))
	req.GetBody = nil
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || calls.Load() != 3 {
		t.Fatalf("status %d after %d calls", resp.StatusCode, calls.Load())
	}
	if len(waits) != 2 || waits[0] != 7*time.Second {
		t.Fatalf("waits = %v, want two waits of 7s", waits)
	}
}

func TestRetryGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	n := 0
	rt := &Retry{MaxRetries: 2, Sleep: func(context.Context, time.Duration) error { n++; return nil }}
	resp, err := (&http.Client{Transport: rt}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || n != 2 {
		t.Fatalf("status %d, %d waits", resp.StatusCode, n)
	}
}

func TestRetryAfterForms(t *testing.T) {
	h := http.Header{}
	if d := RetryAfter(h, 3*time.Second); d != 3*time.Second {
		t.Errorf("default: %v", d)
	}
	h.Set("Retry-After", "12")
	if d := RetryAfter(h, 0); d != 12*time.Second {
		t.Errorf("seconds: %v", d)
	}
	h.Set("Retry-After", time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat))
	if d := RetryAfter(h, time.Second); d != 0 {
		t.Errorf("past date: %v", d)
	}
	h.Set("Retry-After", "soon")
	if d := RetryAfter(h, time.Second); d != time.Second {
		t.Errorf("garbage: %v", d)
	}
}
