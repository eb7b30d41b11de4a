package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Error is a Graph error answer, reduced to what callers branch on.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
	RequestID  string
	Op         string // what we were doing, e.g. "PUT synchronization/secrets"
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	code := e.Code
	if code != "" {
		code = " " + code
	}
	s := fmt.Sprintf("graph: %d%s: %s", e.Status, code, msg)
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	return s
}

// IsNotFound reports a 404 answer.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// StatusOf returns the HTTP status of a Graph error, or 0.
func StatusOf(err error) int { return statusOf(err) }

func statusOf(err error) int {
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Status
	}
	return 0
}

// CodeOf returns the Graph error code, or "".
func CodeOf(err error) string {
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return ""
}

// IsAuth reports whether err means the caller is not signed in or lacks a permission: Graph
// answers 401 (often as an empty "UnknownError" on synchronization calls) or 403
// Authorization_RequestDenied.
func IsAuth(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	if ge.Status == http.StatusUnauthorized {
		return true
	}
	return ge.Status == http.StatusForbidden && ge.Code == "Authorization_RequestDenied"
}

// IsExpiredToken reports whether err means the Graph access token is outside its lifetime
// (expired, or not valid yet): either the tool read that from the token's own exp/nbf claims
// (*TokenLifetimeError), or Graph refused it with 401 InvalidAuthenticationToken and a lifetime
// message. That is a sign-in problem: no permission would help, a fresh token does.
func IsExpiredToken(err error) bool {
	var le *TokenLifetimeError
	if errors.As(err, &le) {
		return true
	}
	var ge *Error
	return errors.As(err, &ge) && isLifetimeAnswer(ge)
}

// isLifetimeAnswer recognises Graph's wording for a token outside its lifetime, as reported from
// production: "Lifetime validation failed, the token is expired." and "Access token has expired
// or is not yet valid." (the reports are listed in docs/graph-sources.md).
func isLifetimeAnswer(ge *Error) bool {
	if ge.Status != http.StatusUnauthorized || !strings.EqualFold(ge.Code, "InvalidAuthenticationToken") {
		return false
	}
	m := strings.ToLower(ge.Message)
	return strings.Contains(m, "lifetime validation failed") || strings.Contains(m, "token is expired") ||
		strings.Contains(m, "has expired") || strings.Contains(m, "not yet valid")
}

// TokenLifetimeError means the Graph access token is expired or not valid yet. From is when the
// tool read it from the token's claims (Expires or NotBefore set); Err is Graph's own answer
// when Graph said so.
type TokenLifetimeError struct {
	NotYetValid bool
	Expires     time.Time // the exp claim (zero when unknown)
	NotBefore   time.Time // the nbf claim (zero when unknown)
	Now         time.Time // the clock the claims were compared with
	Err         error     // Graph's 401 answer, when it came from Graph
}

func (e *TokenLifetimeError) Error() string {
	switch {
	case e.NotYetValid && !e.NotBefore.IsZero():
		return fmt.Sprintf("the Microsoft Graph access token is not valid until %s (%s from now by this computer's clock)",
			e.NotBefore.UTC().Format("2006-01-02 15:04:05 UTC"), humanSpan(e.NotBefore.Sub(e.Now)))
	case !e.Expires.IsZero():
		return fmt.Sprintf("the Microsoft Graph access token expired at %s (%s ago)",
			e.Expires.UTC().Format("2006-01-02 15:04:05 UTC"), humanSpan(e.Now.Sub(e.Expires)))
	case e.Err != nil:
		return "Microsoft Graph refused the access token as expired or not yet valid (" + e.Err.Error() + ")"
	}
	return "the Microsoft Graph access token is expired or not yet valid"
}

func (e *TokenLifetimeError) Unwrap() error { return e.Err }

// humanSpan writes a duration as a person reads it: "42s", "5h2m0s" up to two days, then
// "3 days", "25 years" (a token that expired long ago is not "221107h33m17s ago").
func humanSpan(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d < 2*day:
		return d.Round(time.Second).String()
	case d < 2*365*day:
		return fmt.Sprintf("%d days", int(d/day))
	}
	return fmt.Sprintf("%d years", int(d/(365*day)))
}

// Hint says how to sign in again, for each way of signing in.
func (e *TokenLifetimeError) Hint() string {
	h := "sign in again: with --auth token get a fresh token (they last about an hour): " +
		"export INVICTI_SCIM_GRAPH_TOKEN=$(az account get-access-token --resource-type ms-graph --query accessToken -o tsv); " +
		"with --auth azure-cli run az login first; browser and device-code sign-in ask again when you rerun the command"
	if e.NotYetValid {
		h += ". A token that is not valid yet usually means this computer's clock is wrong: sync it"
	}
	return h
}

// AsExpiredToken returns err as a *TokenLifetimeError when IsExpiredToken(err) (so it reads and
// hints as a sign-in problem), and err unchanged otherwise.
func AsExpiredToken(err error) error {
	var le *TokenLifetimeError
	if errors.As(err, &le) || !IsExpiredToken(err) {
		return err
	}
	return &TokenLifetimeError{Err: err}
}

