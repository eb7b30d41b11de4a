package provision

import (
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/invicti"
)

// This file is the ONE place that decides which synchronization secret keys carry the
// "OAuth2 client credentials grant" settings. Microsoft does not document them (reference
// graph-provisioning.md §4.4). The evidence:
//   - Graph's synchronizationSecret enum has Oauth2TokenExchangeUri, Oauth2ClientId and
//     Oauth2ClientSecret, the names for the portal's Token Endpoint, Client identifier and
//     Client secret fields;
//   - a third party that tested live against Entra wrote exactly BaseAddress + those three;
//   - AuthenticationType exists in the enum but its value for this method is unknown, so we
//     do not guess one into a production tenant.
// If Graph rejects these keys, or Entra cannot validate with them, setup switches to a guided
// step: the admin enters the four values in the portal and the next run detects that
// configuration by its BaseAddress (see portalConfigured) and carries on.

// KeySetName names the key set in state and output, so a later version can migrate.
const KeySetName = "oauth2-client-credentials/v1"

// Secret key names (case-sensitive PascalCase; Graph rejects any other case).
const (
	KeyBaseAddress   = "BaseAddress"
	KeyTokenEndpoint = "Oauth2TokenExchangeUri" //nolint:gosec // G101: a key name, not a secret
	KeyClientID      = "Oauth2ClientId"
	KeyClientSecret  = "Oauth2ClientSecret" //nolint:gosec // G101: a key name, not a secret
	KeySyncAll       = "SyncAll"
)

// SecretKeys builds the full set written with PUT synchronization/secrets. SyncAll=false
// provisions assigned users and groups only, the portal's default scope.
func SecretKeys(ep invicti.Endpoints, cred invicti.Credentials) []graph.KeyValue {
	return []graph.KeyValue{
		{Key: KeyBaseAddress, Value: ep.TenantURL},
		{Key: KeyTokenEndpoint, Value: ep.TokenURL},
		{Key: KeyClientID, Value: cred.ClientID},
		{Key: KeyClientSecret, Value: cred.ClientSecret},
		{Key: KeySyncAll, Value: "false"},
	}
}

// SecretKeyNames lists the keys SecretKeys writes.
func SecretKeyNames() []string {
	return []string{KeyBaseAddress, KeyTokenEndpoint, KeyClientID, KeyClientSecret, KeySyncAll}
}

// savedMatches reports whether saved settings already hold our non-secret values. Secret
// values come back masked, so they cannot be compared; validateCredentials decides those.
func savedMatches(saved []graph.KeyValue, ep invicti.Endpoints, cred invicti.Credentials) bool {
	m := keyMap(saved)
	return sameURL(m[KeyBaseAddress], ep.TenantURL) && sameURL(m[KeyTokenEndpoint], ep.TokenURL) && m[KeyClientID] == cred.ClientID
}

// portalConfigured reports whether someone (the admin, in the portal) saved a configuration
// pointing at our tenant URL, whatever key names the portal used for the rest.
func portalConfigured(saved []graph.KeyValue, ep invicti.Endpoints) bool {
	return sameURL(keyMap(saved)[KeyBaseAddress], ep.TenantURL)
}

func keyMap(kv []graph.KeyValue) map[string]string {
	m := make(map[string]string, len(kv))
	for _, e := range kv {
		m[e.Key] = e.Value
	}
	return m
}

func sameURL(a, b string) bool {
	norm := func(s string) string { return strings.TrimRight(strings.TrimSpace(strings.ToLower(s)), "/") }
	return a != "" && norm(a) == norm(b)
}

// isKeyRejection reports whether Graph refused the key set itself: the service answers an
// unknown or wrong-case key with 500 InternalError "Requested value 'X' was not found."
func isKeyRejection(err error) bool {
	var ge *graph.Error
	if !asGraphError(err, &ge) {
		return false
	}
	if strings.Contains(ge.Message, "Requested value") {
		return true
	}
	return ge.Status == 400 && strings.Contains(strings.ToLower(ge.Message), "key")
}
