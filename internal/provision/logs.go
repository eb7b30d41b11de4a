package provision

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// LogsGraph is what ReadLogs needs from Graph.
type LogsGraph interface {
	SPReader
	JobLister
	Job(ctx context.Context, spID, jobID string) (graph.Job, error)
	UserFinder
	ProvisioningLogs(ctx context.Context, filter string, limit int) ([]graph.ProvisioningEvent, error)
}

// LogsRequest says which provisioning log entries to read. Its values are already checked
// (cmd checks the flags).
type LogsRequest struct {
	ServicePrincipalID string
	JobID              string // "" finds the app's own job (only for the default window)
	// Since is how far back to read; 0 applies LogsSince to the app's job.
	Since  time.Duration
	Status string // "", success, failure, skipped or warning (lower case)
	User   string // UPN or object id; "" for every user
	Max    int    // at most this many entries
	Now    time.Time
	// OnWindow is told where the default window starts and why, when that is further back
	// than LogsDefaultWindow (so the person knows); nil is allowed.
	OnWindow func(from time.Time, why string)
}

// LogEntry is one provisioning log entry as `logs` shows it.
type LogEntry struct {
	Time      time.Time `json:"time"`
	User      string    `json:"user"`
	UserID    string    `json:"userId,omitempty"`
	Action    string    `json:"action"`
	Status    string    `json:"status"`
	ErrorCode string    `json:"errorCode,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	JobID     string    `json:"jobId,omitempty"`
}

// LogsResult is what ReadLogs read: the entries from From on, newest first as Graph returns
// them.
type LogsResult struct {
	From    time.Time
	Entries []LogEntry
}

// ReadLogs reads the app's provisioning logs (GET /auditLogs/provisioning). It reads the
// app's service principal first: Graph filters the logs by its id and answers an unknown id
// with no rows, so without that read a deleted app would look like a quiet one. A missing app
// is a *HintedError with the Deleted hint (PermissionHint, the rule job and rotate-secret
// use). An unknown --user is an error in the words assign and provision use (a look-up, not
// a usage error), except for an object id that still has log entries (a user deleted since).
// Graph 401/403 is a *PermissionError naming AuditLog.Read.All (or User.Read.All for the user
// look-up).
func ReadLogs(ctx context.Context, g LogsGraph, req LogsRequest) (*LogsResult, error) {
	spID := req.ServicePrincipalID
	if err := logsAppExists(ctx, g, spID); err != nil {
		return nil, err
	}
	from := req.Now.Add(-req.Since)
	if req.Since == 0 {
		from = logsDefaultSince(ctx, g, req)
	}
	filter := fmt.Sprintf("servicePrincipal/id eq %s and activityDateTime ge %s", graph.Quote(spID), from.UTC().Format(time.RFC3339))
	if req.Status != "" {
		filter += " and statusInfo/status eq " + graph.Quote(req.Status)
	}
	// userGone is the look-up's 404 for an object id: its entries may outlive the user (a
	// deleted user's last provisioning actions), so the logs decide whether it is an error.
	var userGone error
	if req.User != "" {
		uid := req.User
		u, err := FindUser(ctx, g, req.User)
		switch {
		case err == nil:
			uid = u.ID
		case graph.IsNotFound(err) && IsGUID(req.User):
			userGone = err
		case graph.IsNotFound(err):
			return nil, noSuchUser(req.User, err)
		default:
			return nil, PermissionHint(err, PermUsers)
		}
		filter += " and sourceIdentity/id eq " + graph.Quote(uid)
	}
	events, err := g.ProvisioningLogs(ctx, filter, req.Max)
	if err != nil {
		if graph.IsExpiredToken(err) {
			return nil, graph.AsExpiredToken(err)
		}
		if graph.IsAuth(err) {
			return nil, &PermissionError{Op: "read provisioning logs", Permission: PermAuditLog, Err: err}
		}
		return nil, err
	}
	res := &LogsResult{From: from}
	for _, e := range events {
		le := LogEntry{Time: e.ActivityDateTime, User: e.SourceIdentity.DisplayName, UserID: e.SourceIdentity.ID, Action: e.ProvisioningAction, Status: e.ProvisioningStatusInfo.Status, JobID: e.JobID}
		for k, v := range e.SourceIdentity.Details {
			if s, ok := v.(string); ok && strings.EqualFold(k, "userPrincipalName") && s != "" {
				le.User = s
			}
		}
		if ei := e.ProvisioningStatusInfo.ErrorInformation; ei != nil {
			le.ErrorCode, le.Reason = ei.ErrorCode, ei.Reason
		}
		res.Entries = append(res.Entries, le)
	}
	if userGone != nil && len(res.Entries) == 0 {
		return nil, noSuchUser(req.User, userGone)
	}
	return res, nil
}

// noSuchUser is the error for a --user that Graph does not know, worded as provision words
// the same look-up (lookupErr).
func noSuchUser(in string, err error) error {
	return fmt.Errorf("user %s: %s", in, lookupErr("user", in, err))
}

// logsAppExists reads the app's service principal. A 404 is the deleted app (PermissionHint's
// Deleted hint). A token that may read audit logs but not applications (AuditLog.Read.All
// alone is enough for logs) cannot tell, so 401/403 lets the logs read go on; an expired
// token is still a sign-in problem.
func logsAppExists(ctx context.Context, g SPReader, spID string) error {
	_, err := g.ServicePrincipal(ctx, spID)
	switch {
	case err == nil:
		return nil
	case graph.IsNotFound(err), graph.IsExpiredToken(err):
		return PermissionHint(err, PermApplication)
	case graph.IsAuth(err):
		return nil
	}
	return err
}

// logsDefaultSince applies LogsSince to the app's job. Reading the job is a bonus: when it
// fails, the plain 24 hours apply (the logs call reports a real problem itself).
func logsDefaultSince(ctx context.Context, g LogsGraph, req LogsRequest) time.Time {
	fallback := req.Now.Add(-LogsDefaultWindow)
	jobID, err := ResolveJob(ctx, g, req.ServicePrincipalID, req.JobID)
	if err != nil {
		return fallback
	}
	job, err := g.Job(ctx, req.ServicePrincipalID, jobID)
	if err != nil {
		return fallback
	}
	from, why := LogsSince(job, req.Now)
	if why != "" && req.OnWindow != nil {
		req.OnWindow(from, why)
	}
	return from
}
