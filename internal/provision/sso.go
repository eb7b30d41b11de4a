package provision

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// SAML single sign-on on the app setup made, in the order Microsoft documents for Graph (the
// sources are in docs/graph-sources.md, "SAML single sign-on"): the SSO mode on the service
// principal, the Identifier and Reply URL on the application, a token-signing certificate and
// making it the active one.

// SSOGraph is what SAML configuration needs from Microsoft Graph (implemented by *graph.Client).
type SSOGraph interface {
	ServicePrincipalSSO(ctx context.Context, spID string) (graph.SPSSO, error)
	SetSSOMode(ctx context.Context, spID, mode string) error
	SetSigningThumbprint(ctx context.Context, spID, thumbprint string) error
	AddTokenSigningCertificate(ctx context.Context, spID, subject string, end time.Time) (graph.NewCertificate, error)
	ApplicationSAML(ctx context.Context, appObjectID string) (graph.AppSAML, error)
	SetApplicationSAML(ctx context.Context, appObjectID string, s graph.AppSAML) error
}

// CertRenewBefore is when a signing certificate counts as expiring: status warns and `sso`
// replaces it when fewer than 30 days are left.
const CertRenewBefore = 30 * 24 * time.Hour

// SSOCertSubject is the subject of the certificates sso creates (it must start with CN=).
const SSOCertSubject = "CN=invicti-scim SAML signing"

// SSOConfigurator turns SAML single sign-on on or off for one app.
type SSOConfigurator struct {
	Graph SSOGraph
	// Claims manages the claims-mapping policy; nil leaves claims alone and unreported.
	Claims ClaimsGraph
	Cloud  graph.Cloud
	Now    func() time.Time
}

// SSORequest says what to configure.
type SSORequest struct {
	ServicePrincipalID string
	ApplicationID      string // the application object id (state's applicationId)
	AppID              string // the client id, for the metadata URL
	TenantID           string
	// Identifier and ReplyURL are Invicti's "Identifier" and "SAML 2.0 Service URL" (Settings
	// → SSO & provisioning); validated by ValidateSSOURL.
	Identifier, ReplyURL string
	// Disable turns SAML off: the mode goes back to unset and the app's identifier and reply
	// URLs are removed. The certificate stays (it signs nothing while SAML is off).
	Disable bool
	// NewCertificate creates a certificate even when the active one is fine.
	NewCertificate bool
	DryRun         bool
	// Claims is what --claims asks for (ParseClaims); nil keeps the claims as they are.
	Claims *ClaimsSpec
	// ClaimsOnly changes the claims alone (--claims without --identifier and --reply-url): SAML
	// must already be on (else a *UsageError naming the flags that turn it on), and the mode,
	// the app's identifier and reply URLs and the certificate are kept as they are.
	ClaimsOnly bool
	// OnClaimsPolicy, when set, is told the id of the tool's claims-mapping policy once one is
	// assigned (or found assigned) to the app, and "" once the tool's policy is removed, so
	// the state can record it: teardown finds the policy by that id when the app is gone.
	OnClaimsPolicy func(policyID string) error
	// AppName names this tool's claims policy (ClaimsPolicyPrefix + AppName).
	AppName string
}

