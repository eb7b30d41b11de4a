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

type logsOptions struct {
	graph graphFlags
	app   appFlags
	Since string
	// sinceSet: --since was given (an empty value is then a usage error, not the default).
	sinceSet bool
	User     string
	Status   string
	Max      int
}

// newLogsCmd builds `logs`; runF replaces runLogs in tests (nil: the real one).
func newLogsCmd(f *Factory, runF func(context.Context, *Factory, *logsOptions) error) *cobra.Command {
	opts := &logsOptions{}
	if runF == nil {
		runF = runLogs
	}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the provisioning logs of the app",
		Long: `Show Entra's provisioning logs for this app (GET /auditLogs/provisioning): time, user,
action, status and the error reason. Entra keeps them for 30 days.

Without --since it reads the last 24 hours, or further back to the job's last successful cycle
or the start of its quarantine, whichever is older (at most the 30 days Entra keeps), so a
problem that began days ago is in view; when it looks back further than 24 hours it says on
stderr how far and why.

It reads the app first, because Graph answers an unknown app with no entries: an app that no
longer exists (or an --sp-id or --app-id that names none) exits 1 with the fix, as status and
job do. An unknown --user exits 1 too, as in assign and provision (an object id Graph no
longer knows is allowed while entries for it remain, e.g. a user deleted since).

Reading them needs the AuditLog.Read.All permission (signed in as a person: a role such as
Reports Reader, Security Reader, Global Reader or Application Administrator).`,
		Example: `  invicti-scim logs --since 24h
  invicti-scim logs --status failure --since 7d
  invicti-scim logs --user alice@contoso.com -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			opts.sinceSet = cmd.Flags().Changed("since")
			return runF(ctx, f, opts)
		},
	}
	opts.graph.register(cmd)
	opts.app.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&opts.Since, "since", "", "How far back: a duration such as 1h, 24h or 7d (default: 24h, or back to the job's last successful cycle or the start of its quarantine when older; at most 30d)")
	fs.StringVar(&opts.User, "user", "", "Only entries for this user (UPN or object id)")
	fs.StringVar(&opts.Status, "status", "", "Only entries with this status: success, failure, skipped or warning")
	fs.IntVar(&opts.Max, "max", 200, "At most this many entries")
	_ = cmd.RegisterFlagCompletionFunc("status", fixedCompletion("success", "failure", "skipped", "warning"))
	_ = cmd.RegisterFlagCompletionFunc("since", fixedCompletion("1h", "24h", "7d", "30d"))
	return cmd
}

// parseSince accepts Go durations plus days ("7d").
func parseSince(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != d {
			return 0, flagErrorf("--since %q: expected a duration such as 1h, 24h or 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur <= 0 {
		return 0, flagErrorf("--since %q: expected a duration such as 1h, 24h or 7d", s)
	}
	return dur, nil
}

func runLogs(ctx context.Context, f *Factory, opts *logsOptions) error {
	var since time.Duration
	if opts.sinceSet {
		var err error
		if since, err = parseSince(opts.Since); err != nil {
			return err
		}
		if since > provision.LogsMaxWindow {
			return flagErrorf("--since %s: Entra keeps provisioning logs for 30 days", opts.Since)
		}
	}
	status := strings.ToLower(strings.TrimSpace(opts.Status))
	switch status {
	case "", "success", "failure", "skipped", "warning":
	default:
		return flagErrorf("--status %q: expected success, failure, skipped or warning", opts.Status)
	}
	if opts.Max < 1 || opts.Max > 5000 {
		return flagErrorf("--max %d: expected 1 to 5000", opts.Max)
	}
	if opts.User != "" {
		if err := validUser("--user", opts.User); err != nil {
			return err
		}
	}
	s, err := openApp(ctx, f, &opts.graph, opts.app)
	defer s.stop()
	if err != nil {
		return err
	}
	sp, spID := s.sp, s.spID
	sp.Set("Reading provisioning logs")
	res, err := provision.ReadLogs(ctx, s.conn.Client, provision.LogsRequest{
		ServicePrincipalID: spID, JobID: s.jobID, Since: since, Status: status, User: opts.User, Max: opts.Max, Now: f.Now(),
		OnWindow: func(from time.Time, why string) {
			sp.Stop()
			ui.Err(f.IO).Check(ui.SymSkip, "looking back to "+from.UTC().Format("2006-01-02 15:04 UTC"), why+"; pass --since to choose")
		},
	})
	sp.Stop()
	if err != nil {
		return err
	}
	from, out := res.From, res.Entries
	if f.JSON() {
		if out == nil {
			out = []provision.LogEntry{}
		}
		return printJSON(f, map[string]any{"servicePrincipalId": spID, "since": from.UTC(), "entries": out, "ok": true})
	}
	p := ui.Out(f.IO)
	if len(out) == 0 {
		p.Println("No provisioning log entries for this app since " + ago(&from, f.Now()) + ".")
		return nil
	}
	var rows [][]string
	for _, e := range out {
		reason := e.Reason
		if e.ErrorCode != "" {
			reason = e.ErrorCode + ": " + reason
		}
		rows = append(rows, []string{e.Time.UTC().Format("2006-01-02 15:04:05"), e.User, e.Action, e.Status, reason})
	}
	p.Table([]string{"TIME (UTC)", "USER", "ACTION", "STATUS", "REASON"}, rows)
	return nil
}

// humanAgo is a window's length in the largest whole unit that reads naturally: "90m" is
// "1h30m", "49h" is "2d1h".
func humanAgo(d time.Duration) string {
	d = d.Round(time.Minute)
	if days := d / (24 * time.Hour); days > 0 {
		if h := (d % (24 * time.Hour)) / time.Hour; h > 0 {
			return fmt.Sprintf("%dd%dh", days, h)
		}
		return fmt.Sprintf("%dd", days)
	}
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", m)
}
