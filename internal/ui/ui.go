// Package ui renders human output: checklists, tables, panels and spinners, styled with
// lipgloss when the stream allows colour. It decides colour once, from iostreams, never from
// the process environment, and it is the only package besides the wizard that imports lipgloss.
package ui

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/invicti-scim/invicti-scim/internal/iostreams"
	"github.com/invicti-scim/invicti-scim/internal/safetext"
)

// Theme is the handful of styles the tool uses.
type Theme struct {
	OK, Warn, Err, Muted, Heading, Key, Border lipgloss.Style
	color                                      bool
}

func newTheme(color bool) Theme {
	if !color {
		p := lipgloss.NewStyle()
		return Theme{OK: p, Warn: p, Err: p, Muted: p, Heading: p, Key: p, Border: p}
	}
	return Theme{
		OK:      lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		Warn:    lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
		Err:     lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		Muted:   lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		Heading: lipgloss.NewStyle().Bold(true),
		Key:     lipgloss.NewStyle().Foreground(lipgloss.Color("6")),
		Border:  lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		color:   true,
	}
}

// Printer writes styled text to one stream. Every string it is given passes R (redaction and
// control-character escaping) before styling, so outside text cannot reach the terminal raw.
type Printer struct {
	W     io.Writer
	T     Theme
	Width int
	R     *safetext.Redactor
	// Terminal says W is a terminal: lines longer than Width are then wrapped at spaces by
	// Wrap (the terminal itself would cut them mid-word); piped, each stays one line for grep.
	Terminal bool
}

// Out is a printer for stdout (data).
func Out(ios *iostreams.IOStreams) *Printer {
	// Piped output is data: tables keep whole cells instead of cutting them to a width.
	w := 0
	if ios.IsStdoutTTY() {
		w = ios.Width()
	}
	return &Printer{W: ios.Out, T: newTheme(ios.ColorEnabled(false)), Width: w, R: ios.Redactor, Terminal: ios.IsStdoutTTY()}
}

// Err is a printer for stderr (progress, prompts, errors).
func Err(ios *iostreams.IOStreams) *Printer {
	return &Printer{W: ios.ErrOut, T: newTheme(ios.ColorEnabled(true)), Width: ios.Width(), R: ios.Redactor, Terminal: ios.IsStderrTTY()}
}

// Symbols; plain ASCII fallbacks keep TERM=dumb and screen readers readable.
const (
	SymOK   = "✓"
	SymFail = "✗"
	SymWarn = "!"
	SymSkip = "-"
	SymPlan = "+"
)

// text sanitises multi-line text (newlines and tabs kept).
func (p *Printer) text(s string) string { return p.R.Text(s) }

// line sanitises one field (every control character escaped).
func (p *Printer) line(s string) string { return p.R.Line(s) }

// Println prints a line.
func (p *Printer) Println(a ...any) { fmt.Fprint(p.W, p.text(fmt.Sprintln(a...))) }

// Paragraph prints s word-wrapped to the printer's width on a terminal, every line after the
// first indented by hang: prose pre-wrapped at 80 columns breaks mid-word on a narrower
// terminal. Piped, s stays one line (see Wrap).
func (p *Printer) Paragraph(hang, s string) {
	fmt.Fprintln(p.W, p.Wrap(p.line(s), hang))
}

// Wrap is the one wrapping rule for human output: on a terminal of known width, s is broken
// at spaces only (never at a hyphen, so ids and paths stay whole and copyable), a word longer
// than the line is kept whole, widths are counted in cells with ANSI styling ignored, and
// every continuation line starts with hang (spaces putting it under its text). Each line of a
// multi-line s is wrapped on its own. Piped (or with no usable width) s is returned as it is,
// so each item stays one line for grep. s must already be sanitised.
func (p *Printer) Wrap(s, hang string) string {
	if !p.Terminal || p.Width <= ansi.StringWidth(hang)+10 {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = wrapLine(l, p.Width, hang)
	}
	return strings.Join(lines, "\n")
}

