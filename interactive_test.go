package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// binary returns a path named invicti-scim that runs this test binary as the CLI
// (testscript.Main dispatches on argv[0]).
func binary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "invicti-scim")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	return link
}

type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the terminal has shown want (after the previous mark).
func (s *screen) waitFor(t *testing.T, want string, from int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out := s.String()
		if i := strings.Index(out[min(from, len(out)):], want); i >= 0 {
			return from + i + len(want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %q; screen so far:\n%s", want, s.String())
	return 0
}

// TestWizardInPTY drives the real interactive wizard in a pseudo-terminal at 120 columns,
// answering its prompts with keystrokes: region (on-premises), URL, "type them", client id,
// secret, app name, skip the access step, then the plan.
func TestWizardInPTY(t *testing.T) {
	t.Parallel() // a PTY run waits on the child, not the CPU: it runs beside the scripts
	inv := scimtest.New(scimtest.Options{})
	defer inv.Close()
	inv.AddClient(testClientID, testSecret)
	ten := entratest.New(entratest.Options{ReplicationDelay: 200 * time.Millisecond})
	defer ten.Close()
	ten.SeedDemo()

	w := startWizard(t, 120, []string{"INVICTI_SCIM_GRAPH_URL=" + ten.URL, "INVICTI_SCIM_GRAPH_TOKEN=" + ten.Token()}, "setup")
	w.answer("Invicti Platform region", "\x1b[B\x1b[B\x1b[B") // down three times: the on-premises option
	w.send("\r")
	w.answer("Invicti base URL", inv.URL)
	w.send("\r")
	w.answer("Do you have the SCIM client credentials?", "\x1b[B\x1b[B") // "Yes, type them"
	w.send("\r")
	w.answer("Invicti client id", testClientID)
	w.send("\r")
	w.answer("Invicti client secret", testSecret)
	w.send("\r")
	w.expect("✓ Invicti accepted the client credentials")
	w.answer("Enterprise app name", "\x15") // Ctrl-U clears the default
	w.send("Invicti PTY")
	w.send("\r")
	w.answer("Give users or groups access to Invicti now?", "n")
	w.answer("Apply this plan?", "\r")
	w.expect("Setup complete")
	if code := w.wait(); code != 0 {
		t.Fatalf("setup: exit %d\n%s", code, w.scr.String())
	}
	if strings.Contains(w.scr.String(), testSecret) {
		t.Fatalf("the secret was echoed on the terminal")
	}
	apps := ten.Apps()
	if len(apps) != 1 || apps[0].DisplayName != "Invicti PTY" {
		t.Fatalf("apps = %+v", apps)
	}
	if got := apps[0].Secrets["Oauth2ClientSecret"]; got != testSecret {
		t.Fatalf("saved secret = %q", got)
	}
}

// TestInterruptThenResume: Ctrl-C (SIGINT) in the middle of setup exits 130 with a resumable
// state; running the same command again completes with exactly one app and one job.
func TestInterruptThenResume(t *testing.T) {
	t.Parallel() // a PTY run waits on the child, not the CPU: it runs beside the scripts
	inv := scimtest.New(scimtest.Options{})
	defer inv.Close()
	inv.AddClient(testClientID, testSecret)
	ten := entratest.New(entratest.Options{ReplicationDelay: 3 * time.Second})
	defer ten.Close()

	cfg := t.TempDir()
	env := append(os.Environ(),
		"INVICTI_SCIM_GRAPH_URL="+ten.URL, "INVICTI_SCIM_GRAPH_TOKEN="+ten.Token(),
		"INVICTI_SCIM_CONFIG_DIR="+cfg, "INVICTI_SCIM_CLIENT_ID="+testClientID, "INVICTI_SCIM_CLIENT_SECRET="+testSecret,
		"INVICTI_SCIM_INVICTI_URL="+inv.URL, "NO_COLOR=1")
	bin := binary(t)

	c := exec.Command(bin, "setup", "--non-interactive")
	c.Env = env
	stderr := &screen{}
	c.Stderr = stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	stderr.waitFor(t, "waiting for Entra to replicate", 0)
	_ = c.Process.Signal(syscall.SIGINT)
	err := c.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted setup: err %v, want exit 130\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "resume") {
		t.Fatalf("no resume hint:\n%s", stderr.String())
	}
	if n := len(ten.Apps()); n != 1 {
		t.Fatalf("after interrupt: %d apps", n)
	}

	c = exec.Command(bin, "setup", "--non-interactive")
	c.Env = env
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("resumed setup: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "found by the state file") {
		t.Fatalf("resume did not use state:\n%s", out)
	}
	apps := ten.Apps()
	if len(apps) != 1 || len(apps[0].Jobs) != 1 || apps[0].Jobs[0].ScheduleState != "Active" {
		t.Fatalf("after resume: %+v", apps)
	}
}

// TestAccessibleWizardInPTY: --accessible turns every form into numbered, line-by-line
// prompts a screen reader can follow; the secret is still not echoed.
func TestAccessibleWizardInPTY(t *testing.T) {
	inv := scimtest.New(scimtest.Options{})
	defer inv.Close()
	inv.AddClient(testClientID, testSecret)
	c := exec.Command(binary(t), "test-connection", "--accessible")
	c.Env = append(os.Environ(), "INVICTI_SCIM_CONFIG_DIR="+t.TempDir(), "INVICTI_SCIM_CLIENT_ID=", "INVICTI_SCIM_CLIENT_SECRET=",
		"INVICTI_SCIM_INVICTI_URL=", "INVICTI_SCIM_NON_INTERACTIVE=", "TERM=xterm-256color")
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scr := &screen{}
	go func() { _, _ = io.Copy(scr, f) }()
	line := func(s string) {
		time.Sleep(100 * time.Millisecond)
		if _, err := f.Write([]byte(s + "\r")); err != nil {
			t.Fatal(err)
		}
	}
	at := scr.waitFor(t, "Enter a number between 1 and 4", 0)
	line("4")
	at = scr.waitFor(t, "Invicti base URL", at)
	line(inv.URL)
	at = scr.waitFor(t, "Invicti client id", at)
	line(testClientID)
	at = scr.waitFor(t, "Invicti client secret", at)
	line(testSecret)
	scr.waitFor(t, "Connection OK", at)
	if err := c.Wait(); err != nil {
		t.Fatalf("test-connection: %v\n%s", err, scr.String())
	}
	out := scr.String()
	if strings.Contains(out, testSecret) {
		t.Fatal("the secret was echoed")
	}
	if strings.Contains(out, "\x1b[") && strings.Contains(out, "⠋") {
		t.Fatal("a spinner animated in accessible mode")
	}
}

// In screen-reader mode Ctrl-C at a prompt ends the run at once (exit 130): the line-by-line
// prompts block reading the terminal, and the questions used to go on after "^C".
func TestAccessibleCtrlCStopsAtOnce(t *testing.T) {
	c := exec.Command(binary(t), "test-connection", "--accessible")
	c.Env = append(os.Environ(), "INVICTI_SCIM_CONFIG_DIR="+t.TempDir(), "INVICTI_SCIM_CLIENT_ID=", "INVICTI_SCIM_CLIENT_SECRET=",
		"INVICTI_SCIM_INVICTI_URL=", "INVICTI_SCIM_NON_INTERACTIVE=", "TERM=xterm-256color")
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scr := &screen{}
	go func() { _, _ = io.Copy(scr, f) }()
	at := scr.waitFor(t, "Enter a number between 1 and 4", 0)
	time.Sleep(100 * time.Millisecond)
	ctrlCExits130(t, c, f, scr, 10*time.Second, "at the screen-reader prompt")
	if strings.Contains(scr.String()[at:], "Invicti base URL") {
		t.Errorf("asked the next question after Ctrl-C:\n%s", scr.String())
	}
}

// TestAssignRemoveConfirmInPTY: on a terminal assign --remove shows what it will remove and
// that Entra then deprovisions those users in Invicti, and asks; "n" removes nothing (exit
// 0, "Nothing changed"), "y" removes.
func TestAssignRemoveConfirmInPTY(t *testing.T) {
	inv := scimtest.New(scimtest.Options{})
	defer inv.Close()
	inv.AddClient(testClientID, testSecret)
	ten := entratest.New(entratest.Options{})
	defer ten.Close()
	ten.SeedDemo()
	env := append(os.Environ(),
		"INVICTI_SCIM_GRAPH_URL="+ten.URL, "INVICTI_SCIM_GRAPH_TOKEN="+ten.Token(),
		"INVICTI_SCIM_CONFIG_DIR="+t.TempDir(), "INVICTI_SCIM_CLIENT_ID="+testClientID, "INVICTI_SCIM_CLIENT_SECRET="+testSecret,
		"INVICTI_SCIM_INVICTI_URL="+inv.URL, "INVICTI_SCIM_NON_INTERACTIVE=", "TERM=xterm-256color", "NO_COLOR=1")
	bin := binary(t)
	for _, args := range [][]string{{"setup", "--non-interactive"}, {"assign", "--user", "alice@contoso.example"}} {
		c := exec.Command(bin, args...)
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	assigned := func() int { return len(ten.Apps()[0].Assignments) }

	for _, answer := range []string{"n", "y"} {
		scr, err := answerConfirm(t, bin, env, []string{"assign", "--user", "alice@contoso.example", "--remove"},
			"deprovisions", "Remove these assignments?", answer, "removed")
		switch answer {
		case "n":
			if err != nil || !strings.Contains(scr, "Nothing changed") || assigned() != 1 {
				t.Fatalf("declined: err %v, %d assignments\n%s", err, assigned(), scr)
			}
		case "y":
			if err != nil || assigned() != 0 {
				t.Fatalf("confirmed: err %v, %d assignments\n%s", err, assigned(), scr)
			}
		}
	}
}

// answerConfirm runs the binary on a terminal, waits for marker and then the question, answers
// "y" or "n", and waits for what follows (done for yes, "Nothing changed" for no) before the
// process ends, so the screen holds the last line. It returns the screen and Wait's error.
func answerConfirm(t *testing.T, bin string, env, args []string, marker, question, answer, done string) (string, error) {
	t.Helper()
	c := exec.Command(bin, args...)
	c.Env = env
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scr := &screen{}
	go func() { _, _ = io.Copy(scr, f) }()
	at := scr.waitFor(t, marker, 0)
	scr.waitFor(t, question, at)
	time.Sleep(150 * time.Millisecond) // huh moves focus asynchronously
	if _, err := f.Write([]byte(answer)); err != nil {
		t.Fatal(err)
	}
	if answer == "y" {
		scr.waitFor(t, done, at)
	} else {
		scr.waitFor(t, "Nothing changed", at)
	}
	err = c.Wait()
	return scr.String(), err
}

// TestGuidedStepContinuesInTheSameRun: when Graph takes neither writer, the interactive guided
// step shows the values (never the secret unless asked), then polls; once the "portal" has
// saved the settings and the admin presses Enter, setup carries on to Test Connection and the
// start in the same run.
func TestGuidedStepContinuesInTheSameRun(t *testing.T) {
	inv := scimtest.New(scimtest.Options{})
	defer inv.Close()
	inv.AddClient(testClientID, testSecret)
	ten := entratest.New(entratest.Options{Knobs: entratest.Knobs{RejectTokenURI: true, NoConnectivityParameters: true, PortalLowerCaseKeys: true}})
	defer ten.Close()

	c := exec.Command(binary(t), "setup", "--app-name", "Invicti Guided")
	c.Env = append(os.Environ(),
		"INVICTI_SCIM_GRAPH_URL="+ten.URL, "INVICTI_SCIM_GRAPH_TOKEN="+ten.Token(),
		"INVICTI_SCIM_CONFIG_DIR="+t.TempDir(), "INVICTI_SCIM_CLIENT_ID="+testClientID, "INVICTI_SCIM_CLIENT_SECRET="+testSecret,
		"INVICTI_SCIM_INVICTI_URL="+inv.URL, "INVICTI_SCIM_NON_INTERACTIVE=", "TERM=xterm-256color", "NO_COLOR=1")
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 50, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scr := &screen{}
	go func() { _, _ = io.Copy(scr, f) }()
	send := func(s string) {
		time.Sleep(150 * time.Millisecond)
		if _, err := f.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	at := scr.waitFor(t, "Give users or groups access to Invicti now?", 0)
	send("n")
	at = scr.waitFor(t, "Apply this plan?", at)
	send("\r")
	at = scr.waitFor(t, "Show the client secret", at)
	send("\r") // default: No
	at = scr.waitFor(t, "Press Enter to check now", at)
	if !strings.Contains(scr.String(), inv.TenantURL()) || !strings.Contains(scr.String(), inv.TokenURL()) {
		t.Fatalf("the guided step must print the Tenant URL and Token Endpoint in full:\n%s", scr.String())
	}
	// The admin saves the settings in the portal, then presses Enter.
	apps := ten.Apps()
	if len(apps) != 1 {
		t.Fatalf("apps = %d", len(apps))
	}
	ten.ConfigurePortalStyle(apps[0].ServicePrincipalID, map[string]string{"BaseAddress": inv.TenantURL(),
		"Oauth2TokenExchangeUri": inv.TokenURL(), "Oauth2ClientId": testClientID, "Oauth2ClientSecret": testSecret})
	send("\r")
	scr.waitFor(t, "Setup complete", at)
	if err := c.Wait(); err != nil {
		t.Fatalf("setup: %v\n%s", err, scr.String())
	}
	out := scr.String()
	if strings.Contains(out, testSecret) {
		t.Fatal("the secret was shown without being asked for")
	}
	if !strings.Contains(out, "configured in the portal") {
		t.Fatalf("no portal outcome:\n%s", out)
	}
	if a := ten.Apps(); len(a) != 1 || a[0].Jobs[0].ScheduleState != "Active" {
		t.Fatalf("after the guided step: %+v", a)
	}
}

// TestSandboxStopsOnSIGTERM: a service manager's SIGTERM stops `invicti-scim sandbox` with
// exit 0 and its state saved.
func TestSandboxStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	c := exec.Command(binary(t), "sandbox", "--env-file", filepath.Join(dir, "sb.env"), "--state-dir", filepath.Join(dir, "st"))
	c.Env = append(os.Environ(), "NO_COLOR=1")
	stderr := &screen{}
	c.Stderr = stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	stderr.waitFor(t, "Ctrl-C stops the sandbox", 0)
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("sandbox after SIGTERM: %v, want exit 0\n%s", err, stderr.String())
	}
	for _, f := range []string{"sb.env", "st/entra.json", "st/invicti.json"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want a 0600 file", f, err, fi.Mode())
		}
	}
}

