package invicti

import (
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/invicti-scim/invicti-scim/internal/safetext"
)

// redactor adapts the program's one redactor (internal/safetext) to the message helpers
// below; it has no patterns of its own.
type redactor struct {
	r *safetext.Redactor
}

func newRedactor(secrets ...string) *redactor {
	r := &redactor{r: &safetext.Redactor{}}
	r.add(secrets...)
	return r
}

func (r *redactor) add(secrets ...string) {
	for _, s := range secrets {
		r.r.Add(s)
	}
}

// clean masks known secrets and secret-shaped values; safe on nil (patterns only).
func (r *redactor) clean(s string) string {
	if r == nil {
		return (*safetext.Redactor)(nil).Redact(s)
	}
	return r.r.Redact(s)
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

// Compiled on first use, not at start-up (docs/performance.md, "Start-up").
var titleRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`) })

func htmlTitle(s string) string {
	if len(s) > 64<<10 {
		s = s[:64<<10]
	}
	m := titleRE().FindStringSubmatch(s)
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
