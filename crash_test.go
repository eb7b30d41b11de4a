package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// crashPoints are setup's writes in the order it sends them, one per step: the crash tests
// kill the run right after it has read the answer to one of them.
var crashPoints = []struct {
	step, method, path string
	nth                int // the n-th matching request (Test Connection runs before and after the save)
}{
	{"invicti-check", http.MethodGet, `/scim/v2/Users$`, 1},
	{"app", http.MethodPost, `/instantiate$`, 1},
	{"tag", http.MethodPatch, `^/v1.0/servicePrincipals/[^/]+$`, 1},
	{"job", http.MethodPost, `/synchronization/jobs$`, 1},
	{"secrets", http.MethodPut, `/synchronization/secrets$`, 1},
	{"test-connection", http.MethodPost, `/validateCredentials$`, 2},
	{"start", http.MethodPost, `/start$`, 1},
}

type crashEnv struct {
	tenant    *entratest.Tenant
	env       []string
	bin       string
	configDir string
}

func newCrashEnv(t *testing.T) *crashEnv {
	inv := scimtest.New(scimtest.Options{})
	t.Cleanup(inv.Close)
	inv.AddClient(testClientID, testSecret)
	ten := entratest.New(entratest.Options{ReplicationDelay: 150 * time.Millisecond})
	t.Cleanup(ten.Close)
	dir := t.TempDir()
	return &crashEnv{tenant: ten, bin: binary(t), configDir: dir, env: append(os.Environ(),
		"INVICTI_SCIM_GRAPH_URL="+ten.URL, "INVICTI_SCIM_GRAPH_TOKEN="+ten.Token(),
		"INVICTI_SCIM_CONFIG_DIR="+dir, "INVICTI_SCIM_CLIENT_ID="+testClientID,
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

// rerun runs setup again as an admin would after Entra's replication window: a create the
// first run sent is recorded in state with its time, and a re-run straight away waits up to
// provision.PendingCreateWindow for it to show (internal/provision's
// TestPendingJobWaitsOnlyTheRestOfTheWindow covers that wait in virtual time). The emulator's
// own replication delay is 150 ms, so a short pause lets what the first run made show.
func (c *crashEnv) rerun(t *testing.T) {
	t.Helper()
	store := state.Store{Dir: c.configDir}
	st, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if st.Setup.Pending != nil {
		st.Setup.Pending.At = st.Setup.Pending.At.Add(-provision.PendingCreateWindow)
		if err := store.Save(st); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	cmd := exec.Command(c.bin, "setup", "--non-interactive")
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
}

// TestCrashAtEveryStep kills setup (SIGKILL, and separately SIGINT) right after it has read
// Graph's (or Invicti's) answer to each step's write, before it records it, then re-runs it:
// every sequence must converge.
func TestCrashAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns dozens of processes")
	}
	for _, p := range crashPoints {
		for _, sig := range []string{"KILL", "INT"} {
			t.Run(fmt.Sprintf("after %s %s", p.step, sig), func(t *testing.T) {
				t.Parallel()
				c := newCrashEnv(t)
				cmd := exec.Command(c.bin, "setup", "--non-interactive")
				cmd.Env = append(slices.Clip(c.env), fmt.Sprintf("%s=%s %s %d %s", killAfterEnv, p.method, p.path, p.nth, sig))
				out, err := cmd.CombinedOutput()
				code := 0
				if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				switch {
				case sig == "KILL" && code != -1:
					t.Fatalf("SIGKILL after %s: exit %d, want killed\n%s", p.step, code, out)
				case sig == "INT" && p.step == "start" && code == 0:
					// Ctrl-C after the last write: the work is done and the run says so.
				case sig == "INT" && code != 130:
					t.Fatalf("SIGINT after %s: exit %d, want 130\n%s", p.step, code, out)
				}
				c.rerun(t)
				c.assertConverged(t)
			})
		}
	}
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
