package graph

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
)

// SAML single sign-on, the calls Microsoft documents for configuring it through Graph
// (docs/graph-sources.md, "SAML single sign-on"): preferredSingleSignOnMode on the service principal, identifierUris and web.redirectUris on
// the application, addTokenSigningCertificate, and preferredTokenSigningKeyThumbprint to make
// the new certificate the one Entra signs with.

// SigningKey is one token-signing certificate (the public, Verify half) of a service principal.
type SigningKey struct {
	KeyID       string    `json:"keyId"`
	DisplayName string    `json:"displayName"`
	Thumbprint  string    `json:"thumbprint"` // upper-case hex SHA-1
	Start       time.Time `json:"startDateTime"`
	End         time.Time `json:"endDateTime"`
}

// SPSSO is the single sign-on state of a service principal.
type SPSSO struct {
	// Mode is preferredSingleSignOnMode: "" (never set), password, saml, notSupported or oidc.
	Mode string `json:"preferredSingleSignOnMode"`
	// Thumbprint is preferredTokenSigningKeyThumbprint: the certificate Entra signs with.
	Thumbprint string       `json:"preferredTokenSigningKeyThumbprint,omitempty"`
	Keys       []SigningKey `json:"signingKeys,omitempty"`
}

// ServicePrincipalSSO reads a service principal's SSO mode and signing certificates.
func (c *Client) ServicePrincipalSSO(ctx context.Context, spID string) (SPSSO, error) {
	cfg := &serviceprincipals.ServicePrincipalItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalItemRequestBuilderGetQueryParameters{
			Select: []string{"id", "preferredSingleSignOnMode", "preferredTokenSigningKeyThumbprint", "keyCredentials"},
		},
	}
	sp, err := c.sp.ByServicePrincipalId(spID).Get(ctx, cfg)
	if err != nil {
		return SPSSO{}, convert("read single sign-on settings", err)
	}
	out := SPSSO{Mode: str(sp.GetPreferredSingleSignOnMode()), Thumbprint: strings.ToUpper(str(sp.GetPreferredTokenSigningKeyThumbprint()))}
	for _, k := range sp.GetKeyCredentials() {
		// Only the Verify half carries the certificate's public part; addTokenSigningCertificate
		// adds a Sign and a Verify key with the same customKeyIdentifier
		// (docs/graph-sources.md). The customKeyIdentifier of such a key holds the
		// certificate's thumbprint (inferred: the portal shows it as the thumbprint).
		if !strings.EqualFold(str(k.GetUsage()), "Verify") || !strings.EqualFold(str(k.GetTypeEscaped()), "AsymmetricX509Cert") {
			continue
		}
		key := SigningKey{DisplayName: str(k.GetDisplayName()), Thumbprint: strings.ToUpper(hex.EncodeToString(k.GetCustomKeyIdentifier()))}
		if id := k.GetKeyId(); id != nil {
			key.KeyID = id.String()
		}
		if t := k.GetStartDateTime(); t != nil {
			key.Start = t.UTC()
		}
		if t := k.GetEndDateTime(); t != nil {
			key.End = t.UTC()
		}
		out.Keys = append(out.Keys, key)
	}
	return out, nil
}

// SetSSOMode sets preferredSingleSignOnMode (saml to turn SAML on). An empty mode clears it
// back to null, the value of a new app; that PATCH goes raw because the SDK's JSON writer
// leaves nil properties out and so cannot send an explicit null.
func (c *Client) SetSSOMode(ctx context.Context, spID, mode string) error {
	if mode == "" {
		body := map[string]any{"preferredSingleSignOnMode": nil}
		return c.raw(ctx, "clear single sign-on mode", http.MethodPatch, "/servicePrincipals/"+PathEscape(spID), nil, body, nil)
	}
	sp := models.NewServicePrincipal()
	sp.SetPreferredSingleSignOnMode(&mode)
	_, err := c.sp.ByServicePrincipalId(spID).Patch(ctx, sp, nil)
	return convert("set single sign-on mode", err)
}

