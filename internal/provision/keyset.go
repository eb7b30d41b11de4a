package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// This file is the ONE place that decides which synchronization secret keys carry the
// "OAuth2 client credentials grant" settings. Microsoft's Graph reference does not document
// them; docs/setup.md ("The key set") gives the evidence and its public sources:
//   - Microsoft's SCIM onboarding agent (AzureAD/SCIMReferenceCode,
//     Microsoft.SCIM.LogicAppValidationTemplate/StandardLogicApp/scim-onboarding.agent.md) writes
//     AuthenticationType=OAuth2ClientCredentialsGrant, BaseAddress, Oauth2ClientId,
//     Oauth2ClientSecret, Oauth2TokenExchangeUri, SyncAll=false and SyncNotificationSettings with
//     PUT /v1.0/servicePrincipals/{id}/synchronization/secrets, and states that without
//     AuthenticationType the service does not try to acquire a token, that a PUT lacking
//     SyncNotificationSettings and SyncAll can be dropped silently, and that bearer and OAuth
//     keys must never be mixed;
//   - its newest version writes the same values through the beta connectivityParameters
//     PATCH with lower-case keys and credentialLocationInRequest=Header (the second writer);
//   - a third party that tested live (pranems/SCIMServer) wrote the four Oauth2/BaseAddress keys
//     WITHOUT AuthenticationType and saw Entra never call the token endpoint: key set v1.
// Whether the non-gallery "scim" template behaves exactly like the gallery-onboarding one is
// settled by the live suite (docs/live-test.md), never by our emulator.

// Key-set versions, recorded in state and output so a later version can migrate.
const (
	// KeySetName is the key set this version writes.
	KeySetName = "oauth2-client-credentials/v2"
	// KeySetV1 is what versions before it wrote (no AuthenticationType): Entra fetches no
	// token with it, so setup upgrades it.
	KeySetV1 = "oauth2-client-credentials/v1"
)

// AuthenticationTypeClientCredentials selects the OAuth2 client-credentials grant.
const AuthenticationTypeClientCredentials = "OAuth2ClientCredentialsGrant" //nolint:gosec // G101: a method name, not a credential

// Secret key names (case-sensitive PascalCase for PUT …/secrets; Graph rejects any other case).
const (
	KeyAuthenticationType       = "AuthenticationType"
	KeyBaseAddress              = "BaseAddress"
	KeyTokenEndpoint            = "Oauth2TokenExchangeUri" //nolint:gosec // G101: a key name, not a secret
	KeyClientID                 = "Oauth2ClientId"
	KeyClientSecret             = "Oauth2ClientSecret" //nolint:gosec // G101: a key name, not a secret
	KeySyncAll                  = "SyncAll"
	KeySyncNotificationSettings = "SyncNotificationSettings"
)

// keysNeverMixed are the bearer-token and pre-minted-token keys: the key set never carries
// them, because mixing them with the client-credentials keys confuses the service (onboarding
// agent) and a pre-minted token expires within the hour (SCIMServer).
var keysNeverMixed = []string{"SecretToken", "Oauth2AccessToken", "Oauth2AccessTokenCreationTime", "Oauth2RefreshToken"}

// Settings is everything the provisioning settings are made of.
type Settings struct {
	Endpoints     invicti.Endpoints
	Credentials   invicti.Credentials
	Notifications Notifications
}

// DefaultDeletionThreshold is the portal's default for "Prevent accidental deletion".
const DefaultDeletionThreshold = 500

// Notifications are the provisioning job's failure e-mails and accidental-deletion guard,
// saved as the SyncNotificationSettings key.
type Notifications struct {
	// Emails receive Entra's failure (quarantine) notifications; none disables them.
	Emails []string
	// DeletionThreshold stops a cycle that would delete more users than this; 0 disables
	// the guard.
	DeletionThreshold int
}

// describe says the settings in words: "failure e-mails to a@x, b@x; deletion threshold 500".
func (n Notifications) describe() string {
	mail := "no failure e-mails"
	if len(n.Emails) > 0 {
		mail = "failure e-mails to " + strings.Join(n.Emails, ", ")
	}
	guard := "deletion threshold off"
	if n.DeletionThreshold > 0 {
		guard = "deletion threshold " + strconv.Itoa(n.DeletionThreshold)
	}
	return mail + "; " + guard
}

