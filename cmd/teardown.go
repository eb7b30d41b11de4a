package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

type teardownOptions struct {
	graph  graphFlags
	app    appFlags
	Yes    bool
	Keep   bool
	DryRun bool
}

type teardownJSON struct {
	ApplicationID      string `json:"applicationId,omitempty"`
	AppID              string `json:"appId,omitempty"`
	ServicePrincipalID string `json:"servicePrincipalId,omitempty"`
	AppName            string `json:"appName,omitempty"`
	Outcome            string `json:"outcome"` // deleted, already-gone, nothing-recorded, will-delete (--dry-run)
	StateRemoved       bool   `json:"stateRemoved"`
	DryRun             bool   `json:"dryRun,omitempty"`
	// ClaimsPolicies are the claims-mapping policies assigned to the app: the one sso --claims
	// made (deleted, or will-delete in a dry run) and any left, with the reason.
	ClaimsPolicies []provision.TeardownClaimsPolicy `json:"claimsPolicies"`
	// Warnings say what may be left in the tenant and how to remove it.
	Warnings []string `json:"warnings,omitempty"`
	OK       bool     `json:"ok"`
	// OtherTagged lists the other apps carrying the invicti-scim tag (e.g. a twin from two
	// runs at once): teardown names them rather than reporting a clean tenant over them.
	OtherTagged []provision.TaggedApp `json:"otherTagged,omitempty"`
}

