package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCheckOutputFile(t *testing.T) {
	dir := t.TempDir()
	ours := func(head []byte) bool { return bytes.HasPrefix(head, []byte("# ours")) }
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"new file", filepath.Join(dir, "new.env"), ""},
		{"empty file", write("empty.env", ""), ""},
		{"our file", write("ours.env", "# ours\nA=1\n"), ""},
		{"someone else's", write("keep.csv", "upn\nalice@contoso.example\n"), "the file exists and is not a sandbox env file; name a new file, or remove this one first"},
		{"no such directory", filepath.Join(dir, "nope", "x.env"), "the directory " + filepath.Join(dir, "nope") + " does not exist"},
		{"a directory", dir, "is a directory; name a file"},
	} {
		err := CheckOutputFile(tc.path, "a sandbox env file", ours)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	var notOurs *NotOursError
	if err := CheckOutputFile(filepath.Join(dir, "keep.csv"), "x", ours); !errors.As(err, &notOurs) {
		t.Errorf("someone else's file: %v, want *NotOursError", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "keep.csv")); !strings.HasPrefix(string(b), "upn") {
		t.Errorf("the check changed the file: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("the check left files behind: %v", entries)
	}
	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		if err := CheckOutputFile(filepath.Join(ro, "x.env"), "x", ours); err == nil || !strings.Contains(err.Error(), "cannot create a file in") {
			t.Errorf("read-only directory: %v", err)
		}
	}
}
