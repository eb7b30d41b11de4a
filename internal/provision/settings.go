package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// Writer is how the provisioning settings get into Entra (--settings-writer).
type Writer string

// Writers, in the order "auto" tries them.
const (
	// WriterAuto tries secrets, then connectivity, then the portal.
	WriterAuto Writer = "auto"
	// WriterSecrets is the documented PUT /v1.0/servicePrincipals/{id}/synchronization/secrets.
	WriterSecrets Writer = "secrets"
	// WriterConnectivity is the undocumented beta connectivityParameters PATCH (experimental).
	WriterConnectivity Writer = "connectivity"
	// WriterPortal is the guided step: the admin enters the values in the Entra portal.
	WriterPortal Writer = "portal"
)

// Writers lists the accepted --settings-writer values.
var Writers = []Writer{WriterAuto, WriterSecrets, WriterConnectivity, WriterPortal}

// ParseWriter validates a --settings-writer value.
func ParseWriter(s string) (Writer, error) {
	for _, w := range Writers {
		if strings.EqualFold(strings.TrimSpace(s), string(w)) {
			return w, nil
		}
	}
	return "", fmt.Errorf("--settings-writer %q: must be one of auto, secrets, connectivity, portal", s)
}

// Experimental reports whether the writer relies on an undocumented endpoint.
func (w Writer) Experimental() bool { return w == WriterConnectivity }

// plan is the writers to try for a choice, in order.
func (w Writer) plan() []Writer {
	switch w {
	case WriterSecrets, WriterConnectivity, WriterPortal:
		return []Writer{w}
	}
	return []Writer{WriterSecrets, WriterConnectivity, WriterPortal}
}

// SettingsNotSavedError means Graph accepted a PUT (204) but the read-back lacks keys we
// sent, twice: the settings were not persisted. The CLI exits 1.
type SettingsNotSavedError struct {
	Missing []string
}

func (e *SettingsNotSavedError) Error() string {
	return fmt.Sprintf("the provisioning settings were not saved: Entra answered the PUT with success, but reading them back lacks %s (after one retry with the full set)", strings.Join(e.Missing, ", "))
}

// Hint says what to do.
func (e *SettingsNotSavedError) Hint() string {
	return "nothing usable is saved; run setup again, or use --settings-writer portal to enter the values in the Entra portal; `invicti-scim doctor --show-settings` lists what Entra stores"
}

// RefusedError means every writer that was allowed was refused; Refusals say why.
type RefusedError struct {
	Refusals []string
}

func (e *RefusedError) Error() string {
	return "Graph did not take the provisioning settings: " + strings.Join(e.Refusals, "; ")
}

// Hint says what to do.
func (e *RefusedError) Hint() string {
	return "run `invicti-scim setup --settings-writer portal` (or auto) to enter the values in the Entra portal instead"
}

// settingsWrite is the one rule for saving provisioning settings, shared by setup and
// rotate-secret: test the exact key set inline (as the portal's Test Connection does), write
// it, read it back, and have Entra validate what it saved. A writer that Graph refuses hands
// over to the next one; the guided portal step is the caller's (it needs a person).
// SettingsGraph is what saving the provisioning settings needs from Graph.
type SettingsGraph interface {
	Secrets(ctx context.Context, spID string) ([]graph.KeyValue, error)
	PutSecrets(ctx context.Context, spID string, kv []graph.KeyValue) error
	PatchConnectivityParameters(ctx context.Context, spID string, kv []graph.KeyValue) error
	ValidateCredentials(ctx context.Context, spID, jobID string, useSaved bool, creds []graph.KeyValue) error
}

type settingsWrite struct {
	graph    SettingsGraph
	spID     string
	jobID    string
	want     Settings
	waiter   func(what string) Waiter
	fresh    bool
	progress Progress

	inlineTested bool
}

// writeResult is a writer that succeeded.
type writeResult struct {
	writer    Writer
	detail    string
	validated bool // Entra's Test Connection already passed with the saved settings
}

// errRefusal is a writer Graph would not take; the next writer may.
type errRefusal struct {
	writer Writer
	reason string
}

func (e *errRefusal) Error() string { return fmt.Sprintf("%s writer: %s", e.writer, e.reason) }

// firstAccepted tries the automatic writers of plan in order (the portal is the caller's: it
// needs a person) and returns the first that Graph took. Each refusal is told to onRefused,
// with whether another automatic writer follows; when all are refused, refusals says why.
func (s *settingsWrite) firstAccepted(ctx context.Context, plan []Writer, onRefused func(reason string, more bool)) (res writeResult, refusals []string, err error) {
	var auto []Writer
	for _, w := range plan {
		if w != WriterPortal {
			auto = append(auto, w)
		}
	}
	for i, w := range auto {
		res, err := s.write(ctx, w)
		var ref *errRefusal
		if errors.As(err, &ref) {
			refusals = append(refusals, ref.Error())
			onRefused(ref.Error(), i < len(auto)-1)
			continue
		}
		return res, refusals, err
	}
	return writeResult{}, refusals, nil
}