// newTeardownCmd builds `teardown`; runF replaces runTeardown in tests (nil: the real one).
func newTeardownCmd(f *Factory, runF func(context.Context, *Factory, *teardownOptions) error) *cobra.Command {
	opts := &teardownOptions{}
	if runF == nil {
		runF = runTeardown
	}
	cmd := &cobra.Command{
		Use:   "teardown",
		Short: "Delete the enterprise app and forget it",
		Long: `Delete the enterprise app that setup created: the application object, which makes Entra
delete its service principal, provisioning job, saved credentials and assignments. Before
that it deletes the claims-mapping policy ` + "`sso --claims`" + ` made for the app (a tenant object
of its own, which deleting the app would leave behind). Then remove the state file. Users
already provisioned into Invicti stay there.

A claims-mapping policy is deleted only when invicti-scim made it and no other app uses it;
any other is listed and left. Reading the policies needs Policy.Read.All and deleting one
Policy.ReadWrite.ApplicationConfiguration: without them the app is still deleted, and a
warning says what may be left and how to remove it; the plan says so already when the
signed-in token lacks Policy.ReadWrite.ApplicationConfiguration.

When the app was deleted elsewhere (already gone), teardown deletes the claims-mapping policy
the state recorded for it (sso --claims records its id) if it still exists and no app uses it,
or warns with its id and the Graph call. An app named by --app-id or --sp-id that no longer
exists counts as already gone (exit 0).

It deletes only an app invicti-scim made (from the non-gallery template, and tagged
invicti-scim or recorded in the state), and only the application object Graph confirms for it.
Other apps carrying the invicti-scim tag (a twin from an interrupted or concurrent run) are
listed at the end, not deleted.

It shows what will be deleted and asks first; without a terminal --yes is required. --dry-run
shows the same plan and changes nothing. Running it again succeeds (exit 0): with the app
already gone it says so ("already-gone"); with no app recorded in the config dir and none
named, as after an earlier teardown or before any setup here, it changes nothing, says
"Nothing to tear down" ("nothing-recorded") and lists any app tagged invicti-scim it could
remove with --sp-id. It never reports removing a state file that was not there.`,
		Example: `  invicti-scim teardown
  invicti-scim teardown --dry-run
  invicti-scim teardown --yes -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runF(ctx, f, opts)
		},
	}
	opts.graph.register(cmd)
	opts.app.register(cmd)
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "Delete without asking (required when not interactive)")
	cmd.Flags().BoolVar(&opts.Keep, "keep-state", false, "Do not remove the state file")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "Show what would be deleted; change nothing")
	return cmd
}

func runTeardown(ctx context.Context, f *Factory, opts *teardownOptions) error {
	if !opts.Yes && !opts.DryRun && !f.CanPrompt() {
		return flagErrorf("teardown deletes the enterprise app: pass --yes to confirm when not running interactively (or --dry-run to see what would be deleted)")
	}
	s, err := openApp(ctx, f, &opts.graph, opts.app)
	defer s.stop()
	var noApp *provision.NoAppError
	nothing := false
	switch {
	case errors.As(err, &noApp) && s != nil && s.conn != nil:
		// No app has that appId: already gone, as for an --sp-id that is gone.
	case errors.Is(err, provision.ErrNoAppRecorded) && s != nil && s.conn != nil:
		nothing = true // torn down already, or never set up with this config dir: nothing to do
	case err != nil:
		return err
	}
	store, st, sp, spID := s.store, s.st, s.sp, s.spID
	req := provision.TeardownRequest{
		ServicePrincipalID: spID,
		Ownership: provision.Ownership{TemplateID: s.conn.Cloud.TemplateID, Recorded: provision.RecordedSP(st),
			What: "teardown deletes only apps invicti-scim made", Hint: "delete it in the Entra portal if you are sure it should go"},
		Progress:        func(e provision.Event) { sp.Set(e.Message) },
		DryRun:          opts.DryRun,
		NothingRecorded: nothing,
	}
	switch {
	case st.App != nil && spID != "" && st.App.ServicePrincipalID == spID:
		req.KnownAppID, req.KnownName, req.KnownClaimsPolicyID = st.App.AppID, st.App.DisplayName, st.App.ClaimsPolicyID
	case noApp != nil:
		req.KnownAppID = noApp.AppID
	}
	var plannedWarnings []string // said at the confirmation
	if !opts.Yes && !opts.DryRun {
		req.Confirm = func(plan provision.TeardownPlan) (bool, error) {
			sp.Stop()
			ui.Err(f.IO).Panel("Will delete", teardownPlanLines(plan))
			plannedWarnings = plan.Warnings
			printTeardownWarnings(f, plan.Warnings)
			return wizard.Confirm(ctx, f.wizardIO(), "Delete the app?", "This cannot be undone.", false)
		}
	}
	res, err := provision.Teardown(ctx, s.conn.Client, req)
	sp.Stop()
	if errors.Is(err, provision.ErrDeclined) {
		return declined(f)
	}
	if err != nil {
		return err
	}
	out := teardownJSON{ApplicationID: res.ApplicationID, AppID: res.AppID, ServicePrincipalID: spID, AppName: res.AppName,
		Outcome: res.Outcome, OtherTagged: res.OtherTagged, DryRun: opts.DryRun,
		ClaimsPolicies: res.ClaimsPolicies, Warnings: res.Warnings}
	if out.ClaimsPolicies == nil {
		out.ClaimsPolicies = []provision.TeardownClaimsPolicy{}
	}
	// Said on stderr in every mode (also beside -o json): something may be left in the tenant.
	// Those already said at the confirmation are not repeated.
	printTeardownWarnings(f, newWarnings(out.Warnings, plannedWarnings))
	if !opts.Keep && !opts.DryRun && (st.App == nil || st.App.ServicePrincipalID == spID) {
		removed, err := store.Remove()
		if err != nil {
			return err
		}
		out.StateRemoved = removed // false when an earlier teardown removed it
	}
	if f.JSON() {
		out.OK = true
		return printJSON(f, out)
	}
	p := ui.Out(f.IO)
	switch out.Outcome {
	case "will-delete":
		p.Println("Would delete:")
		for _, l := range teardownPlanLines(res.TeardownPlan) {
			p.Println("  " + l)
		}
		p.Println("dry run: nothing was changed")
	case "nothing-recorded":
		p.Check(ui.SymOK, "Nothing to tear down: no app is recorded in "+store.Dir,
			"torn down already, or never set up with this config dir (--config-dir); --sp-id or --app-id names an app to remove")
	case "deleted":
		printTeardownPolicies(p, out.ClaimsPolicies)
		p.Check(ui.SymOK, fmt.Sprintf("Deleted %q (appId %s)", out.AppName, out.AppID), "Entra removes the service principal and job with it")
	default:
		printTeardownPolicies(p, out.ClaimsPolicies)
		p.Check(ui.SymOK, "The app is already gone", teardownAppRef(out))
		if opts.DryRun && len(out.ClaimsPolicies) > 0 {
			p.Println("dry run: nothing was changed")
		}
	}
	if out.StateRemoved {
		p.Check(ui.SymOK, "Removed the state file", store.Path())
	}
	for _, o := range out.OtherTagged {
		p.Check(ui.SymWarn, fmt.Sprintf("Also tagged %s, not deleted: %q (servicePrincipal %s, appId %s)", provision.MarkerTag, o.DisplayName, o.ServicePrincipalID, o.AppID),
			"remove it with: invicti-scim teardown --sp-id "+o.ServicePrincipalID)
	}
	return nil
}

// printTeardownPolicies says what became of each claims-mapping policy.
func printTeardownPolicies(p *ui.Printer, ps []provision.TeardownClaimsPolicy) {
	for _, c := range ps {
		switch c.Outcome {
		case provision.PolicyDeleted:
			p.Check(ui.SymOK, fmt.Sprintf("Deleted the claims-mapping policy %q", c.DisplayName), c.ID)
		case provision.PolicyWillDelete: // a dry run when the app is gone
			p.Check(ui.SymPlan, fmt.Sprintf("Would delete the claims-mapping policy %q, made by sso --claims", c.DisplayName), c.ID)
		default:
			p.Check(ui.SymWarn, fmt.Sprintf("Left the claims-mapping policy %q", c.DisplayName), c.ID+": "+c.Reason)
		}
	}
}

// teardownAppRef names the app that is gone: its service principal, else its appId.
func teardownAppRef(out teardownJSON) string {
	if out.ServicePrincipalID != "" {
		return out.ServicePrincipalID
	}
	return "appId " + out.AppID
}

// teardownPlanLines describes what teardown deletes (the confirmation panel, --dry-run).
func teardownPlanLines(plan provision.TeardownPlan) []string {
	var lines []string
	for _, c := range plan.ClaimsPolicies {
		if c.Outcome == provision.PolicyWillDelete {
			lines = append(lines, fmt.Sprintf("Claims-mapping policy %q (id %s), made by sso --claims", c.DisplayName, c.ID))
		}
	}
	if plan.ApplicationID == "" {
		// The app is gone already: only the policy the state recorded for it is left to delete.
		lines = append(lines, fmt.Sprintf("(the enterprise app %s is already gone)", dash(plan.AppName)))
	} else {
		lines = append(lines,
			fmt.Sprintf("Enterprise app %q (appId %s)", plan.AppName, plan.AppID),
			"Application object "+plan.ApplicationID+" and with it:",
			"  service principal "+plan.ServicePrincipalID+", its provisioning job, saved credentials and assignments")
	}
	for _, c := range plan.ClaimsPolicies {
		if c.Outcome != provision.PolicyWillDelete {
			lines = append(lines, fmt.Sprintf("Not deleted: claims-mapping policy %q (id %s): %s", c.DisplayName, c.ID, c.Reason))
		}
	}
	return append(lines, "Users already in Invicti are not touched.")
}

// printTeardownWarnings says on stderr what teardown may leave in the tenant.
func printTeardownWarnings(f *Factory, ws []string) {
	for _, w := range ws {
		ui.Err(f.IO).Check(ui.SymWarn, "warning", w)
	}
}

// newWarnings are the warnings in all that were not already said in said.
func newWarnings(all, said []string) []string {
	var out []string
	for _, w := range all {
		if !slices.Contains(said, w) {
			out = append(out, w)
		}
	}
	return out
}
