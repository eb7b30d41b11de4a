package reconcile

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/manifest"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// oneTenant is a single-tenant manifest on T1 assigning users.
func oneTenant(t *testing.T, users ...string) *manifest.Manifest {
	t.Helper()
	src := `invicti: {url: {env: T1_INVICTI}, clientId: client, clientSecret: {env: T1_SECRET}}
graph: {url: {env: T1_GRAPH}, token: {env: T1_TOKEN}}
app: {name: Invicti Platform}
assignments:
  users: [` + strings.Join(users, ", ") + `]
`
	m, err := manifest.Parse("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func depsFor(env map[string]string, dir string) *Deps {
	return &Deps{Getenv: func(k string) string { return env[k] }, ConfigDir: dir,
		HTTPClient: func(bool, func(*http.Request, int, time.Duration)) *http.Client { return http.DefaultClient }}
}

func planApply(t *testing.T, d *Deps, m *manifest.Manifest, apply, prune bool) *Plan {
	t.Helper()
	ctx := context.Background()
	outs := d.PlanAll(ctx, m, 1, apply)
	if outs[0].Err != nil {
		t.Fatal(outs[0].Err)
	}
	if apply {
		d.ApplyAll(ctx, outs, 1, prune)
		if outs[0].Err != nil {
			t.Fatal(outs[0].Err)
		}
	}
	return outs[0].Plan
}

// emuLister lists the emulated app's assignments as Graph would, for status's drift.
type emuLister struct{ e *entratest.Tenant }

func (l emuLister) Assignments(_ context.Context, spID string) ([]graph.Assignment, error) {
	var out []graph.Assignment
	for _, a := range l.e.Apps() {
		if a.ServicePrincipalID != spID {
			continue
		}
		for _, x := range a.Assignments {
			name := x.PrincipalID
			if u, ok := l.e.LookupUser(x.PrincipalID); ok {
				name = u.DisplayName
			}
			out = append(out, graph.Assignment{PrincipalID: x.PrincipalID, PrincipalType: x.PrincipalType, PrincipalDisplayName: name})
		}
	}
	return out, nil
}

// An assignment the manifest does not name that apply saw and left in place (no --prune) is
// a prune candidate, not drift: right after that apply, plan and status agree the tenant is
// in sync. One assigned after the apply is drift; the next apply without --prune records it
// as left in place.
func TestPruneCandidateLeftInPlaceIsNotDrift(t *testing.T) {
	ts, env := tenants(t, 1)
	e := ts[0].entra
	mine, other := t.TempDir(), t.TempDir()
	narrow := oneTenant(t, "alice@contoso.example")

	// Someone else's run (its own config dir) assigns frank besides alice.
	planApply(t, depsFor(env, other), oneTenant(t, "alice@contoso.example", "frank@contoso.example"), true, false)
	// This manifest is applied without --prune: frank stays.
	planApply(t, depsFor(env, mine), narrow, true, false)

	p := planApply(t, depsFor(env, mine), narrow, false, false)
	if p.Drift == nil || !p.Drift.SameManifest || p.Drift.Drifted {
		t.Fatalf("right after apply: drift %+v, want the same manifest and no drift", p.Drift)
	}
	if len(p.Changes) != 1 || !p.Changes[0].Prune || p.Changes[0].AddedSinceApply || p.Changes[0].Name != "Frank Fischer" {
		t.Fatalf("changes %+v, want frank as the one prune candidate, not added since", p.Changes)
	}
	if !p.InSync() || p.Pending(false) != 0 || p.Pending(true) != 1 {
		t.Fatalf("in sync %v, pending %d / with --prune %d; want in sync, 0 and 1", p.InSync(), p.Pending(false), p.Pending(true))
	}
	st, err := (&state.Store{Dir: mine}).Load()
	if err != nil {
		t.Fatal(err)
	}
	spID := e.Apps()[0].ServicePrincipalID
	sd, err := Drifted(context.Background(), emuLister{e}, spID, st.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if sd.Drifted || !slices.Equal(sd.LeftInPlace, []string{"Frank Fischer"}) || len(sd.Added) != 0 {
		t.Fatalf("status drift %+v, want frank left in place and no drift", sd)
	}
	if l := sd.Line(); strings.Contains(l, "DRIFTED") || !strings.Contains(l, "assigned besides the manifest: Frank Fischer (apply --prune removes it)") {
		t.Fatalf("status line %q", l)
	}

	// grace is assigned after the apply: drift, in plan and in status.
	planApply(t, depsFor(env, other), oneTenant(t, "alice@contoso.example", "frank@contoso.example", "grace@contoso.example"), true, false)
	p = planApply(t, depsFor(env, mine), narrow, false, false)
	if !p.Drift.Drifted || p.InSync() || p.Pending(false) != 1 {
		t.Fatalf("after grace: drift %+v, pending %d; want drifted with grace pending", p.Drift, p.Pending(false))
	}
	for _, c := range p.Changes {
		if c.AddedSinceApply != (c.Name == "Grace Garcia") {
			t.Fatalf("change %+v: only grace was added since the apply", c)
		}
	}
	sd, err = Drifted(context.Background(), emuLister{e}, spID, st.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if !sd.Drifted || len(sd.Added) != 1 || !strings.Contains(sd.Line(), "DRIFTED (assigned since, besides it: ") {
		t.Fatalf("status after grace: %+v %q", sd, sd.Line())
	}

	// Applying again without --prune records grace as left in place: in sync again.
	planApply(t, depsFor(env, mine), narrow, true, false)
	if p = planApply(t, depsFor(env, mine), narrow, false, false); p.Drift.Drifted || !p.InSync() || p.PruneCandidates() != 2 {
		t.Fatalf("after the second apply: %+v %+v", p.Drift, p.Changes)
	}
	// With --prune they go, and nothing is left to record.
	planApply(t, depsFor(env, mine), narrow, true, true)
	if p = planApply(t, depsFor(env, mine), narrow, false, true); p.Drift.Drifted || len(p.Changes) != 0 {
		t.Fatalf("after --prune: %+v %+v", p.Drift, p.Changes)
	}
}
