package graph

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
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
	const op = "read single sign-on settings"
	ri, err := c.servicePrincipals().ByServicePrincipalId(spID).ToGetRequestInformation(ctx, cfg)
	if err != nil {
		return SPSSO{}, fmt.Errorf("%s: %w", op, err)
	}
	var sp spWire
	if err := c.send(ctx, op, ri, nil, &sp); err != nil {
		return SPSSO{}, err
	}
	out := SPSSO{Mode: sp.PreferredSingleSignOnMode, Thumbprint: strings.ToUpper(sp.PreferredTokenSigningKeyThumbprint)}
	for _, k := range sp.KeyCredentials {
		// Only the Verify half carries the certificate's public part; addTokenSigningCertificate
		// adds a Sign and a Verify key with the same customKeyIdentifier
		// (docs/graph-sources.md). The customKeyIdentifier of such a key holds the
		// certificate's thumbprint (inferred: the portal shows it as the thumbprint).
		if !strings.EqualFold(k.Usage, "Verify") || !strings.EqualFold(k.Type, "AsymmetricX509Cert") {
			continue
		}
		out.Keys = append(out.Keys, k.signingKey(hex.EncodeToString(k.CustomKeyIdentifier)))
	}
	return out, nil
}

// SetSSOMode sets preferredSingleSignOnMode (saml to turn SAML on). An empty mode clears it
// back to null, the value of a new app.
func (c *Client) SetSSOMode(ctx context.Context, spID, mode string) error {
	body := struct {
		Mode *string `json:"preferredSingleSignOnMode"` // nil: an explicit null
	}{}
	op := "clear single sign-on mode"
	if mode != "" {
		body.Mode, op = &mode, "set single sign-on mode"
	}
	return c.send(ctx, op, at(abs.PATCH, c.servicePrincipals().ByServicePrincipalId(spID).BaseRequestBuilder), body, nil)
}

// SetSigningThumbprint makes the certificate with this thumbprint the one Entra signs SAML
// tokens with (the tutorial's "activate the custom signing key" step).
func (c *Client) SetSigningThumbprint(ctx context.Context, spID, thumbprint string) error {
	body := struct {
		Thumbprint string `json:"preferredTokenSigningKeyThumbprint"`
	}{thumbprint}
	return c.send(ctx, "activate the token-signing certificate", at(abs.PATCH, c.servicePrincipals().ByServicePrincipalId(spID).BaseRequestBuilder), body, nil)
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
	body := struct {
		DisplayName string     `json:"displayName"`
		EndDateTime *time.Time `json:"endDateTime,omitempty"`
	}{DisplayName: subject}
	if !end.IsZero() {
		// Graph's example and kiota's writer use whole seconds in UTC ("2014-01-01T00:00:00Z");
		// encoding/json would write nanoseconds and the caller's zone.
		end = end.UTC().Truncate(time.Second)
		body.EndDateTime = &end
	}
	// Graph's selfSignedCertificate resource: key is Edm.Binary (base64, decoded into []byte).
	var res struct {
		keyWire
		Thumbprint string `json:"thumbprint"`
		Key        []byte `json:"key"`
	}
	ri := at(abs.POST, c.servicePrincipals().ByServicePrincipalId(spID).AddTokenSigningCertificate().BaseRequestBuilder)
	if err := c.send(ctx, "add token-signing certificate", ri, body, &res); err != nil {
		return NewCertificate{}, err
	}
	return NewCertificate{SigningKey: res.signingKey(res.Thumbprint), DER: res.Key}, nil
}

// AppSAML is the application's SAML settings: the Identifier (Entity ID) URIs and the reply
// (Assertion Consumer Service) URLs.
type AppSAML struct {
	IdentifierURIs []string `json:"identifierUris"`
	RedirectURIs   []string `json:"redirectUris"`
}

func (c *Client) applications() *applications.ApplicationsRequestBuilder {
	return applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter)
}

// ApplicationSAML reads an application's identifierUris and web.redirectUris.
func (c *Client) ApplicationSAML(ctx context.Context, appObjectID string) (AppSAML, error) {
	cfg := &applications.ApplicationItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationItemRequestBuilderGetQueryParameters{Select: []string{"id", "identifierUris", "web"}},
	}
	const op = "read the application's SAML URLs"
	ri, err := c.applications().ByApplicationId(appObjectID).ToGetRequestInformation(ctx, cfg)
	if err != nil {
		return AppSAML{}, fmt.Errorf("%s: %w", op, err)
	}
	var app appSAMLWire
	if err := c.send(ctx, op, ri, nil, &app); err != nil {
		return AppSAML{}, err
	}
	return AppSAML{IdentifierURIs: app.IdentifierURIs, RedirectURIs: app.Web.RedirectURIs}, nil
}

// appSAMLWire is the part of an application (Graph's application resource) that SAML uses.
type appSAMLWire struct {
	IdentifierURIs []string `json:"identifierUris"`
	Web            struct {
		RedirectURIs []string `json:"redirectUris"`
	} `json:"web"`
}

// SetApplicationSAML replaces the application's identifierUris and web.redirectUris.
func (c *Client) SetApplicationSAML(ctx context.Context, appObjectID string, s AppSAML) error {
	var body appSAMLWire
	body.IdentifierURIs, body.Web.RedirectURIs = s.IdentifierURIs, s.RedirectURIs
	if body.IdentifierURIs == nil {
		body.IdentifierURIs = []string{}
	}
	if body.Web.RedirectURIs == nil {
		body.Web.RedirectURIs = []string{}
	}
	return c.send(ctx, "set the application's SAML URLs", at(abs.PATCH, c.applications().ByApplicationId(appObjectID).BaseRequestBuilder), body, nil)
}
