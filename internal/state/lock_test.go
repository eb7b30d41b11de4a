package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLockExcludesASecondHolder(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "cfg")}
	first, err := s.Lock(context.Background(), 0)
	if err != nil {
		t.Fatalf("first Lock: %v", err)
	}
	// A second holder in the same process opens its own file description, as a second
	// process would: flock(2) excludes it.
	_, err = s.Lock(context.Background(), 0)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock = %v, want a LockedError", err)
	}
	want := "another invicti-scim is running (pid " + strconv.Itoa(os.Getpid()) + ")"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("message %q does not say %q", err.Error(), want)
	}
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	again, err := s.Lock(context.Background(), 0)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	_ = again.Unlock()
}

func TestLockWaitsForTheHolder(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	first, err := s.Lock(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		l, err := s.Lock(context.Background(), time.Hour)
		if err == nil {
			_ = l.Unlock()
		}
		got <- err
	}()
	<-started
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Lock: %v", err)
	}
}

func TestLockWaitEndsWithContext(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	first, err := s.Lock(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Unlock() }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Lock(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a cancelled context = %v, want context.Canceled", err)
	}
}
