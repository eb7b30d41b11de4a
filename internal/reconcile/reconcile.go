// Package reconcile is configuration as code: it compares what a manifest (internal/manifest)
// says with what a tenant has, lists the differences in an admin's words (Plan), and applies
// exactly those (Apply) through the same use cases as setup, assign, sso and mappings
// (internal/provision); it never makes a Graph call of its own. Many tenants run concurrently
// under a bound (RunAll), each with its own sign-in, Graph client (and so its own throttling
// retries), state directory and lock; one tenant's failure never stops the others.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/manifest"
	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// Actions of a Change.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Resources of a Change, in the order a plan lists them.
const (
	ResourceApp          = "app"
	ResourceJob          = "provisioning job"
	ResourceSettings     = "provisioning settings"
	ResourceProvisioning = "provisioning"
	ResourceTeam         = "team"
	ResourceUser         = "user assignment"
	ResourceGroup        = "group assignment"
	ResourceMappings     = "attribute mappings"
	ResourceSSO          = "single sign-on"
)

// Change is one difference between the manifest and the tenant: what apply would do.
type Change struct {
	Action   string `json:"action"`   // create, update or delete
	Resource string `json:"resource"` // one of the Resource constants
	Name     string `json:"name"`     // the app's, user's, group's or team's name
	Detail   string `json:"detail"`   // in an admin's words
	// Prune marks a delete that only apply --prune carries out: an assignment the manifest
	// does not name (a prune candidate).
	Prune bool `json:"prune,omitempty"`
	// AddedSinceApply marks a prune candidate that was not assigned when this same manifest
	// was last applied (state records the ones that apply saw and left in place): someone
	// assigned it since, which is drift. Only set when the manifest is the one last applied.
	AddedSinceApply bool `json:"addedSinceApply,omitempty"`
	// Tenant names the tenant in a manifest with a tenants: list.
	Tenant string `json:"tenant,omitempty"`

	// principal is a prune candidate's object id, for recording it in state.
	principal state.Principal
}

// Drift compares the tenant with the manifest apply last applied to it.
type Drift struct {
	// AppliedAt and SHA256 are the last apply's, from state.
	AppliedAt time.Time `json:"appliedAt"`
	SHA256    string    `json:"sha256"`
	Path      string    `json:"path"`
	// SameManifest says this file is the one last applied, so drift can be told: the tenant
	// changed behind the tool's back.
	SameManifest bool `json:"sameManifest"`
	// Drifted says the tenant changed since this manifest was applied: something the manifest
	// asks for is missing or different (a change that is not a prune), or an assignment the
	// manifest does not name was added since (a prune candidate with AddedSinceApply). A
	// prune candidate that apply saw and left in place (no --prune) is not drift.
	Drifted bool `json:"drifted"`
}

// Deps are the outside world the use case needs, injected by the command.
type Deps struct {
	// HTTPClient returns a client for Graph (retry true: throttling and 503 retries, onWait
	// told of each wait) or Invicti (retry false).
	HTTPClient func(retry bool, onWait func(*http.Request, int, time.Duration)) *http.Client
	Getenv     func(string) string
	// Stdin is read at most once, for the first {stdin: true} reference.
	Stdin io.Reader
	Now   func() time.Time
	// AddSecret registers a secret or token with the output redactor (nil: none).
	AddSecret func(string)
	// AddBasic registers HTTP Basic credentials with the redactor (nil: none).
	AddBasic func(user, secret string)
	// Prompt is where a device-code sign-in message goes.
	Prompt io.Writer
	// ConfigDir is the command's config dir; each tenant of a tenants: list keeps its state in
	// its own directory under it.
	ConfigDir string
	// WaitLock is how long Apply waits for another run's lock on a tenant's state.
	WaitLock time.Duration
	// Progress, when set, receives the use cases' progress events for a tenant.
	Progress func(tenant string, e provision.Event)
	// Warn, when set, is told of something the admin should know that does not stop the
	// tenant (a Graph URL that is not Microsoft's: the sign-in token goes to it).
	Warn func(tenant, msg string)
	// OnThrottle, when set, is told when a tenant's Graph throttles.
	OnThrottle func(tenant string, status int, wait time.Duration)

	stdinOnce sync.Once
	stdinData []byte
	stdinErr  error
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deps) stdin() ([]byte, error) {
	d.stdinOnce.Do(func() {
		if d.Stdin == nil {
			d.stdinErr = errors.New("no standard input")
			return
		}
		d.stdinData, d.stdinErr = io.ReadAll(io.LimitReader(d.Stdin, maxRefBytes+1))
	})
	return d.stdinData, d.stdinErr
}

