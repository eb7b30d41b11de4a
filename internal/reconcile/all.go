package reconcile

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/invicti-scim/invicti-scim/internal/manifest"
)

// DefaultParallel is how many tenants --all works on at once.
const DefaultParallel = 4

// TenantOutcome is one tenant's result: its plan, and what apply did (nil for a plan only),
// or the error that stopped it.
type TenantOutcome struct {
	Tenant string
	Plan   *Plan
	Result *Result
	Err    error
}

// PlanAll plans every tenant of m, at most parallel at once (each tenant's Graph client has
// its own throttling retries). A tenant's failure is recorded in its outcome and never
// cancels the others. Outcomes are in the manifest's order. With lock, each planned tenant
// keeps its state lock for ApplyAll (Close releases them).
func (d *Deps) PlanAll(ctx context.Context, m *manifest.Manifest, parallel int, lock bool) []TenantOutcome {
	out := make([]TenantOutcome, len(m.Tenants))
	each(parallel, len(m.Tenants), func(i int) {
		t := m.Tenants[i]
		o := &out[i]
		o.Tenant = t.Name
		defer recoverInto(&o.Err)
		p, err := d.PlanTenant(ctx, m, t, Options{Lock: lock})
		if err != nil {
			o.Err = err
			return
		}
		p.Sort()
		o.Plan = p
	})
	return out
}

// ApplyAll applies every planned tenant's plan exactly as planned (deletes only with prune),
// at most parallel at once, and releases the locks. A tenant whose manifest is already
// recorded and that has nothing to change is left alone.
func (d *Deps) ApplyAll(ctx context.Context, outs []TenantOutcome, parallel int, prune bool) {
	each(parallel, len(outs), func(i int) {
		o := &outs[i]
		if o.Err != nil || o.Plan == nil {
			return
		}
		defer o.Plan.Close()
		defer recoverInto(&o.Err)
		if len(o.Plan.Changes) == 0 && o.Plan.Drift != nil && o.Plan.Drift.SameManifest {
			o.Result = &Result{Tenant: o.Tenant, Applied: []Change{}}
			return
		}
		o.Result, o.Err = d.Apply(ctx, o.Plan, prune)
	})
}

// Close releases every plan's lock (after a plan that was not applied).
func Close(outs []TenantOutcome) {
	for _, o := range outs {
		o.Plan.Close()
	}
}

func each(parallel, n int, fn func(i int)) {
	if parallel < 1 {
		parallel = DefaultParallel
	}
	var g errgroup.Group
	g.SetLimit(parallel)
	for i := range n {
		g.Go(func() error { fn(i); return nil })
	}
	_ = g.Wait()
}

// recoverInto turns a panic in one tenant into that tenant's error, so the others finish.
func recoverInto(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("internal error: %v", r)
	}
}

// Failed counts the outcomes that ended in an error.
func Failed(outs []TenantOutcome) int {
	n := 0
	for _, o := range outs {
		if o.Err != nil {
			n++
		}
	}
	return n
}

// FirstError is the first tenant error, for the exit code of a single tenant.
func FirstError(outs []TenantOutcome) error {
	for _, o := range outs {
		if o.Err != nil {
			return o.Err
		}
	}
	return nil
}

// Sort orders a plan's changes for reading (resource, then create, update, delete).
func (p *Plan) Sort() { sortChanges(p.Changes) }
