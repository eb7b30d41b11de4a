package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// AppRef names the app a command works on: --sp-id, --app-id, or neither (the app setup
// recorded in the state).
type AppRef struct {
	SPID  string // service principal object id (--sp-id)
	AppID string // application (client) id (--app-id)
}

// Validate refuses a malformed --sp-id or --app-id with a *UsageError naming the flag, the
// value and what is expected. Every command that takes the flags checks them through it
// (ResolveApp does), before any Graph call.
func (r AppRef) Validate() error {
	switch {
	case r.SPID != "" && !IsGUID(r.SPID):
		return usageErrorf("--sp-id %q: expected an object id (GUID)", r.SPID)
	case r.AppID != "" && !IsGUID(r.AppID):
		return usageErrorf("--app-id %q: expected an appId (GUID)", r.AppID)
	}
	return nil
}

// flag is how messages name the flag that chose the app: "--sp-id <id>" or "--app-id <id>".
func (r AppRef) flag() string {
	if r.SPID != "" {
		return "--sp-id " + r.SPID
	}
	return "--app-id " + r.AppID
}

// AppFinder is what ResolveApp needs from Graph.
type AppFinder interface {
	FindServicePrincipals(ctx context.Context, filter string) ([]graph.ServicePrincipal, error)
}

// ErrNoAppRecorded is ResolveApp's usage error (inside a *UsageError) when no --sp-id or
// --app-id was given and the config dir records no app. For teardown it means there is
// nothing to remove (TeardownRequest.NothingRecorded).
var ErrNoAppRecorded = errors.New("no app recorded in the config dir: run `invicti-scim setup` first, or pass --app-id or --sp-id")

// ResolveApp finds the service principal (and, when the state knows it, the job) a command
// works on: ref.SPID, ref.AppID (looked up in the tenant unless the state recorded it), or the
// app setup recorded. Malformed ids and no app at all are *UsageError. Graph refusing the
// --app-id lookup reads as it does on the recorded app's own calls (PermissionHint: "Microsoft
// Graph refused the call", with how to sign in again or the permission to grant), however
// the app was named.
func ResolveApp(ctx context.Context, g AppFinder, ref AppRef, st state.State) (spID, jobID string, err error) {
	if err := ref.Validate(); err != nil {
		return "", "", err
	}
	switch {
	case ref.SPID != "" && ref.AppID != "":
		return resolveBoth(ctx, g, ref, st)
	case ref.SPID != "":
		if st.App != nil && st.App.ServicePrincipalID == ref.SPID {
			return ref.SPID, st.App.JobID, nil
		}
		return ref.SPID, "", nil
	case ref.AppID != "":
		if st.App != nil && st.App.AppID == ref.AppID {
			return st.App.ServicePrincipalID, st.App.JobID, nil
		}
		sps, err := g.FindServicePrincipals(ctx, "appId eq "+graph.Quote(ref.AppID))
		if err != nil {
			return "", "", PermissionHint(err, PermApplication)
		}
		if len(sps) == 0 {
			return "", "", &NoAppError{AppID: ref.AppID}
		}
		return sps[0].ID, "", nil
	case st.App != nil && st.App.ServicePrincipalID != "":
		return st.App.ServicePrincipalID, st.App.JobID, nil
	}
	return "", "", &UsageError{Err: ErrNoAppRecorded}
}

// resolveBoth accepts --sp-id and --app-id together only when they name the same app: a
// script that passes both (say, from `status -o json`) must not act on the --sp-id app while
// its author reads --app-id. The pair setup recorded needs no Graph call; otherwise the
// --app-id is looked up. A mismatch is a *UsageError naming both; an --app-id no app has is
// *NoAppError.
func resolveBoth(ctx context.Context, g AppFinder, ref AppRef, st state.State) (spID, jobID string, err error) {
	if st.App != nil && st.App.ServicePrincipalID == ref.SPID && strings.EqualFold(st.App.AppID, ref.AppID) {
		return ref.SPID, st.App.JobID, nil
	}
	sps, err := g.FindServicePrincipals(ctx, "appId eq "+graph.Quote(ref.AppID))
	if err != nil {
		return "", "", PermissionHint(err, PermApplication)
	}
	if len(sps) == 0 {
		return "", "", &NoAppError{AppID: ref.AppID}
	}
	if !strings.EqualFold(sps[0].ID, ref.SPID) {
		return "", "", usageErrorf("--sp-id %s and --app-id %s name different apps (the service principal of --app-id %s is %s): pass one of the two flags", ref.SPID, ref.AppID, ref.AppID, sps[0].ID)
	}
	if st.App != nil && st.App.ServicePrincipalID == ref.SPID {
		jobID = st.App.JobID
	}
	return ref.SPID, jobID, nil
}

