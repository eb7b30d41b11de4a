package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// setupSteps are the checklist lines setup prints, one per step, in order.
var setupSteps = []string{"invicti-check", "app", "tag", "job", "secrets", "test-connection", "start"}

type crashEnv struct {
	tenant *entratest.Tenant
	env    []string
	bin    string
}

func newCrashEnv(t *testing.T) *crashEnv {
	inv := scimtest.New(scimtest.Options{})
	t.Cleanup(inv.Close)
	inv.AddClient(testClientID, testSecret)
	ten := entratest.New(entratest.Options{ReplicationDelay: 150 * time.Millisecond})
	t.Cleanup(ten.Close)
	return &crashEnv{tenant: ten, bin: binary(t), env: append(os.Environ(),
		"INVICTI_SCIM_GRAPH_URL="+ten.URL, "INVICTI_SCIM_GRAPH_TOKEN="+ten.Token(),
		"INVICTI_SCIM_CONFIG_DIR="+t.TempDir(), "INVICTI_SCIM_CLIENT_ID="+testClientID,
		"INVICTI_SCIM_CLIENT_SECRET="+testSecret, "INVICTI_SCIM_INVICTI_URL="+inv.URL, "NO_COLOR=1")}
}

// assertConverged checks the end state every run must reach: one app, one job, our secrets,
// the job running, and start never called on a running job.
func (c *crashEnv) assertConverged(t *testing.T) {
	t.Helper()
	apps := c.tenant.Apps()
	if len(apps) != 1 {
		t.Fatalf("%d apps, want 1", len(apps))
	}
	a := apps[0]
	if len(a.Jobs) != 1 {
		t.Fatalf("%d jobs, want 1", len(a.Jobs))
	}
	if a.Secrets["Oauth2ClientSecret"] != testSecret || a.Secrets["Oauth2ClientId"] != testClientID || a.Secrets["SyncAll"] != "false" {
		t.Fatalf("secrets %v", a.Secrets)
	}
	if j := a.Jobs[0]; j.ScheduleState != "Active" || j.StartWhileActive != 0 {
		t.Fatalf("job %+v", j)
	}
}

func (c *crashEnv) rerun(t *testing.T) {
	t.Helper()
	cmd := exec.Command(c.bin, "setup", "--non-interactive")
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
}

// TestCrashAtEveryStep kills setup (SIGKILL, and separately SIGINT) right after step N ends,
// for every N, then re-runs it: every sequence must converge.
func TestCrashAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns dozens of processes")
	}
	for n := 1; n < len(setupSteps); n++ {
		for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
			t.Run(fmt.Sprintf("after %s %s", setupSteps[n-1], sig), func(t *testing.T) {
				t.Parallel()
				c := newCrashEnv(t)
				cmd := exec.Command(c.bin, "setup", "--non-interactive")
				cmd.Env = c.env
				stderr := &screen{}
				cmd.Stderr = stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(30 * time.Second)
				for strings.Count(stderr.String(), "\n✓ ")+boolInt(strings.HasPrefix(stderr.String(), "✓ ")) < n && time.Now().Before(deadline) {
					time.Sleep(2 * time.Millisecond)
				}
				_ = cmd.Process.Signal(sig)
				err := cmd.Wait()
				if sig == syscall.SIGINT {
					var ee *exec.ExitError
					if errors.As(err, &ee) && ee.ExitCode() != 130 {
						t.Fatalf("SIGINT: exit %d, want 130\n%s", ee.ExitCode(), stderr.String())
					}
				}
				c.rerun(t)
				c.assertConverged(t)
			})
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestGraphFailureAtEveryStep injects one 500 (not retried: the run fails) and, separately,
// one 503 on each step's write, then re-runs. A 503 is retried in the same run only for writes
// that are safe to send twice, or that setup guards by looking before it sends again (the job);
// the app create and start are never sent twice (Graph may have applied them before
// answering), so that run fails and the re-run, which looks first, converges.
func TestGraphFailureAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns dozens of processes")
	}
	writes := []struct {
		step, method, path string
		resent             bool // a 503 is retried within the run
	}{
		{"app", http.MethodPost, `/instantiate$`, false},
		{"tag", http.MethodPatch, `^/v1.0/servicePrincipals/[^/]+$`, true},
		// The job create is retried by setup itself, which lists the jobs before each resend.
		{"job", http.MethodPost, `/synchronization/jobs$`, true},
		{"secrets", http.MethodPut, `/synchronization/secrets$`, true},
		{"test-connection", http.MethodPost, `/validateCredentials$`, true},
		{"start", http.MethodPost, `/start$`, false},
	}
	for _, w := range writes {
		for _, status := range []int{500, 503} {
			t.Run(fmt.Sprintf("%s %d", w.step, status), func(t *testing.T) {
				t.Parallel()
				c := newCrashEnv(t)
				c.tenant.InjectFault(entratest.Fault{Method: w.method, Path: regexp.MustCompile(w.path), Status: status, Times: 1})
				cmd := exec.Command(c.bin, "setup", "--non-interactive")
				cmd.Env = c.env
				out, err := cmd.CombinedOutput()
				if status == 503 && w.resent && err != nil {
					t.Fatalf("a single 503 must be retried within the run: %v\n%s", err, out)
				}
				if (status == 500 || !w.resent) && err == nil {
					t.Fatalf("a %d on %s should fail the run, not be sent twice\n%s", status, w.step, out)
				}
				c.rerun(t)
				c.assertConverged(t)
			})
		}
	}
}
