package invicti

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseBaseURL: never panics; every accepted URL is https (or http on a loopback host),
// has a host and no user info, query, fragment or path; it is a fixed point (parsing it again
// gives it back) and so are the tenant and token URLs derived from it, which reduce to it.
func FuzzParseBaseURL(f *testing.F) {
	for _, s := range []string{
		"https://platform.invicti.com", "https://platform-eu.invicti.com/", "HTTPS://Platform-CA.Invicti.COM:443/",
		"https://scim.example.com:8443/api/scim/v2", "https://scim.example.com/api/scim/v2/",
		"https://platform.invicti.com/oauth/token?audience=https://platform.invicti.com/api",
		"https://platform.invicti.com/oauth/token?audience=https%3A%2F%2Fplatform.invicti.com%2Fapi",
		"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9000/", "http://[::ffff:127.0.0.1]", "http://127.1.2.3",
		"http://example.com", "https://user:pass@example.com", "https://example.com/?q=1", "https://example.com/#frag",
		"https://example.com?", "https://example.com/some/path", "platform.invicti.com", "platform.invicti.com:443",
		"ftp://example.com", "https://", "https://:443", "https://example.com:", "https://example.com:99999",
		"https://[fe80::1%25eth0]", "https://exämple.com", "https://xn--exmple-cua.com", "https://ex ample.com",
		"https://example.com.", "https://-bad-.com", "https://a..b", "https://example.com\x00", "https://example.com\u200b",
		"https://example.com/%2e%2e", "//example.com", "https:example.com", "  https://example.com  ",
		"https://1.2.3.4", "https://0x7f.0.0.1", "http://0177.0.0.1", "http://[::1%25lo]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		base, err := ParseBaseURL(raw)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Flag != FlagInvictiURL {
				t.Fatalf("error is not an *InputError for %s: %T %v", FlagInvictiURL, err, err)
			}
			if strings.Contains(raw, "@") && strings.Contains(err.Error(), passwordOf(raw)) && passwordOf(raw) != "" {
				t.Fatalf("error shows the URL's password: %v", err)
			}
			return
		}
		checkBaseURL(t, raw, base)
	})
}

// FuzzResolveEndpoints: never panics; on success the base URL passes the same checks as
// ParseBaseURL's, the region is consistent with it, and EndpointsFor(base) gives the same
// endpoints back.
func FuzzResolveEndpoints(f *testing.F) {
	for _, c := range [][2]string{
		{"us", ""}, {"EU ", ""}, {"ca", "https://platform-ca.invicti.com/"}, {"us", "https://platform-eu.invicti.com"},
		{"uk", ""}, {"", ""}, {"", "https://scim.example.com"}, {"eu", "http://127.0.0.1:8080"}, {"", "http://example.com"},
		{"\u00fcs", ""}, {"us\x00", ""}, {"", "https://platform.invicti.com/api/scim/v2"},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, region, raw string) {
		ep, err := ResolveEndpoints(region, raw)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error is not an *InputError: %T %v", err, err)
			}
			return
		}
		checkBaseURL(t, raw, ep.BaseURL)
		if ep != EndpointsFor(ep.BaseURL) {
			t.Fatalf("ResolveEndpoints(%q, %q) = %+v, EndpointsFor gives %+v", region, raw, ep, EndpointsFor(ep.BaseURL))
		}
		if r, ok := LookupRegion(region); ok && ep.BaseURL != r.BaseURL {
			t.Fatalf("region %q resolved to %s, not its own %s", region, ep.BaseURL, r.BaseURL)
		}
		if strings.TrimSpace(region) == "" && ep.Region != RegionForBaseURL(ep.BaseURL) {
			t.Fatalf("region %q for %s", ep.Region, ep.BaseURL)
		}
	})
}

func checkBaseURL(t *testing.T, raw, base string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%q accepted as %q, which does not parse: %v", raw, base, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		t.Fatalf("%q accepted as %q: scheme %q", raw, base, u.Scheme)
	case u.Scheme == "http" && !IsLoopbackURL(base):
		t.Fatalf("%q accepted as %q: plain http on a host that is not loopback", raw, base)
	case u.Host == "" || u.Hostname() == "" || u.Opaque != "":
		t.Fatalf("%q accepted as %q: no host", raw, base)
	case u.User != nil:
		t.Fatalf("%q accepted as %q: user info", raw, base)
	case u.RawQuery != "" || u.ForceQuery || strings.Contains(base, "?"):
		t.Fatalf("%q accepted as %q: query", raw, base)
	case u.Fragment != "" || strings.Contains(base, "#"):
		t.Fatalf("%q accepted as %q: fragment", raw, base)
	case u.Path != "" || u.RawPath != "":
		t.Fatalf("%q accepted as %q: path %q", raw, base, u.Path)
	case strings.HasSuffix(base, "/"):
		t.Fatalf("%q accepted as %q: trailing slash", raw, base)
	case strings.IndexFunc(base, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0:
		t.Fatalf("%q accepted as %q: whitespace, control or non-ASCII characters", raw, base)
	}
	if again, err := ParseBaseURL(base); err != nil || again != base {
		t.Fatalf("%q accepted as %q, but that parses as %q, %v", raw, base, again, err)
	}
	ep := EndpointsFor(base)
	if ep.BaseURL != base {
		t.Fatalf("EndpointsFor(%q).BaseURL = %q", base, ep.BaseURL)
	}
	for _, derived := range []string{ep.TenantURL, ep.TokenURL} {
		if b, err := ParseBaseURL(derived); err != nil || b != base {
			t.Fatalf("derived URL %q parses as %q, %v; want %q", derived, b, err, base)
		}
	}
}

// passwordOf returns the password in a URL's user info, as redactUserinfo would hide it.
func passwordOf(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return ""
	}
	rest := raw[i+3:]
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok || len(pw) < 6 {
		return ""
	}
	return pw
}
