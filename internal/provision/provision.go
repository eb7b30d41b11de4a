// Package provision is the use case: it decides what to create, reuse or change in the Entra
// tenant and drives the gateways (graph, invicti) to do it. It holds no UI and no SDK types;
// it reports progress through events and returns plain results.
package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// Graph is what the use case needs from Microsoft Graph (implemented by *graph.Client).
type Graph interface {
	Instantiate(ctx context.Context, templateID, displayName string) (graph.CreatedApp, error)
	ServicePrincipal(ctx context.Context, id string) (graph.ServicePrincipal, error)
	FindServicePrincipals(ctx context.Context, filter string) ([]graph.ServicePrincipal, error)
	SetTags(ctx context.Context, spID string, tags []string) error
	RenameApp(ctx context.Context, spID, appObjectID, name string) error
	ApplicationByAppID(ctx context.Context, appID string) (graph.Application, error)
	DeleteApplication(ctx context.Context, id string) error
	SyncTemplates(ctx context.Context, spID string) ([]graph.SyncTemplate, error)
	Jobs(ctx context.Context, spID string) ([]graph.Job, error)
	Job(ctx context.Context, spID, jobID string) (graph.Job, error)
	CreateJob(ctx context.Context, spID, templateID string) (graph.Job, error)
	Secrets(ctx context.Context, spID string) ([]graph.KeyValue, error)
	PutSecrets(ctx context.Context, spID string, kv []graph.KeyValue) error
	PatchConnectivityParameters(ctx context.Context, spID string, kv []graph.KeyValue) error
	ValidateCredentials(ctx context.Context, spID, jobID string, useSaved bool, creds []graph.KeyValue) error
	StartJob(ctx context.Context, spID, jobID string) error
	PauseJob(ctx context.Context, spID, jobID string) error
	RestartJob(ctx context.Context, spID, jobID, resetScope string) error
	Rules(ctx context.Context, spID, jobID string) ([]graph.SyncRule, error)
	ProvisionOnDemand(ctx context.Context, spID, jobID, ruleID string, subjects []graph.Subject) (string, string, error)
	User(ctx context.Context, idOrUPN string) (graph.User, error)
	FindUsers(ctx context.Context, filter string) ([]graph.User, error)
	Group(ctx context.Context, id string) (graph.Group, error)
	FindGroups(ctx context.Context, filter string) ([]graph.Group, error)
	GroupMembers(ctx context.Context, groupID string) ([]graph.User, []graph.Group, error)
	Assignments(ctx context.Context, spID string) ([]graph.Assignment, error)
	Assign(ctx context.Context, spID, principalID, appRoleID string) (graph.Assignment, error)
	BatchAll(ctx context.Context, reqs []graph.BatchRequest, concurrency, maxAttempts int) ([]graph.BatchResponse, graph.BatchStats, error)
	ProvisioningLogs(ctx context.Context, filter string, limit int) ([]graph.ProvisioningEvent, error)
}

// Checker is the direct Invicti check (implemented by *invicti.Checker).
type Checker interface {
	Check(ctx context.Context, ep invicti.Endpoints, cred invicti.Credentials) invicti.Result
}

// Outcome is what happened to (or would happen to) one step.
type Outcome string

const (
	Created        Outcome = "created"
	Reused         Outcome = "reused"
	Updated        Outcome = "updated"
	Unchanged      Outcome = "unchanged"
	Started        Outcome = "started"
	Restarted      Outcome = "restarted"
	AlreadyRunning Outcome = "already-running"
	Passed         Outcome = "passed"
	Skipped        Outcome = "skipped"
	Failed         Outcome = "failed"
	Guided         Outcome = "guided"
	WillCreate     Outcome = "will-create"
	WillUpdate     Outcome = "will-update"
	WillStart      Outcome = "will-start"
	WillCheck      Outcome = "will-check"
)

// Done reports whether the outcome left the step in its goal state.
func (o Outcome) Done() bool {
	switch o {
	case Created, Reused, Updated, Unchanged, Started, Restarted, AlreadyRunning, Passed, Skipped:
		return true
	}
	return false
}

// Step is one step's result.
type Step struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Outcome    Outcome `json:"outcome"`
	Detail     string  `json:"detail,omitempty"`
	DurationMS int64   `json:"durationMs"`
}

// EventKind is the phase of a progress event.
type EventKind int

const (
	EventBegin EventKind = iota // a step starts; Message says what it does
	EventWait                   // waiting (replication, throttling); Message says for what
	EventEnd                    // a step ended; Step holds its result
)

