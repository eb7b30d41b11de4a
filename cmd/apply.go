package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/reconcile"
	"github.com/invicti-scim/invicti-scim/internal/shellarg"
	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

type applyOptions struct {
	manifestRun
	Yes   bool
	Prune bool
}

func newApplyCmd(f *Factory) *cobra.Command {
	opts := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Make the tenant match the manifest: apply exactly the plan it shows",
		Long: `Plan as ` + "`invicti-scim plan -f`" + ` does, show the plan, and apply exactly those changes
through the same steps as setup, assign, sso and mappings. On a terminal it asks first;
otherwise --yes is required. Assignments the manifest does not list are removed only with
--prune; without it they are left in place and recorded as seen. The tenant's state records
the manifest's SHA-256, the time and those assignments, so status and plan can tell when the
tenant drifts from it (an assignment added later is drift; one apply left in place is not).

With a tenants: list, --all plans and applies every tenant concurrently (--parallel at
once), each with its own sign-in, state directory and lock; one tenant's failure never
stops the others. It prints one line per tenant and a summary, and exits 1 if any failed.`,
		Example: `  invicti-scim apply -f invicti-scim.yaml
  invicti-scim apply -f invicti-scim.yaml --yes --prune
  invicti-scim apply -f tenants.yaml --all --yes -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			m, err := opts.load(cmd, f.IO.In)
			if err != nil {
				return err
			}
			ask := !opts.Yes && f.CanPrompt()
			if !opts.Yes && !ask {
				return flagErrorf("apply changes the tenant and there is no terminal to confirm on: pass --yes (run plan %s first to review)", shellarg.Flag("-f", opts.File))
			}
			sp := ui.NewSpinner(f.IO)
			defer sp.Stop()
			deps, outs, err := opts.planAll(ctx, f, sp, m, true)
			if err != nil {
				return err
			}
			if ask {
				n := applyingChanges(outs, opts.Prune)
				pr := ui.Out(f.IO)
				if f.JSON() {
					pr = ui.Err(f.IO)
				}
				printOutcomesTo(f, pr, m, outs, false, opts.Prune)
				if n > 0 {
					question := fmt.Sprintf("Apply these %s?", plural(n, "change"))
					if n == 1 {
						question = "Apply this change?"
					}
					ok, err := wizard.Confirm(ctx, f.wizardIO(), question, "Nothing has been changed yet.", additiveOnly(outs, opts.Prune))
					if err != nil || !ok {
						reconcile.Close(outs)
						if err == nil {
							err = declined(f)
						}
						return err
					}
				}
			}
			if sp.Animated() {
				sp.Set("Applying")
			}
			deps.ApplyAll(ctx, outs, opts.Parallel, opts.Prune)
			sp.Stop()
			if f.JSON() {
				if err := printJSON(f, buildManifestJSON(f, m, outs, nil)); err != nil {
					return err
				}
			} else {
				printOutcomes(f, m, outs, true, opts.Prune)
			}
			return outcomeErr(f, m, outs)
		},
	}
	opts.register(cmd)
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "Apply without asking (required without a terminal)")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "Also remove assignments the manifest does not list")
	return cmd
}
