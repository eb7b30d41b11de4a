package provision

import (
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// The command an unassigned user or group is told to run can be pasted as it is: a group name
// with a space used to come out unquoted (`assign --group Big Group`), which assign refuses.
func TestProvisionSuggestsAPasteableAssign(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	od := &OnDemand{Graph: f.client}
	pr, err := od.Run(t.Context(), OnDemandRequest{ServicePrincipalID: res.ServicePrincipalID, JobID: res.JobID,
		Users: []string{"carol@contoso.example"}, Groups: []string{"Big Group"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"carol@contoso.example": "run `invicti-scim assign --user carol@contoso.example` first",
		"Big Group":             "run `invicti-scim assign --group 'Big Group'` first",
	}
	for _, it := range pr.Items {
		if it.Status != StatusNotAssigned || !strings.Contains(it.Error, want[it.Input]) {
			t.Errorf("%s: %s %q, want it to say %s", it.Input, it.Status, it.Error, want[it.Input])
		}
	}
}
