package provision

import (
	"context"
	"slices"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// JobGraph is what ControlJob needs from Graph.
type JobGraph interface {
	JobLister
	Job(ctx context.Context, spID, jobID string) (graph.Job, error)
	StartJob(ctx context.Context, spID, jobID string) error
	PauseJob(ctx context.Context, spID, jobID string) error
	RestartJob(ctx context.Context, spID, jobID, resetScope string) error
}

// JobAction is what ControlJob does to the provisioning job.
type JobAction string

// The job actions of `job`.
const (
	JobStart   JobAction = "start"
	JobPause   JobAction = "pause"
	JobRestart JobAction = "restart"
)

// ResetScopes are the values of Graph's restart resetScope (docs/graph-sources.md).
var ResetScopes = []string{"Watermark", "Escrows", "QuarantineState", "Full", "ForceDeletes"}

// NormalizeReset turns a comma-separated list of reset scopes, in any case, into Graph's
// spelling ("Watermark, Escrows"). An unknown or empty list is a *UsageError naming --reset.
func NormalizeReset(s string) (string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		p := strings.TrimSpace(part)
		if p == "" {
			continue
		}
		found := ""
		for _, v := range ResetScopes {
			if strings.EqualFold(v, p) {
				found = v
			}
		}
		if found == "" {
			return "", usageErrorf("--reset %q: unknown scope %q; expected any of %s", s, p, strings.Join(ResetScopes, ", "))
		}
		if !slices.Contains(out, found) { // "Watermark,watermark" is one scope
			out = append(out, found)
		}
	}
	if len(out) == 0 {
		return "", usageErrorf("--reset %q: names no scope; expected any of %s", s, strings.Join(ResetScopes, ", "))
	}
	return strings.Join(out, ", "), nil
}

// JobRequest says what to do to which job.
type JobRequest struct {
	ServicePrincipalID string
	JobID              string // "" finds the app's own job (OurJob)
	Action             JobAction
	Reset              string // restart only: Graph's resetScope, as NormalizeReset returns it
	// Confirm is asked before a restart (which re-reads every assigned user); false cancels
	// with ErrDeclined. nil restarts without asking.
	Confirm func() (bool, error)
}

// JobResult is what ControlJob did and the job's state afterwards.
type JobResult struct {
	JobID string
	// Outcome: started, already-running, paused, already-paused or restarted.
	Outcome       string
	ScheduleState string // "" when the job could not be read again
	StatusCode    string
}

// ControlJob starts, pauses or restarts the app's provisioning job. start never starts a
// running job (Graph warns that repeated starts of a running job can stop the service) and
// pause never pauses a paused one. Graph 401/403 come back as *PermissionError naming
// Synchronization.ReadWrite.All.
func ControlJob(ctx context.Context, g JobGraph, req JobRequest) (*JobResult, error) {
	spID := req.ServicePrincipalID
	jobID, err := ResolveJob(ctx, g, spID, req.JobID)
	if err != nil {
		return nil, PermissionHint(err, PermSync)
	}
	job, err := g.Job(ctx, spID, jobID)
	if err != nil {
		return nil, PermissionHint(err, PermSync)
	}
	res := &JobResult{JobID: jobID}
	switch req.Action {
	case JobStart:
		if job.Running() {
			res.Outcome = "already-running"
		} else {
			if err := g.StartJob(ctx, spID, jobID); err != nil {
				return nil, PermissionHint(err, PermSync)
			}
			res.Outcome = "started"
		}
	case JobPause:
		if strings.EqualFold(job.Schedule.State, "Paused") {
			res.Outcome = "already-paused"
		} else {
			if err := g.PauseJob(ctx, spID, jobID); err != nil {
				return nil, PermissionHint(err, PermSync)
			}
			res.Outcome = "paused"
		}
	case JobRestart:
		if req.Confirm != nil {
			ok, err := req.Confirm()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, ErrDeclined
			}
		}
		if err := g.RestartJob(ctx, spID, jobID, req.Reset); err != nil {
			return nil, PermissionHint(err, PermSync)
		}
		res.Outcome = "restarted"
	default:
		return nil, usageErrorf("job needs one action: start, pause or restart")
	}
	// The state afterwards is a report: a failed read leaves it empty.
	if after, err := g.Job(ctx, spID, jobID); err == nil {
		res.ScheduleState, res.StatusCode = after.Schedule.State, after.Status.Code
	}
	return res, nil
}
