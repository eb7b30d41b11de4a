package graph

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"

	"github.com/invicti-scim/invicti-scim/internal/httpx"
)

// KeyValue is one synchronization secret (or credential) entry. Keys are case-sensitive
// PascalCase names from Graph's synchronizationSecret enum.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SyncTemplate is one provisioning template offered for an app.
type SyncTemplate struct {
	ID         string `json:"id"`
	FactoryTag string `json:"factoryTag"`
	Default    bool   `json:"default"`
}

// Job is a provisioning (synchronization) job with the status fields the tool reports.
type Job struct {
	ID         string      `json:"id"`
	TemplateID string      `json:"templateId"`
	Schedule   JobSchedule `json:"schedule"`
	Status     JobStatus   `json:"status"`
}

// JobSchedule says whether the job runs and how often.
type JobSchedule struct {
	State    string `json:"state"` // Active, Disabled, Paused
	Interval string `json:"interval"`
}

// JobStatus is the job's health.
type JobStatus struct {
	Code                               string         `json:"code"` // NotConfigured, NotRun, Active, Paused, Quarantine
	CountSuccessiveCompleteFailures    int64          `json:"countSuccessiveCompleteFailures"`
	LastExecution                      *TaskExecution `json:"lastExecution"`
	LastSuccessfulExecution            *TaskExecution `json:"lastSuccessfulExecution"`
	LastSuccessfulExecutionWithExports *TaskExecution `json:"lastSuccessfulExecutionWithExports"`
	Quarantine                         *Quarantine    `json:"quarantine"`
	SteadyStateFirstAchievedTime       *time.Time     `json:"steadyStateFirstAchievedTime"`
	SteadyStateLastAchievedTime        *time.Time     `json:"steadyStateLastAchievedTime"`
	SynchronizedEntryCountByType       []KeyCount     `json:"synchronizedEntryCountByType"`
	TroubleshootingURL                 string         `json:"troubleshootingUrl"`
}

// KeyCount is a {key, value} count pair.
type KeyCount struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

// TaskExecution is one provisioning cycle.
type TaskExecution struct {
	State         string       `json:"state"` // Succeeded, Failed, EntryLevelErrors
	TimeBegan     *time.Time   `json:"timeBegan"`
	TimeEnded     *time.Time   `json:"timeEnded"`
	CountImported int64        `json:"countImported"`
	CountExported int64        `json:"countExported"`
	CountEscrowed int64        `json:"countEscrowed"`
	Error         *SyncErrInfo `json:"error"`
}

// Quarantine says why Entra stopped trying as often.
type Quarantine struct {
	Reason       string       `json:"reason"`
	CurrentBegan *time.Time   `json:"currentBegan"`
	NextAttempt  *time.Time   `json:"nextAttempt"`
	SeriesBegan  *time.Time   `json:"seriesBegan"`
	SeriesCount  int64        `json:"seriesCount"`
	Error        *SyncErrInfo `json:"error"`
}

// SyncErrInfo is a synchronization error.
type SyncErrInfo struct {
	Code             string `json:"code"`
	Message          string `json:"message"`
	TenantActionable bool   `json:"tenantActionable"`
}

func (c *Client) syncPath(spID string) string {
	return "/servicePrincipals/" + PathEscape(spID) + "/synchronization"
}

// SyncTemplates lists the provisioning templates available to the app.
func (c *Client) SyncTemplates(ctx context.Context, spID string) ([]SyncTemplate, error) {
	var res struct {
		Value []SyncTemplate `json:"value"`
	}
	err := c.raw(ctx, "list synchronization templates", http.MethodGet, c.syncPath(spID)+"/templates", nil, nil, &res)
	return res.Value, err
}

// Jobs lists the app's provisioning jobs. Hand-written (CONTRIBUTING.md, "the SDK rule"): a
// job's status carries enums Entra extends (status code, quarantine reason), and the SDK's enum
// parsers turn a value they do not know into nil (models.ParseQuarantineReason's default case),
// while status and doctor must show Entra's value as sent.
func (c *Client) Jobs(ctx context.Context, spID string) ([]Job, error) {
	var res struct {
		Value []Job `json:"value"`
	}
	err := c.raw(ctx, "list synchronization jobs", http.MethodGet, c.syncPath(spID)+"/jobs", nil, nil, &res)
	return res.Value, err
}

// Job reads one provisioning job with its full status; hand-written for the reason Jobs gives.
func (c *Client) Job(ctx context.Context, spID, jobID string) (Job, error) {
	var j Job
	err := c.raw(ctx, "get synchronization job", http.MethodGet, c.syncPath(spID)+"/jobs/"+PathEscape(jobID), nil, nil, &j)
	return j, err
}

