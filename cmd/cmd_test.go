package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/iostreams"
	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"plain", errors.New("x"), 1},
		{"flag", flagErrorf("bad"), 2},
		// Gateway errors (Graph, Invicti) are classified by provision.Classify (TestClassify);
		// here each kind maps to its exit code.
		{"usage", &provision.UsageError{Err: errors.New("--sp-id")}, 2},
		{"adoption", &provision.AdoptionError{}, 2},
		{"connection", fmt.Errorf("wrap: %w", &provision.ConnectionError{Layer: "invicti"}), 3},
		{"permission", &provision.PermissionError{Err: errors.New("401")}, 4},
		{"auth config", &AuthError{Msg: "no terminal"}, 4},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), 130},
		{"wizard cancelled", wizard.ErrCancelled, 130},
		{"guided", &provision.GuidedError{Err: errors.New("keys")}, 1},
		{"silent", silent(3), 3},
		{"timeout", context.DeadlineExceeded, 1},
		// doctor's report decides its kind (DoctorReport.Err).
		{"report: sign-in", &provision.KindError{Kind: provision.KindAuth, Err: errors.New("doctor")}, 4},
		{"report: Invicti only", &provision.KindError{Kind: provision.KindConnection, Err: errors.New("doctor")}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestParsePrincipalFile(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		users   []string
		groups  []string
		wantErr string
	}{
		{name: "lines with comments", in: "# team\nalice@contoso.com\n\n bob@contoso.com  # lead\ngroup: Invicti Users\n", users: []string{"alice@contoso.com", "bob@contoso.com"}, groups: []string{"Invicti Users"}},
		{name: "guest keeps #EXT#", in: "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com\n", users: []string{"bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"}},
		{name: "csv by header", in: "name,upn,dept\nAlice,alice@c.com,IT\nBob,bob@c.com,HR\n", users: []string{"alice@c.com", "bob@c.com"}},
		{name: "csv with bom and crlf", in: "\ufeffEmail\r\na@c.com\r\n", users: []string{"a@c.com"}},
		{name: "csv groups", in: "group\nEngineers\n", groups: []string{"Engineers"}},
		{name: "csv without usable column", in: "name,dept\nA,B\n", wantErr: "names no column"},
		{name: "control characters", in: "al\x07ice@c.com\n", wantErr: "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, groups, err := ParsePrincipalFile(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(users) != fmt.Sprint(tt.users) || fmt.Sprint(groups) != fmt.Sprint(tt.groups) {
				t.Errorf("users %q groups %q", users, groups)
			}
		})
	}
}

func newTestFactory(env map[string]string) (*Factory, *strings.Builder, *strings.Builder) {
	ios, _, out, errOut := iostreams.Test()
	f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }, Now: time.Now}
	o, e := &strings.Builder{}, &strings.Builder{}
	_ = out
	_ = errOut
	ios.Out, ios.ErrOut = o, e
	return f, o, e
}

func TestUsageErrorsNameTheFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"setup", "--bogus"}, "--bogus"},
		{[]string{"setup", "extra"}, "takes no arguments"},
		{[]string{"setup", "--non-interactive"}, "--client-id"},
		{[]string{"logs", "--since", "yesterday"}, "--since"},
		{[]string{"job", "explode"}, "start, pause or restart"},
		{[]string{"assign"}, "--user"},
		{[]string{"provision", "--user", "a@b.c", "--wait", "-1s"}, "--wait"},
		{[]string{"setup", "--cloud", "mars"}, "--cloud"},
		{[]string{"setup", "--auth", "magic"}, "--auth"},
		{[]string{"regions", "-o", "xml"}, "text or json"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, _, errOut := newTestFactory(map[string]string{"INVICTI_SCIM_GRAPH_TOKEN": "t", "INVICTI_SCIM_CONFIG_DIR": t.TempDir()})
			code := run(t.Context(), f, tt.args)
			if code != ExitUsage {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr %q does not name %q", errOut.String(), tt.want)
			}
		})
	}
}

func TestJSONErrorIsOneDocument(t *testing.T) {
	f, out, _ := newTestFactory(map[string]string{"INVICTI_SCIM_CONFIG_DIR": t.TempDir()})
	code := run(t.Context(), f, []string{"test-connection", "--region", "nowhere", "--client-id", "x", "-o", "json"})
	if code != ExitUsage {
		t.Fatalf("exit %d", code)
	}
	s := out.String()
	if !strings.HasPrefix(s, "{") || strings.Count(s, "\"exitCode\"") != 1 || !strings.Contains(s, "\"exitCode\": 2") {
		t.Fatalf("stdout %q", s)
	}
}

// The empty-logs line says how far back it looked even when --since was not given.
func TestHumanAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "1d", 49 * time.Hour: "2d1h", 90 * time.Minute: "1h30m", 2 * time.Hour: "2h",
		5 * time.Minute: "5m", 30*time.Second + 10*time.Minute: "11m",
	} {
		if got := humanAgo(d); got != want {
			t.Errorf("humanAgo(%s) = %q, want %q", d, got, want)
		}
	}
}
