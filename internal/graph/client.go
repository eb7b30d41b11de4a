// Package graph is the only code that talks to Microsoft Graph, and the only importer of
// msgraph-sdk-go and kiota. It returns plain structs, never SDK models, and never prints.
package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	abs "github.com/microsoft/kiota-abstractions-go"
	kiotahttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationtemplates"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/invicti-scim/invicti-scim/internal/httpx"
)

// Options configures a Client.
type Options struct {
	// RootURL is Graph's root without the version, e.g. https://graph.microsoft.com.
	RootURL string
	// Credential supplies access tokens; every request carries one.
	Credential azcore.TokenCredential
	// Scopes requested from Credential; default RootURL + "/.default".
	Scopes []string
	// HTTPClient carries the requests (tracing and throttling retries live in its transport).
	HTTPClient *http.Client
}

// Client is a Microsoft Graph v1.0 client for the calls invicti-scim needs.
type Client struct {
	adapter *kiotahttp.NetHttpRequestAdapter
	baseURL string // RootURL + /v1.0
	auth    *tokenAuth
	betaURL string // RootURL + /beta, only for calls v1.0 does not have
	// No request builders are kept here: a builder reachable from Client's type (which is
	// converted to interfaces) keeps its Get method linked, because huh's generic Accessor
	// calls a method named Get, and the linker keeps every such method of every type used in
	// an interface (docs/performance.md, "Binary size"). Builders are made per call instead.
}

// pathParams is the root of every request builder: Graph's base URL.
func (c *Client) pathParams() map[string]string { return map[string]string{"baseurl": c.baseURL} }

func (c *Client) servicePrincipals() *serviceprincipals.ServicePrincipalsRequestBuilder {
	return serviceprincipals.NewServicePrincipalsRequestBuilderInternal(c.pathParams(), c.adapter)
}

func (c *Client) applicationTemplates() *applicationtemplates.ApplicationTemplatesRequestBuilder {
	return applicationtemplates.NewApplicationTemplatesRequestBuilderInternal(c.pathParams(), c.adapter)
}

func (c *Client) users() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(c.pathParams(), c.adapter)
}

// New builds a client. It does no I/O.
func New(opts Options) (*Client, error) {
	root, err := ValidateRootURL(opts.RootURL)
	if err != nil {
		return nil, err
	}
	if opts.Credential == nil {
		return nil, fmt.Errorf("graph: no credential")
	}
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = []string{root + "/.default"}
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	auth := &tokenAuth{cred: opts.Credential, scopes: scopes}
	// Graph never redirects API calls, and Go would carry the token along to the same host on
	// another port or scheme: refuse every redirect.
	own := *hc
	own.CheckRedirect = httpx.RefuseRedirects
	own.Transport = &nonJSONErrors{next: hc.Transport}
	hc = &own
	// A plain http.Client: no kiota middleware. Kiota's default chain gzips bodies and can
	// order its retry handler before compression (docs/graph-sources.md); our transport retries.
	adapter, err := kiotahttp.NewNetHttpRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth,
		jsonser.NewJsonParseNodeFactory(),
		jsonser.NewJsonSerializationWriterFactory(),
		hc,
	)
	if err != nil {
		return nil, fmt.Errorf("graph: build request adapter: %w", err)
	}
	base := root + "/v1.0"
	// The base URL is set before any builder exists: builders copy it into their path
	// parameters, and a stale copy makes $batch items absolute (docs/graph-sources.md), which
	// Graph rejects.
	adapter.SetBaseUrl(base)
	return &Client{adapter: adapter, baseURL: base, auth: auth, betaURL: root + "/beta"}, nil
}

// ValidateRootURL checks a Graph root: https, or plain http only on a loopback host (the
// sandbox and tests); a trailing /v1.0 is tolerated and removed.
func ValidateRootURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("graph URL %q is not an absolute URL; expected https://graph.microsoft.com or http://127.0.0.1:PORT", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("graph URL %q: plain http is only allowed for loopback hosts (127.0.0.1, ::1, localhost)", raw)
		}
	default:
		return "", fmt.Errorf("graph URL %q: scheme must be https", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("graph URL %q: must not carry credentials, a query or a fragment", raw)
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/v1.0")
	u.Path = strings.TrimRight(p, "/")
	u.RawPath = ""
	return strings.TrimRight(u.String(), "/"), nil
}