// maxRefBytes bounds a referenced secret or token file (a token is a few KiB).
const maxRefBytes = 64 << 10

// Plan is one tenant's plan: what apply would change there.
type Plan struct {
	Tenant  string   `json:"tenant,omitempty"`
	Changes []Change `json:"changes"`
	Drift   *Drift   `json:"drift,omitempty"`

	m        *manifest.Manifest
	t        manifest.Tenant
	s        *session
	setupCfg provision.SetupConfig
	setupRun bool
	spID     string
	jobID    string
	appID    string
	appObjID string
	assign   struct{ users, groups []string }
	prune    struct{ users, groups []string }
	// left are the prune candidates, as apply records those it leaves in place.
	left     []state.Principal
	teams    []string
	mappings *provision.Mappings
	sso      *provision.SSORequest
}

// InSync reports whether the tenant already matches the manifest: apply without --prune
// would change nothing and the tenant has not drifted (Pending(false) is 0). Prune candidates
// that the last apply of this manifest left in place may remain.
func (p *Plan) InSync() bool { return p.Pending(false) == 0 }

// Pending counts what plan --exit-code reports: the changes apply (with prune: apply
// --prune) would carry out, and the prune candidates added since this manifest was applied
// (drift, even when apply without --prune would leave them).
func (p *Plan) Pending(prune bool) int {
	n := 0
	for _, c := range p.Changes {
		if !c.Prune || prune || c.AddedSinceApply {
			n++
		}
	}
	return n
}

// Applies counts the changes apply (with prune: apply --prune) would carry out.
func (p *Plan) Applies(prune bool) int {
	n := 0
	for _, c := range p.Changes {
		if !c.Prune || prune {
			n++
		}
	}
	return n
}

// PruneCandidates counts the assignments the manifest does not name (deletes only apply
// --prune carries out).
func (p *Plan) PruneCandidates() int {
	n := 0
	for _, c := range p.Changes {
		if c.Prune {
			n++
		}
	}
	return n
}

// Close releases the tenant's lock, if the plan holds it.
func (p *Plan) Close() {
	if p != nil && p.s != nil && p.s.lock != nil {
		_ = p.s.lock.Unlock()
		p.s.lock = nil
	}
}

// session is one tenant's connection and state.
type session struct {
	client *graph.Client
	cloud  graph.Cloud
	tid    string
	ep     invicti.Endpoints
	cred   invicti.Credentials
	store  state.Store
	lock   *state.Lock
}

// Options for Plan.
type Options struct {
	// Lock takes the tenant's state lock for an Apply that follows (held until Plan.Close).
	Lock bool
}

