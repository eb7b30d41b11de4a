package invicti

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultTimeout is the HTTP client timeout a Checker uses when HTTP is nil.
const DefaultTimeout = 30 * time.Second

// maxBody bounds how much of a response is read.
const maxBody = 1 << 20

// SCIM schema and message URNs.
const (
	SchemaListResponse          = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaError                 = "urn:ietf:params:scim:api:messages:2.0:Error"
	SchemaServiceProviderConfig = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaUser                  = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup                 = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

// Checker makes the same calls as Microsoft Entra ID's "Test Connection":
// a client-credentials token, then SCIM requests with that token. It never
// logs, and nothing it reports contains the client secret or the token.
type Checker struct {
	HTTP *http.Client     // nil: a client with a 30 s timeout that does not follow redirects
	Now  func() time.Time // nil: time.Now
}

var defaultHTTPClient = &http.Client{
	Timeout:       DefaultTimeout,
	CheckRedirect: noRedirects,
}

// httpClient returns the client to use: c.HTTP (or the default) with
// redirects disabled, because a redirect on the token or SCIM endpoints
// means the URL is wrong (typically a login page) and is reported as such.
func (c *Checker) httpClient() *http.Client {
	if c == nil || c.HTTP == nil {
		return defaultHTTPClient
	}
	hc := *c.HTTP
	hc.CheckRedirect = noRedirects
	return &hc
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (c *Checker) now() time.Time {
	if c != nil && c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// StepName identifies a step of the check.
type StepName string

// Steps of the check, in order, and of SCIMClient lookups.
const (
	StepToken                 StepName = "token"
	StepServiceProviderConfig StepName = "serviceProviderConfig"
	StepUserQuery             StepName = "userQuery"
	StepGroupQuery            StepName = "groupQuery" // SCIMClient.FindGroup only
)

// Step is the outcome of one request of the check.
type Step struct {
	Name     StepName
	Title    string // "Token from <TokenURL>", "GET /ServiceProviderConfig", `GET /Users?filter=userName eq "<uuid>"`
	OK       bool
	Skipped  bool // an earlier step failed
	Duration time.Duration
	Detail   string   // short human detail, e.g. "HTTP 200, token_type Bearer, expires in 3600 s"
	Problem  *Problem // nil when OK or skipped
}

// ProblemKind classifies a failure.
type ProblemKind string

// Problem kinds.
const (
	ProblemDNS           ProblemKind = "dns"
	ProblemTLS           ProblemKind = "tls"
	ProblemTimeout       ProblemKind = "timeout"
	ProblemConnection    ProblemKind = "connection"
	ProblemInvalidClient ProblemKind = "invalid_client"
	ProblemAudience      ProblemKind = "audience"
	ProblemNotFound      ProblemKind = "not_found"
	ProblemNotSCIM       ProblemKind = "not_scim"
	ProblemUnauthorized  ProblemKind = "unauthorized"
	ProblemServer        ProblemKind = "server_error"
	ProblemRateLimited   ProblemKind = "rate_limited" // HTTP 429
	ProblemCanceled      ProblemKind = "canceled"     // the caller's context was cancelled
	ProblemUnexpected    ProblemKind = "unexpected"
)

// Problem explains a failed step in plain language.
type Problem struct {
	Kind    ProblemKind
	Message string // what went wrong, e.g. "Invicti rejected this client id/secret (HTTP 401 invalid_client)"
	Fix     string // what to do about it
	Status  int    // HTTP status, 0 if there was no response
}

// ProblemError is the error SCIMClient methods return for failures that a
// Problem describes.
type ProblemError struct {
	Step    StepName
	Problem Problem
}

func (e *ProblemError) Error() string { return e.Problem.Message }

// Result is the outcome of Check.
type Result struct {
	Endpoints Endpoints
	Steps     []Step
	OK        bool
	// Warnings are things the check cannot prove, e.g. that Microsoft
	// Entra's cloud service can reach a loopback or private address.
	Warnings []string
	// ClientAuth is the client authentication Invicti accepted ("" when none).
	ClientAuth ClientAuth
}

// Problem returns the first failed step's problem, or nil.
func (r Result) Problem() *Problem {
	for _, s := range r.Steps {
		if s.Problem != nil {
			return s.Problem
		}
	}
	return nil
}

// Check gets a token from ep.TokenURL with cred (HTTP Basic client
// authentication, as Entra sends it), then with that token requests
// {TenantURL}/ServiceProviderConfig and {TenantURL}/Users?filter=userName eq
// "<random uuid>", expecting SCIM answers and no user. A step is skipped
// when an earlier one failed.
func (c *Checker) Check(ctx context.Context, ep Endpoints, cred Credentials) Result {
	res := Result{Endpoints: ep, Warnings: warningsFor(ep)}
	hc := c.httpClient()
	red := newRedactor()
	red.r.AddBasic(cred.ClientID, cred.ClientSecret)
	probe := uuid.NewString()
	res.Steps = []Step{
		{Name: StepToken, Title: "Token from " + ep.TokenURL},
		{Name: StepServiceProviderConfig, Title: "GET /ServiceProviderConfig"},
		{Name: StepUserQuery, Title: `GET /Users?filter=userName eq "` + probe + `"`},
	}

	var token string
	run := []func(*Step){
		func(st *Step) {
			if ep.TokenURL == "" || ep.TenantURL == "" {
				st.Problem = &Problem{
					Kind:    ProblemUnexpected,
					Message: "no Invicti token or tenant URL to check",
					Fix:     "Give --region or --invicti-url.",
				}
				st.Detail = "no endpoints"
				return
			}
			tok, status, err := fetchToken(ctx, hc, ep, cred)
			if err != nil {
				st.Problem = tokenProblem(err, status, ep, red)
				st.Detail = tokenErrorDetail(err, red)
				if st.Problem.Kind != ProblemInvalidClient || !encodingMatters(cred) {
					return
				}
				how, alt := retryClientAuth(ctx, hc, ep, cred)
				warning, p := clientAuthOutcome(how, st.Problem)
				res.ClientAuth, st.Problem = how, p
				if p != nil {
					return
				}
				red.add(alt)
				res.Warnings = append(res.Warnings, warning)
				st.Detail = "HTTP 200 with the secret verbatim in HTTP Basic (the RFC 6749 form was refused: " + st.Detail + ")"
				token = alt
				return
			}
			res.ClientAuth = ClientAuthBasic
			red.add(tok.AccessToken)
			st.Detail = tokenDetail(status, tok, time.Now())
			if tt := tok.TokenType; tt != "" && !strings.EqualFold(tt, "bearer") {
				st.Problem = &Problem{
					Kind:    ProblemUnexpected,
					Message: fmt.Sprintf("the token endpoint issued a %q token; Microsoft Entra only uses Bearer tokens", tt),
					Fix:     "Check that " + ep.BaseURL + " is the Invicti Platform base URL.",
					Status:  status,
				}
				return
			}
			token = tok.AccessToken
		},
		func(st *Step) {
			u := ep.TenantURL + "/ServiceProviderConfig"
			resp, err := scimGet(ctx, hc, u, token)
			if err != nil {
				st.Problem = transportProblem(err, ep, u)
				st.Detail = transportDetail(err)
				return
			}
			if p := responseProblem(resp, ep, u, red); p != nil {
				st.Problem, st.Detail = p, resp.summary()
				return
			}
			st.Problem, st.Detail = checkServiceProviderConfig(resp, ep, red)
		},
		func(st *Step) {
			u := ep.TenantURL + "/Users?filter=" + filterQuery(`userName eq "`+probe+`"`)
			resp, err := scimGet(ctx, hc, u, token)
			if err != nil {
				st.Problem = transportProblem(err, ep, u)
				st.Detail = transportDetail(err)
				return
			}
			if p := responseProblem(resp, ep, u, red); p != nil {
				st.Problem, st.Detail = p, resp.summary()
				return
			}
			st.Problem, st.Detail = checkEmptyUserList(resp, ep, red)
		},
	}

	failed := false
	for i := range res.Steps {
		st := &res.Steps[i]
		if failed {
			st.Skipped = true
			continue
		}
		start := c.now()
		run[i](st)
		st.Duration = c.now().Sub(start)
		if st.Problem != nil && st.Problem.Kind == ProblemTimeout {
			st.Problem.Message = fmt.Sprintf("%s (after %s)", st.Problem.Message, st.Duration.Round(time.Millisecond))
		}
		st.OK = st.Problem == nil
		failed = !st.OK
	}
	// Belt and braces: nothing reported may contain the secret or token.
	for i := range res.Steps {
		st := &res.Steps[i]
		st.Title, st.Detail = red.clean(st.Title), red.clean(st.Detail)
		if st.Problem != nil {
			st.Problem.Message = red.clean(st.Problem.Message)
			st.Problem.Fix = red.clean(st.Problem.Fix)
		}
	}
	res.OK = !failed
	return res
}

// warningsFor lists what a successful check cannot prove about ep.
func warningsFor(ep Endpoints) []string {
	u, err := url.Parse(ep.BaseURL)
	if err != nil {
		return nil
	}
	var w []string
	host := strings.ToLower(u.Hostname())
	addr, ipErr := netip.ParseAddr(host)
	switch {
	case isLoopbackHost(host, ipErr == nil):
		w = append(w, fmt.Sprintf("%s is a loopback address: this machine can reach it, but Microsoft Entra's cloud provisioning service cannot.", ep.BaseURL))
	case ipErr == nil && (addr.Unmap().IsPrivate() || addr.Unmap().IsLinkLocalUnicast()):
		w = append(w, fmt.Sprintf("%s is a private address: Microsoft Entra's cloud provisioning service cannot reach it; Invicti must be reachable from the internet with a publicly trusted certificate.", ep.BaseURL))
	}
	if u.Scheme == "http" {
		w = append(w, "Microsoft Entra requires an https tenant URL; plain http is only usable for local testing.")
	}
	return w
}

// statusRecorder remembers the status of the last response through it.
type statusRecorder struct {
	base   http.RoundTripper
	mu     sync.Mutex
	status int
}

func (r *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if resp != nil {
		r.mu.Lock()
		r.status = resp.StatusCode
		r.mu.Unlock()
	}
	return resp, err
}

func (r *statusRecorder) last() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// clientCredentialsConfig is the token request Entra makes: client id and
// secret in HTTP Basic, grant_type=client_credentials in the form body, the
// token URL used verbatim (with its ?audience=…).
func clientCredentialsConfig(ep Endpoints, cred Credentials) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:     cred.ClientID,
		ClientSecret: cred.ClientSecret,
		TokenURL:     ep.TokenURL,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
}

// fetchToken gets a token and also returns the HTTP status of the answer
// (0 when there was none).
func fetchToken(ctx context.Context, hc *http.Client, ep Endpoints, cred Credentials) (*oauth2.Token, int, error) {
	rec := &statusRecorder{base: hc.Transport}
	hc2 := *hc
	hc2.Transport = rec
	tok, err := clientCredentialsConfig(ep, cred).Token(context.WithValue(ctx, oauth2.HTTPClient, &hc2))
	return tok, rec.last(), err
}

func tokenDetail(status int, tok *oauth2.Token, now time.Time) string {
	tt := tok.TokenType
	if tt == "" {
		tt = "(none)"
	}
	d := fmt.Sprintf("HTTP %d, token_type %s", status, tt)
	var raw int64
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		raw = int64(v)
	case string:
		_, _ = fmt.Sscanf(v, "%d", &raw)
	}
	switch {
	case raw > 0:
		d += fmt.Sprintf(", expires in %d s", raw)
	case tok.ExpiresIn > 0:
		d += fmt.Sprintf(", expires in %d s", tok.ExpiresIn)
	case !tok.Expiry.IsZero():
		d += fmt.Sprintf(", expires in %d s", int64(tok.Expiry.Sub(now).Round(time.Second)/time.Second))
	default:
		d += ", no expiry given"
	}
	return d
}

func tokenErrorDetail(err error, red *redactor) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		d := "HTTP " + re.Response.Status
		if re.ErrorCode != "" {
			d += ", error " + re.ErrorCode
		}
		if re.ErrorDescription != "" {
			d += ": " + red.snippet([]byte(re.ErrorDescription))
		}
		return d
	}
	if errors.As(err, new(*url.Error)) {
		return transportDetail(err)
	}
	return red.snippet([]byte(err.Error()))
}

