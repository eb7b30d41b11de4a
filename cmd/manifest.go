package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/manifest"
	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/reconcile"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

func newManifestCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "manifest",
		Short: "The manifest (invicti-scim.yaml) that plan and apply read: its JSON Schema",
		Long: `The manifest describes what a tenant (or many) should look like: the Invicti side (region or
URL, client id, the client secret by reference only), the enterprise app, assignments, Invicti
teams, notifications, SSO, attribute mappings and whether to start provisioning. plan -f shows
what apply -f would change. docs/manifest.md has a complete example.`,
		Example: `  invicti-scim manifest schema > manifest.schema.json`,
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "schema",
		Short: "Print the manifest's JSON Schema (for editors and CI validation)",
		Long: `Print the JSON Schema (draft 2020-12) of invicti-scim.yaml on stdout, the same file as
docs/manifest.schema.json. Point your editor at it, e.g. with the YAML language server:
  # yaml-language-server: $schema=./manifest.schema.json
With -o json the schema is the "schema" member of {"ok": true, "schema": …}, as every -o json
document carries ok.`,
		Example: `  invicti-scim manifest schema > manifest.schema.json`,
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			if f.JSON() {
				// Every -o json document carries ok; the schema itself is the "schema" member.
				return printJSON(f, struct {
					OK     bool            `json:"ok"`
					Schema json.RawMessage `json:"schema"`
				}{true, manifest.Schema})
			}
			_, err := f.IO.Out.Write(manifest.Schema)
			return err
		},
	})
	return cmd
}

// manifestRun is what plan and apply share: the flags, the manifest and the use case.
type manifestRun struct {
	File     string
	All      bool
	Parallel int
}

func (r *manifestRun) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVarP(&r.File, "file", "f", "", "The manifest (invicti-scim.yaml; - reads standard input); docs/manifest.md")
	fs.BoolVar(&r.All, "all", false, "Run every tenant of the manifest's tenants: list, concurrently")
	fs.IntVar(&r.Parallel, "parallel", reconcile.DefaultParallel, "With --all: how many tenants at once (1 to 64)")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml")
}

// planAll reads every tenant of m behind the spinner (reconcile.Deps.PlanAll); lock keeps
// each planned tenant's state lock for apply. The spinner is stopped on return.
func (r *manifestRun) planAll(ctx context.Context, f *Factory, sp *ui.Spinner, m *manifest.Manifest, lock bool) (*reconcile.Deps, []reconcile.TenantOutcome, error) {
	deps, err := f.reconcileDeps(sp)
	if err != nil {
		return nil, nil, err
	}
	if sp.Animated() {
		sp.Set("Reading the tenant")
	}
	outs := deps.PlanAll(ctx, m, r.Parallel, lock)
	sp.Stop()
	return deps, outs, nil
}

// load checks the flags and reads the manifest: usage errors (exit 2) before anything else.
func (r *manifestRun) load(cmd *cobra.Command, in io.Reader) (*manifest.Manifest, error) {
	if r.File == "" {
		return nil, flagErrorf("-f/--file is required: the manifest to read, e.g. -f invicti-scim.yaml (docs/manifest.md)")
	}
	if r.Parallel < 1 || r.Parallel > 64 {
		return nil, flagErrorf("--parallel %d: expected 1 to 64 tenants at once", r.Parallel)
	}
	if cmd.Flags().Changed("parallel") && !r.All {
		return nil, flagErrorf("--parallel only applies with --all")
	}
	var m *manifest.Manifest
	var err error
	if r.File == "-" {
		// From standard input (a pipeline in CI); relative references resolve against the
		// working directory, and apply cannot ask for confirmation on that stdin: --yes.
		m, err = manifest.Read(manifest.StdinName, in)
	} else {
		m, err = manifest.Load(r.File)
	}
	if err != nil {
		return nil, err
	}
	if len(m.Tenants) > 1 && !r.All {
		names := make([]string, 0, len(m.Tenants))
		for _, t := range m.Tenants {
			names = append(names, t.Name)
		}
		return nil, flagErrorf("%s lists %d tenants (%s): pass --all to run them all", r.File, len(m.Tenants), strings.Join(names, ", "))
	}
	return m, nil
}

