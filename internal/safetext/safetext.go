// Package safetext is the one place every string from outside (tenant display names, UPNs,
// Graph and Invicti error text, provisioning logs, HTTP traces) passes before it reaches a
// terminal, a log or a JSON document. A Redactor masks secrets in every encoding the tool may
// meet them in; Text and Line also escape control characters so a hostile name cannot move the
// cursor, clear the screen, set the window title or draw a fake status line.
package safetext

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Mask is what a redacted value is replaced with.
const Mask = "[REDACTED]"

// minSecretLen is the shortest registered secret that is replaced verbatim: masking "a"
// everywhere would make every message unreadable, and no real secret is that short.
const minSecretLen = 4

// Redactor masks secrets. Known values (the Invicti client secret, the Graph token) are
// registered at run time in every encoding they travel in; secret-carrying fields, headers and
// JWT-shaped strings are masked by pattern, so a token the tool never saw (one Entra or Invicti
// issued) is hidden too. The zero value is ready; methods are safe on nil (patterns only) and
// for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Add registers a secret: its raw form and the forms it takes in a URL query or path, a JSON
// string and base64. Values shorter than 4 bytes are ignored.
func (r *Redactor) Add(secret string) {
	if len(secret) < minSecretLen {
		return
	}
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret),
		base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret))}
	r.add(append(forms, jsonEscaped(secret)...)...)
}

// AddBasic registers the HTTP Basic credential user:secret (base64, as sent in an
// Authorization header and as a server may reflect it), besides the secret itself.
func (r *Redactor) AddBasic(user, secret string) {
	if len(secret) < minSecretLen {
		return
	}
	r.Add(secret)
	pair := []byte(user + ":" + secret)
	// RFC 6749 §2.3.1: client credentials are form-encoded before the Basic encoding.
	formPair := []byte(url.QueryEscape(user) + ":" + url.QueryEscape(secret))
	r.add(base64.StdEncoding.EncodeToString(pair), base64.StdEncoding.EncodeToString(formPair),
		base64.RawStdEncoding.EncodeToString(pair), base64.RawStdEncoding.EncodeToString(formPair))
}

func (r *Redactor) add(forms ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range forms {
		if len(f) < minSecretLen || contains(r.secrets, f) {
			continue
		}
		r.secrets = append(r.secrets, f)
	}
	// Longest first, so a form that contains another is masked whole.
	sort.SliceStable(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// jsonEscaped is s as it appears inside a JSON string, with and without encoding/json's HTML
// escaping of <, > and & (other encoders do not escape them).
func jsonEscaped(s string) []string {
	var out []string
	for _, html := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if err := enc.Encode(s); err != nil {
			continue
		}
		q := strings.TrimSpace(b.String())
		out = append(out, q[1:len(q)-1])
	}
	return out
}

// credentialFields are the form, query and JSON fields that carry credentials in the OAuth 2.0
// and OpenID Connect flows the tool uses (RFC 6749 §4, RFC 7636 PKCE, RFC 8628 device code,
// RFC 7523 client assertions) and in Invicti's and Graph's bodies.
const credentialFields = `client_secret|clientSecret|client_assertion|assertion|code_verifier|device_code|refresh_token|access_token|id_token|password|code`

// pattern is one secret shape and what replaces it.
type pattern struct {
	re   *regexp.Regexp
	repl string
}

// patterns are compiled on first use, not at start-up: every command links this package, and
// compiling them took a tenth of `--help` (docs/performance.md, "Start-up").
var patterns = sync.OnceValue(func() []pattern {
	return []pattern{
		// Authorization / Proxy-Authorization header lines, any scheme.
		{regexp.MustCompile(`(?i)((?:proxy-)?authorization\s*[:=]\s*"?\s*(?:bearer|basic)?\s*)[^"\s,]+`), "${1}" + Mask},

		// JSON members that carry secrets ("code" is left out: Graph's error objects use it).
		{regexp.MustCompile(`(?i)("(?:access_?token|refresh_?token|id_?token|client_?secret|client_?assertion|assertion|code_?verifier|device_?code|password|secret|token)"\s*:\s*")(?:[^"\\]|\\.)*(")`), "${1}" + Mask + "${2}"},
		// Synchronization secrets: {"key":"Oauth2ClientSecret","value":"..."}.
		{regexp.MustCompile(`(?i)("key"\s*:\s*"(?:Oauth2ClientSecret|Oauth2AccessToken|Oauth2RefreshToken|SecretToken|ClientSecret|Password|AppKey|ConsumerSecret)"\s*,\s*"value"\s*:\s*")(?:[^"\\]|\\.)*(")`), "${1}" + Mask + "${2}"},
		// Form bodies and query strings, wherever the field appears (first or not).
		{regexp.MustCompile(`(?i)((?:^|[?&\s;,"'])(?:` + credentialFields + `)=)[^&\s"'<>]*`), "${1}" + Mask},
		// Anything shaped like a JWT (header.payload.signature, base64url, header starts {"...).
		{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), Mask},
	}
})

