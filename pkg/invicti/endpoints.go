// Package invicti is the Invicti Platform side of invicti-scim: regions and
// the URLs derived from a base URL, parsing of the SCIM client credentials,
// and a direct connection check that makes the same calls as Microsoft
// Entra ID's "Test Connection".
package invicti

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// Flag names used in InputErrors produced by this package.
const (
	FlagRegion     = "--region"
	FlagInvictiURL = "--invicti-url"
)

// Paths below a base URL, as Invicti documents them.
const (
	TenantPath   = "/api/scim/v2"
	TokenPath    = "/oauth/token" //nolint:gosec // G101: a URL path, not a secret
	AudiencePath = "/api"
)

// RegionCustom is Endpoints.Region for any base URL that is not one of the
// Invicti-hosted regions (on-premises or private tenants).
const RegionCustom = "custom"

// MaxURLLength is the longest base URL ParseBaseURL accepts.
const MaxURLLength = 2048

// Region is one Invicti Platform hosting region.
type Region struct {
	Name    string // "us", "eu", "ca"
	Label   string // "United States", "European Union", "Canada"
	BaseURL string // e.g. https://platform-eu.invicti.com
}

var regions = [...]Region{
	{Name: "us", Label: "United States", BaseURL: "https://platform.invicti.com"},
	{Name: "eu", Label: "European Union", BaseURL: "https://platform-eu.invicti.com"},
	{Name: "ca", Label: "Canada", BaseURL: "https://platform-ca.invicti.com"},
}

// Regions returns the Invicti-hosted regions: us, eu, ca in that order. The
// slice is a fresh copy.
func Regions() []Region {
	out := make([]Region, len(regions))
	copy(out, regions[:])
	return out
}

// LookupRegion finds a region by name ("us", "eu", "ca"), ignoring case and
// surrounding spaces.
func LookupRegion(name string) (Region, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, r := range regions {
		if r.Name == name {
			return r, true
		}
	}
	return Region{}, false
}

// RegionForBaseURL returns the region name whose base URL is exactly
// baseURL (as normalised by ParseBaseURL), or RegionCustom.
func RegionForBaseURL(baseURL string) string {
	for _, r := range regions {
		if r.BaseURL == baseURL {
			return r.Name
		}
	}
	return RegionCustom
}

