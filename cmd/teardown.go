package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/graph"
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
	OtherTagged []taggedApp `json:"otherTagged,omitempty"`
}

// taggedApp is an enterprise app carrying the invicti-scim tag.
type taggedApp struct {
	ServicePrincipalID string `json:"servicePrincipalId"`
	AppID              string `json:"appId"`
	DisplayName        string `json:"displayName"`
}

func newTeardownCmd(f *Factory) *cobra.Command {
	opts := &teardownOptions{}
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
			return runTeardown(ctx, f, opts)
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
	store, st, sp, conn, spID := s.store, s.st, s.sp, s.conn, s.spID
	out := teardownJSON{ServicePrincipalID: spID}
	if st.App != nil && st.App.ServicePrincipalID == spID {
		// Names for the report only: the application id deleted is always the one Graph
		// confirms below, never one read from a file.
		out.AppID, out.AppName = st.App.AppID, st.App.DisplayName
	}
	sp.Set("Looking up the app")
	spObj, err := ownedApp(ctx, conn, spID, st, "teardown deletes only apps invicti-scim made", "delete it in the Entra portal if you are sure it should go")
	var he *hintedError
	if errors.As(err, &he) {
		return err
	}
	switch {
	case err == nil:
		out.AppID, out.AppName = spObj.AppID, spObj.DisplayName
		app, aerr := conn.Client.ApplicationByAppID(ctx, spObj.AppID)
		if aerr != nil && !graph.IsNotFound(aerr) {
			return permissionHint(aerr, provision.PermApplication)
		}
		if aerr == nil {
			out.ApplicationID = app.ID
		}
	case graph.IsNotFound(err):
		out.Outcome = "already-gone"
	default:
		return permissionHint(err, provision.PermApplication)
	}
	sp.Stop()
	if out.Outcome == "" && out.ApplicationID == "" {
		out.Outcome = "already-gone"
	}
	if out.Outcome == "" {
		if !opts.Yes {
			p := ui.Err(f.IO)
			p.Panel("Will delete", []string{
				fmt.Sprintf("Enterprise app %q (appId %s)", out.AppName, out.AppID),
				"Application object " + out.ApplicationID + " and with it:",
				"  service principal " + spID + ", its provisioning job, saved credentials and assignments",
				"Users already in Invicti are not touched.",
			})
			ok, err := wizard.Confirm(ctx, f.wizardIO(), "Delete the app?", "This cannot be undone.", false)
			if err != nil {
				return err
			}
			if !ok {
				return wizard.ErrCancelled
			}
		}
		sp.Set("Deleting the app")
		err := conn.Client.DeleteApplication(ctx, out.ApplicationID)
		sp.Stop()
		switch {
		case err == nil:
			out.Outcome = "deleted"
		case graph.IsNotFound(err):
			out.Outcome = "already-gone"
		default:
			return permissionHint(err, provision.PermApplication)
		}
	}
	out.OtherTagged = otherTagged(ctx, conn, spID)
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

// otherTagged lists the apps carrying the invicti-scim tag other than the one torn down. It
// is a report, so a Graph that cannot answer the tag query only loses the report.
func otherTagged(ctx context.Context, conn *graphConn, spID string) []taggedApp {
	sps, err := conn.Client.FindServicePrincipals(ctx, "tags/any(t:t eq "+graph.Quote(provision.MarkerTag)+")")
	if err != nil {
		return nil
	}
	var out []taggedApp
	for _, sp := range sps {
		if strings.EqualFold(sp.ID, spID) {
			continue // the one torn down (Entra's lists lag behind the delete)
		}
		out = append(out, taggedApp{ServicePrincipalID: sp.ID, AppID: sp.AppID, DisplayName: sp.DisplayName})
	}
	return out
}
