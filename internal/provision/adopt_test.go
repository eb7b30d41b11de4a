package provision

import (
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

func TestOwnedNeedsTemplateAndTagOrState(t *testing.T) {
	const tpl = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
	const id = "11111111-1111-1111-1111-111111111111"
	for _, c := range []struct {
		name     string
		sp       graph.ServicePrincipal
		recorded string
		want     bool
	}{
		{"template and tag", graph.ServicePrincipal{ID: id, ApplicationTemplateID: tpl, Tags: []string{MarkerTag}}, "", true},
		{"template and state", graph.ServicePrincipal{ID: id, ApplicationTemplateID: tpl}, id, true},
		{"template only", graph.ServicePrincipal{ID: id, ApplicationTemplateID: tpl}, "", false},
		{"App registrations app, tagged and in state", graph.ServicePrincipal{ID: id, Tags: []string{MarkerTag}}, id, false},
		{"gallery template, tagged", graph.ServicePrincipal{ID: id, ApplicationTemplateID: "99999999-0000-0000-0000-000000000000", Tags: []string{MarkerTag}}, "", false},
		{"template, state names another app", graph.ServicePrincipal{ID: id, ApplicationTemplateID: tpl}, "22222222-2222-2222-2222-222222222222", false},
	} {
		if got := Owned(c.sp, tpl, c.recorded); got != c.want {
			t.Errorf("%s: Owned = %v, want %v", c.name, got, c.want)
		}
	}
}