// CreateJob creates a provisioning job from a template ("scim" for non-gallery apps).
func (c *Client) CreateJob(ctx context.Context, spID, templateID string) (Job, error) {
	body := models.NewSynchronizationJob()
	body.SetTemplateId(&templateID)
	res, err := c.sp.ByServicePrincipalId(spID).Synchronization().Jobs().Post(ctx, body, nil)
	if err != nil {
		return Job{}, convert("create synchronization job", err)
	}
	j := Job{ID: str(res.GetId()), TemplateID: str(res.GetTemplateId())}
	if s := res.GetSchedule(); s != nil && s.GetState() != nil {
		j.Schedule.State = s.GetState().String()
	}
	if st := res.GetStatus(); st != nil && st.GetCode() != nil {
		j.Status.Code = st.GetCode().String()
	}
	return j, nil
}

// Secrets reads the saved provisioning settings. Sensitive values come back masked ("*").
// The SDK has no GET for secrets and drops key names outside its enum, so this goes raw.
func (c *Client) Secrets(ctx context.Context, spID string) ([]KeyValue, error) {
	var res struct {
		Value []KeyValue `json:"value"`
	}
	err := c.raw(ctx, "read synchronization secrets", http.MethodGet, c.syncPath(spID)+"/secrets", nil, nil, &res)
	return res.Value, err
}

// PutSecrets saves provisioning settings. Raw keys are sent exactly as given, because the
// key set for the client-credentials method is not documented and may include names the
// SDK's enum does not know.
func (c *Client) PutSecrets(ctx context.Context, spID string, kv []KeyValue) error {
	body := map[string]any{"value": kv}
	return c.raw(ctx, "PUT synchronization/secrets", http.MethodPut, c.syncPath(spID)+"/secrets", nil, body, nil)
}

// PatchConnectivityParameters saves provisioning settings through the undocumented beta
// endpoint PATCH /beta/servicePrincipals/{id}/synchronization/connectivityParameters, body
// {"value":[{"key","value"}…]} with lower-case key names. Microsoft's own SCIM onboarding agent
// (docs/graph-sources.md) calls it the portal's path and uses it because the v1.0 secrets PUT
// refused Oauth2TokenExchangeUri with NotInAllowList. It is in no Graph reference page and no SDK, so it goes raw; callers treat
// it as experimental and accept it only when Entra's Test Connection then passes.
func (c *Client) PatchConnectivityParameters(ctx context.Context, spID string, kv []KeyValue) error {
	body := map[string]any{"value": kv}
	return c.rawURL(ctx, "PATCH synchronization/connectivityParameters (beta)", http.MethodPatch,
		c.betaURL+c.syncPath(spID)+"/connectivityParameters", body, nil)
}

// ValidateCredentials asks Entra to test the connection (the portal's "Test Connection").
// With useSaved, Entra uses the saved secrets; otherwise creds, inline, as the portal's
// Test Connection does before anything is saved. The inline form goes raw because the SDK's
// typed key enum would silently drop a key it does not know.
func (c *Client) ValidateCredentials(ctx context.Context, spID, jobID string, useSaved bool, creds []KeyValue) error {
	if useSaved && len(creds) == 0 {
		body := serviceprincipals.NewItemSynchronizationJobsItemValidateCredentialsPostRequestBody()
		body.SetUseSavedCredentials(&useSaved)
		err := c.sp.ByServicePrincipalId(spID).Synchronization().Jobs().BySynchronizationJobId(jobID).ValidateCredentials().Post(ctx, body, nil)
		return convert("validate credentials", err)
	}
	body := map[string]any{"useSavedCredentials": useSaved, "credentials": creds}
	return c.raw(ctx, "validate credentials", http.MethodPost, c.syncPath(spID)+"/jobs/"+PathEscape(jobID)+"/validateCredentials", nil, body, nil)
}

// StartJob starts (or resumes) the job. Never call it on a running job: Graph's docs warn
// that repeated starts can stop the service.
func (c *Client) StartJob(ctx context.Context, spID, jobID string) error {
	err := c.sp.ByServicePrincipalId(spID).Synchronization().Jobs().BySynchronizationJobId(jobID).Start().Post(ctx, nil)
	return convert("start synchronization job", err)
}

// PauseJob stops the job after its current cycle.
func (c *Client) PauseJob(ctx context.Context, spID, jobID string) error {
	err := c.sp.ByServicePrincipalId(spID).Synchronization().Jobs().BySynchronizationJobId(jobID).Pause().Post(ctx, nil)
	return convert("pause synchronization job", err)
}