// wrapLine breaks one line at spaces so that no line is wider than width cells unless one word
// alone is (a URL, then kept whole); runs of spaces inside a line (alignment) are kept.
func wrapLine(l string, width int, hang string) string {
	if ansi.StringWidth(l) <= width {
		return l
	}
	words := strings.Split(l, " ")
	var out []string
	cur := words[0]
	curW := ansi.StringWidth(cur)
	hangW := ansi.StringWidth(hang)
	for _, w := range words[1:] {
		ww := ansi.StringWidth(w)
		// A word that would not fit on a line of its own either stays where it is: moving it
		// would only add a line (the terminal folds it wherever it starts).
		if ww > 0 && curW+1+ww > width && hangW+ww <= width && strings.TrimSpace(ansi.Strip(cur)) != "" {
			out = append(out, strings.TrimRight(cur, " "))
			cur, curW = hang+w, hangW+ww
			continue
		}
		cur += " " + w
		curW += 1 + ww
	}
	return strings.Join(carryStyles(append(out, cur), hang), "\n")
}

// carryStyles ends the styling (SGR escape sequences) still open at the end of each wrapped
// line with a reset and opens it again after the next line's hang, so that no style spans a
// newline: a pager, a log or a terminal that redraws a line then shows each line as styled.
func carryStyles(lines []string, hang string) []string {
	open := ""
	for i, l := range lines {
		if open != "" {
			lines[i] = hang + open + strings.TrimPrefix(l, hang)
		}
		for rest := l; ; {
			j := strings.Index(rest, "\x1b[")
			if j < 0 {
				break
			}
			k := strings.IndexByte(rest[j:], 'm')
			if k < 0 {
				break
			}
			seq := rest[j : j+k+1]
			if seq == "\x1b[m" || seq == "\x1b[0m" {
				open = ""
			} else if !strings.ContainsAny(seq[2:len(seq)-1], "ABCDEFGHJKSTfhlnsu") {
				open += seq
			}
			rest = rest[j+k+1:]
		}
		if open != "" && i < len(lines)-1 {
			lines[i] += "\x1b[m"
		}
	}
	return lines
}

// WrapHelp wraps a command's help text (its description) with the one wrap rule (Wrap), each
// line continuing where its text starts: a line that starts with spaces keeps its indent; a
// list item ("  1. ", "  - ") continues under the item's text; an indented two-column line
// ("  NAME   description", two or more spaces between the columns) continues under the
// description, or its indent plus two when that column leaves too little room; a comment
// ("  # …") continues as a comment. A command (an indented line starting "invicti-scim ", a
// line starting "$ ", and the line after one ending in a backslash) and an indented JSON
// example ("  {…") are kept whole, so that they still work when copied. Text laid out by hand for a wider terminal is first joined back
// into one line per paragraph or item (a plain line that starts where the line before it
// continues), so that it does not wrap raggedly. Piped, s is returned as it is. s is the
// tool's own text, not sanitised here.
func (p *Printer) WrapHelp(s string) string { return p.wrapHelp(s, false) }

// WrapExamples is WrapHelp for an Examples block: every line is a command to copy and is kept
// whole except comment lines ("  # …"), which wrap as comments; nothing is joined.
func (p *Printer) WrapExamples(s string) string { return p.wrapHelp(s, true) }

func (p *Printer) wrapHelp(s string, examples bool) string {
	if !p.Terminal || p.Width <= 0 {
		return s
	}
	// kind is helpHang, except that in an Examples block every line but a comment is a command.
	kind := func(l string) (hang string, command bool) {
		hang, command = helpHang(l, p.Width)
		if examples {
			command = !strings.HasPrefix(strings.TrimLeft(l, " "), "#")
		}
		return hang, command
	}
	var out []string
	// prevHang is where the last line of out continues; joinable says the next plain line
	// starting there belongs to it.
	prevHang, joinable, continued := "", false, false
	for _, l := range strings.Split(s, "\n") {
		hang, command := kind(l)
		command = command || continued
		continued = command && strings.HasSuffix(l, "\\")
		indent := leadingSpaces(l)
		plain := !command && hang == indent && strings.TrimSpace(l) != ""
		if !examples && joinable && plain && indent == prevHang {
			out[len(out)-1] += " " + l[len(indent):]
		} else {
			out = append(out, l)
			prevHang = hang
		}
		joinable = !command && strings.TrimSpace(l) != ""
	}
	for i, l := range out {
		hang, command := kind(l)
		if !command && (i == 0 || !strings.HasSuffix(out[i-1], "\\")) {
			out[i] = wrapLine(l, p.Width, hang)
		}
	}
	return strings.Join(out, "\n")
}