// Redact returns s with every registered secret and every secret-shaped value masked. It
// keeps everything else byte for byte: use it for data (JSON documents).
func (r *Redactor) Redact(s string) string {
	if s == "" {
		return s
	}
	if r != nil {
		r.mu.RLock()
		for _, sec := range r.secrets {
			s = strings.ReplaceAll(s, sec, Mask)
		}
		r.mu.RUnlock()
	}
	for _, p := range patterns() {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	// A Bearer or Basic credential anywhere (a reflected header in a body or an error). A
	// lower-case word after it is prose ("Bearer tokens from …", "Basic authentication"), not
	// a credential: tokens and base64 always mix in capitals, digits or symbols.
	scheme := schemeCred()
	return scheme.ReplaceAllStringFunc(s, func(m string) string {
		sub := scheme.FindStringSubmatch(m)
		if strings.Trim(sub[2], "abcdefghijklmnopqrstuvwxyz") == "" {
			return m
		}
		return sub[1] + Mask
	})
}

var schemeCred = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)(\b(?:bearer|basic)\s+)([A-Za-z0-9\-._~+/]+=*)`) })

// Text redacts s and escapes every control character except newline and tab: for messages and
// traces that span lines.
func (r *Redactor) Text(s string) string { return Escape(r.Redact(s), true) }

// Line redacts s and escapes every control character, newlines included: for one field (a
// name, a table cell, a checklist line, a spinner message).
func (r *Redactor) Line(s string) string { return Escape(r.Redact(s), false) }

// Escape shows control characters as escapes instead of sending them to a terminal: C0 and DEL
// as \xNN (ESC is \x1b), C1 and the Unicode line separators and bidirectional overrides as
// \uNNNN, and bytes that are not UTF-8 as \xNN. keepNewlines leaves \n and \t alone.
func Escape(s string, keepNewlines bool) string {
	if clean(s, keepNewlines) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keepNewlines && (c == '\n' || c == '\t'):
			b.WriteRune(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		case unsafeRune(c):
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func clean(s string, keepNewlines bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return cleanUnicode(s[i:])
		}
		if c == 0x7f || (c < 0x20 && !(keepNewlines && (c == '\n' || c == '\t'))) {
			return false
		}
	}
	return true
}

func cleanUnicode(s string) bool {
	for i, c := range s {
		if c < 0x20 || c == 0x7f || unsafeRune(c) || (c == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD")) {
			return false
		}
	}
	return true
}

// unsafeRune is a non-ASCII rune a terminal may act on: C1 controls (0x9b is a one-byte CSI on
// some terminals), line and paragraph separators, and the bidirectional controls that can make
// text display in another order than it is read ("Trojan Source", CVE-2021-42574).
func unsafeRune(c rune) bool {
	switch {
	case c >= 0x80 && c <= 0x9f:
		return true
	case c == 0x2028 || c == 0x2029:
		return true
	case c == 0x061c || c == 0x200e || c == 0x200f:
		return true
	case c >= 0x202a && c <= 0x202e, c >= 0x2066 && c <= 0x2069:
		return true
	}
	return false
}

// JSON redacts every string of an encoded JSON document (decoded first, so a secret that
// arrived JSON-escaped and was escaped again is still found) and replaces the non-ASCII
// characters a terminal may act on with \u escapes (encoding/json already escapes C0
// controls). Layout and everything else stay as they are: a JSON decoder reads the same data
// back, minus the secrets.
func (r *Redactor) JSON(doc []byte) []byte {
	var out bytes.Buffer
	for i := 0; i < len(doc); {
		if doc[i] != '"' {
			out.WriteByte(doc[i])
			i++
			continue
		}
		end := i + 1
		for end < len(doc) && doc[end] != '"' {
			if doc[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(doc) {
			out.Write(doc[i:])
			break
		}
		lit := doc[i : end+1]
		var v string
		if err := json.Unmarshal(lit, &v); err == nil {
			if red := r.Redact(v); red != v {
				lit, _ = json.Marshal(red)
			}
		}
		out.Write(escapeUnsafeJSON(lit))
		i = end + 1
	}
	return out.Bytes()
}

// escapeUnsafeJSON rewrites unsafe runes inside an encoded JSON string literal as \u escapes.
func escapeUnsafeJSON(lit []byte) []byte {
	if cleanUnicode(string(lit)) {
		return lit
	}
	var b bytes.Buffer
	for _, c := range string(lit) {
		if unsafeRune(c) {
			fmt.Fprintf(&b, `\u%04x`, c)
			continue
		}
		b.WriteRune(c)
	}
	return b.Bytes()
}

// Writer returns a writer that passes each write through Text before w: for text an outside
// library prints itself (the device-code sign-in message).
func (r *Redactor) Writer(w io.Writer) io.Writer { return &writer{r: r, w: w} }

type writer struct {
	r *Redactor
	w io.Writer
}

func (w *writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.w, w.r.Text(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