// transportDetail is the innermost error text of a failed request.
func transportDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// tokenProblem explains a failed token request.
func tokenProblem(err error, status int, ep Endpoints, red *redactor) *Problem {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return transportProblem(err, ep, ep.TokenURL)
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return transportProblem(err, ep, ep.TokenURL)
		}
		// The server answered 2xx but not with a usable token.
		return &Problem{
			Kind:    ProblemUnexpected,
			Message: fmt.Sprintf("the token endpoint answered HTTP %d but not with an OAuth token (%s)", status, red.snippet([]byte(strings.TrimPrefix(err.Error(), "oauth2: ")))),
			Fix:     "Check that " + ep.BaseURL + " is the Invicti Platform base URL; " + baseURLAdvice,
			Status:  status,
		}
	}
	st := re.Response.StatusCode
	code := strings.ToLower(re.ErrorCode)
	desc := re.ErrorDescription
	descL := strings.ToLower(desc)
	explain := fmt.Sprintf("HTTP %d", st)
	if re.ErrorCode != "" {
		explain += " " + re.ErrorCode
	}
	if desc != "" {
		explain += ": " + red.snippet([]byte(desc))
	} else if re.ErrorCode == "" && len(re.Body) > 0 {
		explain += ": " + red.snippet(re.Body)
	}
	tokenEndpoint := ep.TokenURL
	if i := strings.IndexByte(tokenEndpoint, '?'); i >= 0 {
		tokenEndpoint = tokenEndpoint[:i]
	}
	switch {
	case code == "invalid_client" || (st == http.StatusUnauthorized && code != "unauthorized_client"):
		return &Problem{
			Kind:    ProblemInvalidClient,
			Message: fmt.Sprintf("Invicti rejected this client id/secret (%s)", explain),
			Fix:     fmt.Sprintf("Re-create the client registration in Invicti and use its new clientId/clientSecret (check you chose the right region: this is %s).", ep.BaseURL),
			Status:  st,
		}
	case code == "invalid_target" || strings.Contains(descL, "audience") || strings.Contains(descL, "service not found") ||
		(st == http.StatusBadRequest && code == "invalid_request"):
		return &Problem{
			Kind:    ProblemAudience,
			Message: fmt.Sprintf("Invicti refused the token request's audience (%s)", explain),
			Fix:     fmt.Sprintf("Use the token endpoint %s exactly: the expected audience is %s; this request sent %s.", expectedTokenURL(ep), ep.Audience, sentAudience(ep.TokenURL)),
			Status:  st,
		}
	case code == "unauthorized_client" || code == "access_denied" || st == http.StatusForbidden:
		return &Problem{
			Kind:    ProblemUnauthorized,
			Message: fmt.Sprintf("Invicti knows this client but will not issue it a token (%s)", explain),
			Fix:     "Authorize the client registration in Invicti (the \"authorize\" step of Set up SCIM provisioning) and check that your organization has the Invicti Ultimate package with API access; if Invicti's IP restriction is on, allow this machine's and Microsoft Entra's IP addresses.",
			Status:  st,
		}
	case code == "unsupported_grant_type" || code == "invalid_grant" || code == "invalid_scope":
		return &Problem{
			Kind:    ProblemUnexpected,
			Message: fmt.Sprintf("the token endpoint refused the client-credentials grant (%s)", explain),
			Fix:     "Check that this is an Invicti client registration made for SCIM, and that " + ep.BaseURL + " is the Invicti Platform base URL.",
			Status:  st,
		}
	case st == http.StatusNotFound || st == http.StatusMethodNotAllowed || st == http.StatusGone:
		return &Problem{
			Kind:    ProblemNotFound,
			Message: fmt.Sprintf("no OAuth token endpoint at %s (HTTP %d)", tokenEndpoint, st),
			Fix:     "Is " + ep.BaseURL + " the Invicti Platform base URL? " + baseURLAdvice,
			Status:  st,
		}
	case st >= 300 && st < 400:
		return &Problem{
			Kind:    ProblemNotFound,
			Message: fmt.Sprintf("the token endpoint %s redirected (HTTP %d%s) instead of issuing a token", tokenEndpoint, st, redirectTarget(re.Response.Header, red)),
			Fix:     "Is " + ep.BaseURL + " the Invicti Platform base URL? " + baseURLAdvice,
			Status:  st,
		}
	case st == http.StatusTooManyRequests:
		return rateLimitProblem(re.Response.Header, "the token endpoint")
	case st >= 500:
		return serverProblem(st, re.Response.Status, "the token endpoint")
	}
	return &Problem{
		Kind:    ProblemUnexpected,
		Message: fmt.Sprintf("the token endpoint answered unexpectedly (%s)", explain),
		Fix:     "Check the base URL (" + ep.BaseURL + ") and the client registration; if it persists, contact Invicti support.",
		Status:  st,
	}
}

