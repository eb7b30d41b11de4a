// Package bench measures invicti-scim against the emulators (entratest for Microsoft Graph,
// scimtest for Invicti Platform) with a fixed emulated latency, and compares every figure
// with a baseline measured in the same run: the minimum the flow needs, a one-by-one
// implementation, the rate limit's theoretical floor, or a hello-world Go binary.
//
// The scenarios are plain functions so that both the perf command (internal/bench/cmd/perf,
// which prints the table for docs/performance.md) and the Go benchmarks (bench_test.go) use
// them. Nothing here asserts a time: figures are measured and reported, never checked.
package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/httpx"
	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// DefaultLatency is the emulated latency of every HTTP request, on both emulators.
const DefaultLatency = 50 * time.Millisecond

// AppName is the enterprise app the scenarios create.
const AppName = "Invicti Platform"

// The minimum setup needs from nothing (an empty tenant, no state file), counted from
// docs/setup.md. Every call depends on the answer of the one before it, so the minimum
// critical path is the sum of both sides.
//
// Invicti (3): token, GET ServiceProviderConfig, GET Users?filter — the direct check that
// must pass before any Graph write.
//
// Graph (10): two lookups (by the invicti-scim tag, then by name: both must come back empty
// before creating, or a re-run would make a duplicate), POST instantiate, PATCH tags, POST
// synchronization/jobs, then key set v2 (docs/setup.md): POST validateCredentials with the
// keys inline (test before save), PUT synchronization/secrets, GET synchronization/secrets
// (read-back: a 204 alone proves nothing), POST validateCredentials with the saved settings,
// and POST start. Not needed on an app created in the same run: GET application
// (instantiate returns its id), replication reads of the new service principal and job (the
// next calls retry while they replicate), GET jobs (a new app has none), GET templates (the
// "scim" template id is known), GET secrets before the write (a new job has none), GET job
// before start (a job just created is Disabled).
//
// Each validateCredentials is answered only after Entra itself calls Invicti (token + one
// user query), so those four round trips sit on the critical path too.
const (
	MinSetupInvicti    = 3
	MinSetupGraph      = 10
	MinSetupRoundTrips = MinSetupInvicti + MinSetupGraph
	MinSetupNested     = 4 // Entra → Invicti inside the two validateCredentials
)

// OnDemandLimit and OnDemandWindow are Entra's provisionOnDemand limit: 5 calls per 10 s
// per job.
const (
	OnDemandLimit  = 5
	OnDemandWindow = 10 * time.Second
)

// OnDemandFloor is the least wall time n provisionOnDemand calls can take within the limit:
// the first OnDemandLimit go at once, and every later group waits one window.
func OnDemandFloor(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration((n-1)/OnDemandLimit) * OnDemandWindow
}

// Call is one HTTP attempt seen by a Recorder.
type Call struct {
	Method string
	URL    string
	Status int // 0 when the request failed without an answer
	Start  time.Time
	End    time.Time // when the answer's headers arrived
}

// Recorder is an http.RoundTripper that logs every attempt it carries (below the retry
// transport, so a retried 429 counts twice, as it costs twice).
type Recorder struct {
	Next http.RoundTripper

	mu    sync.Mutex
	calls []Call
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := r.Next.RoundTrip(req)
	c := Call{Method: req.Method, URL: req.URL.String(), Start: start, End: time.Now()}
	if resp != nil {
		c.Status = resp.StatusCode
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return resp, err
}

// Calls returns a copy of the log.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Reset clears the log.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.calls = nil
	r.mu.Unlock()
}

// CriticalPath is the number of round trips on the critical path: the longest chain of calls
// in which each one started after the previous one had been answered. For a sequential flow
// it equals the number of calls; calls in flight together count once. (The greedy choice of
// the earliest-answered call is optimal for chains of non-overlapping intervals.)
func CriticalPath(calls ...[]Call) int {
	var all []Call
	for _, c := range calls {
		all = append(all, c...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].End.Before(all[j].End) })
	n := 0
	var last time.Time
	for _, c := range all {
		if n == 0 || !c.Start.Before(last) {
			n++
			last = c.End
		}
	}
	return n
}

// Busy is how long at least one of the calls was in flight (the union of their intervals).
func Busy(calls ...[]Call) time.Duration {
	var all []Call
	for _, c := range calls {
		all = append(all, c...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Start.Before(all[j].Start) })
	var total time.Duration
	var curStart, curEnd time.Time
	for i, c := range all {
		switch {
		case i == 0:
			curStart, curEnd = c.Start, c.End
		case c.Start.After(curEnd):
			total += curEnd.Sub(curStart)
			curStart, curEnd = c.Start, c.End
		case c.End.After(curEnd):
			curEnd = c.End
		}
	}
	if len(all) > 0 {
		total += curEnd.Sub(curStart)
	}
	return total
}

