package cmd

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

type ssoOptions struct {
	graph          graphFlags
	app            appFlags
	Identifier     string
	ReplyURL       string
	Disable        bool
	DryRun         bool
	NewCertificate bool
	CertOut        string
	PrintCert      bool
	Claims         []string
}

type ssoJSON struct {
	*provision.SSOResult
	CertificateFile string `json:"certificateFile,omitempty"`
	CertificatePEM  string `json:"certificatePem,omitempty"`
	// OK is true on success: every JSON document carries ok (README, "Output").
	OK bool `json:"ok"`
}

// ssoMandatoryWarning is Invicti's rule (docs.invicti.com/ip/sso-configuration): turning SSO
// on in Invicti makes it mandatory for the whole organisation unless users are exempted.
const ssoMandatoryWarning = "when you enable SSO in Invicti (Settings → SSO & provisioning), it becomes mandatory for the whole organisation unless users are exempted there: exempt a break-glass Owner first"

func newSSOCmd(f *Factory) *cobra.Command {
	opts := &ssoOptions{}
	cmd := &cobra.Command{
		Use:   "sso",
		Short: "Set up SAML single sign-on to Invicti on the same enterprise app",
		Long: `Configure SAML single sign-on on the app setup made, the way Microsoft's "Configure
SAML-based single sign-on for your application using the Microsoft Graph API" does it:

  1. the service principal's preferredSingleSignOnMode becomes saml;
  2. Invicti's Identifier and SAML 2.0 Service URL become the app's Identifier (identifierUris)
     and Reply URL (web.redirectUris);
  3. a token-signing certificate is created (addTokenSigningCertificate, valid three years)
     unless an active one has 30 days or more left, and made the active one.

Claims stay at Entra's defaults unless --claims CLAIM=SOURCE[,…] names some (e.g.
--claims nameidentifier=user.mail when UPNs are not e-mail addresses): a claims-mapping policy
of the tool's is then assigned to the app, which supersedes the portal's Attributes & Claims;
--claims default removes it. On an app with SAML already on, --claims needs no --identifier or
--reply-url: it keeps the app's and changes only the claims (with SAML off it is a usage
error: turn SAML on first with --identifier and --reply-url). Copy --identifier and
--reply-url from Invicti: Settings → SSO & provisioning (both must be https URLs on your
Invicti host). The command then prints what Invicti's SSO page asks for: the SAML 2.0
Endpoint, the IdP Identifier and the X.509 certificate (--cert-out FILE writes it as PEM, the
"Certificate (Base64)" .cer format; --print-cert prints it). A copy of a new certificate is
kept in the config dir so later runs can write it again.

Running it again with the same values changes nothing. --disable turns SAML off again:
the mode is cleared, the app's identifier and reply URLs are removed, and the claims-mapping
policy --claims made is deleted (only one the tool made that no other app uses; a claims
policy does nothing without SAML). The certificate stays; it signs nothing while SAML is off.
When the policy cannot be deleted, SAML is off all the same and a warning says how to remove it.

Enabling SSO in Invicti makes it mandatory for the whole organisation unless users are
exempted; keep an exempted Owner. See docs/sso.md.`,
		Example: `  invicti-scim sso --identifier https://platform.invicti.com/saml/IDENTIFIER \
      --reply-url https://platform.invicti.com/saml/acs/ID \
      --cert-out invicti-sso.cer
  invicti-scim sso --identifier … --reply-url … \
      --claims nameidentifier=user.mail
  invicti-scim sso --claims default
  invicti-scim sso --dry-run --identifier … --reply-url …
  invicti-scim sso --disable`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runSSO(ctx, f, opts)
		},
	}
	opts.graph.register(cmd)
	opts.app.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&opts.Identifier, "identifier", "", "Invicti's Identifier (Settings → SSO & provisioning), the app's SAML Identifier")
	fl.StringVar(&opts.ReplyURL, "reply-url", "", "Invicti's SAML 2.0 Service URL, the app's Reply URL")
	fl.BoolVar(&opts.Disable, "disable", false, "Turn SAML single sign-on off on the app")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "Show what would change; change nothing")
	fl.BoolVar(&opts.NewCertificate, "new-certificate", false, "Create and activate a new signing certificate even if the active one is fine")
	fl.StringVar(&opts.CertOut, "cert-out", "", "Write the active signing certificate to FILE (PEM / Base64 .cer)")
	fl.BoolVar(&opts.PrintCert, "print-cert", false, "Print the active signing certificate (PEM) on stdout")
	fl.StringArrayVar(&opts.Claims, "claims", nil, "SAML claims as CLAIM=SOURCE[,CLAIM=SOURCE…] (e.g. nameidentifier=user.mail), or default for Entra's defaults; repeatable")
	return cmd
}

