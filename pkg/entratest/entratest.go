// Package entratest is an in-process, strict emulation of a Microsoft Entra tenant that serves the
// subset of Microsoft Graph v1.0 that invicti-scim uses: instantiating the non-gallery application
// template, service principals and applications, synchronization (jobs, secrets, validateCredentials,
// start/pause/restart, schema, provisionOnDemand), app role assignments, users, groups, /me,
// /organization, provisioning logs and JSON $batch.
//
// The emulator is deliberately strict: it rejects what real Graph rejects (wrong-case secret keys,
// absolute $batch URLs, unsupported $filter clauses, unknown $select properties, duplicate
// assignments, missing permissions), and it reproduces Entra's eventual consistency (Options.
// ReplicationDelay), on-demand provisioning lag (Options.ProvisionDelay), throttling and injected
// faults. validateCredentials and provisionOnDemand really call the configured SCIM target, the way
// the Entra provisioning service does.
//
// Where public evidence about Entra's behaviour is thin, Knobs switch it; the zero value is the
// best evidence, and every behaviour cites its source in a comment (docs/setup.md collects them).
//
// It is a public package in the spirit of net/http/httptest: New serves a Tenant on a loopback
// port (NewHandler gives just the http.Handler), Token is a bearer token for an Application
// Administrator, SeedDemo adds demo users and groups, and Apps, Requests and Writes show what a
// client did. Snapshot and Restore let a tenant outlive its process. A Tenant is safe for
// concurrent use. invicti-scim's tests, benchmarks, `setup --sandbox` and `invicti-scim
// sandbox` all use it.
package entratest

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Non-gallery ("create your own application") template ids per cloud.
const (
	TemplateIDGlobal = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
	TemplateIDUSGov  = "4602d0b4-76bb-404b-bca9-2652e1a39c6d"
	TemplateIDChina  = "5a532e38-1581-4918-9658-008dc27c1d68"
)

// Directory role template ids that matter to invicti-scim.
const (
	RoleApplicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	RoleCloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
	RoleGlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
	RoleGlobalReader                  = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
)

// DefaultScopes are the permissions carried by the default token (Tenant.Token).
var DefaultScopes = []string{
	"Application.ReadWrite.All",
	"Synchronization.ReadWrite.All",
	"AppRoleAssignment.ReadWrite.All",
	"User.Read.All",
	"GroupMember.Read.All",
	"AuditLog.Read.All",
	"Directory.Read.All",
	"Policy.Read.All",
	"Policy.ReadWrite.ApplicationConfiguration",
}

// Domain is the default verified domain of every emulated tenant.
const Domain = "contoso.example"

// DefaultAdminUPN is the user behind the default token.
const DefaultAdminUPN = "admin@" + Domain

// Options configures a Tenant. Zero values mean: no latency, no replication delay.
type Options struct {
	TenantID         string           // default: a random GUID
	Cloud            string           // "global" (default), "usgov", "china": selects the accepted non-gallery template id
	Latency          time.Duration    // added to every HTTP request ($batch counts once)
	ReplicationDelay time.Duration    // how long a new object stays invisible / not yet replicated
	ProvisionDelay   time.Duration    // how long a new assignment is not honoured by provisionOnDemand
	HTTPClient       *http.Client     // used to call the SCIM target; default: a client with a 15 s timeout
	Now              func() time.Time // default time.Now
	Knobs            Knobs            // behaviours we are unsure of; the zero value is the best public evidence
}