// TestSecretStdinOnATerminal: --client-secret-stdin on a terminal reads without echo, and
// Ctrl-C while it waits ends the run (exit 130) with the terminal's echo restored.
func TestSecretStdinOnATerminal(t *testing.T) {
	inv := scimtest.New(scimtest.Options{})
	defer inv.Close()
	inv.AddClient(testClientID, testSecret)
	start := func() (*exec.Cmd, *os.File, *screen) {
		c := exec.Command(binary(t), "test-connection", "--client-secret-stdin", "--invicti-url", inv.URL, "--client-id", testClientID)
		c.Env = append(os.Environ(), "INVICTI_SCIM_CLIENT_SECRET=", "INVICTI_SCIM_CONFIG_DIR="+t.TempDir(), "TERM=xterm-256color", "NO_COLOR=1")
		f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 40, Cols: 120})
		if err != nil {
			t.Fatal(err)
		}
		scr := &screen{}
		go func() { _, _ = io.Copy(scr, f) }()
		return c, f, scr
	}

	c, f, scr := start()
	defer f.Close()
	scr.waitFor(t, "input hidden", 0)
	if _, err := f.Write([]byte(testSecret + "\r")); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("test-connection: %v\n%s", err, scr.String())
	}
	if strings.Contains(scr.String(), testSecret) {
		t.Fatalf("the secret was echoed on the terminal:\n%s", scr.String())
	}

	c, f2, scr := start()
	defer f2.Close()
	scr.waitFor(t, "input hidden", 0)
	ctrlCExits130(t, c, f2, scr, 30*time.Second, "while it waited for the secret")
}

