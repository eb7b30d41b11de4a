package graph

import (
	"testing"
	"time"
)

func TestHumanSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		42 * time.Second:                  "42s",
		5*time.Hour + 2*time.Minute:       "5h2m0s",
		3 * 24 * time.Hour:                "3 days",
		221107*time.Hour + 33*time.Minute: "25 years",
	} {
		if got := humanSpan(d); got != want {
			t.Errorf("humanSpan(%s) = %q, want %q", d, got, want)
		}
	}
}
