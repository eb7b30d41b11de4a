package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

func jwtWith(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + ".sig"
}

func TestClaimsLifetime(t *testing.T) {
	now := time.Date(2026, 11, 29, 19, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		exp, nbf    time.Time
		wantErr     bool
		notYetValid bool
		says        string
	}{
		{"valid", now.Add(time.Hour), now.Add(-5 * time.Minute), false, false, ""},
		{"expired", now.Add(-90 * time.Second), now.Add(-time.Hour), true, false, "expired at 2026-11-29 18:58:30 UTC (1m30s ago)"},
		{"expires this second", now, now.Add(-time.Hour), true, false, "(0s ago)"},
		{"nbf within clock skew", now.Add(time.Hour), now.Add(4 * time.Minute), false, false, ""},
		{"not yet valid", now.Add(2 * time.Hour), now.Add(time.Hour), true, true, "not valid until 2026-11-29 20:00:00 UTC (1h0m0s from now"},
		{"no exp", time.Time{}, time.Time{}, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]any{"tid": "t"}
			if !tt.exp.IsZero() {
				m["exp"] = tt.exp.Unix()
			}
			if !tt.nbf.IsZero() {
				m["nbf"] = tt.nbf.Unix()
			}
			c, err := ParseClaims(jwtWith(t, m))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Lifetime(now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Lifetime = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			var le *TokenLifetimeError
			if !errors.As(err, &le) || le.NotYetValid != tt.notYetValid || !IsExpiredToken(err) {
				t.Fatalf("Lifetime = %#v", err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("message %q lacks %q", err.Error(), tt.says)
			}
			if !strings.Contains(le.Hint(), "sign in again") || tt.notYetValid != strings.Contains(le.Hint(), "clock") {
				t.Errorf("hint %q", le.Hint())
			}
		})
	}
}

func TestIsExpiredToken(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"graph expired", &Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "Lifetime validation failed, the token is expired."}, true},
		{"graph not yet valid", &Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "Access token has expired or is not yet valid."}, true},
		{"wrapped", fmt.Errorf("list jobs: %w", &Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "Lifetime validation failed, the token is expired."}), true},
		{"wrong audience", &Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "Access token validation failure. Invalid audience."}, false},
		{"missing sync permission", &Error{Status: 401, Code: "UnknownError"}, false},
		{"forbidden", &Error{Status: 403, Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation."}, false},
		{"expired in a 403", &Error{Status: 403, Code: "InvalidAuthenticationToken", Message: "the token is expired"}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsExpiredToken(tt.err); got != tt.want {
				t.Fatalf("IsExpiredToken = %v, want %v", got, tt.want)
			}
			got := AsExpiredToken(tt.err)
			var le *TokenLifetimeError
			if errors.As(got, &le) != tt.want {
				t.Fatalf("AsExpiredToken = %#v", got)
			}
			if tt.want && StatusOf(got) != 401 {
				t.Errorf("the Graph answer is lost: %v", got)
			}
		})
	}
}

func TestUserPath(t *testing.T) {
	tests := map[string]string{
		"alice@contoso.example":                     "/users/alice@contoso.example",
		"bob_fabrikam.example#EXT#@contoso.example": "/users/bob_fabrikam.example%23EXT%23@contoso.example",
		"$svc@contoso.example":                      "/users('$svc@contoso.example')",
		"$o'neil@contoso.example":                   "/users('$o%27%27neil@contoso.example')", // Graph decodes the segment before reading the literal
		"a$b@contoso.example":                       "/users/a$b@contoso.example",
		"6e1c2a2e-7ab0-4b8e-9a43-3c6fb8c8d9a1":      "/users/6e1c2a2e-7ab0-4b8e-9a43-3c6fb8c8d9a1",
	}
	for in, want := range tests {
		if got := UserPath(in); got != want {
			t.Errorf("UserPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// countingCred counts token requests, to prove a Client reads claims through its own
// credential (fault 16: doctor built a second credential and signed a person in twice).
type countingCred struct {
	n     int
	token string
}

func (c *countingCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.n++
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestClientTokenClaimsUsesItsCredential(t *testing.T) {
	cred := &countingCred{token: jwtWith(t, map[string]any{"tid": "tenant-1", "upn": "admin@contoso.example"})}
	c, err := New(Options{RootURL: "https://graph.microsoft.com", Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := c.TokenClaims(t.Context())
	if err != nil || cl.TenantID != "tenant-1" || cl.UPN != "admin@contoso.example" || cred.n != 1 {
		t.Fatalf("claims %+v, err %v, token requests %d", cl, err, cred.n)
	}
}
