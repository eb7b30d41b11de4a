package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/invicti"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// MarkerTag is put on the service principal so a re-run finds the app even without state.
const MarkerTag = "invicti-scim"

// JobTemplate is the provisioning template of new non-gallery SCIM apps.
const JobTemplate = "scim"

// SetupConfig is everything setup needs, already validated.
type SetupConfig struct {
	AppName     string
	Endpoints   invicti.Endpoints
	Credentials invicti.Credentials
	Cloud       graph.Cloud
	NoStart     bool
	DryRun      bool
	// Guided, when set, is called interactively after a guided step has been shown; it
	// returns when the admin says the portal is done (or an error to stop).
	Guided func(ctx context.Context, g Guide) error
}

// SetupResult is what setup did.
type SetupResult struct {
	AppName            string `json:"appName"`
	AppID              string `json:"appId"`
	ApplicationID      string `json:"applicationId"`
	ServicePrincipalID string `json:"servicePrincipalId"`
	JobID              string `json:"jobId"`
	TenantURL          string `json:"tenantUrl"`
	TokenEndpoint      string `json:"tokenEndpoint"`
	Region             string `json:"region"`
	InvictiURL         string `json:"invictiUrl"`
	ClientID           string `json:"clientId"`
	DryRun             bool   `json:"dryRun"`
	Steps              []Step `json:"steps"`
	PortalURL          string `json:"portalUrl,omitempty"`
	ProvisioningURL    string `json:"provisioningUrl,omitempty"`
	Guide              *Guide `json:"guide,omitempty"`
	AppRoleID          string `json:"-"`
}

// Setup runs the setup flow: check → plan → apply, each step idempotent.
type Setup struct {
	// TenantID, when known, is recorded in state so a later run against another tenant
	// does not reuse these ids.
	TenantID string
	Graph    Graph
	Checker  Checker
	Store    state.Store
	Waiter   Waiter
	Progress Progress
	Now      func() time.Time
}

type run struct {
	*Setup
	cfg   SetupConfig
	st    state.State
	res   *SetupResult
	sp    graph.ServicePrincipal
	fresh bool // we created the app in this run: replication retries get the full budget
	// validated: Entra's Test Connection already passed with the saved settings in this run.
	validated bool
}

// Run executes setup. On error the result still lists the steps that ran.
func (s *Setup) Run(ctx context.Context, cfg SetupConfig) (*SetupResult, error) {
	st, err := s.Store.Load()
	if err != nil {
		return nil, err
	}
	r := &run{Setup: s, cfg: cfg, st: st, res: &SetupResult{
		AppName: cfg.AppName, TenantURL: cfg.Endpoints.TenantURL, TokenEndpoint: cfg.Endpoints.TokenURL,
		Region: cfg.Endpoints.Region, InvictiURL: cfg.Endpoints.BaseURL, ClientID: cfg.Credentials.ClientID, DryRun: cfg.DryRun,
	}}
	steps := []func(context.Context) error{r.checkInvicti, r.findOrCreateApp, r.tagApp, r.ensureJob, r.configureSecrets, r.testConnection, r.startJob}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return r.res, err
		}
		if err := step(ctx); err != nil {
			return r.res, err
		}
	}
	if !cfg.DryRun {
		r.st.Setup.Completed = true
		r.st.Setup.GuidedPending = false
		if err := r.save("done"); err != nil {
			return r.res, err
		}
	}
	return r.res, nil
}

func (r *run) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// step times fn and records its result.
func (r *run) step(id, title string, fn func() (Outcome, string, error)) error {
	r.Progress.emit(Event{Kind: EventBegin, StepID: id, Message: title})
	start := r.now()
	outcome, detail, err := fn()
	if err != nil && outcome == "" {
		outcome = Failed
		if detail == "" {
			detail = firstLine(err.Error())
		}
	}
	st := Step{ID: id, Title: title, Outcome: outcome, Detail: detail, DurationMS: r.now().Sub(start).Milliseconds()}
	r.res.Steps = append(r.res.Steps, st)
	r.Progress.emit(Event{Kind: EventEnd, StepID: id, Step: st})
	return err
}

