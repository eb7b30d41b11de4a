package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestCriticalPath(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(start, end int) Call {
		return Call{Start: t0.Add(time.Duration(start) * time.Millisecond), End: t0.Add(time.Duration(end) * time.Millisecond)}
	}
	for _, tc := range []struct {
		name  string
		calls []Call
		want  int
	}{
		{"none", nil, 0},
		{"sequential", []Call{at(0, 10), at(10, 20), at(25, 30)}, 3},
		{"four in flight, then two", []Call{at(0, 10), at(1, 11), at(2, 12), at(3, 13), at(14, 20), at(14, 21)}, 2},
		{"long call beside short ones", []Call{at(0, 100), at(0, 10), at(10, 20), at(20, 30)}, 3},
	} {
		if got := CriticalPath(tc.calls); got != tc.want {
			t.Errorf("%s: CriticalPath = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestBusy(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(start, end int) Call {
		return Call{Start: t0.Add(time.Duration(start) * time.Millisecond), End: t0.Add(time.Duration(end) * time.Millisecond)}
	}
	got := Busy([]Call{at(0, 10), at(5, 12), at(20, 30)}, []Call{at(25, 40), at(50, 51)})
	if want := (12 + 20 + 1) * time.Millisecond; got != want {
		t.Errorf("Busy = %s, want %s", got, want)
	}
}

func TestSymbolSource(t *testing.T) {
	for sym, want := range map[string]string{
		"github.com/microsoftgraph/msgraph-sdk-go/models.(*User).Serialize": "github.com/microsoftgraph/msgraph-sdk-go",
		"github.com/invicti-scim/invicti-scim/cmd.runDoctor":                "github.com/invicti-scim/invicti-scim",
		"charm.land/huh/v2.NewDefaultKeyMap":                                "charm.land/huh/v2",
		"crypto/tls.(*Conn).Read":                                           "std:crypto",
		"runtime.main":                                                      "std:runtime",
		"slices.SortFunc[go.shape.[]github.com/x/y.T]":                      "std:slices",
		"go.opentelemetry.io/otel/trace.SpanFromContext":                    "go.opentelemetry.io/otel/trace",
	} {
		if got := symbolSource(sym); got != want {
			t.Errorf("symbolSource(%q) = %q, want %q", sym, got, want)
		}
	}
}

func TestOnDemandFloor(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: 0, 5: 0, 6: 10 * time.Second, 10: 10 * time.Second, 11: 20 * time.Second} {
		if got := OnDemandFloor(n); got != want {
			t.Errorf("OnDemandFloor(%d) = %s, want %s", n, got, want)
		}
	}
}

// TestHarness runs every emulator scenario once with no latency and small counts, so the
// harness keeps working as the product changes. It checks what happened (everyone assigned
// and provisioned, batching sends fewer requests), never how long it took.
func TestHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	o := Options{WaiterInterval: 10 * time.Millisecond}
	c := Config{Options: o, Users: 45, OnDemandUsers: 5, Only: []string{ScenarioSetup, ScenarioAssign, ScenarioOnDemand}}
	r, err := Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Setup.InvictiRequests != MinSetupInvicti || r.Setup.GraphRequests < MinSetupGraph || r.Setup.RoundTrips < MinSetupRoundTrips {
		t.Errorf("setup figures below the minimum, the count is wrong: %+v", *r.Setup)
	}
	if r.Batched.Assigned != 45 || r.Sequential.Assigned != 45 {
		t.Errorf("assigned %d batched, %d one by one; want 45 each", r.Batched.Assigned, r.Sequential.Assigned)
	}
	if r.Sequential.HTTPRequests != 2*45+1 {
		t.Errorf("one-by-one baseline sent %d requests, want %d", r.Sequential.HTTPRequests, 2*45+1)
	}
	if r.Batched.HTTPRequests >= r.Sequential.HTTPRequests || r.Batched.BatchRequests == 0 {
		t.Errorf("batched assign sent %d requests (%d $batch), one by one %d", r.Batched.HTTPRequests, r.Batched.BatchRequests, r.Sequential.HTTPRequests)
	}
	if r.OnDemand.Provisioned != 5 {
		t.Errorf("%d users reached Invicti, want 5", r.OnDemand.Provisioned)
	}
	var out bytes.Buffer
	r.Markdown(&out, true)
	for _, want := range []string{"| 1 | setup from nothing: Graph HTTP requests |", "| 2 | assign 45 users: Graph HTTP requests |", "| 3 | provision 5 users on demand: wall time |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// The time-to-first-user scenario still reaches Invicti (no lag: one provisionOnDemand call).
func TestHarnessFirstUser(t *testing.T) {
	f, err := MeasureFirstUser(context.Background(), 0, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	if f.Attempts != 1 || f.Floor <= 0 {
		t.Errorf("%+v", f)
	}
}
