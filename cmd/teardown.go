package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

type teardownOptions struct {
	graph graphFlags
	app   appFlags
	Yes   bool
	Keep  bool
}

type teardownJSON struct {
	ApplicationID      string `json:"applicationId,omitempty"`
	AppID              string `json:"appId,omitempty"`
	ServicePrincipalID string `json:"servicePrincipalId,omitempty"`
	AppName            string `json:"appName,omitempty"`
	Outcome            string `json:"outcome"` // deleted, already-gone
	StateRemoved       bool   `json:"stateRemoved"`
	OK                 bool   `json:"ok"`
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
delete its service principal, provisioning job, saved credentials and assignments. Then remove
the state file. Users already provisioned into Invicti stay there.

It deletes only an app invicti-scim made (from the non-gallery template, and tagged
invicti-scim or recorded in the state), and only the application object Graph confirms for it.
Other apps carrying the invicti-scim tag (a twin from an interrupted or concurrent run) are
listed at the end, not deleted.

It shows what will be deleted and asks first; without a terminal --yes is required. Running
it again when the app is already gone succeeds.`,
		Example: `  invicti-scim teardown
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
	return cmd
}

func runTeardown(ctx context.Context, f *Factory, opts *teardownOptions) error {
	if !opts.Yes && !f.CanPrompt() {
		return flagErrorf("teardown deletes the enterprise app: pass --yes to confirm when not running interactively")
	}
	s, err := openApp(ctx, f, &opts.graph, opts.app)
	defer s.stop()
	if err != nil {
		return err
	}
	store, st, sp, spID := s.store, s.st, s.sp, s.spID
	req := provision.TeardownRequest{
		ServicePrincipalID: spID,
		Ownership: provision.Ownership{TemplateID: s.conn.Cloud.TemplateID, Recorded: provision.RecordedSP(st),
			What: "teardown deletes only apps invicti-scim made", Hint: "delete it in the Entra portal if you are sure it should go"},
		Progress: func(e provision.Event) { sp.Set(e.Message) },
	}
	if st.App != nil && st.App.ServicePrincipalID == spID {
		req.KnownAppID, req.KnownName = st.App.AppID, st.App.DisplayName
	}
	if !opts.Yes {
		req.Confirm = func(plan provision.TeardownPlan) (bool, error) {
			sp.Stop()
			ui.Err(f.IO).Panel("Will delete", []string{
				fmt.Sprintf("Enterprise app %q (appId %s)", plan.AppName, plan.AppID),
				"Application object " + plan.ApplicationID + " and with it:",
				"  service principal " + spID + ", its provisioning job, saved credentials and assignments",
				"Users already in Invicti are not touched.",
			})
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
		Outcome: res.Outcome, OtherTagged: res.OtherTagged}
	if !opts.Keep && (st.App == nil || st.App.ServicePrincipalID == spID) {
		if err := store.Remove(); err != nil {
			return err
		}
		out.StateRemoved = true
	}
	if f.JSON() {
		out.OK = true
		return printJSON(f, out)
	}
	p := ui.Out(f.IO)
	if out.Outcome == "deleted" {
		p.Check(ui.SymOK, fmt.Sprintf("Deleted %q (appId %s)", out.AppName, out.AppID), "Entra removes the service principal and job with it")
	} else {
		p.Check(ui.SymOK, "The app is already gone", spID)
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