// ctrlCExits130 types Ctrl-C on the terminal f (the terminal sends SIGINT) and asserts that
// c ends with exit 130 within limit; when says where the run was, for the failure message.
func ctrlCExits130(t *testing.T, c *exec.Cmd, f *os.File, scr *screen, limit time.Duration, when string) {
	t.Helper()
	if _, err := f.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("Ctrl-C %s: %v, want exit 130\n%s", when, err, scr.String())
		}
	case <-time.After(limit):
		_ = c.Process.Kill()
		t.Fatalf("Ctrl-C did not end the run %s:\n%s", when, scr.String())
	}
}

// wizardRun is one setup run in a pseudo-terminal of the given width, with NO_COLOR.
type wizardRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	pty    *os.File
	scr    *screen
	at     int
	copied chan struct{} // closed when the terminal has nothing more to read
}

func startWizard(t *testing.T, cols uint16, env []string, args ...string) *wizardRun {
	t.Helper()
	c := exec.Command(binary(t), args...)
	configDir := "INVICTI_SCIM_CONFIG_DIR=" + t.TempDir()
	if slices.Contains(args, "--sandbox") {
		configDir = "INVICTI_SCIM_CONFIG_DIR=" // --sandbox keeps its state in a temporary directory
	}
	c.Env = append(os.Environ(), configDir, "INVICTI_SCIM_CLIENT_ID=", "INVICTI_SCIM_CLIENT_SECRET=",
		"INVICTI_SCIM_INVICTI_URL=", "INVICTI_SCIM_NON_INTERACTIVE=", "TERM=xterm-256color", "NO_COLOR=1")
	c.Env = append(c.Env, env...)
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 40, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	scr := &screen{}
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(scr, f); close(copied) }()
	return &wizardRun{t: t, cmd: c, pty: f, scr: scr, copied: copied}
}

