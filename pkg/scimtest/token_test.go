package scimtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

var grant = url.Values{"grant_type": {"client_credentials"}}

func TestTokenClientSecretBasic(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.tokenReq(e.audQuery(), grant, testClient, testSecret)
	wantStatus(t, r, http.StatusOK)
	if r.str("token_type") != "Bearer" || num(r.body["expires_in"]) != 3600 || len(r.str("access_token")) < 32 {
		t.Fatalf("token response = %s", r.raw)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", r.header)
	}
	// The token works for SCIM.
	e.token = r.str("access_token")
	wantStatus(t, e.do("GET", "/ServiceProviderConfig", nil), http.StatusOK)
	reqs := e.s.Requests()
	if reqs[0].ClientID != testClient || reqs[1].ClientID != testClient {
		t.Errorf("client ids in log = %+v", reqs)
	}
}

func TestTokenClientSecretPost(t *testing.T) {
	e := newEnv(t, Options{})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClient}, "client_secret": {testSecret}}
	wantStatus(t, e.tokenReq(e.audQuery(), form, "", ""), http.StatusOK)
	// Both methods with the same values are tolerated…
	wantStatus(t, e.tokenReq(e.audQuery(), form, testClient, testSecret), http.StatusOK)
	// …but not with different values.
	r := e.tokenReq(e.audQuery(), form, testClient, "other")
	wantStatus(t, r, http.StatusBadRequest)
	if r.str("error") != "invalid_request" {
		t.Errorf("error = %q", r.str("error"))
	}
}

func TestTokenWithOAuth2Library(t *testing.T) {
	e := newEnv(t, Options{TokenTTL: 10 * time.Minute})
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cfg := clientcredentials.Config{ClientID: testClient, ClientSecret: testSecret, TokenURL: e.s.TokenURL(), AuthStyle: style}
		tok, err := cfg.Token(context.WithValue(context.Background(), oauth2.HTTPClient, e.hc))
		if err != nil {
			t.Fatalf("style %v: %v", style, err)
		}
		if d := time.Until(tok.Expiry); d < 590*time.Second || d > 600*time.Second || tok.Extra("expires_in") != float64(600) {
			t.Errorf("expiry in %v, expires_in %v", d, tok.Extra("expires_in"))
		}
	}
}

