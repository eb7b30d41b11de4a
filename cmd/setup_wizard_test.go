package cmd

import (
	"slices"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/provision"
)

// The group warnings count in words: one disabled user is "1 disabled user", not "1 disabled
// users".
func TestGroupWarningsPluralise(t *testing.T) {
	got := groupWarnings(provision.GroupFacts{Members: 4, Guests: 2, Disabled: 1, NoMail: 1})
	want := []string{"2 guest users", "1 disabled user (provisioned as inactive)", "1 user without a mail address"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := groupWarnings(provision.GroupFacts{Members: 3}); len(got) != 0 {
		t.Errorf("no warnings expected, got %q", got)
	}
}
