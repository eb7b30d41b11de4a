package shellarg

import (
	"os/exec"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"erin@contoso.example":                 "erin@contoso.example",
		"3f2a9c1e-0000-4000-8000-000000000001": "3f2a9c1e-0000-4000-8000-000000000001",
		"Big Group":                            "'Big Group'",
		"":                                     "''",
		"O'Brien":                              `'O'"'"'Brien'`,
		"$HOME":                                "'$HOME'",
		"a;rm -rf ~":                           "'a;rm -rf ~'",
		"`id`":                                 "'`id`'",
		`back\slash`:                           `'back\slash'`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCommand(t *testing.T) {
	if got, want := Command("assign", "--group", "Big Group"), "invicti-scim assign --group 'Big Group'"; got != want {
		t.Errorf("Command = %s, want %s", got, want)
	}
	if got, want := Flag("--app-name", "Invicti Platform"), "--app-name 'Invicti Platform'"; got != want {
		t.Errorf("Flag = %s, want %s", got, want)
	}
}

// A POSIX shell reads each quoted value back as the one argument it was.
func TestQuoteRoundTripsThroughSh(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	vals := []string{"Big Group", "O'Brien's team", `"quoted" $x ${y} $(id) ` + "`id`", "tab\there", "a\\b", "it's ''", "*?[x]~!#&|<>;", "Équipe R&D", ""}
	var words []string
	for _, v := range vals {
		words = append(words, Quote(v))
	}
	out, err := exec.Command(sh, "-c", `set -- `+strings.Join(words, " ")+`; for a in "$@"; do printf '%s\n--\n' "$a"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n--\n"), "\n--\n")
	if len(got) != len(vals) {
		t.Fatalf("sh read %d words, want %d: %q", len(got), len(vals), got)
	}
	for i, v := range vals {
		if got[i] != v {
			t.Errorf("word %d: sh read %q, want %q", i, got[i], v)
		}
	}
}
