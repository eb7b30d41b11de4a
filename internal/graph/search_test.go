package graph

import (
	"context"
	"testing"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// TestSearchUsersAndGroups: the wizard's picker searches by the start of a name on the server
// (startswith on displayName, then userPrincipalName, merged without duplicates).
func TestSearchUsersAndGroups(t *testing.T) {
	tn := entratest.New(entratest.Options{})
	defer tn.Close()
	tn.SeedDemo()
	c, err := New(Options{RootURL: tn.URL, Credential: StaticToken(tn.Token())})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	us, err := c.SearchUsers(ctx, "ALI", 10)
	if err != nil || len(us) != 1 || us[0].UserPrincipalName != "alice@"+entratest.Domain {
		t.Fatalf("SearchUsers(ALI) = %+v, %v", us, err)
	}
	all, err := c.SearchUsers(ctx, "", 3)
	if err != nil || len(all) != 3 {
		t.Fatalf("SearchUsers(\"\", 3) = %d users, %v", len(all), err)
	}
	gs, err := c.SearchGroups(ctx, "invicti", 10)
	if err != nil || len(gs) != 1 || gs[0].DisplayName != "Invicti Users" || !gs[0].SecurityEnabled {
		t.Fatalf("SearchGroups(invicti) = %+v, %v", gs, err)
	}
	if gs, err := c.SearchGroups(ctx, "O'Brien", 10); err != nil || len(gs) != 0 {
		t.Fatalf("a quote in the prefix (escaped as ''): %+v, %v", gs, err)
	}
}