func (r *run) save(step string) error {
	if r.cfg.DryRun {
		return nil
	}
	r.st.Cloud = r.cfg.Cloud.Name
	if r.TenantID != "" {
		r.st.Tenant = r.TenantID
	}
	ep := r.cfg.Endpoints
	r.st.Invicti = &state.Invicti{Region: ep.Region, BaseURL: ep.BaseURL, TenantURL: ep.TenantURL, TokenEndpoint: ep.TokenURL, ClientID: r.cfg.Credentials.ClientID}
	r.st.Setup.LastStep = step
	return r.Store.Save(r.st)
}

func (r *run) waiter(what string) Waiter {
	w := r.Waiter
	prev := w.OnWait
	w.OnWait = func(w string, attempt int, err error) {
		r.Progress.emit(Event{Kind: EventWait, Message: fmt.Sprintf("waiting for Entra to replicate %s (attempt %d: %s)", what, attempt, shortErr(err))})
		if prev != nil {
			prev(w, attempt, err)
		}
	}
	return w
}

func shortErr(err error) string {
	var ge *graph.Error
	if errors.As(err, &ge) {
		if ge.Code != "" {
			return fmt.Sprintf("%d %s", ge.Status, ge.Code)
		}
		return fmt.Sprintf("HTTP %d", ge.Status)
	}
	return firstLine(err.Error())
}

// 1. The direct check comes first: a wrong secret must stop us before any Graph write.
func (r *run) checkInvicti(ctx context.Context) error {
	return r.step("invicti-check", "Check the Invicti credentials directly ("+r.cfg.Endpoints.BaseURL+")", func() (Outcome, string, error) {
		res := r.Checker.Check(ctx, r.cfg.Endpoints, r.cfg.Credentials)
		if res.OK && res.ClientAuth == invicti.ClientAuthBasicRaw {
			return Passed, "token, ServiceProviderConfig and user query answered; but " + invicti.RawBasicWarning, nil
		}
		if res.OK {
			return Passed, "token, ServiceProviderConfig and user query all answered as Entra expects", nil
		}
		for _, s := range res.Steps {
			if s.Problem != nil {
				return Failed, s.Problem.Message, &ConnectionError{Layer: "invicti", Message: s.Title + ": " + s.Problem.Message, Fix: s.Problem.Fix}
			}
		}
		return Failed, "check failed", &ConnectionError{Layer: "invicti", Message: "the direct check failed"}
	})
}

// 2. Find the app: state first, then the marker tag, then an app with our name made from the
// non-gallery template; create it only when none exists.
func (r *run) findOrCreateApp(ctx context.Context) error {
	return r.step("app", fmt.Sprintf("Find or create the enterprise app %q", r.cfg.AppName), func() (Outcome, string, error) {
		sp, how, err := r.findApp(ctx)
		if err != nil {
			return "", "", err
		}
		if sp != nil {
			r.sp = *sp
			r.record(sp, "")
			if r.st.App != nil && r.st.App.ApplicationID != "" && r.st.App.ServicePrincipalID == sp.ID {
				r.res.ApplicationID = r.st.App.ApplicationID
			} else if !r.cfg.DryRun {
				// The application object id is only needed to delete the app later; failing
				// to read it must not stop setup (teardown looks it up again).
				app, err := r.Graph.ApplicationByAppID(ctx, sp.AppID)
				switch {
				case err == nil:
					r.res.ApplicationID = app.ID
				case graph.IsAuth(err):
					return "", "", authErr("find application", PermApplication, err)
				default:
					r.Progress.emit(Event{Kind: EventWait, Message: "could not read the application object (" + shortErr(err) + "); continuing"})
				}
			}
			if err := r.persistApp(); err != nil {
				return "", "", err
			}
			return Reused, fmt.Sprintf("found by %s: servicePrincipal %s, appId %s", how, sp.ID, sp.AppID), nil
		}
		if r.cfg.DryRun {
			return WillCreate, "POST /applicationTemplates/" + r.cfg.Cloud.TemplateID + "/instantiate", nil
		}
		var created graph.CreatedApp
		if err := r.markPending("instantiate", ""); err != nil {
			return "", "", err
		}
		err = detached(ctx, func(ctx context.Context) error {
			var e error
			created, e = r.Graph.Instantiate(ctx, r.cfg.Cloud.TemplateID, r.cfg.AppName)
			return e
		})
		if err != nil {
			return "", "", authErr("create the enterprise app", PermApplication, err)
		}
		r.fresh = true
		r.sp = created.ServicePrincipal
		r.st.Setup.Pending = nil
		r.record(&created.ServicePrincipal, created.ApplicationID)
		// Saved before anything else: an interruption from here on resumes with this app.
		if err := r.persistApp(); err != nil {
			return "", "", err
		}
		w := r.waiter("the new service principal")
		err = w.visible(ctx, "service principal "+created.ServicePrincipal.ID, 3, func() error {
			sp, err := r.Graph.ServicePrincipal(ctx, created.ServicePrincipal.ID)
			if err == nil {
				r.sp = sp
			}
			return err
		})
		if err != nil {
			return "", "", authErr("read the new service principal", PermApplication, err)
		}
		return Created, fmt.Sprintf("from the non-gallery template: servicePrincipal %s, appId %s", created.ServicePrincipal.ID, created.AppID), nil
	})
}