// Knobs switch emulated behaviours for which public evidence is thin or which only some
// tenants show. The zero value is what the best evidence says (docs/setup.md, "The key set"):
// Entra fetches a token only when AuthenticationType=OAuth2ClientCredentialsGrant is saved,
// the v1.0 secrets PUT keeps what it is sent, and the beta connectivityParameters PATCH exists.
type Knobs struct {
	// DropPartialSecretsPut: a secrets PUT lacking SyncNotificationSettings or SyncAll answers
	// 204 and stores nothing (Microsoft's SCIM onboarding agent saw this).
	DropPartialSecretsPut bool
	// RejectTokenURI: the secrets PUT refuses Oauth2TokenExchangeUri with NotInAllowList (the
	// onboarding agent's newest version saw this on the v1.0 PUT).
	RejectTokenURI bool
	// NoConnectivityParameters: Graph does not serve the beta connectivityParameters PATCH
	// (it is undocumented; a tenant may not have it).
	NoConnectivityParameters bool
	// PortalLowerCaseKeys: ConfigurePortalStyle saves lower-case key names, as the beta
	// (portal) writer does; no public dump of a portal-made configuration exists.
	PortalLowerCaseKeys bool
	// NoGroupAssignment: the tenant has no Entra ID P1/P2, so assigning a group to an app is
	// refused (how-provisioning-works.md: group assignment needs P1/P2). The answer is the
	// one Graph gives for Premium-gated calls (terraform-azurerm-caf#1026) [INF for this call].
	NoGroupAssignment bool
	// DropSecretsPuts: the next N secrets PUTs answer 204 and store nothing, whatever they
	// hold (a silently dropped write, to prove the read-back catches it).
	DropSecretsPuts int
	// LegacyTokenFetch: fetch a token whenever client-credentials keys are saved, even
	// without AuthenticationType. Contradicts the evidence; only for comparing old behaviour.
	LegacyTokenFetch bool
}

// Tenant is an emulated Entra tenant behind a Graph v1.0 HTTP surface.
type Tenant struct {
	// URL is the server root, e.g. http://127.0.0.1:PORT (without /v1.0). Empty for NewHandler.
	URL string

	opts       Options
	srv        *httptest.Server
	closed     chan struct{}
	closeOnce  sync.Once
	templateID string
	audience   string

	knobMu sync.Mutex
	knobs  Knobs

	mu           sync.Mutex
	tenantID     string
	defaultToken string
	tokens       map[string]*principal
	users        []*User
	groups       []*Group
	apps         []*application
	claims       []*claimsPolicy // claims-mapping policies (claims.go)
	logs         []*provLog
	requests     []*Request
	faults       []*faultState
	rejectedKeys map[string]bool
	provisioned  int
	roleObjIDs   map[string]string
}

// User is a directory user. AccountEnabled false means the account is disabled.
type User struct {
	ID                string
	UserPrincipalName string
	Mail              string
	DisplayName       string
	GivenName         string
	Surname           string
	AccountEnabled    bool
	UserType          string // "Member" (default) or "Guest"
	OtherMails        []string
	MailNickname      string // default: the UPN's local part
}

// Group is a directory group. MemberIDs may name users or groups (nested groups).
type Group struct {
	ID              string
	DisplayName     string
	SecurityEnabled bool
	MailEnabled     bool
	MemberIDs       []string
	GroupTypes      []string // e.g. ["Unified"] for Microsoft 365 groups
	Mail            string
	MailNickname    string
	Description     string
}

// Principal is the identity behind a bearer token.
type Principal struct {
	UPN       string
	Scopes    []string // delegated scp, or application roles for AppOnly tokens
	Roles     []string // directory role template ids (wids)
	AppOnly   bool
	ObjectID  string    // oid; default: the directory user with this UPN, the token's oid claim, or random
	ExpiresAt time.Time // zero: never expires
	NotBefore time.Time // zero: valid from five minutes before the token was made
}

// Request is one logged request.
type Request struct {
	Method  string
	Path    string // decoded, with /v1.0 prefix, without query
	Query   string // raw query
	Status  int
	InBatch bool // a $batch sub-request
	Time    time.Time
	Body    string // decompressed request body ("" when none)
}

// App is a snapshot of an instantiated application with its service principal.
type App struct {
	ApplicationID      string
	AppID              string
	ServicePrincipalID string // "" when the service principal was deleted
	DisplayName        string // the service principal's (the enterprise app's), else the application's
	// ApplicationName is the application object's displayName (App registrations).
	ApplicationName string
	TemplateID      string // applicationTemplateId; "" for an App-registrations app
	Tags            []string
	AppRoles        []AppRole
	Jobs            []Job
	Secrets         map[string]string // unmasked
	Assignments     []Assignment
}

// AppRole is an app role of a service principal.
type AppRole struct {
	ID, DisplayName, Value string
	AllowedMemberTypes     []string
}

// Job is a snapshot of a synchronization job.
type Job struct {
	ID               string
	TemplateID       string
	ScheduleState    string
	StatusCode       string
	StartCalls       int
	StartWhileActive int
	QuarantineReason string
	RuleID           string // the schema's synchronization rule id
}

// Assignment is an app role assignment on a service principal.
type Assignment struct {
	ID, PrincipalID, PrincipalType, AppRoleID string
}

