package ui

import (
	"strings"
	"testing"

	"charm.land/lipgloss/v2"

	"github.com/invicti-scim/invicti-scim/internal/iostreams"
)

// columnAt is the display cell where sub starts in line.
func columnAt(t *testing.T, line, sub string) int {
	t.Helper()
	i := strings.Index(line, sub)
	if i < 0 {
		t.Fatalf("%q not in %q", sub, line)
	}
	return lipgloss.Width(line[:i])
}

// Wide characters (two cells each) and combining marks keep the columns aligned: widths are
// display cells, not bytes or runes.
func TestTableAlignsByDisplayCells(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	p := Out(ios)
	p.Table([]string{"USER", "STATUS"}, [][]string{
		{"名前太郎", "ok"},
		{"zoe\u0301", "failed"},
		{"ab", "skipped"},
	})
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("lines %q", lines)
	}
	want := columnAt(t, lines[0], "STATUS")
	for i, status := range []string{"ok", "failed", "skipped"} {
		if got := columnAt(t, lines[i+1], status); got != want {
			t.Errorf("row %d: %q starts at cell %d, want %d\n%s", i, status, got, want, out)
		}
	}
}

// The last column is cut to the terminal width in cells, never past it, even when it is made
// of wide characters.
func TestTableCutsLastColumnToWidth(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	p := Out(ios)
	p.Width = 30
	p.Table([]string{"A", "REASON"}, [][]string{{"x", strings.Repeat("理由", 40)}})
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if w := lipgloss.Width(l); w > p.Width {
			t.Errorf("%d cells > %d: %q", w, p.Width, l)
		}
	}
	if !strings.Contains(out.String(), "…") {
		t.Errorf("the cut is not marked: %q", out)
	}
}

func TestKVAlignsByDisplayCells(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	Out(ios).KV([][2]string{{"Größe", "1"}, {"名前", "2"}, {"ab", "3"}})
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	want := columnAt(t, lines[0], "1")
	for i, v := range []string{"2", "3"} {
		if got := columnAt(t, lines[i+1], v); got != want {
			t.Errorf("%q starts at cell %d, want %d\n%s", v, got, want, out)
		}
	}
}
