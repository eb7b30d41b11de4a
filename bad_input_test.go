package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// TestBadInput runs the scripts behind docs/bad-input.md: every bad input the table lists, with
// the exact exit code (exitcode) and the message (stderr/stdout). They live in their own
// directory because TestScripts (testdata/script) has no exitcode command.
func TestBadInput(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/badinput",
		Setup: setupEmulators,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"emu":         cmdEmu,
			"exitcode":    cmdExitCode,
			"graph-token": cmdGraphToken,
			"envq":        cmdEnvQuoted,
			"envrepeat":   cmdEnvRepeat,
			"writeenc":    cmdWriteEncoded,
		},
	})
}

// setupEmulators is TestScripts' Setup: an emulated tenant and Invicti per script, reached only
// through the documented environment variables.
func setupEmulators(env *testscript.Env) error {
	inv := scimtest.New(scimtest.Options{})
	inv.AddClient(testClientID, testSecret)
	ten := entratest.New(entratest.Options{ReplicationDelay: 300 * time.Millisecond, ProvisionDelay: 500 * time.Millisecond})
	ten.SeedDemo()
	env.Defer(ten.Close)
	env.Defer(inv.Close)
	env.Values["emu"] = &emulators{tenant: ten, invicti: inv}
	env.Setenv("INVICTI_SCIM_GRAPH_URL", ten.URL)
	env.Setenv("INVICTI_SCIM_GRAPH_TOKEN", ten.Token())
	env.Setenv("INVICTI_SCIM_INVICTI_URL", inv.URL)
	env.Setenv("INVICTI_SCIM_CLIENT_ID", testClientID)
	env.Setenv("INVICTI_SCIM_CONFIG_DIR", env.WorkDir+"/config")
	env.Setenv("SECRET", testSecret)
	env.Setenv("GRAPH_TOKEN", ten.Token())
	env.Setenv("INVICTI_URL", inv.URL)
	env.Setenv("NO_COLOR", "1")
	return nil
}

// cmdExitCode runs a program like exec and asserts its exact exit status; stdout and stderr
// are kept for the stdout/stderr commands that follow:
//
//	exitcode N invicti-scim ARGS...
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// cmdGraphToken switches INVICTI_SCIM_GRAPH_TOKEN to a token Graph refuses:
//
//	graph-token garbage        not a JWT at all
//	graph-token expired        the admin's token, expired an hour ago
//	graph-token not-yet-valid  the admin's token, valid only from an hour from now (nbf)
//	graph-token fresh          the admin's token, valid for another hour
//	graph-token other-tenant   a well-formed token issued for another tenant
func cmdGraphToken(ts *testscript.TestScript, neg bool, args []string) {
	e := ts.Value("emu").(*emulators)
	if neg || len(args) != 1 {
		ts.Fatalf("usage: graph-token garbage|expired|not-yet-valid|fresh|other-tenant")
	}
	var tok string
	switch args[0] {
	case "garbage":
		tok = "not-a-token"
	case "expired":
		p := entratest.Principal{UPN: entratest.DefaultAdminUPN, Scopes: entratest.DefaultScopes,
			Roles: []string{entratest.RoleApplicationAdministrator}, ExpiresAt: time.Now().Add(-time.Hour)}
		tok = entratest.MakeToken(e.tenant.TenantID(), p)
		e.tenant.AddToken(tok, p)
	case "not-yet-valid":
		p := entratest.Principal{UPN: entratest.DefaultAdminUPN, Scopes: entratest.DefaultScopes,
			Roles: []string{entratest.RoleApplicationAdministrator}, NotBefore: time.Now().Add(time.Hour)}
		tok = entratest.MakeToken(e.tenant.TenantID(), p)
		e.tenant.AddToken(tok, p)
	case "fresh":
		p := entratest.Principal{UPN: entratest.DefaultAdminUPN, Scopes: entratest.DefaultScopes,
			Roles: []string{entratest.RoleApplicationAdministrator}, ExpiresAt: time.Now().Add(time.Hour)}
		tok = entratest.MakeToken(e.tenant.TenantID(), p)
		e.tenant.AddToken(tok, p)
	case "other-tenant":
		tok = entratest.MakeToken("11111111-2222-4333-8444-555555555555", entratest.Principal{
			UPN: "admin@fabrikam.example", Scopes: entratest.DefaultScopes, Roles: []string{entratest.RoleApplicationAdministrator}})
	default:
		ts.Fatalf("graph-token: unknown kind %q", args[0])
	}
	ts.Setenv("INVICTI_SCIM_GRAPH_TOKEN", tok)
}

// cmdEnvQuoted sets a variable from a Go string literal body, so scripts can pass control and
// invisible characters in arguments:
//
//	envq NAME 'scim\tclient'
func cmdEnvQuoted(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envq NAME GO-ESCAPED-VALUE")
	}
	v, err := strconv.Unquote(`"` + args[1] + `"`)
	ts.Check(err)
	ts.Setenv(args[0], v)
}

// cmdEnvRepeat sets a variable to TEXT repeated N times, for too-long values:
//
//	envrepeat NAME N TEXT
func cmdEnvRepeat(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: envrepeat NAME N TEXT")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	ts.Setenv(args[0], strings.Repeat(args[2], n))
}

// Every row of docs/bad-input.md names the script line that runs its command
// (FILE.txtar:LINE): that line runs invicti-scim (exitcode or exec) with the row's subcommand.
// Lines inserted into a script used to leave the table pointing at the wrong case.
func TestBadInputDocPointsAtItsCommand(t *testing.T) {
	doc, err := os.ReadFile("docs/bad-input.md")
	if err != nil {
		t.Fatal(err)
	}
	ref := regexp.MustCompile(`\| ([a-z_]+\.txtar):(\d+) \|\s*$`)
	cmdCell := regexp.MustCompile("`(?:[A-Z_]+=\\S* )*invicti-scim ([a-z-]+)")
	scripts := map[string][]string{}
	rows := 0
	for _, row := range strings.Split(string(doc), "\n") {
		m := ref.FindStringSubmatch(row)
		if m == nil {
			continue
		}
		rows++
		lines, ok := scripts[m[1]]
		if !ok {
			b, err := os.ReadFile(filepath.Join("testdata", "badinput", m[1]))
			if err != nil {
				t.Errorf("%s: %v", m[1], err)
				continue
			}
			lines = strings.Split(string(b), "\n")
			scripts[m[1]] = lines
		}
		n, _ := strconv.Atoi(m[2])
		if n < 1 || n > len(lines) {
			t.Errorf("%s:%s: no such line", m[1], m[2])
			continue
		}
		line := lines[n-1]
		if !strings.HasPrefix(line, "exitcode ") && !strings.HasPrefix(line, "exec ") && !strings.HasPrefix(line, "! exec ") {
			t.Errorf("%s:%s is not a command line: %q\n(row %.80s…)", m[1], m[2], line, row)
			continue
		}
		if c := cmdCell.FindStringSubmatch(row); c != nil && !strings.Contains(line, "invicti-scim "+c[1]) && !strings.Contains(line, " "+c[1]+" ") {
			t.Errorf("%s:%s runs %q, but the row's command is invicti-scim %s", m[1], m[2], line, c[1])
		}
	}
	if rows < 100 {
		t.Errorf("only %d rows with a script reference; the table's format changed?", rows)
	}
}
