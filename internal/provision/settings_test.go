package provision

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// requestIndex returns the position of the first Graph request matching method and path.
func requestIndex(reqs []entratest.Request, method, pathRE string) int {
	re := regexp.MustCompile(pathRE)
	for i, r := range reqs {
		if r.Method == method && re.MatchString(r.Path) {
			return i
		}
	}
	return -1
}

func countRequests(reqs []entratest.Request, method, pathRE string) int {
	re := regexp.MustCompile(pathRE)
	n := 0
	for _, r := range reqs {
		if r.Method == method && re.MatchString(r.Path) {
			n++
		}
	}
	return n
}

func TestSetupSavesKeySetV2TestedBeforeAndReadBack(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	f.cfg.Notifications = Notifications{Emails: []string{"secops@contoso.example"}, DeletionThreshold: 250}
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	app := f.tenant.Apps()[0]
	want := map[string]string{
		"AuthenticationType":       "OAuth2ClientCredentialsGrant",
		"BaseAddress":              f.invicti.TenantURL(),
		"Oauth2TokenExchangeUri":   f.invicti.TokenURL(),
		"Oauth2ClientId":           "cid",
		"Oauth2ClientSecret":       "the-secret-value",
		"SyncAll":                  "false",
		"SyncNotificationSettings": `{"Enabled":true,"Recipients":"secops@contoso.example","DeleteThresholdEnabled":true,"DeleteThresholdValue":250}`,
	}
	if len(app.Secrets) != len(want) {
		t.Errorf("saved keys %v, want exactly %d", app.Secrets, len(want))
	}
	for k, v := range want {
		if app.Secrets[k] != v {
			t.Errorf("secret %s = %q, want %q", k, app.Secrets[k], v)
		}
	}
	if !strings.Contains(f.invicti.TokenURL(), "?audience=") {
		t.Fatal("the emulated Token Endpoint should carry its query string")
	}
	reqs := f.tenant.Requests()
	inline := requestIndex(reqs, http.MethodPost, `/validateCredentials$`)
	put := requestIndex(reqs, http.MethodPut, `/synchronization/secrets$`)
	if inline < 0 || put < 0 || inline > put {
		t.Fatalf("want the inline Test Connection (at %d) before the PUT (at %d)", inline, put)
	}
	if !strings.Contains(reqs[inline].Body, `"useSavedCredentials":false`) || !strings.Contains(reqs[inline].Body, "AuthenticationType") {
		t.Errorf("inline test body %s", reqs[inline].Body)
	}
	if got := countRequests(reqs[put:], http.MethodGet, `/synchronization/secrets$`); got != 1 {
		t.Errorf("read-backs after the PUT: %d, want 1", got)
	}
	if res.KeySet != KeySetName || res.SettingsWriter != string(WriterSecrets) || res.Experimental {
		t.Errorf("result key set %q writer %q experimental %v", res.KeySet, res.SettingsWriter, res.Experimental)
	}
	st, _ := f.setup.Store.Load()
	if st.Setup.SecretsKeySet != KeySetName || st.Setup.SettingsWriter != "secrets" {
		t.Errorf("state %+v", st.Setup)
	}
	// Entra asked Invicti for a token before every SCIM query it made.
	var sawToken bool
	for _, r := range f.invicti.Requests() {
		switch {
		case strings.HasPrefix(r.Path, "/oauth/token"):
			sawToken = true
		case strings.HasPrefix(r.Path, "/api/scim/v2/Users") && !sawToken:
			t.Fatalf("SCIM query %s before any token request", r.Path)
		}
	}
	if !sawToken {
		t.Fatal("no token request reached Invicti")
	}
}

