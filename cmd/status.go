package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	pl "github.com/invicti-scim/invicti-scim/internal/plural"
	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/reconcile"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

type statusOptions struct {
	graph   graphFlags
	app     appFlags
	invicti invictiFlags
}

type statusJSON struct {
	*provision.Status
	Invicti *layerJSON `json:"invicti"`
	// SSO is the app's SAML single sign-on state (sso_checks.go); nil when it could not be read.
	SSO *provision.SSOResult `json:"sso,omitempty"`
	// Manifest is the drift from the manifest apply -f last applied (nil: none applied).
	Manifest *reconcile.StatusDrift `json:"manifest,omitempty"`
	OK       bool                   `json:"ok"`
}

// newStatusCmd builds `status`; runF replaces runStatus in tests (nil: the real one).
func newStatusCmd(f *Factory, runF func(context.Context, *Factory, *statusOptions) error) *cobra.Command {
	opts := &statusOptions{}
	if runF == nil {
		runF = runStatus
	}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the app, the provisioning job's health and the Invicti side",
		Long: `Show the enterprise app (name, ids, portal links), the provisioning job (schedule, status,
last cycle with counts and errors, last success, steady state, quarantine with its reason in
plain words and the fix), which secret keys are saved (names only), how many users and groups
are assigned, and the direct Invicti check (when a client secret is available).

Exits 0 when healthy, 1 when quarantined, failing, paused, not configured or missing, and 3
when the job is healthy but the direct Invicti check fails (as test-connection).`,
		Example: `  invicti-scim status
  invicti-scim status -o json | jq .health`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runF(ctx, f, opts)
		},
	}
	opts.graph.register(cmd)
	opts.app.register(cmd)
	opts.invicti.register(cmd)
	return cmd
}

func runStatus(ctx context.Context, f *Factory, opts *statusOptions) error {
	// The Invicti side is optional here, but Invicti flags given wrong are a usage error, found
	// before any Graph call like every other bad flag; only input not given at all skips it.
	_, st0, err := f.loadState(ctx)
	if err != nil {
		return err
	}
	in, ierr := opts.invicti.resolve(ctx, f, &st0, false)
	if ierr != nil && !errors.Is(ierr, errMissingInput) {
		return ierr
	}
	s, err := openApp(ctx, f, &opts.graph, opts.app)
	defer s.stop()
	if err != nil {
		return err
	}
	req := provision.StatusRequest{ServicePrincipalID: s.spID, JobID: s.jobID, State: s.st, Checker: f.Checker(), Now: f.Now, Progress: s.sp.Set, NamedBy: opts.app.namedBy()}
	if ierr == nil {
		req.Invicti = &provision.InvictiTarget{Endpoints: in.Endpoints, Credentials: in.Credentials}
	}
	rep, err := provision.ReadStatus(ctx, s.conn.Client, s.conn.Cloud, req)
	if err != nil {
		return err
	}
	status := rep.Status
	out := statusJSON{Status: status, SSO: rep.SSO}
	out.Manifest, _ = reconcile.Drifted(ctx, s.conn.Client, s.spID, s.st.Manifest)
	if res := rep.Invicti; res != nil {
		out.Invicti = &layerJSON{OK: res.OK, Steps: stepsJSON(res.Steps)}
	} else {
		out.Invicti = &layerJSON{Skipped: true, Reason: "no client secret given (INVICTI_SCIM_CLIENT_SECRET, --client-secret-stdin, --client-secret-file or --credentials-file)"}
	}
	s.sp.Stop()
	out.OK = status.Health == provision.Healthy && (out.Invicti.OK || out.Invicti.Skipped)
	if f.JSON() {
		if err := printJSON(f, out); err != nil {
			return err
		}
	} else {
		printStatus(f, out)
	}
	if !out.OK {
		return statusFailure(out)
	}
	return nil
}

// statusFailure is the error of a status that is not OK: the verdict and its summary (exit 1),
// or, when the job is healthy and only the direct Invicti check failed, that check (exit 3, as
// test-connection), with the first fix of what failed as the hint.
func statusFailure(s statusJSON) error {
	if s.Health == provision.Healthy {
		err := fmt.Errorf("status: the direct Invicti check failed: %s", firstProblem(s.Invicti))
		if fix := firstFix(s.Invicti); fix != "" {
			err = &provision.HintedError{Err: err, HintText: fix}
		}
		return &exitError{code: ExitConnection, err: err}
	}
	err := fmt.Errorf("status: %s: %s", s.Health, s.Summary)
	if len(s.Fixes) > 0 {
		return &provision.HintedError{Err: err, HintText: s.Fixes[0]}
	}
	return err
}

