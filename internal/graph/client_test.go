package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/httpx"
)

func TestValidateRootURLLoopbackOnlyForHTTP(t *testing.T) {
	ok := map[string]string{
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"http://127.5.6.7:1/v1.0":     "http://127.5.6.7:1",
		"http://[::1]:9000/":          "http://[::1]:9000",
		"http://localhost:1":          "http://localhost:1",
		"http://LOCALHOST:1":          "http://LOCALHOST:1",
		"https://graph.microsoft.com": "https://graph.microsoft.com",
	}
	for in, want := range ok {
		got, err := ValidateRootURL(in)
		if err != nil || got != want {
			t.Errorf("ValidateRootURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"http://127.attacker.example",
		"http://127.0.0.1.nip.io:8080",
		"http://localhost.attacker.example",
		"http://128.0.0.1",
		"http://10.0.0.1",
		"http://[::2]:80",
		"http://0x7f000001",
		"http://graph.microsoft.com",
	} {
		if got, err := ValidateRootURL(in); err == nil {
			t.Errorf("ValidateRootURL(%q) = %q, want an error: plain http to a non-loopback host", in, got)
		}
	}
}

func TestIsMicrosoftGraphHost(t *testing.T) {
	for in, want := range map[string]bool{
		"https://graph.microsoft.com":              true,
		"https://GRAPH.microsoft.us":               true,
		"https://microsoftgraph.chinacloudapi.cn":  true,
		"https://graph.microsoft.com.evil.example": false,
		"https://proxy.contoso.example":            false,
		"http://127.0.0.1:1":                       false,
	} {
		if got := IsMicrosoftGraphHost(in); got != want {
			t.Errorf("IsMicrosoftGraphHost(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestClientRefusesRedirects(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"x"}`))
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	c, err := New(Options{RootURL: redirector.URL, Credential: StaticToken("secret-token-value"), HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ServicePrincipal(context.Background(), "00000000-0000-0000-0000-000000000001")
	var re *httpx.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("ServicePrincipal through a redirect = %v, want a RedirectError", err)
	}
	if n := leaked.Load(); n > 0 {
		t.Fatalf("the token reached the redirect target %d times", n)
	}
}

func TestProxyHTMLErrorIsNamed(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"))
	}))
	defer proxy.Close()
	c, err := New(Options{RootURL: proxy.URL, Credential: StaticToken("tok-1234"), HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ServicePrincipal(context.Background(), "00000000-0000-0000-0000-000000000001")
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != http.StatusBadGateway {
		t.Fatalf("err = %v, want a graph.Error with status 502", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `a text/html page titled "502 Bad Gateway"`) || strings.Contains(msg, "contentType") {
		t.Fatalf("message %q does not say what came back", msg)
	}
}
