package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

type jobOptions struct {
	graph graphFlags
	app   appFlags
	Reset string
	Yes   bool
}

type jobJSON struct {
	Action        string `json:"action"`
	JobID         string `json:"jobId"`
	Outcome       string `json:"outcome"`
	ScheduleState string `json:"scheduleState"`
	StatusCode    string `json:"statusCode"`
	OK            bool   `json:"ok"`
}

func newJobCmd(f *Factory) *cobra.Command {
	opts := &jobOptions{}
	cmd := &cobra.Command{
		Use:   "job start|pause|restart",
		Short: "Start, pause or restart the provisioning job",
		Long: `Control the provisioning job.

  start    start or resume the job; does nothing when it already runs (Graph warns that
           repeated starts of a running job can stop the service). Also lifts quarantine.
  pause    stop provisioning after the current cycle.
  restart  clear state and run again: --reset chooses what is cleared (Graph's resetScope):
           Watermark (re-evaluate every object, not just changes), Escrows (retry failed
           objects now), QuarantineState (lift quarantine), Full (all of it). Default:
           "Watermark, Escrows, QuarantineState", like the portal's "Restart provisioning".
           A restart re-reads every assigned user, so it asks for confirmation (--yes).`,
		Example: `  invicti-scim job start
  invicti-scim job pause
  invicti-scim job restart --reset QuarantineState --yes`,
		ValidArgs: []string{"start", "pause", "restart"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || (args[0] != "start" && args[0] != "pause" && args[0] != "restart") {
				return flagErrorf("job needs one action: start, pause or restart")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runJob(ctx, f, opts, args[0])
		},
	}
	opts.graph.register(cmd)
	opts.app.register(cmd)
	cmd.Flags().StringVar(&opts.Reset, "reset", "Watermark, Escrows, QuarantineState", "restart only: what to reset (Watermark, Escrows, QuarantineState, Full, ForceDeletes; comma-separated)")
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "restart only: do not ask for confirmation")
	return cmd
}

var resetScopes = []string{"Watermark", "Escrows", "QuarantineState", "Full", "ForceDeletes"}

func normalizeReset(s string) (string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		p := strings.TrimSpace(part)
		if p == "" {
			continue
		}
		found := ""
		for _, v := range resetScopes {
			if strings.EqualFold(v, p) {
				found = v
			}
		}
		if found == "" {
			return "", flagErrorf("--reset %q: unknown scope %q; expected any of %s", s, p, strings.Join(resetScopes, ", "))
		}
		out = append(out, found)
	}
	if len(out) == 0 {
		return "", flagErrorf("--reset %q: names no scope; expected any of %s", s, strings.Join(resetScopes, ", "))
	}
	return strings.Join(out, ", "), nil
}

func runJob(ctx context.Context, f *Factory, opts *jobOptions, action string) error {
	reset := ""
	if action == "restart" {
		var err error
		if reset, err = normalizeReset(opts.Reset); err != nil {
			return err
		}
		if !opts.Yes && !f.CanPrompt() {
			return flagErrorf("job restart re-processes every assigned user: pass --yes to confirm when not running interactively")
		}
	}
	s, err := openApp(ctx, f, &opts.graph, opts.app)
	defer s.stop()
	if err != nil {
		return err
	}
	sp, conn, spID, jobID := s.sp, s.conn, s.spID, s.jobID
	if jobID, err = resolveJob(ctx, conn, spID, jobID); err != nil {
		return permissionHint(err, "Synchronization.ReadWrite.All")
	}
	job, err := conn.Client.Job(ctx, spID, jobID)
	if err != nil {
		return permissionHint(err, "Synchronization.ReadWrite.All")
	}
	out := jobJSON{Action: action, JobID: jobID}
	switch action {
	case "start":
		if job.Running() {
			out.Outcome = "already-running"
		} else {
			if err := conn.Client.StartJob(ctx, spID, jobID); err != nil {
				return permissionHint(err, "Synchronization.ReadWrite.All")
			}
			out.Outcome = "started"
		}
	case "pause":
		if strings.EqualFold(job.Schedule.State, "Paused") {
			out.Outcome = "already-paused"
		} else {
			if err := conn.Client.PauseJob(ctx, spID, jobID); err != nil {
				return permissionHint(err, "Synchronization.ReadWrite.All")
			}
			out.Outcome = "paused"
		}
	case "restart":
		if !opts.Yes {
			sp.Stop()
			ok, err := wizard.Confirm(ctx, f.wizardIO(), "Restart provisioning (reset: "+reset+")?", "Entra re-processes every assigned user and group in the next cycle.", false)
			if err != nil {
				return err
			}
			if !ok {
				return wizard.ErrCancelled
			}
		}
		if err := conn.Client.RestartJob(ctx, spID, jobID, reset); err != nil {
			return permissionHint(err, "Synchronization.ReadWrite.All")
		}
		out.Outcome = "restarted"
	}
	if after, err := conn.Client.Job(ctx, spID, jobID); err == nil {
		out.ScheduleState, out.StatusCode = after.Schedule.State, after.Status.Code
	}
	sp.Stop()
	if f.JSON() {
		out.OK = true
		return printJSON(f, out)
	}
	ui.Out(f.IO).Check(ui.SymOK, fmt.Sprintf("job %s: %s", jobID, out.Outcome), fmt.Sprintf("schedule %s, status %s", dash(out.ScheduleState), dash(out.StatusCode)))
	return nil
}