// detached runs a create that must not be abandoned half-way: once the request is sent,
// Ctrl-C waits for Graph's answer so the new id is saved and a re-run reuses the object
// instead of creating a twin (Entra's lists lag behind creates, so a re-run cannot find it).
func detached(ctx context.Context, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	return fn(dctx)
}

func (r *run) record(sp *graph.ServicePrincipal, applicationID string) {
	r.res.ServicePrincipalID = sp.ID
	r.res.AppID = sp.AppID
	if applicationID != "" {
		r.res.ApplicationID = applicationID
	}
	if sp.DisplayName != "" {
		r.res.AppName = sp.DisplayName
	}
	r.res.PortalURL = r.cfg.Cloud.OverviewBlade(sp.ID, sp.AppID)
	r.res.ProvisioningURL = r.cfg.Cloud.ProvisioningBlade(sp.ID, sp.AppID)
	if role := UserRole(sp.AppRoles); role != nil {
		r.res.AppRoleID = role.ID
	}
}

func (r *run) persistApp() error {
	prev := r.st.App
	r.st.App = &state.App{DisplayName: r.res.AppName, ApplicationID: r.res.ApplicationID, AppID: r.res.AppID, ServicePrincipalID: r.res.ServicePrincipalID, AppRoleID: r.res.AppRoleID}
	if prev != nil && prev.ServicePrincipalID == r.res.ServicePrincipalID {
		r.st.App.JobID, r.st.App.CreatedAt = prev.JobID, prev.CreatedAt
	}
	if r.fresh && r.st.App.CreatedAt.IsZero() {
		r.st.App.CreatedAt = r.now().UTC()
	}
	return r.save("app")
}

