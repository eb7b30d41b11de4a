package invicti

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ClientAuth is how the client id and secret travel in the token request.
type ClientAuth string

// RFC 6749 §2.3.1 says the id and secret are form-urlencoded before HTTP Basic, and
// implementations disagree: some servers take them verbatim (spring-security-oauth#1826,
// IdentityModel#90, openid-client#236), some accept only the request body. A secret with
// + / = : % or other characters the encoding changes is where they part.
const (
	ClientAuthBasic    ClientAuth = "basic"     // HTTP Basic, form-urlencoded first (RFC 6749 §2.3.1)
	ClientAuthBasicRaw ClientAuth = "basic-raw" // HTTP Basic, id and secret verbatim
	ClientAuthBody     ClientAuth = "body"      // client_id and client_secret in the form body
)

// RawBasicWarning is the check's warning when Invicti took the secret only verbatim in Basic.
const RawBasicWarning = "Invicti accepted the client id/secret only verbatim in HTTP Basic, not form-urlencoded as RFC 6749 §2.3.1 says " +
	"(the secret has characters such as + / = : % that the encoding changes). Entra sends HTTP Basic: if its Test Connection " +
	"fails with invalid_client, create a client secret in Invicti without those characters"

// encodingMatters reports whether form-urlencoding changes the id or the secret, so that
// servers that disagree about RFC 6749 §2.3.1 could see different credentials.
func encodingMatters(cred Credentials) bool {
	return url.QueryEscape(cred.ClientID) != cred.ClientID || url.QueryEscape(cred.ClientSecret) != cred.ClientSecret
}

// variantToken asks for a token with one of the non-RFC client authentications. It returns the
// access token ("" when refused) and the HTTP status.
func variantToken(ctx context.Context, hc *http.Client, ep Endpoints, cred Credentials, how ClientAuth) (string, int, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if how == ClientAuthBody {
		form.Set("client_id", cred.ClientID)
		form.Set("client_secret", cred.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if how == ClientAuthBasicRaw {
		req.SetBasicAuth(cred.ClientID, cred.ClientSecret)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", resp.StatusCode, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		return "", resp.StatusCode, nil
	}
	return tok.AccessToken, resp.StatusCode, nil
}

// retryClientAuth runs after Invicti answered invalid_client to the RFC form of HTTP Basic, for
// credentials the encoding changes: it tries the secret verbatim in Basic, then in the body,
// before the secret is blamed. It returns the variant that got a token (and the token), or
// "" when none did.
func retryClientAuth(ctx context.Context, hc *http.Client, ep Endpoints, cred Credentials) (ClientAuth, string) {
	for _, how := range []ClientAuth{ClientAuthBasicRaw, ClientAuthBody} {
		if tok, _, err := variantToken(ctx, hc, ep, cred, how); err == nil && tok != "" {
			return how, tok
		}
	}
	return "", ""
}

// clientAuthOutcome explains a retried token request: a warning when Invicti took the
// secret verbatim in Basic (Entra sends Basic too, but how it encodes is Entra's), a problem
// when only the body works (Entra never sends that), or the original problem, amended.
func clientAuthOutcome(how ClientAuth, orig *Problem) (warning string, p *Problem) {
	switch how {
	case ClientAuthBasicRaw:
		return RawBasicWarning, nil
	case ClientAuthBody:
		return "", &Problem{
			Kind: ProblemInvalidClient,
			Message: "Invicti accepts this client id/secret only in the request body (client_secret_post), not in HTTP Basic, " +
				"which is what Microsoft Entra sends: Entra's provisioning will fail with these credentials",
			Fix: "Create a new client secret in Invicti until it has none of + / = : % (such secrets work in HTTP Basic), " +
				"or ask Invicti support to accept client authentication by HTTP Basic (RFC 6749 §2.3.1).",
			Status: orig.Status,
		}
	}
	amended := *orig
	// (Wording: "Basic" followed by a word would read as a credential to the redactor.)
	amended.Message += " (since the secret has characters the RFC 6749 §2.3.1 encoding changes, also tried it in the request body and verbatim in HTTP Basic: refused too)"
	return "", &amended
}