// Options configures an Env.
type Options struct {
	Latency          time.Duration // per request, both emulators
	ReplicationDelay time.Duration // entratest: how long new objects stay invisible
	ProvisionDelay   time.Duration // entratest: assignment → provisionOnDemand honoured
	// WaiterInterval is provision.Waiter.Interval; 0 keeps the product default (1 s).
	WaiterInterval time.Duration
}

// Env is a running pair of emulators and the clients the product would build for them:
// a graph.Client through the product's retry transport, an invicti.Checker, and recorders
// on every HTTP path (tool → Graph, tool → Invicti, emulated Entra → Invicti).
type Env struct {
	Opts    Options
	Tenant  *entratest.Tenant
	Invicti *scimtest.Server
	Graph   *graph.Client
	Checker *invicti.Checker

	GraphRec   *Recorder // the tool's Graph requests
	InvictiRec *Recorder // the tool's Invicti requests
	EntraRec   *Recorder // emulated Entra's requests to Invicti (Test Connection, provisioning)

	Endpoints   invicti.Endpoints
	Credentials invicti.Credentials
	Cloud       graph.Cloud

	stateDir   string
	transports []*http.Transport
	slept      atomic.Int64
}

// NewEnv starts both emulators and builds the clients.
func NewEnv(o Options) (*Env, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	entra := http.DefaultTransport.(*http.Transport).Clone()
	e := &Env{
		Opts:       o,
		GraphRec:   &Recorder{Next: tr},
		InvictiRec: &Recorder{Next: tr},
		EntraRec:   &Recorder{Next: entra},
		transports: []*http.Transport{tr, entra},
	}
	e.Invicti = scimtest.New(scimtest.Options{Latency: o.Latency})
	e.Tenant = entratest.New(entratest.Options{
		Latency: o.Latency, ReplicationDelay: o.ReplicationDelay, ProvisionDelay: o.ProvisionDelay,
		HTTPClient: &http.Client{Transport: e.EntraRec, Timeout: 15 * time.Second},
	})
	e.Credentials = invicti.Credentials{ClientID: "bench-scim-client", ClientSecret: "bench-secret-0123456789abcdef"}
	e.Invicti.AddClient(e.Credentials.ClientID, e.Credentials.ClientSecret)
	e.Endpoints = invicti.EndpointsFor(e.Invicti.URL)
	cloud, err := graph.CloudByName("global")
	if err != nil {
		e.Close()
		return nil, err
	}
	cloud.GraphURL = e.Tenant.URL
	e.Cloud = cloud
	// As cmd/graph_input.go builds it: the retry transport (429/503/504, Retry-After) over
	// the wire; the recorder sits in between so every attempt is counted.
	hc := &http.Client{Transport: &httpx.Retry{Next: e.GraphRec}, Timeout: 2 * time.Minute}
	e.Graph, err = graph.New(graph.Options{RootURL: e.Tenant.URL, Credential: graph.StaticToken(e.Tenant.Token()), HTTPClient: hc})
	if err != nil {
		e.Close()
		return nil, err
	}
	e.Checker = &invicti.Checker{HTTP: &http.Client{Transport: e.InvictiRec, Timeout: 2 * time.Minute}}
	e.stateDir, err = os.MkdirTemp("", "invicti-scim-bench-state-")
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close stops the emulators and removes the state directory.
func (e *Env) Close() {
	if e.Tenant != nil {
		e.Tenant.Close()
	}
	if e.Invicti != nil {
		e.Invicti.Close()
	}
	for _, tr := range e.transports {
		tr.CloseIdleConnections()
	}
	if e.stateDir != "" {
		_ = os.RemoveAll(e.stateDir)
	}
}

// ResetLogs clears every request log (recorders and emulators).
func (e *Env) ResetLogs() {
	e.GraphRec.Reset()
	e.InvictiRec.Reset()
	e.EntraRec.Reset()
	e.Tenant.ResetRequests()
	e.Invicti.ResetRequests()
}

// waiter is the product's default provision.Waiter (or Options.WaiterInterval), with its
// sleeps added up in Slept.
func (e *Env) waiter() provision.Waiter {
	return provision.Waiter{Interval: e.Opts.WaiterInterval, Sleep: func(ctx context.Context, d time.Duration) error {
		start := time.Now()
		err := httpx.Sleep(ctx, d)
		e.slept.Add(int64(time.Since(start)))
		return err
	}}
}

// Slept is how long provision.Waiter slept (replication polling and retries) so far.
func (e *Env) Slept() time.Duration { return time.Duration(e.slept.Load()) }

// SeedUsers adds n enabled users user0001@contoso.example… and returns their UPNs.
func (e *Env) SeedUsers(n int) []string {
	upns := make([]string, n)
	for i := range upns {
		upn := fmt.Sprintf("user%04d@%s", i+1, entratest.Domain)
		e.Tenant.AddUser(entratest.User{UserPrincipalName: upn, Mail: upn, DisplayName: fmt.Sprintf("User %04d", i+1),
			GivenName: "User", Surname: fmt.Sprintf("%04d", i+1), AccountEnabled: true})
		upns[i] = upn
	}
	return upns
}

// RunSetup runs provision.Setup from nothing, as `invicti-scim setup` does.
func (e *Env) RunSetup(ctx context.Context) (*provision.SetupResult, error) {
	s := &provision.Setup{Graph: e.Graph, Checker: e.Checker, Store: state.Store{Dir: e.stateDir}, Waiter: e.waiter()}
	res, err := s.Run(ctx, provision.SetupConfig{AppName: AppName, Endpoints: e.Endpoints, Credentials: e.Credentials, Cloud: e.Cloud})
	if err != nil {
		return res, fmt.Errorf("setup: %w", err)
	}
	return res, nil
}

// SetupFigures is what one setup from nothing cost.
type SetupFigures struct {
	GraphRequests   int           // HTTP requests the tool sent to Graph
	InvictiRequests int           // HTTP requests the tool sent to Invicti
	EntraToInvicti  int           // requests emulated Entra sent to Invicti on the tool's behalf
	RoundTrips      int           // sequential round trips on the tool's critical path
	Wall            time.Duration // provision.Setup.Run
	InRequests      time.Duration // of Wall: time with at least one of the tool's requests in flight
	Slept           time.Duration // of Wall: provision.Waiter's sleeps (replication polling)
	Sequence        []string      // the tool's requests in order, "GET /v1.0/…"
}

// MeasureSetup runs setup from nothing in a fresh Env and counts.
func MeasureSetup(ctx context.Context, o Options) (SetupFigures, error) {
	e, err := NewEnv(o)
	if err != nil {
		return SetupFigures{}, err
	}
	defer e.Close()
	start := time.Now()
	_, err = e.RunSetup(ctx)
	wall := time.Since(start)
	if err != nil {
		return SetupFigures{}, err
	}
	g, inv := e.GraphRec.Calls(), e.InvictiRec.Calls()
	f := SetupFigures{GraphRequests: len(g), InvictiRequests: len(inv), EntraToInvicti: len(e.EntraRec.Calls()),
		RoundTrips: CriticalPath(g, inv), Wall: wall, InRequests: Busy(g, inv), Slept: e.Slept()}
	all := append(append([]Call(nil), inv...), g...)
	sort.Slice(all, func(i, j int) bool { return all[i].Start.Before(all[j].Start) })
	for _, c := range all {
		f.Sequence = append(f.Sequence, c.Method+" "+shortURL(c.URL, e))
	}
	return f, nil
}

func shortURL(u string, e *Env) string {
	u = strings.TrimPrefix(u, e.Tenant.URL)
	u = strings.TrimPrefix(u, e.Invicti.URL)
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i] + "?…"
	}
	return u
}

