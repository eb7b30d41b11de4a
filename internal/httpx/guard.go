package httpx

import (
	"fmt"
	"io"
	"net/http"
)

// RedirectError is a redirect the API clients refused to follow. Neither Microsoft Graph nor
// Invicti's SCIM and token endpoints redirect API calls; a redirect comes from a proxy, a
// captive portal or a wrong URL, and following it would carry the Authorization header (Go
// keeps it for the same host on another port or scheme, https to http included).
type RedirectError struct {
	From, To string
	Status   int
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s answered HTTP %d redirecting to %s; API calls are never redirected, so it was not followed (a proxy or a wrong URL?)", e.From, e.Status, e.To)
}

// RefuseRedirects is an http.Client CheckRedirect that refuses every redirect.
func RefuseRedirects(req *http.Request, via []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	from := ""
	if len(via) > 0 {
		from = via[len(via)-1].URL.Redacted()
	}
	return &RedirectError{From: from, To: req.URL.Redacted(), Status: status}
}

// TooLargeError is a response body longer than the limit the caller set.
type TooLargeError struct {
	URL   string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the answer from %s is larger than %d MiB; refusing to read more", e.URL, e.Limit>>20)
}

// Limit is a RoundTripper that bounds every response body: reading past Max bytes fails with a
// TooLargeError, so a hostile or broken server cannot grow the process without bound.
type Limit struct {
	Next http.RoundTripper
	Max  int64
}

// RoundTrip implements http.RoundTripper.
func (l *Limit) RoundTrip(req *http.Request) (*http.Response, error) {
	next := l.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil || resp.Body == nil || l.Max <= 0 {
		return resp, err
	}
	if resp.ContentLength > l.Max {
		resp.Body.Close()
		return nil, &TooLargeError{URL: req.URL.Redacted(), Limit: l.Max}
	}
	resp.Body = &limitedBody{rc: resp.Body, left: l.Max, err: &TooLargeError{URL: req.URL.Redacted(), Limit: l.Max}}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly Max bytes from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, b.err
		}
		return b.rc.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
