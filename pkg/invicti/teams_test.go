package invicti

import (
	"context"
	"errors"
	"testing"

	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// TestCreateGroup: a team is created through SCIM POST /Groups with the group's displayName; a
// second call finds it instead of creating a duplicate; a refused client is a ProblemError.
func TestCreateGroup(t *testing.T) {
	e := newEmu(t, scimtest.Options{})
	ctx := context.Background()
	c := testChecker().Client(ctx, e.ep, goodCred)

	g, created, err := c.CreateGroup(ctx, "Invicti Users")
	if err != nil || !created || g.ID == "" || g.DisplayName != "Invicti Users" {
		t.Fatalf("CreateGroup = %+v, %v, %v", g, created, err)
	}
	again, created, err := c.CreateGroup(ctx, "invicti users")
	if err != nil || created || again.ID != g.ID {
		t.Fatalf("second CreateGroup = %+v, %v, %v", again, created, err)
	}
	if gs := e.srv.Groups(); len(gs) != 1 || gs[0].DisplayName != "Invicti Users" {
		t.Fatalf("teams in Invicti: %+v", gs)
	}

	bad := testChecker().Client(ctx, e.ep, Credentials{ClientID: checkClientID, ClientSecret: "not-the-secret-0123456789"})
	_, _, err = bad.CreateGroup(ctx, "Other")
	var pe *ProblemError
	if !errors.As(err, &pe) || pe.Problem.Kind != ProblemInvalidClient {
		t.Fatalf("with a wrong secret: %v", err)
	}
}