// firstFix is the fix of a layer's first failed step ("" when it has none).
func firstFix(l *layerJSON) string {
	for _, s := range l.Steps {
		if s.Problem != "" {
			return s.Fix
		}
	}
	return ""
}

func firstProblem(l *layerJSON) string {
	for _, s := range l.Steps {
		if s.Problem != "" {
			return s.Problem
		}
	}
	return "failed"
}

// ago writes a past time as RFC 3339 and how long ago, to the minute ("… (1d2h ago)"); "-" for
// none. status and logs both use it.
func ago(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	d := now.Sub(*t).Round(time.Minute)
	if d < time.Minute {
		return t.UTC().Format(time.RFC3339) + " (just now)"
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), humanAgo(d))
}

func printStatus(f *Factory, s statusJSON) {
	p := ui.Out(f.IO)
	now := f.Now()
	sym := ui.SymOK
	if !s.OK {
		sym = ui.SymFail
	}
	var lines []string
	add := func(k, v string) { lines = append(lines, fmt.Sprintf("%-18s %s", k, v)) }
	add("App", fmt.Sprintf("%s (appId %s)", dash(s.AppName), dash(s.AppID)))
	add("Service principal", s.ServicePrincipalID)
	if s.Manifest != nil {
		add("Manifest", s.Manifest.Line())
	}
	if s.Job != nil {
		j := s.Job
		add("Job", j.ID)
		add("Schedule", fmt.Sprintf("%s, every %s", j.ScheduleState, humanInterval(j.Interval)))
		add("Status", j.StatusCode)
		if e := j.LastExecution; e != nil {
			add("Last cycle", fmt.Sprintf("%s, %s; imported %d, exported %d, escrowed %d", e.State, ago(e.Ended, now), e.Imported, e.Exported, e.Escrowed))
			if e.Error != "" {
				add("Last cycle error", e.Error)
			}
		} else {
			add("Last cycle", "none yet")
		}
		if e := j.LastSuccessfulExecution; e != nil {
			add("Last success", ago(e.Ended, now))
		}
		if j.SteadyState != nil {
			add("Steady state", ago(j.SteadyState, now))
		}
	}
	add("Secret keys", dash(strings.Join(s.SecretKeys, ", ")))
	if v := s.Settings; v != nil {
		ks := dash(v.KeySet)
		if v.Outdated() {
			ks += " (outdated: Entra fetches no token)"
		}
		if v.Writer != "" {
			ks += ", saved by " + v.Writer
			if v.Experimental {
				ks += " (experimental)"
			}
		}
		add("Key set", ks)
		if n := v.Notifications; n != nil {
			mails := "off"
			if len(n.Emails) > 0 {
				mails = strings.Join(n.Emails, ", ")
			}
			thr := "off"
			if n.DeletionThreshold > 0 {
				thr = fmt.Sprintf("%d deletions", n.DeletionThreshold)
			}
			add("Failure e-mails", mails)
			add("Deletion guard", thr)
		}
	}
	add("Assigned", plural(s.AssignedUsers, "user")+", "+plural(s.AssignedGroups, "group"))
	ssoLines := ssoStatusLines(s.SSO)
	for _, l := range ssoLines {
		add(l[0], l[1])
	}
	if s.Invicti != nil {
		switch {
		case s.Invicti.Skipped:
			add("Invicti check", "skipped: "+s.Invicti.Reason)
		case s.Invicti.OK:
			add("Invicti check", "passed")
		default:
			add("Invicti check", "FAILED: "+firstProblem(s.Invicti))
		}
	}
	if s.ProvisioningURL != "" {
		add("Portal", s.ProvisioningURL)
	}
	p.Panel(sym+" "+string(s.Health)+": "+s.Summary, lines)
	if q := s.Quarantine; q != nil {
		p.Println()
		p.Heading("Quarantine: " + q.Reason)
		p.Printf("  %s\n", q.Explanation)
		if q.Error != "" {
			p.Printf("  Entra's error: %s\n", q.Error)
		}
		if q.NextAttempt != nil {
			p.Printf("  Next attempt: %s\n", q.NextAttempt.UTC().Format(time.RFC3339))
		}
	}
	for _, pr := range s.Problems {
		p.Check(ui.SymWarn, pr, "")
	}
	for _, fx := range s.Fixes {
		p.Fix(0, fx)
	}
}

func humanInterval(iso string) string {
	switch iso {
	case "":
		return "-"
	case "P10675199DT2H48M5.4775807S":
		return "never (not started)"
	}
	if d, err := time.ParseDuration(strings.ToLower(strings.TrimPrefix(iso, "PT"))); err == nil {
		return d.String()
	}
	return iso
}

// plural writes "1 user", "2 users" (plural.Count).
func plural(n int, noun string) string { return pl.Count(n, noun) }
