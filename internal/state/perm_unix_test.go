//go:build unix

package state

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestConfigDirIsTightenedTo0700(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := (Store{Dir: dir}).Save(State{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("config dir mode %04o, want 0700", fi.Mode().Perm())
	}
}

func TestLoadRefusesHugeAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	s := Store{Dir: dir}
	big := make([]byte, MaxStateBytes+1)
	if err := os.WriteFile(s.Path(), big, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "1048576 bytes") {
		t.Fatalf("Load of a huge state = %v, want an error naming the limit", err)
	}
	if err := os.Remove(s.Path()); err != nil {
		t.Fatal(err)
	}
	// A FIFO would block a plain open until a writer comes.
	if err := syscall.Mkfifo(s.Path(), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Load of a FIFO = %v, want 'not a regular file'", err)
	}
}