// RestartJob restarts the job; resetScope is Graph's comma-separated scope ("Watermark,
// Escrows"; "" sends no criteria, the portal's default). It goes through the typed builder:
// the SDK's flags enum expresses every scope Graph documents (docs/graph-sources.md). Kiota
// writes the scopes in the enum's order without spaces, which Graph reads the same.
func (c *Client) RestartJob(ctx context.Context, spID, jobID, resetScope string) error {
	body := serviceprincipals.NewItemSynchronizationJobsItemRestartPostRequestBody()
	if strings.TrimSpace(resetScope) != "" {
		var scope models.SynchronizationJobRestartScope
		for _, part := range strings.Split(resetScope, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			v, _ := models.ParseSynchronizationJobRestartScope(part)
			s, ok := v.(*models.SynchronizationJobRestartScope)
			if !ok || s == nil {
				return fmt.Errorf("restart synchronization job: unknown reset scope %q", part)
			}
			scope |= *s
		}
		crit := models.NewSynchronizationJobRestartCriteria()
		crit.SetResetScope(&scope)
		body.SetCriteria(crit)
	}
	err := c.sp.ByServicePrincipalId(spID).Synchronization().Jobs().BySynchronizationJobId(jobID).Restart().Post(ctx, body, nil)
	return convert("restart synchronization job", err)
}

// SyncRule is one synchronization rule of a job's schema.
type SyncRule struct {
	ID                  string
	Name                string
	SourceDirectoryName string
	TargetDirectoryName string
	SourceObjects       []string // e.g. User, Group
}

// Rules reads the job's schema rules (the rule id provision-on-demand needs).
func (c *Client) Rules(ctx context.Context, spID, jobID string) ([]SyncRule, error) {
	res, err := c.sp.ByServicePrincipalId(spID).Synchronization().Jobs().BySynchronizationJobId(jobID).Schema().Get(ctx, nil)
	if err != nil {
		return nil, convert("get synchronization schema", err)
	}
	var out []SyncRule
	for _, r := range res.GetSynchronizationRules() {
		rule := SyncRule{
			ID:                  str(r.GetId()),
			Name:                str(r.GetName()),
			SourceDirectoryName: str(r.GetSourceDirectoryName()),
			TargetDirectoryName: str(r.GetTargetDirectoryName()),
		}
		for _, m := range r.GetObjectMappings() {
			rule.SourceObjects = append(rule.SourceObjects, str(m.GetSourceObjectName()))
		}
		out = append(out, rule)
	}
	return out, nil
}

// ProvisionOnDemandTimeout is the least time one provisionOnDemand request gets before it
// counts as timed out: third parties report that 30 s is often too short for it.
const ProvisionOnDemandTimeout = 90 * time.Second

// Subject is an object to provision on demand.
type Subject struct {
	ObjectID       string
	ObjectTypeName string // User or Group
	Members        []string
}

// ProvisionOnDemand provisions subjects now. Graph answers 200 even when provisioning
// failed: the verdict is JSON inside the returned key and value strings.
func (c *Client) ProvisionOnDemand(ctx context.Context, spID, jobID, ruleID string, subjects []Subject) (key, value string, err error) {
	params := models.NewSynchronizationJobApplicationParameters()
	params.SetRuleId(&ruleID)
	var subs []models.SynchronizationJobSubjectable
	for _, s := range subjects {
		sub := models.NewSynchronizationJobSubject()
		id, typ := s.ObjectID, s.ObjectTypeName
		sub.SetObjectId(&id)
		sub.SetObjectTypeName(&typ)
		if len(s.Members) > 0 {
			links := models.NewSynchronizationLinkedObjects()
			var members []models.SynchronizationJobSubjectable
			for _, m := range s.Members {
				ms := models.NewSynchronizationJobSubject()
				mid, mt := m, "User"
				ms.SetObjectId(&mid)
				ms.SetObjectTypeName(&mt)
				members = append(members, ms)
			}
			links.SetMembers(members)
			sub.SetLinks(links)
		}
		subs = append(subs, sub)
	}
	params.SetSubjects(subs)
	body := serviceprincipals.NewItemSynchronizationJobsItemProvisionOnDemandPostRequestBody()
	body.SetParameters([]models.SynchronizationJobApplicationParametersable{params})
	// Entra answers only after the whole import, match and export: give it at least 90 s.
	ctx = httpx.WithMinAttemptTimeout(ctx, ProvisionOnDemandTimeout)
	res, err := c.sp.ByServicePrincipalId(spID).Synchronization().Jobs().BySynchronizationJobId(jobID).ProvisionOnDemand().Post(ctx, body, nil)
	if err != nil {
		return "", "", convert("provision on demand", err)
	}
	if res == nil {
		return "", "", nil
	}
	return str(res.GetKey()), str(res.GetValue()), nil
}
