package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/safetext"
)

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
	red := &safetext.Redactor{}
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

// sameBody mimics azcore's request: GetBody returns the very reader the request carries, not
// a fresh copy.
type sameBody struct{ *strings.Reader }

func (sameBody) Close() error { return nil }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTracerNeverConsumesTheRequestBody(t *testing.T) {
	const form = "client_assertion=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln&client_id=x&grant_type=client_credentials&code=auth-code-1&code_verifier=pkce-1"
	var got string
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
		return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"token_type":"Bearer"}`)), Request: r}, nil
	})
	var trace bytes.Buffer
	tr := &Tracer{Next: next, Out: &trace, Redactor: &safetext.Redactor{}}
	body := sameBody{strings.NewReader(form)}
	req, _ := http.NewRequest(http.MethodPost, "https://login.microsoftonline.com/tenant/oauth2/v2.0/token", body)
	req.GetBody = func() (io.ReadCloser, error) { return body, nil }
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != form {
		t.Fatalf("the server got body %q, want the whole form: --debug must not change what is sent", got)
	}
	for _, leak := range []string{"eyJhbGci", "auth-code-1", "pkce-1", "client_assertion="} {
		if strings.Contains(trace.String(), leak) {
			t.Errorf("trace shows %q from a sign-in body:\n%s", leak, trace.String())
		}
	}
	if !strings.Contains(trace.String(), "sign-in request body") {
		t.Errorf("trace does not say the sign-in body was hidden:\n%s", trace.String())
	}
}

type countingBody struct {
	r io.Reader
	n *int
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += n
	return n, err
}
func (countingBody) Close() error { return nil }

func TestTracerKeepsTheCallersReadLimit(t *testing.T) {
	read := 0
	huge := strings.NewReader(strings.Repeat("x", 8<<20))
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: countingBody{r: huge, n: &read}, Request: r}, nil
	})
	var trace bytes.Buffer
	tr := &Tracer{Next: next, Out: &trace, Redactor: &safetext.Redactor{}}
	req, _ := http.NewRequest(http.MethodGet, "https://graph.microsoft.com/v1.0/users", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if read > maxTraceRead+1 {
		t.Fatalf("the tracer read %d bytes of the body; it may read only what it shows (%d)", read, maxTraceRead+1)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if len(b) != 1<<20 || strings.Trim(string(b), "x") != "" {
		t.Fatalf("the caller read %d bytes, want its own 1 MiB limit intact", len(b))
	}
}

func TestLimitBoundsEveryAnswer(t *testing.T) {
	for _, size := range []int{1 << 10, 1 << 20} {
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			// ContentLength -1: a chunked answer that does not say how big it is.
			return &http.Response{StatusCode: 200, ContentLength: -1, Body: io.NopCloser(strings.NewReader(strings.Repeat("x", size))), Request: r}, nil
		})
		req, _ := http.NewRequest(http.MethodGet, "https://graph.microsoft.com/v1.0/users", nil)
		resp, err := (&Limit{Next: next, Max: 1 << 10}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		var tl *TooLargeError
		switch {
		case size <= 1<<10 && (err != nil || len(b) != size):
			t.Errorf("a %d-byte answer under the limit: %d bytes, %v", size, len(b), err)
		case size > 1<<10 && !errors.As(err, &tl):
			t.Errorf("a %d-byte answer over the 1 KiB limit: %d bytes read, err %v; want a TooLargeError", size, len(b), err)
		}
	}
}

func TestRetryResendsOnlyWhatIsSafeTwice(t *testing.T) {
	for _, c := range []struct {
		method string
		status int
		sends  int
	}{
		{http.MethodPost, 503, 1}, // instantiate: Graph may have made the app
		{http.MethodPost, 504, 1},
		{http.MethodPost, 429, 2}, // throttled: refused unapplied
		{http.MethodPut, 503, 2},
		{http.MethodPatch, 504, 2},
		{http.MethodGet, 503, 2},
	} {
		sends := 0
		next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sends++
			status := c.status
			if sends > 1 {
				status = 200
			}
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
		})
		rt := &Retry{Next: next, Sleep: func(context.Context, time.Duration) error { return nil }}
		req, _ := http.NewRequest(c.method, "https://graph.microsoft.com/v1.0/applicationTemplates/x/instantiate", strings.NewReader(`{"displayName":"x"}`))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if sends != c.sends {
			t.Errorf("%s answered %d: sent %d times, want %d", c.method, c.status, sends, c.sends)
		}
	}
}
