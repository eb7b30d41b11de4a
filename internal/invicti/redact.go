package invicti

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// redactedMark replaces secrets and tokens in messages.
const redactedMark = "[REDACTED]"

// minSecretLen is the shortest known secret that is replaced verbatim;
// replacing shorter strings would garble messages without protecting much.
const minSecretLen = 4

var secretPatterns = []*regexp.Regexp{
	// JSON members holding tokens or secrets.
	regexp.MustCompile(`(?i)("(?:access_?token|refresh_?token|id_?token|token|client_?secret|password|assertion)"\s*:\s*")(?:[^"\\]|\\.)*(")`),
	// Form / query parameters holding tokens or secrets.
	regexp.MustCompile(`(?i)\b((?:access_token|refresh_token|id_token|client_secret|clientSecret|password|assertion|code)=)[^&\s"'<>]+`),
	// Authorization header values.
	regexp.MustCompile(`(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9\-._~+/]+=*`),
	// Anything shaped like a JWT.
	regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`),
}

// redactor removes known secrets and anything that looks like a token.
type redactor struct {
	known []string
}

func newRedactor(secrets ...string) *redactor {
	r := &redactor{}
	r.add(secrets...)
	return r
}

func (r *redactor) add(secrets ...string) {
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		r.known = append(r.known, s)
		if q := url.QueryEscape(s); q != s {
			r.known = append(r.known, q)
		}
	}
}

func (r *redactor) clean(s string) string {
	if s == "" {
		return s
	}
	if r != nil {
		for _, k := range r.known {
			s = strings.ReplaceAll(s, k, redactedMark)
		}
	}
	for i, re := range secretPatterns {
		switch i {
		case 0:
			s = re.ReplaceAllString(s, "${1}"+redactedMark+"${2}")
		case 3:
			s = re.ReplaceAllString(s, redactedMark)
		default:
			s = re.ReplaceAllString(s, "${1}"+redactedMark)
		}
	}
	return s
}

// maxSnippet bounds the response-body excerpts put into messages.
const maxSnippet = 160

// snippet makes a short one-line, redacted excerpt of a response body.
func (r *redactor) snippet(body []byte) string {
	s := string(body)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	if t := htmlTitle(s); t != "" {
		return "an HTML page titled " + quoteShort(r.clean(t))
	}
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || unicode.IsSpace(c) || unicode.Is(unicode.Cf, c) {
			return ' '
		}
		return c
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	// Redact before cutting so that a token is never half-kept.
	s = r.clean(s)
	if len(s) > maxSnippet {
		cut := maxSnippet
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

func htmlTitle(s string) string {
	if len(s) > 64<<10 {
		s = s[:64<<10]
	}
	m := titleRE.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(m[1]), " ")
}

func quoteShort(s string) string {
	if len(s) > 80 {
		cut := 80
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return `"` + s + `"`
}