// Event is progress for the UI.
type Event struct {
	Kind    EventKind
	StepID  string
	Message string
	Step    Step
}

// Progress receives events; nil is allowed.
type Progress func(Event)

func (p Progress) emit(e Event) {
	if p != nil {
		p(e)
	}
}

// ConnectionError means a connection test failed: Invicti rejected the credentials, or
// Entra's Test Connection failed. The CLI exits 3.
type ConnectionError struct {
	Layer   string // "invicti" or "entra"
	Message string
	Fix     string
	Err     error
}

func (e *ConnectionError) Error() string {
	s := e.Layer + " connection test failed: " + e.Message
	return s
}

func (e *ConnectionError) Unwrap() error { return e.Err }

// Hint implements the CLI's hint interface.
func (e *ConnectionError) Hint() string { return e.Fix }

// PermissionError means Graph refused a call for lack of a permission or role. The CLI exits 4.
type PermissionError struct {
	Op         string
	Permission string
	Err        error
}

func (e *PermissionError) Error() string {
	if e.Op == "" {
		return fmt.Sprintf("Microsoft Graph refused the call (%v)", e.Err)
	}
	return fmt.Sprintf("%s: Microsoft Graph refused the call (%v)", e.Op, e.Err)
}

func (e *PermissionError) Unwrap() error { return e.Err }

// Hint names what is missing. Graph answers a token it does not accept at all (expired,
// malformed, for another tenant or resource) with 401 InvalidAuthenticationToken: that is a
// sign-in problem, and no permission would help.
func (e *PermissionError) Hint() string {
	if TokenRefused(e.Err) {
		return SignInAgain
	}
	return fmt.Sprintf("the signed-in identity needs the Graph permission %s (delegated sign-in: and the Application Administrator or Cloud Application Administrator directory role). Run `invicti-scim doctor` to see what your token has.", e.Permission)
}

// Permissions by operation family.
const (
	PermApplication = "Application.ReadWrite.All"
	PermSync        = "Synchronization.ReadWrite.All"
	PermAssign      = "AppRoleAssignment.ReadWrite.All"
	PermUsers       = "User.Read.All"
	PermGroups      = "GroupMember.Read.All"
	PermAuditLog    = "AuditLog.Read.All"
)

func authErr(op, perm string, err error) error {
	if err == nil {
		return nil
	}
	var se *graph.SignInError
	if errors.As(err, &se) {
		return err
	}
	if graph.IsExpiredToken(err) {
		return graph.AsExpiredToken(err)
	}
	if graph.IsAuth(err) {
		return &PermissionError{Op: op, Permission: perm, Err: err}
	}
	return err
}

// GuidedError means the tool could not write the provisioning settings itself and the
// admin must enter them in the portal; the instructions are in Guide.
type GuidedError struct {
	Guide Guide
	Err   error
}

func (e *GuidedError) Error() string {
	return "provisioning settings need one step in the Entra portal (" + e.Err.Error() + ")"
}

func (e *GuidedError) Unwrap() error { return e.Err }

// Hint tells the admin what to do next.
func (e *GuidedError) Hint() string {
	return "enter the values above in the portal, click Test Connection and Save, then run the same command again"
}

// Guide is what the admin enters in the portal's Provisioning blade.
type Guide struct {
	PortalURL     string `json:"portalUrl"`
	Method        string `json:"authenticationMethod"`
	TenantURL     string `json:"tenantUrl"`
	TokenEndpoint string `json:"tokenEndpoint"`
	ClientID      string `json:"clientId"`
	Reason        string `json:"reason"`
}

// Lines renders the guide as text lines (never the secret).
func (g Guide) Lines() []string { return g.LinesWithSecret("") }

// LinesWithSecret renders the guide with the client secret shown (when the admin asked for
// it with --show-secret or in the wizard); "" keeps it hidden.
func (g Guide) LinesWithSecret(secret string) []string {
	sec := "the Invicti client secret you supplied (not shown; add --show-secret to print it)"
	if secret != "" {
		sec = secret
	}
	return []string{
		"Open the app's Provisioning blade: " + g.PortalURL,
		"Set Provisioning Mode to Automatic, then under Admin Credentials:",
		"  Authentication method: " + g.Method,
		"  Tenant URL:            " + g.TenantURL,
		"  Token Endpoint:        " + g.TokenEndpoint,
		"  Client identifier:     " + g.ClientID,
		"  Client secret:         " + sec,
		"Click Test Connection, then Save.",
		"Leave the failure e-mails and the deletion threshold: invicti-scim sets them after.",
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