// PlanTenant reads tenant t and lists what applying the manifest would change.
func (d *Deps) PlanTenant(ctx context.Context, m *manifest.Manifest, t manifest.Tenant, o Options) (*Plan, error) {
	s, err := d.open(ctx, m, t, o.Lock)
	if err != nil {
		return nil, err
	}
	p := &Plan{Tenant: t.Name, Changes: []Change{}, m: m, t: t, s: s}
	if err := d.plan(ctx, p); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (d *Deps) progress(tenant string) provision.Progress {
	if d.Progress == nil {
		return nil
	}
	return func(e provision.Event) { d.Progress(tenant, e) }
}

func (d *Deps) plan(ctx context.Context, p *Plan) error {
	t, s := p.t, p.s
	cfg := provision.SetupConfig{
		AppName: t.AppName, Endpoints: s.ep, Credentials: s.cred, Cloud: s.cloud,
		NoStart: t.Start != nil && !*t.Start, DryRun: true, Notifications: provision.DefaultNotifications(),
	}
	if n := t.Notifications; n != nil {
		if n.Emails != nil {
			cfg.Notifications.Emails, cfg.EmailsSet = n.Emails, true
		}
		if n.DeletionThreshold != nil {
			cfg.Notifications.DeletionThreshold, cfg.ThresholdSet = *n.DeletionThreshold, true
		}
	}
	setup := &provision.Setup{TenantID: s.tid, Graph: s.client, Checker: d.checker(), Store: s.store, Progress: d.progress(t.Name), Now: d.Now}
	res, err := setup.Run(ctx, cfg)
	if err != nil {
		return err
	}
	p.setupCfg = cfg
	p.spID, p.jobID, p.appID = res.ServicePrincipalID, res.JobID, res.AppID
	creating := false
	for _, st := range res.Steps {
		c, ok := setupChange(st, t.AppName)
		if st.ID == "app" && st.Outcome == provision.WillCreate {
			creating = true
		}
		if st.ID == "tag" && creating {
			// A new app gets its tag as part of being created: one change, not two.
			p.setupRun = true
			continue
		}
		if ok {
			p.Changes = append(p.Changes, c)
			p.setupRun = true
		}
	}
	st, err := s.store.Load()
	if err != nil {
		return err
	}
	if st.App != nil && st.App.ServicePrincipalID == p.spID {
		p.appObjID = st.App.ApplicationID
	}

	// Teams in Invicti, before users arrive.
	if t.TeamsSet && len(t.Teams) > 0 {
		scim := d.checker().Client(ctx, s.ep, s.cred)
		for _, name := range t.Teams {
			g, err := scim.FindGroup(ctx, name)
			if err != nil {
				return fmt.Errorf("look up Invicti team %q: %w", name, err)
			}
			if g == nil {
				p.teams = append(p.teams, name)
				p.Changes = append(p.Changes, Change{Action: ActionCreate, Resource: ResourceTeam, Name: name, Detail: "create the team in Invicti (then give it roles there; SCIM sets none)"})
			}
		}
	}

	if err := d.planAssignments(ctx, p); err != nil {
		return err
	}
	if err := d.planMappings(ctx, p); err != nil {
		return err
	}
	if err := d.planSSO(ctx, p); err != nil {
		return err
	}
	if st.Manifest != nil {
		p.Drift = &Drift{AppliedAt: st.Manifest.AppliedAt, SHA256: st.Manifest.SHA256, Path: st.Manifest.Path, SameManifest: st.Manifest.SHA256 == p.m.Hash}
		if p.Drift.SameManifest {
			markDrift(p, st.Manifest)
		}
	}
	return nil
}

// markDrift applies the drift rule to a plan of the manifest last applied: every change that
// is not a prune is drift (what the manifest asks for went missing or changed since), and so
// is every prune candidate the last apply did not see and leave in place (assigned since).
func markDrift(p *Plan, rec *state.Manifest) {
	seen := map[string]bool{}
	for _, x := range rec.LeftInPlace {
		seen[strings.ToLower(x.ID)] = true
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Prune && !seen[strings.ToLower(c.principal.ID)] {
			c.AddedSinceApply = true
			c.Detail = detailAddedSince
		}
		if !c.Prune || c.AddedSinceApply {
			p.Drift.Drifted = true
		}
	}
}

// The details of a prune candidate: one the last apply saw and left in place, and one
// assigned since (drift).
const (
	detailBesides    = "assigned besides the manifest; apply --prune removes it"
	detailAddedSince = "assigned since this manifest was applied, besides it (drift); apply --prune removes it"
)

// setupChange turns one step of setup's dry run into a change ("" outcome kinds that need no
// change: the step is in place, or only a check would run).
func setupChange(st provision.Step, appName string) (Change, bool) {
	switch st.Outcome {
	case provision.WillCreate, provision.WillUpdate, provision.WillStart:
	default:
		return Change{}, false
	}
	switch st.ID {
	case "app":
		return Change{Action: ActionCreate, Resource: ResourceApp, Name: appName, Detail: "create the enterprise app from the non-gallery template, tagged invicti-scim"}, true
	case "tag":
		return Change{Action: ActionUpdate, Resource: ResourceApp, Name: appName, Detail: "tag the app invicti-scim so later runs find it"}, true
	case "job":
		return Change{Action: ActionCreate, Resource: ResourceJob, Name: appName, Detail: "create the SCIM provisioning job"}, true
	case "secrets":
		detail := st.Detail
		if k, _, ok := strings.Cut(detail, ": "); ok && strings.HasPrefix(k, "key set ") {
			detail = k
		}
		return Change{Action: ActionUpdate, Resource: ResourceSettings, Name: appName, Detail: "save the Tenant URL, Token Endpoint, client id and secret, and the notification settings (" + detail + ")"}, true
	case "start":
		detail := "start provisioning"
		if strings.Contains(st.Detail, "restart") {
			detail = st.Detail
		}
		return Change{Action: ActionUpdate, Resource: ResourceProvisioning, Name: appName, Detail: detail}, true
	}
	return Change{Action: ActionUpdate, Resource: ResourceApp, Name: appName, Detail: st.Title + ": " + st.Detail}, true
}

func (d *Deps) assigner(p *Plan) *provision.Assigner {
	return &provision.Assigner{Graph: p.s.client, Progress: d.progress(p.t.Name)}
}

func (d *Deps) planAssignments(ctx context.Context, p *Plan) error {
	a := p.t.Assignments
	if a == nil {
		return nil
	}
	as := d.assigner(p)
	if p.spID == "" {
		// No app yet: everything listed will be assigned once apply made it. Looked up now, so
		// a name that does not exist stops the plan before apply creates anything.
		items, err := as.Resolve(ctx, a.Users, a.Groups)
		if err != nil {
			return err
		}
		if bad := provision.Unresolved(items, func(it provision.AssignItem) string {
			return fmt.Sprintf("%s: assignments.%ss: %s", p.m.Path, it.Type, it.Input)
		}); len(bad) > 0 {
			return &InputError{Problems: bad, Fix: fixManifest}
		}
		p.assign.users, p.assign.groups = a.Users, a.Groups
		for _, u := range a.Users {
			p.Changes = append(p.Changes, Change{Action: ActionCreate, Resource: ResourceUser, Name: u, Detail: "assign the user to the new app"})
		}
		for _, g := range a.Groups {
			p.Changes = append(p.Changes, Change{Action: ActionCreate, Resource: ResourceGroup, Name: g, Detail: "assign the group to the new app"})
		}
		return nil
	}
	keep := map[string]bool{}
	if len(a.Users)+len(a.Groups) > 0 {
		res, err := as.Run(ctx, provision.AssignRequest{ServicePrincipalID: p.spID, Users: a.Users, Groups: a.Groups, DryRun: true})
		if err != nil {
			return err
		}
		var bad []string
		for _, it := range res.Items {
			keep[strings.ToLower(it.ID)] = true
			switch it.Status {
			case provision.StatusFailed:
				bad = append(bad, fmt.Sprintf("%s: assignments.%ss: %s: %s", p.m.Path, it.Type, it.Input, it.Error))
			case provision.StatusWillAssign:
				c := Change{Action: ActionCreate, Resource: ResourceUser, Name: it.Input, Detail: "assign to the app (the next cycle provisions it)"}
				if it.Type == "group" {
					c.Resource = ResourceGroup
					p.assign.groups = append(p.assign.groups, it.ID)
				} else {
					p.assign.users = append(p.assign.users, it.ID)
				}
				if it.Name != "" && !strings.EqualFold(it.Name, it.Input) {
					c.Detail += "; " + it.Name
				}
				p.Changes = append(p.Changes, c)
			}
		}
		if len(bad) > 0 {
			return &InputError{Problems: bad, Fix: fixManifest}
		}
	}
	list, err := as.List(ctx, p.spID)
	if err != nil {
		return err
	}
	for _, x := range list.Assigned {
		if keep[strings.ToLower(x.PrincipalID)] {
			continue
		}
		c := Change{Action: ActionDelete, Resource: ResourceUser, Name: x.Name, Detail: detailBesides, Prune: true,
			principal: state.Principal{ID: x.PrincipalID, Type: x.Type, Name: x.Name}}
		p.left = append(p.left, c.principal)
		if x.Type == "group" {
			c.Resource = ResourceGroup
			p.prune.groups = append(p.prune.groups, x.PrincipalID)
		} else {
			p.prune.users = append(p.prune.users, x.PrincipalID)
		}
		p.Changes = append(p.Changes, c)
	}
	return nil
}

func (d *Deps) wantMappings(p *Plan) (*provision.Mappings, error) {
	mp := p.t.Mappings
	if mp == nil {
		return nil, nil
	}
	if mp.Preset != "" {
		m := provision.InvictiPreset()
		return &m, nil
	}
	path := mp.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.m.Dir(), path)
	}
	data, err := state.ReadFileLimited(path, 1<<20)
	if err != nil {
		return nil, &InputError{Problems: []string{fmt.Sprintf("%s:%d: mappings.file %s: %v", p.m.Path, mp.Line, mp.File, err)}, Fix: fixManifest}
	}
	m, err := provision.ParseMappings(data)
	if err != nil {
		return nil, &InputError{Problems: []string{fmt.Sprintf("%s:%d: mappings.file %s: %v", p.m.Path, mp.Line, mp.File, err)}, Fix: fixManifest}
	}
	return &m, nil
}

