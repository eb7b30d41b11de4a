package ui

import (
	"strings"
	"testing"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/invicti-scim/invicti-scim/internal/iostreams"
	"github.com/invicti-scim/invicti-scim/internal/safetext"
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

// checkWrapped fails when a line of out is wider than width although its last word would fit on
// a line of its own (a longer word is kept whole where it is), when a
// continuation line does not start with hang, or when the words of out are not exactly want's
// (a word cut, at a hyphen or mid-word, or lost).
func checkWrapped(t *testing.T, out string, width int, hang, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(ansi.Strip(out), "\n"), "\n")
	if len(lines) < 2 {
		t.Errorf("not wrapped at %d: %q", width, lines)
	}
	for i, l := range lines {
		fields := strings.Fields(l)
		if w := lipgloss.Width(l); w > width && len(fields) > 1 && len(hang)+lipgloss.Width(fields[len(fields)-1]) <= width {
			t.Errorf("line %d is %d cells > %d: %q", i, w, width, l)
		}
		if i > 0 && !strings.HasPrefix(l, hang) {
			t.Errorf("line %d not under its text (%q): %q", i, hang, l)
		}
	}
	if got := strings.Join(strings.Fields(strings.Join(lines, " ")), " "); got != strings.Join(strings.Fields(want), " ") {
		t.Errorf("words changed:\n got %q\nwant %q", got, want)
	}
}

// Ids and paths users copy have hyphens; the wrap breaks at spaces only, and a word longer
// than the line is kept whole.
func TestWrapBreaksAtSpacesOnly(t *testing.T) {
	text := "Saved to /tmp/invicti-scim-sandbox-config-1065373252/state.json for app 66e7d05a-2ad5-41a8-b482-ba91812dfeeb (every run)"
	var b strings.Builder
	p := &Printer{W: &b, T: newTheme(true), Width: 30, Terminal: true}
	p.Paragraph("  ", text)
	checkWrapped(t, b.String(), 30, "  ", text)
	for _, id := range []string{"/tmp/invicti-scim-sandbox-config-1065373252/state.json", "66e7d05a-2ad5-41a8-b482-ba91812dfeeb"} {
		if !strings.Contains(b.String(), id) {
			t.Errorf("%s was split:\n%s", id, b.String())
		}
	}
}

// Headings, KV values and numbered lists wrap by the same rule on a terminal, continuing under
// their text; piped, every item is one line.
func TestWrapEverywhereOnATerminalOnly(t *testing.T) {
	long := "Entra's first provisioning cycle starts within 20–40 minutes (Users, teams & roles → Manage teams) every time"
	for _, terminal := range []bool{true, false} {
		var b strings.Builder
		p := &Printer{W: &b, T: newTheme(true), Width: 50, Terminal: terminal}
		p.Heading(long)
		p.KV([][2]string{{"SSO cert", long}})
		p.Numbered([]string{long, "second\n       invicti-scim status"})
		p.Check(SymOK, "Provisioning now: dave@contoso.example, erin@contoso.example, frank@contoso.example", "")
		out := ansi.Strip(b.String())
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if !terminal {
			if len(lines) != 6 { // one per item, and the command's own line
				t.Errorf("piped: %d lines, want 6 (one per item):\n%s", len(lines), out)
			}
			continue
		}
		var buf strings.Builder
		p2 := &Printer{W: &buf, T: newTheme(true), Width: 50, Terminal: true}
		p2.Heading(long)
		checkWrapped(t, buf.String(), 50, "", long)
		buf.Reset()
		p2.KV([][2]string{{"SSO cert", long}})
		checkWrapped(t, buf.String(), 50, strings.Repeat(" ", 2+8+2), "SSO cert "+long)
		buf.Reset()
		p2.Numbered([]string{long})
		checkWrapped(t, buf.String(), 50, "     ", "1. "+long)
		buf.Reset()
		p2.Numbered([]string{"a", "b\n       invicti-scim status"})
		if !strings.Contains(buf.String(), "  2. b\n       invicti-scim status\n") {
			t.Errorf("a command line in an item lost its place:\n%s", buf.String())
		}
	}
}