func regionNames() string {
	names := make([]string, len(regions))
	for i, r := range regions {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// Endpoints is everything derived from one base URL.
type Endpoints struct {
	Region    string // "us", "eu", "ca" or "custom"
	BaseURL   string // e.g. https://platform-eu.invicti.com (no trailing slash)
	TenantURL string // BaseURL + "/api/scim/v2"
	TokenURL  string // BaseURL + "/oauth/token?audience=" + BaseURL + "/api" (audience not percent-encoded)
	Audience  string // BaseURL + "/api"
}

// EndpointsFor derives the Endpoints of a base URL. It does not validate
// baseURL (use ParseBaseURL first); it only drops one trailing slash.
func EndpointsFor(baseURL string) Endpoints {
	base := strings.TrimSuffix(baseURL, "/")
	aud := base + AudiencePath
	return Endpoints{
		Region:    RegionForBaseURL(base),
		BaseURL:   base,
		TenantURL: base + TenantPath,
		TokenURL:  base + TokenPath + "?audience=" + aud,
		Audience:  aud,
	}
}

// ResolveEndpoints turns the --region and --invicti-url values into
// Endpoints. One of them must be set. When both are set the URL must be the
// region's base URL. Errors are *InputError.
func ResolveEndpoints(region, invictiURL string) (Endpoints, error) {
	region = strings.TrimSpace(region)
	invictiURL = strings.TrimSpace(invictiURL)
	if region == "" && invictiURL == "" {
		return Endpoints{}, &InputError{
			Flag: FlagRegion,
			Msg:  "no Invicti region or URL given",
			Hint: "--region " + strings.ReplaceAll(regionNames(), ", ", "|") + ", or --invicti-url https://HOST for an on-premises or private tenant",
		}
	}
	var reg Region
	if region != "" {
		r, ok := LookupRegion(region)
		if !ok {
			return Endpoints{}, &InputError{
				Flag:  FlagRegion,
				Value: shown(region),
				Msg:   "unknown region",
				Hint:  "one of " + regionNames() + ", or use --invicti-url for an on-premises or private tenant",
			}
		}
		reg = r
		if invictiURL == "" {
			return EndpointsFor(reg.BaseURL), nil
		}
	}
	base, err := ParseBaseURL(invictiURL)
	if err != nil {
		return Endpoints{}, err
	}
	if reg.Name != "" && base != reg.BaseURL {
		return Endpoints{}, &InputError{
			Flag:  FlagInvictiURL,
			Value: shown(base),
			Msg:   fmt.Sprintf("does not match --region %s (%s)", reg.Name, reg.BaseURL),
			Hint:  "either --region or --invicti-url, not both (or a URL equal to the region's)",
		}
	}
	return EndpointsFor(base), nil
}

const hintBaseURL = "https://HOST such as " + "https://platform.invicti.com"

// ParseBaseURL validates and normalises an Invicti Platform base URL.
//
// It accepts an absolute https URL (plain http only for loopback hosts:
// 127.0.0.0/8, ::1, localhost) with no user info, query or fragment and an
// empty or "/" path. As a convenience, a pasted tenant URL (BASE/api/scim/v2)
// or token URL (BASE/oauth/token?audience=BASE/api) is reduced to BASE. The
// result has a lower-case host, no default port and no trailing slash.
// Errors are *InputError for FlagInvictiURL; callers reading the URL from
// elsewhere may change the Flag.
func ParseBaseURL(raw string) (string, error) {
	in := strings.TrimSpace(raw)
	fail := func(msg string) error {
		return &InputError{Flag: FlagInvictiURL, Value: shownURL(in), Msg: msg, Hint: hintBaseURL}
	}
	if in == "" {
		return "", fail("is empty")
	}
	if len(in) > MaxURLLength {
		return "", fail(fmt.Sprintf("is longer than %d characters", MaxURLLength))
	}
	if desc, bad := badRune(in); bad {
		return "", fail("contains " + desc)
	}
	if strings.IndexFunc(in, unicode.IsSpace) >= 0 {
		return "", fail("contains a space")
	}
	if !strings.Contains(in, "://") {
		if i := strings.IndexAny(in, ":/?#"); i < 0 || in[i] == '/' || (in[i] == ':' && looksLikePort(in[i+1:])) {
			// Looks like a bare host name: suggest the https form.
			return "", &InputError{Flag: FlagInvictiURL, Value: shown(in), Msg: "is missing the scheme", Hint: "https://" + shown(strings.TrimSuffix(in, "/"))}
		}
		return "", fail("is not an absolute URL")
	}
	u, err := url.Parse(in)
	if err != nil {
		msg := "is not a valid URL"
		var ue *url.Error
		if errors.As(err, &ue) {
			msg += ": " + ue.Err.Error()
		}
		return "", fail(msg)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", fail(fmt.Sprintf("scheme %q is not supported", u.Scheme))
	}
	if u.Opaque != "" || u.Host == "" {
		return "", fail("has no host")
	}
	if u.User != nil {
		return "", fail("must not contain a user name or password")
	}
	host, hostOut, isIP, herr := normaliseHost(u)
	if herr != "" {
		return "", fail(herr)
	}
	port := u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return "", fail("has an empty port")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fail(fmt.Sprintf("has an invalid port %q", port))
		}
		port = strconv.Itoa(n)
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			port = ""
		}
	}
	if scheme == "http" && !isLoopbackHost(host, isIP) {
		return "", fail("plain http is only allowed for loopback hosts (127.0.0.1, ::1, localhost)")
	}
	if u.Fragment != "" || strings.Contains(in, "#") {
		return "", fail("must not contain a fragment (#…)")
	}
	base := scheme + "://" + hostOut
	if port != "" {
		base += ":" + port
	}
	hasQuery := u.RawQuery != "" || u.ForceQuery
	switch p := u.EscapedPath(); p {
	case "", "/", TenantPath, TenantPath + "/":
		if hasQuery {
			return "", fail("must not contain a query (?…)")
		}
	case TokenPath:
		if !hasQuery {
			break
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil || len(q) != 1 || len(q["audience"]) != 1 {
			return "", fail("must not contain a query other than ?audience=… on the token URL")
		}
		if aud := q.Get("audience"); aud != base+AudiencePath {
			return "", &InputError{
				Flag:  FlagInvictiURL,
				Value: shownURL(in),
				Msg:   fmt.Sprintf("the token URL's audience %q does not match its host", aud),
				Hint:  fmt.Sprintf("%s%s?audience=%s%s, or just the base URL %s", base, TokenPath, base, AudiencePath, base),
			}
		}
	default:
		return "", fail(fmt.Sprintf("must not have a path (%q): give only the base URL; the tool adds %s and %s itself", shown(p), TenantPath, TokenPath))
	}
	return base, nil
}