func (r *run) findApp(ctx context.Context) (*graph.ServicePrincipal, string, error) {
	if a := r.st.App; a != nil && a.ServicePrincipalID != "" {
		sp, err := r.Graph.ServicePrincipal(ctx, a.ServicePrincipalID)
		switch {
		case err == nil:
			// A crash right after instantiate leaves state pointing at an app that may still be
			// replicating; state is authoritative, so give it the replication budget.
			return &sp, "the state file", nil
		case graph.IsNotFound(err):
			// Possibly created a moment ago and not replicated yet: retry before concluding
			// it was deleted.
			w := r.waiter("the service principal from state")
			w.Budget = min(r.Waiter.budget(), 2*time.Minute)
			young := !a.CreatedAt.IsZero() && r.now().Sub(a.CreatedAt) < 15*time.Minute
			err = w.do(ctx, "read service principal", retryRead, young, func() error {
				var e error
				sp, e = r.Graph.ServicePrincipal(ctx, a.ServicePrincipalID)
				return e
			})
			if err == nil {
				return &sp, "the state file", nil
			}
			if !graph.IsNotFound(errors.Unwrap(err)) && !graph.IsNotFound(err) {
				return nil, "", authErr("read the app from state", PermApplication, err)
			}
			r.Progress.emit(Event{Kind: EventWait, Message: "the app recorded in state no longer exists; looking for it by tag"})
			r.st.App = nil
		default:
			return nil, "", authErr("read the app from state", PermApplication, err)
		}
	}
	tagged, err := r.Graph.FindServicePrincipals(ctx, fmt.Sprintf("tags/any(t:t eq %s)", graph.Quote(MarkerTag)))
	if err != nil && graph.StatusOf(err) == 400 {
		// A Graph (or proxy) that refuses lambda filters: the name search below still finds
		// the app, so a refused tag query must not stop setup.
		r.Progress.emit(Event{Kind: EventWait, Message: "Graph refused the tag query (" + shortErr(err) + "); looking for the app by name"})
		tagged, err = nil, nil
	}
	if err != nil {
		return nil, "", authErr("look for the app by tag", PermApplication, err)
	}
	var mine []graph.ServicePrincipal
	for _, sp := range tagged {
		if strings.EqualFold(sp.DisplayName, r.cfg.AppName) {
			mine = append(mine, sp)
		}
	}
	if len(mine) == 0 && len(tagged) == 1 && r.cfg.AppName == "" {
		mine = tagged
	}
	switch len(mine) {
	case 1:
		return &mine[0], "its invicti-scim tag", nil
	case 0:
	default:
		return nil, "", ambiguous(mine)
	}
	named, err := r.Graph.FindServicePrincipals(ctx, "displayName eq "+graph.Quote(r.cfg.AppName))
	if err != nil {
		return nil, "", authErr("look for the app by name", PermApplication, err)
	}
	var fromTemplate []graph.ServicePrincipal
	for _, sp := range named {
		if sp.ApplicationTemplateID == "" || strings.EqualFold(sp.ApplicationTemplateID, r.cfg.Cloud.TemplateID) {
			fromTemplate = append(fromTemplate, sp)
		}
	}
	if len(fromTemplate) == 0 && r.pending("instantiate", "") {
		// A previous run sent the create and died before recording the answer; the new app
		// shows up in searches only after replication.
		w := r.waiter("an app a previous run created")
		w.Budget = min(r.Waiter.budget(), 2*time.Minute)
		_ = w.visible(ctx, "app from the interrupted run", 1, func() error {
			named, e := r.Graph.FindServicePrincipals(ctx, "displayName eq "+graph.Quote(r.cfg.AppName))
			if e != nil {
				return e
			}
			fromTemplate = fromTemplate[:0]
			for _, sp := range named {
				if sp.ApplicationTemplateID == "" || strings.EqualFold(sp.ApplicationTemplateID, r.cfg.Cloud.TemplateID) {
					fromTemplate = append(fromTemplate, sp)
				}
			}
			if len(fromTemplate) == 0 {
				return &graph.Error{Status: 404, Message: "not visible yet"}
			}
			return nil
		})
	}
	switch len(fromTemplate) {
	case 0:
		return nil, "", nil
	case 1:
		return &fromTemplate[0], "its name (made from the non-gallery template)", nil
	default:
		return nil, "", ambiguous(fromTemplate)
	}
}

func ambiguous(sps []graph.ServicePrincipal) error {
	var ids []string
	for _, sp := range sps {
		ids = append(ids, fmt.Sprintf("%s (appId %s)", sp.ID, sp.AppID))
	}
	return fmt.Errorf("more than one enterprise app matches: %s; pass --app-name with a unique name, or delete the extra apps", strings.Join(ids, ", "))
}

// 3. Tag the app so a later run without state finds it.
func (r *run) tagApp(ctx context.Context) error {
	if r.sp.ID == "" {
		return r.step("tag", "Tag the app for re-runs", func() (Outcome, string, error) {
			return WillUpdate, "add tag " + MarkerTag, nil
		})
	}
	return r.step("tag", "Tag the app for re-runs", func() (Outcome, string, error) {
		if slices.Contains(r.sp.Tags, MarkerTag) {
			return Unchanged, "tag " + MarkerTag + " present", nil
		}
		if r.cfg.DryRun {
			return WillUpdate, "add tag " + MarkerTag, nil
		}
		tags := append(slices.Clone(r.sp.Tags), MarkerTag)
		err := r.waiter("the service principal").do(ctx, "tag service principal", retryRead, r.fresh, func() error {
			return r.Graph.SetTags(ctx, r.sp.ID, tags)
		})
		if err != nil {
			return "", "", authErr("tag the app", PermApplication, err)
		}
		r.sp.Tags = tags
		return Updated, "added tag " + MarkerTag, nil
	})
}