func (d *Deps) planMappings(ctx context.Context, p *Plan) error {
	want, err := d.wantMappings(p)
	if err != nil || want == nil {
		return err
	}
	if p.jobID == "" {
		p.mappings = want
		p.Changes = append(p.Changes, Change{Action: ActionUpdate, Resource: ResourceMappings, Name: p.t.AppName, Detail: "set the attribute mappings on the new job"})
		return nil
	}
	have, _, err := provision.ReadMappings(ctx, p.s.client, p.spID, p.jobID)
	if err != nil {
		return err
	}
	diff := provision.DiffMappings(*want, have)
	if len(diff) == 0 {
		return nil
	}
	p.mappings = want
	var parts []string
	for _, c := range diff {
		parts = append(parts, c.Kind+" "+c.Object+"."+c.Target)
	}
	p.Changes = append(p.Changes, Change{Action: ActionUpdate, Resource: ResourceMappings, Name: p.t.AppName, Detail: strings.Join(parts, ", ")})
	return nil
}

// ssoConfigurator is the one SSO use case `sso` runs. Turning SSO off (sso.enabled: false)
// also removes the claims-mapping policy `sso --claims` made, as `sso --disable` does; turning
// it on leaves claims alone (the manifest has no claims), so it reads no policies.
func ssoConfigurator(s *session, d *Deps, req provision.SSORequest) *provision.SSOConfigurator {
	c := &provision.SSOConfigurator{Graph: s.client, Cloud: s.cloud, Now: d.Now}
	if req.Disable {
		c.Claims = s.client
	}
	return c
}