// NoAppError means no enterprise app (service principal) has the --app-id asked for: most
// commands fail on it; teardown counts the app as already gone.
type NoAppError struct{ AppID string }

func (e *NoAppError) Error() string {
	return fmt.Sprintf("no enterprise app with appId %s in this tenant", e.AppID)
}

// Hint says to check the id: the app setup recorded is not the one missing.
func (e *NoAppError) Hint() string { return NamedAppMissing("--app-id", e.AppID) }

// JobLister is what ResolveJob needs from Graph.
type JobLister interface {
	Jobs(ctx context.Context, spID string) ([]graph.Job, error)
}

// ResolveJob returns jobID when it is known, else the app's own provisioning job by the one
// rule every command shares (OurJob). An app with no job is an error saying to run setup.
func ResolveJob(ctx context.Context, g JobLister, spID, jobID string) (string, error) {
	if jobID != "" {
		return jobID, nil
	}
	jobs, err := g.Jobs(ctx, spID)
	if err != nil {
		return "", err
	}
	if j := OurJob(jobs, ""); j != nil {
		return j.ID, nil
	}
	return "", fmt.Errorf("the app has no provisioning job: run `invicti-scim setup`")
}

// OurJob is the one rule for "which job is ours": the job the state remembers (fromState),
// else one made from the scim template (by template id, or an id starting "scim."), else the
// first (an app made by setup has one job). nil when there are no jobs.
func OurJob(jobs []graph.Job, fromState string) *graph.Job {
	for i := range jobs {
		if fromState != "" && jobs[i].ID == fromState {
			return &jobs[i]
		}
	}
	for i := range jobs {
		if strings.EqualFold(jobs[i].TemplateID, JobTemplate) || strings.HasPrefix(strings.ToLower(jobs[i].ID), JobTemplate+".") {
			return &jobs[i]
		}
	}
	if len(jobs) > 0 {
		return &jobs[0]
	}
	return nil
}

// SPReader reads one service principal.
type SPReader interface {
	ServicePrincipal(ctx context.Context, id string) (graph.ServicePrincipal, error)
}

// Ownership says which apps count as invicti-scim's: those from TemplateID (the cloud's
// non-gallery template) that carry the marker tag or are the one the state recorded.
type Ownership struct {
	TemplateID string
	Recorded   string // service principal id recorded in the state ("" when none)
	// What says what the command does only to its own apps, e.g. "teardown deletes only apps
	// invicti-scim made"; Hint what to do instead.
	What, Hint string
}

// OwnedApp reads the app from Graph and refuses one invicti-scim did not make (see Owned) with
// a *HintedError: a command that writes secrets into an app or deletes it must not act on a
// bare --sp-id or --app-id that Graph cannot confirm as ours. Graph's own errors (404
// included) are returned as they are.
func OwnedApp(ctx context.Context, g SPReader, spID string, o Ownership) (graph.ServicePrincipal, error) {
	sp, err := g.ServicePrincipal(ctx, spID)
	if err != nil {
		return sp, err
	}
	if Owned(sp, o.TemplateID, o.Recorded) {
		return sp, nil
	}
	c := CandidateOf(sp, o.TemplateID)
	return sp, &HintedError{
		Err:      fmt.Errorf("%s, and %q (servicePrincipal %s, appId %s) is %s; nothing was changed", o.What, c.DisplayName, c.ServicePrincipalID, c.AppID, c.Why),
		HintText: o.Hint,
	}
}

// RecordedSP is the service principal id the state recorded ("" when none).
func RecordedSP(st state.State) string {
	if st.App != nil {
		return st.App.ServicePrincipalID
	}
	return ""
}
