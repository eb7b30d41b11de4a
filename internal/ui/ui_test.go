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

// On a terminal a checklist line longer than the width wraps between words, continuation lines
// indented under the title; piped (for grep) it stays one line.
func TestCheckWrapsOnATerminalOnly(t *testing.T) {
	title := "Save the provisioning settings (Tenant URL, Token Endpoint, client id and secret)"
	for _, terminal := range []bool{true, false} {
		var b strings.Builder
		p := &Printer{W: &b, T: newTheme(false), Width: 40, Terminal: terminal}
		p.Check(SymOK, title, "saved")
		lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		if !terminal {
			if len(lines) != 1 {
				t.Errorf("piped: %q, want one line", lines)
			}
			continue
		}
		if len(lines) < 2 {
			t.Fatalf("terminal: %q, want it wrapped", lines)
		}
		for i, l := range lines {
			if lipgloss.Width(l) > 40 {
				t.Errorf("line %d is %d cells: %q", i, lipgloss.Width(l), l)
			}
			if i > 0 && !strings.HasPrefix(l, "  ") {
				t.Errorf("line %d not indented: %q", i, l)
			}
		}
		words := strings.Fields(strings.Join(lines, " "))
		if got := strings.Join(words, " "); got != SymOK+" "+title+" — saved" {
			t.Errorf("a word was cut: %q", got)
		}
	}
}