// isLoopback reports whether host is a loopback IP literal (127.0.0.0/8, ::1) or the name
// localhost. A name that merely starts with "127." (127.attacker.example) is a DNS name that
// can point anywhere, so the host is parsed as an IP, never matched by prefix.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback() && ip.Zone() == ""
}

// microsoftGraphHosts are the Graph hosts of the national clouds (docs/graph-sources.md,
// "National cloud deployments").
var microsoftGraphHosts = []string{"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"}

// IsMicrosoftGraphHost reports whether a validated root URL (from ValidateRootURL) points at
// one of Microsoft's Graph hosts, where sending an admin's token is expected.
func IsMicrosoftGraphHost(root string) bool {
	u, err := url.Parse(root)
	if err != nil {
		return false
	}
	for _, h := range microsoftGraphHosts {
		if strings.EqualFold(u.Hostname(), h) {
			return true
		}
	}
	return false
}

// IsLoopbackURL reports whether a validated root URL points at this machine (an emulator).
func IsLoopbackURL(root string) bool {
	u, err := url.Parse(root)
	return err == nil && isLoopback(u.Hostname())
}

// tokenAuth adds a bearer token to every request. Kiota's azure provider silently sends no
// token to hosts outside its allow-list (docs/graph-sources.md); this one always sends it, and
// the root URL is validated instead.
type tokenAuth struct {
	cred   azcore.TokenCredential
	scopes []string
}

func (a *tokenAuth) AuthenticateRequest(ctx context.Context, req *abs.RequestInformation, _ map[string]any) error {
	tok, err := a.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: a.scopes})
	if err != nil {
		return &SignInError{Err: err}
	}
	req.Headers.TryAdd("Authorization", "Bearer "+tok.Token)
	return nil
}

// TokenClaims reads the claims of the token this client sends, through the same credential:
// one sign-in per process (a second credential would sign a person in twice).
func (c *Client) TokenClaims(ctx context.Context) (Claims, error) {
	return TokenClaims(ctx, c.auth.cred, c.auth.scopes)
}

// SignInError means no Graph token could be obtained.
type SignInError struct{ Err error }

func (e *SignInError) Error() string { return "sign in to Microsoft Graph: " + e.Err.Error() }
func (e *SignInError) Unwrap() error { return e.Err }

var errorMapping = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// raw is send for a path written by hand (a URL the typed builders cannot express, or one not
// converted yet: CONTRIBUTING.md, "the SDK rule"), relative to the v1.0 base URL.
func (c *Client) raw(ctx context.Context, op, method, path string, query url.Values, body, out any) error {
	u := c.baseURL + path
	if len(query) > 0 {
		// Graph wants %20 rather than + in $filter values.
		u += "?" + strings.ReplaceAll(query.Encode(), "+", "%20")
	}
	return c.rawURL(ctx, op, method, u, body, out)
}

// rawURL is raw with an absolute URL (for the few beta calls).
func (c *Client) rawURL(ctx context.Context, op, method, u string, body, out any) error {
	ri, err := requestAt(method, u)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return c.send(ctx, op, ri, body, out)
}