// expect waits for s after the last mark and moves the mark past it.
func (w *wizardRun) expect(s string) { w.t.Helper(); w.at = w.scr.waitFor(w.t, s, w.at) }

// send types keys after huh has had time to focus the field.
func (w *wizardRun) send(keys string) {
	w.t.Helper()
	time.Sleep(150 * time.Millisecond)
	if _, err := w.pty.Write([]byte(keys)); err != nil {
		w.t.Fatal(err)
	}
}

// answer waits for a prompt, then sends keys.
func (w *wizardRun) answer(prompt, keys string) { w.t.Helper(); w.expect(prompt); w.send(keys) }

// wait ends the run and returns its exit code.
func (w *wizardRun) wait() int {
	w.t.Helper()
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		select { // the last lines may still be in the terminal's buffer
		case <-w.copied:
		case <-time.After(5 * time.Second):
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			w.t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		_ = w.cmd.Process.Kill()
		w.t.Fatalf("the wizard did not end:\n%s", w.scr.String())
		return -1
	}
}

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]`)

// record is the terminal output as plain lines (escape sequences removed).
func (w *wizardRun) record() string {
	s := ansiRE.ReplaceAllString(w.scr.String(), "")
	return strings.ReplaceAll(s, "\r\n", "\n")
}

// TestSandboxWizardEnterThrough: on a terminal, setup --sandbox runs the real wizard with the
// sandbox's values offered as defaults, and pressing Enter at every prompt reaches "Setup
// complete" at 80 columns in fewer than 200 lines, with the Set up SCIM provisioning link on
// the first screen and an offer to assign.
func TestSandboxWizardEnterThrough(t *testing.T) {
	// The longest PTY test (the sandbox's emulated replication lag before provision-now): it
	// runs beside the end-to-end scripts instead of before them.
	t.Parallel()
	t.Run("80 columns NO_COLOR", func(t *testing.T) { t.Parallel(); sandboxEnterThrough(t, 80, nil) })
	t.Run("120 columns colour", func(t *testing.T) { t.Parallel(); sandboxEnterThrough(t, 120, []string{"NO_COLOR="}) })
}

func sandboxEnterThrough(t *testing.T, cols uint16, env []string) {
	w := startWizard(t, cols, env, "setup", "--sandbox")
	for _, prompt := range []string{
		"Invicti Platform region", "Invicti base URL", "Do you have the SCIM client credentials?",
		"Invicti client id", "Invicti client secret", "Enterprise app name",
		"Give users or groups access to Invicti now?", "Who gets access?",
		"Create the matching Invicti teams first?", "Apply this plan?", "Continue?", "Provision now?",
		"Set up single sign-on (SAML) on the same app too?", // default No
	} {
		w.answer(prompt, "\r")
	}
	w.expect("Setup complete")
	if code := w.wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, w.scr.String())
	}
	out := w.record()
	for _, want := range []string{
		"https://docs.invicti.com/ip/set-up-scim-provisioning",
		"https://docs.invicti.com/ip/scim-configure-directory",
		"✓ Invicti accepted the client credentials",
		"[Yes]", // NO_COLOR still shows the chosen answer
		"✓ Invicti team Invicti Users — created",
		"In Invicti: alice@contoso.example",
		// README step 3: the tenant (name and id), the account, the permission check.
		"✓ Signed in to Contoso (emulated) (tenant ",
		"as admin@contoso.example",
		"✓ Permissions — ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if cols != 80 {
		return
	}
	// Every row the session left in the terminal, scrollback included: a form's frame is
	// redrawn in place, so the replayed screen is counted, not the raw output's lines.
	scr := w.screenRecord(int(cols))
	if n := strings.Count(scr, "\n"); n >= 200 {
		t.Errorf("the session filled %d rows, want fewer than 200:\n%s", n, scr)
	}
	// Each form's frame stays as the record of its answer: the region chosen (it vanished
	// when huh's empty last view was drawn), and the provision-now list to its last row (it
	// was overwritten by the next line).
	for _, want := range []string{
		"  Invicti Platform region\n  Where you sign in to Invicti. You enter the URL next.\n",
		"  > On-premises, private tenant or sandbox (enter its URL)\n",
		"    ✓ dave@contoso.example\n",
		"Provisioning now: alice@contoso.example",
	} {
		if !strings.Contains(scr, want) {
			t.Errorf("the terminal does not show %q:\n%s", want, scr)
		}
	}
	checkGolden(t, "wizard_plan_80.golden", section(out, "\nPlan\n", "┃ Apply this plan?"))
	checkGolden(t, "wizard_summary_80.golden", section(out, "Setup complete", ""))
}

// section returns out from the first from up to the next to ("" means the end), with the
// values that change per run (ports, ids) replaced by placeholders.
func section(out, from, to string) string {
	i := strings.Index(out, from)
	if i < 0 {
		return "(missing " + from + ")\n" + out
	}
	s := out[i:]
	if to != "" {
		if j := strings.Index(s, to); j >= 0 {
			s = s[:j]
		}
	}
	s = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "127.0.0.1:PORT")
	s = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`).ReplaceAllString(s, "GUID")
	s = regexp.MustCompile(`scim\.[0-9a-f]{32}\.[0-9a-f]{32}`).ReplaceAllString(s, "JOBID")
	s = regexp.MustCompile(`\d+ to Entra \(Graph\), \d+ to Invicti`).ReplaceAllString(s, "N to Entra (Graph), N to Invicti")
	s = regexp.MustCompile(`\d+ attempts`).ReplaceAllString(s, "N attempts")
	return s
}

