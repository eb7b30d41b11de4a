package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // an X.509 thumbprint is SHA-1 by definition, not a security choice
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// SAML single sign-on on the app, as "Configure SAML-based single sign-on for your application
// using the Microsoft Graph API" (learn.microsoft.com/graph/application-saml-sso-configure-api)
// does it:
//   - PATCH /servicePrincipals/{id} {preferredSingleSignOnMode: "saml"} (serviceprincipal.md:
//     the supported values are password, saml, notSupported and oidc);
//   - PATCH /applications/{id} {identifierUris: […], web: {redirectUris: […]}} (application.md,
//     webApplication.md);
//   - POST /servicePrincipals/{id}/addTokenSigningCertificate {displayName: "CN=…", endDateTime}
//     (serviceprincipal-addtokensigningcertificate.md: displayName must start with CN=; the end
//     can be up to three years after creation, default three years; it adds a Sign and a Verify
//     keyCredential with the same customKeyIdentifier, and answers a selfSignedCertificate);
//   - PATCH /servicePrincipals/{id} {preferredTokenSigningKeyThumbprint} to activate it.

// keyCred is one keyCredential of a service principal (the public Verify half; the private
// Sign half and the PFX password are not modelled: Graph never returns them).
type keyCred struct {
	KeyID, DisplayName, Thumbprint string
	Start, End                     time.Time
	DER                            []byte
}

// ssoModes are servicePrincipal.preferredSingleSignOnMode's documented values.
var ssoModes = []string{"password", "saml", "notSupported", "oidc"}

func keyCredsJSON(keys []keyCred) []any {
	out := []any{}
	for _, k := range keys {
		tp, _ := hex.DecodeString(k.Thumbprint)
		// GET returns key: null for keyCredentials (keycredential.md: "key … is returned only
		// on $select in a single object query"); status reads the dates and thumbprint only.
		out = append(out, map[string]any{
			"customKeyIdentifier": base64.StdEncoding.EncodeToString(tp), "displayName": k.DisplayName,
			"endDateTime": fmtTime(k.End), "startDateTime": fmtTime(k.Start), "keyId": k.KeyID,
			"type": "AsymmetricX509Cert", "usage": "Verify", "key": nil,
		})
	}
	return out
}

// newSigningCert makes a self-signed RSA certificate like the one Entra creates.
func newSigningCert(subject string, start, end time.Time) (keyCred, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return keyCred{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return keyCred{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: strings.TrimPrefix(subject, "CN=")},
		NotBefore:    start, NotAfter: end,
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return keyCred{}, err
	}
	sum := sha1.Sum(der) //nolint:gosec // thumbprint
	return keyCred{KeyID: uuid.NewString(), DisplayName: subject, Thumbprint: strings.ToUpper(hex.EncodeToString(sum[:])),
		Start: start, End: end, DER: der}, nil
}

func hAddTokenSigningCertificate(t *Tenant, req *request, p params) *response {
	sp, e := t.visibleSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	body, e := req.bodyObject("servicePrincipal.addTokenSigningCertificate", "displayName", "endDateTime")
	if e != nil {
		return t.errorResponse(req, e)
	}
	var name, endRaw string
	if _, e := prop(body, "displayName", &name); e != nil {
		return t.errorResponse(req, e)
	}
	if _, e := prop(body, "endDateTime", &endRaw); e != nil {
		return t.errorResponse(req, e)
	}
	if name != "" && !strings.HasPrefix(name, "CN=") {
		return t.errorResponse(req, badRequest("The displayName '%s' must start with 'CN='.", name))
	}
	if name == "" {
		name = "CN=Microsoft Azure Federated SSO Certificate"
	}
	now := t.now().UTC().Truncate(time.Second)
	end := now.AddDate(3, 0, 0)
	if endRaw != "" {
		tm, err := time.Parse(time.RFC3339, endRaw)
		if err != nil {
			return t.errorResponse(req, badRequest("Cannot convert the literal '%s' to the expected type 'Edm.DateTimeOffset'.", endRaw))
		}
		if !tm.After(now) || tm.After(now.AddDate(3, 0, 0).Add(time.Minute)) {
			return t.errorResponse(req, badRequest("The endDateTime must be in the future and at most three years after the certificate is created."))
		}
		end = tm.UTC()
	}
	k, err := newSigningCert(name, now, end)
	if err != nil {
		return t.errorResponse(req, newErr(http.StatusInternalServerError, "InternalServerError", "%v", err))
	}
	sp.keyCreds = append(sp.keyCreds, k)
	tp, _ := hex.DecodeString(k.Thumbprint)
	return jsonResponse(http.StatusOK, map[string]any{
		"@odata.context":      req.contextURL("microsoft.graph.selfSignedCertificate"),
		"customKeyIdentifier": base64.StdEncoding.EncodeToString(tp),
		"displayName":         k.DisplayName,
		"endDateTime":         fmtTime(k.End),
		"key":                 base64.StdEncoding.EncodeToString(k.DER),
		"keyId":               k.KeyID,
		"startDateTime":       fmtTime(k.Start),
		"thumbprint":          k.Thumbprint,
		"type":                "AsymmetricX509Cert",
		"usage":               "Verify",
	})
}

