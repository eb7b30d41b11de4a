package graph

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
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
	b := c.servicePrincipals().ByServicePrincipalId(spID).Synchronization().Templates()
	return listAll[SyncTemplate](ctx, c, "list synchronization templates", at(abs.GET, b.BaseRequestBuilder))
}

// Jobs lists the app's provisioning jobs. Decoded into this package's Job, never the SDK's
// model (CONTRIBUTING.md, "the SDK rule"): a job's status carries enums Entra extends (status
// code, quarantine reason), and the SDK's enum parsers turn a value they do not know into nil
// (models.ParseQuarantineReason's default case), while status and doctor must show Entra's
// value as sent.
func (c *Client) Jobs(ctx context.Context, spID string) ([]Job, error) {
	b := c.servicePrincipals().ByServicePrincipalId(spID).Synchronization().Jobs()
	return listAll[Job](ctx, c, "list synchronization jobs", at(abs.GET, b.BaseRequestBuilder))
}

// Job reads one provisioning job with its full status, decoded as Jobs explains.
func (c *Client) Job(ctx context.Context, spID, jobID string) (Job, error) {
	var j Job
	err := c.send(ctx, "get synchronization job", at(abs.GET, c.job(spID, jobID).BaseRequestBuilder), nil, &j)
	return j, err
}

// CreateJob creates a provisioning job from a template ("scim" for non-gallery apps).
func (c *Client) CreateJob(ctx context.Context, spID, templateID string) (Job, error) {
	body := struct {
		TemplateID string `json:"templateId"`
	}{templateID}
	var j Job
	err := c.send(ctx, "create synchronization job", at(abs.POST, c.servicePrincipals().ByServicePrincipalId(spID).Synchronization().Jobs().BaseRequestBuilder), body, &j)
	return j, err
}

// Secrets reads the saved provisioning settings. Sensitive values come back masked ("*").
// The SDK's secrets builder has no GET, and its typed key enum drops key names it does not
// know, so the URL comes from the builder and the answer is this package's KeyValue.
func (c *Client) Secrets(ctx context.Context, spID string) ([]KeyValue, error) {
	var res struct {
		Value []KeyValue `json:"value"`
	}
	err := c.send(ctx, "read synchronization secrets", at(abs.GET, c.secrets(spID).BaseRequestBuilder), nil, &res)
	return res.Value, err
}

func (c *Client) secrets(spID string) *serviceprincipals.ItemSynchronizationSecretsRequestBuilder {
	return c.servicePrincipals().ByServicePrincipalId(spID).Synchronization().Secrets()
}