// 4. The provisioning job: reuse the app's job, or create one from the "scim" template.
func (r *run) ensureJob(ctx context.Context) error {
	return r.step("job", "Find or create the provisioning job", func() (Outcome, string, error) {
		if r.sp.ID == "" {
			return WillCreate, `POST …/synchronization/jobs {"templateId":"scim"}`, nil
		}
		var jobs []graph.Job
		err := r.waiter("the provisioning service").do(ctx, "list jobs", retrySync, r.fresh, func() error {
			var e error
			jobs, e = r.Graph.Jobs(ctx, r.sp.ID)
			return e
		})
		if err != nil {
			return "", "", authErr("list provisioning jobs", PermSync, err)
		}
		if id := r.jobFromState(); id != "" && !hasJob(jobs, id) {
			// Entra's job list lags behind a create: a job recorded in state but missing from
			// the list is looked up directly before anything new is created.
			var j graph.Job
			w := r.waiter("the provisioning job from state")
			w.Budget = min(r.Waiter.budget(), time.Minute)
			err := w.do(ctx, "read job", retrySync, true, func() error {
				var e error
				j, e = r.Graph.Job(ctx, r.sp.ID, id)
				return e
			})
			if err == nil {
				jobs = append(jobs, j)
			} else if !graph.IsNotFound(err) && !graph.IsNotFound(errors.Unwrap(err)) {
				return "", "", authErr("read the provisioning job", PermSync, err)
			}
		}
		if len(jobs) == 0 && r.pending("create-job", r.sp.ID) {
			// A previous run sent the create and died before recording the answer.
			w := r.waiter("a job a previous run created")
			w.Budget = min(r.Waiter.budget(), 2*time.Minute)
			_ = w.visible(ctx, "job from the interrupted run", 1, func() error {
				var e error
				jobs, e = r.Graph.Jobs(ctx, r.sp.ID)
				if e == nil && len(jobs) == 0 {
					return &graph.Error{Status: 404, Message: "no job yet"}
				}
				return e
			})
		}
		if j := pickJob(jobs, r.jobFromState()); j != nil {
			r.res.JobID = j.ID
			if err := r.saveJob(); err != nil {
				return "", "", err
			}
			return Reused, fmt.Sprintf("%s (%s, %s)", j.ID, j.Schedule.State, j.Status.Code), nil
		}
		if r.cfg.DryRun {
			return WillCreate, `POST …/synchronization/jobs {"templateId":"scim"}`, nil
		}
		template := JobTemplate
		var templates []graph.SyncTemplate
		err = r.waiter("the provisioning service").do(ctx, "list templates", retrySync, r.fresh, func() error {
			var e error
			templates, e = r.Graph.SyncTemplates(ctx, r.sp.ID)
			return e
		})
		if err != nil {
			return "", "", authErr("list provisioning templates", PermSync, err)
		}
		for _, t := range templates {
			if strings.EqualFold(t.ID, JobTemplate) {
				template = t.ID
			}
		}
		var job graph.Job
		if err := r.markPending("create-job", r.sp.ID); err != nil {
			return "", "", err
		}
		err = r.waiter("the provisioning service").do(ctx, "create job", retrySync, true, func() error {
			return detached(ctx, func(ctx context.Context) error {
				var e error
				job, e = r.Graph.CreateJob(ctx, r.sp.ID, template)
				return e
			})
		})
		if err != nil {
			return "", "", authErr("create the provisioning job", PermSync, err)
		}
		r.res.JobID = job.ID
		r.st.Setup.Pending = nil
		if err := r.saveJob(); err != nil {
			return "", "", err
		}
		err = r.waiter("the new job").visible(ctx, "job "+job.ID, 2, func() error {
			_, e := r.Graph.Job(ctx, r.sp.ID, job.ID)
			if e != nil && transient(retrySync, e) && !graph.IsNotFound(e) {
				return &graph.Error{Status: 404, Message: e.Error()}
			}
			return e
		})
		if err != nil {
			return "", "", authErr("read the new provisioning job", PermSync, err)
		}
		return Created, fmt.Sprintf("%s from template %q", job.ID, template), nil
	})
}

// markPending records a create before it is sent (see state.Pending).
func (r *run) markPending(op, spID string) error {
	r.st.Setup.Pending = &state.Pending{Op: op, Name: r.cfg.AppName, ServicePrincipalID: spID, At: r.now().UTC()}
	return r.save(r.st.Setup.LastStep)
}

// pending reports a recent unconfirmed create of this kind (for this app).
func (r *run) pending(op, spID string) bool {
	p := r.st.Setup.Pending
	return p != nil && p.Op == op && p.ServicePrincipalID == spID && r.now().Sub(p.At) < time.Hour &&
		(op != "instantiate" || strings.EqualFold(p.Name, r.cfg.AppName))
}

func hasJob(jobs []graph.Job, id string) bool {
	for _, j := range jobs {
		if j.ID == id {
			return true
		}
	}
	return false
}

