// Package httpx holds the HTTP plumbing shared by the Graph and Invicti gateways: a debug
// tracer that never shows a secret, and a retry transport for throttling. It knows nothing
// about Graph or Invicti payloads; secrets are masked by internal/safetext.
package httpx

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/safetext"
)

// maxTraceBody bounds how much of a body a trace shows; bodies are for spotting shapes, not archiving.
const maxTraceBody = 4096

// maxTraceRead is how much of a response body the tracer reads ahead to show it.
const maxTraceRead = 4 * maxTraceBody

// SignInRequest reports whether req goes to a Microsoft Entra sign-in endpoint (a login.* host,
// or any /oauth2/ path: token, devicecode and authorize all live there). Its body is never
// traced.
func SignInRequest(req *http.Request) bool {
	return strings.HasPrefix(strings.ToLower(req.URL.Hostname()), "login.") || strings.Contains(req.URL.Path, "/oauth2/")
}

// prefixedBody is a response body whose first bytes the tracer already read.
type prefixedBody struct {
	io.Reader
	io.Closer
}

// errReader replays a read error after the prefix (nil: nothing to replay).
func errReader(err error) io.Reader {
	if err == nil {
		return bytes.NewReader(nil)
	}
	return &failing{err: err}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }

// Tracer is a RoundTripper that writes a redacted trace of every request and response.
type Tracer struct {
	Next     http.RoundTripper
	Out      io.Writer
	Redactor *safetext.Redactor
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
	// The request body is read from req.Body itself, never through GetBody: azcore's GetBody
	// hands back the same reader, so reading "a copy" emptied the real request and every Azure
	// sign-in mode failed under --debug. The request goes on with a fresh reader over the
	// same bytes (our request bodies are small JSON or forms).
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		data, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read the request body: %w", err)
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		reqBody = data
	}
	start := now()
	resp, err := next.RoundTrip(req)
	elapsed := now().Sub(start)

	var b strings.Builder
	fmt.Fprintf(&b, "> %s %s\n", req.Method, req.URL.String())
	writeHeaders(&b, "> ", req.Header)
	switch {
	case len(reqBody) > 0 && SignInRequest(req):
		// Sign-in bodies carry credentials in every field worth seeing (client_assertion,
		// code, code_verifier, device_code, refresh_token): not shown at all.
		fmt.Fprintf(&b, "> (sign-in request body, %d bytes, not shown)\n", len(reqBody))
	case len(reqBody) > 0:
		fmt.Fprintf(&b, "> %s\n", t.bodyText(reqBody, req.Header.Get("Content-Encoding")))
	}
	if err != nil {
		fmt.Fprintf(&b, "< error after %s: %v\n", elapsed.Round(time.Millisecond), err)
	} else {
		fmt.Fprintf(&b, "< %s (%s)\n", resp.Status, elapsed.Round(time.Millisecond))
		writeHeaders(&b, "< ", resp.Header)
		if resp.Body != nil && resp.Body != http.NoBody {
			// Only the shown prefix is read here; the caller reads the rest through its own
			// limits, so --debug never lifts a size cap.
			head, rerr := io.ReadAll(io.LimitReader(resp.Body, maxTraceRead+1))
			resp.Body = &prefixedBody{Reader: io.MultiReader(bytes.NewReader(head), errReader(rerr), resp.Body), Closer: resp.Body}
			if len(head) > 0 {
				more := ""
				if len(head) > maxTraceRead {
					head, more = head[:maxTraceRead], " … (more)"
				}
				fmt.Fprintf(&b, "< %s%s\n", t.bodyText(head, resp.Header.Get("Content-Encoding")), more)
			}
		}
	}
	t.mu.Lock()
	fmt.Fprint(t.Out, t.Redactor.Text(b.String()))
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
			v = safetext.Mask
		}
		fmt.Fprintf(b, "%s%s: %s\n", prefix, k, v)
	}
}

func (t *Tracer) bodyText(body []byte, encoding string) string {
	if strings.EqualFold(encoding, "gzip") {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			if plain, err := io.ReadAll(io.LimitReader(zr, maxTraceBody*4)); err == nil {
				body = plain
			}
		}
	}
	if json.Valid(body) {
		// Redact JSON string by string, so a secret escaped once more inside a message is found.
		body = t.Redactor.JSON(body)
	}
	s := string(body)
	if len(s) > maxTraceBody {
		s = s[:maxTraceBody] + fmt.Sprintf("… (%d bytes)", len(body))
	}
	return strings.TrimRight(s, "\n")
}
