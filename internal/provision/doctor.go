package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/plural"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// DoctorCheck is one line of `doctor`.
type DoctorCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Status string `json:"status"` // ok, fail, warn, skip
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// PermNeed is what one command needs from Graph against what the token carries.
type PermNeed struct {
	Command    string   `json:"command"`
	Needs      []string `json:"needs"`
	Missing    []string `json:"missing,omitempty"`
	Satisfied  bool     `json:"satisfied"`
	Determined bool     `json:"determined"`
	// Optional rows are for features a run may never use (the SAML claims-mapping policy):
	// their missing permissions are a warning, never a failed check.
	Optional bool `json:"optional,omitempty"`
}

// SettingsDump is what --show-settings prints: enough for an admin who configured an app in
// the portal to compare and report which keys the portal stores, and nothing secret.
type SettingsDump struct {
	ServicePrincipalID string   `json:"servicePrincipalId"`
	Keys               []string `json:"keys"`
	KeySet             string   `json:"keySet"`
	StateKeySet        string   `json:"stateKeySet,omitempty"`
	Writer             string   `json:"writer,omitempty"`
	Experimental       bool     `json:"experimental,omitempty"`
	ClientCredentials  bool     `json:"clientCredentials"`
}

// DoctorReport is everything `doctor` found.
type DoctorReport struct {
	Identity    string        `json:"identity,omitempty"`
	TenantID    string        `json:"tenantId,omitempty"`
	Delegated   bool          `json:"delegated"`
	Scopes      []string      `json:"scopes,omitempty"`
	Roles       []string      `json:"directoryRoles,omitempty"`
	TokenExpiry *time.Time    `json:"tokenExpires,omitempty"`
	Checks      []DoctorCheck `json:"checks"`
	OK          bool          `json:"ok"`
	Permissions []PermNeed    `json:"permissions"`
	// Settings is filled with ShowSettings: the key names Entra stores (never values).
	Settings *SettingsDump `json:"settings,omitempty"`
	// Expired: the Graph token is expired or not yet valid (by its claims or by Graph's
	// answer). That is a sign-in problem: the command exits 4.
	Expired bool `json:"-"`
	// TokenErr is why the Graph token cannot be used when Graph refused it (TokenRefused:
	// expired, malformed, another tenant's) or its claims say it is expired; Err wraps it.
	TokenErr error `json:"-"`
}

// Err is the failure of a report that is not OK, for the command's exit code and error line
// (nil when every check passed):
//
//   - a token Graph refused or that is expired is a sign-in problem (Classify: exit 4) with
//     how to sign in again;
//   - failed checks that include a sign-in or permission one (signInChecks) are a sign-in or
//     permission problem too (a *KindError of KindAuth, exit 4), hinted with that check's fix;
//   - when the only failed check is the direct Invicti check, a failed connection test
//     (KindConnection, exit 3), as in test-connection;
//   - otherwise a failure (exit 1).
//
// The message names the failed checks; the hint is the first fix of the checks that decided.
func (r *DoctorReport) Err() error {
	if r.OK {
		return nil
	}
	if r.TokenErr != nil {
		hint := SignInAgain
		if IsExpiredToken(r.TokenErr) {
			hint = Hint(ExplainExpiredToken(r.TokenErr))
		}
		return &HintedError{Err: fmt.Errorf("doctor: the Microsoft Graph access token cannot be used: %w", ExplainExpiredToken(r.TokenErr)), HintText: hint}
	}
	var names []string
	fix, authFix := "", ""
	kind := KindFailed
	for _, c := range r.Checks {
		if c.OK {
			continue
		}
		names = append(names, c.Name)
		if fix == "" {
			fix = c.Fix
		}
		if slices.Contains(signInChecks, c.Name) {
			if kind != KindAuth {
				authFix = c.Fix
			}
			kind = KindAuth
		}
	}
	if kind == KindAuth {
		fix = authFix
	} else if len(names) == 1 && names[0] == invictiCheck {
		kind = KindConnection
	}
	checks := "checks"
	if len(names) == 1 {
		checks = "check"
	}
	err := fmt.Errorf("doctor: %d %s failed: %s", len(names), checks, strings.Join(names, ", "))
	if fix != "" {
		err = &HintedError{Err: err, HintText: fix}
	}
	if kind == KindFailed {
		return err
	}
	return &KindError{Kind: kind, Err: err}
}