// write tries one writer (never the portal).
func (s *settingsWrite) write(ctx context.Context, w Writer) (writeResult, error) {
	if err := s.inlineTest(ctx, w); err != nil {
		return writeResult{}, err
	}
	switch w {
	case WriterSecrets:
		return s.writeSecrets(ctx)
	case WriterConnectivity:
		return s.writeConnectivity(ctx)
	}
	return writeResult{}, fmt.Errorf("writer %q cannot be applied automatically", w)
}

// inlineTest is Entra's Test Connection with the key set inline (useSavedCredentials:false),
// before anything is saved: if Entra cannot get a token or query Invicti with these values,
// nothing is written.
func (s *settingsWrite) inlineTest(ctx context.Context, w Writer) error {
	if s.inlineTested {
		return nil
	}
	err := s.waiter("the provisioning service").do(ctx, "test the settings", retrySync, s.fresh, func() error {
		return s.graph.ValidateCredentials(ctx, s.spID, s.jobID, false, SecretKeys(s.want))
	})
	switch {
	case err == nil:
		s.inlineTested = true
		return nil
	case graph.IsKeyRejected(err):
		// Graph will not even test these keys; the next writer gets its chance (its saved
		// settings are validated after the write instead).
		return &errRefusal{writer: w, reason: "Graph refused the key set in Test Connection (" + shortMsg(err) + ")"}
	case graph.IsAuth(err):
		return authErr("test the settings", PermSync, err)
	}
	side := testSide(err)
	msg := "Entra's Test Connection with the new settings failed"
	if side != SideUnknown {
		msg += " at the " + string(side)
	}
	return &ConnectionError{
		Layer:   "entra",
		Message: msg + ": " + shortMsg(err),
		Fix: "nothing was saved. The direct check from this machine passed (Invicti issued a token for " + s.want.Credentials.ClientID +
			" and answered the SCIM query), so Entra's side differs: it must reach " + s.want.Endpoints.BaseURL +
			" from Microsoft's cloud (IP allow-lists, firewalls), use the Token Endpoint exactly as shown, and send the client secret in HTTP Basic",
		Err: err,
	}
}

// writeSecrets is the documented writer: PUT …/secrets with key set v2, then read back.
func (s *settingsWrite) writeSecrets(ctx context.Context) (writeResult, error) {
	kv := SecretKeys(s.want)
	put := func() error {
		return s.waiter("the provisioning service").do(ctx, "save settings", retrySync, s.fresh, func() error {
			return s.graph.PutSecrets(ctx, s.spID, kv)
		})
	}
	if err := put(); err != nil {
		if graph.IsKeyRejected(err) {
			return writeResult{}, &errRefusal{writer: WriterSecrets, reason: "Graph refused the key set (" + shortMsg(err) + ")"}
		}
		return writeResult{}, authErr("save the provisioning settings", PermSync, err)
	}
	missing, err := s.readBack(ctx, kv)
	if err != nil {
		return writeResult{}, err
	}
	if len(missing) > 0 {
		// A 204 alone proves nothing: a PUT can be dropped silently (the onboarding agent
		// saw it for a PUT without SyncNotificationSettings and SyncAll). Once more, whole.
		s.progress.emit(Event{Kind: EventWait, Message: "Entra did not keep " + strings.Join(missing, ", ") + "; saving the full set once more"})
		if err := put(); err != nil {
			return writeResult{}, authErr("save the provisioning settings", PermSync, err)
		}
		if missing, err = s.readBack(ctx, kv); err != nil {
			return writeResult{}, err
		}
		if len(missing) > 0 {
			return writeResult{}, &SettingsNotSavedError{Missing: missing}
		}
	}
	return writeResult{writer: WriterSecrets, detail: "key set " + KeySetName + " (" + strings.Join(SecretKeyNames(), ", ") + "), tested before saving and read back; secret values are write-only"}, nil
}

// readBack lists the keys of kv that GET …/secrets does not return.
func (s *settingsWrite) readBack(ctx context.Context, kv []graph.KeyValue) ([]string, error) {
	var saved Saved
	err := s.waiter("the provisioning service").do(ctx, "read settings back", retrySync, s.fresh, func() error {
		got, e := s.graph.Secrets(ctx, s.spID)
		saved = NewSaved(got)
		return e
	})
	if err != nil {
		return nil, authErr("read the provisioning settings back", PermSync, err)
	}
	return saved.Missing(kv), nil
}

