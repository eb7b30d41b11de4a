package provision

import (
	"errors"
	"testing"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// setUpApp runs setup against the emulators and returns the app's ids.
func setUpApp(t *testing.T) (*fixture, *SetupResult) {
	t.Helper()
	f := newFixture(t, entratest.Options{})
	res, err := f.setup.Run(t.Context(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, res
}

func TestControlJob(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	run := func(req JobRequest) *JobResult {
		t.Helper()
		req.ServicePrincipalID = res.ServicePrincipalID
		out, err := ControlJob(ctx, f.client, req)
		if err != nil {
			t.Fatalf("%s: %v", req.Action, err)
		}
		return out
	}
	// The job id is found by the one rule (OurJob) when the caller does not know it.
	if got := run(JobRequest{Action: JobStart}); got.Outcome != "already-running" || got.JobID != res.JobID {
		t.Errorf("start a running job: %+v", got)
	}
	if got := run(JobRequest{Action: JobPause}); got.Outcome != "paused" || got.ScheduleState != "Paused" {
		t.Errorf("pause: %+v", got)
	}
	if got := run(JobRequest{Action: JobPause}); got.Outcome != "already-paused" {
		t.Errorf("pause twice: %+v", got)
	}
	if got := run(JobRequest{Action: JobStart}); got.Outcome != "started" {
		t.Errorf("start: %+v", got)
	}
	_, err := ControlJob(ctx, f.client, JobRequest{ServicePrincipalID: res.ServicePrincipalID, Action: JobRestart, Reset: "Watermark",
		Confirm: func() (bool, error) { return false, nil }})
	if !errors.Is(err, ErrDeclined) {
		t.Errorf("declined restart: %v", err)
	}
	if got := run(JobRequest{Action: JobRestart, Reset: "Watermark", Confirm: func() (bool, error) { return true, nil }}); got.Outcome != "restarted" {
		t.Errorf("restart: %+v", got)
	}
}

func TestRotateSecretThenTeardown(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	f.invicti.AddClient("cid2", "the-new-secret")
	own := Ownership{TemplateID: f.cfg.Cloud.TemplateID, Recorded: res.ServicePrincipalID, What: "only ours"}
	var steps []string
	saved := false
	rot, err := RotateSecret(ctx, f.client, RotateRequest{
		ServicePrincipalID: res.ServicePrincipalID, Ownership: own, Waiter: f.setup.Waiter,
		Settings: Settings{Endpoints: f.cfg.Endpoints, Credentials: invicti.Credentials{ClientID: "cid2", ClientSecret: "the-new-secret"}},
		OnSaved:  func(SaveSettingsResult) error { saved = true; return nil },
		OnStep:   func(s Step) { steps = append(steps, s.ID+"="+string(s.Outcome)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if rot.JobID != res.JobID || !saved || !rot.Saved.Validated {
		t.Errorf("rotate: %+v, saved %v", rot, saved)
	}
	if want := []string{"secrets=updated", "test-connection=passed", "job=already-running"}; len(steps) != 3 || steps[0] != want[0] || steps[1] != want[1] || steps[2] != want[2] {
		t.Errorf("steps %v, want %v", steps, want)
	}

	// An app the state does not record and that carries no tag is not ours: nothing is deleted.
	notOurs := own
	notOurs.Recorded = ""
	if err := f.client.SetTags(ctx, res.ServicePrincipalID, []string{"WindowsAzureActiveDirectoryCustomSingleSignOnApplication"}); err != nil {
		t.Fatal(err)
	}
	var he *HintedError
	if _, err := Teardown(ctx, f.client, TeardownRequest{ServicePrincipalID: res.ServicePrincipalID, Ownership: notOurs}); !errors.As(err, &he) {
		t.Fatalf("teardown of a foreign app: %v, want a HintedError", err)
	}
	if len(f.tenant.Apps()) != 1 {
		t.Fatalf("a foreign app was deleted")
	}
	td, err := Teardown(ctx, f.client, TeardownRequest{ServicePrincipalID: res.ServicePrincipalID, Ownership: own})
	if err != nil || td.Outcome != "deleted" || td.ApplicationID == "" {
		t.Fatalf("teardown: %+v, %v", td, err)
	}
	if len(f.tenant.Apps()) != 0 {
		t.Errorf("apps left: %+v", f.tenant.Apps())
	}
	td, err = Teardown(ctx, f.client, TeardownRequest{ServicePrincipalID: res.ServicePrincipalID, Ownership: own})
	if err != nil || td.Outcome != "already-gone" {
		t.Errorf("second teardown: %+v, %v", td, err)
	}
}

func TestDoctorAfterSetup(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	st, err := f.setup.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	st.Tenant = f.tenant.TenantID() // cmd records the signed-in tenant
	rep := Doctor(ctx, DoctorRequest{
		State: st, Graph: f.client, Cloud: f.cfg.Cloud, AuthMode: "token", Checker: f.setup.Checker,
		Invicti: &InvictiTarget{Endpoints: f.cfg.Endpoints, Credentials: f.cfg.Credentials},
	})
	status := map[string]string{}
	for _, c := range rep.Checks {
		status[c.Name] = c.Status
	}
	for name, want := range map[string]string{"Invicti credentials": "ok", "App in state": "ok", "Provisioning settings": "ok", "Job in state": "ok", "Single sign-on": "skip"} {
		if status[name] != want {
			t.Errorf("%s: %q, want %q (all: %+v)", name, status[name], want, rep.Checks)
		}
	}
	if rep.Expired {
		t.Error("a valid token reads as expired")
	}

	// The app deleted behind the tool's back: the state check fails with the fix, and the
	// report is not OK.
	f.tenant.DeleteAppBehindBack(res.ServicePrincipalID)
	rep = Doctor(ctx, DoctorRequest{State: st, Graph: f.client, Cloud: f.cfg.Cloud, InvictiErr: errors.New("no secret")})
	var app DoctorCheck
	for _, c := range rep.Checks {
		if c.Name == "App in state" {
			app = c
		}
	}
	if rep.OK || app.OK || app.Fix == "" {
		t.Errorf("deleted app: OK %v, check %+v", rep.OK, app)
	}
}

// rotate-secret keeps the job by setup's rule: a quarantine the old credentials caused is
// lifted with reset QuarantineState; a safety stop (here too many deletes) is not.
func TestRotateSecretQuarantine(t *testing.T) {
	f, res := setUpApp(t)
	ctx := t.Context()
	rotate := func() ([]Step, error) {
		var steps []Step
		_, err := RotateSecret(ctx, f.client, RotateRequest{
			ServicePrincipalID: res.ServicePrincipalID, Waiter: f.setup.Waiter,
			Ownership: Ownership{TemplateID: f.cfg.Cloud.TemplateID, Recorded: res.ServicePrincipalID},
			Settings:  Settings{Endpoints: f.cfg.Endpoints, Credentials: f.cfg.Credentials},
			OnStep:    func(s Step) { steps = append(steps, s) },
		})
		return steps, err
	}
	f.tenant.Quarantine(res.ServicePrincipalID, "EncounteredQuarantineException")
	steps, err := rotate()
	if err != nil || len(steps) != 3 || steps[2].Outcome != Restarted {
		t.Fatalf("credentials quarantine: %+v, %v", steps, err)
	}
	f.tenant.Quarantine(res.ServicePrincipalID, "TooManyDeletes")
	steps, err = rotate()
	var qe *QuarantineError
	if !errors.As(err, &qe) || len(steps) != 3 || steps[2].Outcome != Failed {
		t.Fatalf("safety stop: %+v, %v; want a QuarantineError and the job left alone", steps, err)
	}
}