// DefaultNotifications is what setup writes without flags: no e-mails, threshold 500.
func DefaultNotifications() Notifications {
	return Notifications{DeletionThreshold: DefaultDeletionThreshold}
}

// syncNotificationSettings is the JSON inside the SyncNotificationSettings string. Field names
// from Microsoft: Graph's synchronizationSecretKeyStringValuePair page
// ({"Enabled":false,"DeleteThresholdEnabled":false}) and a Microsoft-published GET
// …/synchronization/secrets answer
// ({"Enabled":true,"Recipients":"","DeleteThresholdEnabled":true,"DeleteThresholdValue":500}).
// Recipients is one string; several addresses are joined with ";" (the portal's notification
// field takes a list the same way; unverified, see docs/setup.md).
type syncNotificationSettings struct {
	Enabled                bool   `json:"Enabled"`
	Recipients             string `json:"Recipients"`
	DeleteThresholdEnabled bool   `json:"DeleteThresholdEnabled"`
	DeleteThresholdValue   int    `json:"DeleteThresholdValue,omitempty"`
}

// JSON is the SyncNotificationSettings value.
func (n Notifications) JSON() string {
	b, _ := json.Marshal(syncNotificationSettings{
		Enabled:                len(n.Emails) > 0,
		Recipients:             strings.Join(n.Emails, ";"),
		DeleteThresholdEnabled: n.DeletionThreshold > 0,
		DeleteThresholdValue:   max(n.DeletionThreshold, 0),
	})
	return string(b)
}

// ParseNotifications reads a saved SyncNotificationSettings value.
func ParseNotifications(s string) (Notifications, error) {
	var v syncNotificationSettings
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return Notifications{}, fmt.Errorf("SyncNotificationSettings is not JSON: %w", err)
	}
	var n Notifications
	if v.Enabled {
		for _, e := range strings.FieldsFunc(v.Recipients, func(r rune) bool { return r == ';' || r == ',' }) {
			if e = strings.TrimSpace(e); e != "" {
				n.Emails = append(n.Emails, e)
			}
		}
	}
	if v.DeleteThresholdEnabled {
		n.DeletionThreshold = v.DeleteThresholdValue
	}
	return n, nil
}

// keptFrom is n with each half the admin did not give now (emailsSet, thresholdSet) taken
// from the saved settings, when they hold any: a re-run or a rotation keeps the admin's choices.
func (n Notifications) keptFrom(saved Saved, emailsSet, thresholdSet bool) Notifications {
	s, ok := saved.Notifications()
	if !ok {
		return n
	}
	if !emailsSet {
		n.Emails = s.Emails
	}
	if !thresholdSet {
		n.DeletionThreshold = s.DeletionThreshold
	}
	return n
}

// Equal reports whether two settings say the same (addresses compared case-insensitively).
func (n Notifications) Equal(o Notifications) bool {
	if n.DeletionThreshold != o.DeletionThreshold || len(n.Emails) != len(o.Emails) {
		return false
	}
	for i := range n.Emails {
		if !strings.EqualFold(n.Emails[i], o.Emails[i]) {
			return false
		}
	}
	return true
}

// ValidateNotifications checks --notify-email and --deletion-threshold values.
func ValidateNotifications(n Notifications) error {
	for _, e := range n.Emails {
		a, err := mail.ParseAddress(e)
		if err != nil || a.Address != e || a.Name != "" {
			return fmt.Errorf("--notify-email %q: not a plain e-mail address (name@example.com)", e)
		}
		if strings.ContainsAny(e, ";,") {
			return fmt.Errorf("--notify-email %q: give one address per flag", e)
		}
	}
	if n.DeletionThreshold < 0 {
		return fmt.Errorf("--deletion-threshold %d: must be 0 (off) or a positive number of deletions", n.DeletionThreshold)
	}
	return nil
}