// LogEntry seeds a provisioning log entry.
type LogEntry struct {
	ID                string
	UserPrincipalName string
	UserID            string
	Action            string // create|update|delete|disable|other
	Status            string // success|failure|skipped
	ErrorCode         string
	Reason            string
	Time              time.Time
}

// Fault makes matching requests fail (or wait) before normal handling.
type Fault struct {
	Method     string         // "" = any
	Path       *regexp.Regexp // matched against Request.Path (e.g. `/synchronization/secrets$`); nil = any
	Status     int            // e.g. 429, 500, 503; 0 = only Delay
	Code       string         // Graph error code; default derived from Status
	Message    string
	RetryAfter int           // seconds; sets Retry-After when > 0
	Times      int           // how many matching requests fail; 0 = forever
	Delay      time.Duration // extra delay before answering
}

type faultState struct {
	Fault
	used int
}

// New starts an emulated tenant on an httptest server bound to 127.0.0.1.
func New(opts Options) *Tenant {
	t := NewHandler(opts)
	t.srv = httptest.NewServer(t.Handler())
	t.URL = t.srv.URL
	return t
}

// NewHandler creates an emulated tenant without starting a server; serve t.Handler() yourself.
func NewHandler(opts Options) *Tenant {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if opts.TenantID == "" {
		opts.TenantID = uuid.NewString()
	}
	t := &Tenant{
		opts:         opts,
		closed:       make(chan struct{}),
		tenantID:     strings.ToLower(opts.TenantID),
		tokens:       map[string]*principal{},
		rejectedKeys: map[string]bool{},
		knobs:        opts.Knobs,
		roleObjIDs:   map[string]string{},
	}
	switch strings.ToLower(opts.Cloud) {
	case "usgov", "usgovernment", "gcchigh", "dod":
		t.templateID, t.audience = TemplateIDUSGov, "https://graph.microsoft.us"
	case "china":
		t.templateID, t.audience = TemplateIDChina, "https://microsoftgraph.chinacloudapi.cn"
	default:
		t.templateID, t.audience = TemplateIDGlobal, "https://graph.microsoft.com"
	}
	admin := t.AddUser(User{
		UserPrincipalName: DefaultAdminUPN, Mail: DefaultAdminUPN, DisplayName: "Contoso Admin",
		GivenName: "Contoso", Surname: "Admin", AccountEnabled: true,
	})
	p := Principal{UPN: admin.UserPrincipalName, Scopes: DefaultScopes,
		Roles: []string{RoleApplicationAdministrator}, ObjectID: admin.ID}
	t.defaultToken = makeToken(t.tenantID, t.audience, p)
	t.AddToken(t.defaultToken, p)
	return t
}

// Handler returns the HTTP handler serving the Graph surface (paths start with /v1.0).
func (t *Tenant) Handler() http.Handler { return http.HandlerFunc(t.serveHTTP) }

// Close stops the server (if any) and aborts pending latency and fault delays.
func (t *Tenant) Close() {
	t.closeOnce.Do(func() { close(t.closed) })
	if t.srv != nil {
		t.srv.Close()
	}
}

// TenantID returns the tenant's id (lower-case GUID).
func (t *Tenant) TenantID() string { return t.tenantID }

// Token returns the default accepted bearer token (delegated, Application Administrator).
func (t *Tenant) Token() string { return t.defaultToken }

// TemplateID returns the non-gallery application template id accepted by this tenant's cloud.
func (t *Tenant) TemplateID() string { return t.templateID }

func (t *Tenant) now() time.Time { return t.opts.Now() }

// AddUser adds a directory user; it fills ID (and defaults) and returns the stored user.
func (t *Tenant) AddUser(u User) User {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	u.ID = strings.ToLower(u.ID)
	if u.UserType == "" {
		u.UserType = "Member"
	}
	local, _, _ := strings.Cut(u.UserPrincipalName, "@")
	if u.MailNickname == "" {
		u.MailNickname = local
	}
	if u.DisplayName == "" {
		u.DisplayName = local
	}
	u.OtherMails = append([]string(nil), u.OtherMails...)
	stored := u
	t.users = append(t.users, &stored)
	return copyUser(&stored)
}