func runSSO(ctx context.Context, f *Factory, opts *ssoOptions) error {
	if opts.Disable && (opts.Identifier != "" || opts.ReplyURL != "" || opts.NewCertificate || opts.CertOut != "" || opts.PrintCert || len(opts.Claims) > 0) {
		return flagErrorf("--disable takes no --identifier, --reply-url, --new-certificate, --cert-out, --print-cert or --claims")
	}
	var claims *provision.ClaimsSpec
	if len(opts.Claims) > 0 {
		spec, err := provision.ParseClaims(opts.Claims)
		if err != nil {
			return &FlagError{Err: err}
		}
		claims = &spec
	}
	if opts.CertOut != "" {
		// Checked before SAML is turned on: a typo in the path must not fail the run after the
		// app changed, and only a certificate file (PEM) is replaced.
		isPEM := func(head []byte) bool { return bytes.Contains(head, []byte("-----BEGIN CERTIFICATE-----")) }
		if err := state.CheckOutputFile(opts.CertOut, "a PEM certificate", isPEM); err != nil {
			return flagErrorf("--cert-out %s: %v", opts.CertOut, err)
		}
	}
	// The inputs are checked (and asked for) before any Graph call: the Invicti host comes
	// from the state file.
	_, st, err := f.loadState(ctx)
	if err != nil {
		return err
	}
	host := ""
	if st.Invicti != nil && st.Invicti.BaseURL != "" {
		if u, err := url.Parse(st.Invicti.BaseURL); err == nil {
			host = u.Host
		}
	}
	// --claims alone keeps the app's SAML settings (it needs SAML on, checked against the app).
	claimsOnly := claims != nil && opts.Identifier == "" && opts.ReplyURL == "" && !opts.NewCertificate
	if !opts.Disable && !claimsOnly {
		if err := askSSOInput(ctx, f, opts, host); err != nil {
			return err
		}
	}
	s, err := openApp(ctx, f, &opts.graph, opts.app)
	defer s.stop()
	if err != nil {
		return err
	}
	req, err := provision.NewSSORequest(ctx, s.conn.Client, s.st, s.spID)
	if err != nil {
		return permissionHint(err, provision.PermApplication)
	}
	req.Identifier, req.ReplyURL = opts.Identifier, opts.ReplyURL
	req.Disable, req.DryRun, req.NewCertificate = opts.Disable, opts.DryRun, opts.NewCertificate
	req.Claims, req.ClaimsOnly = claims, claimsOnly
	req.OnClaimsPolicy = provision.ClaimsPolicyRecorder(s.store, s.spID)
	s.sp.Set("Configuring SAML single sign-on")
	c := &provision.SSOConfigurator{Graph: s.conn.Client, Claims: s.conn.Client, Cloud: s.conn.Cloud, Now: f.Now}
	res, err := c.Run(ctx, req)
	if err != nil {
		return permissionHint(err, provision.PermApplication)
	}
	s.sp.Stop()
	out := ssoJSON{SSOResult: res}
	if !opts.Disable && !opts.DryRun && res.Certificate != nil {
		pemText, err := ssoCertificatePEM(s.store.Dir, res.Certificate)
		switch {
		case err != nil && (opts.CertOut != "" || opts.PrintCert):
			return err
		case err == nil && opts.CertOut != "":
			if err := os.WriteFile(opts.CertOut, []byte(pemText), 0o644); err != nil { //nolint:gosec // a public certificate
				return fmt.Errorf("--cert-out %s: %w", opts.CertOut, err)
			}
			out.CertificateFile = opts.CertOut
		}
		if opts.PrintCert {
			out.CertificatePEM = pemText
		}
	}
	if f.JSON() {
		// Said on stderr beside -o json too: something was left in the tenant.
		printSSOWarnings(f, out.Warnings)
		out.OK = true
		return printJSON(f, out)
	}
	printSSO(f, out)
	return nil
}

// printSSOWarnings says on stderr what sso left in the tenant and how to remove it.
func printSSOWarnings(f *Factory, ws []string) {
	for _, w := range ws {
		ui.Err(f.IO).Check(ui.SymWarn, "warning", w)
	}
}