func (d *Deps) planSSO(ctx context.Context, p *Plan) error {
	s := p.t.SSO
	if s == nil {
		return nil
	}
	req := provision.SSORequest{ServicePrincipalID: p.spID, ApplicationID: p.appObjID, AppID: p.appID, TenantID: p.s.tid,
		Identifier: s.Identifier, ReplyURL: s.ReplyURL, Disable: !s.Enabled}
	if s.Enabled {
		host := ""
		if u := p.s.ep.BaseURL; u != "" {
			host = hostOf(u)
		}
		for _, v := range []struct{ what, raw string }{{"sso.identifier", s.Identifier}, {"sso.replyUrl", s.ReplyURL}} {
			if _, err := provision.ValidateSSOURL(v.what, v.raw, host); err != nil {
				return &InputError{Problems: []string{fmt.Sprintf("%s: %v", p.m.Path, err)}, Fix: fixManifest}
			}
		}
	}
	if p.spID == "" || p.appObjID == "" {
		if s.Enabled {
			p.sso = &req
			p.Changes = append(p.Changes, Change{Action: ActionUpdate, Resource: ResourceSSO, Name: p.t.AppName, Detail: "turn SAML single sign-on on once the app exists"})
		}
		return nil
	}
	req.DryRun = true
	res, err := ssoConfigurator(p.s, d, req).Run(ctx, req)
	if err != nil {
		return err
	}
	var parts []string
	for _, st := range res.Steps {
		if strings.HasPrefix(string(st.Outcome), "will-") {
			parts = append(parts, st.Name)
		}
	}
	if len(parts) > 0 {
		req.DryRun = false
		p.sso = &req
		p.Changes = append(p.Changes, Change{Action: ActionUpdate, Resource: ResourceSSO, Name: p.t.AppName, Detail: strings.Join(parts, "; ")})
	}
	return nil
}