// A panel's lines wrap inside the border at 80 and 60 columns: nothing is cut, and every line
// of the box keeps its right border.
func TestPanelWrapsInsideTheBorder(t *testing.T) {
	lines := []string{
		`Claims-mapping policy "Invicti SSO claims" (id 65344d22-5521-4b8e-9c4e-0c3a1f7d2e11), made by sso --claims`,
		`Enterprise app "Invicti Platform" (appId 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0)`,
		"  service principal 66e7d05a-2ad5-41a8-b482-ba91812dfeeb, its provisioning job, saved credentials and assignments",
	}
	for _, width := range []int{80, 60} {
		var b strings.Builder
		p := &Printer{W: &b, T: newTheme(true), Width: width, Terminal: true}
		p.Panel("Will delete", lines)
		out := ansi.Strip(b.String())
		rows := strings.Split(strings.TrimRight(out, "\n"), "\n")
		for i, r := range rows {
			if w := lipgloss.Width(r); w > width {
				t.Errorf("%d cols: row %d is %d cells: %q", width, i, w, r)
			}
			if !strings.HasSuffix(r, "│") && !strings.HasSuffix(r, "╮") && !strings.HasSuffix(r, "╯") {
				t.Errorf("%d cols: row %d has no right border: %q", width, i, r)
			}
		}
		var words []string
		for _, r := range rows {
			words = append(words, strings.Fields(strings.Trim(r, "│╭╮╰╯─ "))...)
		}
		want := strings.Fields("Will delete " + strings.Join(lines, " "))
		if strings.Join(words, " ") != strings.Join(want, " ") {
			t.Errorf("%d cols: text lost:\n%s", width, out)
		}
	}
}

// A table whose columns before the last do not fit a terminal (doctor's permission table at 80
// columns was 150 wide, and the terminal folded it mid-word) is printed as records, each line
// within the width; piped it keeps one line per row for grep.
func TestTableTooWideBecomesRecords(t *testing.T) {
	header := []string{"COMMAND", "NEEDS", "TOKEN"}
	rows := [][]string{
		{"assign", "AppRoleAssignment.ReadWrite.All, User.Read.All, GroupMember.Read.All", "ok"},
		{"sso --claims (optional)", "Policy.ReadWrite.ApplicationConfiguration, Policy.Read.All", "missing Policy.Read.All"},
	}
	var b strings.Builder
	p := &Printer{W: &b, T: newTheme(false), Width: 60, Terminal: true}
	p.Table(header, rows)
	want := "assign\n" +
		"  NEEDS  AppRoleAssignment.ReadWrite.All, User.Read.All,\n" +
		"         GroupMember.Read.All\n" +
		"  TOKEN  ok\n" +
		"sso --claims (optional)\n" +
		"  NEEDS  Policy.ReadWrite.ApplicationConfiguration,\n" +
		"         Policy.Read.All\n" +
		"  TOKEN  missing Policy.Read.All\n"
	if b.String() != want {
		t.Errorf("records:\n%s\nwant\n%s", b.String(), want)
	}
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		if w := lipgloss.Width(l); w > p.Width {
			t.Errorf("%d cells > %d: %q", w, p.Width, l)
		}
	}

	b.Reset()
	p.Terminal = false
	p.Table(header, rows)
	if n := strings.Count(b.String(), "\n"); n != 3 {
		t.Errorf("piped: %d lines, want a header and two rows:\n%s", n, b.String())
	}
	// A table that fits stays a table.
	b.Reset()
	p.Terminal = true
	p.Table([]string{"A", "B"}, [][]string{{"x", "y"}})
	if b.String() != "A  B\nx  y\n" {
		t.Errorf("narrow table: %q", b.String())
	}
}

// Error and hint lines wrap on a terminal, continuation lines under the message; piped they
// stay one line each.
func TestErrorAndHintWrapOnATerminalOnly(t *testing.T) {
	msg := "--user \"Alice Smith\": not a user principal name, mail or object id (none has spaces)"
	for _, terminal := range []bool{true, false} {
		var b strings.Builder
		p := &Printer{W: &b, T: newTheme(false), Width: 40, Terminal: terminal}
		p.Errorf("%s", msg)
		p.Hint("name the user as alice@contoso.com or by object id")
		lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		if !terminal {
			if len(lines) != 2 {
				t.Errorf("piped: %q", lines)
			}
			continue
		}
		if !strings.HasPrefix(lines[0], "error: --user") || len(lines) < 4 {
			t.Fatalf("terminal: %q", lines)
		}
		for _, l := range lines {
			if w := lipgloss.Width(l); w > 40 {
				t.Errorf("%d cells > 40: %q", w, l)
			}
		}
		if !strings.HasPrefix(lines[1], "       ") || strings.HasPrefix(lines[1], "        ") {
			t.Errorf("continuation not under the message: %q", lines[1])
		}
		joined := strings.Join(strings.Fields(b.String()), " ")
		if !strings.Contains(joined, msg) {
			t.Errorf("words lost: %q", joined)
		}
	}
}