func TestTokenSpecialCharactersInBasic(t *testing.T) {
	e := newEnv(t, Options{})
	id, secret := "id:with colon+plus", "p%ss word:+/é"
	e.s.AddClient(id, secret)
	wantStatus(t, e.tokenReq(e.audQuery(), grant, id, secret), http.StatusOK)
	// Without the RFC 6749 form-encoding inside Basic, '+' decodes to a space: refused.
	req, _ := http.NewRequest(http.MethodPost, e.s.TokenURL(), strings.NewReader(grant.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("plain+id", "x")
	e.s.AddClient("plain+id", "x")
	wantStatus(t, e.send(req), http.StatusUnauthorized)
}

func TestTokenErrors(t *testing.T) {
	e := newEnv(t, Options{})
	aud := e.audQuery()
	cases := []struct {
		name   string
		r      func() resp
		status int
		code   string
		desc   string
	}{
		{"wrong secret", func() resp { return e.tokenReq(aud, grant, testClient, "nope") }, 401, "invalid_client", "Client authentication failed"},
		{"unknown client", func() resp { return e.tokenReq(aud, grant, "who", testSecret) }, 401, "invalid_client", "Client authentication failed"},
		{"no authentication", func() resp { return e.tokenReq(aud, grant, "", "") }, 401, "invalid_client", ""},
		{"bearer on token endpoint", func() resp { return e.tokenReq(aud, grant, "", "", "Authorization: Bearer abc") }, 401, "invalid_client", ""},
		{"missing audience", func() resp { return e.tokenReq("", grant, testClient, testSecret) }, 400, "invalid_request", "audience"},
		{"other audience", func() resp {
			return e.tokenReq("?audience=https://platform.invicti.com/api", grant, testClient, testSecret)
		}, 400, "invalid_request", "audience"},
		{"audience with trailing slash", func() resp { return e.tokenReq(aud+"/", grant, testClient, testSecret) }, 400, "invalid_request", "audience"},
		{"two audiences", func() resp { return e.tokenReq(aud+"&audience=x", grant, testClient, testSecret) }, 400, "invalid_request", "audience"},
		{"wrong grant", func() resp {
			return e.tokenReq(aud, url.Values{"grant_type": {"password"}}, testClient, testSecret)
		}, 400, "unsupported_grant_type", ""},
		{"missing grant", func() resp { return e.tokenReq(aud, url.Values{}, testClient, testSecret) }, 400, "invalid_request", "grant_type"},
		{"repeated grant", func() resp {
			return e.tokenReq(aud, url.Values{"grant_type": {"client_credentials", "client_credentials"}}, testClient, testSecret)
		}, 400, "invalid_request", "repeated"},
		{"json body", func() resp {
			return e.tokenReq(aud, grant, testClient, testSecret, "Content-Type: application/json")
		}, 400, "invalid_request", "Content-Type"},
		{"GET", func() resp {
			req, _ := http.NewRequest(http.MethodGet, e.s.TokenURL(), nil)
			return e.send(req)
		}, 405, "invalid_request", ""},
		{"huge body", func() resp {
			form := url.Values{"grant_type": {"client_credentials"}, "pad": {strings.Repeat("x", MaxBodyBytes)}}
			return e.tokenReq(aud, form, testClient, testSecret)
		}, 413, "invalid_request", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.r()
			wantStatus(t, r, c.status)
			if r.str("error") != c.code || !strings.Contains(r.str("error_description"), c.desc) {
				t.Errorf("body = %s", r.raw)
			}
			if c.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
			if strings.Contains(string(r.raw), testSecret) {
				t.Errorf("secret in response")
			}
		})
	}
}

func TestStrictAudienceMode(t *testing.T) {
	e := newEnv(t, Options{})
	encoded := "?audience=" + url.QueryEscape(e.s.URL+"/api")
	wantStatus(t, e.tokenReq(encoded, grant, testClient, testSecret), http.StatusOK)
	e.s.SetMode(ModeStrictAudience)
	r := e.tokenReq(encoded, grant, testClient, testSecret)
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.str("error_description"), "audience") {
		t.Errorf("description = %q", r.str("error_description"))
	}
	wantStatus(t, e.tokenReq(e.audQuery(), grant, testClient, testSecret), http.StatusOK)
}

func TestTokenLifecycle(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEnv(t, Options{Now: clock, TokenTTL: time.Hour})
	get := func(tok string) int {
		e.token = tok
		return e.do("GET", "/Users", nil).status
	}
	tokenFor := func(secret string) resp { return e.tokenReq(e.audQuery(), grant, testClient, secret) }

	t1 := tokenFor(testSecret).str("access_token")
	if get(t1) != 200 {
		t.Fatal("fresh token refused")
	}
	advance(59 * time.Minute)
	if get(t1) != 200 {
		t.Fatal("token refused before expiry")
	}
	advance(time.Minute)
	r := e.do("GET", "/Users", nil)
	wantSCIMError(t, r, 401, "")
	if !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") || !strings.Contains(r.str("detail"), "expired") {
		t.Errorf("expired: %v %s", r.header, r.raw)
	}

	// Rotation: old secret fails at once, issued tokens stay valid.
	t2 := tokenFor(testSecret).str("access_token")
	e.s.RotateSecret(testClient, "new-secret")
	wantStatus(t, tokenFor(testSecret), 401)
	if get(t2) != 200 {
		t.Error("token issued before rotation refused")
	}
	t3 := tokenFor("new-secret").str("access_token")
	if get(t3) != 200 {
		t.Error("token from the new secret refused")
	}
	e.s.RotateSecret("unknown", "x") // ignored
	wantStatus(t, e.tokenReq(e.audQuery(), grant, "unknown", "x"), 401)

	// Revocation.
	e.s.RevokeTokens()
	if get(t2) != 401 || get(t3) != 401 {
		t.Error("revoked tokens accepted")
	}
	// Removal invalidates that client's tokens.
	t4 := tokenFor("new-secret").str("access_token")
	e.s.RemoveClient(testClient)
	if get(t4) != 401 {
		t.Error("token of a removed client accepted")
	}
	wantStatus(t, tokenFor("new-secret"), 401)
}

