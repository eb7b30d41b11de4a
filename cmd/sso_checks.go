package cmd

import (
	"fmt"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/provision"
)

// What status shows about single sign-on (sso.go). The checks behind it, and doctor's, are in
// internal/provision (SSOProblem, Doctor).

// ssoStatusLines are status's lines for SSO: the mode, identifiers and the certificate's
// expiry (the problems are provision.SSOProblem's, in the status report).
func ssoStatusLines(s *provision.SSOResult) (lines [][2]string) {
	if s == nil {
		return nil
	}
	if !s.Enabled {
		return [][2]string{{"SSO", "off (" + dash(s.Mode) + ")"}}
	}
	lines = append(lines, [2]string{"SSO", "saml"},
		[2]string{"SSO identifier", dash(strings.Join(s.IdentifierURIs, ", "))},
		[2]string{"SSO reply URL", dash(strings.Join(s.ReplyURLs, ", "))})
	switch c := s.Certificate; {
	case c == nil:
		lines = append(lines, [2]string{"SSO certificate", "none active"})
	case c.DaysLeft < 0:
		lines = append(lines, [2]string{"SSO certificate", fmt.Sprintf("%s EXPIRED %s", c.Thumbprint, c.Expires.Format("2006-01-02"))})
	default:
		lines = append(lines, [2]string{"SSO certificate", fmt.Sprintf("%s, expires %s (%s)", c.Thumbprint, c.Expires.Format("2006-01-02"), plural(c.DaysLeft, "day"))})
	}
	if s.Claims != nil {
		lines = append(lines, [2]string{"SSO claims", s.Claims.String()})
	}
	return lines
}
