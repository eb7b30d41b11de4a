package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSandboxWizardSSO: in the sandbox wizard, answering Yes to the single sign-on question
// after provisioning (and Enter for the pre-filled Identifier and SAML 2.0 Service URL)
// configures SAML on the app and prints, before "Setup complete", the three values Invicti's
// SSO page asks for, the certificate's path when the config dir stays (none for the sandbox's
// own temporary dir), and the "SSO becomes mandatory" warning.
func TestSandboxWizardSSO(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{true, false} {
		name := map[bool]string{true: "config-dir", false: "temporary dir"}[keep]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := []string{"setup", "--sandbox"}
			if keep {
				args = append(args, "--config-dir", dir)
			}
			w := startWizard(t, 100, nil, args...)
			for _, prompt := range []string{
				"Invicti Platform region", "Invicti base URL", "Do you have the SCIM client credentials?",
				"Invicti client id", "Invicti client secret", "Enterprise app name",
				"Give users or groups access to Invicti now?", "Who gets access?",
				"Create the matching Invicti teams first?", "Apply this plan?", "Continue?", "Provision now?",
			} {
				w.answer(prompt, "\r")
			}
			w.answer("Set up single sign-on (SAML) on the same app too?", "y")
			w.answer("Invicti Identifier", "\r")
			w.answer("Invicti SAML 2.0 Service URL", "\r")
			w.expect("Setup complete")
			if code := w.wait(); code != 0 {
				t.Fatalf("exit %d\n%s", code, w.scr.String())
			}
			out := w.record()
			// The value wraps at spaces (never inside the thumbprint or the path) under its column.
			cert := `X\.509 Certificate +thumbprint [0-9A-F]{40},\s+expires\s+\S+\s+\(\d+\s+days\),\s+written\s+to\s+\S*sso-signing-[0-9a-f]{40}\.pem`
			if !keep {
				// The sandbox's own config dir goes when the run ends: no file is pointed at.
				cert = `X\.509 Certificate +thumbprint [0-9A-F]{40},\s+expires\s+\S+\s+\(\d+\s+days\)\s*\n`
			}
			for _, re := range []string{
				`SAML 2\.0 Endpoint +https://login\.microsoftonline\.com/[0-9a-f-]{36}/saml2`,
				`IdP Identifier +https://sts\.windows\.net/[0-9a-f-]{36}/`,
				cert,
				`mandatory for the whole organisation unless users are exempted`,
				// The SSO values come before the summary: "Setup complete" ends the record.
				`(?s)SAML 2\.0 Endpoint.*Setup complete`,
				// The record reads in the order things happened: what was assigned and
				// provisioned comes before the single sign-on question.
				`(?s)TYPE +NAME.*In Invicti: alice@contoso\.example.*Set up single sign-on.*Invicti Identifier`,
			} {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("missing %s in:\n%s", re, out)
				}
			}
			// Answered with the y key, the question left on screen shows Yes chosen: the last
			// buttons drawn for it mark Yes, not the default No.
			if q := strings.Index(out, "Set up single sign-on"); q >= 0 {
				seg := out[q:]
				if e := strings.Index(seg, "Invicti Identifier"); e >= 0 {
					seg = seg[:e]
				}
				if strings.LastIndex(seg, "[Yes]") < strings.LastIndex(seg, "[No]") {
					t.Errorf("the single sign-on question was left showing No after y:\n%s", seg)
				}
			}
			// ... and is not printed a second time in the summary.
			if n := regexp.MustCompile(`TYPE +NAME +STATUS`).FindAllStringIndex(out, -1); len(n) != 1 {
				t.Errorf("the assign table is printed %d times, want once:\n%s", len(n), out)
			}
			if !keep {
				return
			}
			certs, _ := filepath.Glob(filepath.Join(dir, "sso-signing-*.pem"))
			if len(certs) != 1 {
				t.Fatalf("certificates in the config dir: %v", certs)
			}
			if pemText, err := os.ReadFile(certs[0]); err != nil || !strings.HasPrefix(string(pemText), "-----BEGIN CERTIFICATE-----") {
				t.Fatalf("%s: %v %q", certs[0], err, pemText)
			}
		})
	}
}
