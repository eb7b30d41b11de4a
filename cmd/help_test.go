package cmd

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// On a terminal, help wraps to its width between words: the description, the Environment
// block, the examples' comments and the command summaries, each continuation line under its
// text; commands to copy stay whole. Piped (docs/commands is generated from it) help is the
// hand-laid text, with lines wider than 80.
func TestHelpWrapsToTheTerminal(t *testing.T) {
	help := func(t *testing.T, width int, args ...string) string {
		t.Helper()
		f, out, errOut := newTestFactory(nil)
		if width > 0 {
			f.IO.SetTTY(true)
			f.IO.SetWidth(width)
		}
		if len(args) == 0 || args[0] != "help" {
			args = append(args, "--help")
		}
		if code := run(t.Context(), f, args); code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		return out.String()
	}
	for _, args := range [][]string{{}, {"setup"}, {"sso"}, {"assign"}, {"doctor"}, {"help", "exit-codes"}} {
		name := strings.Join(append([]string{"invicti-scim"}, args...), " ")
		piped := help(t, 0, args...)
		for _, width := range []int{80, 64} {
			t.Run(fmt.Sprintf("%s at %d", name, width), func(t *testing.T) {
				got := help(t, width, args...)
				// A comment continues as a comment: its continuation line adds a "#".
				words := func(s string) string {
					return strings.Join(slices.DeleteFunc(strings.Fields(s), func(w string) bool { return w == "#" }), " ")
				}
				if words(got) != words(piped) {
					t.Errorf("words changed:\n%s", got)
				}
				examples := false
				for i, l := range strings.Split(got, "\n") {
					if l != "" && l[0] != ' ' {
						examples = l == "Examples:"
					}
					// Lines to copy (examples, a JSON example) stay whole, and a word that would
					// not fit on a line of its own stays where it is (the one wrap rule,
					// ui.Printer.Wrap).
					fields := strings.Fields(l)
					indent := len(l) - len(strings.TrimLeft(l, " "))
					whole := examples || strings.HasPrefix(strings.TrimLeft(l, " "), "{") ||
						len(fields) <= 1 || indent+len([]rune(fields[len(fields)-1])) > width
					if len([]rune(l)) > width && !whole {
						t.Errorf("line %d is %d columns: %q", i, len([]rune(l)), l)
					}
				}
			})
		}
	}

	if got := help(t, 64, "help", "exit-codes"); !strings.Contains(got, "  4    Microsoft Graph sign-in or permission problem, including\n       an expired or not-yet-valid Graph token\n") {
		t.Errorf("help exit-codes at 64 does not continue under the meanings:\n%s", got)
	} else if !strings.Contains(got, "\n  {\"ok\": false, \"error\": {\"message\": \"…\", \"exitCode\": 2, \"hint\": \"…\"}}\n") {
		t.Errorf("help exit-codes at 64 wrapped the JSON example:\n%s", got)
	}
	piped := help(t, 0)
	if !strings.Contains(piped, "  INVICTI_SCIM_INVICTI_URL       Invicti base URL for on-premises or private tenants (--invicti-url)\n") {
		t.Errorf("piped help was rewrapped:\n%s", piped)
	}
	got := help(t, 80)
	for _, want := range []string{
		// Two columns: the description continues under the description.
		"  INVICTI_SCIM_INVICTI_URL       Invicti base URL for on-premises or private\n" +
			"                                 tenants (--invicti-url)\n",
		// A command summary continues under the summaries.
		"  sandbox         Run an emulated Entra tenant and an emulated Invicti on this\n" +
			"                  machine, for every command\n",
		// A paragraph laid out for 95 columns is joined and wrapped again.
		"invicti-scim creates and configures the Microsoft Entra ID enterprise app that\n" +
			"provisions users and teams into Invicti Platform over SCIM (OAuth2 client\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("at 80, no %q in\n%s", want, got)
		}
	}
	got = help(t, 80, "setup")
	for _, want := range []string{
		"  2. find the app it made (state file, then its invicti-scim tag) or create it\n" +
			"     from the non-gallery template,",
		"  invicti-scim setup --region eu --client-id abc123 \\\n      --client-secret-file secret.txt --dry-run\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("setup at 80, no %q in\n%s", want, got)
		}
	}
}