// reconcileDeps wires the use case to this process; sp (may be nil) shows what runs and
// every throttling wait, prefixed with the tenant's name when there are several.
func (f *Factory) reconcileDeps(sp *ui.Spinner) (*reconcile.Deps, error) {
	dir := f.ConfigDir
	if dir == "" {
		store, err := f.Store()
		if err != nil {
			return nil, err
		}
		dir = store.Dir
	}
	return &reconcile.Deps{
		HTTPClient: f.HTTPClient,
		Getenv:     f.Getenv,
		Stdin:      f.IO.In,
		Now:        f.Now,
		AddSecret:  f.IO.Redactor.Add,
		AddBasic:   f.IO.Redactor.AddBasic,
		Prompt:     f.IO.Redactor.Writer(f.IO.ErrOut),
		ConfigDir:  dir,
		WaitLock:   f.WaitLock,
		Progress: func(tenant string, e provision.Event) {
			// Without a terminal only waits are worth a line; begin lines would flood the log.
			if sp != nil && (e.Kind == provision.EventWait || (e.Kind == provision.EventBegin && sp.Animated())) {
				sp.Set(tenantPrefix(tenant) + e.Message)
			}
		},
		Warn: func(tenant, msg string) {
			ui.Err(f.IO).Check(ui.SymWarn, "warning: "+tenantPrefix(tenant)+msg, "")
		},
		OnThrottle: func(tenant string, status int, wait time.Duration) {
			if sp != nil {
				sp.Set(fmt.Sprintf("%sGraph answered %d %s; waiting %s before asking again", tenantPrefix(tenant), status, http.StatusText(status), wait.Round(time.Second)))
			}
		},
	}, nil
}

func tenantPrefix(name string) string {
	if name == "" {
		return ""
	}
	return name + ": "
}

// tenantJSON is one tenant's part of the JSON document.
type tenantJSON struct {
	Tenant  string             `json:"tenant"`
	OK      bool               `json:"ok"`
	Changes []reconcile.Change `json:"changes"`
	Applied []reconcile.Change `json:"applied,omitempty"`
	Skipped []reconcile.Change `json:"skipped,omitempty"`
	Drift   *reconcile.Drift   `json:"drift,omitempty"`
	// InSync (plan only) is what --exit-code reports: no change pending and no drift.
	// Changes may still list prune candidates that the last apply left in place.
	InSync *bool      `json:"inSync,omitempty"`
	Error  *errorJSON `json:"error,omitempty"`
}

// manifestJSON is plan's and apply's JSON document: changes is every tenant's (each named by
// tenant when the manifest lists several), prune candidates included ("prune": true); an
// empty list means in sync, and so does inSync with only prune candidates apply left in place.
type manifestJSON struct {
	OK      bool               `json:"ok"`
	Changes []reconcile.Change `json:"changes"`
	Applied []reconcile.Change `json:"applied,omitempty"`
	Skipped []reconcile.Change `json:"skipped,omitempty"`
	Drift   *reconcile.Drift   `json:"drift,omitempty"`
	// InSync (plan only) is true when every tenant planned is in sync (see tenantJSON).
	InSync  *bool        `json:"inSync,omitempty"`
	Tenants []tenantJSON `json:"tenants,omitempty"`
	Error   *errorJSON   `json:"error,omitempty"`
}

func (f *Factory) errJSON(err error) *errorJSON {
	if err == nil {
		return nil
	}
	return &errorJSON{Message: f.IO.Redactor.Redact(err.Error()), ExitCode: exitCode(err), Hint: f.IO.Redactor.Redact(hintOf(err))}
}

// buildManifestJSON is plan's and apply's document; plan (non-nil) is plan's --prune, which
// sets inSync (left out when a tenant failed: its state is unknown).
func buildManifestJSON(f *Factory, m *manifest.Manifest, outs []reconcile.TenantOutcome, plan *bool) manifestJSON {
	doc := manifestJSON{OK: reconcile.Failed(outs) == 0, Changes: []reconcile.Change{}}
	if plan != nil && doc.OK {
		all := pendingChanges(outs, *plan) == 0
		doc.InSync = &all
	}
	for _, o := range outs {
		tj := tenantJSON{Tenant: o.Tenant, OK: o.Err == nil, Changes: []reconcile.Change{}, Error: f.errJSON(o.Err)}
		if o.Plan != nil {
			tj.Changes, tj.Drift = o.Plan.Changes, o.Plan.Drift
			if plan != nil {
				in := o.Plan.Pending(*plan) == 0
				tj.InSync = &in
			}
		}
		if o.Result != nil {
			tj.Applied, tj.Skipped = o.Result.Applied, o.Result.Skipped
		}
		for _, c := range tj.Changes {
			if m.Multi {
				c.Tenant = o.Tenant
			}
			doc.Changes = append(doc.Changes, c)
		}
		doc.Applied = append(doc.Applied, tj.Applied...)
		doc.Skipped = append(doc.Skipped, tj.Skipped...)
		if m.Multi {
			doc.Tenants = append(doc.Tenants, tj)
		} else {
			doc.Drift, doc.Error = tj.Drift, tj.Error
		}
	}
	return doc
}