// AddGroup adds a directory group; it fills ID and returns the stored group.
func (t *Tenant) AddGroup(g Group) Group {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g.ID == "" {
		g.ID = uuid.NewString()
	}
	g.ID = strings.ToLower(g.ID)
	if g.MailNickname == "" {
		g.MailNickname = strings.Map(func(r rune) rune {
			if r == ' ' {
				return -1
			}
			return r
		}, g.DisplayName)
	}
	stored := copyGroup(&g)
	t.groups = append(t.groups, &stored)
	return copyGroup(&stored)
}

// LookupUser finds a user by object id or UPN (case-insensitive).
func (t *Tenant) LookupUser(idOrUPN string) (User, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u := t.findUser(idOrUPN); u != nil {
		return copyUser(u), true
	}
	return User{}, false
}

// LookupGroup finds a group by object id or display name (case-insensitive).
func (t *Tenant) LookupGroup(idOrName string) (Group, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g := t.findGroup(idOrName); g != nil {
		return copyGroup(g), true
	}
	for _, g := range t.groups {
		if strings.EqualFold(g.DisplayName, idOrName) {
			return copyGroup(g), true
		}
	}
	return Group{}, false
}

// SeedDemo adds demo users and groups (a no-op when alice already exists):
// alice, carol, dave, frank, grace, heidi (members), erin (disabled) and the guest
// bob_fabrikam.example#EXT#@contoso.example; security groups "Invicti Users" (alice, carol, dave)
// and "Big Group" (8 members); Microsoft 365 group "All Company" (not security-enabled).
func (t *Tenant) SeedDemo() {
	if _, ok := t.LookupUser("alice@" + Domain); ok {
		return
	}
	mk := func(local, given, sur string, enabled bool) User {
		upn := local + "@" + Domain
		return t.AddUser(User{UserPrincipalName: upn, Mail: upn, DisplayName: given + " " + sur,
			GivenName: given, Surname: sur, AccountEnabled: enabled})
	}
	alice := mk("alice", "Alice", "Anderson", true)
	carol := mk("carol", "Carol", "Chen", true)
	dave := mk("dave", "Dave", "Diaz", true)
	erin := mk("erin", "Erin", "Evans", false)
	frank := mk("frank", "Frank", "Fischer", true)
	grace := mk("grace", "Grace", "Garcia", true)
	heidi := mk("heidi", "Heidi", "Hansen", true)
	bob := t.AddUser(User{UserPrincipalName: "bob_fabrikam.example#EXT#@" + Domain, Mail: "bob@fabrikam.example",
		DisplayName: "Bob (Fabrikam)", GivenName: "Bob", Surname: "Brown", AccountEnabled: true,
		UserType: "Guest", OtherMails: []string{"bob@fabrikam.example"}})
	t.AddGroup(Group{DisplayName: "Invicti Users", SecurityEnabled: true,
		Description: "Users provisioned to Invicti Platform", MemberIDs: []string{alice.ID, carol.ID, dave.ID}})
	t.AddGroup(Group{DisplayName: "Big Group", SecurityEnabled: true,
		MemberIDs: []string{alice.ID, bob.ID, carol.ID, dave.ID, erin.ID, frank.ID, grace.ID, heidi.ID}})
	all := []string{}
	t.mu.Lock()
	for _, u := range t.users {
		all = append(all, u.ID)
	}
	t.mu.Unlock()
	t.AddGroup(Group{DisplayName: "All Company", MailEnabled: true, GroupTypes: []string{"Unified"},
		Mail: "allcompany@" + Domain, MailNickname: "allcompany", MemberIDs: all})
	// Cases that teach. A user without a mailbox: Entra sends no e-mail for her unless the
	// mapping falls back to the UPN. A nested group: assigning "Engineering" provisions
	// Frank only, never the members of "Platform Team" (how-provisioning-works.md).
	ivan := t.AddUser(User{UserPrincipalName: "ivan@" + Domain, DisplayName: "Ivan Ivanov", GivenName: "Ivan",
		Surname: "Ivanov", AccountEnabled: true})
	platform := t.AddGroup(Group{DisplayName: "Platform Team", SecurityEnabled: true, MemberIDs: []string{grace.ID, ivan.ID}})
	t.AddGroup(Group{DisplayName: "Engineering", SecurityEnabled: true, MemberIDs: []string{frank.ID, platform.ID}})
}

// Users lists the directory's users.
func (t *Tenant) Users() []User {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]User, 0, len(t.users))
	for _, u := range t.users {
		out = append(out, copyUser(u))
	}
	return out
}

// Groups lists the directory's groups.
func (t *Tenant) Groups() []Group {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Group, 0, len(t.groups))
	for _, g := range t.groups {
		out = append(out, copyGroup(g))
	}
	return out
}