func (r *run) jobFromState() string {
	if r.st.App != nil && r.st.App.ServicePrincipalID == r.sp.ID {
		return r.st.App.JobID
	}
	return ""
}

func (r *run) saveJob() error {
	if r.st.App != nil {
		r.st.App.JobID = r.res.JobID
	}
	return r.save("job")
}

// pickJob prefers the job state remembers, then a scim job, then any job: an app has one.
func pickJob(jobs []graph.Job, fromState string) *graph.Job {
	for i := range jobs {
		if fromState != "" && jobs[i].ID == fromState {
			return &jobs[i]
		}
	}
	for i := range jobs {
		if strings.EqualFold(jobs[i].TemplateID, JobTemplate) || strings.HasPrefix(strings.ToLower(jobs[i].ID), JobTemplate+".") {
			return &jobs[i]
		}
	}
	if len(jobs) > 0 {
		return &jobs[0]
	}
	return nil
}

// 5. Secrets: skip the write when the saved settings already match and Entra validates them;
// otherwise write our key set; if Graph refuses it, guide the admin through the portal.
func (r *run) configureSecrets(ctx context.Context) error {
	return r.step("secrets", "Save the provisioning credentials (Tenant URL, Token Endpoint, client id and secret)", func() (Outcome, string, error) {
		if r.res.JobID == "" {
			return WillUpdate, "PUT …/synchronization/secrets: " + strings.Join(SecretKeyNames(), ", "), nil
		}
		var saved []graph.KeyValue
		err := r.waiter("the provisioning service").do(ctx, "read secrets", retrySync, r.fresh, func() error {
			var e error
			saved, e = r.Graph.Secrets(ctx, r.sp.ID)
			return e
		})
		if err != nil {
			return "", "", authErr("read the provisioning settings", PermSync, err)
		}
		ours := savedMatches(saved, r.cfg.Endpoints, r.cfg.Credentials)
		portal := !ours && portalConfigured(saved, r.cfg.Endpoints)
		if r.cfg.DryRun {
			if ours || portal {
				return WillCheck, "settings present; Test Connection decides whether they need rewriting", nil
			}
			return WillUpdate, "PUT …/synchronization/secrets: " + strings.Join(SecretKeyNames(), ", "), nil
		}
		if ours || portal {
			if err := r.Graph.ValidateCredentials(ctx, r.sp.ID, r.res.JobID, true, nil); err == nil {
				r.validated = true
				if portal {
					return Unchanged, "found the configuration made in the portal; Entra's Test Connection passes", nil
				}
				return Unchanged, "saved settings match and Entra's Test Connection passes", nil
			} else if graph.IsAuth(err) {
				return "", "", authErr("test the connection", PermSync, err)
			}
		}
		kv := SecretKeys(r.cfg.Endpoints, r.cfg.Credentials)
		err = r.waiter("the provisioning service").do(ctx, "save secrets", retrySync, r.fresh, func() error {
			return r.Graph.PutSecrets(ctx, r.sp.ID, kv)
		})
		if err != nil {
			if isKeyRejection(err) {
				return r.guided(ctx, fmt.Sprintf("Graph refused the client-credentials key set (%s)", shortMsg(err)))
			}
			return "", "", authErr("save the provisioning settings", PermSync, err)
		}
		r.st.Setup.SecretsKeySet = KeySetName
		r.st.Setup.GuidedPending = false
		if err := r.save("secrets"); err != nil {
			return "", "", err
		}
		return Updated, "keys " + strings.Join(SecretKeyNames(), ", ") + " (secret values are write-only)", nil
	})
}

func shortMsg(err error) string {
	var ge *graph.Error
	if errors.As(err, &ge) && ge.Message != "" {
		return ge.Message
	}
	return firstLine(err.Error())
}

func (r *run) guide(reason string) Guide {
	return Guide{
		PortalURL:     r.cfg.Cloud.ProvisioningBlade(r.sp.ID, r.sp.AppID),
		Method:        "OAuth2 client credentials grant",
		TenantURL:     r.cfg.Endpoints.TenantURL,
		TokenEndpoint: r.cfg.Endpoints.TokenURL,
		ClientID:      r.cfg.Credentials.ClientID,
		Reason:        reason,
	}
}