// PutSecrets saves provisioning settings. Raw keys are sent exactly as given, because the
// key set for the client-credentials method is not documented and may include names the
// SDK's enum does not know.
func (c *Client) PutSecrets(ctx context.Context, spID string, kv []KeyValue) error {
	body := map[string]any{"value": kv}
	return c.send(ctx, "PUT synchronization/secrets", at(abs.PUT, c.secrets(spID).BaseRequestBuilder), body, nil)
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
// Test Connection does before anything is saved. Key names travel exactly as given (the
// SDK's key enum would drop one it does not know).
func (c *Client) ValidateCredentials(ctx context.Context, spID, jobID string, useSaved bool, creds []KeyValue) error {
	type savedOnly struct {
		UseSavedCredentials bool `json:"useSavedCredentials"`
	}
	var body any = savedOnly{true}
	if !useSaved || len(creds) > 0 {
		body = struct {
			UseSavedCredentials bool       `json:"useSavedCredentials"`
			Credentials         []KeyValue `json:"credentials"`
		}{useSaved, creds}
	}
	ri := at(abs.POST, c.job(spID, jobID).ValidateCredentials().BaseRequestBuilder)
	return c.send(ctx, "validate credentials", ri, body, nil)
}

// job is the request builder of one provisioning job.
func (c *Client) job(spID, jobID string) *serviceprincipals.ItemSynchronizationJobsSynchronizationJobItemRequestBuilder {
	return c.servicePrincipals().ByServicePrincipalId(spID).Synchronization().Jobs().BySynchronizationJobId(jobID)
}

// StartJob starts (or resumes) the job. Never call it on a running job: Graph's docs warn
// that repeated starts can stop the service.
func (c *Client) StartJob(ctx context.Context, spID, jobID string) error {
	err := c.job(spID, jobID).Start().Post(ctx, nil)
	return convert("start synchronization job", err)
}

// PauseJob stops the job after its current cycle.
func (c *Client) PauseJob(ctx context.Context, spID, jobID string) error {
	err := c.job(spID, jobID).Pause().Post(ctx, nil)
	return convert("pause synchronization job", err)
}

// restartScopes are the members of Graph's synchronizationJobRestartScope flags enum
// (docs/graph-sources.md, the restart row; the same seven as msgraph-sdk-go's
// models.SynchronizationJobRestartScope).
var restartScopes = []string{"None", "ConnectorDataStore", "Escrows", "Watermark", "QuarantineState", "Full", "ForceDeletes"}

// RestartJob restarts the job; resetScope is Graph's comma-separated scope ("Watermark,
// Escrows"; "" sends no criteria, the portal's default). A name outside the enum is refused
// here, before anything is sent.
func (c *Client) RestartJob(ctx context.Context, spID, jobID, resetScope string) error {
	type criteria struct {
		ResetScope string `json:"resetScope"`
	}
	var body struct {
		Criteria *criteria `json:"criteria,omitempty"`
	}
	var parts []string
	for _, part := range strings.Split(resetScope, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !slices.Contains(restartScopes, part) {
			return fmt.Errorf("restart synchronization job: unknown reset scope %q", part)
		}
		if !slices.Contains(parts, part) { // a flags enum: a scope named twice is sent once
			parts = append(parts, part)
		}
	}
	if len(parts) > 0 {
		body.Criteria = &criteria{strings.Join(parts, ",")}
	}
	return c.send(ctx, "restart synchronization job", at(abs.POST, c.job(spID, jobID).Restart().BaseRequestBuilder), body, nil)
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
	var res struct {
		SynchronizationRules []struct {
			ID                  string `json:"id"`
			Name                string `json:"name"`
			SourceDirectoryName string `json:"sourceDirectoryName"`
			TargetDirectoryName string `json:"targetDirectoryName"`
			ObjectMappings      []struct {
				SourceObjectName string `json:"sourceObjectName"`
			} `json:"objectMappings"`
		} `json:"synchronizationRules"`
	}
	ri := at(abs.GET, c.job(spID, jobID).Schema().BaseRequestBuilder)
	if err := c.send(ctx, "get synchronization schema", ri, nil, &res); err != nil {
		return nil, err
	}
	var out []SyncRule
	for _, r := range res.SynchronizationRules {
		rule := SyncRule{ID: r.ID, Name: r.Name, SourceDirectoryName: r.SourceDirectoryName, TargetDirectoryName: r.TargetDirectoryName}
		for _, m := range r.ObjectMappings {
			rule.SourceObjects = append(rule.SourceObjects, m.SourceObjectName)
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
	// Graph's synchronizationJobApplicationParameters, synchronizationJobSubject and
	// synchronizationLinkedObjects resources.
	type subject struct {
		ObjectID       string `json:"objectId"`
		ObjectTypeName string `json:"objectTypeName"`
		Links          *struct {
			Members []subject `json:"members"`
		} `json:"links,omitempty"`
	}
	type parameters struct {
		RuleID   string    `json:"ruleId"`
		Subjects []subject `json:"subjects"`
	}
	if len(subjects) == 0 {
		// An OData collection cannot be null, and Graph provisions at least one subject.
		return "", "", fmt.Errorf("provision on demand: no subjects to provision")
	}
	params := parameters{RuleID: ruleID}
	for _, s := range subjects {
		sub := subject{ObjectID: s.ObjectID, ObjectTypeName: s.ObjectTypeName}
		if len(s.Members) > 0 {
			sub.Links = &struct {
				Members []subject `json:"members"`
			}{}
			for _, m := range s.Members {
				sub.Links.Members = append(sub.Links.Members, subject{ObjectID: m, ObjectTypeName: "User"})
			}
		}
		params.Subjects = append(params.Subjects, sub)
	}
	body := struct {
		Parameters []parameters `json:"parameters"`
	}{[]parameters{params}}
	// Entra answers only after the whole import, match and export: give it at least 90 s.
	ctx = httpx.WithMinAttemptTimeout(ctx, ProvisionOnDemandTimeout)
	var res struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := c.send(ctx, "provision on demand", at(abs.POST, c.job(spID, jobID).ProvisionOnDemand().BaseRequestBuilder), body, &res); err != nil {
		return "", "", err
	}
	return res.Key, res.Value, nil
}
