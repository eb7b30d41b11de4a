package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
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

// newJobCmd builds `job`; runF replaces runJob in tests (nil: the real one).
func newJobCmd(f *Factory, runF func(context.Context, *Factory, *jobOptions, string) error) *cobra.Command {
	opts := &jobOptions{}
	if runF == nil {
		runF = runJob
	}
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
			switch {
			case len(args) == 0:
				return flagErrorf("job needs one action: start, pause or restart")
			case len(args) > 1:
				return flagErrorf("job takes one action, got %q", strings.Join(args, " "))
			case args[0] == "stop":
				return flagErrorf("job %q: unknown action; expected start, pause or restart (pause stops the provisioning cycles)", args[0])
			case args[0] != "start" && args[0] != "pause" && args[0] != "restart":
				return flagErrorf("job %q: unknown action; expected start, pause or restart", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runF(ctx, f, opts, args[0])
		},
	}
	opts.graph.register(cmd)
	opts.app.register(cmd)
	cmd.Flags().StringVar(&opts.Reset, "reset", "Watermark, Escrows, QuarantineState", "restart only: what to reset (Watermark, Escrows, QuarantineState, Full, ForceDeletes; comma-separated)")
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "restart only: do not ask for confirmation")
	return cmd
}

func runJob(ctx context.Context, f *Factory, opts *jobOptions, action string) error {
	req := provision.JobRequest{Action: provision.JobAction(action)}
	if req.Action == provision.JobRestart {
		var err error
		if req.Reset, err = provision.NormalizeReset(opts.Reset); err != nil {
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
	req.ServicePrincipalID, req.JobID = s.spID, s.jobID
	if !opts.Yes {
		req.Confirm = func() (bool, error) {
			s.sp.Stop()
			return wizard.Confirm(ctx, f.wizardIO(), "Restart provisioning (reset: "+req.Reset+")?", "Entra re-processes every assigned user and group in the next cycle.", false)
		}
	}
	res, err := provision.ControlJob(ctx, s.conn.Client, req)
	s.sp.Stop()
	if errors.Is(err, provision.ErrDeclined) {
		return declined(f)
	}
	if err != nil {
		return err
	}
	out := jobJSON{Action: action, JobID: res.JobID, Outcome: res.Outcome, ScheduleState: res.ScheduleState, StatusCode: res.StatusCode}
	if f.JSON() {
		out.OK = true
		return printJSON(f, out)
	}
	ui.Out(f.IO).Check(ui.SymOK, fmt.Sprintf("job %s: %s", out.JobID, out.Outcome), fmt.Sprintf("schedule %s, status %s", dash(out.ScheduleState), dash(out.StatusCode)))
	return nil
}
