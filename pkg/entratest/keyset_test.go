package entratest

import (
	"net/http"
	"strings"
	"testing"
)

// The behaviours behind Knobs, each against the evidence it cites.
func TestSecretsKnobsAndConnectivityParameters(t *testing.T) {
	scim := newFakeSCIM(t)
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	sp := "/servicePrincipals/" + f.spID + "/synchronization"
	full := scim.creds()
	full["SyncAll"] = "false"
	full["SyncNotificationSettings"] = `{"Enabled":false,"DeleteThresholdEnabled":false}`

	// NotInAllowList on the v1.0 PUT for the token URI.
	tn.SetKnobs(Knobs{RejectTokenURI: true})
	c.putSecrets(f.spID, full).expect(t, 400, "BadRequest", "NotInAllowList")
	if len(tn.Apps()[0].Secrets) != 0 {
		t.Fatalf("a refused PUT stored %v", tn.Apps()[0].Secrets)
	}

	// A PUT without SyncNotificationSettings/SyncAll is dropped silently.
	tn.SetKnobs(Knobs{DropPartialSecretsPut: true})
	c.putSecrets(f.spID, scim.creds()).expect(t, 204)
	if len(tn.Apps()[0].Secrets) != 0 {
		t.Fatalf("a partial PUT was stored: %v", tn.Apps()[0].Secrets)
	}
	c.putSecrets(f.spID, full).expect(t, 204)
	if tn.Apps()[0].Secrets["AuthenticationType"] != "OAuth2ClientCredentialsGrant" {
		t.Fatalf("the full PUT was not stored: %v", tn.Apps()[0].Secrets)
	}
	tn.SetKnobs(Knobs{})
	c.putSecrets(f.spID, map[string]string{"AuthenticationType": "", "BaseAddress": "", "Oauth2ClientId": "", "Oauth2ClientSecret": "", "Oauth2TokenExchangeUri": ""}).expect(t, 204)

	// The beta connectivityParameters PATCH: lower-case keys, credentialLocationInRequest.
	patch := func(kv ...string) resp {
		var items []map[string]string
		for i := 0; i < len(kv); i += 2 {
			items = append(items, map[string]string{"key": kv[i], "value": kv[i+1]})
		}
		return c.call("PATCH", "!/beta"+sp[0:]+"/connectivityParameters", map[string]any{"value": items})
	}
	c.call("PATCH", sp+"/connectivityParameters", map[string]any{"value": []any{}}).expect(t, 400, "BadRequest", "segment 'connectivityParameters'")
	patch("authenticationType", "OAuth2ClientCredentialsGrant", "CredentialLocation", "Header").expect(t, 500, "InternalError", "Requested value 'CredentialLocation' was not found.")
	patch("authenticationType", "AuthenticationToken", "secretToken", "t", "oauth2ClientId", "x").expect(t, 400, "BadRequest", "mix")
	patch("authenticationType", "OAuth2ClientCredentialsGrant", "baseAddress", scim.base(), "oauth2ClientId", scim.clientID,
		"oauth2ClientSecret", scim.secret, "oauth2TokenExchangeUri", scim.tokenURI(), "credentialLocationInRequest", "Header").expect(t, 204)
	got := c.get(sp+"/secrets").expect(t, 200)
	if !strings.Contains(string(got.raw), `"key":"oauth2ClientSecret","value":"*"`) || !strings.Contains(string(got.raw), `"key":"credentialLocationInRequest","value":"Header"`) {
		t.Errorf("GET secrets after the PATCH: %s", got.raw)
	}
	c.post(sp+"/jobs/"+f.jobID+"/validateCredentials", map[string]any{"useSavedCredentials": true}).expect(t, 204)
	scim.mu.Lock()
	auth := scim.lastTokenAuth
	scim.mu.Unlock()
	if !strings.HasPrefix(auth, "Basic ") {
		t.Errorf("credentialLocationInRequest=Header should send HTTP Basic, got %q", auth)
	}

	tn.SetKnobs(Knobs{NoConnectivityParameters: true})
	patch("baseAddress", "x").expect(t, 400, "BadRequest", "segment 'connectivityParameters'")
	tn.SetKnobs(Knobs{})

	// The portal's configuration, with lower-case names when the knob says so.
	tn.SetKnobs(Knobs{PortalLowerCaseKeys: true})
	tn.ConfigurePortalStyle(f.spID, map[string]string{"BaseAddress": scim.base()})
	if v := tn.Apps()[0].Secrets["authenticationType"]; v != "OAuth2ClientCredentialsGrant" {
		t.Errorf("portal emulation keys: %v", tn.Apps()[0].Secrets)
	}
	if r := c.get(sp + "/secrets"); r.status != http.StatusOK {
		t.Fatal(r.raw)
	}
}