// checkGolden compares got with testdata/golden/name; UPDATE_GOLDEN=1 rewrites it.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (UPDATE_GOLDEN=1 rewrites it)\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

// wizardTenant is an emulated Invicti with the test client and an emulated Entra tenant with
// the demo directory, and the environment that points setup at them.
func wizardTenant(t *testing.T) (*scimtest.Server, *entratest.Tenant, []string) {
	t.Helper()
	inv := scimtest.New(scimtest.Options{})
	t.Cleanup(inv.Close)
	inv.AddClient(testClientID, testSecret)
	ten := entratest.New(entratest.Options{ReplicationDelay: 100 * time.Millisecond})
	t.Cleanup(ten.Close)
	ten.SeedDemo()
	return inv, ten, []string{"INVICTI_SCIM_GRAPH_URL=" + ten.URL, "INVICTI_SCIM_GRAPH_TOKEN=" + ten.Token()}
}

// bracketedPaste is how a terminal delivers pasted text to a program that asked for it.
func bracketedPaste(s string) string { return "\x1b[200~" + s + "\x1b[201~" }

// TestWizardPastedJSON: the admin pastes the whole multi-line JSON Invicti returned; the wizard
// takes credentials.clientId and credentials.clientSecret from it, checks them at once, and
// setup saves them.
func TestWizardPastedJSON(t *testing.T) {
	t.Parallel() // a PTY run waits on the child, not the CPU: it runs beside the scripts
	inv, ten, env := wizardTenant(t)
	w := startWizard(t, 80, env, "setup", "--invicti-url", inv.URL, "--app-name", "Invicti Paste")
	w.expect("Do you have the SCIM client credentials?")
	w.send("\r") // the default: paste the JSON
	w.expect("Paste the JSON Invicti returned")
	w.send(bracketedPaste("{\n  \"id\": \"reg-1\",\n  \"name\": \"Entra SCIM\",\n  \"credentials\": {\n    \"clientId\": \"" + testClientID + "\",\n    \"clientSecret\": \"" + testSecret + "\"\n  }\n}"))
	w.send("\r")
	w.expect("✓ Invicti accepted the client credentials")
	w.answer("Give users or groups access to Invicti now?", "n")
	w.answer("Apply this plan?", "\r")
	w.expect("Setup complete")
	if code := w.wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, w.scr.String())
	}
	// What stays in the terminal names the client id and hides the secret: the pasted JSON
	// stayed in the scrollback with the secret in plain text.
	scr := w.screenRecord(80)
	if strings.Contains(scr, testSecret) || !strings.Contains(scr, "> (pasted: client id "+testClientID+", client secret hidden)") {
		t.Errorf("the record left on screen:\n%s", scr)
	}
	apps := ten.Apps()
	if len(apps) != 1 || apps[0].Secrets["Oauth2ClientId"] != testClientID || apps[0].Secrets["Oauth2ClientSecret"] != testSecret {
		t.Fatalf("apps = %+v", apps)
	}
}

