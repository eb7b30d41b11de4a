package cmd

import (
	"context"

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
// --app-id, or the app recorded by setup (provision.ResolveApp).
func resolveAppFromState(ctx context.Context, conn *graphConn, fl appFlags, st state.State) (string, string, error) {
	return provision.ResolveApp(ctx, conn.Client, provision.AppRef{SPID: fl.SPID, AppID: fl.AppID}, st)
}

// resolveJob finds the app's provisioning job when state does not know it (provision.ResolveJob).
func resolveJob(ctx context.Context, conn *graphConn, spID, jobID string) (string, error) {
	return provision.ResolveJob(ctx, conn.Client, spID, jobID)
}

// permissionHint names the missing permission on a Graph 401/403 (see provision.PermissionHint).
func permissionHint(err error, perm string) error { return provision.PermissionHint(err, perm) }
