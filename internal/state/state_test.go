package state

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoadModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "config")
	s := Store{Dir: dir}
	st, err := s.Load()
	if err != nil || st.App != nil {
		t.Fatalf("empty load: %+v %v", st, err)
	}
	st.App = &App{DisplayName: "Invicti Platform", ServicePrincipalID: "sp", JobID: "scim.x"}
	st.Invicti = &Invicti{Region: "eu", ClientID: "cid"}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(s.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state mode %v %v", fi.Mode(), err)
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", di.Mode())
	}
	back, err := s.Load()
	if err != nil || back.App.JobID != "scim.x" || back.Invicti.ClientID != "cid" || back.Updated.IsZero() {
		t.Fatalf("round trip %+v %v", back, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if removed, err := s.Remove(); err != nil || !removed {
		t.Fatalf("remove: %v, removed %v", err, removed)
	}
	if removed, err := s.Remove(); err != nil || removed {
		t.Fatalf("second remove: %v, removed %v (there was nothing to remove)", err, removed)
	}
}

func TestDamagedState(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if err := os.WriteFile(s.Path(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load()
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultDir(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	env["HOME"] = "/home/a"
	if d, _ := DefaultDir(get); d != "/home/a/.config/invicti-scim" {
		t.Errorf("HOME: %s", d)
	}
	env["XDG_CONFIG_HOME"] = "/x"
	if d, _ := DefaultDir(get); d != "/x/invicti-scim" {
		t.Errorf("XDG: %s", d)
	}
	env["INVICTI_SCIM_CONFIG_DIR"] = "/c"
	if d, _ := DefaultDir(get); d != "/c" {
		t.Errorf("override: %s", d)
	}
}

// ReadFileLimited: a file at the limit is read whole, one byte more is a *TooLargeError, and a
// file that cannot be opened is the bare errno, for the caller to name the file itself.
func TestReadFileLimited(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, make([]byte, 1024), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFileLimited(path, 1024); err != nil || len(data) != 1024 {
		t.Errorf("at the limit: %d bytes, %v", len(data), err)
	}
	var tl *TooLargeError
	if _, err := ReadFileLimited(path, 1023); !errors.As(err, &tl) || err.Error() != "larger than 0 KiB" {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := ReadFileLimited(filepath.Join(dir, "missing"), 10); !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), dir) {
		t.Errorf("missing: %v, want the bare errno", err)
	}
}