// TestWizardShowMeHow: "No, show me how" prints Invicti's steps with the region's base URL
// filled in and waits; the admin comes back to the credentials question, then leaves with
// Ctrl-C: exit 130, "cancelled", nothing created.
func TestWizardShowMeHow(t *testing.T) {
	_, ten, env := wizardTenant(t)
	w := startWizard(t, 80, env, "setup", "--region", "eu")
	w.expect("Do you have the SCIM client credentials?")
	w.send("\x1b[B\x1b[B\x1b[B") // "No, show me how"
	w.send("\r")
	w.expect("POST https://platform-eu.invicti.com/api/identity/v1/userCredentials/login")
	w.expect(wizardSetUpSCIM)
	w.answer("Do you have the credentials now?", "\r")
	w.expect("Do you have the SCIM client credentials?") // asked again
	w.send("\x03")                                       // Ctrl-C
	if code := w.wait(); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, w.scr.String())
	}
	out := w.record()
	if !strings.Contains(out, "cancelled") || strings.Contains(out, "context canceled") {
		t.Fatalf("want \"cancelled\":\n%s", out)
	}
	if n := len(ten.Apps()); n != 0 {
		t.Fatalf("%d apps after cancelling", n)
	}
}

// The assignments the wizard's plan listed are made before it asks whom to provision now:
// Ctrl-C at that question leaves alice assigned (it used to leave nobody assigned).
func TestWizardAssignsBeforeProvisionNow(t *testing.T) {
	t.Parallel() // a PTY run waits on the child, not the CPU: it runs beside the scripts
	inv, ten, w := wizardAtAccessPicker(t, "Invicti Order")
	w.send("/")
	w.send("alice")
	w.send("\r")
	w.send("x")
	w.send("\x1b")
	w.send("\r")
	w.answer("Apply this plan?", "\r")
	w.expect("Provision now?")
	if n := len(ten.Apps()[0].Assignments); n != 1 {
		t.Errorf("%d assignments when asked whom to provision, want alice's", n)
	}
	w.send("\x03") // Ctrl-C
	if code := w.wait(); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, w.scr.String())
	}
	if n := len(ten.Apps()[0].Assignments); n != 1 {
		t.Fatalf("%d assignments after Ctrl-C at the provision-now question, want alice's", n)
	}
	if us := inv.Users(); len(us) != 0 {
		t.Fatalf("provisioned after Ctrl-C: %+v", us)
	}
}

// No at "Do you have the credentials now?" is the admin's choice, as No at the plan: exit 0,
// "Nothing changed", nothing created (it was exit 130 "cancelled").
func TestWizardNotReadyIsNoChange(t *testing.T) {
	t.Parallel() // a PTY run waits on the child, not the CPU: it runs beside the scripts
	_, ten, env := wizardTenant(t)
	w := startWizard(t, 80, env, "setup", "--region", "eu")
	w.expect("Do you have the SCIM client credentials?")
	w.send("\x1b[B\x1b[B\x1b[B") // "No, show me how"
	w.send("\r")
	w.answer("Do you have the credentials now?", "n")
	if code := w.wait(); code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, w.scr.String())
	}
	if out := w.record(); !strings.Contains(out, "Nothing changed: run the same command again once you have Invicti's SCIM client credentials.") || strings.Contains(out, "cancelled") {
		t.Fatalf("record:\n%s", out)
	}
	if n := len(ten.Apps()); n != 0 {
		t.Fatalf("%d apps", n)
	}
}

const wizardSetUpSCIM = "https://docs.invicti.com/ip/set-up-scim-provisioning"

// TestWizardCheckCorrectedInPlace: a wrong secret fails the direct check right after it is
// typed; the wizard says why, offers to correct the secret (the failing value) and asks only
// for it, not for the client id again.
func TestWizardCheckCorrectedInPlace(t *testing.T) {
	t.Parallel() // a PTY run waits on the child, not the CPU: it runs beside the scripts
	inv, ten, env := wizardTenant(t)
	w := startWizard(t, 80, env, "setup", "--invicti-url", inv.URL, "--app-name", "Invicti Fix")
	w.answer("Do you have the SCIM client credentials?", "\x1b[B\x1b[B") // "Yes, type them"
	w.send("\r")
	w.answer("Invicti client id", testClientID)
	w.send("\r")
	w.answer("Invicti client secret", "wrong-secret-0123456789")
	w.send("\r")
	w.expect("✗ The direct check with Invicti failed")
	w.expect("What do you want to correct?")
	mark := w.at
	w.send("\r") // the suggested correction: the client secret
	w.answer("Invicti client secret", testSecret)
	w.send("\r")
	w.expect("✓ Invicti accepted the client credentials")
	if strings.Contains(w.scr.String()[mark:w.at], "Invicti client id") {
		t.Fatalf("the client id was asked again:\n%s", w.scr.String()[mark:w.at])
	}
	w.answer("Give users or groups access to Invicti now?", "n")
	w.answer("Apply this plan?", "\r")
	w.expect("Setup complete")
	if code := w.wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, w.scr.String())
	}
	if got := ten.Apps()[0].Secrets["Oauth2ClientSecret"]; got != testSecret {
		t.Fatalf("saved secret %q", got)
	}
}

