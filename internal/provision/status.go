package provision

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// Health is the overall verdict of status.
type Health string

const (
	Healthy       Health = "healthy"
	NotConfigured Health = "not-configured"
	Quarantined   Health = "quarantined"
	Failing       Health = "failing"
	Paused        Health = "paused"
	Missing       Health = "missing"
)

// Status is everything `status` reports about the app.
type Status struct {
	Health             Health          `json:"health"`
	Summary            string          `json:"summary"`
	AppName            string          `json:"appName"`
	AppID              string          `json:"appId"`
	ServicePrincipalID string          `json:"servicePrincipalId"`
	PortalURL          string          `json:"portalUrl,omitempty"`
	ProvisioningURL    string          `json:"provisioningUrl,omitempty"`
	Job                *JobView        `json:"job,omitempty"`
	SecretKeys         []string        `json:"secretKeys"`
	Settings           *SettingsView   `json:"settings,omitempty"`
	AssignedUsers      int             `json:"assignedUsers"`
	AssignedGroups     int             `json:"assignedGroups"`
	Quarantine         *QuarantineView `json:"quarantine,omitempty"`
	Problems           []string        `json:"problems,omitempty"`
	Fixes              []string        `json:"fixes,omitempty"`
}

// SettingsView describes the saved provisioning settings without any secret value.
type SettingsView struct {
	// KeySet is the version the saved keys amount to (KeySetName, KeySetV1, or "" when
	// neither); StateKeySet and Writer are what setup recorded in state.
	KeySet       string `json:"keySet"`
	StateKeySet  string `json:"stateKeySet,omitempty"`
	Writer       string `json:"writer,omitempty"`
	Experimental bool   `json:"experimental,omitempty"`
	// ClientCredentials: AuthenticationType selects the client-credentials grant.
	ClientCredentials bool               `json:"clientCredentials"`
	Notifications     *NotificationsJSON `json:"notifications,omitempty"`
	// Mixed lists bearer or pre-minted token keys saved beside the client-credentials ones.
	Mixed []string `json:"mixedKeys,omitempty"`
}

// OutdatedSettings is the message for key set v1 (no AuthenticationType).
const OutdatedSettings = "Entra will not fetch a token with these settings (key set " + KeySetV1 + ", no AuthenticationType); run `invicti-scim setup` again"

// NewSettingsView summarises saved settings and what state recorded.
func NewSettingsView(saved Saved, stateKeySet, writer string, experimental bool) *SettingsView {
	v := &SettingsView{KeySet: saved.KeySet(), StateKeySet: stateKeySet, Writer: writer, Experimental: experimental,
		ClientCredentials: saved.ClientCredentials(), Mixed: saved.MixedKeys()}
	if n, ok := saved.Notifications(); ok {
		v.Notifications = n.toJSON()
	}
	return v
}

// Outdated reports settings Entra fetches no token with: saved keys of set v1, or state
// that says v1 while the saved keys do not select the method.
func (v *SettingsView) Outdated() bool {
	if v == nil || v.ClientCredentials {
		return false
	}
	return v.KeySet == KeySetV1 || v.StateKeySet == KeySetV1
}

// JobView is the job's state, flattened for output.
type JobView struct {
	ID                      string           `json:"id"`
	ScheduleState           string           `json:"scheduleState"`
	StatusCode              string           `json:"statusCode"`
	Interval                string           `json:"interval"`
	LastExecution           *ExecutionView   `json:"lastExecution,omitempty"`
	LastSuccessfulExecution *ExecutionView   `json:"lastSuccessfulExecution,omitempty"`
	SteadyState             *time.Time       `json:"steadyStateLastAchievedTime,omitempty"`
	SuccessiveFailures      int64            `json:"countSuccessiveCompleteFailures"`
	Synchronized            map[string]int64 `json:"synchronizedEntryCountByType,omitempty"`
}

// ExecutionView is one cycle.
type ExecutionView struct {
	State    string     `json:"state"`
	Began    *time.Time `json:"timeBegan,omitempty"`
	Ended    *time.Time `json:"timeEnded,omitempty"`
	Imported int64      `json:"countImported"`
	Exported int64      `json:"countExported"`
	Escrowed int64      `json:"countEscrowed"`
	Error    string     `json:"error,omitempty"`
}