// groupTitle is a plan group's heading, in the portal's words.
func groupTitle(resource string) string {
	switch resource {
	case reconcile.ResourceApp:
		return "Enterprise app"
	case reconcile.ResourceTeam:
		return "Invicti teams"
	case reconcile.ResourceUser:
		return "User assignments"
	case reconcile.ResourceGroup:
		return "Group assignments"
	}
	return strings.ToUpper(resource[:1]) + resource[1:]
}

var actionSym = map[string]string{reconcile.ActionCreate: "+", reconcile.ActionUpdate: "~", reconcile.ActionDelete: "-"}

// printManifestPlan prints one tenant's plan grouped by resource, in an admin's words, then
// whether it is in sync (prune: counted as plan --prune does) and whether it drifted since
// the last apply.
func printManifestPlan(p *ui.Printer, plan *reconcile.Plan, prune bool) {
	printChanges(p, plan.Changes)
	if plan.Pending(prune) == 0 {
		if n := plan.PruneCandidates(); n > 0 {
			p.Paragraph("    ", fmt.Sprintf("  In sync: nothing to change without --prune (%s besides the manifest, above).", plural(n, "assignment")))
		} else {
			p.Println("  In sync: nothing to change.")
		}
	}
	drift := plan.Drift
	if drift == nil {
		return
	}
	when := drift.AppliedAt.UTC().Format("2006-01-02 15:04 UTC")
	switch {
	case drift.Drifted:
		p.Paragraph("    ", fmt.Sprintf("  Drift: the tenant changed since this manifest was applied %s; %s.", when, driftFix(plan)))
	case drift.SameManifest:
		p.Printf("  No drift since this manifest was applied %s.\n", when)
	default:
		p.Printf("  The manifest changed since the last apply (%s, %s…).\n", when, drift.SHA256[:min(12, len(drift.SHA256))])
	}
}

// driftFix says what restores a drifted tenant: apply for what the manifest asks for, apply
// --prune for assignments added since.
func driftFix(plan *reconcile.Plan) string {
	added := 0
	for _, c := range plan.Changes {
		if c.AddedSinceApply {
			added++
		}
	}
	prune := fmt.Sprintf("apply --prune removes the %s added since", plural(added, "assignment"))
	switch {
	case added == 0:
		return "apply restores it"
	case plan.Applies(false) == 0:
		return prune
	}
	return "apply restores it, and " + prune
}

// printChanges prints changes grouped by resource, in an admin's words (a prune candidate
// assigned since the last apply says so in its detail).
func printChanges(p *ui.Printer, changes []reconcile.Change) {
	group := ""
	for _, c := range changes {
		if c.Resource != group {
			group = c.Resource
			p.Println("  " + groupTitle(group) + ":")
		}
		verb := c.Action
		if c.Prune {
			verb += " (with --prune)"
		}
		p.Paragraph("      ", fmt.Sprintf("    %s %s %s: %s", actionSym[c.Action], verb, c.Name, c.Detail))
	}
}

// printOutcomes prints every tenant's plan (and what apply did), then one line per tenant
// and a summary when there are several.
func printOutcomes(f *Factory, m *manifest.Manifest, outs []reconcile.TenantOutcome, applied, prune bool) {
	printOutcomesTo(f, ui.Out(f.IO), m, outs, applied, prune)
}