// SetSigningThumbprint makes the certificate with this thumbprint the one Entra signs SAML
// tokens with (the tutorial's "activate the custom signing key" step).
func (c *Client) SetSigningThumbprint(ctx context.Context, spID, thumbprint string) error {
	sp := models.NewServicePrincipal()
	sp.SetPreferredTokenSigningKeyThumbprint(&thumbprint)
	_, err := c.sp.ByServicePrincipalId(spID).Patch(ctx, sp, nil)
	return convert("activate the token-signing certificate", err)
}

// NewCertificate is what addTokenSigningCertificate returns: the public certificate.
type NewCertificate struct {
	SigningKey
	// DER is the certificate (the answer's base64 "key", decoded).
	DER []byte `json:"-"`
}

// AddTokenSigningCertificate creates a self-signed token-signing certificate on the service
// principal. subject must start with "CN="; end may be zero (Entra's default: three years),
// and can be at most three years away.
func (c *Client) AddTokenSigningCertificate(ctx context.Context, spID, subject string, end time.Time) (NewCertificate, error) {
	body := serviceprincipals.NewItemAddTokenSigningCertificatePostRequestBody()
	body.SetDisplayName(&subject)
	if !end.IsZero() {
		body.SetEndDateTime(&end)
	}
	res, err := c.sp.ByServicePrincipalId(spID).AddTokenSigningCertificate().Post(ctx, body, nil)
	if err != nil {
		return NewCertificate{}, convert("add token-signing certificate", err)
	}
	out := NewCertificate{DER: res.GetKey()}
	out.DisplayName = str(res.GetDisplayName())
	out.Thumbprint = strings.ToUpper(str(res.GetThumbprint()))
	if id := res.GetKeyId(); id != nil {
		out.KeyID = id.String()
	}
	if t := res.GetStartDateTime(); t != nil {
		out.Start = t.UTC()
	}
	if t := res.GetEndDateTime(); t != nil {
		out.End = t.UTC()
	}
	return out, nil
}

// AppSAML is the application's SAML settings: the Identifier (Entity ID) URIs and the reply
// (Assertion Consumer Service) URLs.
type AppSAML struct {
	IdentifierURIs []string `json:"identifierUris"`
	RedirectURIs   []string `json:"redirectUris"`
}

func (c *Client) applications() *applications.ApplicationsRequestBuilder {
	return applications.NewApplicationsRequestBuilderInternal(map[string]string{"baseurl": c.baseURL}, c.adapter)
}

// ApplicationSAML reads an application's identifierUris and web.redirectUris.
func (c *Client) ApplicationSAML(ctx context.Context, appObjectID string) (AppSAML, error) {
	cfg := &applications.ApplicationItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationItemRequestBuilderGetQueryParameters{Select: []string{"id", "identifierUris", "web"}},
	}
	app, err := c.applications().ByApplicationId(appObjectID).Get(ctx, cfg)
	if err != nil {
		return AppSAML{}, convert("read the application's SAML URLs", err)
	}
	out := AppSAML{IdentifierURIs: app.GetIdentifierUris()}
	if w := app.GetWeb(); w != nil {
		out.RedirectURIs = w.GetRedirectUris()
	}
	return out, nil
}

// SetApplicationSAML replaces the application's identifierUris and web.redirectUris.
func (c *Client) SetApplicationSAML(ctx context.Context, appObjectID string, s AppSAML) error {
	app := models.NewApplication()
	ids, redirects := s.IdentifierURIs, s.RedirectURIs
	if ids == nil {
		ids = []string{}
	}
	if redirects == nil {
		redirects = []string{}
	}
	app.SetIdentifierUris(ids)
	web := models.NewWebApplication()
	web.SetRedirectUris(redirects)
	app.SetWeb(web)
	_, err := c.applications().ByApplicationId(appObjectID).Patch(ctx, app, nil)
	return convert("set the application's SAML URLs", err)
}