// writeConnectivity is the experimental second writer: SyncAll and SyncNotificationSettings
// with a PUT of their own (they are not connectivity parameters), then the beta PATCH, and it
// counts only if Entra's Test Connection passes with what was saved.
func (s *settingsWrite) writeConnectivity(ctx context.Context) (writeResult, error) {
	err := s.waiter("the provisioning service").do(ctx, "save connectivity parameters", retrySync, s.fresh, func() error {
		return s.graph.PatchConnectivityParameters(ctx, s.spID, ConnectivityParameters(s.want))
	})
	switch {
	case err == nil:
	case graph.IsAuth(err):
		return writeResult{}, authErr("save the connectivity parameters", PermSync, err)
	default:
		return writeResult{}, &errRefusal{writer: WriterConnectivity, reason: "the beta connectivityParameters endpoint did not take the settings (" + shortMsg(err) + ")"}
	}
	// SyncAll and SyncNotificationSettings are not connectivity parameters; they go with a
	// PUT of their own, after the PATCH so that a refused PATCH leaves nothing half-written.
	if err := s.putScopeKeys(ctx); err != nil {
		return writeResult{}, err
	}
	if missing, err := s.readBack(ctx, ConnectivityParameters(s.want)); err != nil {
		return writeResult{}, err
	} else if len(missing) > 0 {
		return writeResult{}, &SettingsNotSavedError{Missing: missing}
	}
	err = s.waiter("the provisioning service").do(ctx, "validate credentials", retrySync, s.fresh, func() error {
		return s.graph.ValidateCredentials(ctx, s.spID, s.jobID, true, nil)
	})
	switch {
	case err == nil:
	case graph.IsAuth(err):
		return writeResult{}, authErr("test the connection", PermSync, err)
	default:
		return writeResult{}, &errRefusal{writer: WriterConnectivity, reason: "Entra's Test Connection failed with what the experimental writer saved (" + shortMsg(err) + ")"}
	}
	return writeResult{writer: WriterConnectivity, validated: true,
		detail: "EXPERIMENTAL: saved through the undocumented beta connectivityParameters endpoint; Entra's Test Connection passes with them"}, nil
}

// putScopeKeys saves SyncAll and SyncNotificationSettings and checks that they stuck.
func (s *settingsWrite) putScopeKeys(ctx context.Context) error {
	kv := scopeKeys(s.want)
	err := s.waiter("the provisioning service").do(ctx, "save scope settings", retrySync, s.fresh, func() error {
		return s.graph.PutSecrets(ctx, s.spID, kv)
	})
	if err != nil {
		return authErr("save SyncAll and SyncNotificationSettings", PermSync, err)
	}
	missing, err := s.readBack(ctx, kv)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return &SettingsNotSavedError{Missing: missing}
	}
	return nil
}

// SaveSettingsInput is what SaveSettings needs.
type SaveSettingsInput struct {
	ServicePrincipalID, JobID string
	Settings                  Settings
	// Writer: the writer state recorded, or WriterAuto. The portal is never automatic: when
	// every writer is refused, SaveSettings returns a *RefusedError.
	Writer Writer
	// KeepNotifications keeps the saved SyncNotificationSettings (rotate-secret changes the
	// secret, not the admin's notification choices).
	KeepNotifications bool
}

// SaveSettingsResult says how the settings were saved.
type SaveSettingsResult struct {
	Writer Writer
	Detail string
	// Validated: Entra's Test Connection passed with what was saved.
	Validated bool
}

// SaveSettings saves provisioning settings outside setup (rotate-secret), with setup's rule:
// inline Test Connection → write → read back → Test Connection with what was saved.
func SaveSettings(ctx context.Context, g SettingsGraph, in SaveSettingsInput, w Waiter, progress Progress) (SaveSettingsResult, error) {
	want := in.Settings
	if in.KeepNotifications {
		kv, err := g.Secrets(ctx, in.ServicePrincipalID)
		if err != nil {
			return SaveSettingsResult{}, authErr("read the provisioning settings", PermSync, err)
		}
		want.Notifications = want.Notifications.keptFrom(NewSaved(kv), false, false)
	}
	sw := &settingsWrite{graph: g, spID: in.ServicePrincipalID, jobID: in.JobID, want: want, waiter: func(string) Waiter { return w }, progress: progress}
	res, refusals, err := sw.firstAccepted(ctx, in.Writer.plan(), func(reason string, more bool) {
		if more {
			progress.emit(Event{Kind: EventWait, Message: reason + "; trying the next way"})
		}
	})
	if err != nil {
		return SaveSettingsResult{}, err
	}
	if res.writer != "" {
		if !res.validated {
			err := w.do(ctx, "validate credentials", retrySync, false, func() error {
				return g.ValidateCredentials(ctx, in.ServicePrincipalID, in.JobID, true, nil)
			})
			if err != nil {
				if graph.IsAuth(err) {
					return SaveSettingsResult{}, authErr("test the connection", PermSync, err)
				}
				return SaveSettingsResult{Writer: res.writer, Detail: res.detail}, &ConnectionError{Layer: "entra", Message: shortMsg(err),
					Fix: "the new settings are saved, but Entra cannot use them; check `invicti-scim status`", Err: err}
			}
		}
		return SaveSettingsResult{Writer: res.writer, Detail: res.detail, Validated: true}, nil
	}
	if len(refusals) == 0 {
		refusals = append(refusals, "the settings writer "+string(in.Writer)+" needs a person in the Entra portal")
	}
	return SaveSettingsResult{}, &RefusedError{Refusals: refusals}
}
