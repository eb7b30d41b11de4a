package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// LockFileName is the lock file inside the config dir. The OS lock (flock(2) on Unix,
// LockFileEx on Windows, through github.com/gofrs/flock) is what excludes; the file's text is
// only the holder's pid, for the message. The kernel drops the lock when its holder exits,
// however it exits, so a crashed run never leaves a stale lock behind.
const LockFileName = "lock"

// lockPollInterval is how often a waiting command tries the lock again.
const lockPollInterval = 250 * time.Millisecond

// Lock is a held config-dir lock. Release it with Unlock (the process exiting also does).
type Lock struct {
	fl *flock.Flock
}

// LockedError says another process holds the config dir's lock.
type LockedError struct {
	Dir string
	PID int // 0 when the holder did not record its pid (yet)
	// Waited is how long this process waited (--wait-lock) before giving up.
	Waited time.Duration
}

func (e *LockedError) Error() string {
	who := "another invicti-scim is running"
	if e.PID > 0 {
		who = fmt.Sprintf("another invicti-scim is running (pid %d)", e.PID)
	}
	waited := ""
	if e.Waited > 0 {
		waited = fmt.Sprintf(" and still was after %s", e.Waited)
	}
	return fmt.Sprintf("%s with the config dir %s%s", who, e.Dir, waited)
}

// Hint says how to get past the lock.
func (e *LockedError) Hint() string {
	return "wait for it to finish, or pass --wait-lock 5m to wait; two runs at once could create two apps"
}

// Lock takes the config dir's exclusive lock, for commands that write (to the tenant or the
// state file). With wait 0 it fails at once when another process holds it; otherwise it tries
// again until wait has passed or ctx ends. It creates the config dir (0700) if needed.
func (s Store) Lock(ctx context.Context, wait time.Duration) (*Lock, error) {
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	path := filepath.Join(s.Dir, LockFileName)
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err == nil && !ok && wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, wait)
		ok, err = fl.TryLockContext(wctx, lockPollInterval)
		cancel()
		if !ok && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lock the config dir %s: %w", s.Dir, err)
	}
	if !ok {
		return nil, &LockedError{Dir: s.Dir, PID: readPID(path), Waited: wait}
	}
	// The pid is for the other process's message only; failing to write it loses nothing.
	_ = os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	return &Lock{fl: fl}, nil
}

// Unlock releases the lock; safe on nil.
func (l *Lock) Unlock() error {
	if l == nil {
		return nil
	}
	return l.fl.Unlock()
}

func readPID(path string) int {
	data, err := readBounded(path, 64)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
