package cmd

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/signin"
)

func TestAuthLoginMethodShorthands(t *testing.T) {
	for _, tc := range []struct {
		auth         string
		device, cli  bool
		want, errHas string
	}{
		{want: ""},
		{device: true, want: "device-code"},
		{cli: true, want: "azure-cli"},
		{auth: "device-code", device: true, want: "device-code"},
		{auth: "browser", device: true, errHas: "--device-code and --auth browser"},
		{device: true, cli: true, errHas: "--use-azure-cli and --device-code ask"},
	} {
		o := &authLoginOptions{graph: graphFlags{Auth: tc.auth}, DeviceCode: tc.device, AzureCLI: tc.cli}
		err := o.method()
		var fe *FlagError
		switch {
		case tc.errHas != "":
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("%+v: err = %v, want a usage error with %q", tc, err, tc.errHas)
			}
		case err != nil || o.graph.Auth != tc.want:
			t.Errorf("%+v: --auth %q, %v; want %q", tc, o.graph.Auth, err, tc.want)
		}
	}
}

// TestAuthStatusDocument pins the JSON keys scripts read: all of them when signed in (empty
// when unknown), exactly ok and signedIn when not.
func TestAuthStatusDocument(t *testing.T) {
	keys := func(v any) []string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range []string{"ok", "signedIn", "tenantId", "tenantName", "account", "method", "expiresOn", "cache"} {
			if _, ok := m[k]; ok {
				out = append(out, k)
			}
		}
		if len(out) != len(m) {
			t.Errorf("unexpected keys in %s", b)
		}
		return out
	}
	in := keys(statusDoc(&signin.Status{SignedIn: true, TenantID: "t", Account: "a", Method: "token", Cache: signin.CacheNone,
		ExpiresOn: time.Date(2026, 11, 29, 23, 0, 0, 0, time.FixedZone("CET", 3600))}))
	if len(in) != 8 {
		t.Errorf("signed-in document keys = %v, want all eight", in)
	}
	if d := statusDoc(&signin.Status{SignedIn: true, ExpiresOn: time.Date(2026, 11, 29, 23, 0, 0, 0, time.FixedZone("CET", 3600))}).(authStatusJSON); d.ExpiresOn != "2026-11-29T22:00:00Z" {
		t.Errorf("expiresOn = %q, want RFC 3339 in UTC", d.ExpiresOn)
	}
	if out := keys(statusDoc(&signin.Status{Reason: "nobody"})); strings.Join(out, ",") != "ok,signedIn" {
		t.Errorf("not-signed-in document keys = %v, want ok and signedIn only", out)
	}
}