// askSSOInput validates --identifier and --reply-url, asking for them when interactive.
func askSSOInput(ctx context.Context, f *Factory, opts *ssoOptions, host string) error {
	for _, in := range []struct {
		flag, title, desc string
		v                 *string
	}{
		{"--identifier", "Invicti Identifier", "Invicti → Settings → SSO & provisioning → Identifier", &opts.Identifier},
		{"--reply-url", "Invicti SAML 2.0 Service URL", "Invicti → Settings → SSO & provisioning → SAML 2.0 Service URL", &opts.ReplyURL},
	} {
		if *in.v == "" {
			if !f.CanPrompt() {
				return flagErrorf("%s is required: copy it from %s", in.flag, in.desc)
			}
			val, err := wizard.AskText(ctx, f.wizardIO(), in.title, in.desc, "", func(v string) error {
				_, err := provision.ValidateSSOURL(in.flag, v, host)
				return err
			})
			if err != nil {
				return err
			}
			*in.v = val
		}
		v, err := provision.ValidateSSOURL(in.flag, *in.v, host)
		if err != nil {
			return &FlagError{Err: err}
		}
		*in.v = v
	}
	return nil
}

// ssoCertificatePEM returns the certificate's PEM: the one this run created (and keeps a copy
// of in the config dir, since Graph returns the certificate only when it creates it), or the
// copy kept by an earlier run.
func ssoCertificatePEM(dir string, c *provision.SSOCertificate) (string, error) {
	path := ssoCertPath(dir, c.Thumbprint)
	if c.PEM != "" {
		if err := os.MkdirAll(dir, 0o700); err == nil {
			_ = os.WriteFile(path, []byte(c.PEM), 0o600)
		}
		return c.PEM, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", &provision.HintedError{Err: fmt.Errorf("the active signing certificate %s was not created by this config dir, so its PEM is not at hand", c.Thumbprint),
			HintText: "download \"Certificate (Base64)\" from the app's Single sign-on page in the Entra admin centre, or run `invicti-scim sso --new-certificate` (then update it in Invicti)"}
	}
	return string(data), nil
}

// ssoCertPath is where the config dir keeps the certificate with this thumbprint.
func ssoCertPath(dir, thumbprint string) string {
	return filepath.Join(dir, "sso-signing-"+strings.ToLower(thumbprint)+".pem")
}

func printSSO(f *Factory, out ssoJSON) {
	p := ui.Out(f.IO)
	printSSOWarnings(f, out.Warnings)
	for _, st := range out.Steps {
		sym := ui.SymOK
		switch st.Outcome {
		case provision.WillUpdate:
			sym = ui.SymPlan
		case provision.Failed:
			sym = ui.SymWarn
		}
		p.Check(sym, st.Name+": "+string(st.Outcome), st.Detail)
	}
	switch {
	case out.DryRun:
		if !out.Changed {
			p.Println("nothing to change")
		} else {
			p.Println("dry run: nothing was changed")
		}
		return
	case !out.Enabled:
		p.Println("SAML single sign-on is off for this app")
		if !out.Changed {
			p.Println("nothing to change")
		}
		return
	}
	if !out.Changed {
		p.Println("nothing to change: SAML single sign-on is already configured")
	}
	p.Println()
	p.Heading("For Invicti (Settings → SSO & provisioning, provider AzureAD)")
	rows := [][2]string{
		{"SAML 2.0 Endpoint", out.SAMLEndpoint},
		{"IdP Identifier", out.IDPIdentifier},
	}
	if c := out.Certificate; c != nil {
		cert := fmt.Sprintf("thumbprint %s, expires %s (%s)", c.Thumbprint, c.Expires.Format("2006-01-02"), plural(c.DaysLeft, "day"))
		if out.CertificateFile != "" {
			cert += ", written to " + out.CertificateFile
		}
		rows = append(rows, [2]string{"X.509 Certificate", cert})
	}
	rows = append(rows, [2]string{"Metadata URL", out.MetadataURL})
	if out.Claims != nil {
		rows = append(rows, [2]string{"Claims", out.Claims.String()})
	}
	p.KV(rows)
	if out.CertificatePEM != "" {
		p.Println()
		p.Printf("%s", out.CertificatePEM)
	}
	if c := out.Certificate; c != nil && c.Expiring {
		ui.Err(f.IO).Check(ui.SymWarn, "the signing certificate expires in "+plural(c.DaysLeft, "day"), "run `invicti-scim sso --new-certificate` and update it in Invicti")
	}
	if out.ClaimsApplied {
		ui.Err(f.IO).Check(ui.SymWarn, "claims-mapping policy assigned", provision.ClaimsPortalWarning)
	}
	ui.Err(f.IO).Check(ui.SymWarn, "Invicti: SSO becomes mandatory", ssoMandatoryWarning)
}
