package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/httpx"
	"github.com/invicti-scim/invicti-scim/internal/manifest"
	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

type fakeTenant struct {
	entra   *entratest.Tenant
	invicti *scimtest.Server
}

// tenants starts n emulated tenants, each with its own Invicti, and returns the environment a
// manifest's {env: …} references read.
func tenants(t *testing.T, n int) ([]fakeTenant, map[string]string) {
	t.Helper()
	env := map[string]string{}
	var out []fakeTenant
	for i := 1; i <= n; i++ {
		e := entratest.New(entratest.Options{})
		e.SeedDemo()
		inv := scimtest.New(scimtest.Options{})
		secret := fmt.Sprintf("secret-of-tenant-%d-0123456789", i)
		inv.AddClient("client", secret)
		t.Cleanup(e.Close)
		t.Cleanup(inv.Close)
		p := fmt.Sprintf("T%d_", i)
		env[p+"GRAPH"], env[p+"TOKEN"], env[p+"INVICTI"], env[p+"SECRET"] = e.URL, e.Token(), inv.URL, secret
		out = append(out, fakeTenant{entra: e, invicti: inv})
	}
	return out, env
}

const threeTenants = `invicti:
  clientId: client
assignments:
  users: [alice@contoso.example]
tenants:
  - name: a
    graph: {url: {env: T1_GRAPH}, token: {env: T1_TOKEN}}
    invicti: {url: {env: T1_INVICTI}, clientSecret: {env: T1_SECRET}}
  - name: b
    graph: {url: {env: T2_GRAPH}, token: {env: T2_TOKEN}}
    invicti: {url: {env: T2_INVICTI}, clientSecret: {env: T2_SECRET}}
  - name: c
    graph: {url: {env: T3_GRAPH}, token: {env: T3_TOKEN}}
    invicti: {url: {env: T3_INVICTI}, clientSecret: {env: WRONG}}
`

// Three tenants at once: a is throttled (its own client waits as Graph asks, on a virtual
// clock), c's secret is wrong (it fails alone, before any Graph write); a and b are applied,
// then in sync; a drifts when an assignment is removed behind the tool's back.
func TestManyTenants(t *testing.T) {
	ts, env := tenants(t, 3)
	env["WRONG"] = "not-the-secret-0123456789"
	ts[0].entra.InjectFault(entratest.Fault{Path: regexp.MustCompile(`/appRoleAssignedTo$|/\$batch$`), Status: http.StatusTooManyRequests, Times: 2, RetryAfter: 7})
	m, err := manifest.Parse("m.yaml", []byte(threeTenants))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	slept := map[string][]time.Duration{}
	d := &Deps{
		Getenv:    func(k string) string { return env[k] },
		ConfigDir: t.TempDir(),
		HTTPClient: func(retry bool, onWait func(*http.Request, int, time.Duration)) *http.Client {
			if !retry {
				return &http.Client{Timeout: 30 * time.Second}
			}
			return &http.Client{Transport: &httpx.Retry{Next: http.DefaultTransport, OnWait: onWait,
				Sleep: func(_ context.Context, d time.Duration) error { return nil }}}
		},
		OnThrottle: func(tenant string, _ int, wait time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			slept[tenant] = append(slept[tenant], wait)
		},
	}
	ctx := context.Background()
	outs := d.PlanAll(ctx, m, 3, true)
	d.ApplyAll(ctx, outs, 3, false)
	if outs[0].Err != nil || outs[1].Err != nil {
		t.Fatalf("a and b should succeed: %v / %v", outs[0].Err, outs[1].Err)
	}
	var ce *provision.ConnectionError
	if !errors.As(outs[2].Err, &ce) {
		t.Fatalf("c: %v (%T), want the Invicti check's ConnectionError", outs[2].Err, outs[2].Err)
	}
	if n := len(ts[2].entra.Writes()); n != 0 {
		t.Fatalf("c: %d Graph writes after a failed Invicti check", n)
	}
	if Failed(outs) != 1 {
		t.Fatalf("failed %d", Failed(outs))
	}
	if len(slept["a"]) == 0 || slept["a"][0] != 7*time.Second || len(slept["b"]) != 0 {
		t.Fatalf("throttling waits %v: a should wait Retry-After (7s), b not at all", slept)
	}
	for i, o := range outs[:2] {
		if o.Result == nil || len(o.Result.Applied) == 0 || len(ts[i].entra.Apps()) != 1 {
			t.Fatalf("%s: applied %+v, apps %d", o.Tenant, o.Result, len(ts[i].entra.Apps()))
		}
	}

	// In sync: empty plans, no writes.
	again := d.PlanAll(ctx, m, 2, false)
	for _, o := range again[:2] {
		if o.Err != nil || !o.Plan.InSync() || o.Plan.Drift == nil || o.Plan.Drift.Drifted || !o.Plan.Drift.SameManifest {
			t.Fatalf("%s: %v %+v", o.Tenant, o.Err, o.Plan)
		}
	}

	// Drift on a only.
	apps := ts[0].entra.Apps()
	if ts[0].entra.UnassignBehindBack(apps[len(apps)-1].ServicePrincipalID, "alice@contoso.example") != 1 {
		t.Fatal("alice was not assigned on a")
	}
	drift := d.PlanAll(ctx, m, 2, false)
	a := drift[0].Plan
	if a == nil || len(a.Changes) != 1 || a.Changes[0].Action != ActionCreate || a.Changes[0].Name != "alice@contoso.example" || !a.Drift.Drifted {
		t.Fatalf("a's drift: %+v (%v)", a, drift[0].Err)
	}
	if !drift[1].Plan.InSync() {
		t.Fatalf("b should still be in sync: %+v", drift[1].Plan.Changes)
	}
}

// A single-tenant manifest falls back to the environment's Graph sign-in; a tenants: list
// never does (one tenant's token is never used for another).
func TestNoSignInFallbackForLists(t *testing.T) {
	_, env := tenants(t, 1)
	env["INVICTI_SCIM_GRAPH_TOKEN"] = env["T1_TOKEN"]
	m, err := manifest.Parse("m.yaml", []byte(`invicti: {url: {env: T1_INVICTI}, clientId: client, clientSecret: {env: T1_SECRET}}
tenants:
  - name: a
    graph: {url: {env: T1_GRAPH}}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := &Deps{Getenv: func(k string) string { return env[k] }, ConfigDir: t.TempDir(),
		HTTPClient: func(bool, func(*http.Request, int, time.Duration)) *http.Client { return http.DefaultClient }}
	_, err = d.PlanTenant(context.Background(), m, m.Tenants[0], Options{})
	if err == nil || !strings.Contains(err.Error(), "no sign-in for tenant a") {
		t.Fatalf("err %v", err)
	}
}
