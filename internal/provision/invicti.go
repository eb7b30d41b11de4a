package provision

import (
	"context"
	"net/http"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// The Invicti values commands pass around. They are pkg/invicti's plain value types (no I/O);
// the aliases let cmd name them without importing the gateway package.
type (
	// Endpoints are an Invicti tenant's Base URL, Tenant URL and Token Endpoint.
	Endpoints = invicti.Endpoints
	// Credentials are the Invicti SCIM client id and secret.
	Credentials = invicti.Credentials
	// CheckResult is the outcome of the direct Invicti check, step by step.
	CheckResult = invicti.Result
	// CheckStep is one step of the direct Invicti check.
	CheckStep = invicti.Step
)

// SCIMFinder looks a user up in Invicti over SCIM (provision --verify).
type SCIMFinder interface {
	FindUser(ctx context.Context, userName string) (*invicti.SCIMUser, error)
}

// Invicti is the Invicti side of the use cases: the direct check of the credentials (the
// calls Entra's Test Connection makes) and the SCIM client that verifies provisioned users.
type Invicti struct{ c *invicti.Checker }

// NewInvicti talks to Invicti over hc (which must refuse redirects and bound answers, as
// cmd's clients do) with the clock now (nil: time.Now).
func NewInvicti(hc *http.Client, now func() time.Time) *Invicti {
	return &Invicti{c: &invicti.Checker{HTTP: hc, Now: now}}
}

// Check runs the direct check: a client-credentials token, GET /ServiceProviderConfig and a
// user query. It never returns an error; failures are in the steps.
func (i *Invicti) Check(ctx context.Context, ep Endpoints, cred Credentials) CheckResult {
	return i.c.Check(ctx, ep, cred)
}

// Client is a SCIM client for the tenant, signed in with cred.
func (i *Invicti) Client(ctx context.Context, ep Endpoints, cred Credentials) SCIMFinder {
	return i.c.Client(ctx, ep, cred)
}

// RegionInfo is an Invicti Platform region with the SCIM URLs it gives.
type RegionInfo struct {
	Name, Label, BaseURL, TenantURL, TokenURL string
}

// Regions lists the Invicti Platform regions for --region.
func Regions() []RegionInfo {
	var out []RegionInfo
	for _, r := range invicti.Regions() {
		ep := invicti.EndpointsFor(r.BaseURL)
		out = append(out, RegionInfo{Name: r.Name, Label: r.Label, BaseURL: r.BaseURL, TenantURL: ep.TenantURL, TokenURL: ep.TokenURL})
	}
	return out
}

// DecodeText reads a text input (a secret or credentials file, standard input, a principal
// list) the way Windows and Unix tools write it: UTF-8 with or without a BOM; UTF-16 and
// binary data are a *UsageError naming source.
func DecodeText(source string, data []byte) (string, error) {
	text, err := invicti.DecodeText(source, data)
	if err != nil {
		return "", &UsageError{Err: err}
	}
	return text, nil
}

// DecodeSecret is DecodeText followed by TrimSecret: the secret in a file or on standard
// input. "" means the input held no secret.
func DecodeSecret(source string, data []byte) (string, error) {
	text, err := DecodeText(source, data)
	if err != nil {
		return "", err
	}
	return invicti.TrimSecret(text), nil
}

// TrimSecret removes the one line ending a shell or editor adds after a secret.
func TrimSecret(s string) string { return invicti.TrimSecret(s) }

// DecodeCredentials reads the credentials JSON Invicti returns ({"credentials":{"clientId",
// "clientSecret"}}). Errors name source and never contain the secret.
func DecodeCredentials(source string, data []byte) (Credentials, error) {
	text, err := DecodeText(source, data)
	if err != nil {
		return Credentials{}, err
	}
	return invicti.ParseCredentialsJSON(source, []byte(text))
}

// ValidateSecret checks a client secret from source (a flag or variable name); the error
// never contains the secret.
func ValidateSecret(source, secret string) error { return invicti.ValidateSecret(source, secret) }

// ResolveInvicti turns a region or Invicti URL and the client id (from clientIDSource, for
// messages) into the endpoints and credentials every Invicti call uses. Bad values are
// *invicti.InputError (a usage problem, see Classify).
func ResolveInvicti(region, rawURL, clientIDSource, clientID, secret string) (Endpoints, Credentials, error) {
	ep, err := invicti.ResolveEndpoints(region, rawURL)
	if err != nil {
		return Endpoints{}, Credentials{}, err
	}
	if err := invicti.ValidateClientID(clientIDSource, clientID); err != nil {
		return Endpoints{}, Credentials{}, err
	}
	return ep, Credentials{ClientID: clientID, ClientSecret: secret}, nil
}

// InvictiGiven is the Invicti side as far as the flags and the environment give it.
type InvictiGiven struct {
	Region, URL string // --region, --invicti-url (or INVICTI_SCIM_INVICTI_URL)
	ClientID    string
	// ClientIDSource names where ClientID came from, for messages (--client-id,
	// INVICTI_SCIM_CLIENT_ID, --credentials-file).
	ClientIDSource string
	Secret         string
}

// SecretSources is how the missing-input message names every source of the client secret.
const SecretSources = "a client secret (env INVICTI_SCIM_CLIENT_SECRET, --client-secret-stdin, --client-secret-file or --credentials-file)"

// CompleteInvicti fills what the flags did not give from the state setup recorded (the region,
// or the URL of a custom tenant, and the client id; never the secret) and lists what is still
// missing, as the flags to pass. st may be nil.
func CompleteInvicti(in InvictiGiven, st *state.State) (InvictiGiven, []string) {
	if in.Region == "" && in.URL == "" && st != nil && st.Invicti != nil {
		if st.Invicti.Region != "" && st.Invicti.Region != "custom" {
			in.Region = st.Invicti.Region
		} else {
			in.URL = st.Invicti.BaseURL
		}
	}
	if in.ClientID == "" && st != nil && st.Invicti != nil {
		in.ClientID, in.ClientIDSource = st.Invicti.ClientID, "state"
	}
	var missing []string
	if in.Region == "" && in.URL == "" {
		missing = append(missing, "--region (us, eu, ca) or --invicti-url")
	}
	if in.ClientID == "" {
		missing = append(missing, "--client-id")
	}
	if in.Secret == "" {
		missing = append(missing, SecretSources)
	}
	return in, missing
}
