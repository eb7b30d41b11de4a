package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// AuthMode is how invicti-scim signs in to Graph.
type AuthMode string

const (
	AuthToken       AuthMode = "token"       // a ready access token (INVICTI_SCIM_GRAPH_TOKEN)
	AuthEnvironment AuthMode = "environment" // AZURE_CLIENT_ID/AZURE_TENANT_ID + secret, certificate or federated token
	AuthAzureCLI    AuthMode = "azure-cli"   // reuse `az login`
	AuthBrowser     AuthMode = "browser"     // interactive browser sign-in
	AuthDeviceCode  AuthMode = "device-code" // device code sign-in (often blocked by Conditional Access)
)

// AuthModes lists every mode, in the order help text shows them.
func AuthModes() []AuthMode {
	return []AuthMode{AuthBrowser, AuthDeviceCode, AuthAzureCLI, AuthEnvironment, AuthToken}
}

// DefaultPublicClientID is "Microsoft Graph Command Line Tools", Microsoft's own public client
// that exists in every tenant, so browser and device-code sign-in need no app registration.
// Third-party multi-tenant client ids can vanish (docs/graph-sources.md); this one is Microsoft's.
const DefaultPublicClientID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"

// DelegatedScopes are the permissions setup asks for when a person signs in.
var DelegatedScopes = []string{
	"Application.ReadWrite.All",
	"Synchronization.ReadWrite.All",
	"AppRoleAssignment.ReadWrite.All",
	"User.Read.All",
	"GroupMember.Read.All",
}

// AuthOptions selects and configures a credential.
type AuthOptions struct {
	Mode           AuthMode
	Cloud          Cloud
	Tenant         string // tenant id or domain; "" = organizations / the credential's default
	PublicClientID string // for browser and device code
	Token          string // for AuthToken
	Getenv         func(string) string
	Prompt         io.Writer // where the device code message goes (stderr)
	HTTPClient     *http.Client

	// Cache keeps browser and device-code tokens across runs (azidentity/cache); the zero
	// value keeps them in this process's memory only.
	Cache azidentity.Cache
	// Record names the account a browser or device-code credential signs in silently from
	// Cache (azidentity.AuthenticationRecord, saved by an earlier sign-in); zero = none.
	Record azidentity.AuthenticationRecord
	// NoPrompt makes a browser or device-code credential fail with
	// *azidentity.AuthenticationRequiredError instead of asking a person when no cached token
	// serves (azidentity's DisableAutomaticAuthentication).
	NoPrompt bool
}

// Scopes returns the scopes to request for a mode.
func (o AuthOptions) Scopes() []string {
	switch o.Mode {
	case AuthBrowser, AuthDeviceCode:
		out := make([]string, 0, len(DelegatedScopes))
		for _, s := range DelegatedScopes {
			out = append(out, o.Cloud.GraphURL+"/"+s)
		}
		return out
	default:
		return []string{o.Cloud.Scope()}
	}
}

