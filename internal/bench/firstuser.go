package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/provision"
)

// Time to first user: a fresh setup, one user assigned, provisioned on demand at once, as
// `invicti-scim setup --assign-user U --provision-now` does. Entra honours a new assignment
// in on-demand provisioning only after a replication lag (provision-on-demand.md: "a
// replication delay of up to a few minutes"); the emulator's ProvisionDelay plays it.
const (
	// FirstUserLatency and FirstUserLag are the scenario's defaults (docs/performance.md).
	FirstUserLatency = 100 * time.Millisecond
	FirstUserLag     = 8 * time.Second
)

// FirstUserRoundTrips is the least number of sequential round trips from nothing to the
// first user in Invicti: the setup minimum with its nested calls, then the assignment (one
// $batch lookup, one $batch write), the schema read for the rule id, one provisionOnDemand
// and, nested in it, Entra's token request, user lookup and user create at Invicti.
const FirstUserRoundTrips = MinSetupRoundTrips + MinSetupNested + 2 + 1 + 1 + 3

// FirstUserFigures is what reaching the first user cost.
type FirstUserFigures struct {
	Latency time.Duration
	Lag     time.Duration
	// Wall is from the start of setup until Entra's verdict for the user is Success (the
	// user exists in Invicti then).
	Wall time.Duration
	// Floor is Lag plus FirstUserRoundTrips × Latency: the lag runs from the assignment,
	// and every round trip before and after it costs a latency.
	Floor time.Duration
	// Attempts is how many provisionOnDemand calls it took.
	Attempts int
}

// MeasureFirstUser runs the scenario in a fresh Env with the given latency and lag.
func MeasureFirstUser(ctx context.Context, latency, lag time.Duration) (FirstUserFigures, error) {
	e, err := NewEnv(Options{Latency: latency, ProvisionDelay: lag})
	if err != nil {
		return FirstUserFigures{}, err
	}
	defer e.Close()
	upn := e.SeedUsers(1)[0]
	start := time.Now()
	res, err := e.RunSetup(ctx)
	if err != nil {
		return FirstUserFigures{}, err
	}
	as := &provision.Assigner{Graph: e.Graph, Waiter: e.waiter()}
	ar, err := as.Run(ctx, provision.AssignRequest{ServicePrincipalID: res.ServicePrincipalID, Users: []string{upn}})
	if err != nil {
		return FirstUserFigures{}, err
	}
	if f := ar.Failed(); len(f) > 0 {
		return FirstUserFigures{}, fmt.Errorf("assign: %s: %s", f[0].Input, f[0].Error)
	}
	od := &provision.OnDemand{Graph: e.Graph}
	or, err := od.Run(ctx, provision.OnDemandRequest{ServicePrincipalID: res.ServicePrincipalID, JobID: res.JobID, Users: []string{upn}})
	wall := time.Since(start)
	if err != nil {
		return FirstUserFigures{}, err
	}
	f := FirstUserFigures{Latency: latency, Lag: lag, Wall: wall, Floor: lag + time.Duration(FirstUserRoundTrips)*latency}
	if len(or.Items) == 1 {
		f.Attempts = or.Items[0].Attempts
	}
	if !or.OK || len(e.Invicti.Users()) != 1 {
		return f, fmt.Errorf("the first user did not reach Invicti: %+v", or.Items)
	}
	return f, nil
}
