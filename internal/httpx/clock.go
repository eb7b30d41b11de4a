package httpx

import (
	"context"
	"sync"
	"time"
)

// VirtualClock is a clock for tests whose Sleep returns at once and moves Now forward, so code
// that waits minutes of replication or Retry-After budget runs in no real time and the test can
// read how long it would have waited. Libraries such as clockwork make Sleep block until the
// test advances the clock from another goroutine; our waits are sequential, so "sleeping
// advances time" is all they need and keeps tests free of goroutine choreography.
// It is safe for concurrent use.
type VirtualClock struct {
	mu    sync.Mutex
	t     time.Time
	slept time.Duration
}

// NewVirtualClock starts a virtual clock at start.
func NewVirtualClock(start time.Time) *VirtualClock { return &VirtualClock{t: start} }

// Now is the virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Sleep advances the clock by d (nothing for d <= 0) unless ctx is already done, in which case
// it returns ctx's error as Sleep does.
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.mu.Lock()
		c.t = c.t.Add(d)
		c.slept += d
		c.mu.Unlock()
	}
	return nil
}

// Slept is the total virtual time spent in Sleep.
func (c *VirtualClock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}