// SecretKeys builds key set v2, written with PUT synchronization/secrets and tested inline
// before. SyncAll=false provisions assigned users and groups only, the portal's default
// scope. The Token Endpoint goes verbatim, query string (?audience=…) included.
func SecretKeys(s Settings) []graph.KeyValue {
	return []graph.KeyValue{
		{Key: KeyAuthenticationType, Value: AuthenticationTypeClientCredentials},
		{Key: KeyBaseAddress, Value: s.Endpoints.TenantURL},
		{Key: KeyTokenEndpoint, Value: s.Endpoints.TokenURL},
		{Key: KeyClientID, Value: s.Credentials.ClientID},
		{Key: KeyClientSecret, Value: s.Credentials.ClientSecret},
		{Key: KeySyncAll, Value: "false"},
		{Key: KeySyncNotificationSettings, Value: s.Notifications.JSON()},
	}
}

// SecretKeyNames lists the keys SecretKeys writes.
func SecretKeyNames() []string {
	return []string{KeyAuthenticationType, KeyBaseAddress, KeyTokenEndpoint, KeyClientID, KeyClientSecret, KeySyncAll, KeySyncNotificationSettings}
}

// credentialLocationHeader tells Entra to send the client id and secret in HTTP Basic
// (RFC 6749 §2.3.1), the portal's behaviour for this method (SCIMServer's RCA).
const credentialLocationHeader = "Header"

// ConnectivityParameters is the same configuration for the second writer, the beta
// connectivityParameters PATCH: lower-case keys, credentialLocationInRequest=Header, and no
// SyncAll or SyncNotificationSettings (the onboarding agent: "not part of the
// connectivityParameters payload"; they go with a secrets PUT of their own first).
func ConnectivityParameters(s Settings) []graph.KeyValue {
	return []graph.KeyValue{
		{Key: "authenticationType", Value: AuthenticationTypeClientCredentials},
		{Key: "baseAddress", Value: s.Endpoints.TenantURL},
		{Key: "oauth2ClientId", Value: s.Credentials.ClientID},
		{Key: "oauth2ClientSecret", Value: s.Credentials.ClientSecret},
		{Key: "oauth2TokenExchangeUri", Value: s.Endpoints.TokenURL},
		{Key: "credentialLocationInRequest", Value: credentialLocationHeader},
	}
}

// scopeKeys are the non-credential keys the connectivity writer saves with PUT …/secrets.
func scopeKeys(s Settings) []graph.KeyValue {
	return []graph.KeyValue{
		{Key: KeySyncAll, Value: "false"},
		{Key: KeySyncNotificationSettings, Value: s.Notifications.JSON()},
	}
}

// Saved is what Entra stores for the app, read back with GET …/synchronization/secrets. Key
// names are compared case-insensitively (the portal and the beta writer store lower-case
// names); secret values come back masked and are never compared.
type Saved struct {
	pairs []graph.KeyValue
	byKey map[string]string // lower-case key → value
}

// NewSaved wraps what GET …/secrets returned.
func NewSaved(kv []graph.KeyValue) Saved {
	m := make(map[string]string, len(kv))
	for _, e := range kv {
		m[strings.ToLower(e.Key)] = e.Value
	}
	return Saved{pairs: kv, byKey: m}
}

// Get returns a key's value, whatever its case.
func (s Saved) Get(key string) (string, bool) {
	v, ok := s.byKey[strings.ToLower(key)]
	return v, ok
}

// Names lists the stored key names as Entra returned them, sorted.
func (s Saved) Names() []string {
	out := make([]string, 0, len(s.pairs))
	for _, e := range s.pairs {
		out = append(out, e.Key)
	}
	slices.Sort(out)
	return out
}

// Empty reports that nothing is saved.
func (s Saved) Empty() bool { return len(s.pairs) == 0 }

// Missing lists the keys of want that are not stored (case-insensitively).
func (s Saved) Missing(want []graph.KeyValue) []string {
	var out []string
	for _, e := range want {
		if _, ok := s.Get(e.Key); !ok {
			out = append(out, e.Key)
		}
	}
	return out
}

// ClientCredentials reports whether the saved settings select the client-credentials grant
// (AuthenticationType=OAuth2ClientCredentialsGrant, any case): without it Entra fetches no
// token (key set v1).
func (s Saved) ClientCredentials() bool {
	v, _ := s.Get(KeyAuthenticationType)
	return strings.EqualFold(strings.TrimSpace(v), AuthenticationTypeClientCredentials)
}

// PointsAt reports whether the saved Tenant URL is ours.
func (s Saved) PointsAt(ep invicti.Endpoints) bool {
	v, _ := s.Get(KeyBaseAddress)
	return sameURL(v, ep.TenantURL)
}

