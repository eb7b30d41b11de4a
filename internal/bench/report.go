package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Scenario names, for Config.Only.
const (
	ScenarioSetup     = "setup"
	ScenarioAssign    = "assign"
	ScenarioOnDemand  = "ondemand"
	ScenarioFirstUser = "firstuser"
	ScenarioBinary    = "binary"
)

// Scenarios lists every scenario in the order they run.
func Scenarios() []string {
	return []string{ScenarioSetup, ScenarioAssign, ScenarioOnDemand, ScenarioFirstUser, ScenarioBinary}
}

// Config is one perf run.
type Config struct {
	Options       Options
	Users         int      // users to assign (batched and one by one)
	OnDemandUsers int      // users to provision on demand
	Runs          int      // start-up runs per program
	Only          []string // scenarios to run; empty = all
	ModuleDir     string   // for the builds; empty = found with `go env GOMOD`
	// FirstUserLatency and FirstUserLag set the time-to-first-user scenario (default 100 ms
	// per request, 8 s assignment lag), independent of Options.
	FirstUserLatency, FirstUserLag time.Duration
	// Log, when set, is told what runs next (the perf command prints it on stderr).
	Log func(format string, args ...any)
}

// Report is one perf run's figures.
type Report struct {
	Date       time.Time
	Machine    Machine
	Config     Config `json:"-"`
	Options    Options
	Latency    time.Duration
	Setup      *SetupFigures     `json:",omitempty"`
	Batched    *AssignFigures    `json:",omitempty"`
	Sequential *AssignFigures    `json:",omitempty"`
	OnDemand   *OnDemandFigures  `json:",omitempty"`
	FirstUser  *FirstUserFigures `json:",omitempty"`
	Binary     *BinaryFigures    `json:",omitempty"`
	Took       map[string]time.Duration
	Total      time.Duration
	// LoadBefore and LoadAfter are the 1-minute load averages around the run (Linux; "" elsewhere):
	// the machine may be shared, and load from elsewhere slows every figure down.
	LoadBefore, LoadAfter string
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Machine describes where the figures were measured.
type Machine struct {
	OS, Arch  string
	CPUs      int
	CPUModel  string
	GoVersion string
}

func thisMachine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

func (c Config) runs(s string) bool {
	if len(c.Only) == 0 {
		return true
	}
	for _, o := range c.Only {
		if strings.EqualFold(strings.TrimSpace(o), s) {
			return true
		}
	}
	return false
}

func (c Config) log(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

// Run measures every selected scenario, one after the other (never concurrently, so one
// does not slow another down).
func Run(ctx context.Context, c Config) (*Report, error) {
	r := &Report{Date: time.Now(), Machine: thisMachine(), Config: c, Options: c.Options, Latency: c.Options.Latency, Took: map[string]time.Duration{}}
	r.LoadBefore = loadAverage()
	begin := time.Now()
	step := func(name string, fn func() error) error {
		start := time.Now()
		err := fn()
		r.Took[name] = time.Since(start)
		return err
	}
	if c.runs(ScenarioSetup) {
		c.log("setup from nothing …")
		if err := step(ScenarioSetup, func() error {
			f, err := MeasureSetup(ctx, c.Options)
			r.Setup = &f
			return err
		}); err != nil {
			return r, err
		}
	}
	if c.runs(ScenarioAssign) {
		c.log("assign %d users, batched …", c.Users)
		if err := step("assign-batched", func() error {
			f, err := MeasureAssign(ctx, c.Options, c.Users, true)
			r.Batched = &f
			return err
		}); err != nil {
			return r, err
		}
		c.log("assign %d users, one by one (the baseline; %d sequential requests) …", c.Users, 2*c.Users+1)
		if err := step("assign-sequential", func() error {
			f, err := MeasureAssign(ctx, c.Options, c.Users, false)
			r.Sequential = &f
			return err
		}); err != nil {
			return r, err
		}
	}
	if c.runs(ScenarioOnDemand) {
		c.log("provision %d users on demand (floor %s) …", c.OnDemandUsers, OnDemandFloor(c.OnDemandUsers))
		if err := step(ScenarioOnDemand, func() error {
			f, err := MeasureOnDemand(ctx, c.Options, c.OnDemandUsers)
			r.OnDemand = &f
			return err
		}); err != nil {
			return r, err
		}
	}
	if c.runs(ScenarioFirstUser) {
		lat, lag := c.FirstUserLatency, c.FirstUserLag
		if lat <= 0 {
			lat = FirstUserLatency
		}
		if lag <= 0 {
			lag = FirstUserLag
		}
		c.log("time to first user: setup, assign one user, provision now (latency %s, assignment lag %s) …", lat, lag)
		if err := step(ScenarioFirstUser, func() error {
			f, err := MeasureFirstUser(ctx, lat, lag)
			r.FirstUser = &f
			return err
		}); err != nil {
			return r, err
		}
	}
	if c.runs(ScenarioBinary) {
		c.log("build invicti-scim and a hello world (plain and stripped), time %d start-ups each …", c.Runs)
		if err := step(ScenarioBinary, func() error {
			dir := c.ModuleDir
			if dir == "" {
				var err error
				if dir, err = ModuleDir(ctx); err != nil {
					return err
				}
			}
			f, err := MeasureBinary(ctx, dir, c.Runs)
			r.Binary = &f
			return err
		}); err != nil {
			return r, err
		}
	}
	r.Total = time.Since(begin)
	r.LoadAfter = loadAverage()
	return r, nil
}

// Ratio formats measured ÷ baseline.
func Ratio(measured, baseline float64) string {
	switch {
	case baseline == 0 && measured == 0:
		return "—"
	case baseline == 0:
		return "∞"
	}
	q := measured / baseline
	switch {
	case q >= 10:
		return fmt.Sprintf("%.0f×", q)
	case q >= 0.1:
		return fmt.Sprintf("%.2f×", q)
	default:
		return fmt.Sprintf("%.3f× (1/%.0f)", q, 1/q)
	}
}

// Seconds formats a duration for the table.
func Seconds(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}

// MiB formats a size.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func num(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Markdown writes the figures as the table docs/performance.md shows.
func (r *Report) Markdown(w io.Writer, verbose bool) {
	m := r.Machine
	o := r.Config.Options
	fmt.Fprintf(w, "Measured %s on %s/%s, %d CPUs", r.Date.Format("2006-01-02 15:04 MST"), m.OS, m.Arch, m.CPUs)
	if m.CPUModel != "" {
		fmt.Fprintf(w, " (%s)", m.CPUModel)
	}
	fmt.Fprintf(w, ", %s", m.GoVersion)
	if r.LoadBefore != "" {
		fmt.Fprintf(w, "; load average %s before, %s after", r.LoadBefore, r.LoadAfter)
	}
	fmt.Fprintln(w, ".")
	waiter := "default (1 s)"
	if o.WaiterInterval > 0 {
		waiter = o.WaiterInterval.String()
	}
	fmt.Fprintf(w, "Emulated latency %s per HTTP request on both emulators ($batch counts once); ReplicationDelay %s; ProvisionDelay %s; provision.Waiter interval %s.\n\n",
		r.Latency, o.ReplicationDelay, o.ProvisionDelay, waiter)

	lat := r.Latency
	fmt.Fprintln(w, "| # | figure | measured | baseline | measured ÷ baseline |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|")
	row := func(n, what, measured, baseline, ratio string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", n, what, measured, baseline, ratio)
	}
	if s := r.Setup; s != nil {
		minWall := time.Duration(MinSetupRoundTrips+MinSetupNested) * lat
		row("1", "setup from nothing: Graph HTTP requests", num(s.GraphRequests), fmt.Sprintf("%d (minimum)", MinSetupGraph), Ratio(float64(s.GraphRequests), MinSetupGraph))
		row("1", "setup: Invicti HTTP requests (direct check)", num(s.InvictiRequests), fmt.Sprintf("%d (minimum)", MinSetupInvicti), Ratio(float64(s.InvictiRequests), MinSetupInvicti))
		row("1", "setup: sequential round trips (critical path)", num(s.RoundTrips), fmt.Sprintf("%d (minimum)", MinSetupRoundTrips), Ratio(float64(s.RoundTrips), MinSetupRoundTrips))
		row("1", "setup: wall time", Seconds(s.Wall), fmt.Sprintf("%s (minimum: (%d + %d nested) × %s)", Seconds(minWall), MinSetupRoundTrips, MinSetupNested, lat), Ratio(s.Wall.Seconds(), minWall.Seconds()))
	}
	if b, q := r.Batched, r.Sequential; b != nil && q != nil {
		users := num(b.Users)
		row("2", "assign "+users+" users: Graph HTTP requests", num(b.HTTPRequests), num(q.HTTPRequests)+" (one by one)", Ratio(float64(b.HTTPRequests), float64(q.HTTPRequests)))
		row("2", "assign "+users+": Graph operations ($batch items + plain requests)", num(b.Operations), num(q.Operations)+" (one by one)", Ratio(float64(b.Operations), float64(q.Operations)))
		row("2", "assign "+users+": sequential round trips", num(b.RoundTrips), num(q.RoundTrips)+" (one by one)", Ratio(float64(b.RoundTrips), float64(q.RoundTrips)))
		row("2", "assign "+users+": wall time", Seconds(b.Wall), Seconds(q.Wall)+" (one by one)", Ratio(b.Wall.Seconds(), q.Wall.Seconds()))
	}
	if d := r.OnDemand; d != nil {
		row("3", fmt.Sprintf("provision %d users on demand: wall time", d.Users), Seconds(d.Wall), Seconds(d.Floor)+" (5-per-10 s floor)", Ratio(d.Wall.Seconds(), d.Floor.Seconds()))
		row("3", fmt.Sprintf("provision %d on demand: 429 answers from Graph", d.Users), num(d.Throttled), "0", Ratio(float64(d.Throttled), 0))
		row("3", fmt.Sprintf("provision %d on demand: users created in Invicti", d.Users), num(d.Provisioned), num(d.Users), Ratio(float64(d.Provisioned), float64(d.Users)))
	}
	if u := r.FirstUser; u != nil {
		row("5", fmt.Sprintf("time to first user in Invicti (%s per request, assignment lag %s)", u.Latency, u.Lag), Seconds(u.Wall),
			fmt.Sprintf("%s (lag + %d round trips)", Seconds(u.Floor), FirstUserRoundTrips), Ratio(u.Wall.Seconds(), u.Floor.Seconds()))
		row("5", "time to first user: provisionOnDemand calls", num(u.Attempts), "1 + lag ÷ 2 s", "")
	}
	if b := r.Binary; b != nil {
		row("4", "binary size, `go build`", MiB(b.Plain.Size), MiB(b.HelloPlain.Size)+" (hello world)", Ratio(float64(b.Plain.Size), float64(b.HelloPlain.Size)))
		row("4", "binary size, `go build -trimpath -ldflags='-s -w'`", MiB(b.Stripped.Size), MiB(b.HelloStripped.Size)+" (hello world)", Ratio(float64(b.Stripped.Size), float64(b.HelloStripped.Size)))
		row("4", "stripped ÷ plain", MiB(b.Stripped.Size), MiB(b.Plain.Size)+" (plain)", Ratio(float64(b.Stripped.Size), float64(b.Plain.Size)))
		row("4", fmt.Sprintf("start-up, `invicti-scim --help` (stripped; median of %d)", b.Runs), Seconds(b.HelpStripped), Seconds(b.HelloStart)+" (hello world)", Ratio(b.HelpStripped.Seconds(), b.HelloStart.Seconds()))
		row("4", fmt.Sprintf("start-up, `invicti-scim --help` (plain; median of %d)", b.Runs), Seconds(b.HelpPlain), Seconds(b.HelloStart)+" (hello world)", Ratio(b.HelpPlain.Seconds(), b.HelloStart.Seconds()))
		row("4", "start-up floor: a program that links the same command packages and exits (stripped)", Seconds(b.LinkOnlyStart), Seconds(b.HelloStart)+" (hello world)", Ratio(b.LinkOnlyStart.Seconds(), b.HelloStart.Seconds()))
		row("4", "start-up, `invicti-scim --help` above that floor", Seconds(b.HelpStripped), Seconds(b.LinkOnlyStart)+" (floor)", Ratio(b.HelpStripped.Seconds(), b.LinkOnlyStart.Seconds()))
		if b.TrueStart > 0 {
			row("4", "start-up, hello world vs `/bin/true`", Seconds(b.HelloStart), Seconds(b.TrueStart)+" (/bin/true)", Ratio(b.HelloStart.Seconds(), b.TrueStart.Seconds()))
		}
	}
	fmt.Fprintln(w)
	if s := r.Setup; s != nil {
		fmt.Fprintf(w, "setup: %d Graph + %d Invicti requests by the tool; %d more by emulated Entra to Invicti inside validateCredentials.\n",
			s.GraphRequests, s.InvictiRequests, s.EntraToInvicti)
		fmt.Fprintf(w, "setup wall time %s = %s with a request in flight + %s in provision.Waiter sleeps (replication polling) + %s other (CPU, state file).\n",
			Seconds(s.Wall), Seconds(s.InRequests), Seconds(s.Slept), Seconds(s.Wall-s.InRequests-s.Slept))
		if verbose {
			fmt.Fprintln(w, "setup request sequence (the tool's):")
			for i, q := range s.Sequence {
				fmt.Fprintf(w, "  %2d  %s\n", i+1, q)
			}
		}
	}
	if b := r.Batched; b != nil {
		fmt.Fprintf(w, "assign batched: %d $batch HTTP requests carrying %d items, plus %d plain requests.\n", b.BatchRequests, b.SubRequests, b.HTTPRequests-b.BatchRequests)
	}
	if d := r.OnDemand; d != nil {
		fmt.Fprintf(w, "on demand: %d Graph HTTP requests in the timed part (rules, user lookups, provisionOnDemand).\n", d.GraphRequests)
	}
	if b := r.Binary; b != nil {
		fmt.Fprintf(w, "builds (CGO_ENABLED=%s as in .goreleaser.yaml, %s): plain %s, stripped %s, link-only floor %s (%s), hello %s + %s; --help prints %d bytes.\n",
			b.CGOEnabled, b.GoVersion, Seconds(b.Plain.BuildTime), Seconds(b.Stripped.BuildTime), Seconds(b.LinkOnly.BuildTime), MiB(b.LinkOnly.Size), Seconds(b.HelloPlain.BuildTime), Seconds(b.HelloStripped.BuildTime), b.HelpOutputSize)
		var big []string
		for _, p := range b.TextTop {
			big = append(big, fmt.Sprintf("%s %s (%.0f%%)", p.Source, MiB(p.Bytes), 100*float64(p.Bytes)/float64(max(b.Text, 1))))
		}
		fmt.Fprintf(w, "size: %s of machine code (go tool nm -size, plain build); largest: %s.\n", MiB(b.Text), strings.Join(big, ", "))
		var top []string
		for _, p := range b.InitTop {
			top = append(top, fmt.Sprintf("%s %s", p.Package, Seconds(p.Clock)))
		}
		fmt.Fprintf(w, "start-up: package initialisers take %s of `--help` (GODEBUG=inittrace=1, mean of %d); costliest: %s.\n",
			Seconds(b.Init), b.Runs, strings.Join(top, ", "))
	}
	var parts []string
	for _, k := range []string{ScenarioSetup, "assign-batched", "assign-sequential", ScenarioOnDemand, ScenarioFirstUser, ScenarioBinary} {
		if d, ok := r.Took[k]; ok {
			parts = append(parts, k+" "+Seconds(d))
		}
	}
	fmt.Fprintf(w, "this run took %s (%s).\n", Seconds(r.Total), strings.Join(parts, ", "))
}
