package graph

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxSnippet is the most parseErrorBody keeps of a body that is not Graph's JSON error
// envelope: 200 bytes and an ellipsis.
const maxSnippet = 200 + len("…")

// FuzzParseErrorBody feeds parseErrorBody arbitrary statuses, headers and bodies (proxies answer
// with HTML, gateways with plain text, Graph with its JSON envelope): it never panics, keeps the
// status, invents no Retry-After without the header, and keeps at most a short snippet of a
// body that is not Graph JSON (never nothing, when the body has text).
//
// Not asserted, known: the snippet is cut at byte 200 and may split a UTF-8 character; a huge
// Retry-After (seconds beyond ~292 years) overflows to a negative duration in httpx.RetryAfter.
func FuzzParseErrorBody(f *testing.F) {
	f.Add(403, "", "", []byte(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"7c1f-1"}}}`))
	f.Add(401, "", "rid-1", []byte(`{"error":{"code":"UnknownError","message":""}}`))
	f.Add(429, "7", "", []byte(`{"error":{"code":"TooManyRequests","message":"Too many requests"}}`))
	f.Add(503, "Wed, 21 Oct 2015 07:28:00 GMT", "", []byte("<html><body>Service Unavailable</body></html>"))
	f.Add(502, "", "", []byte("\x1b[31mbad gateway\x1b[0m"))
	f.Add(500, "", "", []byte(`{"error":"invalid_grant"}`))
	f.Add(404, "", "", []byte(`null`))
	f.Add(400, "", "", []byte(`[1,2,3]`))
	f.Add(0, "-1", "", []byte{})
	f.Add(500, "", "", []byte("   \n\t  "))
	long := make([]byte, 0, 600)
	for len(long) < 600 {
		long = append(long, "Ünïcödé-"...)
	}
	f.Add(500, "", "", long)

	f.Fuzz(func(t *testing.T, status int, retry, requestID string, body []byte) {
		h := http.Header{}
		if retry != "" {
			h.Set("Retry-After", retry)
		}
		if requestID != "" {
			h.Set("request-id", requestID)
		}
		for _, hdr := range []http.Header{h, nil} {
			e := parseErrorBody(status, hdr, body)
			if e == nil {
				t.Fatal("parseErrorBody returned nil")
			}
			if e.Status != status {
				t.Fatalf("Status = %d, want %d", e.Status, status)
			}
			_ = e.Error() // must not panic either

			// The same envelope parseErrorBody reads; anything else is "not Graph JSON".
			var env struct {
				Error struct {
					Code       string `json:"code"`
					Message    string `json:"message"`
					InnerError struct {
						RequestID string `json:"request-id"`
					} `json:"innerError"`
				} `json:"error"`
			}
			isEnvelope := json.Unmarshal(body, &env) == nil
			if !isEnvelope && len(e.Message) > maxSnippet {
				t.Fatalf("non-JSON body of %d bytes gave a Message of %d bytes (limit %d)", len(body), len(e.Message), maxSnippet)
			}
			if !isEnvelope && len(body) > 0 && utf8.Valid(body) && e.Message == "" && strings.TrimSpace(string(body)) != "" {
				t.Fatalf("non-JSON body %q gave no Message", body)
			}
			if hdr == nil && e.RetryAfter != 0 {
				t.Fatalf("RetryAfter = %s without a header", e.RetryAfter)
			}
		}
	})
}
