package httpx

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// maxTraceBody bounds how much of a body a trace shows; bodies are for spotting shapes, not archiving.
const maxTraceBody = 4096

// Tracer is a RoundTripper that writes a redacted trace of every request and response.
type Tracer struct {
	Next     http.RoundTripper
	Out      io.Writer
	Redactor *Redactor
	Now      func() time.Time

	mu sync.Mutex
}

// RoundTrip implements http.RoundTripper.
func (t *Tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	now := t.Now
	if now == nil {
		now = time.Now
	}
	var reqBody []byte
	if req.Body != nil && req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			reqBody, _ = io.ReadAll(io.LimitReader(rc, maxTraceBody*4))
			rc.Close()
		}
	}
	start := now()
	resp, err := next.RoundTrip(req)
	elapsed := now().Sub(start)

	var b strings.Builder
	fmt.Fprintf(&b, "> %s %s\n", req.Method, req.URL.String())
	writeHeaders(&b, "> ", req.Header)
	if len(reqBody) > 0 {
		fmt.Fprintf(&b, "> %s\n", bodyText(reqBody, req.Header.Get("Content-Encoding")))
	}
	if err != nil {
		fmt.Fprintf(&b, "< error after %s: %v\n", elapsed.Round(time.Millisecond), err)
	} else {
		fmt.Fprintf(&b, "< %s (%s)\n", resp.Status, elapsed.Round(time.Millisecond))
		writeHeaders(&b, "< ", resp.Header)
		if resp.Body != nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			if rerr == nil && len(body) > 0 {
				fmt.Fprintf(&b, "< %s\n", bodyText(body, resp.Header.Get("Content-Encoding")))
			}
		}
	}
	t.mu.Lock()
	fmt.Fprint(t.Out, t.Redactor.Redact(b.String()))
	t.mu.Unlock()
	return resp, err
}

func writeHeaders(b *strings.Builder, prefix string, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		switch strings.ToLower(k) {
		case "authorization", "proxy-authorization", "cookie", "set-cookie":
			v = Mask
		}
		fmt.Fprintf(b, "%s%s: %s\n", prefix, k, v)
	}
}

func bodyText(body []byte, encoding string) string {
	if strings.EqualFold(encoding, "gzip") {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			if plain, err := io.ReadAll(zr); err == nil {
				body = plain
			}
		}
	}
	s := string(body)
	if len(s) > maxTraceBody {
		s = s[:maxTraceBody] + fmt.Sprintf("… (%d bytes)", len(body))
	}
	return strings.TrimRight(s, "\n")
}