func TestSetupInlineTestFailureSavesNothing(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	f.tenant.InjectFault(entratest.Fault{Method: http.MethodPost, Path: regexp.MustCompile(`/validateCredentials$`), Status: 400,
		Code: "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable", Message: "Token request to https://example.invalid/oauth/token failed: HTTP 401"})
	_, err := f.setup.Run(t.Context(), f.cfg)
	var ce *ConnectionError
	if !errors.As(err, &ce) || ce.Layer != "entra" || !strings.Contains(ce.Message, string(SideToken)) {
		t.Fatalf("err = %v, want an Entra ConnectionError naming the token request", err)
	}
	if !strings.Contains(ce.Fix, "nothing was saved") || !strings.Contains(ce.Fix, "direct check") {
		t.Errorf("fix %q", ce.Fix)
	}
	if n := countRequests(f.tenant.Requests(), http.MethodPut, `/secrets$`); n != 0 {
		t.Errorf("%d PUTs after a failed inline test", n)
	}
	if s := f.tenant.Apps()[0].Secrets; len(s) != 0 {
		t.Errorf("saved %v", s)
	}
}

func TestSetupDroppedPutIsRetriedOnceThenReported(t *testing.T) {
	f := newFixture(t, entratest.Options{Knobs: entratest.Knobs{DropSecretsPuts: 1}})
	if _, err := f.setup.Run(t.Context(), f.cfg); err != nil {
		t.Fatalf("one dropped PUT must be repaired: %v", err)
	}
	if n := countRequests(f.tenant.Requests(), http.MethodPut, `/secrets$`); n != 2 {
		t.Errorf("PUTs = %d, want 2", n)
	}

	f = newFixture(t, entratest.Options{Knobs: entratest.Knobs{DropSecretsPuts: 2}})
	_, err := f.setup.Run(t.Context(), f.cfg)
	var ns *SettingsNotSavedError
	if !errors.As(err, &ns) || !slices.Contains(ns.Missing, KeyAuthenticationType) {
		t.Fatalf("err = %v, want SettingsNotSavedError", err)
	}
	if n := countRequests(f.tenant.Requests(), http.MethodPost, `/start$`); n != 0 {
		t.Error("started a job whose settings were not saved")
	}
}

func TestSetupConnectivityWriterWhenTokenURIRefused(t *testing.T) {
	f := newFixture(t, entratest.Options{Knobs: entratest.Knobs{RejectTokenURI: true}})
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.SettingsWriter != string(WriterConnectivity) || !res.Experimental {
		t.Fatalf("writer %q experimental %v", res.SettingsWriter, res.Experimental)
	}
	app := f.tenant.Apps()[0]
	for _, k := range []string{"authenticationType", "baseAddress", "oauth2ClientId", "oauth2ClientSecret", "oauth2TokenExchangeUri", "credentialLocationInRequest", "SyncAll", "SyncNotificationSettings"} {
		if _, ok := app.Secrets[k]; !ok {
			t.Errorf("missing %s in %v", k, app.Secrets)
		}
	}
	if app.Jobs[0].ScheduleState != "Active" {
		t.Errorf("job %+v", app.Jobs[0])
	}
	st, _ := f.setup.Store.Load()
	if !st.Setup.Experimental || st.Setup.SettingsWriter != "connectivity" {
		t.Errorf("state %+v", st.Setup)
	}
	// Forcing the documented writer gives a clear refusal instead.
	f2 := newFixture(t, entratest.Options{Knobs: entratest.Knobs{RejectTokenURI: true}})
	f2.cfg.Writer = WriterSecrets
	_, err = f2.setup.Run(t.Context(), f2.cfg)
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(re.Error(), "NotInAllowList") {
		t.Fatalf("err = %v, want RefusedError naming NotInAllowList", err)
	}
}