const baseURLAdvice = "Use https://platform.invicti.com (us), https://platform-eu.invicti.com (eu), https://platform-ca.invicti.com (ca) or your on-premises URL, with no path."

func expectedTokenURL(ep Endpoints) string {
	return ep.BaseURL + TokenPath + "?audience=" + ep.Audience
}

func sentAudience(tokenURL string) string {
	u, err := url.Parse(tokenURL)
	if err != nil {
		return "an unreadable token URL"
	}
	a := u.Query()["audience"]
	switch len(a) {
	case 0:
		return "no audience"
	case 1:
		return a[0]
	}
	return strings.Join(a, " and ")
}

func redirectTarget(h http.Header, red *redactor) string {
	loc := h.Get("Location")
	if loc == "" {
		return ""
	}
	if u, err := url.Parse(loc); err == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		loc = u.String()
	}
	return " to " + red.clean(shown(loc))
}

func rateLimitProblem(h http.Header, where string) *Problem {
	wait := "a minute"
	if ra := strings.TrimSpace(h.Get("Retry-After")); ra != "" && len(ra) < 40 {
		wait = "Retry-After: " + ra
		if _, err := fmt.Sscanf(ra, "%d", new(int)); err == nil {
			wait += " s"
		}
	}
	return &Problem{
		Kind:    ProblemRateLimited,
		Message: fmt.Sprintf("Invicti is rate-limiting requests to %s (HTTP 429)", where),
		Fix:     fmt.Sprintf("Wait (%s) and run the check again; other tools using the same client registration count against the same limit.", wait),
		Status:  http.StatusTooManyRequests,
	}
}