// requestAt is a request for a hand-written absolute URL.
func requestAt(method, u string) (*abs.RequestInformation, error) {
	ri := abs.NewRequestInformation()
	switch method {
	case http.MethodGet:
		ri.Method = abs.GET
	case http.MethodPost:
		ri.Method = abs.POST
	case http.MethodPut:
		ri.Method = abs.PUT
	case http.MethodPatch:
		ri.Method = abs.PATCH
	case http.MethodDelete:
		ri.Method = abs.DELETE
	default:
		return nil, fmt.Errorf("unsupported method %s", method)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	ri.SetUri(*parsed)
	return ri, nil
}

// at is a request for a typed request builder's URL (its template and path parameters, which
// kiota expands and escapes) with the given method and no query. Calls with typed query
// parameters use the builder's ToGetRequestInformation instead. The template's query part is
// cut: a $ref builder shares one template between POST and DELETE, and its literal "?@id="
// would reach Graph, which answers 400 "Unrecognized query argument specified: '@id'."
// (docs/graph-sources.md).
func at(method abs.HttpMethod, b abs.BaseRequestBuilder) *abs.RequestInformation {
	tmpl := b.UrlTemplate
	if i := strings.IndexByte(tmpl, '?'); i >= 0 {
		if i > 0 && tmpl[i-1] == '{' { // {?%24select,…}
			i--
		}
		tmpl = tmpl[:i]
	}
	return abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(method, tmpl, b.PathParameters)
}

// send sends one request through the adapter (authentication, transport, ODataError
// mapping), with body (nil for none) encoded as JSON, and decodes the JSON answer into out
// (which may be nil). Bodies and answers are this package's own small JSON types, never
// msgraph-sdk-go models: a model's discriminator factories link every one of the SDK's ~1,700
// models into the binary (CONTRIBUTING.md, "the SDK rule"; docs/performance.md).
func (c *Client) send(ctx context.Context, op string, ri *abs.RequestInformation, body, out any) error {
	ri.Headers.TryAdd("Accept", "application/json")
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: encode body: %w", op, err)
		}
		ri.SetStreamContentAndContentType(data, "application/json")
	}
	res, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping)
	if err != nil {
		return convert(op, err)
	}
	if out == nil || res == nil {
		return nil
	}
	data, _ := res.([]byte)
	if len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", op, err)
	}
	return nil
}

// errTooManyPages is the pager's answer to a server that keeps sending nextLinks.
var errTooManyPages = fmt.Errorf("more than %d pages", maxPages)

// listAll reads a whole collection through listPages.
func listAll[T any](ctx context.Context, c *Client, op string, ri *abs.RequestInformation) ([]T, error) {
	var out []T
	err := listPages(ctx, c, op, ri, func(page []T) bool {
		out = append(out, page...)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// firstPage reads only the first page of a collection, for callers that ask for a few
// candidates ($top) or a list that is one page by nature, never for the whole collection.
func firstPage[T any](ctx context.Context, c *Client, op string, ri *abs.RequestInformation) ([]T, error) {
	var out []T
	err := listPages(ctx, c, op, ri, func(page []T) bool {
		out = page
		return false
	})
	return out, err
}

// listPages is the one pager: it reads a collection through ri and then every
// @odata.nextLink (Graph's paging, "Paging Microsoft Graph data in your app"), handing each
// page's value to page, until a page has no nextLink or page returns false. It reads at most
// maxPages pages and then fails with errTooManyPages wrapped in op, so a server that keeps
// sending nextLinks cannot keep the tool reading. Each link is re-rooted on the client's own
// Graph URL (sameHost), so a nextLink naming another host never gets the token.
func listPages[T any](ctx context.Context, c *Client, op string, ri *abs.RequestInformation, page func([]T) (more bool)) error {
	for pages := 1; ; pages++ {
		var res struct {
			Value    []T    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := c.send(ctx, op, ri, nil, &res); err != nil {
			return err
		}
		if !page(res.Value) || res.NextLink == "" {
			return nil
		}
		if pages >= maxPages {
			return fmt.Errorf("%s: %w", op, errTooManyPages)
		}
		next, err := url.Parse(c.sameHost(res.NextLink))
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		ri = abs.NewRequestInformation()
		ri.Method = abs.GET
		ri.SetUri(*next)
	}
}

func retryAfter(h http.Header) time.Duration { return httpx.RetryAfter(h, 0) }

func boolean(p *bool) bool { return p != nil && *p }

// Quote makes a value safe inside a single-quoted OData string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// PathEscape escapes one path segment; a guest UPN's '#' must travel as %23.
func PathEscape(s string) string { return url.PathEscape(s) }

// UserPath is the path of one user, by object id or user principal name, in a form Graph
// accepts for every UPN. Graph reads a segment starting with '$' as a system segment ($batch,
// $count, $ref…), so /users/$x@y is a 400 ("The request URI is not valid…"); Graph's "Get
// user" documentation says to use the key form /users('$x@y') instead (docs/graph-sources.md),
// where a quote inside the key is doubled as in any OData string literal. Every other UPN travels as an escaped segment ('#' as %23, '%' as %25).
func UserPath(idOrUPN string) string {
	if strings.HasPrefix(idOrUPN, "$") {
		return "/users('" + url.PathEscape(strings.ReplaceAll(idOrUPN, "'", "''")) + "')"
	}
	return "/users/" + url.PathEscape(idOrUPN)
}