func TestSCIMNeedsBearer(t *testing.T) {
	e := newEnv(t, Options{})
	for _, h := range []string{"Authorization:", "Authorization: Bearer", "Authorization: Basic abc", "Authorization: Bearer not-a-token"} {
		r := e.do("GET", "/Users", nil, h)
		wantSCIMError(t, r, 401, "")
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate = %q", h, r.header.Get("WWW-Authenticate"))
		}
	}
	// Scheme is case-insensitive.
	wantStatus(t, e.do("GET", "/Users", nil, "Authorization: bearer "+e.token), 200)
	if _, err := e.s.IssueToken("nobody"); err == nil {
		t.Error("IssueToken for an unknown client succeeded")
	}
}

func TestRequestLogHasNoSecrets(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tokenReq(e.audQuery(), grant, testClient, testSecret).str("access_token")
	e.tokenReq(e.audQuery()+"&client_secret="+url.QueryEscape(testSecret)+"&access_token="+tok, grant, testClient, testSecret)
	e.token = tok
	e.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "a@b.c"`), nil)
	reqs := e.s.Requests()
	if len(reqs) != 3 || e.s.RequestCount() != 3 {
		t.Fatalf("log = %+v", reqs)
	}
	dump := fmt.Sprintf("%+v %#v", reqs, reqs)
	for _, secret := range []string{testSecret, url.QueryEscape(testSecret), tok} {
		if strings.Contains(dump, secret) {
			t.Errorf("log contains %q: %s", secret, dump)
		}
	}
	if !strings.Contains(reqs[1].Query, "client_secret=REDACTED") || reqs[1].Status != 200 {
		t.Errorf("query = %q", reqs[1].Query)
	}
	if reqs[2].Method != "GET" || reqs[2].Path != "/api/scim/v2/Users" || !strings.Contains(reqs[2].Query, "filter=") || reqs[2].Time.IsZero() {
		t.Errorf("entry = %+v", reqs[2])
	}
	e.s.ResetRequests()
	if len(e.s.Requests()) != 0 || e.s.RequestCount() != 0 {
		t.Error("ResetRequests kept entries")
	}
}

func TestLatency(t *testing.T) {
	e := newEnv(t, Options{Latency: 60 * time.Millisecond})
	start := time.Now()
	wantStatus(t, e.do("GET", "/ServiceProviderConfig", nil), 200)
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("request took %v", d)
	}
	e.s.SetLatency(0)
	start = time.Now()
	e.do("GET", "/ServiceProviderConfig", nil)
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("request without latency took %v", d)
	}
}

func TestNewHandler(t *testing.T) {
	s := NewHandler(Options{})
	s.SetBaseURL("https://invicti.example.com/")
	if s.URL != "https://invicti.example.com" || s.TokenURL() != "https://invicti.example.com/oauth/token?audience=https://invicti.example.com/api" {
		t.Fatalf("URL %q TokenURL %q", s.URL, s.TokenURL())
	}
	s.AddClient("a", "b")
	req := httptest.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(grant.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("a", "b")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	// Wrong host in the audience is refused.
	req = httptest.NewRequest(http.MethodPost, "https://invicti.example.com/oauth/token?audience=https://other.example.com/api", strings.NewReader(grant.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("a", "b")
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 400 {
		t.Fatalf("status %d", rec.Code)
	}
	s.Close()
}

func TestRequestLogIsBounded(t *testing.T) {
	s := NewHandler(Options{})
	for i := 0; i < maxLog+10; i++ {
		s.record(Request{Path: fmt.Sprint(i)})
	}
	reqs := s.Requests()
	if s.RequestCount() != maxLog+10 || len(reqs) > maxLog || len(reqs) < maxLog/2 || reqs[len(reqs)-1].Path != fmt.Sprint(maxLog+9) {
		t.Errorf("count %d, kept %d, last %+v", s.RequestCount(), len(reqs), reqs[len(reqs)-1])
	}
}
