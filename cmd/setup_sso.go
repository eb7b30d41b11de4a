package cmd

import (
	"context"
	"net/url"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

// setup's optional last step: SAML single sign-on on the app setup made, through the same
// use case as `invicti-scim sso` (docs/sso.md). Unattended with --sso-identifier and
// --sso-reply-url; in the wizard, asked after provisioning (default No).

// invictiHost is the host of the Invicti base URL, which Invicti's SSO values must be on.
func invictiHost(base string) string {
	if u, err := url.Parse(base); err == nil {
		return u.Host
	}
	return ""
}

// checkSetupSSOFlags validates --sso-identifier and --sso-reply-url: both or neither, not
// with --dry-run, https URLs on the Invicti host (as `sso` checks them).
func checkSetupSSOFlags(opts *setupOptions, invictiBase string) error {
	id, reply := opts.SSOIdentifier, opts.SSOReplyURL
	if (id == "") != (reply == "") {
		return flagErrorf("--sso-identifier and --sso-reply-url go together: give both (Invicti → Settings → SSO & provisioning: Identifier and SAML 2.0 Service URL) or neither")
	}
	if id == "" {
		return nil
	}
	if opts.DryRun {
		return flagErrorf("--sso-identifier and --sso-reply-url cannot go with --dry-run: after setup, preview with `invicti-scim sso --dry-run`")
	}
	host := invictiHost(invictiBase)
	var err error
	if opts.SSOIdentifier, err = provision.ValidateSSOURL("--sso-identifier", id, host); err != nil {
		return &FlagError{Err: err}
	}
	if opts.SSOReplyURL, err = provision.ValidateSSOURL("--sso-reply-url", reply, host); err != nil {
		return &FlagError{Err: err}
	}
	return nil
}

// setupSSO runs the SSO step when the flags ask for it or the admin says Yes in the wizard; it
// returns nil when single sign-on was not asked for.
func setupSSO(ctx context.Context, f *Factory, conn *graphConn, opts *setupOptions, spID, invictiBase string, wiz bool) (*ssoJSON, error) {
	if opts.SSOIdentifier == "" {
		if !wiz {
			return nil, nil
		}
		host := invictiHost(invictiBase)
		step := wizard.SSOStep{Validate: func(field, v string) error {
			_, err := provision.ValidateSSOURL(field, v, host)
			return err
		}}
		if env := f.sandbox; env != nil {
			step.DefaultIdentifier, step.DefaultReplyURL = env.InvictiURL+"/saml/sp", env.InvictiURL+"/saml/acs"
		}
		ans, ok, err := wizard.AskSSO(ctx, setupWizardIO(f), step)
		if err != nil || !ok {
			return nil, err
		}
		opts.SSOIdentifier, opts.SSOReplyURL = ans.Identifier, ans.ReplyURL
	}
	// The state now records the app setup made: its ids and the tenant.
	store, st, err := f.loadState(ctx)
	if err != nil {
		return nil, err
	}
	req, err := provision.NewSSORequest(ctx, conn.Client, st, spID)
	if err != nil {
		return nil, permissionHint(err, provision.PermApplication)
	}
	req.Identifier, req.ReplyURL = opts.SSOIdentifier, opts.SSOReplyURL
	sp := ui.NewSpinner(f.IO)
	sp.Set("Configuring SAML single sign-on")
	c := &provision.SSOConfigurator{Graph: conn.Client, Claims: conn.Client, Cloud: conn.Cloud, Now: f.Now}
	res, err := c.Run(ctx, req)
	sp.Stop()
	if err != nil {
		return nil, permissionHint(err, provision.PermApplication)
	}
	out := &ssoJSON{SSOResult: res}
	// A sandbox's own config dir goes when the run ends: no file to point at then.
	if res.Certificate != nil && !f.configDirTemporary {
		if _, err := ssoCertificatePEM(store.Dir, res.Certificate); err == nil {
			out.CertificateFile = ssoCertPath(store.Dir, res.Certificate.Thumbprint)
		}
	}
	return out, nil
}
