package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const committedDocs = "../../docs/commands"

func TestGenDocsUpToDate(t *testing.T) {
	dir := t.TempDir()
	var errOut strings.Builder
	if code := run([]string{"-dir", dir}, &errOut); code != 0 {
		t.Fatalf("docgen: exit %d, stderr:\n%s", code, errOut.String())
	}
	want := readDocs(t, dir)
	got := readDocs(t, committedDocs)

	const stale = "docs/commands is stale: run `go run ./internal/docgen -dir docs/commands`"
	for _, name := range slices.Sorted(maps.Keys(want)) {
		have, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", stale, name)
		case !bytes.Equal(have, want[name]):
			t.Errorf("%s: %s differs", stale, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: %s is no longer generated", stale, name)
		}
	}
}

func TestGenDocsManPages(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600") // 2026-01-01
	var errOut strings.Builder
	if code := run([]string{"-man", dir}, &errOut); code != 0 {
		t.Fatalf("docgen -man: exit %d, stderr:\n%s", code, errOut.String())
	}
	page, err := os.ReadFile(filepath.Join(dir, "invicti-scim-setup.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`.TH "INVICTI-SCIM-SETUP" "1" "Jan 2026" "invicti-scim" "invicti-scim manual"`, "invicti-scim setup --sandbox"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("invicti-scim-setup.1 lacks %q:\n%.400s", want, page)
		}
	}
	if bytes.Contains(page, []byte("Auto generated")) {
		t.Errorf("invicti-scim-setup.1 carries cobra's auto-generated tag")
	}
}

func TestGenDocsNeedsADirectory(t *testing.T) {
	var errOut strings.Builder
	code := run(nil, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "-dir") {
		t.Errorf("docgen with no flags: exit %d, stderr %q; want exit 2 naming -dir", code, errOut.String())
	}
}

func readDocs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// A Windows checkout may have turned LF into CRLF; that is not staleness.
		docs[filepath.Base(p)] = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	}
	return docs
}