// Requests returns every logged request, including $batch sub-requests and the outer $batch.
func (t *Tenant) Requests() []Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Request, len(t.requests))
	for i, r := range t.requests {
		out[i] = *r
	}
	return out
}

// ResetRequests clears the request log.
func (t *Tenant) ResetRequests() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests = nil
}

// Writes returns the logged POST/PUT/PATCH/DELETE requests, including $batch sub-requests but not
// the outer POST /v1.0/$batch itself.
func (t *Tenant) Writes() []Request {
	var out []Request
	for _, r := range t.Requests() {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			if !r.InBatch && strings.EqualFold(r.Path, "/v1.0/$batch") {
				continue
			}
			out = append(out, r)
		}
	}
	return out
}

// Apps returns deep copies of all applications, in creation order.
func (t *Tenant) Apps() []App {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]App, 0, len(t.apps))
	for _, a := range t.apps {
		app := App{ApplicationID: a.id, AppID: a.appID, DisplayName: a.displayName, ApplicationName: a.displayName, TemplateID: a.templateID, Secrets: map[string]string{}}
		if sp := a.sp; sp != nil {
			app.ServicePrincipalID = sp.id
			app.DisplayName = sp.displayName
			app.Tags = append([]string{}, sp.tags...)
			for _, r := range sp.roles {
				app.AppRoles = append(app.AppRoles, AppRole{ID: r.id, DisplayName: r.displayName, Value: r.value,
					AllowedMemberTypes: []string{"User"}})
			}
			for _, j := range sp.jobs {
				job := Job{ID: j.id, TemplateID: j.templateID, ScheduleState: j.scheduleState, StatusCode: j.statusCode,
					StartCalls: j.startCalls, StartWhileActive: j.startWhileActive, RuleID: j.ruleID}
				if j.quarantine != nil {
					job.QuarantineReason = j.quarantine.reason
				}
				app.Jobs = append(app.Jobs, job)
			}
			for _, s := range sp.secrets {
				app.Secrets[s.key] = s.value
			}
			for _, as := range sp.assignments {
				app.Assignments = append(app.Assignments, Assignment{ID: as.id, PrincipalID: as.principalID,
					PrincipalType: as.principalType, AppRoleID: as.appRoleID})
			}
		}
		out = append(out, app)
	}
	return out
}

// InvictiUsersProvisioned counts users created in the SCIM target by provisionOnDemand.
func (t *Tenant) InvictiUsersProvisioned() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.provisioned
}

// InjectFault adds a fault; faults are checked in insertion order and the first match wins.
func (t *Tenant) InjectFault(f Fault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = append(t.faults, &faultState{Fault: f})
}

// ClearFaults removes every fault.
func (t *Tenant) ClearFaults() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = nil
}

// RejectSecretKeys makes PUT secrets and validateCredentials fail with 500 InternalError
// "Requested value '<key>' was not found." for these (exact) keys, simulating a service that does
// not know them. ConfigurePortalStyle is not affected.
func (t *Tenant) RejectSecretKeys(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		t.rejectedKeys[k] = true
	}
}

// SetJobState sets schedule.state and status.code of every job of the service principal.
// Empty arguments leave the field unchanged. Unknown service principals are ignored.
func (t *Tenant) SetJobState(spID string, scheduleState, statusCode string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp := t.findSP(spID)
	if sp == nil {
		return
	}
	for _, j := range sp.jobs {
		if scheduleState != "" {
			j.scheduleState = scheduleState
			if scheduleState == "Active" {
				j.interval = activeInterval
			}
		}
		if statusCode != "" {
			j.statusCode = statusCode
			if statusCode != "Quarantine" {
				j.quarantine = nil
			}
		}
	}
}

// Quarantine puts every job of the service principal in quarantine with the given reason
// (e.g. "EncounteredQuarantineException").
func (t *Tenant) Quarantine(spID string, reason string) {
	t.QuarantineSince(spID, reason, t.now())
}