// helpHang is the continuation indent of one help line on a terminal width cells wide, and
// whether the line is a command to keep whole.
func helpHang(l string, width int) (hang string, command bool) {
	indent := leadingSpaces(l)
	rest := l[len(indent):]
	if indent != "" && (rest == "invicti-scim" || strings.HasPrefix(rest, "invicti-scim ") || strings.HasPrefix(rest, "{")) ||
		strings.HasPrefix(rest, "$ ") {
		return indent, true
	}
	if strings.HasPrefix(rest, "# ") {
		return indent + "# ", false
	}
	if m := listMarker(rest); m > 0 {
		return indent + strings.Repeat(" ", m), false
	}
	if indent != "" {
		if j := strings.Index(rest, "  "); j > 0 {
			k := j + len(leadingSpaces(rest[j:]))
			if k < len(rest) {
				if col := ansi.StringWidth(l[:len(indent)+k]); col+20 <= width {
					return strings.Repeat(" ", col), false
				}
				return indent + "  ", false
			}
		}
	}
	return indent, false
}

// listMarker is the length of a list item's marker at the start of s ("- ", "* ", "12. "),
// 0 when s is not a list item.
func listMarker(s string) int {
	if strings.HasPrefix(s, "- ") || strings.HasPrefix(s, "* ") {
		return 2
	}
	d := 0
	for d < len(s) && s[d] >= '0' && s[d] <= '9' {
		d++
	}
	if d > 0 && d <= 3 && strings.HasPrefix(s[d:], ". ") {
		return d + 2
	}
	return 0
}

// Printf prints formatted text.
func (p *Printer) Printf(format string, a ...any) { fmt.Fprint(p.W, p.text(fmt.Sprintf(format, a...))) }

// Heading prints a bold heading line.
func (p *Printer) Heading(s string) {
	// Styled before it is wrapped, so that each line carries its own style (carryStyles)
	// instead of lipgloss padding a styled block to its widest line.
	fmt.Fprintln(p.W, p.Wrap(p.T.Heading.Render(p.line(s)), ""))
}

// Check prints one checklist line: symbol, title, and a muted detail.
func (p *Printer) Check(sym, title, detail string) {
	style := p.T.OK
	switch sym {
	case SymFail:
		style = p.T.Err
	case SymWarn:
		style = p.T.Warn
	case SymSkip, SymPlan:
		style = p.T.Muted
	}
	line := style.Render(sym) + " " + p.line(title)
	if detail != "" {
		line += p.T.Muted.Render(" — " + p.line(detail))
	}
	// Continuation lines start under the title.
	fmt.Fprintln(p.W, p.Wrap(line, "  "))
}

// Errorf prints an error line.
// On a terminal the message wraps between words, continuation lines under the message (the
// one wrap rule, Wrap); piped it stays one line for grep.
func (p *Printer) Errorf(format string, a ...any) {
	fmt.Fprintln(p.W, p.Wrap(p.T.Err.Render("error:")+" "+p.text(fmt.Sprintf(format, a...)), "       "))
}

// Fix prints "fix: s" under a failed check, indent spaces in, wrapped as Errorf's with
// continuation lines under the text.
func (p *Printer) Fix(indent int, s string) {
	lead := strings.Repeat(" ", indent) + "fix: "
	fmt.Fprintln(p.W, p.Wrap(lead+p.text(s), strings.Repeat(" ", len(lead))))
}

// Hint prints a hint line under an error, wrapped as Errorf's.
func (p *Printer) Hint(s string) {
	fmt.Fprintln(p.W, p.Wrap(p.T.Warn.Render("hint:")+" "+p.text(s), "      "))
}

// KV prints aligned key/value lines.
func (p *Printer) KV(rows [][2]string) {
	rows = slices.Clone(rows)
	for i := range rows {
		rows[i] = [2]string{p.line(rows[i][0]), p.line(rows[i][1])}
	}
	// Keys are aligned by display cells, not bytes: a key with "ü" or "名" still lines up.
	w := 0
	for _, r := range rows {
		w = max(w, lipgloss.Width(r[0]))
	}
	// A long value continues under the value column.
	hang := strings.Repeat(" ", 2+w+2)
	for _, r := range rows {
		fmt.Fprintln(p.W, p.Wrap("  "+p.T.Key.Render(r[0])+strings.Repeat(" ", w-lipgloss.Width(r[0]))+"  "+r[1], hang))
	}
}