func TestSetupGuidedPollsUntilThePortalSaves(t *testing.T) {
	f := newFixture(t, entratest.Options{Knobs: entratest.Knobs{RejectTokenURI: true, NoConnectivityParameters: true, PortalLowerCaseKeys: true}})
	var shown atomic.Int32
	f.cfg.GuidedPoll = 5 * time.Millisecond
	f.cfg.Guided = func(ctx context.Context, g Guide) (<-chan struct{}, error) {
		shown.Add(1)
		ch := make(chan struct{})
		go func() {
			// The admin takes a while, then saves in the portal and presses Enter.
			for countRequests(f.tenant.Requests(), http.MethodGet, `/secrets$`) < 4 {
				time.Sleep(time.Millisecond)
			}
			app := f.tenant.Apps()[0]
			f.tenant.ConfigurePortalStyle(app.ServicePrincipalID, map[string]string{"BaseAddress": g.TenantURL,
				"Oauth2TokenExchangeUri": g.TokenEndpoint, "Oauth2ClientId": g.ClientID, "Oauth2ClientSecret": "the-secret-value"})
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
			}
		}()
		return ch, nil
	}
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatalf("setup should carry on in the same run: %v", err)
	}
	if shown.Load() != 1 || res.SettingsWriter != string(WriterPortal) {
		t.Fatalf("shown %d, writer %q", shown.Load(), res.SettingsWriter)
	}
	if o := outcomes(res); o["test-connection"] != Passed || o["start"] != Started {
		t.Errorf("outcomes %v", o)
	}
	if _, ok := f.tenant.Apps()[0].Secrets["authenticationType"]; !ok {
		t.Errorf("the portal emulation should have saved lower-case keys: %v", f.tenant.Apps()[0].Secrets)
	}

	// Nobody comes: the guided step gives up after its timeout, resumable.
	g := newFixture(t, entratest.Options{Knobs: entratest.Knobs{RejectTokenURI: true, NoConnectivityParameters: true}})
	g.cfg.GuidedPoll, g.cfg.GuidedTimeout = time.Millisecond, 3*time.Millisecond
	g.cfg.Guided = func(context.Context, Guide) (<-chan struct{}, error) { return nil, nil }
	_, err = g.setup.Run(t.Context(), g.cfg)
	var ge *GuidedError
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v, want GuidedError after the timeout", err)
	}
	st, _ := g.setup.Store.Load()
	if !st.Setup.GuidedPending {
		t.Error("state should say the guided step is pending")
	}
}