// signInChecks are doctor's checks whose failure is a Graph sign-in or permission problem (exit
// 4, as every other command exits for it): the sign-in itself, a tenant other than the state's
// (other commands refuse it before any call, exit 4), the token's permissions, and the signed-in
// person's directory role.
var signInChecks = []string{"Graph sign-in", "Tenant", "Graph permissions", "Directory role"}

// invictiCheck is the name of doctor's direct Invicti check: when it is the only one that
// failed, doctor exits 3, as test-connection does.
const invictiCheck = "Invicti credentials"

// noteToken records err when it says the Graph token is unusable: expired or not yet valid
// (Expired), or refused by Graph (TokenRefused). The first such error is kept.
func (r *DoctorReport) noteToken(err error) {
	if !IsExpiredToken(err) && !TokenRefused(err) {
		return
	}
	r.Expired = r.Expired || IsExpiredToken(err)
	if r.TokenErr == nil {
		r.TokenErr = err
	}
}

// notJWTProbe is the read doctor makes when the token is not a JWT, to learn whether Graph
// accepts it at all: Microsoft Graph's own service principal (appId
// 00000003-0000-0000-c000-000000000000, the well-known id of the Microsoft Graph resource,
// https://learn.microsoft.com/graph/permissions-reference), which every tenant has.
const notJWTProbe = "appId eq '00000003-0000-0000-c000-000000000000'"

// refusedCheck is the check line of an app or job that was not checked because Graph refused
// the token; the Graph sign-in line says why and how to fix it.
func refusedCheck(name string) DoctorCheck {
	return DoctorCheck{Name: name, OK: true, Status: "skip", Detail: "not checked: Microsoft Graph did not accept the access token (see Graph sign-in)"}
}

// DoctorGraph is what Doctor needs from Graph.
type DoctorGraph interface {
	TokenClaims(ctx context.Context) (graph.Claims, error)
	AppReader
	AppFinder
	JobLister
	Job(ctx context.Context, spID, jobID string) (graph.Job, error)
	Secrets(ctx context.Context, spID string) ([]graph.KeyValue, error)
	MappingsGraph
	SSOGraph
}

// DoctorRequest is what the command gathered before the checks.
type DoctorRequest struct {
	State    state.State
	StateErr error // reading the state failed
	// App is the app --sp-id or --app-id names; the zero AppRef checks the app the state
	// records. cmd has already refused malformed ids (AppRef.Validate).
	App      AppRef
	StateDir string // for messages
	// SignInErr: the Graph flags or the sign-in failed; Graph is then nil.
	SignInErr error
	Graph     DoctorGraph
	Cloud     graph.Cloud
	AuthMode  string // --auth, for the sign-in line
	// Invicti is the Invicti side when a URL, client id and secret were given; InvictiErr
	// says what was missing otherwise.
	Invicti    *InvictiTarget
	InvictiErr error
	Checker    Checker
	// ShowSettings fills DoctorReport.Settings.
	ShowSettings bool
	Now          func() time.Time
	// Progress says what is being checked (for a spinner); nil is allowed.
	Progress func(string)
}

// InvictiTarget is an Invicti tenant and the credentials to use with it.
type InvictiTarget struct {
	Endpoints   Endpoints
	Credentials Credentials
}