func hostOf(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if i := strings.IndexAny(u, "/"); i >= 0 {
		u = u[:i]
	}
	return u
}

// Result is what Apply did for one tenant.
type Result struct {
	Tenant  string   `json:"tenant,omitempty"`
	Applied []Change `json:"applied"`
	// Skipped are the plan's deletes, left because --prune was not given.
	Skipped []Change `json:"skipped,omitempty"`
}

// Apply carries out exactly the changes of p (deletes only with prune) and records the
// manifest in the tenant's state. p must come from PlanTenant with Options.Lock.
func (d *Deps) Apply(ctx context.Context, p *Plan, prune bool) (*Result, error) {
	res := &Result{Tenant: p.Tenant, Applied: []Change{}}
	s := p.s
	done := func(resource string) {
		for _, c := range p.Changes {
			if c.Resource == resource && !c.Prune {
				res.Applied = append(res.Applied, c)
			}
		}
	}
	if p.setupRun {
		cfg := p.setupCfg
		cfg.DryRun = false
		setup := &provision.Setup{TenantID: s.tid, Graph: s.client, Checker: d.checker(), Store: s.store, Progress: d.progress(p.Tenant), Now: d.Now}
		out, err := setup.Run(ctx, cfg)
		if err != nil {
			return res, err
		}
		p.spID, p.jobID, p.appID = out.ServicePrincipalID, out.JobID, out.AppID
		for _, r := range []string{ResourceApp, ResourceJob, ResourceSettings, ResourceProvisioning} {
			done(r)
		}
		if st, err := s.store.Load(); err == nil && st.App != nil {
			p.appObjID = st.App.ApplicationID
		}
	}
	if len(p.teams) > 0 {
		scim := d.checker().Client(ctx, s.ep, s.cred)
		for _, name := range p.teams {
			if _, _, err := scim.CreateGroup(ctx, name); err != nil {
				return res, fmt.Errorf("create Invicti team %q: %w", name, err)
			}
		}
		done(ResourceTeam)
	}
	if len(p.assign.users)+len(p.assign.groups) > 0 {
		out, err := d.assigner(p).Run(ctx, provision.AssignRequest{ServicePrincipalID: p.spID, Users: p.assign.users, Groups: p.assign.groups})
		if err != nil {
			return res, err
		}
		if f := out.Failed(); len(f) > 0 {
			return res, fmt.Errorf("assign %s: %s", f[0].Input, f[0].Error)
		}
		done(ResourceUser)
		done(ResourceGroup)
	}
	for _, c := range p.Changes {
		if c.Prune && !prune {
			res.Skipped = append(res.Skipped, c)
		}
	}
	if prune && len(p.prune.users)+len(p.prune.groups) > 0 {
		out, err := d.assigner(p).Run(ctx, provision.AssignRequest{ServicePrincipalID: p.spID, Users: p.prune.users, Groups: p.prune.groups, Remove: true})
		if err != nil {
			return res, err
		}
		if f := out.Failed(); len(f) > 0 {
			return res, fmt.Errorf("remove %s: %s", f[0].Input, f[0].Error)
		}
		for _, c := range p.Changes {
			if c.Prune {
				res.Applied = append(res.Applied, c)
			}
		}
	}
	if p.mappings != nil {
		_, schema, err := provision.ReadMappings(ctx, s.client, p.spID, p.jobID)
		if err != nil {
			return res, err
		}
		if err := provision.ApplyMappings(ctx, s.client, p.spID, p.jobID, schema, *p.mappings); err != nil {
			return res, err
		}
		done(ResourceMappings)
	}
	if p.sso != nil {
		req := *p.sso
		req.ServicePrincipalID, req.ApplicationID, req.AppID = p.spID, p.appObjID, p.appID
		if _, err := ssoConfigurator(s, d, req).Run(ctx, req); err != nil {
			return res, err
		}
		done(ResourceSSO)
	}
	var left []state.Principal
	if !prune {
		left = p.left
	}
	return res, d.record(ctx, p, left)
}