func serverProblem(st int, status, where string) *Problem {
	return &Problem{
		Kind:    ProblemServer,
		Message: fmt.Sprintf("Invicti answered HTTP %s at %s (a server-side error)", strings.TrimSpace(status), where),
		Fix:     "Try again in a few minutes; if it persists, contact Invicti support (on-premises: check the platform's services and logs).",
		Status:  st,
	}
}

// scimResponse is a read SCIM answer.
type scimResponse struct {
	status      int
	statusText  string
	contentType string // media type only, lower-case
	header      http.Header
	body        []byte
}

func (r *scimResponse) summary() string {
	s := "HTTP " + r.statusText
	if r.contentType != "" {
		s += " " + r.contentType
	}
	return s
}

// scimGet makes an authenticated SCIM GET request.
func scimGet(ctx context.Context, hc *http.Client, u, token string) (*scimResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/scim+json, application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	return readSCIMResponse(resp)
}

func readSCIMResponse(resp *http.Response) (*scimResponse, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &url.Error{Op: resp.Request.Method, URL: resp.Request.URL.String(), Err: err}
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return &scimResponse{
		status:      resp.StatusCode,
		statusText:  strings.TrimSpace(resp.Status),
		contentType: strings.ToLower(mt),
		header:      resp.Header,
		body:        body,
	}, nil
}