// wizardAtAccessPicker starts setup's wizard at 80 columns for a new app named appName and
// answers up to the access picker: the client id from its flag, the secret typed in the
// credentials step, Yes to giving access now.
func wizardAtAccessPicker(t *testing.T, appName string) (*scimtest.Server, *entratest.Tenant, *wizardRun) {
	t.Helper()
	inv, ten, env := wizardTenant(t)
	w := startWizard(t, 80, env, "setup", "--invicti-url", inv.URL, "--client-id", testClientID, "--app-name", appName)
	w.answer("Do you have the SCIM client credentials?", "\x1b[B\x1b[B") // "Yes, type them"
	w.send("\r")
	w.answer("Invicti client secret", testSecret)
	w.send("\r")
	w.answer("Give users or groups access to Invicti now?", "\r") // Yes
	w.expect("Who gets access?")
	return inv, ten, w
}

// TestWizardAccessPickerAndTeamsFirst: the admin filters the directory, ticks alice and the
// Invicti Users group; the wizard creates the Invicti team before anyone is provisioned and
// pauses for its roles; then alice alone is provisioned on demand and found in Invicti.
func TestWizardAccessPickerAndTeamsFirst(t *testing.T) {
	t.Parallel() // a PTY run waits on the child, not the CPU: it runs beside the scripts
	inv, ten, w := wizardAtAccessPicker(t, "Invicti Pick")
	// A disabled account is refused in the list, with the reason; it used to end the run with
	// a usage error about --assign-user after every question was answered.
	w.send("/")
	w.send("Evans")
	w.send("\r")
	w.send("x") // tick Erin Evans (disabled)
	w.send("\r")
	w.expect("(untick it with x)")
	w.send("x") // untick her
	w.send("\x1b")
	w.send("/")
	w.send("alice")
	w.send("\r") // keep the filter
	w.send("x")  // tick Alice
	w.send("\x1b")
	w.send("/")
	w.send("Invicti")
	w.send("\r")
	w.send("x") // tick the Invicti Users group
	w.send("\r")
	w.expect("✓ User alice@contoso.example")
	w.expect("✓ Group Invicti Users")
	w.answer("Create the matching Invicti teams first?", "\r")
	w.expect("user  alice@contoso.example") // the plan
	w.answer("Apply this plan?", "\r")
	w.expect("✓ Invicti team Invicti Users — created")
	w.expect("Continue?")
	// Teams first: the team exists in Invicti before anyone is provisioned.
	if gs, us := inv.Groups(), inv.Users(); len(gs) != 1 || gs[0].DisplayName != "Invicti Users" || len(us) != 0 {
		t.Fatalf("at the roles pause: teams %+v, users %+v", gs, us)
	}
	w.send("\r")
	w.expect("Provision now?")
	w.send("\x01") // ctrl+a: select none
	w.send("x")    // the first entry: alice
	w.send("\r")
	w.answer("Set up single sign-on (SAML) on the same app too?", "\r") // default No
	w.expect("Setup complete")
	if code := w.wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, w.scr.String())
	}
	us := inv.Users()
	if len(us) != 1 || us[0].UserName != "alice@contoso.example" {
		t.Fatalf("Invicti users after provisioning alice only: %+v\n%s", us, w.record())
	}
	if n := len(ten.Apps()[0].Assignments); n != 2 {
		t.Fatalf("%d assignments, want alice and the group", n)
	}
	if !strings.Contains(w.record(), "in Invicti") {
		t.Fatalf("no Invicti proof for alice:\n%s", w.record())
	}
}

// TestWizardDeclinePlan: declining the plan changes nothing and exits 0 saying so.
func TestWizardDeclinePlan(t *testing.T) {
	inv, ten, env := wizardTenant(t)
	w := startWizard(t, 80, append(env, "INVICTI_SCIM_CLIENT_SECRET="+testSecret), "setup", "--invicti-url", inv.URL, "--client-id", testClientID, "--app-name", "Invicti No")
	w.answer("Give users or groups access to Invicti now?", "n")
	w.answer("Apply this plan?", "n")
	w.expect("Nothing changed")
	if code := w.wait(); code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, w.scr.String())
	}
	if n := len(ten.Apps()); n != 0 {
		t.Fatalf("%d apps after declining", n)
	}
}

// TestWizardPicksAnExistingApp: when apps of that name exist that the tool did not make, the
// wizard lists them (id, created date, whether they have a provisioning job) instead of failing;
// picking one configures it, with nothing new created.
func TestWizardPicksAnExistingApp(t *testing.T) {
	t.Parallel() // a PTY run waits on the child, not the CPU: it runs beside the scripts
	inv, ten, env := wizardTenant(t)
	other := ten.AddApp("Invicti SCIM")
	w := startWizard(t, 80, append(env, "INVICTI_SCIM_CLIENT_SECRET="+testSecret), "setup", "--invicti-url", inv.URL, "--client-id", testClientID, "--app-name", "Invicti SCIM")
	w.answer("Give users or groups access to Invicti now?", "n")
	w.expect(`Enterprise apps named "Invicti SCIM" exist that this tool did not make`)
	w.expect(other.ServicePrincipalID + ", created ")
	w.expect("no provisioning")
	w.send("\x1b[A") // up from "Create a new app" to the listed app
	w.send("\r")
	// At 80 columns the plan's value wraps at the space before the id, which stays whole.
	w.expect("reused (servicePrincipal")
	w.expect(other.ServicePrincipalID + ")")
	w.answer("Apply this plan?", "\r")
	w.expect("Setup complete")
	if code := w.wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, w.scr.String())
	}
	apps := ten.Apps()
	if len(apps) != 1 || apps[0].ServicePrincipalID != other.ServicePrincipalID || apps[0].Secrets["Oauth2ClientSecret"] != testSecret {
		t.Fatalf("apps = %+v", apps)
	}
}

