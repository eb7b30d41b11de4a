package provision

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// Graph filters provisioning logs by the service principal's id and answers an unknown id
// with no rows, so ReadLogs must read the app itself: a missing app is job's and
// rotate-secret's error (the Deleted hint), not "no entries".
func TestReadLogsMissingApp(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	req := LogsRequest{ServicePrincipalID: "00000000-0000-4000-8000-000000000000", Since: time.Hour, Max: 10, Now: time.Now()}
	for _, tc := range []struct {
		name string
		spID string
	}{
		{"unknown id", "00000000-0000-4000-8000-000000000000"},
		{"deleted app", res.ServicePrincipalID},
	} {
		if tc.name == "deleted app" {
			f.tenant.DeleteAppBehindBack(res.ServicePrincipalID)
		}
		req.ServicePrincipalID = tc.spID
		out, err := ReadLogs(ctx, f.client, req)
		if err == nil {
			t.Fatalf("%s: no error, %+v", tc.name, out)
		}
		if !IsNotFound(err) || Hint(err) != Deleted || Classify(err) != KindFailed {
			t.Errorf("%s: %v (hint %q, kind %v), want the 404 with the Deleted hint, exit 1", tc.name, err, Hint(err), Classify(err))
		}
	}
}

// An unknown --user is a failed look-up in provision's words (exit 1), not a usage error;
// an object id Graph does not know is refused too, unless entries for it remain (a user
// deleted since).
func TestReadLogsUnknownUser(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	read := func(user string) (*LogsResult, error) {
		return ReadLogs(ctx, f.client, LogsRequest{ServicePrincipalID: res.ServicePrincipalID, Since: time.Hour, User: user, Max: 10, Now: time.Now()})
	}
	for _, user := range []string{"nobody@contoso.example", "11111111-0000-4000-8000-000000000000"} {
		out, err := read(user)
		if err == nil {
			t.Fatalf("--user %s: no error, %+v", user, out)
		}
		want := "user " + user + ": no user named " + user + " (Graph: "
		if Classify(err) != KindFailed || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("--user %s: %v (kind %v), want %q…, exit 1", user, err, Classify(err), want)
		}
		var ue *UsageError
		if errors.As(err, &ue) {
			t.Errorf("--user %s: a usage error", user)
		}
	}
	gone := "22222222-0000-4000-8000-000000000000"
	f.tenant.AddProvisioningLog(res.ServicePrincipalID, entratest.LogEntry{UserID: gone, UserPrincipalName: "gone@contoso.example", Action: "delete"})
	out, err := read(gone)
	if err != nil || len(out.Entries) != 1 || out.Entries[0].UserID != gone {
		t.Errorf("--user of a deleted user with entries: %+v, %v", out, err)
	}
}