// KVWhole prints key/value lines as KV does, except that on a terminal a value holding a word
// too wide for the value column (a job id, a URL) starts on a line of its own under its key,
// four spaces in, so that the terminal does not fold that word mid-token and it stays
// copyable; Wrap still breaks the value only at spaces. Piped, it prints what KV prints.
func (p *Printer) KVWhole(rows [][2]string) {
	w := 0
	for _, r := range rows {
		w = max(w, lipgloss.Width(p.line(r[0])))
	}
	col := p.Width - (2 + w + 2)
	var run [][2]string
	for _, r := range rows {
		if !p.Terminal || p.Width <= 0 || widestWord(p.line(r[1])) <= col {
			run = append(run, r)
			continue
		}
		p.kv(run, w)
		run = nil
		fmt.Fprintln(p.W, "  "+p.T.Key.Render(p.line(r[0])))
		fmt.Fprintln(p.W, p.Wrap("    "+p.line(r[1]), "    "))
	}
	p.kv(run, w)
}

// kv prints rows as KV does with the key column w cells wide.
func (p *Printer) kv(rows [][2]string, w int) {
	hang := strings.Repeat(" ", 2+w+2)
	for _, r := range rows {
		k, v := p.line(r[0]), p.line(r[1])
		fmt.Fprintln(p.W, p.Wrap("  "+p.T.Key.Render(k)+strings.Repeat(" ", w-lipgloss.Width(k))+"  "+v, hang))
	}
}

// widestWord is the width in cells of s's widest space-separated word.
func widestWord(s string) int {
	n := 0
	for _, f := range strings.Split(s, " ") {
		n = max(n, ansi.StringWidth(f))
	}
	return n
}

// Numbered prints a numbered list ("  1. item"), each item wrapped with its continuation lines
// under the item's text. A newline in an item starts a line of its own (a command to copy),
// which keeps its leading spaces.
func (p *Printer) Numbered(items []string) {
	for i, it := range items {
		lead := fmt.Sprintf("  %d. ", i+1)
		hang := strings.Repeat(" ", len(lead))
		parts := strings.Split(it, "\n")
		for j := range parts {
			parts[j] = p.line(parts[j])
		}
		fmt.Fprintln(p.W, p.Wrap(lead+strings.Join(parts, "\n"), hang))
	}
}

// Table prints rows under a header with columns padded to fit. On a terminal too narrow for
// every column but the last, with room for at least 10 cells of the last (which is cut to fit),
// each row is printed as a record instead: its first cell on a line, then the other columns
// as "  HEADER  value" lines wrapped to the width. A pipe always gets the one-line rows.
func (p *Printer) Table(header []string, rows [][]string) {
	header = p.cells(header)
	clean := make([][]string, len(rows))
	for i, r := range rows {
		clean[i] = p.cells(r)
	}
	rows = clean
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = lipgloss.Width(h)
	}
	for _, r := range rows {
		for i := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], lipgloss.Width(r[i]))
			}
		}
	}
	// The last column takes what is left of the width and is cut, so rows stay one line.
	used := 0
	for i := 0; i < len(widths)-1; i++ {
		used += widths[i] + 2
	}
	last := len(widths) - 1
	if p.Terminal && p.Width > 0 && last > 0 && used+min(widths[last], 10) > p.Width {
		p.records(header, rows)
		return
	}
	if last >= 0 && p.Width > 0 && used+widths[last] > p.Width && p.Width-used > 10 {
		widths[last] = p.Width - used
	}
	line := func(cells []string, style lipgloss.Style) {
		var b strings.Builder
		for i, c := range cells {
			if i >= len(widths) {
				break
			}
			if lipgloss.Width(c) > widths[i] {
				c = truncate(c, widths[i])
			}
			pad := widths[i] - lipgloss.Width(c)
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", pad+2))
			}
		}
		fmt.Fprintln(p.W, style.Render(strings.TrimRight(b.String(), " ")))
	}
	line(header, p.T.Heading)
	for _, r := range rows {
		line(r, lipgloss.NewStyle())
	}
}

// records is Table for a narrow terminal: cells are already sanitised.
func (p *Printer) records(header []string, rows [][]string) {
	w := 0
	for _, h := range header[1:] {
		w = max(w, lipgloss.Width(h))
	}
	hang := strings.Repeat(" ", 2+w+2)
	for _, r := range rows {
		if len(r) == 0 {
			continue
		}
		fmt.Fprintln(p.W, p.T.Heading.Render(r[0]))
		for i := 1; i < len(r) && i < len(header); i++ {
			if r[i] == "" {
				continue
			}
			key := header[i] + strings.Repeat(" ", w-lipgloss.Width(header[i]))
			fmt.Fprintln(p.W, p.Wrap("  "+key+"  "+r[i], hang))
		}
	}
}

