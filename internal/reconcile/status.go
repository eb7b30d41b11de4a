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

// StatusDrift is what `status` says about the last applied manifest: when, which file, and
// the assignments it stood for that the tenant no longer has (Missing) or has besides them
// (Extra, by display name).
type StatusDrift struct {
	Path      string    `json:"path"`
	SHA256    string    `json:"sha256"`
	AppliedAt time.Time `json:"appliedAt"`
	Drifted   bool      `json:"drifted"`
	Missing   []string  `json:"missing"`
	Extra     []string  `json:"extra"`
}

// Line is the one-line summary status prints.
func (d *StatusDrift) Line() string {
	when := d.AppliedAt.UTC().Format("2006-01-02 15:04 UTC")
	if !d.Drifted {
		return fmt.Sprintf("%s applied %s; assignments match it", d.Path, when)
	}
	var parts []string
	if len(d.Missing) > 0 {
		parts = append(parts, "no longer assigned: "+strings.Join(d.Missing, ", "))
	}
	if len(d.Extra) > 0 {
		parts = append(parts, "assigned besides it: "+strings.Join(d.Extra, ", "))
	}
	return fmt.Sprintf("%s applied %s; DRIFTED (%s); invicti-scim plan -f shows the fix", d.Path, when, strings.Join(parts, "; "))
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
	d := &StatusDrift{Path: m.Path, SHA256: m.SHA256, AppliedAt: m.AppliedAt, Missing: []string{}, Extra: []string{}}
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
	for _, a := range cur {
		if !want[strings.ToLower(a.PrincipalID)] {
			d.Extra = append(d.Extra, a.PrincipalDisplayName)
		}
	}
	d.Drifted = len(d.Missing)+len(d.Extra) > 0
	return d, nil
}