// Matches reports whether the saved settings already are exactly what we would write: every
// key of key set v2 present, the method selected, and the non-secret values equal.
func (s Saved) Matches(want Settings) bool {
	if len(s.Missing(SecretKeys(want))) > 0 || !s.ClientCredentials() || !s.PointsAt(want.Endpoints) {
		return false
	}
	tok, _ := s.Get(KeyTokenEndpoint)
	id, _ := s.Get(KeyClientID)
	all, _ := s.Get(KeySyncAll)
	if tok != want.Endpoints.TokenURL || id != want.Credentials.ClientID || !strings.EqualFold(all, "false") {
		return false
	}
	n, ok := s.Notifications()
	return ok && n.Equal(want.Notifications)
}

// SameClient reports whether the saved Token Endpoint and client id are the ones we would
// write (the secret is masked and cannot be compared).
func (s Saved) SameClient(want Settings) bool {
	tok, _ := s.Get(KeyTokenEndpoint)
	id, _ := s.Get(KeyClientID)
	return tok == want.Endpoints.TokenURL && id == want.Credentials.ClientID
}

// Notifications reads SyncNotificationSettings; ok is false when absent or unreadable.
func (s Saved) Notifications() (Notifications, bool) {
	v, ok := s.Get(KeySyncNotificationSettings)
	if !ok {
		return Notifications{}, false
	}
	n, err := ParseNotifications(v)
	return n, err == nil
}

// KeySet names the version of the saved settings: KeySetName when they select the
// client-credentials grant, KeySetV1 when they hold client-credentials keys without it, ""
// when they hold neither (nothing saved, or another method such as a bearer token).
func (s Saved) KeySet() string {
	switch {
	case s.ClientCredentials():
		return KeySetName
	case s.has(KeyTokenEndpoint) || s.has(KeyClientID):
		return KeySetV1
	}
	return ""
}

func (s Saved) has(key string) bool { _, ok := s.Get(key); return ok }

func sameURL(a, b string) bool {
	norm := func(s string) string { return strings.TrimRight(strings.TrimSpace(strings.ToLower(s)), "/") }
	return a != "" && norm(a) == norm(b)
}

// TestSide says which half of Entra's Test Connection failed.
type TestSide string

// Test Connection halves.
const (
	SideToken   TestSide = "token request"
	SideSCIM    TestSide = "SCIM query"
	SideUnknown TestSide = "unknown"
)

// testSide classifies a failed validateCredentials answer. Entra reports a failed token
// acquisition as CredentialValidationUnavailable with a message about the token request or
// CredentialLocationInRequest (SCIMServer's RCA), and a refused SCIM query as
// CredentialValidationFailure ("While attempting to validate our authorization …", Broadcom KB
// 430118) or ServiceIncompatible.
func testSide(err error) TestSide {
	var ge *graph.Error
	if !errors.As(err, &ge) {
		return SideUnknown
	}
	msg := strings.ToLower(ge.Code + " " + ge.Message)
	switch {
	case strings.Contains(msg, "token request"), strings.Contains(msg, "acquire"), strings.Contains(msg, "access token"),
		strings.Contains(msg, "credentiallocationinrequest"), strings.Contains(msg, "token endpoint"):
		return SideToken
	case strings.Contains(msg, "validationfailure"), strings.Contains(msg, "serviceincompatible"),
		strings.Contains(msg, "scim"), strings.Contains(msg, "/users"):
		return SideSCIM
	}
	return SideUnknown
}

// NotificationsJSON is Notifications in output documents.
type NotificationsJSON struct {
	Emails            []string `json:"emails"`
	DeletionThreshold int      `json:"deletionThreshold"`
}

func (n Notifications) toJSON() *NotificationsJSON {
	e := n.Emails
	if e == nil {
		e = []string{}
	}
	return &NotificationsJSON{Emails: e, DeletionThreshold: n.DeletionThreshold}
}

// MixedKeys lists saved bearer or pre-minted token keys (see keysNeverMixed): settings that
// hold them beside the client-credentials keys are suspect.
func (s Saved) MixedKeys() []string {
	var out []string
	for _, k := range keysNeverMixed {
		if s.has(k) {
			out = append(out, k)
		}
	}
	return out
}
