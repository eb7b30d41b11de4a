package graph

import (
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// nonJSONErrors turns an error answer that is not JSON into an *Error naming what came back.
// Graph always answers errors as JSON (docs/graph-sources.md); an HTML or
// plain-text error page comes from a proxy, a firewall or a captive portal, and Kiota would
// report it only as "contentType is not valid".
type nonJSONErrors struct {
	next http.RoundTripper
}

// maxErrorPage bounds how much of a non-JSON error page is read to find its title.
const maxErrorPage = 64 << 10

// Compiled on first use, not at start-up (docs/performance.md, "Start-up").
var pageTitle = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`) })

func (t *nonJSONErrors) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if ct == "" || strings.HasSuffix(mt, "json") {
		return resp, nil
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorPage))
	resp.Body.Close()
	what := "a " + mt + " page"
	if m := pageTitle().FindSubmatch(page); m != nil {
		title := strings.Join(strings.Fields(string(m[1])), " ")
		if len(title) > 80 {
			title = title[:80] + "…"
		}
		what += " titled \"" + title + "\""
	}
	e := &Error{Status: resp.StatusCode, Code: "NotGraph",
		Message: "the answer was " + what + ", not Graph's JSON: a proxy or firewall between this machine and Graph?"}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		e.RetryAfter = retryAfter(resp.Header)
	}
	return nil, e
}
