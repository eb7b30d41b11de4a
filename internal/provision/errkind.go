package provision

import (
	"errors"
	"fmt"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// ErrorKind is what an error means to the person or script that ran the command. cmd maps
// each kind to its documented exit code; the kinds exist so that cmd never needs the
// gateways' own error types or predicates (internal/graph, pkg/invicti).
type ErrorKind int

const (
	// KindFailed is every other failure (a Graph or Invicti error, a timeout, …).
	KindFailed ErrorKind = iota
	// KindExpiredToken is a Graph token that has expired or is not valid yet. It outranks
	// every other kind and every explicit exit code: whatever step it stopped, it is a
	// sign-in problem.
	KindExpiredToken
	// KindUsage is bad input: a flag value, a credentials file, an app that may not be
	// adopted (*UsageError, *invicti.InputError, *AdoptionError).
	KindUsage
	// KindConnection is a failed connection test (*ConnectionError).
	KindConnection
	// KindAuth is a Graph sign-in or permission problem (*PermissionError, a sign-in
	// failure, or Graph's 401/403).
	KindAuth
)

// KindError is a failure whose kind its use case decided from a report rather than from one
// error in the chain: doctor's failed checks (DoctorReport.Err) say together whether they are
// a sign-in or permission problem, a failed connection test, or another failure.
type KindError struct {
	Kind ErrorKind
	Err  error
}

func (e *KindError) Error() string { return e.Err.Error() }
func (e *KindError) Unwrap() error { return e.Err }

// Classify says which kind err is, checking in the order of the constants above (an expired
// token first, then the kind a *KindError decided, then usage, connection, sign-in or
// permission). nil is KindFailed; callers handle success before asking.
func Classify(err error) ErrorKind {
	var (
		ke   *KindError
		ie   *invicti.InputError
		ue   *UsageError
		adop *AdoptionError
		ce   *ConnectionError
		pe   *PermissionError
		sie  *graph.SignInError
	)
	switch {
	case err == nil:
		return KindFailed
	case graph.IsExpiredToken(err):
		return KindExpiredToken
	case errors.As(err, &ke):
		return ke.Kind
	case errors.As(err, &ue), errors.As(err, &ie), errors.As(err, &adop):
		return KindUsage
	case errors.As(err, &ce):
		return KindConnection
	case errors.As(err, &pe), errors.As(err, &sie), graph.IsAuth(err):
		return KindAuth
	}
	return KindFailed
}

// IsNotFound reports whether Graph answered 404 (the object does not exist, or is not
// visible yet).
func IsNotFound(err error) bool { return graph.IsNotFound(err) }

// ExplainExpiredToken turns an expired or not-yet-valid Graph token anywhere in err's chain
// into the error that says so and hints how to sign in again; other errors are returned as
// they are.
func ExplainExpiredToken(err error) error { return graph.AsExpiredToken(err) }

// UsageError is bad input found by a use case (a malformed --sp-id, no app to work on).
// Its message names the flag and the fix.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// HintedError adds a hint (printed after the message, and in JSON) to an error.
type HintedError struct {
	Err      error
	HintText string
}

func (e *HintedError) Error() string { return e.Err.Error() }
func (e *HintedError) Unwrap() error { return e.Err }

// Hint says what to do about the error.
func (e *HintedError) Hint() string { return e.HintText }

type hinter interface{ Hint() string }

// Hint finds the first hint in err's chain: an error with a Hint method, or the hint of an
// *invicti.InputError. "" when there is none.
func Hint(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if h, ok := e.(hinter); ok && h.Hint() != "" {
			return h.Hint()
		}
	}
	var ie *invicti.InputError
	if errors.As(err, &ie) && ie.Hint != "" {
		return ie.Hint
	}
	return ""
}

// Deleted is the hint for a 404 on an app's own calls: the app was deleted behind the
// tool's back.
const Deleted = "the enterprise app or job recorded by setup no longer exists (deleted in the portal?): run `invicti-scim setup` to create it again, or `invicti-scim teardown --yes` to forget it"

// NamedAppMissing is the hint for a 404 on an app the command line named (flag is "--sp-id"
// or "--app-id"): the id is probably wrong, and the recorded app is not concerned, so
// Deleted's advice (set it up again, or tear it down) would be the wrong one.
func NamedAppMissing(flag, id string) string {
	return "no enterprise app (or provisioning job) in this tenant answers to " + flag + " " + id + ": check the id (`invicti-scim status` shows the app setup recorded), or leave " + flag + " out to use that app"
}

// PermissionHint turns a Graph 401/403 into a *PermissionError naming perm, the Graph
// permission the call needs, and a 404 on the app's own calls into a *HintedError that says
// the app was probably deleted. An expired token reads as one; other errors are returned
// unchanged.
func PermissionHint(err error, perm string) error {
	var pe *PermissionError
	switch {
	case err == nil:
		return nil
	case graph.IsExpiredToken(err):
		return graph.AsExpiredToken(err)
	case errors.As(err, &pe):
		return err // already says which permission
	case graph.IsAuth(err):
		return &PermissionError{Permission: perm, Err: err}
	case graph.IsNotFound(err):
		return &HintedError{Err: err, HintText: Deleted}
	}
	return err
}

// ExplainGraph is err's message, except for Graph's empty 401 UnknownError, which on
// provisioning calls means the token lacks Synchronization.ReadWrite.All and is said so.
func ExplainGraph(err error) string {
	var ge *graph.Error
	if errors.As(err, &ge) && ge.Status == 401 && (ge.Code == "UnknownError" || ge.Code == "") && ge.Message == "" {
		return "Graph answered 401 UnknownError with no message: on provisioning calls this means the token lacks " + PermSync
	}
	return err.Error()
}

// GraphFix is the fix for a failed Graph read: sign in again for an expired token or one
// Graph refused (TokenRefused: no permission helps then), else the permission perm the read
// needs.
func GraphFix(err error, perm string) string {
	switch {
	case graph.IsExpiredToken(err):
		return Hint(graph.AsExpiredToken(err))
	case TokenRefused(err):
		return SignInAgain
	}
	return "needs " + perm
}

// TokenRefused reports whether Graph refused the access token itself: 401
// InvalidAuthenticationToken, which Graph answers for a token that is expired, malformed (not a
// JWT), or issued for another tenant or resource. That is a sign-in problem (Classify: KindAuth,
// exit 4) and no permission would help; an expired token is also IsExpiredToken.
func TokenRefused(err error) bool {
	return graph.StatusOf(err) == 401 && strings.EqualFold(graph.CodeOf(err), "InvalidAuthenticationToken")
}

// SignInAgain is the hint for a token Graph refused (TokenRefused).
const SignInAgain = "Microsoft Graph did not accept the access token (expired, malformed, or issued for another tenant or resource): sign in again; with --auth token, export INVICTI_SCIM_GRAPH_TOKEN=$(az account get-access-token --resource-type ms-graph --query accessToken -o tsv)"

// ClockSkewFix is the fix when Graph refused as expired a token whose own claims still read
// valid: the clocks disagree (or the token was revoked).
func ClockSkewFix() string { return Hint(&graph.TokenLifetimeError{NotYetValid: true}) }

// IsExpiredToken reports whether err says the Graph token has expired or is not valid yet.
func IsExpiredToken(err error) bool { return graph.IsExpiredToken(err) }
