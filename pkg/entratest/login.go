package entratest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // RS256 assertions name their certificate by SHA-1 thumbprint
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Login is an emulated Microsoft Entra sign-in endpoint (Microsoft identity platform v2.0) for
// one Tenant, served over TLS with its own certificate, so that azidentity and MSAL run their
// real sign-in code against it. Point the tool at it with AZURE_AUTHORITY_HOST=Login.URL and
// make the child trust Login.CertPEM (SSL_CERT_FILE). It serves:
//
//   - GET  /{tenant}/v2.0/.well-known/openid-configuration, the OpenID Connect metadata MSAL
//     reads first (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri);
//   - POST /{tenant}/oauth2/v2.0/token with grant_type client_credentials and a client_secret
//     (form field or HTTP Basic) or a client_assertion (a certificate's signed JWT, or a
//     federated workload identity token)
//     (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow),
//     and grant_type urn:ietf:params:oauth:grant-type:device_code (or device_code, as MSAL sends)
//     (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code);
//   - POST /{tenant}/oauth2/v2.0/devicecode, which the emulated user approves at once;
//   - GET  /{tenant}/oauth2/v2.0/authorize, the browser step of the authorization code flow
//     with PKCE, which signs the emulated admin in and sends a code back (a redirect, or for
//     response_mode=form_post, as MSAL asks, a self-submitting form); the token
//     endpoint then redeems it (grant_type authorization_code, code_verifier checked);
//   - grant_type refresh_token for the refresh tokens it issued, from the same client, which
//     MSAL sends when a cached access token has expired.
//
// Errors follow the v2.0 error response (error, error_description, error_codes) with the AADSTS
// codes Entra uses: 7000215 (invalid client secret), 700027 (bad client assertion), 70000
// (unknown device code or refresh token), 900144 (missing grant field).
type Login struct {
	URL     string // https://127.0.0.1:PORT, the authority host
	CertPEM []byte // the server certificate, PEM: the only CA a client needs to trust it

	t   *Tenant
	srv *httptest.Server

	mu         sync.Mutex
	secrets    map[string]string            // client id -> client secret
	assertions map[string]string            // client id -> federated token it may present
	certs      map[string]*x509.Certificate // client id -> certificate whose key signs assertions
	devices    map[string]string            // issued device code -> the scopes it asked for
	codes      map[string]authCode          // issued authorization codes
	refresh    map[string]refreshGrant      // issued refresh tokens
	grants     []string                     // grant types seen, in order
	issued     []string                     // every credential handed out (tokens, device codes)
}

// StartLogin starts the tenant's emulated sign-in endpoint. Close it when done.
func (t *Tenant) StartLogin() *Login {
	l := &Login{t: t, secrets: map[string]string{}, assertions: map[string]string{}, certs: map[string]*x509.Certificate{}, devices: map[string]string{}, codes: map[string]authCode{}, refresh: map[string]refreshGrant{}}
	l.srv = httptest.NewTLSServer(http.HandlerFunc(l.serve))
	l.URL = l.srv.URL
	l.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.srv.Certificate().Raw})
	return l
}

// Close stops the server.
func (l *Login) Close() { l.srv.Close() }

// AddClient registers a confidential client and its secret (client credentials grant).
func (l *Login) AddClient(clientID, secret string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets[clientID] = secret
}

// AddFederated registers the federated token a workload identity presents as its assertion.
func (l *Login) AddFederated(clientID, assertion string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.assertions[clientID] = assertion
}

// refreshGrant is what a refresh token was issued for: the public client and the scopes.
type refreshGrant struct{ clientID, scope string }

// authCode is an authorization code waiting to be redeemed, with what it is bound to.
type authCode struct {
	clientID, redirectURI, challenge, scope string
}

// AddCertificate registers a certificate credential: the client proves itself with a JWT
// assertion signed by the certificate's key (PS256, x5t#S256 header), as MSAL sends it.
func (l *Login) AddCertificate(clientID string, cert *x509.Certificate) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.certs[clientID] = cert
}

