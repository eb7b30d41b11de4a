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

// readSSO reads the app's SAML single sign-on state.
func readSSO(ctx context.Context, f *Factory, conn *graphConn, st state.State, spID string) (*provision.SSOResult, error) {
	req, err := provision.NewSSORequest(ctx, conn.Client, st, spID)
	if err != nil {
		return nil, err
	}
	c := &provision.SSOConfigurator{Graph: conn.Client, Cloud: conn.Cloud, Now: f.Now}
	return c.Read(ctx, req)
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
		problem = "SAML is on but no token-signing certificate is active: run `invicti-scim sso` again"
	case c.DaysLeft < 0:
		lines = append(lines, [2]string{"SSO certificate", fmt.Sprintf("%s EXPIRED %s", c.Thumbprint, c.Expires.Format("2006-01-02"))})
		problem = "the SAML signing certificate has expired: run `invicti-scim sso --new-certificate` and upload it to Invicti"
	default:
		v := fmt.Sprintf("%s, expires %s (%d days)", c.Thumbprint, c.Expires.Format("2006-01-02"), c.DaysLeft)
		lines = append(lines, [2]string{"SSO certificate", v})
		if c.Expiring {
			problem = fmt.Sprintf("the SAML signing certificate expires in %d days: run `invicti-scim sso --new-certificate` and upload it to Invicti", c.DaysLeft)
		}
	}
	return lines, problem
}

// ssoDoctorCheck is doctor's SSO line: skipped when SAML is off, failed when it cannot sign
// or its certificate has expired, a warning under 30 days.
func ssoDoctorCheck(ctx context.Context, f *Factory, conn *graphConn, st state.State, spID string) doctorCheck {
	s, err := readSSO(ctx, f, conn, st, spID)
	if err != nil {
		return doctorCheck{Name: "Single sign-on", Detail: explainGraph(err), Fix: "needs " + provision.PermApplication}
	}
	if !s.Enabled {
		return doctorCheck{Name: "Single sign-on", OK: true, Status: "skip", Detail: "SAML is not set up on the app (invicti-scim sso)"}
	}
	_, problem := ssoStatusLines(s)
	switch {
	case len(s.IdentifierURIs) == 0 || len(s.ReplyURLs) == 0:
		return doctorCheck{Name: "Single sign-on", Detail: "SAML is on but the app has no identifier or reply URL", Fix: "run `invicti-scim sso --identifier … --reply-url …`"}
	case s.Certificate == nil || s.Certificate.DaysLeft < 0:
		return doctorCheck{Name: "Single sign-on", Detail: problem, Fix: "run `invicti-scim sso --new-certificate` and upload the certificate to Invicti"}
	case s.Certificate.Expiring:
		return doctorCheck{Name: "Single sign-on", OK: true, Status: "warn", Detail: problem}
	}
	return doctorCheck{Name: "Single sign-on", OK: true, Detail: fmt.Sprintf("saml, certificate valid %d more days", s.Certificate.DaysLeft)}
}

// mappingsDoctorCheck is doctor's run of `mappings check`: users who would reach Invicti
// without an e-mail or name are a warning, with the fix.
func mappingsDoctorCheck(ctx context.Context, conn *graphConn, spID, jobID string) doctorCheck {
	res, err := provision.CheckMappings(ctx, conn.Client, spID, jobID)
	if err != nil {
		return doctorCheck{Name: "Attribute mappings", Detail: explainGraph(err), Fix: "needs " + provision.PermSync + " and " + provision.PermUsers}
	}
	var empty []string
	fix := ""
	for _, fd := range res.Findings {
		if fd.Count > 0 {
			empty = append(empty, fmt.Sprintf("%s empty for %d (%s)", fd.What, fd.Count, strings.Join(fd.Users, ", ")))
			if fd.Fix != "" {
				fix = "invicti-scim mappings check --fix (maps " + fd.Target + " ← " + fd.Fix + ")"
			}
		}
	}
	if len(empty) == 0 {
		return doctorCheck{Name: "Attribute mappings", OK: true, Detail: fmt.Sprintf("e-mail and names filled for all %d assigned users", res.UsersChecked)}
	}
	if fix == "" {
		fix = "fill the attributes in Entra or map a fallback (docs/mappings.md)"
	}
	return doctorCheck{Name: "Attribute mappings", OK: true, Status: "warn", Detail: strings.Join(empty, "; ") + "; fix: " + fix, Fix: fix}
}