// commandPermissions is what each command needs from Graph (application or delegated).
var commandPermissions = []struct {
	cmd      string
	perms    []string
	optional bool
}{
	{"setup", []string{PermApplication, PermSync}, false},
	{"assign", []string{PermAssign, PermUsers, PermGroups}, false},
	{"provision", []string{PermSync, PermUsers, PermGroups}, false},
	{"status / job / rotate-secret", []string{PermSync}, false},
	{"logs", []string{PermAuditLog}, false},
	{"teardown", []string{PermApplication}, false},
	{"sso", []string{PermApplication}, false},
	{"mappings", []string{PermSync, PermUsers, PermGroups}, false},
	// The claims-mapping policy: sso --claims creates and assigns it (Create
	// claimsMappingPolicy: Policy.ReadWrite.ApplicationConfiguration; Assign
	// claimsMappingPolicy: Policy.Read.All with Application.ReadWrite.All); sso --disable and
	// teardown read what it applies to and delete it. Without them the rest still works, and
	// those commands say what they left.
	{"sso --claims (optional)", []string{PermPolicyWrite, PermPolicyRead}, true},
}

// Directory roles that can configure provisioning, by template id.
var adminRoles = map[string]string{
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
	"158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
	"62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
}

// permImplied: a broader permission that covers a narrower one.
var permImplied = map[string][]string{
	PermUsers:       {"User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	PermGroups:      {"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	PermApplication: {"Directory.ReadWrite.All"},
}

func hasPerm(have []string, need string) bool {
	for _, h := range have {
		if strings.EqualFold(h, need) {
			return true
		}
		for _, alt := range permImplied[need] {
			if strings.EqualFold(h, alt) {
				return true
			}
		}
	}
	return false
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Doctor checks everything invicti-scim depends on, in this order: the state file, the Graph
// sign-in (identity, tenant, token lifetime, permissions, directory roles), the Invicti
// credentials, and the app recorded in the state (its settings, job, attribute mappings and
// single sign-on). It never fails as a whole: each problem is a check with its fix.
func Doctor(ctx context.Context, req DoctorRequest) *DoctorReport {
	out := &DoctorReport{}
	add := func(c DoctorCheck) {
		if c.Status == "" {
			c.Status = map[bool]string{true: "ok", false: "fail"}[c.OK]
		}
		out.Checks = append(out.Checks, c)
	}
	progress := func(s string) {
		if req.Progress != nil {
			req.Progress(s)
		}
	}
	now := req.Now
	if now == nil {
		now = time.Now
	}
	st := req.State
	if req.StateErr != nil {
		add(DoctorCheck{Name: "state file", Detail: req.StateErr.Error(), Fix: "move the file away and run setup again"})
	}

	g := req.Graph
	out.Expired = graph.IsExpiredToken(req.SignInErr) // an expired token exits 4, as in every command
	if out.Expired {
		out.TokenErr = req.SignInErr
	}
	if req.SignInErr != nil {
		add(DoctorCheck{Name: "Graph sign-in", Detail: req.SignInErr.Error(), Fix: Hint(req.SignInErr)})
		g = nil
	}
	if g != nil {
		progress("Reading the token")
		claims, cerr := g.TokenClaims(ctx)
		if cerr == nil {
			cerr = claims.Lifetime(now())
		}
		switch {
		case graph.IsExpiredToken(cerr):
			out.Expired, out.TokenErr = true, cerr
			add(DoctorCheck{Name: "Graph sign-in", Detail: cerr.Error(), Fix: Hint(cerr)})
			g = nil
		case cerr != nil && !errors.Is(cerr, graph.ErrNotJWT):
			add(DoctorCheck{Name: "Graph sign-in", Detail: cerr.Error(), Fix: "sign in again (see `invicti-scim setup --help`)"})
			g = nil
		case cerr != nil:
			// Whether Graph accepts the token at all is the sign-in check: an opaque token may
			// be fine, garbage is refused (TokenRefused, the rule every command uses).
			progress("Asking Graph whether it accepts the token")
			if _, perr := g.FindServicePrincipals(ctx, notJWTProbe); TokenRefused(perr) {
				out.noteToken(perr)
				add(DoctorCheck{Name: "Graph sign-in", Detail: "Microsoft Graph did not accept the access token: " + perr.Error(), Fix: GraphFix(perr, "")})
				g = nil
				break
			}
			add(DoctorCheck{Name: "Graph sign-in", OK: true, Status: "warn", Detail: "the token is not a JWT, so its permissions cannot be read; checking by calling Graph instead"})
		default:
			signedIn(out, claims, st, req, now(), add)
		}
	}

	// Invicti side.
	if req.Invicti != nil {
		progress("Checking Invicti")
		res := req.Checker.Check(ctx, req.Invicti.Endpoints, req.Invicti.Credentials)
		if res.OK {
			add(DoctorCheck{Name: invictiCheck, OK: true, Detail: req.Invicti.Endpoints.BaseURL + ": token, ServiceProviderConfig and user query pass"})
		} else {
			problem, fix := FirstProblem(res)
			add(DoctorCheck{Name: invictiCheck, Detail: problem, Fix: fix})
		}
	} else {
		add(DoctorCheck{Name: invictiCheck, OK: true, Status: "skip", Detail: "no Invicti URL, client id or secret given: " + req.InvictiErr.Error()})
	}

	// The app --sp-id or --app-id names (found by ResolveApp, the rule every command uses),
	// else the app recorded in the state.
	switch named := req.App != (AppRef{}); {
	case g != nil && named:
		progress("Checking the app")
		spID, jobID, err := ResolveApp(ctx, g, req.App, st)
		if TokenRefused(err) {
			out.noteToken(err)
			add(refusedCheck("App"))
			break
		}
		if err != nil {
			fix := GraphFix(err, PermApplication)
			if !graph.IsAuth(err) && !graph.IsExpiredToken(err) {
				fix = "check " + req.App.flag() + ", or leave it out to check the app setup recorded"
			}
			add(DoctorCheck{Name: "App", Detail: ExplainGraph(err), Fix: fix})
			out.noteToken(err)
			break
		}
		out.Settings = doctorApp(ctx, g, req, now, spID, jobID, spID != RecordedSP(st), out, add, progress)
	case g != nil && st.App != nil && st.App.ServicePrincipalID != "":
		progress("Checking the app recorded in state")
		out.Settings = doctorApp(ctx, g, req, now, st.App.ServicePrincipalID, st.App.JobID, false, out, add, progress)
	case !named && st.App == nil:
		add(DoctorCheck{Name: "App in state", OK: true, Status: "skip", Detail: "no app recorded yet (run setup)"})
	}

	// Graph refused a token whose own claims still read valid (or that it cannot read): as
	// expired, the clocks disagree (or the token was revoked); otherwise it is malformed or for
	// another tenant or resource. Either way the sign-in line must not stay a green tick or a
	// warning, and no permission is to blame.
	if out.Expired || out.TokenErr != nil {
		for i := range out.Checks {
			if c := &out.Checks[i]; c.Name == "Graph sign-in" && c.OK {
				c.OK, c.Status = false, "fail"
				if out.Expired {
					c.Detail += "; but Microsoft Graph refused this token as expired or not yet valid, so this computer's clock may differ from Microsoft's"
					c.Fix = ClockSkewFix()
				} else {
					c.Detail += "; but Microsoft Graph did not accept the access token: " + out.TokenErr.Error()
					c.Fix = SignInAgain
				}
			}
		}
	}
	out.OK = true
	for _, c := range out.Checks {
		out.OK = out.OK && c.OK
	}
	return out
}

// doctorApp checks one app: that its service principal exists, its saved settings, its job
// and attribute mappings, and single sign-on. foreign is an app named by a flag that the
// state does not record: its checks are named "App" and "Job", a 404 says the id names no app,
// and the state's record of how setup saved the settings does not apply to it.
func doctorApp(ctx context.Context, g DoctorGraph, req DoctorRequest, now func() time.Time, spID, jobID string, foreign bool,
	out *DoctorReport, add func(DoctorCheck), progress func(string)) *SettingsDump {
	st := req.State
	appName, jobName := "App in state", "Job in state"
	if foreign {
		appName, jobName = "App", "Job"
		st.Setup = state.Setup{}
	}
	sp, err := g.ServicePrincipal(ctx, spID)
	switch {
	case graph.IsNotFound(err) && foreign:
		add(DoctorCheck{Name: appName, Detail: "no enterprise app with servicePrincipal " + spID + " in this tenant",
			Fix: "check " + req.App.flag() + ", or leave it out to check the app setup recorded"})
		return nil
	case graph.IsNotFound(err):
		add(DoctorCheck{Name: appName, Detail: "the app recorded in state (servicePrincipal " + spID + ") no longer exists — deleted in the portal?", Fix: "run `invicti-scim setup` to create it again, or `invicti-scim teardown --yes` to forget it"})
		return nil
	case TokenRefused(err):
		out.noteToken(err)
		add(refusedCheck(appName))
		return nil
	case err != nil:
		add(DoctorCheck{Name: appName, Detail: ExplainGraph(err), Fix: GraphFix(err, PermApplication)})
		out.noteToken(err)
		return nil
	}
	name := sp.DisplayName
	if !foreign && st.App != nil && st.App.DisplayName != "" {
		name = st.App.DisplayName
	}
	add(DoctorCheck{Name: appName, OK: true, Detail: fmt.Sprintf("%s (servicePrincipal %s) exists", name, spID)})
	c, dump := checkSettings(ctx, g, st, spID, req.ShowSettings)
	add(c)
	if foreign && jobID == "" {
		// The state knows no job for this app: find it by the one rule (OurJob).
		if jobID, err = ResolveJob(ctx, g, spID, ""); err != nil {
			c := DoctorCheck{Name: jobName, Detail: ExplainGraph(err)}
			if graph.IsAuth(err) || graph.IsExpiredToken(err) {
				c.Fix = GraphFix(err, PermSync) // else the detail says what to do
			}
			add(c)
			out.noteToken(err)
			jobID = ""
		}
	}
	if jobID != "" {
		if _, err := g.Job(ctx, spID, jobID); err == nil {
			add(DoctorCheck{Name: jobName, OK: true, Detail: jobID + " exists"})
			progress("Checking the attribute mappings")
			add(mappingsCheck(ctx, g, spID, jobID))
		} else if graph.IsNotFound(err) {
			add(DoctorCheck{Name: jobName, Detail: jobID + " no longer exists", Fix: "run `invicti-scim setup` to create the job again"})
		} else {
			add(DoctorCheck{Name: jobName, Detail: ExplainGraph(err), Fix: GraphFix(err, PermSync)})
			out.noteToken(err)
		}
	}
	progress("Checking single sign-on")
	add(ssoCheck(ctx, g, req.Cloud, now, st, spID))
	return dump
}

// signedIn fills the identity, permissions and roles from a valid token's claims.
func signedIn(out *DoctorReport, claims graph.Claims, st state.State, req DoctorRequest, now time.Time, add func(DoctorCheck)) {
	out.TenantID, out.Delegated, out.Scopes = claims.TenantID, claims.Delegated(), claims.Scopes()
	if exp := claims.ExpiresAt(); !exp.IsZero() {
		out.TokenExpiry = &exp
	}
	out.Identity = claims.UPN
	if out.Identity == "" {
		out.Identity = strings.TrimSpace(claims.AppName + " (app " + claims.AppID + ")")
	}
	if st.Tenant != "" && out.TenantID != "" && !strings.EqualFold(st.Tenant, out.TenantID) {
		add(DoctorCheck{Name: "Tenant", Detail: fmt.Sprintf("signed in to tenant %s, but the state in %s belongs to tenant %s", out.TenantID, req.StateDir, st.Tenant),
			Fix: "sign in to the tenant setup used, or use a separate --config-dir per tenant"})
	}
	add(DoctorCheck{Name: "Graph sign-in", OK: true, Detail: fmt.Sprintf("%s in tenant %s (%s, via --auth %s)%s", dash(out.Identity), dash(out.TenantID), map[bool]string{true: "delegated", false: "application"}[out.Delegated], req.AuthMode, tokenLeft(claims.ExpiresAt(), now))})
	out.Permissions = permNeeds(out.Scopes)
	missing := missingOf(out.Permissions, false)
	if len(missing) == 0 {
		add(DoctorCheck{Name: "Graph permissions", OK: true, Detail: strings.Join(out.Scopes, " ")})
	} else {
		add(DoctorCheck{Name: "Graph permissions", Detail: "missing " + strings.Join(missing, ", "),
			Fix: "grant (and consent) " + strings.Join(missing, ", ") + " to the signing-in app; Graph reports a missing permission as 401 UnknownError on provisioning calls"})
	}
	if opt := missingOf(out.Permissions, true); len(opt) > 0 {
		add(DoctorCheck{Name: "Optional permissions", OK: true, Status: "warn",
			Detail: "missing " + strings.Join(opt, ", ") + ": needed only for the SAML claims-mapping policy (sso --claims, and for sso --disable and teardown to remove it)",
			Fix:    "grant (and consent) " + strings.Join(opt, ", ") + " before `invicti-scim sso --claims`; nothing else needs them"})
	}
	if out.Delegated {
		held := heldAdminRoles(claims.WIDs)
		out.Roles = held
		if len(held) > 0 {
			add(DoctorCheck{Name: "Directory role", OK: true, Detail: strings.Join(held, ", ")})
		} else {
			add(DoctorCheck{Name: "Directory role", Detail: "none of Application Administrator, Cloud Application Administrator, Global Administrator",
				Fix: "ask a Privileged Role Administrator to assign (or activate in PIM) Application Administrator or Cloud Application Administrator"})
		}
	}
}

// permNeeds is doctor's permission table: for each command (or only those named), what it
// needs and which of it the token's scopes lack.
func permNeeds(scopes []string, commands ...string) []PermNeed {
	var out []PermNeed
	for _, cp := range commandPermissions {
		if len(commands) > 0 && !slices.Contains(commands, cp.cmd) {
			continue
		}
		n := PermNeed{Command: cp.cmd, Needs: cp.perms, Determined: true, Optional: cp.optional}
		for _, p := range cp.perms {
			if !hasPerm(scopes, p) {
				n.Missing = append(n.Missing, p)
			}
		}
		n.Satisfied = len(n.Missing) == 0
		out = append(out, n)
	}
	return out
}

// missingOf lists every missing permission of a table's rows that are (optional) or are not
// optional, once each, in table order.
func missingOf(needs []PermNeed, optional bool) []string {
	var missing []string
	for _, n := range needs {
		if n.Optional != optional {
			continue
		}
		for _, m := range n.Missing {
			if !slices.Contains(missing, m) {
				missing = append(missing, m)
			}
		}
	}
	return missing
}

// heldAdminRoles names the directory roles among a token's wids that can configure
// provisioning (adminRoles), in the token's order.
func heldAdminRoles(wids []string) []string {
	var held []string
	for _, w := range wids {
		if name, ok := adminRoles[w]; ok {
			held = append(held, name)
		}
	}
	return held
}

// tokenLeft says how long the token stays valid, so an admin knows whether a long run will
// outlive it ("" when the token carries no exp).
func tokenLeft(exp, now time.Time) string {
	if exp.IsZero() {
		return ""
	}
	left := exp.Sub(now).Round(time.Minute)
	if left > 48*time.Hour {
		return fmt.Sprintf("; token valid until %s", exp.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return fmt.Sprintf("; token valid for %s more (until %s)", left, exp.UTC().Format("15:04 UTC"))
}

// FirstProblem is the first failed step's problem and the first fix of a direct Invicti check
// ("failed" when no step says more).
func FirstProblem(res CheckResult) (problem, fix string) {
	problem = "failed"
	found := false
	for _, s := range res.Steps {
		if s.Problem == nil {
			continue
		}
		if !found && s.Problem.Message != "" {
			problem, found = s.Problem.Message, true
		}
		if fix == "" && s.Problem.Fix != "" {
			fix = s.Problem.Fix
		}
	}
	return problem, fix
}

// checkSettings reads the saved provisioning settings: outdated ones (key set v1) fail, the
// experimental writer warns; with show, their key names are kept for output.
func checkSettings(ctx context.Context, g DoctorGraph, st state.State, spID string, show bool) (DoctorCheck, *SettingsDump) {
	kv, err := g.Secrets(ctx, spID)
	if err != nil {
		return DoctorCheck{Name: "Provisioning settings", Detail: ExplainGraph(err), Fix: "needs " + PermSync}, nil
	}
	saved := NewSaved(kv)
	v := NewSettingsView(saved, st.Setup.SecretsKeySet, st.Setup.SettingsWriter, st.Setup.Experimental)
	var dump *SettingsDump
	if show {
		dump = &SettingsDump{ServicePrincipalID: spID, Keys: saved.Names(), KeySet: v.KeySet, StateKeySet: v.StateKeySet,
			Writer: v.Writer, Experimental: v.Experimental, ClientCredentials: v.ClientCredentials}
	}
	switch {
	case saved.Empty():
		return DoctorCheck{Name: "Provisioning settings", Detail: "nothing saved", Fix: "run `invicti-scim setup`"}, dump
	case v.Outdated():
		return DoctorCheck{Name: "Provisioning settings", Detail: OutdatedSettings, Fix: "run `invicti-scim setup` again (same app, same job)"}, dump
	case len(v.Mixed) > 0:
		return DoctorCheck{Name: "Provisioning settings", Detail: "bearer or pre-minted token keys saved beside the client-credentials ones: " + strings.Join(v.Mixed, ", "),
			Fix: "save the settings again with `invicti-scim setup`, or clear them in the portal"}, dump
	case !v.ClientCredentials:
		return DoctorCheck{Name: "Provisioning settings", Detail: "the saved settings do not select the OAuth2 client credentials grant (no AuthenticationType)", Fix: "run `invicti-scim setup`"}, dump
	case v.Experimental:
		return DoctorCheck{Name: "Provisioning settings", OK: true, Status: "warn", Detail: "key set " + v.KeySet + ", saved through the experimental beta connectivityParameters endpoint"}, dump
	}
	detail := "key set " + v.KeySet
	if v.Writer != "" {
		detail += ", saved by " + v.Writer
	}
	return DoctorCheck{Name: "Provisioning settings", OK: true, Detail: detail}, dump
}

// mappingsCheck is doctor's run of `mappings check`: users who would reach Invicti without
// an e-mail or name are a warning, with the fix.
func mappingsCheck(ctx context.Context, g MappingsGraph, spID, jobID string) DoctorCheck {
	res, err := CheckMappings(ctx, g, spID, jobID)
	if err != nil {
		return DoctorCheck{Name: "Attribute mappings", Detail: ExplainGraph(err), Fix: "needs " + PermSync + " and " + PermUsers}
	}
	var empty []string
	fix := ""
	for _, fd := range res.Findings {
		if fd.Count > 0 {
			empty = append(empty, fmt.Sprintf("%s empty for %d (%s)", fd.What, fd.Count, strings.Join(fd.Users, ", ")))
			if fd.Fix != "" {
				fix = "invicti-scim mappings check --fix (maps " + fd.Target + " ← " + fd.Fix + ")"
			}
		}
	}
	if len(empty) == 0 {
		return DoctorCheck{Name: "Attribute mappings", OK: true, Detail: fmt.Sprintf("e-mail and names filled for all %d assigned users", res.UsersChecked)}
	}
	if fix == "" {
		fix = "fill the attributes in Entra or map a fallback (docs/mappings.md)"
	}
	return DoctorCheck{Name: "Attribute mappings", OK: true, Status: "warn", Detail: strings.Join(empty, "; ") + "; fix: " + fix, Fix: fix}
}

// ssoCheck is doctor's SSO line: skipped when SAML is off, failed when it cannot sign or its
// certificate has expired, a warning under 30 days.
func ssoCheck(ctx context.Context, g DoctorGraph, cloud graph.Cloud, now func() time.Time, st state.State, spID string) DoctorCheck {
	s, err := ReadSSO(ctx, g, cloud, now, st, spID)
	if err != nil {
		return DoctorCheck{Name: "Single sign-on", Detail: ExplainGraph(err), Fix: "needs " + PermApplication}
	}
	if !s.Enabled {
		return DoctorCheck{Name: "Single sign-on", OK: true, Status: "skip", Detail: "SAML is not set up on the app (invicti-scim sso)"}
	}
	problem := SSOProblem(s)
	switch {
	case len(s.IdentifierURIs) == 0 || len(s.ReplyURLs) == 0:
		return DoctorCheck{Name: "Single sign-on", Detail: "SAML is on but the app has no identifier or reply URL", Fix: "run `invicti-scim sso --identifier … --reply-url …`"}
	case s.Certificate == nil || s.Certificate.DaysLeft < 0:
		return DoctorCheck{Name: "Single sign-on", Detail: problem, Fix: "run `invicti-scim sso --new-certificate` and upload the certificate to Invicti"}
	case s.Certificate.Expiring:
		return DoctorCheck{Name: "Single sign-on", OK: true, Status: "warn", Detail: problem}
	}
	return DoctorCheck{Name: "Single sign-on", OK: true, Detail: fmt.Sprintf("saml, certificate valid %d more days", s.Certificate.DaysLeft)}
}

// SSOReadGraph is what ReadSSO needs from Graph.
type SSOReadGraph interface {
	AppReader
	SSOGraph
}

// ReadSSO reads the app's SAML single sign-on state.
func ReadSSO(ctx context.Context, g SSOReadGraph, cloud graph.Cloud, now func() time.Time, st state.State, spID string) (*SSOResult, error) {
	req, err := NewSSORequest(ctx, g, st, spID)
	if err != nil {
		return nil, err
	}
	c := &SSOConfigurator{Graph: g, Cloud: cloud, Now: now}
	if cg, ok := g.(ClaimsGraph); ok {
		c.Claims = cg // the real client; test fakes without claims leave them unreported
	}
	return c.Read(ctx, req)
}

// SSOProblem is what is wrong with SAML single sign-on that is on ("" when nothing is, or it
// is off): no active certificate, an expired one, or one that expires within CertRenewBefore.
func SSOProblem(s *SSOResult) string {
	if s == nil || !s.Enabled {
		return ""
	}
	switch c := s.Certificate; {
	case c == nil:
		return "SAML is on but no token-signing certificate is active: run `invicti-scim sso` again"
	case c.DaysLeft < 0:
		return "the SAML signing certificate has expired: run `invicti-scim sso --new-certificate` and upload it to Invicti"
	case c.Expiring:
		return fmt.Sprintf("the SAML signing certificate expires in %s: run `invicti-scim sso --new-certificate` and upload it to Invicti", plural.Count(c.DaysLeft, "day"))
	}
	return ""
}