// SSOStep is one step of the plan, with what happened (or would happen).
type SSOStep struct {
	Name    string  `json:"name"`
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`
}

// SSOCertificate describes the active token-signing certificate.
type SSOCertificate struct {
	Thumbprint string    `json:"thumbprint"`
	Subject    string    `json:"subject,omitempty"`
	Expires    time.Time `json:"expires"`
	DaysLeft   int       `json:"daysLeft"`
	Expiring   bool      `json:"expiring"` // fewer than 30 days left
	// PEM is the certificate, when this run created it (Graph returns the public part only
	// from addTokenSigningCertificate).
	PEM string `json:"-"`
}

// SSOResult is the outcome, with what Invicti's SSO page needs.
type SSOResult struct {
	Enabled        bool            `json:"enabled"`
	Mode           string          `json:"mode"`
	IdentifierURIs []string        `json:"identifierUris"`
	ReplyURLs      []string        `json:"replyUrls"`
	Certificate    *SSOCertificate `json:"certificate,omitempty"`
	Steps          []SSOStep       `json:"steps,omitempty"`
	Changed        bool            `json:"changed"`
	DryRun         bool            `json:"dryRun,omitempty"`
	// For Invicti: SAML 2.0 Endpoint, IdP Identifier; and the metadata URL Entra publishes.
	SAMLEndpoint  string `json:"samlEndpoint,omitempty"`
	IDPIdentifier string `json:"idpIdentifier,omitempty"`
	MetadataURL   string `json:"metadataUrl,omitempty"`
	// Claims is the app's claims (a claims-mapping policy, or Entra's defaults); nil when
	// not read.
	Claims *ClaimsState `json:"claims,omitempty"`
	// ClaimsPolicies are, for --disable, the claims-mapping policies on the app and what became
	// of each: the tool's is deleted with SAML (a claims policy without SAML does nothing),
	// any other is left with the reason.
	ClaimsPolicies []TeardownClaimsPolicy `json:"claimsPolicies,omitempty"`
	// Warnings say what was left in the tenant and how to remove it.
	Warnings []string `json:"warnings,omitempty"`
	// ClaimsApplied is true when this run assigned a claims-mapping policy (the caller then
	// shows ClaimsPortalWarning).
	ClaimsApplied bool `json:"-"`
}

// IDPEndpoints returns the tenant's SAML sign-on URL, its issuer and the app's federation
// metadata URL, as the portal's "Set up <app>" section shows them ("Login URL", "Microsoft
// Entra Identifier", "App Federation Metadata Url"; the issuer is the sts.windows.net form in the
// global cloud, see docs/graph-sources.md).
func IDPEndpoints(c graph.Cloud, tenantID, appID string) (endpoint, issuer, metadata string) {
	endpoint = c.LoginURL + "/" + tenantID + "/saml2"
	switch c.Name {
	case "usgov":
		issuer = "https://login.microsoftonline.us/" + tenantID + "/"
	case "china":
		issuer = "https://sts.chinacloudapi.cn/" + tenantID + "/"
	default:
		issuer = "https://sts.windows.net/" + tenantID + "/"
	}
	metadata = c.LoginURL + "/" + tenantID + "/federationmetadata/2007-06/federationmetadata.xml?appid=" + url.QueryEscape(appID)
	return endpoint, issuer, metadata
}

// ValidateSSOURL checks one of Invicti's SSO values: an absolute https URL (http only on a
// loopback host, for the sandbox) on invictiHost (the Invicti base URL's host, or any
// invicti.com host when none is known). what names the flag for the message.
func ValidateSSOURL(what, raw, invictiHost string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("%s %q: expected an absolute https URL copied from Invicti (Settings → SSO & provisioning)", what, raw)
	}
	host := strings.ToLower(u.Hostname())
	loop := host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
	if u.Scheme != "https" && !(u.Scheme == "http" && loop) {
		return "", fmt.Errorf("%s %q: must be an https URL", what, raw)
	}
	if u.User != nil || u.Fragment != "" {
		return "", fmt.Errorf("%s %q: must not carry credentials or a fragment", what, raw)
	}
	want := strings.ToLower(invictiHost)
	if h, _, err := net.SplitHostPort(want); err == nil {
		want = h
	}
	switch {
	case want != "" && host != want:
		return "", fmt.Errorf("%s %q: expected a URL on the Invicti host %s", what, raw, invictiHost)
	case want == "" && host != "invicti.com" && !strings.HasSuffix(host, ".invicti.com"):
		return "", fmt.Errorf("%s %q: expected a URL on an invicti.com host", what, raw)
	}
	return raw, nil
}

// ActiveCert picks the certificate Entra signs with: the preferred thumbprint's key, else
// the one that expires last.
func ActiveCert(s graph.SPSSO) *graph.SigningKey {
	var best *graph.SigningKey
	for i := range s.Keys {
		k := &s.Keys[i]
		if s.Thumbprint != "" && strings.EqualFold(k.Thumbprint, s.Thumbprint) {
			return k
		}
		if best == nil || k.End.After(best.End) {
			best = k
		}
	}
	if s.Thumbprint != "" {
		return nil // the preferred key is gone: Entra has nothing to sign with
	}
	return best
}

func (c *SSOConfigurator) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *SSOConfigurator) certInfo(k graph.SigningKey) *SSOCertificate {
	left := k.End.Sub(c.now())
	return &SSOCertificate{Thumbprint: k.Thumbprint, Subject: k.DisplayName, Expires: k.End,
		DaysLeft: int(left.Hours() / 24), Expiring: left < CertRenewBefore}
}

// Read reports the app's SSO state without changing anything.
func (c *SSOConfigurator) Read(ctx context.Context, req SSORequest) (*SSOResult, error) {
	sso, err := c.Graph.ServicePrincipalSSO(ctx, req.ServicePrincipalID)
	if err != nil {
		return nil, err
	}
	app, err := c.Graph.ApplicationSAML(ctx, req.ApplicationID)
	if err != nil {
		return nil, err
	}
	res := &SSOResult{Mode: sso.Mode, Enabled: sso.Mode == "saml", IdentifierURIs: app.IdentifierURIs, ReplyURLs: app.RedirectURIs}
	if k := ActiveCert(sso); k != nil {
		res.Certificate = c.certInfo(*k)
	}
	if res.Enabled {
		res.SAMLEndpoint, res.IDPIdentifier, res.MetadataURL = IDPEndpoints(c.Cloud, req.TenantID, req.AppID)
	}
	if c.Claims != nil && res.Enabled {
		res.Claims = ReadClaims(ctx, c.Claims, req.ServicePrincipalID)
	}
	return res, nil
}

// Run plans the change, and applies it unless DryRun. Steps already in place are "unchanged";
// a second run with the same input writes nothing.
func (c *SSOConfigurator) Run(ctx context.Context, req SSORequest) (*SSOResult, error) {
	sso, err := c.Graph.ServicePrincipalSSO(ctx, req.ServicePrincipalID)
	if err != nil {
		return nil, err
	}
	app, err := c.Graph.ApplicationSAML(ctx, req.ApplicationID)
	if err != nil {
		return nil, err
	}
	res := &SSOResult{DryRun: req.DryRun}
	step := func(name string, changed bool, detail string) bool {
		o := Unchanged
		if changed {
			o, res.Changed = Updated, true
			if req.DryRun {
				o = WillUpdate
			}
		}
		res.Steps = append(res.Steps, SSOStep{Name: name, Outcome: o, Detail: detail})
		return changed && !req.DryRun
	}
	if req.Disable {
		return c.disable(ctx, req, sso, app, res, step)
	}
	if req.ClaimsOnly && (req.Claims == nil || req.Identifier != "" || req.ReplyURL != "" || req.NewCertificate) {
		return nil, errors.New("ClaimsOnly takes --claims alone")
	}
	if req.ClaimsOnly && sso.Mode != "saml" {
		return nil, usageErrorf("--claims without --identifier and --reply-url changes the claims of an app with SAML on, but SAML single sign-on is off on this app (mode %s): turn it on first with --identifier and --reply-url (they can go with --claims in the same run)",
			dashIfEmpty(sso.Mode))
	}
	if req.ClaimsOnly {
		// Keep the app's current URLs: the steps below find them in place and write nothing.
		req.Identifier, req.ReplyURL = firstOr(app.IdentifierURIs), firstOr(app.RedirectURIs)
	}
	var ours []graph.ClaimsPolicy
	if req.Claims != nil {
		// Before any write: a foreign policy stops the run with nothing changed.
		if ours, err = c.claimsPrecheck(ctx, req); err != nil {
			return nil, err
		}
	}

	// 1. The SSO mode.
	modeDetail := "already saml"
	if sso.Mode != "saml" {
		modeDetail = "was " + dashIfEmpty(sso.Mode)
	}
	if step("single sign-on mode saml", sso.Mode != "saml", modeDetail) {
		if err := c.Graph.SetSSOMode(ctx, req.ServicePrincipalID, "saml"); err != nil {
			return res, err
		}
	}
	// 2. Identifier (Entity ID) and Reply URL (Assertion Consumer Service URL) on the app.
	want := graph.AppSAML{IdentifierURIs: slices.Clone(app.IdentifierURIs), RedirectURIs: slices.Clone(app.RedirectURIs)}
	if !slices.Contains(want.IdentifierURIs, req.Identifier) && !req.ClaimsOnly {
		want.IdentifierURIs = append(want.IdentifierURIs, req.Identifier)
	}
	if !slices.Contains(want.RedirectURIs, req.ReplyURL) && !req.ClaimsOnly {
		want.RedirectURIs = append(want.RedirectURIs, req.ReplyURL)
	}
	changedURLs := len(want.IdentifierURIs) != len(app.IdentifierURIs) || len(want.RedirectURIs) != len(app.RedirectURIs)
	// Both named, not "A → B": an arrow reads as old → new.
	if step("identifier and reply URL", changedURLs, "identifier "+req.Identifier+", reply URL "+req.ReplyURL) {
		if err := c.Graph.SetApplicationSAML(ctx, req.ApplicationID, want); err != nil {
			return res, err
		}
	}
	res.IdentifierURIs, res.ReplyURLs = want.IdentifierURIs, want.RedirectURIs
	// 3. A token-signing certificate, unless a good one is active.
	active := ActiveCert(sso)
	var reason string
	switch {
	case req.ClaimsOnly:
		// --claims alone changes only the claims; status and doctor still flag the certificate.
	case active == nil:
		reason = "none is active"
	case active.End.Sub(c.now()) < CertRenewBefore:
		reason = fmt.Sprintf("the active one expires %s", active.End.Format("2006-01-02"))
	case req.NewCertificate:
		reason = "--new-certificate"
	}
	certDetail := reason
	switch {
	case reason == "" && active == nil:
		certDetail = "none is active (kept: --claims alone changes only the claims)"
	case reason == "":
		certDetail = fmt.Sprintf("%s valid until %s", active.Thumbprint, active.End.Format("2006-01-02"))
	}
	if step("token-signing certificate", reason != "", certDetail) {
		cert, err := c.Graph.AddTokenSigningCertificate(ctx, req.ServicePrincipalID, SSOCertSubject, time.Time{})
		if err != nil {
			return res, err
		}
		// 4. Make it the one Entra signs with.
		if err := c.Graph.SetSigningThumbprint(ctx, req.ServicePrincipalID, cert.Thumbprint); err != nil {
			return res, fmt.Errorf("the certificate %s was created but not activated (run sso again): %w", cert.Thumbprint, err)
		}
		res.Certificate = c.certInfo(cert.SigningKey)
		res.Certificate.PEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.DER}))
	} else if active != nil {
		// A certificate exists but is not the preferred one (an earlier run stopped between
		// creating and activating it): activate it rather than make another.
		if !strings.EqualFold(sso.Thumbprint, active.Thumbprint) &&
			step("activate token-signing certificate", true, active.Thumbprint) {
			if err := c.Graph.SetSigningThumbprint(ctx, req.ServicePrincipalID, active.Thumbprint); err != nil {
				return res, err
			}
		}
		res.Certificate = c.certInfo(*active)
	}
	// 5. Claims: a claims-mapping policy when --claims asks for one.
	if req.Claims != nil {
		if err := c.applyClaims(ctx, req, ours, res, step); err != nil {
			return res, err
		}
	} else if c.Claims != nil {
		res.Claims = ReadClaims(ctx, c.Claims, req.ServicePrincipalID)
	}
	res.Enabled, res.Mode = true, "saml"
	if req.DryRun && sso.Mode != "saml" {
		res.Enabled, res.Mode = false, sso.Mode
	}
	res.SAMLEndpoint, res.IDPIdentifier, res.MetadataURL = IDPEndpoints(c.Cloud, req.TenantID, req.AppID)
	return res, nil
}

func (c *SSOConfigurator) disable(ctx context.Context, req SSORequest, sso graph.SPSSO, app graph.AppSAML, res *SSOResult,
	step func(string, bool, string) bool) (*SSOResult, error) {
	// The detail says what the mode was, as the enabling step does ("was -").
	if step("single sign-on mode off", sso.Mode == "saml", "was "+dashIfEmpty(sso.Mode)) {
		if err := c.Graph.SetSSOMode(ctx, req.ServicePrincipalID, ""); err != nil {
			return res, err
		}
	}
	has := len(app.IdentifierURIs) > 0 || len(app.RedirectURIs) > 0
	if step("remove identifier and reply URLs", has, strings.Join(append(slices.Clone(app.IdentifierURIs), app.RedirectURIs...), ", ")) {
		if err := c.Graph.SetApplicationSAML(ctx, req.ApplicationID, graph.AppSAML{}); err != nil {
			return res, err
		}
	}
	res.Mode = ""
	if req.DryRun {
		res.Mode, res.Enabled = sso.Mode, sso.Mode == "saml"
		res.IdentifierURIs, res.ReplyURLs = app.IdentifierURIs, app.RedirectURIs
	}
	// JSON shows no URLs as [], as the enabled case does, never null.
	if res.IdentifierURIs == nil {
		res.IdentifierURIs = []string{}
	}
	if res.ReplyURLs == nil {
		res.ReplyURLs = []string{}
	}
	if k := ActiveCert(sso); k != nil {
		res.Certificate = c.certInfo(*k)
	}
	if c.Claims != nil {
		if err := c.disableClaims(ctx, req, res, step); err != nil {
			return res, err
		}
	}
	return res, nil
}

// disableFix says how to remove a policy sso --disable left: the same command again with an
// account that may (it removes the tool's policy with SAML already off), or Graph.
func disableFix(spID string) claimsFixer {
	return func(id string) string {
		graphCalls := "DELETE /servicePrincipals/" + spID + "/claimsMappingPolicies/" + id + "/$ref, then " + graphDeleteFix(id)
		if id == "" {
			graphCalls = "GET /servicePrincipals/" + spID + "/claimsMappingPolicies to find its id, then DELETE …/claimsMappingPolicies/{id}/$ref and " + graphDeleteFix("{id}")
		}
		return "run `invicti-scim sso --disable` again with an account that has " + PermPolicyWrite + ", or with Graph: " + graphCalls
	}
}

// disableClaims is --disable's claims step: the tool's claims-mapping policy goes with SAML
// (by teardown's rule: made by the tool, used by no other app; unassigned, then deleted). A
// policy it cannot read or delete is left with a warning; SAML stays off all the same.
func (c *SSOConfigurator) disableClaims(ctx context.Context, req SSORequest, res *SSOResult, step func(string, bool, string) bool) error {
	const name = "remove claims-mapping policy"
	fix := disableFix(req.ServicePrincipalID)
	ps, warns := planClaimsRemoval(ctx, c.Claims, req.ServicePrincipalID, req.AppName, fix)
	res.ClaimsPolicies, res.Warnings = ps, append(res.Warnings, warns...)
	var del, left []string
	for _, p := range ps {
		if p.Outcome == PolicyWillDelete {
			del = append(del, p.DisplayName)
		} else {
			left = append(left, p.DisplayName+" left: "+p.Reason)
		}
	}
	detail := strings.Join(append(slices.Clone(del), left...), "; ")
	switch {
	case ps == nil && len(warns) > 0:
		detail = "could not read the app's claims-mapping policies"
	case detail == "":
		detail = "none"
	}
	if step(name, len(del) > 0, detail) {
		res.Warnings = append(res.Warnings, removeClaimsPolicies(ctx, c.Claims, req.ServicePrincipalID, ps, fix, true)...)
	}
	if len(warns) > 0 || slices.ContainsFunc(ps, func(p TeardownClaimsPolicy) bool {
		return p.Reason != "" && p.Outcome == PolicyLeft && strings.HasPrefix(p.Reason, "could not")
	}) {
		res.Steps[len(res.Steps)-1].Outcome = Failed
	}
	remaining := slices.DeleteFunc(slices.Clone(ps), func(p TeardownClaimsPolicy) bool { return p.Outcome == PolicyDeleted })
	switch {
	case ps == nil && len(warns) > 0:
		res.Claims = &ClaimsState{Unknown: "reading claims needs " + PermPolicyRead}
	case len(remaining) == 0:
		res.Claims = &ClaimsState{Default: true}
	default:
		r := remaining[0]
		res.Claims = &ClaimsState{PolicyID: r.ID, Policy: r.DisplayName, Foreign: !strings.HasPrefix(r.DisplayName, ClaimsPolicyPrefix)}
	}
	if len(del) > 0 && !req.DryRun && !slices.ContainsFunc(ps, func(p TeardownClaimsPolicy) bool {
		return strings.HasPrefix(p.DisplayName, ClaimsPolicyPrefix) && p.Outcome != PolicyDeleted
	}) {
		return recordPolicy(req, "")
	}
	return nil
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// AppReader reads an enterprise app and its application object.
type AppReader interface {
	SPReader
	ApplicationByAppID(ctx context.Context, appID string) (graph.Application, error)
}

// NewSSORequest fills in the ids of the app for Configure: from the state when it recorded
// this app, else from Graph. A state without a tenant id is an error saying to run setup.
func NewSSORequest(ctx context.Context, g AppReader, st state.State, spID string) (SSORequest, error) {
	req := SSORequest{ServicePrincipalID: spID, TenantID: st.Tenant}
	if a := st.App; a != nil && a.ServicePrincipalID == spID && a.ApplicationID != "" {
		req.ApplicationID, req.AppID, req.AppName = a.ApplicationID, a.AppID, a.DisplayName
	} else {
		sp, err := g.ServicePrincipal(ctx, spID)
		if err != nil {
			return req, err
		}
		app, err := g.ApplicationByAppID(ctx, sp.AppID)
		if err != nil {
			return req, err
		}
		req.ApplicationID, req.AppID, req.AppName = app.ID, sp.AppID, sp.DisplayName
	}
	if req.AppName == "" {
		req.AppName = req.AppID
	}
	if req.TenantID == "" {
		return req, errors.New("the tenant id is unknown (no state from setup): run `invicti-scim setup` or `invicti-scim doctor` first")
	}
	return req, nil
}

// The client implements the consumer-side interfaces of the use cases.
var (
	_ SSOGraph      = (*graph.Client)(nil)
	_ MappingsGraph = (*graph.Client)(nil)
	_ TeardownGraph = (*graph.Client)(nil)
	_ JobGraph      = (*graph.Client)(nil)
	_ LogsGraph     = (*graph.Client)(nil)
	_ RotateGraph   = (*graph.Client)(nil)
	_ StatusGraph   = (*graph.Client)(nil)
	_ AssignGraph   = (*graph.Client)(nil)
	_ OnDemandGraph = (*graph.Client)(nil)
	_ Graph         = (*graph.Client)(nil)
)