// NewCredential builds the credential for a mode. It does no I/O; the first token request
// happens on the first Graph call.
func NewCredential(o AuthOptions) (azcore.TokenCredential, error) {
	getenv := o.Getenv
	client := policy.ClientOptions{Cloud: azCloud(o.Cloud)}
	// Instance discovery asks login.microsoftonline.com about the authority: only for
	// Microsoft's own hosts, never for an override (which may have no route to it).
	noDiscovery := !o.Cloud.knownLogin()
	if o.HTTPClient != nil {
		client.Transport = o.HTTPClient
	}
	clientID := o.PublicClientID
	if clientID == "" {
		clientID = DefaultPublicClientID
	}
	switch o.Mode {
	case AuthToken:
		if strings.TrimSpace(o.Token) == "" {
			return nil, fmt.Errorf("--auth token needs a Graph access token in INVICTI_SCIM_GRAPH_TOKEN")
		}
		return StaticToken(strings.TrimSpace(o.Token)), nil
	case AuthEnvironment:
		if getenv != nil && getenv("AZURE_FEDERATED_TOKEN_FILE") != "" {
			return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: client, TenantID: o.Tenant, DisableInstanceDiscovery: noDiscovery})
		}
		return azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: client, DisableInstanceDiscovery: noDiscovery})
	case AuthAzureCLI:
		return azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: o.Tenant})
	case AuthBrowser:
		return azidentity.NewInteractiveBrowserCredential(&azidentity.InteractiveBrowserCredentialOptions{
			ClientOptions: client, ClientID: clientID, TenantID: o.publicTenant(), DisableInstanceDiscovery: noDiscovery,
			Cache: o.Cache, AuthenticationRecord: o.Record, DisableAutomaticAuthentication: o.NoPrompt, LoginHint: o.Record.Username,
		})
	case AuthDeviceCode:
		prompt := o.Prompt
		return azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: client, ClientID: clientID, TenantID: o.publicTenant(), DisableInstanceDiscovery: noDiscovery,
			Cache: o.Cache, AuthenticationRecord: o.Record, DisableAutomaticAuthentication: o.NoPrompt,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				if prompt != nil {
					fmt.Fprintln(prompt, m.Message)
				}
				return nil
			},
		})
	}
	return nil, fmt.Errorf("unknown --auth %q: expected one of browser, device-code, azure-cli, environment, token", o.Mode)
}

// publicTenant is the tenant a browser or device-code credential signs in to. A silent
// sign-in from a saved record must use the authority the sign-in used: MSAL files access
// tokens under the authority's tenant ("organizations" when none was asked for).
func (o AuthOptions) publicTenant() string { return o.Tenant }

// Authenticate signs a person in through a browser or device-code credential and returns the
// record that lets later runs sign in silently from the credential's cache. Other
// credentials have no record: ErrNoRecord.
func Authenticate(ctx context.Context, cred azcore.TokenCredential, scopes []string) (azidentity.AuthenticationRecord, error) {
	a, ok := cred.(interface {
		Authenticate(context.Context, *policy.TokenRequestOptions) (azidentity.AuthenticationRecord, error)
	})
	if !ok {
		return azidentity.AuthenticationRecord{}, ErrNoRecord
	}
	rec, err := a.Authenticate(ctx, &policy.TokenRequestOptions{Scopes: scopes})
	if err != nil {
		return rec, &SignInError{Err: err}
	}
	return rec, nil
}

// ErrNoRecord: the credential signs in without a person (token, environment, Azure CLI), so
// there is no account record to keep.
var ErrNoRecord = errors.New("this sign-in method keeps no account record")

// NeedsInteraction reports whether err says a cached sign-in no longer serves and a person
// must sign in again (azidentity.AuthenticationRequiredError, from NoPrompt credentials).
func NeedsInteraction(err error) bool {
	var ar *azidentity.AuthenticationRequiredError
	return errors.As(err, &ar)
}

func azCloud(c Cloud) cloud.Configuration {
	conf := cloud.AzurePublic
	switch c.Name {
	case "usgov":
		conf = cloud.AzureGovernment
	case "china":
		conf = cloud.AzureChina
	}
	if c.LoginURL != "" && !c.knownLogin() {
		// AZURE_AUTHORITY_HOST: another authority host (an emulator, a disconnected cloud).
		conf.ActiveDirectoryAuthorityHost = strings.TrimRight(c.LoginURL, "/") + "/"
	}
	return conf
}

// knownLogin reports whether the cloud signs in at one of Microsoft's authority hosts, where
// MSAL's instance discovery (a call to login.microsoftonline.com) applies.
func (c Cloud) knownLogin() bool {
	for _, k := range Clouds() {
		if strings.EqualFold(strings.TrimRight(c.LoginURL, "/"), k.LoginURL) {
			return true
		}
	}
	return false
}

// CustomLogin reports whether sign-in goes to an authority host other than Microsoft's
// (AZURE_AUTHORITY_HOST).
func (c Cloud) CustomLogin() bool { return !c.knownLogin() }