// QuarantineView explains a quarantine in plain words.
type QuarantineView struct {
	Reason      string     `json:"reason"`
	Explanation string     `json:"explanation"`
	Fix         string     `json:"fix"`
	Since       *time.Time `json:"since,omitempty"`
	NextAttempt *time.Time `json:"nextAttempt,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// QuarantineReasons maps Graph's quarantine reasons to an explanation and a fix.
var QuarantineReasons = map[string][2]string{
	"EncounteredQuarantineException": {"Entra cannot authenticate to Invicti: the saved client id/secret or token endpoint are rejected, or Invicti is unreachable from Microsoft's cloud.",
		"Check the credentials with `invicti-scim test-connection`; if Invicti rotated or revoked them, run `invicti-scim rotate-secret`, then `invicti-scim job restart`."},
	"EncounteredBaseEscrowThreshold": {"Too many individual users or groups failed to provision (escrows) in a row.",
		"Read the failures with `invicti-scim logs --status failure`, fix the data or the attribute mappings, then `invicti-scim job restart`."},
	"EncounteredTotalEscrowThreshold": {"The number of failed objects passed Entra's total limit.",
		"Read `invicti-scim logs --status failure`, fix the causes, then `invicti-scim job restart`."},
	"EncounteredEscrowProportionThreshold": {"A large share of the objects in the last cycle failed.",
		"Read `invicti-scim logs --status failure`, fix the causes, then `invicti-scim job restart`."},
	"TooManyDeletes": {"The cycle would delete more accounts than the accidental-deletions threshold allows.",
		"If the deletions are intended, approve them in the portal (Provisioning → Settings) or raise the threshold, then `invicti-scim job restart`."},
	"QuarantinedOnDemand":  {"Someone placed the job in quarantine on purpose.", "Run `invicti-scim job start` when ready."},
	"IngestionInterrupted": {"Entra's ingestion was interrupted.", "Run `invicti-scim job restart`."},
	"Unknown":              {"Entra gave no reason.", "Read `invicti-scim logs --status failure` and run `invicti-scim doctor`."},
}

// quarantineOf explains a quarantined job's quarantine (Unknown when Graph gives no details).
func quarantineOf(job graph.Job) *QuarantineView {
	if q := ExplainQuarantine(job.Status.Quarantine); q != nil {
		return q
	}
	return ExplainQuarantine(&graph.Quarantine{Reason: "Unknown"})
}

// ExplainQuarantine turns a quarantine into plain words.
func ExplainQuarantine(q *graph.Quarantine) *QuarantineView {
	if q == nil {
		return nil
	}
	v := &QuarantineView{Reason: q.Reason, Since: setTime(q.CurrentBegan), NextAttempt: setTime(q.NextAttempt)}
	if q.Error != nil {
		v.Error = strings.TrimSpace(q.Error.Code + ": " + q.Error.Message)
	}
	e, ok := QuarantineReasons[q.Reason]
	if !ok {
		e = QuarantineReasons["Unknown"]
	}
	v.Explanation, v.Fix = e[0], e[1]
	return v
}

// StatusGraph is what StatusReader needs from Graph.
type StatusGraph interface {
	SPReader
	JobLister
	Secrets(ctx context.Context, spID string) ([]graph.KeyValue, error)
	Assignments(ctx context.Context, spID string) ([]graph.Assignment, error)
}

// StatusReader gathers status.
type StatusReader struct {
	Graph StatusGraph
	Cloud graph.Cloud
	// KeySet, Writer and Experimental are what state recorded about the settings.
	KeySet       string
	Writer       string
	Experimental bool
	// NamedBy is the flag that named the app ("--sp-id" or "--app-id"; "" when it is the app
	// recorded by setup): a missing app then reads as a wrong id, not a deleted app.
	NamedBy string
}

// ErrAppMissing means the app recorded in state is gone from the tenant.
var ErrAppMissing = errors.New("app missing")

// Read reports on the app and its job. A missing app is a status (Missing), not an error.
func (s *StatusReader) Read(ctx context.Context, spID, jobID string) (*Status, error) {
	st := &Status{ServicePrincipalID: spID, SecretKeys: []string{}}
	sp, err := s.Graph.ServicePrincipal(ctx, spID)
	if err != nil {
		if graph.IsNotFound(err) {
			st.Health = Missing
			st.Summary = "the enterprise app recorded by setup no longer exists (deleted in the portal?)"
			fix := "run `invicti-scim setup` to create it again, or `invicti-scim teardown` to forget it"
			if s.NamedBy != "" {
				st.Summary = "no enterprise app with servicePrincipal " + spID + " in this tenant"
				fix = NamedAppMissing(s.NamedBy, spID)
			}
			st.Fixes = append(st.Fixes, fix)
			return st, nil
		}
		return nil, authErr("read the app", PermApplication, err)
	}
	st.AppName, st.AppID = sp.DisplayName, sp.AppID
	st.PortalURL, st.ProvisioningURL = s.Cloud.OverviewBlade(sp.ID, sp.AppID), s.Cloud.ProvisioningBlade(sp.ID, sp.AppID)

	jobs, err := s.Graph.Jobs(ctx, spID)
	if err != nil {
		return nil, authErr("read the provisioning job", PermSync, err)
	}
	job := OurJob(jobs, jobID)
	if job == nil {
		st.Health = NotConfigured
		st.Summary = "the app has no provisioning job"
		st.Fixes = append(st.Fixes, "run `invicti-scim setup`")
	} else {
		st.Job = jobView(job)
	}

	if saved, err := s.Graph.Secrets(ctx, spID); err == nil {
		for _, kv := range saved {
			if kv.Value != "" {
				st.SecretKeys = append(st.SecretKeys, kv.Key)
			}
		}
		sort.Strings(st.SecretKeys)
		if len(saved) > 0 {
			st.Settings = NewSettingsView(NewSaved(saved), s.KeySet, s.Writer, s.Experimental)
		}
	} else if !graph.IsNotFound(err) {
		return nil, authErr("read the provisioning settings", PermSync, err)
	}
	as, err := s.Graph.Assignments(ctx, spID)
	if err != nil {
		return nil, authErr("list assignments", PermApplication, err)
	}
	for _, a := range as {
		if strings.EqualFold(a.PrincipalType, "Group") {
			st.AssignedGroups++
		} else {
			st.AssignedUsers++
		}
	}
	if job != nil {
		s.judge(st, job)
	}
	return st, nil
}

func jobView(j *graph.Job) *JobView {
	v := &JobView{ID: j.ID, ScheduleState: j.Schedule.State, StatusCode: j.Status.Code, Interval: j.Schedule.Interval,
		SteadyState: setTime(j.Status.SteadyStateLastAchievedTime), SuccessiveFailures: j.Status.CountSuccessiveCompleteFailures}
	v.LastExecution = execView(j.Status.LastExecution)
	v.LastSuccessfulExecution = execView(j.Status.LastSuccessfulExecution)
	if len(j.Status.SynchronizedEntryCountByType) > 0 {
		v.Synchronized = map[string]int64{}
		for _, kc := range j.Status.SynchronizedEntryCountByType {
			v.Synchronized[kc.Key] = kc.Value
		}
	}
	return v
}

func execView(e *graph.TaskExecution) *ExecutionView {
	if e == nil {
		return nil
	}
	v := &ExecutionView{State: e.State, Began: setTime(e.TimeBegan), Ended: setTime(e.TimeEnded), Imported: e.CountImported, Exported: e.CountExported, Escrowed: e.CountEscrowed}
	if e.Error != nil {
		v.Error = strings.TrimSpace(e.Error.Code + ": " + e.Error.Message)
	}
	return v
}

func (s *StatusReader) judge(st *Status, job *graph.Job) {
	hasBase := false
	for _, k := range st.SecretKeys {
		hasBase = hasBase || strings.EqualFold(k, KeyBaseAddress)
	}
	if st.Settings.Outdated() {
		st.Problems = append(st.Problems, OutdatedSettings)
		st.Fixes = append(st.Fixes, "run `invicti-scim setup` again: it upgrades the settings to key set "+KeySetName+" on the same app and job")
	}
	if st.Settings != nil && st.Settings.Experimental {
		st.Problems = append(st.Problems, "the settings were saved through the experimental beta connectivityParameters endpoint")
	}
	switch {
	case job.Quarantined():
		st.Health = Quarantined
		st.Quarantine = quarantineOf(*job)
		st.Summary = "provisioning is in quarantine: " + st.Quarantine.Explanation
		st.Fixes = append(st.Fixes, st.Quarantine.Fix)
	case !hasBase || strings.EqualFold(job.Status.Code, "NotConfigured"):
		st.Health = NotConfigured
		st.Summary = "provisioning credentials are not configured"
		st.Fixes = append(st.Fixes, "run `invicti-scim setup`")
	case job.Status.LastExecution != nil && strings.EqualFold(job.Status.LastExecution.State, "Failed"):
		st.Health = Failing
		st.Summary = "the last provisioning cycle failed"
		if e := job.Status.LastExecution.Error; e != nil {
			st.Problems = append(st.Problems, strings.TrimSpace(e.Code+": "+e.Message))
		}
		st.Fixes = append(st.Fixes, "read `invicti-scim logs --status failure`")
	case !job.Running():
		st.Health = Paused
		st.Summary = "provisioning is configured but not running (" + job.Schedule.State + ")"
		st.Fixes = append(st.Fixes, "run `invicti-scim job start`")
	case st.Settings.Outdated():
		st.Health = Failing
		st.Summary = "the saved provisioning settings make Entra fetch no token from Invicti"
	default:
		st.Health = Healthy
		st.Summary = "provisioning is running"
		if job.Status.LastExecution == nil {
			st.Summary += "; the first cycle has not finished yet (20–40 minutes after start)"
		}
		if st.AssignedUsers+st.AssignedGroups == 0 {
			st.Problems = append(st.Problems, "nobody is assigned to the app, so nobody is provisioned")
			st.Fixes = append(st.Fixes, "assign users or groups: `invicti-scim assign --group NAME`")
		}
	}
}

// StatusReportGraph is what ReadStatus needs from Graph.
type StatusReportGraph interface {
	StatusGraph
	SSOReadGraph
}

// StatusRequest says whose status to read.
type StatusRequest struct {
	ServicePrincipalID, JobID string
	// State supplies how setup saved the settings and the tenant id SSO needs.
	State state.State
	// Invicti, when given, adds the direct Invicti check (status never asks for a secret).
	Invicti *InvictiTarget
	Checker Checker
	Now     func() time.Time
	// Progress says what is being read (for a spinner); nil is allowed.
	Progress func(string)
	// NamedBy is the flag that named the app ("--sp-id", "--app-id"; "" = the recorded app).
	NamedBy string
}

// StatusReport is `status`: the app and job, SAML single sign-on (nil when it could not be
// read) and the direct Invicti check (nil when no secret was given). Problems found by the
// last two are added to Status.Problems.
type StatusReport struct {
	Status  *Status
	SSO     *SSOResult
	Invicti *CheckResult
}

// ReadStatus reads the app, its job and settings (StatusReader), then its single sign-on and,
// with req.Invicti, checks Invicti directly.
func ReadStatus(ctx context.Context, g StatusReportGraph, cloud graph.Cloud, req StatusRequest) (*StatusReport, error) {
	progress := func(s string) {
		if req.Progress != nil {
			req.Progress(s)
		}
	}
	st := req.State
	progress("Reading the app and its provisioning job")
	reader := &StatusReader{Graph: g, Cloud: cloud, KeySet: st.Setup.SecretsKeySet, Writer: st.Setup.SettingsWriter, Experimental: st.Setup.Experimental, NamedBy: req.NamedBy}
	status, err := reader.Read(ctx, req.ServicePrincipalID, req.JobID)
	if err != nil {
		return nil, err
	}
	rep := &StatusReport{Status: status}
	if status.Health != Missing {
		progress("Reading single sign-on")
		if sso, err := ReadSSO(ctx, g, cloud, req.Now, st, req.ServicePrincipalID); err == nil {
			rep.SSO = sso
			if problem := SSOProblem(sso); problem != "" {
				status.Problems = append(status.Problems, problem)
			}
		}
	}
	if req.Invicti != nil {
		progress("Checking Invicti directly")
		res := req.Checker.Check(ctx, req.Invicti.Endpoints, req.Invicti.Credentials)
		rep.Invicti = &res
		if !res.OK {
			problem, _ := FirstProblem(res)
			status.Problems = append(status.Problems, "Invicti rejects the direct check: "+problem)
		}
	}
	return rep, nil
}

// setTime is t, or nil when Graph sent its "never" value: a job that never reached steady state
// answers steadyStateLastAchievedTime "0001-01-01T00:00:00Z", which status must leave out, not
// print as a date.
func setTime(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	return t
}
