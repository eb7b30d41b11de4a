package provision

import (
	"context"
	"errors"
)

// RotateGraph is what RotateSecret needs from Graph.
type RotateGraph interface {
	SettingsGraph
	AppFinder
	SPReader
	JobLister
	JobStarter
}

// RotateRequest is the app whose Invicti credentials change, and the new ones.
type RotateRequest struct {
	ServicePrincipalID string
	JobID              string // "" finds the app's own job (OurJob)
	// Ownership: rotate-secret writes secrets only into apps invicti-scim made (OwnedApp).
	Ownership Ownership
	// Settings are the new endpoints and credentials (Notifications are kept from what
	// Entra saved).
	Settings Settings
	// Writer is the writer state recorded; "" and WriterPortal mean WriterAuto (a rotation
	// never waits for a person in the portal).
	Writer Writer
	Waiter Waiter
	// OnSaved is called once the settings are saved and tested, before the job is touched,
	// so the caller records the writer even when starting the job then fails; nil is allowed.
	OnSaved func(SaveSettingsResult) error
	// Progress receives EventBegin and EventWait (Graph replicating or throttling) for a
	// spinner; nil is allowed.
	Progress Progress
	// OnStep is told each step's result as it ends: secrets, test-connection, job; nil is
	// allowed.
	OnStep func(Step)
}

// RotateResult is what RotateSecret did.
type RotateResult struct {
	ServicePrincipalID, JobID string
	Saved                     SaveSettingsResult
}

// RotateSecret writes new Invicti credentials into the app with setup's rule for the
// settings (SaveSettings: inline Test Connection, write with the first writer Graph takes,
// read back, Test Connection with what was saved, replication waits) and setup's rule for the
// job (KeepRunning): a stopped job is started, one quarantined by the old credentials is
// restarted with reset QuarantineState, any other quarantine is left alone as a
// *QuarantineError. The direct Invicti check of the new
// credentials is the caller's first step (see Invicti.Check): nothing here runs without it.
//
// Steps are reported through OnStep. A failed
// Test Connection after the write is a *ConnectionError (the settings are saved); Graph
// 401/403 is a *PermissionError.
func RotateSecret(ctx context.Context, g RotateGraph, req RotateRequest) (*RotateResult, error) {
	step := func(id, title string, o Outcome, detail string) {
		if req.OnStep != nil {
			req.OnStep(Step{ID: id, Title: title, Outcome: o, Detail: detail})
		}
	}
	spID := req.ServicePrincipalID
	if _, err := OwnedApp(ctx, g, spID, req.Ownership); err != nil {
		return nil, PermissionHint(err, PermApplication)
	}
	jobID, err := ResolveJob(ctx, g, spID, req.JobID)
	if err != nil {
		return nil, PermissionHint(err, PermSync)
	}
	res := &RotateResult{ServicePrincipalID: spID, JobID: jobID}
	req.Progress.emit(Event{Kind: EventBegin, StepID: "secrets", Message: "Saving the new secret in Entra"})
	writer := req.Writer
	if writer == "" || writer == WriterPortal {
		writer = WriterAuto
	}
	saved, err := SaveSettings(ctx, g, SaveSettingsInput{
		ServicePrincipalID: spID, JobID: jobID, Writer: writer, KeepNotifications: true, Settings: req.Settings,
	}, req.Waiter, req.Progress)
	res.Saved = saved
	if err != nil {
		var ce *ConnectionError
		if errors.As(err, &ce) && saved.Writer != "" {
			step("secrets", "Save the new credentials", Updated, saved.Detail)
			step("test-connection", "Entra Test Connection", Failed, ce.Message)
			return res, err
		}
		step("secrets", "Save the new credentials", Failed, err.Error())
		return res, PermissionHint(err, PermSync)
	}
	step("secrets", "Save the new credentials", Updated, saved.Detail)
	step("test-connection", "Entra Test Connection", Passed, "tested before saving and with what Entra saved")
	if req.OnSaved != nil {
		if err := req.OnSaved(saved); err != nil {
			return res, err
		}
	}
	// Setup's rule for the job: the new settings passed Test Connection, so a quarantine the
	// old credentials caused is lifted; any other quarantine is a safety stop left alone.
	outcome, detail, err := KeepRunning(ctx, g, spID, jobID, true, false)
	if outcome != "" {
		step("job", "Keep the job running", outcome, detail)
	}
	if err != nil {
		return res, PermissionHint(err, PermSync)
	}
	return res, nil
}
