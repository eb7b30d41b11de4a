package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

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
		snippet := strings.TrimSpace(string(body))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "…"
		}
		e.Message = snippet
	}
	if header != nil {
		e.RetryAfter = retryAfter(header)
		if e.RequestID == "" {
			e.RequestID = header.Get("request-id")
		}
	}
	return e
}