// TestKVWholeKeepsLongValuesWhole: at 80 columns a value holding a word too wide for the value
// column (a token URL) goes on a line of its own under its key, whole, so the terminal does
// not fold it; a value of short words wraps under the value column; piped, KVWhole is KV.
func TestKVWholeKeepsLongValuesWhole(t *testing.T) {
	url := "http://127.0.0.1:40231/oauth/token?audience=http://127.0.0.1:40231/api"
	rows := [][2]string{
		{"Enterprise app", "Invicti Platform (appId 66e7d05a-2ad5-41a8-b482-ba91812dfeeb)"},
		{"Token Endpoint", url},
		{"Invicti client id", "scim-client-1"},
	}
	var b strings.Builder
	p := &Printer{W: &b, T: newTheme(false), Width: 80, Terminal: true, R: &safetext.Redactor{}}
	p.KVWhole(rows)
	got := b.String()
	if !strings.Contains(got, "  Token Endpoint\n    "+url+"\n") {
		t.Errorf("the URL is not on a line of its own:\n%s", got)
	}
	for _, l := range strings.Split(strings.TrimRight(got, "\n"), "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("line of %d cells: %q", n, l)
		}
	}
	if !strings.Contains(got, "  Invicti client id  scim-client-1\n") {
		t.Errorf("short values lost their column:\n%s", got)
	}
	var piped, kv strings.Builder
	(&Printer{W: &piped, T: newTheme(false), R: &safetext.Redactor{}}).KVWhole(rows)
	(&Printer{W: &kv, T: newTheme(false), R: &safetext.Redactor{}}).KV(rows)
	if piped.String() != kv.String() {
		t.Errorf("piped KVWhole\n%s\nwant KV's\n%s", piped.String(), kv.String())
	}
}

