package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

// appSession is what an operating command works with: the state, a Graph connection, the
// app it names, and the spinner that says what is happening.
type appSession struct {
	store state.Store
	st    state.State
	conn  *graphConn
	spID  string
	jobID string
	sp    *ui.Spinner
}

// openApp validates the Graph flags (usage errors first), loads state, connects, and finds
// the app (--sp-id, --app-id, or the one setup recorded). Callers defer s.sp.Stop().
func openApp(ctx context.Context, f *Factory, gf *graphFlags, af appFlags) (*appSession, error) {
	cloud, mode, token, err := gf.validate(f)
	if err != nil {
		return nil, err
	}
	s := &appSession{}
	if s.store, s.st, err = f.loadState(ctx); err != nil {
		return nil, err
	}
	s.sp = ui.NewSpinner(f.IO)
	if s.conn, err = gf.connect(f, cloud, mode, token, throttleNotice(s.sp)); err != nil {
		return s, err
	}
	if err := checkTenant(s.conn, &s.st); err != nil {
		return s, err
	}
	s.spID, s.jobID, err = resolveAppFromState(ctx, s.conn, af, s.st)
	return s, err
}

// stop ends the spinner; safe on a nil or half-built session.
func (s *appSession) stop() {
	if s != nil && s.sp != nil {
		s.sp.Stop()
	}
}

// resolveAppFromState finds the service principal (and job) a command works on: --sp-id,
// --app-id, or the app recorded by setup.
func resolveAppFromState(ctx context.Context, conn *graphConn, fl appFlags, st state.State) (string, string, error) {
	switch {
	case fl.SPID != "":
		if !provision.IsGUID(fl.SPID) {
			return "", "", flagErrorf("--sp-id %q: expected an object id (GUID)", fl.SPID)
		}
		if st.App != nil && st.App.ServicePrincipalID == fl.SPID {
			return fl.SPID, st.App.JobID, nil
		}
		return fl.SPID, "", nil
	case fl.AppID != "":
		if !provision.IsGUID(fl.AppID) {
			return "", "", flagErrorf("--app-id %q: expected an appId (GUID)", fl.AppID)
		}
		if st.App != nil && st.App.AppID == fl.AppID {
			return st.App.ServicePrincipalID, st.App.JobID, nil
		}
		sps, err := conn.Client.FindServicePrincipals(ctx, "appId eq "+graph.Quote(fl.AppID))
		if err != nil {
			return "", "", err
		}
		if len(sps) == 0 {
			return "", "", fmt.Errorf("no enterprise app with appId %s in this tenant", fl.AppID)
		}
		return sps[0].ID, "", nil
	case st.App != nil && st.App.ServicePrincipalID != "":
		return st.App.ServicePrincipalID, st.App.JobID, nil
	}
	return "", "", flagErrorf("no app recorded in the config dir: run `invicti-scim setup` first, or pass --app-id or --sp-id")
}

// resolveJob finds the app's provisioning job when state does not know it.
func resolveJob(ctx context.Context, conn *graphConn, spID, jobID string) (string, error) {
	if jobID != "" {
		return jobID, nil
	}
	jobs, err := conn.Client.Jobs(ctx, spID)
	if err != nil {
		return "", err
	}
	for _, j := range jobs {
		if j.TemplateID == provision.JobTemplate || len(jobs) == 1 {
			return j.ID, nil
		}
	}
	if len(jobs) > 0 {
		return jobs[0].ID, nil
	}
	return "", fmt.Errorf("the app has no provisioning job: run `invicti-scim setup`")
}

// permissionHint turns a Graph 401/403 into a PermissionError naming what is missing, and a
// 404 on the app's own calls into the likely story: the app was deleted behind the tool's back.
func permissionHint(err error, perm string) error {
	var pe *provision.PermissionError
	switch {
	case err == nil:
		return nil
	case graph.IsExpiredToken(err):
		return graph.AsExpiredToken(err)
	case errors.As(err, &pe):
		return err // already says which permission
	case graph.IsAuth(err):
		return &provision.PermissionError{Permission: perm, Err: err}
	case graph.IsNotFound(err):
		return &hintedError{err: err, hint: "the enterprise app or job recorded by setup no longer exists (deleted in the portal?): run `invicti-scim setup` to create it again, or `invicti-scim teardown --yes` to forget it"}
	}
	return err
}

// hintedError adds a hint (printed after the message, and in JSON) to an error.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }
func (e *hintedError) Hint() string  { return e.hint }

func asGraph(err error, target **graph.Error) bool { return errors.As(err, target) }

// ownedApp reads the app from Graph and refuses one invicti-scim did not make (see
// provision.Owned): a command that writes secrets into an app or deletes it must not act on a
// bare --sp-id or --app-id that Graph cannot confirm as ours. what says what the command does
// only to its own apps, e.g. "teardown deletes only apps invicti-scim made".
func ownedApp(ctx context.Context, conn *graphConn, spID string, st state.State, what, hint string) (graph.ServicePrincipal, error) {
	sp, err := conn.Client.ServicePrincipal(ctx, spID)
	if err != nil {
		return sp, err
	}
	recorded := ""
	if st.App != nil {
		recorded = st.App.ServicePrincipalID
	}
	if provision.Owned(sp, conn.Cloud.TemplateID, recorded) {
		return sp, nil
	}
	c := provision.CandidateOf(sp, conn.Cloud.TemplateID)
	return sp, &hintedError{
		err:  fmt.Errorf("%s, and %q (servicePrincipal %s, appId %s) is %s; nothing was changed", what, c.DisplayName, c.ServicePrincipalID, c.AppID, c.Why),
		hint: hint,
	}
}
