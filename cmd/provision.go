package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

type provisionOptions struct {
	graph   graphFlags
	app     appFlags
	invicti invictiFlags
	Users   []string
	Groups  []string
	Verify  bool
	Wait    time.Duration
}

func newProvisionCmd(f *Factory) *cobra.Command {
	opts := &provisionOptions{}
	cmd := &cobra.Command{
		Use:   "provision",
		Short: "Provision users or groups into Invicti now (provision on demand)",
		Long: `Provision assigned users or groups now instead of waiting 20–40 minutes for Entra's next cycle.

The verdict is read from inside Graph's answer (HTTP 200 also carries failures):
  Success                          exit 0
  Skipped / RedundantExport        exit 0 (already in sync)
  Skipped / NotEffectivelyEntitled retried within --wait, for assignments younger than --wait
                                   (fresh assignments take minutes to replicate); exit 1 after
  Failure                          exit 1 with Entra's error code and message

First the app's assignments are read once: a user who is neither assigned nor a direct
member of an assigned group (or a group that is not assigned) fails at once with
"not assigned: run assign first", without waiting. Each failure is named on stderr.

A group is provisioned with its members, at most 5 per call as Entra allows: larger groups are
sent in slices of 5. Calls are paced to Entra's limit of 5 per 10 seconds.
--verify asks Invicti directly (SCIM, with the client credentials) that each user now exists.`,
		Example: `  invicti-scim provision --user alice@contoso.com --verify
  invicti-scim provision --group "Invicti Users" -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runProvision(ctx, f, opts)
		},
	}
	opts.graph.register(cmd)
	opts.app.register(cmd)
	opts.invicti.register(cmd)
	fs := cmd.Flags()
	fs.StringArrayVar(&opts.Users, "user", nil, "User principal name, mail or object id; repeatable")
	fs.StringArrayVar(&opts.Groups, "group", nil, "Group display name or object id; repeatable")
	fs.BoolVar(&opts.Verify, "verify", false, "After provisioning, check in Invicti (SCIM) that each user exists")
	fs.DurationVar(&opts.Wait, "wait", 5*time.Minute, "How long to retry while Entra does not yet see a fresh assignment")
	return cmd
}

func runProvision(ctx context.Context, f *Factory, opts *provisionOptions) error {
	if len(opts.Users) == 0 && len(opts.Groups) == 0 {
		return flagErrorf("nothing to provision: pass --user or --group")
	}
	for _, v := range opts.Users {
		if err := validUser("--user", v); err != nil {
			return err
		}
	}
	for _, v := range opts.Groups {
		if err := validPrincipal("--group", v); err != nil {
			return err
		}
	}
	if opts.Wait < 0 {
		return flagErrorf("--wait %s: must not be negative", opts.Wait)
	}
	s, err := openApp(ctx, f, &opts.graph, opts.app)
	defer s.stop()
	if err != nil {
		return err
	}
	sp, conn, spID, jobID := s.sp, s.conn, s.spID, s.jobID
	od := &provision.OnDemand{Graph: conn.Client, Progress: spinnerOnly(sp), EntitlementWait: opts.Wait}
	if opts.Verify {
		in, err := opts.invicti.resolve(ctx, f, &s.st, f.CanPrompt())
		if err != nil {
			return err
		}
		od.SCIM = f.Checker().Client(ctx, in.Endpoints, in.Credentials)
	}
	if jobID, err = resolveJob(ctx, conn, spID, jobID); err != nil {
		return permissionHint(err, provision.PermSync)
	}
	res, err := od.Run(ctx, provision.OnDemandRequest{ServicePrincipalID: spID, JobID: jobID, Users: opts.Users, Groups: opts.Groups, Verify: opts.Verify})
	sp.Stop()
	if err != nil {
		return permissionHint(err, provision.PermSync)
	}
	var failed error
	if !res.OK {
		failed = &exitError{code: ExitFailed, err: fmt.Errorf("provisioning did not succeed for every subject")}
	}
	if f.JSON() {
		// "ok": false comes with "error", as in every JSON document (README).
		if err := printJSON(f, struct {
			*provision.OnDemandResult
			Error *errorJSON `json:"error,omitempty"`
		}{res, f.errJSON(failed)}); err != nil {
			return err
		}
	} else {
		printProvisionResults(ui.Out(f.IO), res)
	}
	if failed != nil {
		reportProvisionFailures(f, res)
	}
	return failed
}

// reportProvisionFailures names each subject that did not end provisioned, with Entra's own
// verdict message (or Graph's error), on stderr.
func reportProvisionFailures(f *Factory, res *provision.OnDemandResult) {
	var lines []itemFailure
	for _, it := range res.Items {
		name := it.Input // a group's input names the slice of members
		if it.Type == "user" && it.Name != "" {
			name = it.Name
		}
		reason := ""
		switch {
		case it.Status != provision.StatusProvisioned && it.Status != provision.StatusInSync:
			reason = it.Status
			if it.Error != "" {
				reason += ": " + it.Error
			} else if v := it.Verdict; v != nil {
				reason += ": " + strings.TrimSpace(v.Result+" "+v.ErrorCode+" "+v.Message)
			}
		case it.Verified != nil && !it.Verified.Found:
			reason = "provisioned by Entra, but not found in Invicti: " + it.Verified.Error
		default:
			continue
		}
		lines = append(lines, itemFailure{Type: it.Type, Name: name, Reason: reason})
	}
	reportItemFailures(f, lines)
}

func printProvisionResults(p *ui.Printer, res *provision.OnDemandResult) {
	for i, it := range res.Items {
		if i > 0 {
			p.Println()
		}
		name := it.Name
		if name == "" {
			name = it.Input
		}
		sym := ui.SymOK
		if it.Status != provision.StatusProvisioned && it.Status != provision.StatusInSync {
			sym = ui.SymFail
		}
		detail := it.Status
		if it.Verdict != nil {
			detail = it.Verdict.Result
			if it.Verdict.ErrorCode != "" {
				detail += "/" + it.Verdict.ErrorCode
			}
		}
		if it.Attempts > 1 {
			detail += fmt.Sprintf(", %d attempts", it.Attempts)
		}
		p.Check(sym, fmt.Sprintf("%s %s", it.Type, name), detail)
		if it.Error != "" {
			p.Printf("    %s\n", it.Error)
		}
		if len(it.Members) > 0 {
			p.Printf("    members: %s\n", strings.Join(it.Members, ", "))
		}
		if v := it.Verdict; v != nil && len(v.Steps) > 0 {
			var rows [][]string
			for _, s := range v.Steps {
				rows = append(rows, []string{"    " + s.Type, s.Status, s.Description})
			}
			p.Table([]string{"    STEP", "STATUS", "DETAIL"}, rows)
			if len(v.Attributes) > 0 {
				var attrs []string
				for _, a := range v.Attributes {
					attrs = append(attrs, a.Name+"="+a.NewValue)
				}
				p.Printf("    sent: %s\n", strings.Join(attrs, ", "))
			}
		}
		if vr := it.Verified; vr != nil {
			if vr.Found {
				p.Check(ui.SymOK, "    in Invicti", fmt.Sprintf("id %s, userName %s, active %t", vr.ID, vr.UserName, vr.Active))
			} else {
				p.Check(ui.SymFail, "    in Invicti", vr.Error)
			}
		}
	}
}