// convert turns whatever kiota returned into an *Error (or passes other errors through).
func convert(op string, err error) error {
	if err == nil {
		return nil
	}
	var ge *Error
	if errors.As(err, &ge) {
		if ge.Op == "" {
			ge.Op = op
		}
		return ge
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		out := &Error{Status: oe.ResponseStatusCode, Op: op}
		if me := oe.GetErrorEscaped(); me != nil {
			if c := me.GetCode(); c != nil {
				out.Code = *c
			}
			if m := me.GetMessage(); m != nil {
				out.Message = *m
			}
			if ie := me.GetInnerError(); ie != nil {
				if rid := ie.GetRequestId(); rid != nil {
					out.RequestID = *rid
				}
			}
		}
		fillHeaders(out, oe.ResponseHeaders)
		return out
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		out := &Error{Status: ae.ResponseStatusCode, Op: op}
		fillHeaders(out, ae.ResponseHeaders)
		return out
	}
	return fmt.Errorf("%s: %w", op, err)
}

func fillHeaders(e *Error, h *abs.ResponseHeaders) {
	if h == nil {
		return
	}
	if v := h.Get("Retry-After"); len(v) > 0 {
		hh := http.Header{}
		hh.Set("Retry-After", v[0])
		e.RetryAfter = retryAfter(hh)
	}
	if e.RequestID == "" {
		if v := h.Get("request-id"); len(v) > 0 {
			e.RequestID = v[0]
		}
	}
}

// parseErrorBody reads a Graph error body ({"error":{"code","message"}}) for raw and batch answers.
func parseErrorBody(status int, header http.Header, body []byte) *Error {
	e := &Error{Status: status}
	var env struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil {
		e.Code = env.Error.Code
		e.Message = env.Error.Message
		e.RequestID = env.Error.InnerError.RequestID
	} else if len(body) > 0 {
		e.Message = snippet(body, 200)
	}
	if header != nil {
		e.RetryAfter = retryAfter(header)
		if e.RequestID == "" {
			e.RequestID = header.Get("request-id")
		}
	}
	return e
}

// snippet makes a non-JSON body (a proxy's HTML page) safe to show: valid UTF-8, no control
// or escape characters that would drive the terminal, at most limit bytes.
func snippet(body []byte, limit int) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(string(body), "\uFFFD") {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			r = ' '
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			continue
		}
		if b.Len()+utf8.RuneLen(r) > limit {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	if out == "" && len(strings.TrimSpace(string(body))) > 0 {
		out = fmt.Sprintf("(an unreadable body of %d bytes)", len(body))
	}
	return out
}

// IsKeyRejected reports whether Graph refused a provisioning key set itself rather than the
// call: an unknown or wrong-case key is answered with 500 InternalError "Requested value 'X'
// was not found.", a token-exchange URI outside the service's allow-list with a message naming
// NotInAllowList or the URI key (both reported, see docs/graph-sources.md), and a 400 that
// names a secret key. Such a refusal is never retried: the same body gets the same answer.
func IsKeyRejected(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	msg := strings.ToLower(ge.Message)
	switch {
	case strings.Contains(msg, "requested value"):
		return true
	case strings.Contains(msg, "notinallowlist"), strings.Contains(msg, "oauth2tokenexchangeuri"):
		return true
	case ge.Status == http.StatusBadRequest && strings.Contains(msg, "key"):
		return true
	}
	return false
}

// IsAlreadyExists reports Graph refusing to create what is already there, such as a duplicate
// app role assignment (400 "Permission being assigned already exists on the object").
func IsAlreadyExists(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && strings.Contains(strings.ToLower(ge.Message), "already exists")
}

// IsReplicationLag reports an answer that means a new object is not visible yet where it is
// referenced: 404, or 400 "Not a valid reference update" when an app role assignment names a
// principal or app that has not replicated. Worth retrying for a while.
func IsReplicationLag(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	return ge.Status == http.StatusNotFound || (ge.Status == http.StatusBadRequest && strings.Contains(ge.Message, "Not a valid reference update"))
}

// IsUnsupportedEndpoint reports that Graph does not serve a (beta, undocumented) endpoint to
// this caller: 404 or 400 "Resource not found for the segment …", or 405.
func IsUnsupportedEndpoint(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	switch ge.Status {
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return true
	case http.StatusBadRequest:
		return strings.Contains(strings.ToLower(ge.Message), "resource not found for the segment")
	}
	return false
}

// IsThrottled reports a 429 (or 503 with Retry-After) that outlived the transport's retries.
func IsThrottled(err error) bool {
	s := statusOf(err)
	return s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable
}

// IsPremiumRequired reports Graph refusing an operation the tenant's licence lacks: 403
// Authorization_RequestDenied "Only companies who have purchased AAD Premium may perform this
// operation." (the wording Graph uses for Premium-gated calls). Assigning a group to an app
// needs Entra ID P1 or P2. Both sources are in docs/graph-sources.md.
func IsPremiumRequired(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.Status == http.StatusForbidden && strings.Contains(strings.ToLower(ge.Message), "premium")
}