// QuarantineSince is Quarantine for a quarantine that began at began (days ago, say).
func (t *Tenant) QuarantineSince(spID string, reason string, began time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp := t.findSP(spID)
	if sp == nil {
		return
	}
	now := began.UTC()
	for _, j := range sp.jobs {
		j.statusCode = "Quarantine"
		code, msg := "SystemForCrossDomainIdentityManagementCredentialValidationFailure",
			"The provisioning service could not authenticate to the target application with the configured credentials."
		if reason != "EncounteredQuarantineException" {
			code, msg = "Unknown", "The job was quarantined: "+reason
		}
		j.quarantine = &quarantine{reason: reason, currentBegan: now, nextAttempt: now.Add(6 * time.Hour),
			seriesBegan: now, seriesCount: 1, errCode: code, errMessage: msg}
	}
}

// RunCycle records a finished provisioning cycle on every job of the service principal:
// status.lastExecution gets the given state ("Succeeded", "Failed" or "EntryLevelErrors"),
// counting the users currently entitled to the app.
func (t *Tenant) RunCycle(spID string, state string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp := t.findSP(spID)
	if sp == nil {
		return
	}
	now := t.now().UTC()
	users := 0
	for _, u := range t.users {
		if t.entitledAt(sp, u.ID, now) {
			users++
		}
	}
	groups := 0
	for _, a := range sp.assignments {
		if a.principalType == "Group" {
			groups++
		}
	}
	for _, j := range sp.jobs {
		e := &execution{id: uuid.NewString(), state: state, began: now.Add(-30 * time.Second), ended: now,
			imported: users + groups, exported: users + groups}
		j.lastExecution = e
		if state == "Succeeded" {
			j.lastSuccessful = e
			if j.steadyFirst.IsZero() {
				j.steadyFirst = now
			}
			j.steadyLast = now
			j.entryCounts = map[string]int{"User": users, "Group": groups}
		}
	}
}

// DeleteAppBehindBack deletes the application, service principal, jobs, secrets and assignments as
// if an administrator had used the portal. No request is logged.
func (t *Tenant) DeleteAppBehindBack(spID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sp := t.findSP(spID); sp != nil {
		t.deleteApp(sp.app)
	}
}

// UnassignBehindBack removes every assignment of the principal named name (a user's UPN or
// a group's display name, case-insensitively) from the app, as an administrator may in the
// portal (Enterprise applications > Users and groups > Remove, which deletes the
// appRoleAssignment: https://learn.microsoft.com/graph/api/serviceprincipal-delete-approleassignedto).
// It reports how many it removed. No request is logged.
func (t *Tenant) UnassignBehindBack(spID, name string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp := t.findSP(spID)
	if sp == nil {
		return 0
	}
	ids := map[string]bool{}
	for _, u := range t.users {
		if strings.EqualFold(u.UserPrincipalName, name) {
			ids[strings.ToLower(u.ID)] = true
		}
	}
	for _, g := range t.groups {
		if strings.EqualFold(g.DisplayName, name) {
			ids[strings.ToLower(g.ID)] = true
		}
	}
	kept := sp.assignments[:0]
	n := 0
	for _, a := range sp.assignments {
		if ids[strings.ToLower(a.principalID)] {
			n++
			continue
		}
		kept = append(kept, a)
	}
	sp.assignments = kept
	return n
}

// RenameBehindBack changes the enterprise app's display name as an administrator may in the
// portal (Enterprise applications > Properties > Name, which PATCHes the servicePrincipal's
// displayName: https://learn.microsoft.com/graph/api/serviceprincipal-update). Display names
// are free text, control characters included, so tests use it to feed hostile names.
func (t *Tenant) RenameBehindBack(spID, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sp := t.findSP(spID); sp != nil {
		sp.displayName = name
		sp.app.displayName = name
	}
}

// AddProvisioningLog records a provisioning log entry for the service principal.
func (t *Tenant) AddProvisioningLog(spID string, e LogEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := &provLog{id: e.ID, time: e.Time, spID: strings.ToLower(spID), action: strings.ToLower(e.Action),
		status: strings.ToLower(e.Status), errorCode: e.ErrorCode, reason: e.Reason,
		sourceID: e.UserID, sourceUPN: e.UserPrincipalName, sourceType: "User"}
	if l.id == "" {
		l.id = uuid.NewString()
	}
	if l.time.IsZero() {
		l.time = t.now()
	}
	if l.action == "" {
		l.action = "other"
	}
	if l.status == "" {
		l.status = "success"
	}
	if u := t.findUser(e.UserID); u != nil {
		l.sourceName = u.DisplayName
		if l.sourceUPN == "" {
			l.sourceUPN = u.UserPrincipalName
		}
	} else if u := t.findUser(e.UserPrincipalName); u != nil {
		l.sourceName, l.sourceID = u.DisplayName, u.ID
	}
	if sp := t.findSP(spID); sp != nil {
		l.spName = sp.displayName
		if len(sp.jobs) > 0 {
			l.jobID = sp.jobs[0].id
		}
	}
	t.logs = append(t.logs, l)
}

