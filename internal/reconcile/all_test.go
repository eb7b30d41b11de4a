package reconcile

import (
	"sync/atomic"
	"testing"
)

// each never runs more than its bound at once, and runs every item.
func TestEachBound(t *testing.T) {
	var active, peak, ran atomic.Int32
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		each(2, 5, func(int) {
			n := active.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			started <- struct{}{}
			<-release
			active.Add(-1)
			ran.Add(1)
		})
		close(done)
	}()
	<-started
	<-started
	select {
	case <-started:
		t.Fatal("a third tenant started while two ran with parallel 2")
	default:
	}
	close(release)
	<-done
	if peak.Load() > 2 || ran.Load() != 5 {
		t.Fatalf("peak %d (want ≤ 2), ran %d (want 5)", peak.Load(), ran.Load())
	}
}

// A panic in one tenant becomes that tenant's error; the others still run.
func TestRecoverInto(t *testing.T) {
	errs := make([]error, 3)
	each(3, 3, func(i int) {
		defer recoverInto(&errs[i])
		if i == 1 {
			panic("boom")
		}
	})
	if errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Fatalf("errors %v", errs)
	}
}

func TestSortChanges(t *testing.T) {
	cs := []Change{
		{Action: ActionDelete, Resource: ResourceUser, Name: "b"},
		{Action: ActionCreate, Resource: ResourceMappings},
		{Action: ActionCreate, Resource: ResourceUser, Name: "a"},
		{Action: ActionCreate, Resource: ResourceApp},
	}
	sortChanges(cs)
	got := []string{cs[0].Resource, cs[1].Resource + ":" + cs[1].Action, cs[2].Resource + ":" + cs[2].Action, cs[3].Resource}
	want := []string{ResourceApp, ResourceUser + ":create", ResourceUser + ":delete", ResourceMappings}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}