// Issued lists every credential the endpoint handed out (access, refresh and ID tokens,
// device codes), so tests can prove none of them reached an output.
func (l *Login) Issued() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.issued...)
}

func (l *Login) issue(creds ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.issued = append(l.issued, creds...)
}

// Grants lists the grant types of the token requests served, in order.
func (l *Login) Grants() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.grants...)
}

func (l *Login) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := parts[0], strings.Join(parts[1:], "/")
	if !strings.EqualFold(tenant, l.t.TenantID()) && tenant != "organizations" && tenant != "common" {
		loginError(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found.")
		return
	}
	authority := l.URL + "/" + tenant
	switch {
	case r.Method == http.MethodGet && rest == "v2.0/.well-known/openid-configuration":
		writeLoginJSON(w, http.StatusOK, map[string]any{
			"issuer":                                l.URL + "/" + l.t.TenantID() + "/v2.0",
			"authorization_endpoint":                authority + "/oauth2/v2.0/authorize",
			"token_endpoint":                        authority + "/oauth2/v2.0/token",
			"device_authorization_endpoint":         authority + "/oauth2/v2.0/devicecode",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"tenant_region_scope":                   "EU",
		})
	case r.Method == http.MethodGet && rest == "oauth2/v2.0/authorize":
		l.authorize(w, r)
	case r.Method == http.MethodPost && rest == "oauth2/v2.0/devicecode":
		l.deviceCode(w, r)
	case r.Method == http.MethodPost && rest == "oauth2/v2.0/token":
		l.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

// authorize is the browser step of the authorization code flow with PKCE
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow): the emulated
// admin is signed in and consents at once, so it redirects straight back with a code bound to
// the client, the redirect URI and the S256 code challenge. Entra requires PKCE for public
// clients on localhost redirect URIs.
func (l *Login) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme != "http" || (u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1") {
		loginError(w, http.StatusBadRequest, "invalid_request", 50011, "The redirect URI '"+redirect+"' specified in the request does not match the redirect URIs configured for the application.")
		return
	}
	if q.Get("response_type") != "code" || q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" || q.Get("client_id") == "" {
		loginError(w, http.StatusBadRequest, "invalid_request", 9002325, "Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
		return
	}
	code := "code-" + randomCode(40)
	l.mu.Lock()
	l.codes[code] = authCode{clientID: q.Get("client_id"), redirectURI: redirect, challenge: q.Get("code_challenge"), scope: q.Get("scope")}
	l.mu.Unlock()
	l.issue(code)
	if q.Get("response_mode") == "form_post" {
		// The page Entra answers with for response_mode=form_post: a form that the browser
		// submits to the redirect URI at once, so the code never appears in a URL.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<html><head><title>Working...</title></head><body onload="document.forms[0].submit()"><form method="post" action="%s">`+
			`<input type="hidden" name="code" value="%s"/><input type="hidden" name="state" value="%s"/><input type="hidden" name="session_state" value="%s"/>`+
			`</form></body></html>`, html.EscapeString(redirect), html.EscapeString(code), html.EscapeString(q.Get("state")), uuid.NewString())
		return
	}
	back := u.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	back.Set("session_state", uuid.NewString())
	u.RawQuery = back.Encode()
	// The redirect goes to the client's registered loopback redirect_uri (checked above), as
	// the authorization-code flow prescribes (RFC 6749 §4.1.2).
	http.Redirect(w, r, u.String(), http.StatusFound) //nolint:gosec // G710: the redirect_uri was validated against loopback
}

func (l *Login) deviceCode(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") == "" {
		loginError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	code := randomCode(32)
	user := strings.ToUpper(randomCode(8))
	l.mu.Lock()
	l.devices[code] = r.PostForm.Get("scope")
	l.mu.Unlock()
	l.issue(code)
	writeLoginJSON(w, http.StatusOK, map[string]any{
		"device_code":      code,
		"user_code":        user,
		"verification_uri": "https://microsoft.com/devicelogin",
		"expires_in":       900,
		"interval":         1,
		"message":          "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code " + user + " to authenticate.",
	})
}