func looksLikePort(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > 0 && (i == len(s) || s[i] == '/')
}

// normaliseHost checks u's host and returns it lower-cased (host, without
// brackets) and in the form to put back in a URL (hostOut). errMsg is
// non-empty when the host is not acceptable.
func normaliseHost(u *url.URL) (host, hostOut string, isIP bool, errMsg string) {
	h := u.Hostname()
	if h == "" {
		return "", "", false, "has no host"
	}
	if strings.HasPrefix(u.Host, "[") {
		if strings.Contains(h, "%") {
			return "", "", false, "must not contain an IPv6 zone"
		}
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() {
			return "", "", false, fmt.Sprintf("has an invalid IPv6 address %q", h)
		}
		return a.String(), "[" + a.String() + "]", true, ""
	}
	if a, err := netip.ParseAddr(h); err == nil && a.Is4() {
		return a.String(), a.String(), true, ""
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if len(h) > 253 {
		return "", "", false, "has a host name longer than 253 characters"
	}
	for _, c := range h {
		if c > unicode.MaxASCII {
			return "", "", false, "has a non-ASCII host name; use its punycode form (xn--…)"
		}
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return "", "", false, fmt.Sprintf("has an invalid host name %q", shown(h))
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", "", false, fmt.Sprintf("has an invalid host name %q", shown(h))
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", "", false, fmt.Sprintf("has an invalid character %q in the host name", string(c))
			}
		}
	}
	return h, h, false, ""
}

// isLoopbackHost reports whether host (lower-case, no brackets) is a
// loopback host: 127.0.0.0/8, ::1 (also IPv4-mapped) or localhost.
func isLoopbackHost(host string, isIP bool) bool {
	if !isIP {
		return host == "localhost"
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// IsLoopbackURL reports whether the base URL's host is a loopback host.
// Microsoft Entra's cloud provisioning service can never reach such a URL.
func IsLoopbackURL(baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	_, err = netip.ParseAddr(h)
	return isLoopbackHost(h, err == nil)
}

// shownURL is a URL as an InputError may show it: without a password in
// the user info or secret-looking query parameters, and shortened.
func shownURL(s string) string {
	return shown((*redactor)(nil).clean(redactUserinfo(s)))
}

// redactUserinfo hides a password given in a URL's user info.
func redactUserinfo(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return s
	}
	user := rest[:at]
	if c := strings.Index(user, ":"); c >= 0 {
		user = user[:c] + ":xxxxx"
	}
	return s[:i+3] + user + rest[at:]
}