// AssignFigures is what assigning n users cost.
type AssignFigures struct {
	Users         int
	HTTPRequests  int // HTTP requests to Graph ($batch counts once)
	BatchRequests int // of which POST /$batch
	SubRequests   int // $batch items Graph served
	Operations    int // what Graph did: plain requests + $batch items
	RoundTrips    int // sequential round trips on the critical path
	Wall          time.Duration
	Assigned      int // users assigned at the end (must equal Users)
}

// AssignEnv is an Env with n users and an already-replicated enterprise app.
type AssignEnv struct {
	*Env
	SPID string
	UPNs []string
}

// NewAssignEnv prepares n users and an app (made without HTTP requests).
func NewAssignEnv(o Options, n int) (*AssignEnv, error) {
	e, err := NewEnv(o)
	if err != nil {
		return nil, err
	}
	upns := e.SeedUsers(n)
	app := e.Tenant.AddApp(AppName)
	return &AssignEnv{Env: e, SPID: app.ServicePrincipalID, UPNs: upns}, nil
}

// AssignBatched assigns every user with provision.Assigner ($batch, 20 per request, 4 in
// flight), exactly as `invicti-scim assign` does.
func (a *AssignEnv) AssignBatched(ctx context.Context) error {
	as := &provision.Assigner{Graph: a.Graph, Waiter: a.waiter()}
	res, err := as.Run(ctx, provision.AssignRequest{ServicePrincipalID: a.SPID, Users: a.UPNs})
	if err != nil {
		return err
	}
	if f := res.Failed(); len(f) > 0 {
		return fmt.Errorf("assign: %d of %d failed, first: %s: %s", len(f), len(res.Items), f[0].Input, f[0].Error)
	}
	return nil
}

