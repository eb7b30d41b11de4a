package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// What status and doctor add about single sign-on and the attribute mappings (sso.go,
// mappings.go). Kept apart from status.go and doctor.go so those stay about provisioning.

// readSSO reads the app's SAML single sign-on state (provision.ReadSSO).
func readSSO(ctx context.Context, f *Factory, conn *graphConn, st state.State, spID string) (*provision.SSOResult, error) {
	return provision.ReadSSO(ctx, conn.Client, conn.Cloud, f.Now, st, spID)
}

// ssoStatusLines are status's lines for SSO: the mode, identifiers and the certificate's
// expiry, with a problem when it is under 30 days.
func ssoStatusLines(s *provision.SSOResult) (lines [][2]string, problem string) {
	if s == nil {
		return nil, ""
	}
	if !s.Enabled {
		return [][2]string{{"SSO", "off (" + dash(s.Mode) + ")"}}, ""
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
		lines = append(lines, [2]string{"SSO certificate", fmt.Sprintf("%s, expires %s (%d days)", c.Thumbprint, c.Expires.Format("2006-01-02"), c.DaysLeft)})
	}
	return lines, provision.SSOProblem(s)
}
