package provision

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// Only a group with nested groups gets the note that their members are not provisioned, and
// it names them; "Invicti Users" (users only) used to get it too. A members read that fails
// leaves the general note rather than failing the lookup.
func TestResolveNotesNestedGroupsOnlyWhenThereAreSome(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	a := &Assigner{Graph: f.client}
	items, err := a.Resolve(t.Context(), []string{"alice@contoso.example"}, []string{"Invicti Users", "Engineering"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"alice@contoso.example": "",
		"Invicti Users":         "",
		"Engineering":           "members of nested groups are not provisioned: Platform Team",
	}
	for _, it := range items {
		if it.Status == StatusFailed || it.Warning != want[it.Input] {
			t.Errorf("%s: %s %q, warning %q; want warning %q", it.Input, it.Status, it.Error, it.Warning, want[it.Input])
		}
	}

	f.tenant.InjectFault(entratest.Fault{Method: http.MethodGet, Path: regexp.MustCompile(`/members/microsoft\.graph\.group$`), Status: 403, Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation."})
	items, err = a.Resolve(t.Context(), nil, []string{"Invicti Users"})
	if err != nil {
		t.Fatal(err)
	}
	if it := items[0]; it.Status == StatusFailed || !strings.HasPrefix(it.Warning, "members of nested groups are not provisioned (could not check whether this group has any: Insufficient privileges") {
		t.Errorf("members unreadable: %+v", it)
	}
}
