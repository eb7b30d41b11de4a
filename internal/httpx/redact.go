// Package httpx holds the HTTP plumbing shared by the Graph and Invicti gateways: a debug
// tracer that never shows a secret, and a retry transport for throttling. It knows nothing
// about Graph or Invicti payloads beyond which field names carry secrets.
package httpx

import (
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Redactor replaces secrets in text. Known secret values (the Invicti client secret, the Graph
// token) are registered at run time; well-known secret-carrying fields are masked by pattern
// so a secret the tool never saw (an access token Invicti issued) is hidden too.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Mask is what a redacted value is replaced with.
const Mask = "[REDACTED]"

// Add registers a secret value. Short values are ignored: masking "a" everywhere would make
// traces unreadable, and no real secret is that short.
func (r *Redactor) Add(secret string) {
	if len(secret) < 4 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.secrets {
		if s == secret {
			return
		}
	}
	r.secrets = append(r.secrets, secret)
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

var patterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Authorization: Bearer xxx / Basic xxx
	{regexp.MustCompile(`(?i)((?:authorization|proxy-authorization)\s*[:=]\s*"?\s*(?:bearer|basic)?\s*)[^"\s,]+`), "${1}" + Mask},
	{regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*`), "${1}" + Mask},
	// JSON fields that carry secrets.
	{regexp.MustCompile(`(?i)("(?:access_token|refresh_token|id_token|client_secret|clientSecret|password|secret|token)"\s*:\s*")(?:[^"\\]|\\.)*(")`), "${1}" + Mask + "${2}"},
	// Synchronization secrets: {"key":"Oauth2ClientSecret","value":"..."}.
	{regexp.MustCompile(`(?i)("key"\s*:\s*"(?:Oauth2ClientSecret|Oauth2AccessToken|Oauth2RefreshToken|SecretToken|ClientSecret|Password|AppKey|ConsumerSecret)"\s*,\s*"value"\s*:\s*")(?:[^"\\]|\\.)*(")`), "${1}" + Mask + "${2}"},
	// Form bodies.
	{regexp.MustCompile(`(?i)((?:^|&)(?:client_secret|access_token|refresh_token|password|client_assertion)=)[^&\s]*`), "${1}" + Mask},
}

// Redact returns s with every registered secret and every secret-shaped field masked.
func (r *Redactor) Redact(s string) string {
	if r != nil {
		r.mu.RLock()
		for _, sec := range r.secrets {
			s = strings.ReplaceAll(s, sec, Mask)
		}
		r.mu.RUnlock()
	}
	for _, p := range patterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}