// Knobs returns the current knobs.
func (t *Tenant) Knobs() Knobs {
	t.knobMu.Lock()
	defer t.knobMu.Unlock()
	return t.knobs
}

// takeDroppedPut consumes one DropSecretsPuts.
func (t *Tenant) takeDroppedPut() bool {
	t.knobMu.Lock()
	defer t.knobMu.Unlock()
	if t.knobs.DropSecretsPuts > 0 {
		t.knobs.DropSecretsPuts--
		return true
	}
	return false
}

// SetKnobs replaces the knobs (tests and the sandbox's fault flags).
func (t *Tenant) SetKnobs(k Knobs) {
	t.knobMu.Lock()
	defer t.knobMu.Unlock()
	t.knobs = k
}

// SeedSecrets stores settings exactly as given (no enum or allow-list check, no
// AuthenticationType added): a configuration left by an older tool or another admin, e.g. key
// set v1. Empty values remove keys.
func (t *Tenant) SeedSecrets(spID string, secrets map[string]string) {
	t.storeSecrets(spID, secrets)
}

// ConfigurePortalStyle upserts synchronization secrets as an administrator using the portal would:
// no key validation, no RejectSecretKeys, no request logged. An empty value removes the key.
func (t *Tenant) ConfigurePortalStyle(spID string, secrets map[string]string) {
	// The portal's method picker selects the client-credentials grant: it stores
	// AuthenticationType like every writer Microsoft shows (onboarding agent, both versions).
	all := map[string]string{"AuthenticationType": "OAuth2ClientCredentialsGrant"}
	lower := t.Knobs().PortalLowerCaseKeys
	for k, v := range secrets {
		all[k] = v
	}
	if lower {
		named := make(map[string]string, len(all))
		for k, v := range all {
			named[strings.ToLower(k[:1])+k[1:]] = v
		}
		all = named
	}
	t.storeSecrets(spID, all)
}

// storeSecrets upserts secrets in key order without any check (the back doors above).
func (t *Tenant) storeSecrets(spID string, secrets map[string]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp := t.findSP(spID)
	if sp == nil {
		return
	}
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sp.putSecret(k, secrets[k])
	}
	sp.afterSecrets()
}

// AddApp creates an application and service principal as if instantiated from the non-gallery
// template long ago (already replicated). Useful to test idempotency and name collisions.
func (t *Tenant) AddApp(displayName string) App {
	t.mu.Lock()
	a := t.newApp(displayName, t.now().Add(-t.opts.ReplicationDelay-24*time.Hour))
	id := a.id
	t.mu.Unlock()
	for _, app := range t.Apps() {
		if app.ApplicationID == id {
			return app
		}
	}
	return App{}
}

// AddRegisteredApp creates an application and its service principal as the portal's "App
// registrations" blade does: no application template, so applicationTemplateId is null, and
// the one tag that blade sets. Graph reference, servicePrincipal resource: applicationTemplateId
// is "Unique identifier of the applicationTemplate. Read-only. null if the service principal
// wasn't created from an application template"
// (https://learn.microsoft.com/graph/api/resources/serviceprincipal). Useful to test that a
// same-named app made by someone else is not adopted.
func (t *Tenant) AddRegisteredApp(displayName string) App {
	t.mu.Lock()
	a := t.newApp(displayName, t.now().Add(-t.opts.ReplicationDelay-24*time.Hour))
	a.templateID, a.sp.templateID = "", ""
	a.sp.tags = []string{"WindowsAzureActiveDirectoryIntegratedApp"}
	a.sp.assignmentRequired = false
	id := a.id
	t.mu.Unlock()
	for _, app := range t.Apps() {
		if app.ApplicationID == id {
			return app
		}
	}
	return App{}
}

func copyUser(u *User) User {
	c := *u
	c.OtherMails = append([]string{}, u.OtherMails...)
	return c
}

func copyGroup(g *Group) Group {
	c := *g
	c.MemberIDs = append([]string{}, g.MemberIDs...)
	c.GroupTypes = append([]string{}, g.GroupTypes...)
	return c
}
