package invicti

import (
	"errors"
	"strings"
	"testing"
)

func TestRegions(t *testing.T) {
	rs := Regions()
	want := []Region{
		{"us", "United States", "https://platform.invicti.com"},
		{"eu", "European Union", "https://platform-eu.invicti.com"},
		{"ca", "Canada", "https://platform-ca.invicti.com"},
	}
	if len(rs) != len(want) {
		t.Fatalf("Regions() = %v", rs)
	}
	for i := range want {
		if rs[i] != want[i] {
			t.Errorf("Regions()[%d] = %+v, want %+v", i, rs[i], want[i])
		}
	}
	rs[0].BaseURL = "mutated"
	if Regions()[0].BaseURL != "https://platform.invicti.com" {
		t.Error("Regions() exposes internal state")
	}
	if r, ok := LookupRegion(" EU "); !ok || r.Name != "eu" {
		t.Errorf("LookupRegion(EU) = %v %v", r, ok)
	}
	if _, ok := LookupRegion("uk"); ok {
		t.Error("LookupRegion(uk) found")
	}
}

func TestEndpointsFor(t *testing.T) {
	ep := EndpointsFor("https://platform-eu.invicti.com/")
	want := Endpoints{
		Region:    "eu",
		BaseURL:   "https://platform-eu.invicti.com",
		TenantURL: "https://platform-eu.invicti.com/api/scim/v2",
		TokenURL:  "https://platform-eu.invicti.com/oauth/token?audience=https://platform-eu.invicti.com/api",
		Audience:  "https://platform-eu.invicti.com/api",
	}
	if ep != want {
		t.Errorf("EndpointsFor = %+v", ep)
	}
	if ep := EndpointsFor("https://invicti.corp.example"); ep.Region != RegionCustom || ep.TokenURL != "https://invicti.corp.example/oauth/token?audience=https://invicti.corp.example/api" {
		t.Errorf("custom = %+v", ep)
	}
}