func TestSetupUpgradesKeySetV1InPlace(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	if _, err := f.setup.Run(t.Context(), f.cfg); err != nil {
		t.Fatal(err)
	}
	app := f.tenant.Apps()[0]
	// What the previous version left: no AuthenticationType, no SyncNotificationSettings, a
	// job that Entra quarantined because it never got a token.
	f.tenant.SeedSecrets(app.ServicePrincipalID, map[string]string{"AuthenticationType": "", "SyncNotificationSettings": ""})
	f.tenant.Quarantine(app.ServicePrincipalID, "EncounteredQuarantineException")
	st, _ := f.setup.Store.Load()
	st.Setup.SecretsKeySet, st.Setup.SettingsWriter = KeySetV1, ""
	if err := f.setup.Store.Save(st); err != nil {
		t.Fatal(err)
	}
	status, err := (&StatusReader{Graph: f.client, KeySet: KeySetV1}).Read(t.Context(), app.ServicePrincipalID, app.Jobs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !status.Settings.Outdated() || !slices.Contains(status.Problems, OutdatedSettings) {
		t.Fatalf("status does not flag v1: %+v", status)
	}
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := outcomes(res)
	if o["app"] != Reused || o["job"] != Reused || o["secrets"] != Updated || o["start"] != Restarted {
		t.Fatalf("outcomes %v", o)
	}
	if res.PreviousKeySet != KeySetV1 {
		t.Errorf("previous key set %q", res.PreviousKeySet)
	}
	app = f.tenant.Apps()[0]
	if len(f.tenant.Apps()) != 1 || len(app.Jobs) != 1 || app.Jobs[0].StatusCode != "Active" || app.Secrets["AuthenticationType"] != AuthenticationTypeClientCredentials {
		t.Fatalf("after upgrade: %+v", app)
	}
}

func TestSetupLeavesASafetyQuarantineAlone(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	if _, err := f.setup.Run(t.Context(), f.cfg); err != nil {
		t.Fatal(err)
	}
	app := f.tenant.Apps()[0]
	f.tenant.Quarantine(app.ServicePrincipalID, "TooManyDeletes")
	f.tenant.ResetRequests()
	_, err := f.setup.Run(t.Context(), f.cfg)
	var qe *QuarantineError
	if !errors.As(err, &qe) || !strings.Contains(qe.Error(), "TooManyDeletes") {
		t.Fatalf("err = %v, want QuarantineError", err)
	}
	if n := countRequests(f.tenant.Requests(), http.MethodPost, `/(start|restart)$`); n != 0 {
		t.Errorf("%d start/restart calls on a safety quarantine", n)
	}
}

func TestNotificationsRoundTrip(t *testing.T) {
	for _, n := range []Notifications{DefaultNotifications(), {Emails: []string{"a@x.example", "b@x.example"}, DeletionThreshold: 10}, {}} {
		got, err := ParseNotifications(n.JSON())
		if err != nil || !got.Equal(n) {
			t.Errorf("%+v → %s → %+v, %v", n, n.JSON(), got, err)
		}
	}
	if DefaultNotifications().JSON() != `{"Enabled":false,"Recipients":"","DeleteThresholdEnabled":true,"DeleteThresholdValue":500}` {
		t.Errorf("default %s", DefaultNotifications().JSON())
	}
	if (Notifications{}).JSON() != `{"Enabled":false,"Recipients":"","DeleteThresholdEnabled":false}` {
		t.Errorf("off %s", Notifications{}.JSON())
	}
	for _, bad := range []Notifications{{Emails: []string{"not-an-address"}}, {Emails: []string{"Ann <a@x.example>"}}, {DeletionThreshold: -1}} {
		if ValidateNotifications(bad) == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestSavedComparesKeyNamesCaseInsensitively(t *testing.T) {
	s := NewSaved([]graph.KeyValue{{Key: "authenticationtype", Value: "oauth2clientcredentialsgrant"}, {Key: "baseaddress", Value: "https://x.example/api/scim/v2/"}})
	if !s.ClientCredentials() || s.KeySet() != KeySetName {
		t.Errorf("lower-case portal keys not recognised: %+v", s)
	}
	v1 := NewSaved([]graph.KeyValue{{Key: "BaseAddress", Value: "u"}, {Key: "Oauth2ClientId", Value: "c"}})
	if v1.KeySet() != KeySetV1 || v1.ClientCredentials() {
		t.Errorf("v1 %q", v1.KeySet())
	}
	if NewSaved(nil).KeySet() != "" {
		t.Error("empty settings have no key set")
	}
	for _, k := range keysNeverMixed {
		for _, kv := range SecretKeys(Settings{}) {
			if strings.EqualFold(kv.Key, k) {
				t.Errorf("key set v2 carries %s", k)
			}
		}
	}
}

// failSaved makes Entra's Test Connection with saved settings fail until ok is set: what a
// tenant does when the experimental writer is accepted but leaves unusable settings.
type failSaved struct {
	*graph.Client
	ok atomic.Bool
}

func (g *failSaved) ValidateCredentials(ctx context.Context, spID, jobID string, useSaved bool, creds []graph.KeyValue) error {
	if useSaved && !g.ok.Load() {
		return &graph.Error{Status: 400, Code: "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable", Message: "Token request failed"}
	}
	return g.Client.ValidateCredentials(ctx, spID, jobID, useSaved, creds)
}

// Review finding: the guided step must not take the experimental writer's leftovers (our
// Tenant URL, failing Test Connection) for the admin's portal work.
func TestGuidedIgnoresSettingsThatFailTestConnection(t *testing.T) {
	f := newFixture(t, entratest.Options{Knobs: entratest.Knobs{RejectTokenURI: true}})
	g := &failSaved{Client: f.client}
	f.setup.Graph = g
	f.cfg.GuidedPoll = 2 * time.Millisecond
	f.cfg.Guided = func(ctx context.Context, guide Guide) (<-chan struct{}, error) {
		go func() {
			// A few polls see the leftovers; then the admin saves in the portal.
			for countRequests(f.tenant.Requests(), http.MethodGet, `/secrets$`) < 5 {
				time.Sleep(time.Millisecond)
			}
			g.ok.Store(true)
		}()
		return nil, nil
	}
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRequests(f.tenant.Requests(), http.MethodGet, `/secrets$`); n < 5 {
		t.Fatalf("the guided step accepted the leftovers after %d polls", n)
	}
	if o := outcomes(res); o["secrets"] != Updated || o["test-connection"] != Passed {
		t.Fatalf("outcomes %v", o)
	}
}

// Review finding: each notification flag on its own keeps the other half.
func TestNotificationFlagsArePerFlag(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	f.cfg.Notifications = Notifications{Emails: []string{"a@x.example"}, DeletionThreshold: 42}
	f.cfg.EmailsSet, f.cfg.ThresholdSet = true, true
	if _, err := f.setup.Run(t.Context(), f.cfg); err != nil {
		t.Fatal(err)
	}
	f.cfg.Notifications, f.cfg.EmailsSet, f.cfg.ThresholdSet = Notifications{DeletionThreshold: 100}, false, true
	if _, err := f.setup.Run(t.Context(), f.cfg); err != nil {
		t.Fatal(err)
	}
	got := f.tenant.Apps()[0].Secrets["SyncNotificationSettings"]
	if got != `{"Enabled":true,"Recipients":"a@x.example","DeleteThresholdEnabled":true,"DeleteThresholdValue":100}` {
		t.Fatalf("after --deletion-threshold 100 alone: %s", got)
	}
}

// Review findings: a portal-made configuration with another client id is rewritten, and the
// portal path saves the notification settings too.
func TestPortalConfigWithOtherClientIsRewritten(t *testing.T) {
	f := newFixture(t, entratest.Options{Knobs: entratest.Knobs{RejectTokenURI: true, NoConnectivityParameters: true}})
	_, _ = f.setup.Run(t.Context(), f.cfg) // guided: exit 1, app and job made
	app := f.tenant.Apps()[0]
	f.tenant.ConfigurePortalStyle(app.ServicePrincipalID, map[string]string{"BaseAddress": f.cfg.Endpoints.TenantURL,
		"Oauth2TokenExchangeUri": f.cfg.Endpoints.TokenURL, "Oauth2ClientId": "cid", "Oauth2ClientSecret": "the-secret-value"})
	f.cfg.Notifications, f.cfg.EmailsSet = Notifications{Emails: []string{"ops@x.example"}, DeletionThreshold: 500}, true
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.SettingsWriter != string(WriterPortal) || !strings.Contains(f.tenant.Apps()[0].Secrets["SyncNotificationSettings"], "ops@x.example") {
		t.Fatalf("writer %q, settings %v", res.SettingsWriter, f.tenant.Apps()[0].Secrets)
	}
	// New credentials from Invicti: the portal's configuration is not "unchanged".
	f.invicti.AddClient("cid2", "second-secret-value")
	f.cfg.Credentials.ClientID, f.cfg.Credentials.ClientSecret = "cid2", "second-secret-value"
	f.tenant.SetKnobs(entratest.Knobs{})
	if _, err := f.setup.Run(t.Context(), f.cfg); err != nil {
		t.Fatal(err)
	}
	if id := f.tenant.Apps()[0].Secrets["Oauth2ClientId"]; id != "cid2" {
		t.Fatalf("client id in Entra = %q, want cid2", id)
	}
}