// scimErrorDetail extracts "scimType: detail" from a SCIM error body.
func scimErrorDetail(body []byte, red *redactor) string {
	var e struct {
		Schemas  []string `json:"schemas"`
		Detail   string   `json:"detail"`
		ScimType string   `json:"scimType"`
	}
	if json.Unmarshal(body, &e) != nil || (e.Detail == "" && e.ScimType == "") {
		return ""
	}
	d := e.Detail
	if e.ScimType != "" {
		d = strings.TrimSpace(e.ScimType + " " + d)
	}
	return red.snippet([]byte(d))
}

func pathOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Path
	}
	return rawURL
}

// responseProblem maps a non-2xx or non-SCIM answer to a Problem; nil when
// the answer is a 2xx SCIM JSON document.
func responseProblem(r *scimResponse, ep Endpoints, u string, red *redactor) *Problem {
	where := pathOf(u)
	explain := func() string {
		if d := scimErrorDetail(r.body, red); d != "" {
			return ": " + d
		}
		if len(r.body) > 0 {
			return ": " + red.snippet(r.body)
		}
		return ""
	}
	st := r.status
	switch {
	case st >= 200 && st < 300:
		if r.contentType != "application/scim+json" && r.contentType != "application/json" {
			ct := r.contentType
			if ct == "" {
				ct = "no Content-Type"
			}
			return notSCIMProblem(ep, fmt.Sprintf("HTTP %d %s%s", st, ct, explain()), st)
		}
		var v map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &v); err != nil || v == nil {
			return notSCIMProblem(ep, fmt.Sprintf("HTTP %d %s, but the body is not a JSON object%s", st, r.contentType, explain()), st)
		}
		return nil
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return &Problem{
			Kind:    ProblemUnauthorized,
			Message: fmt.Sprintf("Invicti issued a token but refused it for SCIM at %s (HTTP %d%s)", where, st, explain()),
			Fix:     "Authorize the client registration for SCIM in Invicti (the \"authorize client registration\" step of Set up SCIM provisioning); SCIM also needs the Invicti Ultimate package with API access. If Invicti's IP restriction is on, allow this machine's and Microsoft Entra's IP addresses.",
			Status:  st,
		}
	case st == http.StatusNotFound || st == http.StatusGone:
		return &Problem{
			Kind:    ProblemNotFound,
			Message: fmt.Sprintf("no SCIM endpoint at %s (HTTP %d)", strings.SplitN(u, "?", 2)[0], st),
			Fix:     "Is " + ep.BaseURL + " the Invicti Platform base URL? " + baseURLAdvice + " SCIM also needs the Invicti Ultimate package with API access.",
			Status:  st,
		}
	case st >= 300 && st < 400:
		return notSCIMProblem(ep, fmt.Sprintf("HTTP %d redirect%s, usually to a login page", st, redirectTarget(r.header, red)), st)
	case st == http.StatusTooManyRequests:
		return rateLimitProblem(r.header, where)
	case st >= 500:
		return serverProblem(st, r.statusText, where)
	case st == http.StatusBadRequest && strings.Contains(strings.ToLower(string(r.body)), "filter"):
		return &Problem{
			Kind:    ProblemUnexpected,
			Message: fmt.Sprintf("Invicti refused the userName filter Microsoft Entra uses (HTTP 400%s)", explain()),
			Fix:     "Microsoft Entra matches users with filter=userName eq \"…\"; contact Invicti support.",
			Status:  st,
		}
	}
	return &Problem{
		Kind:    ProblemUnexpected,
		Message: fmt.Sprintf("unexpected answer from %s (HTTP %s%s)", where, r.statusText, explain()),
		Fix:     "Check the base URL (" + ep.BaseURL + "); if it persists, contact Invicti support.",
		Status:  st,
	}
}