func TestParseBaseURLAccepts(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://platform.invicti.com", "https://platform.invicti.com"},
		{"  https://platform.invicti.com/ \n", "https://platform.invicti.com"},
		{"HTTPS://Platform.Invicti.COM", "https://platform.invicti.com"},
		{"https://platform.invicti.com:443/", "https://platform.invicti.com"},
		{"https://platform-eu.invicti.com", "https://platform-eu.invicti.com"},
		{"https://platform-ca.invicti.com", "https://platform-ca.invicti.com"},
		{"https://invicti.corp.example:8443", "https://invicti.corp.example:8443"},
		{"https://invicti.corp.example.", "https://invicti.corp.example"},
		{"https://10.1.2.3", "https://10.1.2.3"},
		{"https://[2001:DB8::1]:8443/", "https://[2001:db8::1]:8443"},
		// Loopback hosts may use plain http.
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://127.0.0.5", "http://127.0.0.5"},
		{"http://127.0.0.1:80/", "http://127.0.0.1"},
		{"http://[::1]:9000", "http://[::1]:9000"},
		{"http://localhost:3000/", "http://localhost:3000"},
		{"http://LOCALHOST", "http://localhost"},
		// Pasted tenant and token URLs are reduced to the base.
		{"https://platform-eu.invicti.com/api/scim/v2", "https://platform-eu.invicti.com"},
		{"https://platform-eu.invicti.com/api/scim/v2/", "https://platform-eu.invicti.com"},
		{"https://platform.invicti.com/oauth/token?audience=https://platform.invicti.com/api", "https://platform.invicti.com"},
		{"https://platform-ca.invicti.com/oauth/token?audience=https%3A%2F%2Fplatform-ca.invicti.com%2Fapi", "https://platform-ca.invicti.com"},
		{"https://platform.invicti.com/oauth/token", "https://platform.invicti.com"},
		{"http://127.0.0.1:8080/oauth/token?audience=http://127.0.0.1:8080/api", "http://127.0.0.1:8080"},
	}
	for _, c := range cases {
		got, err := ParseBaseURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseBaseURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestParseBaseURLRejects(t *testing.T) {
	cases := []struct{ in, msg string }{
		{"", "is empty"},
		{"   ", "is empty"},
		{"http://example.com", "plain http is only allowed for loopback hosts"},
		{"http://10.0.0.1", "plain http"},
		{"http://[::2]", "plain http"},
		{"http://localhost.example.com", "plain http"},
		{"http://128.0.0.1", "plain http"},
		{"ftp://platform.invicti.com", `scheme "ftp" is not supported`},
		{"platform.invicti.com", "is missing the scheme"},
		{"localhost:8080", "is missing the scheme"},
		{"https:/platform.invicti.com", "is not an absolute URL"},
		{"https://", "has no host"},
		{"https:///api", "has no host"},
		{"https://user:pa55word@platform.invicti.com", "user name or password"},
		{"https://user@platform.invicti.com", "user name or password"},
		{"https://platform.invicti.com?x=1", "must not contain a query"},
		{"https://platform.invicti.com/?", "must not contain a query"},
		{"https://platform.invicti.com/api/scim/v2?filter=x", "must not contain a query"},
		{"https://platform.invicti.com/#top", "fragment"},
		{"https://platform.invicti.com#", "fragment"},
		{"https://platform.invicti.com/api", "must not have a path"},
		{"https://platform.invicti.com/app/login", "must not have a path"},
		{"https://platform.invicti.com/api/scim/v2/Users", "must not have a path"},
		{"https://invicti.corp.example/invicti", "must not have a path"},
		{"https://platform.invicti.com/oauth/token?audience=https://platform-eu.invicti.com/api", "does not match its host"},
		{"https://platform.invicti.com/oauth/token?audience=x&foo=bar", "query other than ?audience"},
		{"https://platform.invicti.com/oauth/token?grant_type=client_credentials", "query other than ?audience"},
		{"https://platform.invicti.com/oauth/token?audience=x&client_secret=hunter22", "query other than ?audience"},
		{"https://platform.invicti.com/?access_token=hunter22", "must not contain a query"},
		{"https://plat form.invicti.com", "contains a space"},
		{"https://platform\u00a0.invicti.com", "contains a space"},
		{"https://platform.invicti.com/\x00", "control character"},
		{"https://platform.invicti.com\x7f", "control character"},
		{"https://platform.invicti.com\t/", "control character"},
		{"https://platform\u200b.invicti.com", "invisible character (U+200B)"},
		{"https://platform.invicti.com/\xff", "invalid UTF-8"},
		{"https://" + strings.Repeat("a", 2040) + ".com", "longer than 2048"},
		{"https://platform.invicti.com:0", "invalid port"},
		{"https://platform.invicti.com:99999", "invalid port"},
		{"https://platform.invicti.com:", "empty port"},
		{"https://[fe80::1%25eth0]", "IPv6 zone"},
		{"https://bücher.example", "punycode"},
		{"https://-bad.example.com", "invalid host name"},
		{"https://a..b", "invalid host name"},
		{"https://exa$mple.com", "invalid character"},
	}
	for _, c := range cases {
		got, err := ParseBaseURL(c.in)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("ParseBaseURL(%q) = %q, %v; want an *InputError", c.in, got, err)
			continue
		}
		if ie.Flag != FlagInvictiURL || !strings.Contains(ie.Msg, c.msg) || ie.Hint == "" {
			t.Errorf("ParseBaseURL(%q): %+v; want Msg containing %q", c.in, ie, c.msg)
		}
		if strings.Contains(err.Error(), "pa55word") || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("error shows the URL password: %v", err)
		}
		if len(err.Error()) > 600 {
			t.Errorf("error too long (%d)", len(err.Error()))
		}
	}
}

