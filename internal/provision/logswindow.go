package provision

import (
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// Log look-back bounds: at least a day, at most the 30 days Entra keeps provisioning logs.
const (
	LogsDefaultWindow = 24 * time.Hour
	LogsMaxWindow     = 30 * 24 * time.Hour
)

// LogsSince is where `logs` starts reading when no --since is given: 24 hours back, or further
// to the job's last successful cycle or the start of its quarantine, whichever is older, so the
// entries that explain a long-running problem are in view; never more than 30 days. Why says
// which of them decided ("" for the plain 24 hours).
func LogsSince(job graph.Job, now time.Time) (since time.Time, why string) {
	since = now.Add(-LogsDefaultWindow)
	older := func(t *time.Time, reason string) {
		if t != nil && !t.IsZero() && t.Before(since) {
			since, why = *t, reason
		}
	}
	if e := job.Status.LastSuccessfulExecution; e != nil {
		older(e.TimeBegan, "the job's last successful cycle")
	}
	if q := job.Status.Quarantine; q != nil {
		older(q.SeriesBegan, "the start of the quarantine")
		older(q.CurrentBegan, "the start of the quarantine")
	}
	if floor := now.Add(-LogsMaxWindow); since.Before(floor) {
		since, why = floor, why+" (capped at the 30 days Entra keeps)"
	}
	return since, why
}
