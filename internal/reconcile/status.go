package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// AssignmentLister is what drift needs from Graph (implemented by *graph.Client).
type AssignmentLister interface {
	Assignments(ctx context.Context, spID string) ([]graph.Assignment, error)
}

// StatusDrift is what `status` says about the last applied manifest: when, which file, the
// assignments it stood for that the tenant no longer has (Missing, as the manifest names
// them), and the ones assigned besides it (Extra, by display name). Extra is Added, those
// assigned since the apply (it did not see them), and LeftInPlace, those apply saw and left
// (it ran without --prune). Drifted is Missing or Added: a prune candidate that apply left in
// place is not drift.
type StatusDrift struct {
	Path        string    `json:"path"`
	SHA256      string    `json:"sha256"`
	AppliedAt   time.Time `json:"appliedAt"`
	Drifted     bool      `json:"drifted"`
	Missing     []string  `json:"missing"`
	Extra       []string  `json:"extra"`
	Added       []string  `json:"added"`
	LeftInPlace []string  `json:"leftInPlace"`
}

// Line is the one-line summary status prints.
func (d *StatusDrift) Line() string {
	when := d.AppliedAt.UTC().Format("2006-01-02 15:04 UTC")
	left := d.LeftInPlace
	besides := ""
	if len(left) > 0 {
		besides = "; assigned besides the manifest: " + strings.Join(left, ", ") + " (apply --prune removes " + itThem(len(left)) + ")"
	}
	if !d.Drifted {
		return fmt.Sprintf("%s applied %s; assignments match it%s", d.Path, when, besides)
	}
	var parts []string
	if len(d.Missing) > 0 {
		parts = append(parts, "no longer assigned: "+strings.Join(d.Missing, ", "))
	}
	if len(d.Added) > 0 {
		parts = append(parts, "assigned since, besides it: "+strings.Join(d.Added, ", "))
	}
	return fmt.Sprintf("%s applied %s; DRIFTED (%s)%s; invicti-scim plan -f shows the fix", d.Path, when, strings.Join(parts, "; "), besides)
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// Drifted compares the assignments recorded by the last apply with the app's current ones.
// nil, nil when no manifest was applied.
func Drifted(ctx context.Context, g AssignmentLister, spID string, m *state.Manifest) (*StatusDrift, error) {
	if m == nil || spID == "" {
		return nil, nil
	}
	cur, err := g.Assignments(ctx, spID)
	if err != nil {
		return nil, err
	}
	d := &StatusDrift{Path: m.Path, SHA256: m.SHA256, AppliedAt: m.AppliedAt, Missing: []string{}, Extra: []string{}, Added: []string{}, LeftInPlace: []string{}}
	have := map[string]bool{}
	for _, a := range cur {
		have[strings.ToLower(a.PrincipalID)] = true
	}
	want := map[string]bool{}
	for _, p := range m.Assignments {
		want[strings.ToLower(p.ID)] = true
		if !have[strings.ToLower(p.ID)] {
			d.Missing = append(d.Missing, p.Name)
		}
	}
	left := map[string]bool{}
	for _, p := range m.LeftInPlace {
		left[strings.ToLower(p.ID)] = true
	}
	for _, a := range cur {
		id := strings.ToLower(a.PrincipalID)
		if want[id] {
			continue
		}
		d.Extra = append(d.Extra, a.PrincipalDisplayName)
		if left[id] {
			d.LeftInPlace = append(d.LeftInPlace, a.PrincipalDisplayName)
		} else {
			d.Added = append(d.Added, a.PrincipalDisplayName)
		}
	}
	d.Drifted = len(d.Missing)+len(d.Added) > 0
	return d, nil
}
