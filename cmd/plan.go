package cmd

import (
	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/ui"
)

type planOptions struct {
	manifestRun
	ExitCode bool
	Prune    bool
}

func newPlanCmd(f *Factory) *cobra.Command {
	opts := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan -f FILE",
		Short: "Show what apply -f would change in the tenant (reads only)",
		Long: `Read the manifest (invicti-scim.yaml, docs/manifest.md) and the tenant, and print what
` + "`invicti-scim apply -f`" + ` would change, grouped by what it changes: the enterprise app, its
provisioning job, settings and start, Invicti teams, user and group assignments, attribute
mappings and single sign-on. Nothing is written. An empty plan means the tenant is in sync.

Assignments in Entra that the manifest does not list are shown as deletes that only
apply --prune carries out (prune candidates). When this manifest was applied before (state
records its SHA-256, the time and the assignments it saw), plan says whether the tenant
drifted since: something the manifest asks for went missing or changed, or an assignment
besides it was added after the apply. One that apply saw and left in place is not drift.

With a tenants: list, --all plans every tenant concurrently (--parallel at once) and ends
with one line per tenant and a summary; one tenant's failure never stops the others, and
the exit code is 1 if any failed.

With --exit-code, plan exits 0 when in sync and 5 when changes are pending: what apply would
change, and drift (for CI drift checks). Prune candidates apply left in place count only
with --prune, which plans as apply --prune does. -o json prints
{"ok":true,"changes":[{"action","resource","name","detail"}],"inSync":false}.`,
		Example: `  invicti-scim plan -f invicti-scim.yaml
  invicti-scim plan -f invicti-scim.yaml --exit-code -o json
  invicti-scim plan -f invicti-scim.yaml --exit-code --prune
  invicti-scim plan -f tenants.yaml --all --parallel 8`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			m, err := opts.load(cmd, f.IO.In)
			if err != nil {
				return err
			}
			sp := ui.NewSpinner(f.IO)
			defer sp.Stop()
			_, outs, err := opts.planAll(ctx, f, sp, m, false)
			if err != nil {
				return err
			}
			if f.JSON() {
				if err := printJSON(f, buildManifestJSON(f, m, outs, &opts.Prune)); err != nil {
					return err
				}
			} else {
				printOutcomes(f, m, outs, false, opts.Prune)
			}
			if err := outcomeErr(f, m, outs); err != nil {
				return err
			}
			if opts.ExitCode && pendingChanges(outs, opts.Prune) > 0 {
				return silent(ExitChanges)
			}
			return nil
		},
	}
	opts.register(cmd)
	cmd.Flags().BoolVar(&opts.ExitCode, "exit-code", false, "Exit 5 when changes are pending or the tenant drifted, 0 when in sync")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "Plan as apply --prune: assignments the manifest does not list count as pending")
	return cmd
}