// printOutcomesTo prints to p: stderr for the plan apply asks about under -o json, whose
// stdout holds only the JSON document. prune says deletes of assignments the manifest does
// not name are carried out (apply --prune) or counted as pending (plan --prune).
func printOutcomesTo(f *Factory, p *ui.Printer, m *manifest.Manifest, outs []reconcile.TenantOutcome, applied, prune bool) {
	for _, o := range outs {
		title := "Plan"
		if m.Multi {
			title = "Plan for tenant " + o.Tenant
		}
		if applied {
			title = strings.Replace(title, "Plan", "Applied", 1)
		}
		if o.Err != nil {
			continue
		}
		p.Heading(title)
		switch {
		case applied && o.Result != nil:
			if len(o.Result.Applied) == 0 {
				p.Println("  In sync: nothing to change.")
			}
			printChanges(p, o.Result.Applied)
			if n := len(o.Result.Skipped); n > 0 {
				p.Paragraph("    ", fmt.Sprintf("  %s left in place: apply --prune removes %s.", countBesides(n), itThem(n)))
			}
		case applied:
			p.Println("  In sync: nothing to change.")
		default:
			printManifestPlan(p, o.Plan, prune)
		}
		p.Println()
	}
	if !m.Multi {
		return
	}
	p.Heading("Tenants")
	failed := 0
	for _, o := range outs {
		switch {
		case o.Err != nil:
			failed++
			msg := strings.SplitN(strings.TrimSpace(f.IO.Redactor.Redact(o.Err.Error())), "\n", 2)[0]
			p.Printf("  %-20s failed (exit %d): %s\n", o.Tenant, exitCode(o.Err), msg)
		case applied && o.Result != nil:
			p.Printf("  %-20s ok: %s applied\n", o.Tenant, plural(len(o.Result.Applied), "change"))
		case o.Plan.Pending(prune) == 0:
			p.Printf("  %-20s ok: in sync\n", o.Tenant)
		default:
			p.Printf("  %-20s ok: %s pending\n", o.Tenant, plural(o.Plan.Pending(prune), "change"))
		}
	}
	p.Printf("%d of %s ok, %d failed\n", len(outs)-failed, plural(len(outs), "tenant"), failed)
}

// outcomeErr is the command's error: the tenant's own for one tenant (its exit code), exit 1
// naming the failed tenants for several (each already reported on its line).
func outcomeErr(f *Factory, m *manifest.Manifest, outs []reconcile.TenantOutcome) error {
	n := reconcile.Failed(outs)
	if n == 0 {
		return nil
	}
	for _, o := range outs {
		// Ctrl-C stops every tenant: that is an interruption (130), not tenants failing.
		if errors.Is(o.Err, context.Canceled) {
			return o.Err
		}
	}
	if !m.Multi {
		if f.JSON() {
			return &exitError{code: exitCode(reconcile.FirstError(outs)), err: reconcile.FirstError(outs)}
		}
		return reconcile.FirstError(outs)
	}
	var names []string
	e := ui.Err(f.IO)
	for _, o := range outs {
		if o.Err != nil {
			names = append(names, o.Tenant)
			if !f.JSON() {
				e.Errorf("%s: %s", o.Tenant, strings.TrimSpace(f.IO.Redactor.Redact(o.Err.Error())))
				if h := f.IO.Redactor.Redact(hintOf(o.Err)); h != "" {
					e.Hint(h)
				}
			}
		}
	}
	return &exitError{code: ExitFailed, err: fmt.Errorf("%d of %s failed: %s", n, plural(len(outs), "tenant"), strings.Join(names, ", "))}
}

// additiveOnly reports whether apply would delete nothing (deletes run only with --prune), so
// its confirmation may default to Yes, as setup's does for a plan that only adds.
func additiveOnly(outs []reconcile.TenantOutcome, prune bool) bool {
	for _, o := range outs {
		if o.Plan == nil {
			continue
		}
		for _, c := range o.Plan.Changes {
			if c.Action == "delete" && (prune || !c.Prune) {
				return false
			}
		}
	}
	return true
}

// pendingChanges counts what plan --exit-code reports over every tenant (reconcile.Plan.Pending).
func pendingChanges(outs []reconcile.TenantOutcome, prune bool) int {
	return sumPlans(outs, func(p *reconcile.Plan) int { return p.Pending(prune) })
}

// applyingChanges counts the changes apply (with prune: apply --prune) carries out over every
// tenant (reconcile.Plan.Applies).
func applyingChanges(outs []reconcile.TenantOutcome, prune bool) int {
	return sumPlans(outs, func(p *reconcile.Plan) int { return p.Applies(prune) })
}

// sumPlans adds count over the tenants that have a plan.
func sumPlans(outs []reconcile.TenantOutcome, count func(*reconcile.Plan) int) int {
	n := 0
	for _, o := range outs {
		if o.Plan != nil {
			n += count(o.Plan)
		}
	}
	return n
}

// countBesides is "1 assignment besides the manifest", "6 assignments besides the manifest".
func countBesides(n int) string { return plural(n, "assignment") + " besides the manifest" }

// itThem is the pronoun for n things: "it" for one, "them" otherwise.
func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
