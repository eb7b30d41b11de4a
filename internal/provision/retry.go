package provision

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/httpx"
)

func asGraphError(err error, target **graph.Error) bool { return errors.As(err, target) }

// retryKind says which answers count as "not replicated yet" for a call.
type retryKind int

const (
	// retryRead: a freshly created object may 404 for a while.
	retryRead retryKind = iota
	// retrySync: synchronization calls on a fresh app answer 403/409/404 for a while
	// (Terraform's synchronizationRetryFunc retries exactly these).
	retrySync
	// retryAssign: appRoleAssignedTo answers 404 or 400 "Not a valid reference update"
	// until the principal and the service principal have replicated.
	retryAssign
)

func transient(kind retryKind, err error) bool {
	var ge *graph.Error
	if !errors.As(err, &ge) {
		return false
	}
	if httpx.Retryable(ge.Status) {
		return true
	}
	switch kind {
	case retryRead:
		return ge.Status == http.StatusNotFound
	case retrySync:
		if ge.Status == http.StatusUnauthorized {
			return false // 401 UnknownError is a missing permission, not replication
		}
		return ge.Status == http.StatusNotFound || ge.Status == http.StatusForbidden || ge.Status == http.StatusConflict
	case retryAssign:
		return graph.IsReplicationLag(err)
	}
	return false
}

// Waiter bounds and paces replication retries.
type Waiter struct {
	Budget   time.Duration // total time for one call's retries; default 10 min
	Interval time.Duration // first wait; default 1 s, doubling to MaxWait
	MaxWait  time.Duration // default 10 s
	Sleep    func(context.Context, time.Duration) error
	// Now is the clock budgets are measured on (nil: the wall clock). Tests pass
	// httpx.VirtualClock's Now and Sleep together, so a 2-minute replication wait runs in
	// no real time.
	Now func() time.Time
	// OnWait is told what we wait for, so a spinner can say it.
	OnWait func(what string, attempt int, err error)
}

func (w Waiter) budget() time.Duration {
	if w.Budget > 0 {
		return w.Budget
	}
	return 10 * time.Minute
}

func (w Waiter) interval() time.Duration {
	if w.Interval > 0 {
		return w.Interval
	}
	return time.Second
}

func (w Waiter) maxWait() time.Duration {
	if w.MaxWait > 0 {
		return w.MaxWait
	}
	return 10 * time.Second
}

func (w Waiter) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w Waiter) sleep(ctx context.Context, d time.Duration) error {
	if w.Sleep != nil {
		return w.Sleep(ctx, d)
	}
	return httpx.Sleep(ctx, d)
}

// do runs fn until it succeeds, fails for a reason that is not replication, or the budget
// runs out. When fresh is false (an app we did not just create) only a few quick retries are
// made, so a real 403 reaches the admin in seconds, not minutes.
func (w Waiter) do(ctx context.Context, what string, kind retryKind, fresh bool, fn func() error) error {
	deadline := w.now().Add(w.budget())
	maxAttempts := 1 << 30
	if !fresh {
		maxAttempts = 3
	}
	wait := w.interval()
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !transient(kind, err) {
			return err
		}
		if attempt >= maxAttempts || w.now().Add(wait).After(deadline) {
			return fmt.Errorf("%s: still failing after %d attempts: %w", what, attempt, err)
		}
		if ra := retryAfterOf(err); ra > wait {
			wait = ra
		}
		if w.OnWait != nil {
			w.OnWait(what, attempt, err)
		}
		if err := w.sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(wait*2, w.maxWait())
	}
}

func retryAfterOf(err error) time.Duration {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.RetryAfter
	}
	return 0
}

// visible polls read until it succeeds `times` times in a row (Entra serves reads from
// replicas; one success does not mean the next call lands on a replica that has the object).
func (w Waiter) visible(ctx context.Context, what string, times int, read func() error) error {
	deadline := w.now().Add(w.budget())
	streak, attempt := 0, 0
	wait := w.interval()
	for {
		attempt++
		err := read()
		switch {
		case err == nil:
			streak++
			if streak >= times {
				return nil
			}
			wait = w.interval()
		case transient(retryRead, err):
			streak = 0
			if w.OnWait != nil {
				w.OnWait(what, attempt, err)
			}
			wait = min(wait*2, w.maxWait())
		default:
			return err
		}
		if w.now().Add(wait).After(deadline) {
			return fmt.Errorf("%s: not visible after %s; Entra replication can be slow, re-run the same command to continue", what, w.budget())
		}
		if err := w.sleep(ctx, wait/2); err != nil {
			return err
		}
	}
}
