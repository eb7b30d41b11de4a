// Command perf measures invicti-scim against the emulators and prints the figures of
// docs/performance.md, each with its baseline and the ratio, all measured in this run:
//
//	go run ./internal/bench/cmd/perf
//
// Flags shrink the run (e.g. for CI): -users 100 -only setup,assign,ondemand. Progress goes
// to stderr, the table to stdout (-json for one JSON document instead).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/bench"
)

func main() {
	os.Exit(run())
}

// run is main without os.Exit, so the deferred calls run before the process exits.
func run() int {
	var (
		latency     = flag.Duration("latency", bench.DefaultLatency, "emulated latency per HTTP request, both emulators")
		replication = flag.Duration("replication", 0, "entratest ReplicationDelay: how long new objects stay invisible")
		users       = flag.Int("users", 1000, "users to assign, batched and one by one")
		onDemand    = flag.Int("ondemand", 10, "users to provision on demand")
		runs        = flag.Int("runs", 20, "start-up runs per program (median)")
		only        = flag.String("only", strings.Join(bench.Scenarios(), ","), "scenarios to run, comma-separated: "+strings.Join(bench.Scenarios(), ", "))
		asJSON      = flag.Bool("json", false, "print one JSON document instead of the table")
		verbose     = flag.Bool("v", false, "also list setup's requests in order")
		quiet       = flag.Bool("q", false, "no progress on stderr")
		timeout     = flag.Duration("timeout", 10*time.Minute, "give up after this long")
		fuLatency   = flag.Duration("firstuser-latency", bench.FirstUserLatency, "time to first user: emulated latency per request")
		fuLag       = flag.Duration("firstuser-lag", bench.FirstUserLag, "time to first user: how long Entra ignores a new assignment")
	)
	flag.Parse()
	if flag.NArg() > 0 || *users < 1 || *onDemand < 1 || *runs < 1 {
		flag.Usage()
		return 2
	}
	for _, s := range strings.Split(*only, ",") {
		known := false
		for _, k := range bench.Scenarios() {
			known = known || strings.EqualFold(strings.TrimSpace(s), k)
		}
		if !known {
			fmt.Fprintf(os.Stderr, "perf: unknown scenario %q in -only (known: %s)\n", s, strings.Join(bench.Scenarios(), ", "))
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	cfg := bench.Config{
		Options:          bench.Options{Latency: *latency, ReplicationDelay: *replication},
		Users:            *users,
		OnDemandUsers:    *onDemand,
		Runs:             *runs,
		Only:             strings.Split(*only, ","),
		FirstUserLatency: *fuLatency, FirstUserLag: *fuLag,
	}
	start := time.Now()
	if !*quiet {
		cfg.Log = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
		}
	}
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "perf:", err)
			return 1
		}
		return 0
	}
	rep.Markdown(os.Stdout, *verbose)
	return 0
}