// guided shows the portal step. Interactively it waits for the admin and then checks the
// portal-made configuration; otherwise it stops with instructions and a resumable state.
func (r *run) guided(ctx context.Context, reason string) (Outcome, string, error) {
	g := r.guide(reason)
	r.res.Guide = &g
	r.st.Setup.GuidedPending = true
	if err := r.save("secrets"); err != nil {
		return "", "", err
	}
	if r.cfg.Guided == nil {
		return Guided, reason, &GuidedError{Guide: g, Err: errors.New(reason)}
	}
	for {
		if err := r.cfg.Guided(ctx, g); err != nil {
			return Guided, reason, err
		}
		saved, err := r.Graph.Secrets(ctx, r.sp.ID)
		if err != nil {
			return "", "", authErr("read the provisioning settings", PermSync, err)
		}
		if portalConfigured(saved, r.cfg.Endpoints) {
			r.st.Setup.GuidedPending = false
			if err := r.save("secrets"); err != nil {
				return "", "", err
			}
			r.res.Guide = nil
			return Updated, "configured in the portal", nil
		}
		g.Reason = "the portal has no settings with Tenant URL " + r.cfg.Endpoints.TenantURL + " yet"
	}
}

// 6. Entra's own Test Connection with the saved settings.
func (r *run) testConnection(ctx context.Context) error {
	return r.step("test-connection", "Entra Test Connection (validateCredentials)", func() (Outcome, string, error) {
		if r.cfg.DryRun || r.res.JobID == "" {
			return WillCheck, "POST …/jobs/{id}/validateCredentials (skipped in a dry run: it is a POST)", nil
		}
		if r.validated {
			return Passed, "passed with the saved settings (checked above)", nil
		}
		err := r.waiter("the provisioning service").do(ctx, "validate credentials", retrySync, r.fresh, func() error {
			return r.Graph.ValidateCredentials(ctx, r.sp.ID, r.res.JobID, true, nil)
		})
		if err == nil {
			return Passed, "Entra fetched a token and queried Invicti's SCIM endpoint", nil
		}
		if graph.IsAuth(err) {
			return "", "", authErr("test the connection", PermSync, err)
		}
		g := r.guide("Entra could not validate the saved settings: " + shortMsg(err))
		r.res.Guide = &g
		return Failed, shortMsg(err), &ConnectionError{
			Layer:   "entra",
			Message: shortMsg(err),
			Fix:     "the direct check passed, so Invicti accepts these credentials; Entra may need the settings entered in the portal (see the steps above), or cannot reach " + r.cfg.Endpoints.BaseURL + " from Microsoft's cloud (IP restrictions, on-premises firewall)",
			Err:     err,
		}
	})
}

// 7. Start the job unless it already runs (never call start on a running job).
func (r *run) startJob(ctx context.Context) error {
	return r.step("start", "Start provisioning", func() (Outcome, string, error) {
		if r.cfg.NoStart {
			return Skipped, "--no-start", nil
		}
		if r.res.JobID == "" {
			return WillStart, "POST …/jobs/{id}/start", nil
		}
		job, err := r.Graph.Job(ctx, r.sp.ID, r.res.JobID)
		if err != nil {
			return "", "", authErr("read the provisioning job", PermSync, err)
		}
		if job.Running() {
			return AlreadyRunning, fmt.Sprintf("schedule %s, status %s", job.Schedule.State, job.Status.Code), nil
		}
		if job.Quarantined() {
			q := quarantineOf(job)
			return Failed, "in quarantine: " + q.Reason, &QuarantineError{Quarantine: q}
		}
		if r.cfg.DryRun {
			return WillStart, "POST …/jobs/{id}/start", nil
		}
		if err := r.Graph.StartJob(ctx, r.sp.ID, r.res.JobID); err != nil {
			return "", "", authErr("start the provisioning job", PermSync, err)
		}
		return Started, "Entra runs the first cycle within 20–40 minutes, then about every 40 minutes", nil
	})
}

// UserRole picks the app role assignments use: the role named "User" (the non-gallery
// template declares "User" and "msiam_access", with per-app ids that must be read, never
// hard-coded).
func UserRole(roles []graph.AppRole) *graph.AppRole {
	for i := range roles {
		if strings.EqualFold(roles[i].DisplayName, "User") && roles[i].Enabled {
			return &roles[i]
		}
	}
	for i := range roles {
		if roles[i].Enabled && slices.Contains(roles[i].AllowedMemberTypes, "User") && !strings.EqualFold(roles[i].DisplayName, "msiam_access") {
			return &roles[i]
		}
	}
	return nil
}
