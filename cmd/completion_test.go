package cmd

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/iostreams"
)

// runInProcess runs the CLI as main would, with no environment and no terminal.
func runInProcess(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &Factory{IO: ios, Getenv: func(string) string { return "" }, Now: time.Now}
	code = run(t.Context(), f, args)
	return code, out.String(), errOut.String()
}

func TestCompletionScripts(t *testing.T) {
	marker := map[string]string{
		"bash":       "__start_invicti-scim",
		"zsh":        "#compdef invicti-scim",
		"fish":       "complete -c invicti-scim",
		"powershell": "Register-ArgumentCompleter",
	}
	for shell, want := range marker {
		t.Run(shell, func(t *testing.T) {
			code, out, errOut := runInProcess(t, "completion", shell)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			if !strings.Contains(out, want) {
				t.Errorf("completion %s: output lacks %q; got %d bytes starting:\n%.300s", shell, want, len(out), out)
			}
		})
	}
}

func TestFlagValueCompletion(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"region", []string{"setup", "--region", ""}, []string{"us", "eu", "ca"}},
		{"cloud", []string{"setup", "--cloud", ""}, []string{"global", "usgov", "china"}},
		{"auth", []string{"setup", "--auth", ""}, []string{"browser", "device-code", "azure-cli", "environment", "token"}},
		{"output shorthand", []string{"regions", "-o", ""}, []string{"text", "json"}},
		{"output on a subcommand", []string{"setup", "--output", ""}, []string{"text", "json"}},
		{"test-connection region", []string{"test-connection", "--region", ""}, []string{"us", "eu", "ca"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runInProcess(t, append([]string{"__complete"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			// __complete prints one candidate per line, then ":<directive>".
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
				t.Fatalf("no directive line in:\n%s", out)
			}
			got, directive := lines[:len(lines)-1], lines[len(lines)-1]
			if !slices.Equal(got, tt.want) {
				t.Errorf("candidates = %q, want %q", got, tt.want)
			}
			if directive != ":4" {
				t.Errorf("directive = %s, want :4 (ShellCompDirectiveNoFileComp)", directive)
			}
		})
	}
}

func TestCompletionUnknownShellIsUsageError(t *testing.T) {
	f, _, errOut := newTestFactory(map[string]string{})
	if code := run(t.Context(), f, []string{"completion", "tcsh"}); code != ExitUsage {
		t.Fatalf("exit %d, want 2; stderr %q", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "unknown shell") {
		t.Fatalf("stderr %q", errOut.String())
	}
}