// patchSPSSO applies the SSO properties of a service principal PATCH; the caller has
// validated the body's property names.
func patchSPSSO(sp *servicePrincipal, body map[string]json.RawMessage) *apiError {
	if raw, ok := body["preferredSingleSignOnMode"]; ok {
		var mode *string
		if err := json.Unmarshal(raw, &mode); err != nil {
			return badRequest("Invalid value for property 'preferredSingleSignOnMode'.")
		}
		if mode != nil && !slices.Contains(ssoModes, *mode) {
			return badRequest("Invalid value specified for property 'preferredSingleSignOnMode' of resource 'ServicePrincipal'. Supported values: %s.", strings.Join(ssoModes, ", "))
		}
		sp.ssoMode = mode
	}
	if raw, ok := body["preferredTokenSigningKeyThumbprint"]; ok {
		var tp *string
		if err := json.Unmarshal(raw, &tp); err != nil {
			return badRequest("Invalid value for property 'preferredTokenSigningKeyThumbprint'.")
		}
		if tp != nil && !slices.ContainsFunc(sp.keyCreds, func(k keyCred) bool { return strings.EqualFold(k.Thumbprint, *tp) }) {
			// [INF] Graph's wording is not public; a thumbprint naming no key of the app
			// would leave the app unable to sign.
			return badRequest("The preferredTokenSigningKeyThumbprint '%s' does not match a signing key of the service principal.", *tp)
		}
		if tp == nil {
			sp.signingThumbprint = ""
		} else {
			sp.signingThumbprint = strings.ToUpper(*tp)
		}
	}
	return nil
}

func hAppPatch(t *Tenant, req *request, p params) *response {
	if !isGUID(p.appID) {
		return t.errorResponse(req, invalidObjectID(p.appID))
	}
	a := t.findApp(p.appID)
	if a == nil || !t.replicated(a.created) {
		return t.errorResponse(req, notFound(p.appID))
	}
	body, e := req.bodyObject("application", "identifierUris", "web", "displayName")
	if e != nil {
		return t.errorResponse(req, e)
	}
	// application.md: displayName is required and at most 256 characters; a rename is a
	// PATCH of it (the portal's Properties → Name does the same).
	var name string
	setName, e := prop(body, "displayName", &name)
	if e != nil {
		return t.errorResponse(req, e)
	}
	if _, present := body["displayName"]; present && (!setName || strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > 256) {
		return t.errorResponse(req, badRequest("Invalid value specified for property 'displayName' of resource 'Application'."))
	}
	var ids []string
	setIDs, e := prop(body, "identifierUris", &ids)
	if e != nil {
		return t.errorResponse(req, e)
	}
	if setIDs {
		for _, id := range ids {
			u, err := url.Parse(id)
			if err != nil || u.Scheme == "" {
				return t.errorResponse(req, badRequest("Invalid value specified for property 'identifierUris' of resource 'Application'."))
			}
			for _, other := range t.apps {
				if other != a && slices.Contains(other.identifierURIs, id) {
					return t.errorResponse(req, badRequest("Another object with the same value for property identifierUris already exists."))
				}
			}
		}
	}
	var redirects []string
	setWeb := false
	if raw, ok := body["web"]; ok {
		web, e := decodeObject(raw, "webApplication", "redirectUris", "homePageUrl", "logoutUrl")
		if e != nil {
			return t.errorResponse(req, e)
		}
		if setWeb, e = prop(web, "redirectUris", &redirects); e != nil {
			return t.errorResponse(req, e)
		}
		for _, r := range redirects {
			// application.md (web.redirectUris): https, or http only for localhost.
			u, err := url.Parse(r)
			if err != nil || !(u.Scheme == "https" || u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")) {
				return t.errorResponse(req, badRequest("Invalid value specified for property 'web.redirectUris' of resource 'Application': '%s' must use https.", r))
			}
		}
	}
	if setName {
		a.displayName = name
	}
	if setIDs {
		a.identifierURIs = slices.Clone(ids)
	}
	if setWeb {
		a.redirectURIs = slices.Clone(redirects)
	}
	return noContent()
}

// SSO is a snapshot of an app's single sign-on settings.
type SSO struct {
	Mode               string // "" when never set
	IdentifierURIs     []string
	RedirectURIs       []string
	SigningThumbprint  string
	SigningCertsExpiry []time.Time
}

// SSOSettings returns the SSO settings of the app behind a service principal.
func (t *Tenant) SSOSettings(spID string) SSO {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp := t.findSP(spID)
	if sp == nil {
		return SSO{}
	}
	out := SSO{IdentifierURIs: slices.Clone(sp.app.identifierURIs), RedirectURIs: slices.Clone(sp.app.redirectURIs),
		SigningThumbprint: sp.signingThumbprint}
	if sp.ssoMode != nil {
		out.Mode = *sp.ssoMode
	}
	for _, k := range sp.keyCreds {
		out.SigningCertsExpiry = append(out.SigningCertsExpiry, k.End)
	}
	return out
}

// AgeSigningCerts moves every signing certificate of the app's service principal to expire
// after d from now (for rehearsing a certificate that is about to expire).
func (t *Tenant) AgeSigningCerts(spID string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sp := t.findSP(spID); sp != nil {
		for i := range sp.keyCreds {
			sp.keyCreds[i].End = t.now().Add(d).UTC().Truncate(time.Second)
		}
	}
}
