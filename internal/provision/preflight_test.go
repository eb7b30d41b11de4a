package provision

import (
	"context"
	"slices"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

type claimsOf struct {
	c   graph.Claims
	err error
}

func (f claimsOf) TokenClaims(context.Context) (graph.Claims, error) { return f.c, f.err }

// The wizard's preflight names what setup, assign and provision need and the token lacks, and
// a person without an admin role; an unreadable token is "not determined", not a failure.
func TestRunPreflight(t *testing.T) {
	ctx := t.Context()
	all := "Application.ReadWrite.All Synchronization.ReadWrite.All AppRoleAssignment.ReadWrite.All User.Read.All GroupMember.Read.All"
	appAdmin := "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"

	p := RunPreflight(ctx, claimsOf{c: graph.Claims{Scope: all, UPN: "a@x", WIDs: []string{appAdmin}}}, "setup", "assign", "provision")
	if !p.Determined || len(p.Missing) != 0 || p.NoRole {
		t.Errorf("everything granted: %+v", p)
	}
	p = RunPreflight(ctx, claimsOf{c: graph.Claims{Scope: "Application.ReadWrite.All", UPN: "a@x"}}, "setup", "assign")
	want := []string{PermSync, PermAssign, PermUsers, PermGroups}
	if !p.Determined || !slices.Equal(p.Missing, want) || !p.NoRole {
		t.Errorf("missing permissions and role: got %+v, want missing %v and no role", p, want)
	}
	p = RunPreflight(ctx, claimsOf{c: graph.Claims{Roles: []string{"Application.ReadWrite.All", "Synchronization.ReadWrite.All"}}}, "setup")
	if len(p.Missing) != 0 || p.Delegated || p.NoRole {
		t.Errorf("an application token with setup's permissions needs no role: %+v", p)
	}
	if p := RunPreflight(ctx, claimsOf{err: graph.ErrNotJWT}, "setup"); p.Determined {
		t.Errorf("an opaque token cannot be judged: %+v", p)
	}
}
