package main

import (
	"strconv"
	"strings"
	"testing"
)

// terminal replays what a program wrote to a terminal of a given size and keeps what is left
// on it, scrollback included: the record a person reads after the run. The raw output (what
// record() shows) still holds every frame a form drew, so a frame that was erased or a line
// that was overwritten can only be seen here.
//
// It understands what bubbletea's renderer, the spinner and the printers send: printable
// runes (one cell each, with the pending-wrap rule of DEC autowrap: a rune written in the
// last column wraps only when the next one comes), CR, LF, BS, HT (stops every 8 columns),
// and the CSI sequences CUU (A),
// CUD (B), CUF (C), CUB (D), CHA (G), ED (J), EL (K), ECH (X) and REP (b), and RI (ESC M), as
// ECMA-48 defines them. Cursor movement up stops at the top of the screen (the scrollback is out of reach).
// Other sequences (SGR, modes, queries) change nothing on screen and are skipped.
type terminal struct {
	cols, rows int
	lines      [][]rune
	row, col   int // row counts from the first line of the scrollback
	pending    bool
	last       rune
}

func newTerminal(cols, rows int) *terminal {
	return &terminal{cols: cols, rows: rows, lines: [][]rune{nil}}
}

// top is the index of the screen's first row.
func (t *terminal) top() int { return max(0, len(t.lines)-t.rows) }

func (t *terminal) lineFeed() {
	t.row++
	for t.row >= len(t.lines) {
		t.lines = append(t.lines, nil)
	}
	t.pending = false
}

func (t *terminal) put(r rune) {
	if t.pending {
		t.col = 0
		t.lineFeed()
	}
	l := t.lines[t.row]
	for len(l) <= t.col {
		l = append(l, ' ')
	}
	l[t.col] = r
	t.lines[t.row] = l
	t.last = r
	if t.col == t.cols-1 {
		t.pending = true
	} else {
		t.col++
	}
}

func (t *terminal) eraseLine(from, to int) {
	l := t.lines[t.row]
	for i := from; i < min(to, len(l)); i++ {
		l[i] = ' '
	}
}

// write replays out.
func (t *terminal) write(out string) {
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\r':
			t.col, t.pending = 0, false
		case r == '\n':
			t.lineFeed()
		case r == '\b':
			t.col, t.pending = max(0, t.col-1), false
		case r == '\t': // to the next tab stop, every 8 columns
			t.col, t.pending = min(t.cols-1, (t.col/8+1)*8), false
		case r == 0x1b && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] < 0x40 || rs[j] > 0x7e) {
				j++
			}
			if j < len(rs) {
				t.csi(string(rs[i+2:j]), rs[j])
			}
			i = j
		case r == 0x1b && i+1 < len(rs) && rs[i+1] == ']': // OSC, up to BEL or ST
			for i < len(rs) && rs[i] != 0x07 && !(rs[i] == '\\' && rs[i-1] == 0x1b) {
				i++
			}
		case r == 0x1b && i+1 < len(rs) && rs[i+1] == 'M': // RI: up one row
			t.row, t.pending = max(t.top(), t.row-1), false
			i++
		case r == 0x1b:
			i++ // a two-character escape (charset, keypad mode)
		case r < 0x20 || r == 0x7f:
		default:
			t.put(r)
		}
	}
}

func (t *terminal) csi(params string, final rune) {
	if strings.ContainsAny(params, "?<=>$") {
		return // private modes and queries
	}
	n := 1
	if p, _, _ := strings.Cut(params, ";"); p != "" {
		if v, err := strconv.Atoi(p); err == nil {
			n = v
		}
	}
	arg0 := 0
	if params != "" {
		arg0, _ = strconv.Atoi(params)
	}
	switch final {
	case 'A':
		t.row, t.pending = max(t.top(), t.row-n), false
	case 'B':
		for range n {
			if t.row+1 >= len(t.lines) {
				break
			}
			t.row++
		}
		t.pending = false
	case 'C':
		t.col, t.pending = min(t.cols-1, t.col+n), false
	case 'D':
		t.col, t.pending = max(0, t.col-n), false
	case 'G':
		t.col, t.pending = min(t.cols-1, max(1, n)-1), false
	case 'K':
		switch arg0 {
		case 0:
			t.eraseLine(t.col, t.cols)
		case 1:
			t.eraseLine(0, t.col+1)
		case 2:
			t.eraseLine(0, t.cols)
		}
	case 'J':
		if arg0 == 0 {
			t.eraseLine(t.col, t.cols)
			for r := t.row + 1; r < len(t.lines); r++ {
				t.lines[r] = nil
			}
		}
	case 'X':
		t.eraseLine(t.col, t.col+n)
	case 'b':
		for range n {
			t.put(t.last)
		}
	}
}

// String is the scrollback and the screen, one line per row, trailing spaces and trailing
// empty rows removed.
func (t *terminal) String() string {
	out := make([]string, len(t.lines))
	for i, l := range t.lines {
		out[i] = strings.TrimRight(string(l), " ")
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

// screenRecord is what the wizard left in the terminal: its output replayed on a terminal of
// its size (40 rows, as startWizard opens it).
func (w *wizardRun) screenRecord(cols int) string {
	t := newTerminal(cols, 40)
	t.write(w.scr.String())
	return t.String()
}

// TestTerminalReplaysARedraw: the replay keeps what a redraw leaves (a frame redrawn in place,
// a line erased and written again, a row filled to the last column), the parts of the
// emulation the wizard's records rely on.
func TestTerminalReplaysARedraw(t *testing.T) {
	tm := newTerminal(10, 5)
	tm.write("before\r\n┃ Q\r\n┃ > a\r\n\nhelp")
	tm.write("\r\x1b[3A\x1b[J  Q\r\n  > b\r\n\r\n")
	tm.write("0123456789after\r\n\x1bM\x1bMx\r\n\tX")
	want := "before\n  Q\n  > b\n\nx123456789\nafter   X\n"
	if got := tm.String(); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}
