package provision

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/httpx"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

type fixture struct {
	tenant  *entratest.Tenant
	invicti *scimtest.Server
	client  *graph.Client
	setup   *Setup
	cfg     SetupConfig
}

func noSleep(context.Context, time.Duration) error { return nil }

func newFixture(t *testing.T, opts entratest.Options) *fixture {
	t.Helper()
	inv := scimtest.New(scimtest.Options{})
	t.Cleanup(inv.Close)
	inv.AddClient("cid", "the-secret-value")
	ten := entratest.New(opts)
	t.Cleanup(ten.Close)
	ten.SeedDemo()
	hc := &http.Client{Transport: &httpx.Retry{Sleep: noSleep}}
	c, err := graph.New(graph.Options{RootURL: ten.URL, Credential: graph.StaticToken(ten.Token()), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	cloud, _ := graph.CloudByName("global")
	ep := invicti.EndpointsFor(inv.URL)
	return &fixture{
		tenant: ten, invicti: inv, client: c,
		setup: &Setup{Graph: c, Checker: &invicti.Checker{}, Store: state.Store{Dir: t.TempDir()},
			Waiter: Waiter{Interval: time.Millisecond, MaxWait: 5 * time.Millisecond, Budget: 5 * time.Second}},
		cfg: SetupConfig{AppName: "Invicti Platform", Endpoints: ep, Credentials: invicti.Credentials{ClientID: "cid", ClientSecret: "the-secret-value"}, Cloud: cloud},
	}
}

func outcomes(res *SetupResult) map[string]Outcome {
	m := map[string]Outcome{}
	for _, s := range res.Steps {
		m[s.ID] = s.Outcome
	}
	return m
}

func TestSetupFreshThenIdempotent(t *testing.T) {
	f := newFixture(t, entratest.Options{ReplicationDelay: 50 * time.Millisecond})
	ctx := t.Context()
	res, err := f.setup.Run(ctx, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := outcomes(res)
	want := map[string]Outcome{"invicti-check": Passed, "app": Created, "tag": Updated, "job": Created, "secrets": Updated, "test-connection": Passed, "start": Started}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("step %s = %s, want %s", k, got[k], v)
		}
	}
	apps := f.tenant.Apps()
	if len(apps) != 1 || len(apps[0].Jobs) != 1 {
		t.Fatalf("apps %+v", apps)
	}
	if res.AppRoleID == "" || res.AppRoleID == "18d14569-c3bd-439b-9a66-3a2aee01d14f" {
		t.Errorf("the role id must be read from the app, got %q", res.AppRoleID)
	}

	f.tenant.ResetRequests()
	res, err = f.setup.Run(ctx, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	got = outcomes(res)
	for _, id := range []string{"app", "job"} {
		if got[id] != Reused {
			t.Errorf("second run: %s = %s", id, got[id])
		}
	}
	if got["start"] != AlreadyRunning || got["secrets"] != Unchanged {
		t.Errorf("second run: %v", got)
	}
	for _, w := range f.tenant.Writes() {
		if !strings.HasSuffix(w.Path, "/validateCredentials") {
			t.Errorf("second run wrote: %+v", w)
		}
	}
	if n := len(f.tenant.Writes()); n != 1 {
		t.Errorf("second run: %d validateCredentials calls, want 1", n)
	}
}

func TestSetupBadSecretWritesNothing(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	f.cfg.Credentials.ClientSecret = "wrong"
	_, err := f.setup.Run(t.Context(), f.cfg)
	var ce *ConnectionError
	if !errors.As(err, &ce) || ce.Layer != "invicti" {
		t.Fatalf("err = %v, want an invicti ConnectionError", err)
	}
	if n := len(f.tenant.Requests()); n != 0 {
		t.Errorf("%d Graph requests before the direct check passed", n)
	}
}

func TestSetupDryRunWritesNothing(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	f.cfg.DryRun = true
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(res); got["app"] != WillCreate || got["start"] != WillStart {
		t.Errorf("plan %v", got)
	}
	if w := f.tenant.Writes(); len(w) != 0 {
		t.Errorf("dry run wrote %+v", w)
	}
}

func TestSetupGuidedWhenKeysRejected(t *testing.T) {
	// Both writers refused: the v1.0 PUT rejects the token URI and the beta endpoint is absent.
	f := newFixture(t, entratest.Options{Knobs: entratest.Knobs{NoConnectivityParameters: true}})
	f.tenant.RejectSecretKeys(KeyTokenEndpoint)
	res, err := f.setup.Run(t.Context(), f.cfg)
	var ge *GuidedError
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v, want GuidedError", err)
	}
	if res.Guide == nil || res.Guide.TenantURL != f.cfg.Endpoints.TenantURL || res.Guide.ClientID != "cid" {
		t.Fatalf("guide %+v", res.Guide)
	}
	for _, l := range res.Guide.Lines() {
		if strings.Contains(l, "the-secret-value") {
			t.Fatalf("guide shows the secret: %s", l)
		}
	}
	st, _ := f.setup.Store.Load()
	if !st.Setup.GuidedPending || st.App == nil {
		t.Fatalf("state %+v", st)
	}
	// Interactive: the admin configures the portal while we wait.
	f.cfg.Guided = func(ctx context.Context, g Guide) (<-chan struct{}, error) {
		app := f.tenant.Apps()[0]
		f.tenant.ConfigurePortalStyle(app.ServicePrincipalID, map[string]string{
			"BaseAddress": g.TenantURL, "Oauth2TokenExchangeUri": g.TokenEndpoint, "Oauth2ClientId": g.ClientID, "Oauth2ClientSecret": "the-secret-value"})
		return nil, nil
	}
	f.tenant.RejectSecretKeys() // clears? keep rejecting: the portal path must not need our PUT
	f.tenant.RejectSecretKeys(KeyTokenEndpoint)
	if _, err := f.setup.Run(t.Context(), f.cfg); err != nil {
		t.Fatalf("guided run: %v", err)
	}
	if len(f.tenant.Apps()) != 1 {
		t.Fatal("guided run created another app")
	}
}

func TestSetupPermissionError(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	f.tenant.InjectFault(entratest.Fault{Method: http.MethodPost, Path: regexp.MustCompile(`/instantiate$`), Status: 403, Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation."})
	_, err := f.setup.Run(t.Context(), f.cfg)
	var pe *PermissionError
	if !errors.As(err, &pe) || pe.Permission != PermApplication {
		t.Fatalf("err = %v, want PermissionError(%s)", err, PermApplication)
	}
}

func TestParseVerdict(t *testing.T) {
	tests := []struct {
		name      string
		key, val  string
		want      string
		inSync    bool
		entitled  bool
		ok        bool
		wantErr   bool
		wantSteps int
	}{
		{name: "success", key: `{"result":"Success","details":{}}`, val: `{"action":"Create","provisioningSteps":[{"name":"EntryImport","type":"Import","status":"Success"},{"name":"EntryExportAdd","type":"Export","status":"Success"}],"modifiedProperties":[{"displayName":"active","oldValue":null,"newValue":true}]}`, want: "Success", ok: true, entitled: true, wantSteps: 2},
		{name: "redundant export", key: `{"result":"Skipped","details":{"errorCode":"RedundantExport","errorMessage":"already match"}}`, val: "{}", want: "Skipped", inSync: true, ok: true, entitled: true},
		{name: "not entitled", key: `{"result":"Skipped","details":{"errorCode":"NotEffectivelyEntitled"}}`, want: "Skipped"},
		{name: "failure", key: `{"result":"Failure","details":{"errorCode":"SystemForCrossDomainIdentityManagementBadRequest","errorMessage":"boom"}}`, val: "not json", want: "Failure", entitled: true},
		{name: "empty", key: "", wantErr: true},
		{name: "garbage", key: "{", wantErr: true},
		{name: "no result", key: `{"details":{}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseVerdict(tt.key, tt.val)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr {
				return
			}
			if v.Result != tt.want || v.InSync() != tt.inSync || v.NotEntitled() == tt.entitled || v.OK() != tt.ok || len(v.Steps) != tt.wantSteps {
				t.Errorf("verdict %+v", v)
			}
		})
	}
}

func TestRateLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	var slept time.Duration
	l := NewRateLimiter(5, 10*time.Second)
	l.now = func() time.Time { return now }
	l.sleep = func(_ context.Context, d time.Duration) error { slept += d; now = now.Add(d); return nil }
	for i := 0; i < 12; i++ {
		done, err := l.Wait(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		done()
	}
	// 12 calls at 5 per 10 s: the 11th can go at t=20s.
	if slept != 20*time.Second {
		t.Errorf("slept %v, want 20s", slept)
	}
}

func TestUserRoleAndRule(t *testing.T) {
	roles := []graph.AppRole{{ID: "m", DisplayName: "msiam_access", Enabled: true, AllowedMemberTypes: []string{"User"}}, {ID: "u", DisplayName: "User", Enabled: true}}
	if r := UserRole(roles); r == nil || r.ID != "u" {
		t.Errorf("UserRole = %+v", r)
	}
	if r := UserRole(roles[:1]); r != nil {
		t.Errorf("msiam_access must not be used: %+v", r)
	}
	rules := []graph.SyncRule{{ID: "g", SourceDirectoryName: "Other"}, {ID: "abc#V2", SourceDirectoryName: "Azure Active Directory", SourceObjects: []string{"Group", "User"}}}
	if r := PickRule(rules); r == nil || r.ID != "abc#V2" {
		t.Errorf("PickRule = %+v", r)
	}
}

func TestAssignBatchesAndIsIdempotent(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var upns []string
	for i := 0; i < 45; i++ {
		u := f.tenant.AddUser(entratest.User{UserPrincipalName: "u" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "@contoso.example", AccountEnabled: true})
		upns = append(upns, u.UserPrincipalName)
	}
	a := &Assigner{Graph: f.client, Waiter: Waiter{Interval: time.Millisecond}}
	f.tenant.ResetRequests()
	ar, err := a.Run(t.Context(), AssignRequest{ServicePrincipalID: res.ServicePrincipalID, Users: upns})
	if err != nil {
		t.Fatal(err)
	}
	if !ar.OK {
		t.Fatalf("failed: %+v", ar.Failed())
	}
	// 45 users looked up with `userPrincipalName in (…)` queries of 15: 3 queries in one
	// $batch; then 45 writes in batches of 20: 3 round trips.
	if ar.BatchRoundTrips != 4 {
		t.Errorf("round trips %d, want 4", ar.BatchRoundTrips)
	}
	inQueries := 0
	for _, r := range f.tenant.Requests() {
		if r.InBatch && r.Path == "/v1.0/users" && strings.Contains(r.Query, "%20in%20") {
			inQueries++
		}
	}
	if inQueries != 3 {
		t.Errorf("bulk lookups %d, want 3 (15 users each)", inQueries)
	}
	again, err := a.Run(t.Context(), AssignRequest{ServicePrincipalID: res.ServicePrincipalID, Users: upns[:3]})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range again.Items {
		if it.Status != StatusAlreadyAssigned {
			t.Errorf("re-assign %s: %s", it.Input, it.Status)
		}
	}
}

func TestProvisionWaitsForEntitlementThenSucceeds(t *testing.T) {
	f := newFixture(t, entratest.Options{ProvisionDelay: 300 * time.Millisecond})
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := &Assigner{Graph: f.client, Waiter: Waiter{Interval: time.Millisecond}}
	if _, err := a.Run(t.Context(), AssignRequest{ServicePrincipalID: res.ServicePrincipalID, Users: []string{"alice@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	var waits int
	od := &OnDemand{Graph: f.client, EntitlementWait: time.Minute,
		Sleep: func(ctx context.Context, d time.Duration) error {
			waits++
			return httpx.Sleep(ctx, 100*time.Millisecond)
		},
		SCIM: (&invicti.Checker{}).Client(t.Context(), f.cfg.Endpoints, f.cfg.Credentials)}
	pr, err := od.Run(t.Context(), OnDemandRequest{ServicePrincipalID: res.ServicePrincipalID, JobID: res.JobID, Users: []string{"alice@contoso.example"}, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	it := pr.Items[0]
	if !pr.OK || it.Status != StatusProvisioned || it.Attempts < 2 || waits == 0 {
		t.Fatalf("item %+v (waits %d)", it, waits)
	}
	if it.Verified == nil || !it.Verified.Found || it.Verified.UserName != "alice@contoso.example" {
		t.Fatalf("verify %+v", it.Verified)
	}
	// Not entitled for longer than the wait: reported, exit-worthy, not a success.
	od.EntitlementWait = 0
	pr, err = od.Run(t.Context(), OnDemandRequest{ServicePrincipalID: res.ServicePrincipalID, JobID: res.JobID, Users: []string{"carol@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if pr.OK || pr.Items[0].Status == StatusProvisioned {
		t.Fatalf("unassigned user provisioned: %+v", pr.Items[0])
	}
}

func TestSetupSurvivesARefusedTagQuery(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	if _, err := f.setup.Run(t.Context(), f.cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.setup.Store.Remove(); err != nil {
		t.Fatal(err)
	}
	f.tenant.InjectFault(entratest.Fault{Method: http.MethodGet, Path: regexp.MustCompile(`^/v1.0/servicePrincipals$`), Status: 400, Code: "Request_UnsupportedQuery", Times: 1})
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(res)["app"]; got != Reused || len(f.tenant.Apps()) != 1 {
		t.Fatalf("app %s, %d apps", got, len(f.tenant.Apps()))
	}
}

// Fault 6: an unassigned user fails at once, without a provisionOnDemand call; a NotEntitled
// answer for an assignment older than the wait budget is final, with no retries.
func TestProvisionChecksTheAssignmentFirst(t *testing.T) {
	f := newFixture(t, entratest.Options{ProvisionDelay: time.Hour})
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := &Assigner{Graph: f.client, Waiter: Waiter{Interval: time.Millisecond}}
	if _, err := a.Run(t.Context(), AssignRequest{ServicePrincipalID: res.ServicePrincipalID, Users: []string{"alice@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	var waits int
	od := &OnDemand{Graph: f.client, EntitlementWait: 5 * time.Minute,
		Sleep: func(context.Context, time.Duration) error { waits++; return nil },
		Now:   func() time.Time { return time.Now().Add(2 * time.Hour) }, // the assignment is two hours old
	}
	f.tenant.ResetRequests()
	pr, err := od.Run(t.Context(), OnDemandRequest{ServicePrincipalID: res.ServicePrincipalID, JobID: res.JobID,
		Users: []string{"carol@contoso.example", "alice@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	carol, alice := pr.Items[0], pr.Items[1]
	if carol.Status != StatusNotAssigned || carol.Attempts != 0 || !strings.Contains(carol.Error, "invicti-scim assign --user carol@contoso.example") {
		t.Errorf("carol: %+v", carol)
	}
	if alice.Status != StatusNotEntitled || alice.Attempts != 1 || waits != 0 || !strings.Contains(alice.Error, "older than") {
		t.Errorf("alice: %+v, waits %d", alice, waits)
	}
	calls := 0
	for _, r := range f.tenant.Requests() {
		if strings.HasSuffix(r.Path, "/provisionOnDemand") {
			calls++
		}
	}
	if calls != 1 || pr.OK {
		t.Errorf("provisionOnDemand calls %d (want 1, alice only), ok %v", calls, pr.OK)
	}
}

// A job create that Graph answered with a 500 may or may not have made a job. The re-run waits
// for it only for what is left of PendingCreateWindow, measured from when the create was sent:
// straight away it waits out the rest, three minutes later it looks once and creates the job.
func TestPendingJobWaitsOnlyTheRestOfTheWindow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		later    time.Duration
		min, max time.Duration // virtual time spent waiting in the re-run
	}{
		{"straight away", 0, PendingCreateWindow - 15*time.Second, PendingCreateWindow},
		{"30 s later", 30 * time.Second, PendingCreateWindow - 45*time.Second, PendingCreateWindow - 30*time.Second},
		{"3 min later", 3 * time.Minute, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, entratest.Options{})
			clock := httpx.NewVirtualClock(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
			f.setup.Now = clock.Now
			f.setup.Waiter = Waiter{Now: clock.Now, Sleep: clock.Sleep}
			f.tenant.InjectFault(entratest.Fault{Method: http.MethodPost, Path: regexp.MustCompile(`/synchronization/jobs$`), Status: 500, Times: 1})
			if _, err := f.setup.Run(t.Context(), f.cfg); err == nil {
				t.Fatal("a 500 on the job create must fail the run")
			}
			st, err := f.setup.Store.Load()
			if err != nil || st.Setup.Pending == nil || st.Setup.Pending.Op != "create-job" {
				t.Fatalf("state must record the job create in flight: %+v %v", st.Setup.Pending, err)
			}
			_ = clock.Sleep(t.Context(), tc.later)
			before := clock.Slept()
			res, err := f.setup.Run(t.Context(), f.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if waited := clock.Slept() - before; waited < tc.min || waited > tc.max {
				t.Errorf("the re-run waited %s of virtual time, want %s to %s", waited, tc.min, tc.max)
			}
			if got := outcomes(res)["job"]; got != Created {
				t.Errorf("job step = %s, want created", got)
			}
			if n := len(f.tenant.Apps()[0].Jobs); n != 1 {
				t.Errorf("%d jobs, want 1", n)
			}
		})
	}
}