func (p *Printer) cells(r []string) []string {
	out := make([]string, len(r))
	for i, c := range r {
		out[i] = p.line(c)
	}
	return out
}

// truncate cuts s to at most w terminal cells (as lipgloss.Width counts them: wide East Asian
// characters and emoji take two), ending in "…". Below 2 cells there is no room to cut.
func truncate(s string, w int) string {
	if w < 2 || lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// Panel prints a titled, bordered block (rounded border with colour; plain indentation
// without). Lines are wrapped at spaces to fit inside the border, continuing under their own
// indentation; when a word is too long for the box (an id on a narrow terminal) the block is
// printed plain instead, because a border would cut it.
func (p *Printer) Panel(title string, lines []string) {
	title, lines = p.line(title), p.cells(lines)
	if p.T.color {
		inner := p.Width - 4 // two border cells and one cell of padding each side
		body := []string{p.T.Heading.Render(title)}
		fits := true
		for _, l := range lines {
			if p.Width > 0 {
				l = wrapLine(l, inner, leadingSpaces(l)+"  ")
			}
			for _, part := range strings.Split(l, "\n") {
				fits = fits && (p.Width <= 0 || ansi.StringWidth(part) <= inner)
			}
			body = append(body, l)
		}
		fits = fits && (p.Width <= 0 || ansi.StringWidth(title) <= inner)
		if fits {
			box := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("8")).Padding(0, 1)
			fmt.Fprintln(p.W, box.Render(strings.Join(body, "\n")))
			return
		}
	}
	fmt.Fprintln(p.W, p.Wrap(title, "  "))
	for _, l := range lines {
		fmt.Fprintln(p.W, p.Wrap("  "+l, "  "+leadingSpaces(l)+"  "))
	}
}

// leadingSpaces is the run of spaces s starts with.
func leadingSpaces(s string) string { return s[:len(s)-len(strings.TrimLeft(s, " "))] }

// Spinner shows a moving indicator with a message on a terminal; elsewhere it prints the
// message once per change, so logs stay readable.
type Spinner struct {
	w       io.Writer
	r       *safetext.Redactor
	animate bool
	// plain clears the line with spaces instead of an escape sequence (NO_COLOR, TERM=dumb).
	plain bool
	drawn int
	mu    sync.Mutex
	msg   string
	stop  chan struct{}
	done  chan struct{}
	last  string
	width func() int // terminal columns, to keep the spinner on one line
}

// NewSpinner makes a spinner writing to stderr; it animates only when ios allows.
func NewSpinner(ios *iostreams.IOStreams) *Spinner {
	return &Spinner{w: ios.ErrOut, r: ios.Redactor, animate: ios.Animate(), plain: !ios.ColorEnabled(true), width: ios.Width}
}

// Animated reports whether the spinner draws on a terminal.
func (s *Spinner) Animated() bool { return s.animate }

// Set changes the message, starting the spinner if needed.
func (s *Spinner) Set(msg string) {
	msg = s.r.Line(msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msg = msg
	if !s.animate {
		if msg != s.last {
			fmt.Fprintln(s.w, "… "+msg)
			s.last = msg
		}
		return
	}
	if s.stop == nil {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.loop(s.stop, s.done)
	}
}

func (s *Spinner) loop(stop, done chan struct{}) {
	defer close(done)
	frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		s.mu.Lock()
		s.clear()
		// One line only: clearing reaches the last row of a wrapped line, so a message wider
		// than the terminal would leave a row behind on every frame.
		msg := s.msg
		if s.width != nil {
			msg = truncate(msg, s.width()-3)
		}
		frame := frames[i%len(frames)] + " " + msg
		fmt.Fprint(s.w, frame)
		s.drawn = utf8.RuneCountInString(frame)
		s.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// Stop clears the spinner line.
func (s *Spinner) Stop() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop, s.done = nil, nil
	s.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
		s.mu.Lock()
		s.clear()
		s.mu.Unlock()
	}
}

// clear blanks the spinner's line (caller holds s.mu).
func (s *Spinner) clear() {
	if s.plain {
		fmt.Fprint(s.w, "\r"+strings.Repeat(" ", s.drawn)+"\r")
	} else {
		fmt.Fprint(s.w, "\r\x1b[K")
	}
	s.drawn = 0
}