func notSCIMProblem(ep Endpoints, what string, st int) *Problem {
	return &Problem{
		Kind:    ProblemNotSCIM,
		Message: "the server answered but not with SCIM (" + what + ")",
		Fix:     "Check that " + ep.BaseURL + " is the Invicti Platform base URL (not Invicti Enterprise's netsparkercloud.com, a proxy or a login page); SCIM is served at " + ep.TenantURL + ".",
		Status:  st,
	}
}

func hasString(list []string, want string) bool {
	for _, s := range list {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

func checkServiceProviderConfig(r *scimResponse, ep Endpoints, red *redactor) (*Problem, string) {
	var spc struct {
		Schemas []string `json:"schemas"`
		Patch   struct {
			Supported bool `json:"supported"`
		} `json:"patch"`
		Bulk struct {
			Supported bool `json:"supported"`
		} `json:"bulk"`
		Filter struct {
			Supported  bool `json:"supported"`
			MaxResults int  `json:"maxResults"`
		} `json:"filter"`
	}
	if err := json.Unmarshal(r.body, &spc); err != nil {
		return notSCIMProblem(ep, "a ServiceProviderConfig that does not parse: "+red.snippet([]byte(err.Error())), r.status), r.summary()
	}
	if !hasString(spc.Schemas, SchemaServiceProviderConfig) {
		return notSCIMProblem(ep, fmt.Sprintf("HTTP %d JSON without the ServiceProviderConfig schema", r.status), r.status), r.summary()
	}
	yes := func(b bool) string {
		if b {
			return "supported"
		}
		return "not supported"
	}
	d := fmt.Sprintf("%s; patch %s, bulk %s, filter %s", r.summary(), yes(spc.Patch.Supported), yes(spc.Bulk.Supported), yes(spc.Filter.Supported))
	if spc.Filter.Supported && spc.Filter.MaxResults > 0 {
		d += fmt.Sprintf(" (max %d results)", spc.Filter.MaxResults)
	}
	if !spc.Patch.Supported || !spc.Filter.Supported {
		return &Problem{
			Kind:    ProblemUnexpected,
			Message: "the SCIM server says it does not support PATCH or filtering, which Microsoft Entra needs (" + d + ")",
			Fix:     "Check that " + ep.BaseURL + " is the Invicti Platform base URL; if it is, contact Invicti support.",
			Status:  r.status,
		}, d
	}
	return nil, d
}

// listResponse is a SCIM ListResponse with raw resources.
type listResponse struct {
	Schemas      []string          `json:"schemas"`
	TotalResults *int              `json:"totalResults"`
	StartIndex   int               `json:"startIndex"`
	ItemsPerPage int               `json:"itemsPerPage"`
	Resources    []json.RawMessage `json:"Resources"`
}

func parseListResponse(r *scimResponse, ep Endpoints, red *redactor) (*listResponse, *Problem) {
	var lr listResponse
	if err := json.Unmarshal(r.body, &lr); err != nil {
		return nil, notSCIMProblem(ep, "a ListResponse that does not parse: "+red.snippet([]byte(err.Error())), r.status)
	}
	if !hasString(lr.Schemas, SchemaListResponse) {
		return nil, notSCIMProblem(ep, fmt.Sprintf("HTTP %d JSON without the ListResponse schema", r.status), r.status)
	}
	if lr.TotalResults == nil {
		return nil, notSCIMProblem(ep, "a ListResponse without totalResults", r.status)
	}
	return &lr, nil
}

func checkEmptyUserList(r *scimResponse, ep Endpoints, red *redactor) (*Problem, string) {
	lr, p := parseListResponse(r, ep, red)
	if p != nil {
		return p, r.summary()
	}
	d := fmt.Sprintf("%s; ListResponse with totalResults %d", r.summary(), *lr.TotalResults)
	if *lr.TotalResults != 0 || len(lr.Resources) != 0 {
		return &Problem{
			Kind:    ProblemUnexpected,
			Message: fmt.Sprintf("a filter for a random userName matched %d user(s): the server ignores filter=userName eq \"…\", so Microsoft Entra would match the wrong users", max(*lr.TotalResults, len(lr.Resources))),
			Fix:     "Check that " + ep.BaseURL + " is the Invicti Platform base URL; if it is, contact Invicti support.",
			Status:  r.status,
		}, d
	}
	return nil, d
}

// filterQuery escapes a SCIM filter for a query string the way Microsoft
// Entra does (spaces as %20, quotes as %22).
func filterQuery(filter string) string {
	return strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
}

// filterString quotes s as a SCIM filter string literal.
func filterString(s string) string {
	b, _ := json.Marshal(s)
	// json.Marshal escapes <, > and & as \u00XX; SCIM parsers need not
	// understand those escapes, so put the characters back.
	r := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
	return r.Replace(string(b))
}