func TestInputErrorFormat(t *testing.T) {
	_, err := ParseBaseURL("http://example.com")
	want := `--invicti-url "http://example.com": plain http is only allowed for loopback hosts (127.0.0.1, ::1, localhost); expected https://HOST such as https://platform.invicti.com`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	_, err = ResolveEndpoints("uk", "")
	want = `--region "uk": unknown region; expected one of us, eu, ca, or use --invicti-url for an on-premises or private tenant`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	_, err = ParseBaseURL("platform.invicti.com")
	want = `--invicti-url "platform.invicti.com": is missing the scheme; expected https://platform.invicti.com`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	e := &InputError{Msg: "bad"}
	if e.Error() != "bad" {
		t.Errorf("bare error = %q", e.Error())
	}
	e = &InputError{Flag: "--x", Value: "a\nb", Msg: "bad"}
	if e.Error() != `--x "a\nb": bad` {
		t.Errorf("quoted error = %q", e.Error())
	}
}

func TestResolveEndpoints(t *testing.T) {
	for _, r := range Regions() {
		ep, err := ResolveEndpoints(r.Name, "")
		if err != nil || ep.Region != r.Name || ep.BaseURL != r.BaseURL ||
			ep.TenantURL != r.BaseURL+"/api/scim/v2" || ep.TokenURL != r.BaseURL+"/oauth/token?audience="+r.BaseURL+"/api" ||
			ep.Audience != r.BaseURL+"/api" {
			t.Errorf("ResolveEndpoints(%q) = %+v, %v", r.Name, ep, err)
		}
		// Region and matching URL together are fine.
		ep2, err := ResolveEndpoints(strings.ToUpper(r.Name), r.BaseURL+"/")
		if err != nil || ep2 != ep {
			t.Errorf("ResolveEndpoints(%q, base) = %+v, %v", r.Name, ep2, err)
		}
	}
	ep, err := ResolveEndpoints("", "https://platform-eu.invicti.com/api/scim/v2")
	if err != nil || ep.Region != "eu" {
		t.Errorf("URL of a region: %+v %v", ep, err)
	}
	ep, err = ResolveEndpoints("", "https://Invicti.Corp.Example")
	if err != nil || ep.Region != "custom" || ep.BaseURL != "https://invicti.corp.example" {
		t.Errorf("custom URL: %+v %v", ep, err)
	}
	ep, err = ResolveEndpoints("", "http://127.0.0.1:9999")
	if err != nil || ep.Region != "custom" || ep.TokenURL != "http://127.0.0.1:9999/oauth/token?audience=http://127.0.0.1:9999/api" {
		t.Errorf("loopback URL: %+v %v", ep, err)
	}

	bad := []struct{ region, url, flag, msg string }{
		{"", "", "--region", "no Invicti region or URL given"},
		{"  ", " ", "--region", "no Invicti region or URL given"},
		{"uk", "", "--region", "unknown region"},
		{"uk", "https://platform.invicti.com", "--region", "unknown region"},
		{"us", "https://platform-eu.invicti.com", "--invicti-url", "does not match --region us"},
		{"eu", "https://invicti.corp.example", "--invicti-url", "does not match --region eu"},
		{"", "http://example.com", "--invicti-url", "plain http"},
		{"us", "not a url", "--invicti-url", "contains a space"},
	}
	for _, c := range bad {
		_, err := ResolveEndpoints(c.region, c.url)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Flag != c.flag || !strings.Contains(ie.Msg, c.msg) {
			t.Errorf("ResolveEndpoints(%q, %q) = %v; want %s …%s…", c.region, c.url, err, c.flag, c.msg)
		}
	}
}

func TestIsLoopbackURL(t *testing.T) {
	for in, want := range map[string]bool{
		"http://127.0.0.1:1":           true,
		"http://localhost":             true,
		"http://[::1]:80":              true,
		"https://platform.invicti.com": false,
		"https://10.0.0.1":             false,
		"::::":                         false,
	} {
		if got := IsLoopbackURL(in); got != want {
			t.Errorf("IsLoopbackURL(%q) = %v", in, got)
		}
	}
}