// Help text laid out by hand for a wide terminal wraps on a narrow one between words, each
// line continuing where its text starts; commands stay whole; piped it is unchanged.
func TestWrapHelp(t *testing.T) {
	help := "invicti-scim creates and configures the Microsoft Entra ID enterprise app that provisions\n" +
		"users and teams into Invicti Platform.\n" +
		"\n" +
		"  1. check the Invicti credentials directly (exit 3 before any Graph write if they fail)\n" +
		"  2. find the app it made (state file, then its invicti-scim tag) or create it from the\n" +
		"     non-gallery template\n" +
		"\n" +
		"Environment:\n" +
		"  INVICTI_SCIM_INVICTI_URL       Invicti base URL for on-premises or private tenants (--invicti-url)\n" +
		"  INVICTI_SCIM_CONFIG_DIR        where state lives (--config-dir)\n" +
		"  # a comment that is long enough to wrap at forty columns\n" +
		"  invicti-scim setup --region eu --client-id abc123 --client-secret-file secret.txt \\\n" +
		"      --assign-group \"Invicti Users\" --provision-now -o json"
	p := &Printer{Width: 40, Terminal: true}
	want := "invicti-scim creates and configures the\n" +
		"Microsoft Entra ID enterprise app that\n" +
		"provisions users and teams into Invicti\n" +
		"Platform.\n" +
		"\n" +
		"  1. check the Invicti credentials\n" +
		"     directly (exit 3 before any Graph\n" +
		"     write if they fail)\n" +
		"  2. find the app it made (state file,\n" +
		"     then its invicti-scim tag) or\n" +
		"     create it from the non-gallery\n" +
		"     template\n" +
		"\n" +
		"Environment:\n" +
		"  INVICTI_SCIM_INVICTI_URL       Invicti base URL for on-premises or private tenants (--invicti-url)\n" +
		"  INVICTI_SCIM_CONFIG_DIR        where state lives (--config-dir)\n" +
		"  # a comment that is long enough to\n" +
		"  # wrap at forty columns\n" +
		"  invicti-scim setup --region eu --client-id abc123 --client-secret-file secret.txt \\\n" +
		"      --assign-group \"Invicti Users\" --provision-now -o json"
	// At 40 columns the description column (33) leaves too little room: the two-column line
	// continues two in instead.
	want = strings.Replace(want, "  INVICTI_SCIM_INVICTI_URL       Invicti base URL for on-premises or private tenants (--invicti-url)\n",
		"  INVICTI_SCIM_INVICTI_URL       Invicti\n    base URL for on-premises or private\n    tenants (--invicti-url)\n", 1)
	want = strings.Replace(want, "  INVICTI_SCIM_CONFIG_DIR        where state lives (--config-dir)\n",
		"  INVICTI_SCIM_CONFIG_DIR        where\n    state lives (--config-dir)\n", 1)
	if got := p.WrapHelp(help); got != want {
		t.Errorf("at 40:\n%s\nwant\n%s", got, want)
	}
	p.Width = 80
	got := p.WrapHelp(help)
	for _, sub := range []string{
		"  INVICTI_SCIM_INVICTI_URL       Invicti base URL for on-premises or private\n" +
			"                                 tenants (--invicti-url)\n",
		"  INVICTI_SCIM_CONFIG_DIR        where state lives (--config-dir)\n",
		"  2. find the app it made (state file, then its invicti-scim tag) or create it\n     from the non-gallery template\n",
		"  invicti-scim setup --region eu --client-id abc123 --client-secret-file secret.txt \\\n" +
			"      --assign-group \"Invicti Users\" --provision-now -o json",
	} {
		if !strings.Contains(got, sub) {
			t.Errorf("at 80, missing %q in\n%s", sub, got)
		}
	}
	// Examples: only comments wrap; every command line stays as it is.
	examples := "  # a comment that is long enough to wrap at forty columns\n" +
		"  export INVICTI_SCIM_GRAPH_TOKEN=$(az account get-access-token --resource-type ms-graph)\n" +
		"  invicti-scim assign --group \"Invicti Users\" --user alice@contoso.com"
	p.Width = 40
	wantEx := "  # a comment that is long enough to\n  # wrap at forty columns\n" + examples[strings.Index(examples, "\n")+1:]
	if got := p.WrapExamples(examples); got != wantEx {
		t.Errorf("examples:\n%s\nwant\n%s", got, wantEx)
	}
	p.Terminal = false
	if got := p.WrapHelp(help); got != help {
		t.Errorf("piped help changed:\n%s", got)
	}
	if got := p.WrapExamples(examples); got != examples {
		t.Errorf("piped examples changed:\n%s", got)
	}
}

// A style never spans a newline: a wrapped styled line ends its style and the next line opens
// it again after the hang, and a wrapped heading is not padded to its widest line.
func TestWrappedStylesEndAtTheNewline(t *testing.T) {
	var b strings.Builder
	p := &Printer{W: &b, T: newTheme(true), Width: 30, Terminal: true, R: &safetext.Redactor{}}
	p.Heading("a long heading that has to wrap over more than one line")
	p.Check(SymFail, "a title", "and a muted detail that is long enough to wrap twice over")
	p.Table([]string{"REGION", "NAME", "BASE URL"}, [][]string{{"eu", "European Union", "https://platform-eu.invicti.com"}})
	out := b.String()
	if !strings.Contains(out, "\x1b[1meu\x1b[m\n") {
		t.Errorf("record's first line: %q", out)
	}
	for i, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " "), "\x1b[m") || strings.HasPrefix(strings.TrimLeft(l, " "), "\x1b[0m") {
			t.Errorf("line %d starts by ending a style from the line before: %q", i, l)
		}
		if open, shut := strings.LastIndex(l, "\x1b[1"), strings.LastIndex(l, "\x1b[m"); open > shut {
			t.Errorf("line %d leaves its style open: %q", i, l)
		}
		if strings.HasSuffix(ansi.Strip(l), " ") {
			t.Errorf("line %d is padded: %q", i, l)
		}
	}
	if strings.Count(out, "\x1b[90m") < 2 {
		t.Errorf("the muted detail is not styled again on its continuation lines: %q", out)
	}
}
