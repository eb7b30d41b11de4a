package bench

import (
	"context"
	"flag"
	"testing"
	"time"
)

// The benchmarks run against the emulators with this latency (default: the perf command's
// 50 ms). They report counts per operation; ns/op is the wall time at that latency.
//
//	go test -run='^$' -bench=. -benchtime=1x ./internal/bench/
//	go test -run='^$' -bench=. -benchtime=1x ./internal/bench/ -latency=5ms
var latency = flag.Duration("latency", DefaultLatency, "emulated latency per HTTP request in the benchmarks")

func benchOptions() Options { return Options{Latency: *latency} }

func BenchmarkSetup(b *testing.B) {
	ctx := context.Background()
	var graphReq, invReq, trips int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e, err := NewEnv(benchOptions())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		_, err = e.RunSetup(ctx)
		b.StopTimer()
		if err != nil {
			e.Close()
			b.Fatal(err)
		}
		g, inv := e.GraphRec.Calls(), e.InvictiRec.Calls()
		graphReq += len(g)
		invReq += len(inv)
		trips += CriticalPath(g, inv)
		e.Close()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(graphReq+invReq)/n, "requests/op")
	b.ReportMetric(float64(graphReq)/n, "graph-requests/op")
	b.ReportMetric(float64(invReq)/n, "invicti-requests/op")
	b.ReportMetric(float64(trips)/n, "round-trips/op")
}

func benchmarkAssign(b *testing.B, users int, batched bool) {
	ctx := context.Background()
	var req, ops, trips int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a, err := NewAssignEnv(benchOptions(), users)
		if err != nil {
			b.Fatal(err)
		}
		run := a.AssignSequential
		if batched {
			run = a.AssignBatched
		}
		b.StartTimer()
		start := time.Now()
		err = run(ctx)
		wall := time.Since(start)
		b.StopTimer()
		if err != nil {
			a.Close()
			b.Fatal(err)
		}
		f := a.Figures(wall)
		if f.Assigned != users {
			a.Close()
			b.Fatalf("%d of %d users assigned", f.Assigned, users)
		}
		req += f.HTTPRequests
		ops += f.Operations
		trips += f.RoundTrips
		a.Close()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(req)/n, "requests/op")
	b.ReportMetric(float64(ops)/n, "graph-operations/op")
	b.ReportMetric(float64(trips)/n, "round-trips/op")
}

func BenchmarkAssign1000Batched(b *testing.B)    { benchmarkAssign(b, 1000, true) }
func BenchmarkAssign1000Sequential(b *testing.B) { benchmarkAssign(b, 1000, false) }