// record saves the applied manifest's hash and time, the assignments it stands for, and the
// ones besides it that apply saw and left in place (left: no --prune), so status and plan can
// tell drift from edits, and an assignment added since from one apply already saw.
func (d *Deps) record(ctx context.Context, p *Plan, left []state.Principal) error {
	var want []state.Principal
	if a := p.t.Assignments; a != nil && p.spID != "" && len(a.Users)+len(a.Groups) > 0 {
		res, err := d.assigner(p).Run(ctx, provision.AssignRequest{ServicePrincipalID: p.spID, Users: a.Users, Groups: a.Groups, DryRun: true})
		if err != nil {
			return err
		}
		for _, it := range res.Items {
			if it.ID != "" {
				want = append(want, state.Principal{ID: it.ID, Type: it.Type, Name: it.Input})
			}
		}
	}
	st, err := p.s.store.Load()
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(p.m.Path)
	st.Manifest = &state.Manifest{Path: abs, SHA256: p.m.Hash, AppliedAt: d.now().UTC(), Tenant: p.Tenant, Assignments: want, LeftInPlace: left}
	return p.s.store.Save(st)
}

// InputError is a manifest value the tenant refuses (a user that does not exist, a mappings
// file that does not parse). The CLI exits 2.
type InputError struct {
	Problems []string
	// Fix is the hint, when the message does not already say what to do.
	Fix string
}

func (e *InputError) Error() string { return strings.Join(e.Problems, "; ") }

// Hint says how to fix it.
func (e *InputError) Hint() string { return e.Fix }

const fixManifest = "correct the manifest and run plan again"

// sortChanges orders a plan for reading: by resource, then creates, updates, deletes.
func sortChanges(cs []Change) {
	order := []string{ResourceApp, ResourceJob, ResourceSettings, ResourceProvisioning, ResourceTeam, ResourceUser, ResourceGroup, ResourceMappings, ResourceSSO}
	act := []string{ActionCreate, ActionUpdate, ActionDelete}
	slices.SortStableFunc(cs, func(a, b Change) int {
		if x, y := slices.Index(order, a.Resource), slices.Index(order, b.Resource); x != y {
			return x - y
		}
		return slices.Index(act, a.Action) - slices.Index(act, b.Action)
	})
}