// AssignSequential is the baseline: read the app role once, then for each user GET
// /users/{upn} and POST appRoleAssignedTo, one request at a time.
func (a *AssignEnv) AssignSequential(ctx context.Context) error {
	sp, err := a.Graph.ServicePrincipal(ctx, a.SPID)
	if err != nil {
		return err
	}
	role := provision.UserRole(sp.AppRoles)
	if role == nil {
		return fmt.Errorf("the app has no User role")
	}
	for _, upn := range a.UPNs {
		u, err := a.Graph.User(ctx, upn)
		if err != nil {
			return fmt.Errorf("user %s: %w", upn, err)
		}
		if _, err := a.Graph.Assign(ctx, a.SPID, u.ID, role.ID); err != nil {
			return fmt.Errorf("assign %s: %w", upn, err)
		}
	}
	return nil
}

// Figures counts what the calls since the last ResetLogs cost.
func (a *AssignEnv) Figures(wall time.Duration) AssignFigures {
	g := a.GraphRec.Calls()
	f := AssignFigures{Users: len(a.UPNs), HTTPRequests: len(g), RoundTrips: CriticalPath(g), Wall: wall}
	for _, c := range g {
		if strings.HasSuffix(strings.SplitN(c.URL, "?", 2)[0], "/$batch") {
			f.BatchRequests++
		}
	}
	for _, r := range a.Tenant.Requests() {
		if r.InBatch {
			f.SubRequests++
		}
	}
	f.Operations = f.HTTPRequests - f.BatchRequests + f.SubRequests
	for _, app := range a.Tenant.Apps() {
		if app.ServicePrincipalID == a.SPID {
			f.Assigned = len(app.Assignments)
		}
	}
	return f
}

// MeasureAssign assigns n users in a fresh Env, batched or one by one.
func MeasureAssign(ctx context.Context, o Options, n int, batched bool) (AssignFigures, error) {
	a, err := NewAssignEnv(o, n)
	if err != nil {
		return AssignFigures{}, err
	}
	defer a.Close()
	run := a.AssignSequential
	if batched {
		run = a.AssignBatched
	}
	start := time.Now()
	err = run(ctx)
	wall := time.Since(start)
	if err != nil {
		return AssignFigures{}, err
	}
	f := a.Figures(wall)
	if f.Assigned != n {
		return f, fmt.Errorf("assign: %d of %d users assigned", f.Assigned, n)
	}
	return f, nil
}

// OnDemandFigures is what provisioning n users on demand cost.
type OnDemandFigures struct {
	Users         int
	Wall          time.Duration // provision.OnDemand.Run
	Floor         time.Duration // OnDemandFloor(Users)
	Throttled     int           // 429 answers Graph gave during the run
	GraphRequests int
	Provisioned   int // users that reached Invicti (emulated Entra created them over SCIM)
}

// MeasureOnDemand sets up the app, assigns n users (not timed), then provisions them on
// demand with provision.OnDemand and its default 5-per-10-s limiter (timed).
func MeasureOnDemand(ctx context.Context, o Options, n int) (OnDemandFigures, error) {
	e, err := NewEnv(o)
	if err != nil {
		return OnDemandFigures{}, err
	}
	defer e.Close()
	upns := e.SeedUsers(n)
	res, err := e.RunSetup(ctx)
	if err != nil {
		return OnDemandFigures{}, err
	}
	as := &provision.Assigner{Graph: e.Graph, Waiter: e.waiter()}
	ar, err := as.Run(ctx, provision.AssignRequest{ServicePrincipalID: res.ServicePrincipalID, Users: upns})
	if err != nil {
		return OnDemandFigures{}, err
	}
	if f := ar.Failed(); len(f) > 0 {
		return OnDemandFigures{}, fmt.Errorf("assign before provisioning: %s: %s", f[0].Input, f[0].Error)
	}
	e.ResetLogs()
	od := &provision.OnDemand{Graph: e.Graph}
	start := time.Now()
	or, err := od.Run(ctx, provision.OnDemandRequest{ServicePrincipalID: res.ServicePrincipalID, JobID: res.JobID, Users: upns})
	wall := time.Since(start)
	if err != nil {
		return OnDemandFigures{}, err
	}
	f := OnDemandFigures{Users: n, Wall: wall, Floor: OnDemandFloor(n), GraphRequests: len(e.GraphRec.Calls()),
		Provisioned: len(e.Invicti.Users())}
	for _, r := range e.Tenant.Requests() {
		if r.Status == http.StatusTooManyRequests {
			f.Throttled++
		}
	}
	if !or.OK {
		for _, it := range or.Items {
			if it.Status != provision.StatusProvisioned && it.Status != provision.StatusInSync {
				return f, fmt.Errorf("provision on demand: %s: %s %s", it.Input, it.Status, it.Error)
			}
		}
		return f, fmt.Errorf("provision on demand did not succeed")
	}
	return f, nil
}