func (l *Login) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		loginError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be a form.")
		return
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	l.mu.Lock()
	l.grants = append(l.grants, grant)
	l.mu.Unlock()
	clientID := f.Get("client_id")
	if id, secret, ok := r.BasicAuth(); ok {
		clientID = id
		f.Set("client_secret", secret)
	}
	switch grant {
	case "client_credentials":
		l.mu.Lock()
		secret, hasSecret := l.secrets[clientID]
		assertion, hasAssertion := l.assertions[clientID]
		l.mu.Unlock()
		switch {
		case f.Get("client_assertion") != "":
			a := f.Get("client_assertion")
			l.mu.Lock()
			cert := l.certs[clientID]
			l.mu.Unlock()
			okType := f.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
			federated := hasAssertion && a == assertion
			signed := cert != nil && verifyCertAssertion(a, cert, clientID, l.URL+r.URL.Path)
			if !okType || (!federated && !signed) {
				loginError(w, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation.")
				return
			}
		case !hasSecret || f.Get("client_secret") != secret:
			loginError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+clientID+"'.")
			return
		}
		// An app-only token: the application permissions as roles (v2-oauth2-client-creds-grant-flow).
		p := Principal{AppOnly: true, Scopes: DefaultScopes}
		tok := makeToken(l.t.TenantID(), l.t.audience, p)
		l.t.AddToken(tok, p)
		l.issue(tok)
		writeLoginJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
	case "urn:ietf:params:oauth:grant-type:device_code", "device_code":
		// Entra accepts the short name too, and MSAL sends it.
		code := f.Get("device_code")
		l.mu.Lock()
		scope, ok := l.devices[code]
		delete(l.devices, code)
		l.mu.Unlock()
		if !ok {
			loginError(w, http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the input parameter 'device_code' is not valid.")
			return
		}
		l.userTokens(w, clientID, scope)
	case "authorization_code":
		code := f.Get("code")
		l.mu.Lock()
		ac, ok := l.codes[code]
		delete(l.codes, code) // a code is redeemed once
		l.mu.Unlock()
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case !ok || ac.clientID != clientID:
			loginError(w, http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity.")
			return
		case ac.redirectURI != f.Get("redirect_uri"):
			loginError(w, http.StatusBadRequest, "invalid_grant", 500112, "The reply address does not match the reply address provided when requesting Authorization code.")
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge:
			loginError(w, http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
			return
		}
		l.userTokens(w, clientID, ac.scope)
	case "refresh_token":
		// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token:
		// a refresh token is bound to the client it was issued to; Entra answers invalid_grant
		// (70000 for one it does not know) otherwise. Each answer carries a new refresh
		// token; the old one is not revoked by use (the same page: "Refresh tokens aren't
		// revoked when used to acquire new access tokens").
		rt := f.Get("refresh_token")
		l.mu.Lock()
		g, ok := l.refresh[rt]
		l.mu.Unlock()
		if !ok || g.clientID != clientID {
			loginError(w, http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.")
			return
		}
		scope := f.Get("scope")
		if scope == "" {
			scope = g.scope
		}
		l.userTokens(w, clientID, scope)
	default:
		loginError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+grant+"'.")
	}
}

// userTokens answers a delegated sign-in of the tenant's default admin: access, refresh and ID
// tokens plus client_info, which MSAL needs to cache the account. The scope answered is the
// scope granted: the one requested (the emulated admin consents to everything), without the
// OpenID scopes, which Entra does not list either.
func (l *Login) userTokens(w http.ResponseWriter, clientID, scope string) {
	p := Principal{UPN: DefaultAdminUPN, Scopes: DefaultScopes, Roles: []string{RoleApplicationAdministrator}}
	tok := makeToken(l.t.TenantID(), l.t.audience, p)
	l.t.AddToken(tok, p)
	oid := ""
	if c := tokenClaims(tok); c != nil {
		oid, _ = c["oid"].(string)
	}
	tid := l.t.TenantID()
	enc := base64.RawURLEncoding
	now := time.Now()
	// The ID token's issuer is the authority that issued it, the same as the OpenID
	// configuration's "issuer" (OpenID Connect Core 1.0 §3.1.3.7: iss MUST exactly match the
	// discovery document's issuer; Entra's is https://login.microsoftonline.com/{tid}/v2.0 on
	// its own host). MSAL and azidentity's AuthenticationRecord take the account's environment
	// from it, so a silent sign-in from a saved record finds the cached tokens only when it
	// names this host.
	idClaims, _ := json.Marshal(map[string]any{
		"aud": clientID, "iss": l.URL + "/" + tid + "/v2.0", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "oid": oid, "sub": oid, "tid": tid, "preferred_username": DefaultAdminUPN, "name": DefaultAdminUPN, "ver": "2.0",
	})
	idToken := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"none"}`)) + "." + enc.EncodeToString(idClaims) + "."
	clientInfo, _ := json.Marshal(map[string]string{"uid": oid, "utid": tid})
	refresh := "rt-" + randomCode(40)
	l.mu.Lock()
	l.refresh[refresh] = refreshGrant{clientID: clientID, scope: scope}
	l.mu.Unlock()
	l.issue(tok, refresh, idToken)
	writeLoginJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok,
		"scope": grantedScope(scope), "refresh_token": refresh, "id_token": idToken,
		"client_info": enc.EncodeToString(clientInfo),
	})
}

// verifyCertAssertion checks a certificate credential's client assertion the way Entra does
// (https://learn.microsoft.com/entra/identity-platform/certificate-credentials): a JWT whose
// header names the certificate by its SHA-256 thumbprint (x5t#S256) and is signed PS256 (or
// RS256 with a SHA-1 x5t) by its key, with iss and sub the client id, aud the token endpoint,
// and an exp in the future.
func verifyCertAssertion(a string, cert *x509.Certificate, clientID, tokenURL string) bool {
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		return false
	}
	enc := base64.RawURLEncoding
	var header struct {
		Alg     string `json:"alg"`
		X5tS256 string `json:"x5t#S256"`
		X5t     string `json:"x5t"`
	}
	var claims struct {
		Aud string `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}
	hb, err1 := enc.DecodeString(parts[0])
	cb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return false
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || claims.Iss != clientID || claims.Sub != clientID || !strings.EqualFold(claims.Aud, tokenURL) || time.Now().Unix() > claims.Exp {
		return false
	}
	signing := []byte(parts[0] + "." + parts[1])
	switch header.Alg {
	case "PS256":
		sum := sha256.Sum256(cert.Raw)
		// MSAL encodes the thumbprint with standard base64; RFC 7515 §4.1.8 says base64url.
		if header.X5tS256 != base64.StdEncoding.EncodeToString(sum[:]) && header.X5tS256 != enc.EncodeToString(sum[:]) {
			return false
		}
		h := sha256.Sum256(signing)
		return rsa.VerifyPSS(pub, crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
	case "RS256":
		sum := sha1.Sum(cert.Raw) //nolint:gosec // x5t is SHA-1 by definition (RFC 7515 §4.1.7)
		if header.X5t != base64.StdEncoding.EncodeToString(sum[:]) && header.X5t != enc.EncodeToString(sum[:]) {
			return false
		}
		h := sha256.Sum256(signing)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
	}
	return false
}

func grantedScope(requested string) string {
	var out []string
	for _, s := range strings.Fields(requested) {
		switch s {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func loginError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	writeLoginJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, msg, uuid.NewString(), uuid.NewString(), time.Now().UTC().Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          uuid.NewString(),
		"correlation_id":    uuid.NewString(),
	})
}

func writeLoginJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomCode(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}