// TestSandboxWizardCorrectionsLeaveAClearRecord drives the sandbox wizard at 80 columns
// through a refused base URL and a wrong client secret, each corrected, then leaves with
// Ctrl-C, and checks what is left in the terminal (replayed, scrollback included):
//   - the URL's error names the field, not the --invicti-url flag the admin never typed, and
//     wraps under its own text; once corrected, no line of the refused state is left behind
//     and the frame shows the value given;
//   - correcting the secret offers the sandbox's (never shown) secret again, pre-filled;
//   - "error: cancelled" comes after the last form, overwriting nothing.
func TestSandboxWizardCorrectionsLeaveAClearRecord(t *testing.T) {
	t.Parallel() // a PTY run waits on the child, not the CPU: it runs beside the scripts
	w := startWizard(t, 80, nil, "setup", "--sandbox")
	w.expect("Invicti        http://127.0.0.1:")
	port := w.scr.String()[w.at:]
	port = port[:strings.IndexFunc(port, func(r rune) bool { return r < '0' || r > '9' })]
	w.answer("Invicti Platform region", "\r") // the sandbox: enter its URL
	w.answer("Invicti base URL", "\x15http://evil.example\r")
	w.expect("plain http is only allowed")
	w.send("\x7f") // the first key after the error redraws the frame without it
	w.send(strings.Repeat("\x7f", len("http://evil.example")-1) + "http://127.0.0.1:" + port + "\r")
	w.answer("Do you have the SCIM client credentials?", "\r") // type them, pre-filled
	w.answer("Invicti client id", "\r")
	w.answer("Invicti client secret", "\x15wrong-secret-0123456789\r")
	w.expect("✗ The direct check with Invicti failed")
	w.answer("What do you want to correct?", "\r") // the suggested correction: the secret
	w.expect("Invicti client secret")
	w.expect("Pre-filled with the sandbox's secret")
	w.send("\r")
	w.expect("✓ Invicti accepted the client credentials")
	w.answer("Enterprise app name", "\x03") // Ctrl-C
	if code := w.wait(); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, w.record())
	}
	raw := w.record()
	if strings.Contains(raw, "--invicti-url") {
		t.Errorf("the wizard's error names a flag:\n%s", raw)
	}
	if !strings.Contains(raw, " * Invicti base URL: plain http is only allowed for loopback hosts (127.0.0.1,\n   ::1, localhost)") {
		t.Errorf("the URL's error is not wrapped under its text:\n%s", raw)
	}
	scr := w.screenRecord(80)
	if strings.Contains(scr, "For example https://invicti.example.com") {
		t.Errorf("a line of the refused URL's frame is left on screen:\n%s", scr)
	}
	for _, want := range []string{
		"  Invicti base URL\n  Tenant URL:\n    http://127.0.0.1:" + port + "/api/scim/v2\n",
		"  > http://127.0.0.1:" + port + "\n",
		"  > The client secret\n",
		"✓ Invicti accepted the client credentials",
	} {
		if !strings.Contains(scr, want) {
			t.Errorf("the terminal does not show %q:\n%s", want, scr)
		}
	}
	// The failed check's explanation stays whole: its lines as printed, in the terminal.
	_, after, _ := strings.Cut(raw, "✗ The direct check with Invicti failed")
	explained, _, _ := strings.Cut(after, "What do you want to correct?")
	explained = strings.TrimRight(explained[:strings.LastIndex(explained, "\n")], "\r\n ┃")
	if !strings.Contains(scr, "✗ The direct check with Invicti failed"+explained) {
		t.Errorf("the check's explanation was overwritten; printed:\n%s\nterminal:\n%s", explained, scr)
	}
	if !regexp.MustCompile(`\n[┃ ] Enterprise app name\n(?:.*\n)*?[┃ ] > Invicti Platform\n\n(?:enter submit\n)?error: cancelled\n`).MatchString(scr) {
		t.Errorf("\"error: cancelled\" does not follow the last form:\n%s", scr)
	}
}

// TestSandboxWizardCancelKeepsTheError: Ctrl-C while a field shows its error exits 130 and
// leaves the question, the error (both of its lines) and then "error: cancelled" in the
// terminal; the error's second line used to be overwritten by it.
func TestSandboxWizardCancelKeepsTheError(t *testing.T) {
	t.Parallel() // a PTY run waits on the child, not the CPU: it runs beside the scripts
	w := startWizard(t, 80, nil, "setup", "--sandbox")
	w.answer("Invicti Platform region", "\r")
	w.answer("Invicti base URL", "\x15http://evil.example\r")
	w.expect("plain http is only allowed")
	w.send("\x03")
	if code := w.wait(); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, w.record())
	}
	scr := w.screenRecord(80)
	want := regexp.MustCompile(`\n[┃ ] > http://evil\.example\n(?:\n)* \* Invicti base URL: plain http is only allowed for loopback hosts \(127\.0\.0\.1,\n   ::1, localhost\); expected https://HOST such as https://platform\.invicti\.com\nerror: cancelled\n`)
	if !want.MatchString(scr) {
		t.Errorf("the terminal does not show the field, its error and then \"error: cancelled\":\n%s", scr)
	}
}