// ValidateLoginURL checks an authority host override (AZURE_AUTHORITY_HOST): an absolute https
// URL without credentials, query or fragment (MSAL refuses anything but https authorities).
func ValidateLoginURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("authority host %q: expected an https URL such as https://login.microsoftonline.com", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// StaticToken is a credential that always returns one ready token.
type StaticToken string

// GetToken implements azcore.TokenCredential.
func (t StaticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	exp := time.Now().Add(time.Hour)
	if c, err := ParseClaims(string(t)); err == nil && c.Expires > 0 {
		exp = time.Unix(c.Expires, 0)
	}
	return azcore.AccessToken{Token: string(t), ExpiresOn: exp}, nil
}

// Claims are what a Graph access token says about its holder. They are read, not verified:
// Graph verifies; the tool only uses them to explain permissions.
type Claims struct {
	TenantID  string   `json:"tid"`
	UPN       string   `json:"upn"`
	Name      string   `json:"name"`
	ObjectID  string   `json:"oid"`
	AppID     string   `json:"appid"`
	AppName   string   `json:"app_displayname"`
	Scope     string   `json:"scp"`   // delegated permissions, space separated
	Roles     []string `json:"roles"` // application permissions
	WIDs      []string `json:"wids"`  // directory role template ids
	Expires   int64    `json:"exp"`   // Unix seconds
	NotBefore int64    `json:"nbf"`   // Unix seconds
	Audience  string   `json:"aud"`
}

// ClockSkew is the leeway given to nbf, as Microsoft's token validation allows five minutes of
// clock difference between issuer and resource (Microsoft.IdentityModel's default ClockSkew).
const ClockSkew = 5 * time.Minute

// Lifetime checks exp and nbf against now: nil while the token is valid, else a
// *TokenLifetimeError. Claims without exp are not judged (Graph will).
func (c Claims) Lifetime(now time.Time) error {
	exp, nbf := c.ExpiresAt(), time.Time{}
	if c.NotBefore > 0 {
		nbf = time.Unix(c.NotBefore, 0)
	}
	switch {
	case !nbf.IsZero() && now.Add(ClockSkew).Before(nbf):
		return &TokenLifetimeError{NotYetValid: true, NotBefore: nbf, Expires: exp, Now: now}
	case !exp.IsZero() && !now.Before(exp):
		return &TokenLifetimeError{Expires: exp, NotBefore: nbf, Now: now}
	}
	return nil
}

// ExpiresAt is the exp claim as a time (zero when absent).
func (c Claims) ExpiresAt() time.Time {
	if c.Expires <= 0 {
		return time.Time{}
	}
	return time.Unix(c.Expires, 0)
}

// Scopes returns delegated and application permissions together.
func (c Claims) Scopes() []string {
	out := strings.Fields(c.Scope)
	return append(out, c.Roles...)
}

// Delegated reports whether the token was issued to a signed-in person.
func (c Claims) Delegated() bool { return c.Scope != "" || c.UPN != "" }

// ErrNotJWT means the token's claims cannot be read: it is not a JWT (some sign-ins hand out
// opaque tokens), or its payload does not decode. Graph may still accept it; only Graph can
// say (doctor asks it with one read).
var ErrNotJWT = errors.New("not a JWT")

// ParseClaims decodes a JWT's payload without verifying it. A token whose claims cannot be
// read (not three dot-separated parts, a payload that is not base64url JSON) is ErrNotJWT,
// wrapped with what failed.
func ParseClaims(token string) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, ErrNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, fmt.Errorf("%w: decode token payload: %w", ErrNotJWT, err)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: decode token claims: %w", ErrNotJWT, err)
	}
	return c, nil
}

// TokenClaims gets a token from cred and reads its claims.
func TokenClaims(ctx context.Context, cred azcore.TokenCredential, scopes []string) (Claims, error) {
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: scopes})
	if err != nil {
		return Claims{}, &SignInError{Err: err}
	}
	return ParseClaims(tok.Token)
}
