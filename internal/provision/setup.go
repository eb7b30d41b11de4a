package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
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
	// Notifications go into SyncNotificationSettings (failure e-mails, deletion threshold).
	// Each half the admin did not give now (EmailsSet, ThresholdSet) keeps what Entra
	// already stores, or the default when nothing is stored.
	Notifications Notifications
	EmailsSet     bool
	ThresholdSet  bool
	// Writer forces one way of saving the settings; "" or WriterAuto tries them in order.
	Writer Writer
	// Guided, when set (a person is there), shows the portal step and returns a channel that
	// receives whenever the admin asks to check now; setup then polls until the settings
	// appear. Nil: the guided step stops setup with instructions (exit 1, resumable).
	Guided func(ctx context.Context, g Guide) (checkNow <-chan struct{}, err error)
	// GuidedPoll and GuidedTimeout override the guided step's 5 s / 15 min polling.
	GuidedPoll, GuidedTimeout time.Duration
	// Adopt is a service principal object id or appId the admin chose (--adopt) to configure
	// even though this tool did not make it (see Owned). Empty: adopt only what is ours.
	Adopt string
	// NewApp ignores the app this config dir's state records (--new): setup looks for, or
	// creates, an app named AppName and records that one instead. The other app stays as it is.
	NewApp bool
	// Rename renames the app this config dir's state records to AppName (--rename) when its
	// name differs; without it a differing name is a question on a terminal and exit 2 without.
	Rename bool
}

func (c SetupConfig) settings() Settings {
	return Settings{Endpoints: c.Endpoints, Credentials: c.Credentials, Notifications: c.Notifications}
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
	// KeySet, SettingsWriter and Experimental say how the provisioning settings got into
	// Entra ("oauth2-client-credentials/v2"; secrets, connectivity or portal).
	KeySet         string `json:"keySet,omitempty"`
	SettingsWriter string `json:"settingsWriter,omitempty"`
	Experimental   bool   `json:"experimental,omitempty"`
	// PreviousKeySet is what Entra stored before this run ("" when nothing).
	PreviousKeySet string `json:"previousKeySet,omitempty"`
	// Notifications is what SyncNotificationSettings says now.
	Notifications *NotificationsJSON `json:"notifications,omitempty"`
	AppRoleID     string             `json:"-"`
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
	// wrote: this run saved new settings (so a credentials quarantine may be cleared).
	wrote bool
	// freshJob: the job was created in this run (no settings, Disabled): reads are skipped.
	freshJob bool
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
		Notifications: cfg.Notifications.toJSON(),
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
			if r.cfg.Rename && sp.DisplayName != r.cfg.AppName {
				if r.cfg.DryRun {
					return WillUpdate, fmt.Sprintf("rename %q to %q (found by %s: servicePrincipal %s)", sp.DisplayName, r.cfg.AppName, how, sp.ID), nil
				}
				old := sp.DisplayName
				if err := r.Graph.RenameApp(ctx, sp.ID, r.res.ApplicationID, r.cfg.AppName); err != nil {
					return "", "", authErr("rename the enterprise app", PermApplication, err)
				}
				r.sp.DisplayName, r.res.AppName = r.cfg.AppName, r.cfg.AppName
				if err := r.persistApp(); err != nil {
					return "", "", err
				}
				return Updated, fmt.Sprintf("renamed from %q (servicePrincipal %s, appId %s)", old, sp.ID, sp.AppID), nil
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
		// No read-back streak: instantiate's answer carries the service principal with its app
		// roles, and every later call on this new app retries the answers Entra gives while
		// it replicates (404, 403, 409), which is how Microsoft asks clients to handle
		// eventual consistency ("Designing for Eventual Consistency for Microsoft Entra").
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

// findApp finds the app this tool made, and only that (see Owned): --adopt first, then the
// app in state, then the marker tag, then a create an interrupted run sent. Same-named apps it
// did not make are listed in an AdoptionError and left untouched. nil means "create one".
func (r *run) findApp(ctx context.Context) (*graph.ServicePrincipal, string, error) {
	tpl := r.cfg.Cloud.TemplateID
	if r.cfg.Adopt != "" {
		return r.adopt(ctx)
	}
	if a := r.st.App; a != nil && a.ServicePrincipalID != "" && !r.cfg.NewApp {
		sp, err := r.Graph.ServicePrincipal(ctx, a.ServicePrincipalID)
		switch {
		case err == nil:
			// A crash right after instantiate leaves state pointing at an app that may still be
			// replicating; state is authoritative, so give it the replication budget.
			if !FromTemplate(sp, tpl) {
				return nil, "", &AdoptionError{Name: sp.DisplayName, Candidates: []Candidate{CandidateOf(sp, tpl)}}
			}
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
				if !FromTemplate(sp, tpl) {
					return nil, "", &AdoptionError{Name: sp.DisplayName, Candidates: []Candidate{CandidateOf(sp, tpl)}}
				}
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
		// the app (by the tags it returns), so a refused tag query must not stop setup.
		r.Progress.emit(Event{Kind: EventWait, Message: "Graph refused the tag query (" + shortErr(err) + "); looking for the app by name"})
		tagged, err = nil, nil
	}
	if err != nil {
		return nil, "", authErr("look for the app by tag", PermApplication, err)
	}
	named, err := r.Graph.FindServicePrincipals(ctx, "displayName eq "+graph.Quote(r.cfg.AppName))
	if err != nil {
		return nil, "", authErr("look for the app by name", PermApplication, err)
	}
	var mine, others []graph.ServicePrincipal
	seen := map[string]bool{}
	for _, sp := range append(tagged, named...) {
		if seen[sp.ID] || !strings.EqualFold(sp.DisplayName, r.cfg.AppName) {
			continue
		}
		seen[sp.ID] = true
		if Owned(sp, tpl, "") {
			mine = append(mine, sp)
		} else {
			others = append(others, sp)
		}
	}
	switch len(mine) {
	case 1:
		return &mine[0], "its invicti-scim tag", nil
	case 0:
	default:
		return nil, "", ambiguous(mine)
	}
	if r.pending("instantiate", "") {
		// A previous run sent the create but never recorded an answer (killed, or Graph
		// answered an error). Its app, if Graph made it, carries our name and template but
		// no tag yet: the state's record of the create makes it ours. Looked up once: a create
		// Graph refused made nothing, and waiting for it would only delay this run.
		var sent []graph.ServicePrincipal
		for _, sp := range others {
			if FromTemplate(sp, tpl) {
				sent = append(sent, sp)
			}
		}
		if len(sent) == 1 {
			return &sent[0], "the create an interrupted run sent", nil
		}
		if len(sent) == 0 {
			r.Progress.emit(Event{Kind: EventWait, Message: "the app create an earlier run sent left no app; creating it now"})
			r.st.Setup.Pending = nil
		}
	}
	if len(others) > 0 {
		c := make([]Candidate, 0, len(others))
		for _, sp := range others {
			c = append(c, CandidateOf(sp, tpl))
		}
		return nil, "", &AdoptionError{Name: r.cfg.AppName, Candidates: c}
	}
	return nil, "", nil
}

// adopt uses the app --adopt names (service principal object id or appId), whoever made it:
// the admin looked at the list and chose. It must exist: Graph confirms it before any write.
func (r *run) adopt(ctx context.Context) (*graph.ServicePrincipal, string, error) {
	id := r.cfg.Adopt
	sp, err := r.Graph.ServicePrincipal(ctx, id)
	if graph.IsNotFound(err) {
		var sps []graph.ServicePrincipal
		sps, err = r.Graph.FindServicePrincipals(ctx, "appId eq "+graph.Quote(id))
		if err == nil && len(sps) == 0 {
			return nil, "", fmt.Errorf("--adopt %s: no enterprise app with this service principal id or appId in the tenant", id)
		}
		if err == nil {
			sp = sps[0]
		}
	}
	if err != nil {
		return nil, "", authErr("read the app --adopt names", PermApplication, err)
	}
	if sp.ApplicationTemplateID == "" {
		// Entra provisions only apps made from an application template (docs/graph-sources.md):
		// tagging this one and writing a job into it would leave changes that cannot work.
		return nil, "", usageErrorf("--adopt %s: %q is an App registrations app (no applicationTemplateId), which Entra cannot provision; drop --adopt to let setup create an enterprise app, or adopt one made with Enterprise applications → New application → Create your own application", id, sp.DisplayName)
	}
	return &sp, "--adopt", nil
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
		if r.fresh {
			// An app created in this run has no job and offers the "scim" template (the Entra
			// doc creates it without listing templates): nothing to read first.
			return r.createJob(ctx, JobTemplate)
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
		if left := r.pendingJobWindow(); len(jobs) == 0 && left > 0 {
			// A previous run sent the create and died before recording the answer: wait for
			// what is left of the replication window, counted from when that create was sent.
			w := r.waiter("a job a previous run created")
			w.Budget = min(r.Waiter.budget(), left)
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
		return r.createJob(ctx, template)
	})
}

// createJob creates the provisioning job, recording the create before it is sent.
func (r *run) createJob(ctx context.Context, template string) (Outcome, string, error) {
	var job graph.Job
	if err := r.markPending("create-job", r.sp.ID); err != nil {
		return "", "", err
	}
	sent := false
	err := r.waiter("the provisioning service").do(ctx, "create job", retrySync, true, func() error {
		if sent {
			// The last create failed with an answer that may have come after Graph made the
			// job (503, 504): look before sending it again, so there is never a twin.
			if jobs, e := r.Graph.Jobs(ctx, r.sp.ID); e == nil {
				if j := pickJob(jobs, ""); j != nil {
					job = *j
					return nil
				}
			}
		}
		sent = true
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
	r.freshJob = true
	r.st.Setup.Pending = nil
	if err := r.saveJob(); err != nil {
		return "", "", err
	}
	// No read-back streak either: the next calls on the job retry while it replicates.
	return Created, fmt.Sprintf("%s from template %q", job.ID, template), nil
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

// PendingCreateWindow is how long after a create was sent a re-run still waits for the
// object to show in Graph's lists before it creates a twin: Graph's directory replication
// makes a new object visible within seconds to a couple of minutes (docs/setup.md,
// "Replication and throttling").
const PendingCreateWindow = 2 * time.Minute

// pendingJobWindow is what is left of PendingCreateWindow for a job create an interrupted run
// sent on this app; zero when there is none or the window has passed (a re-run an hour later
// looks once instead of waiting two more minutes for a create Graph never applied).
func (r *run) pendingJobWindow() time.Duration {
	if !r.pending("create-job", r.sp.ID) {
		return 0
	}
	return max(0, PendingCreateWindow-r.now().Sub(r.st.Setup.Pending.At))
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

// pickJob is OurJob (the one rule for which job is the app's own).
func pickJob(jobs []graph.Job, fromState string) *graph.Job { return OurJob(jobs, fromState) }

// 5. The provisioning settings (key set v2). Settings that already are exactly ours, or that
// the admin made in the portal, are kept when Entra's Test Connection passes with them;
// anything else (nothing saved, key set v1, other values) is written by the first writer that
// Graph takes: test inline → write → read back; then Test Connection with what was saved.
func (r *run) configureSecrets(ctx context.Context) error {
	return r.step("secrets", "Save the provisioning settings (Tenant URL, Token Endpoint, client id and secret)", func() (Outcome, string, error) {
		if r.res.JobID == "" {
			return WillUpdate, "key set " + KeySetName + ": " + strings.Join(SecretKeyNames(), ", "), nil
		}
		var got []graph.KeyValue
		if !r.freshJob || r.cfg.DryRun {
			// A job created in this run has no settings yet: nothing to read.
			err := r.waiter("the provisioning service").do(ctx, "read secrets", retrySync, r.fresh, func() error {
				var e error
				got, e = r.Graph.Secrets(ctx, r.sp.ID)
				return e
			})
			if err != nil {
				return "", "", authErr("read the provisioning settings", PermSync, err)
			}
		}
		saved := NewSaved(got)
		r.res.PreviousKeySet = saved.KeySet()
		want := r.keepNotifications(saved)
		prev := Writer(r.st.Setup.SettingsWriter)
		weWrote := prev == WriterSecrets || prev == WriterConnectivity
		ours := saved.Matches(want) && (weWrote || prev == "")
		if ours && prev == "" {
			prev = WriterSecrets // our own key set, found without state
		}
		// A configuration the admin made in the portal: our Tenant URL, Token Endpoint and
		// client id with the method selected, whatever the key names' case, and not written
		// by this tool. Other values there mean new credentials: they are written.
		portal := !weWrote && !ours && saved.PointsAt(want.Endpoints) && saved.ClientCredentials() && saved.SameClient(want)
		if r.cfg.DryRun {
			// A notification change is said in words: it is the part an admin asked for with
			// --notify-email or --deletion-threshold.
			notify, onlyNotify := "", false
			if n, ok := saved.Notifications(); !ok || !n.Equal(want.Notifications) {
				notify = "; notification settings: " + want.Notifications.describe()
				same := want
				if ok {
					same.Notifications = n
				}
				onlyNotify = saved.Matches(same) && (weWrote || prev == "")
			}
			switch {
			case (ours || portal || onlyNotify) && notify != "":
				return WillUpdate, "settings present" + notify, nil
			case ours || portal:
				return WillCheck, "settings present; Test Connection decides whether they need rewriting", nil
			case saved.KeySet() == KeySetV1:
				return WillUpdate, "upgrade key set " + KeySetV1 + " → " + KeySetName + " (Entra fetches no token with v1)" + notify, nil
			}
			return WillUpdate, "key set " + KeySetName + ": " + strings.Join(SecretKeyNames(), ", ") + notify, nil
		}
		if ours || portal {
			err := r.Graph.ValidateCredentials(ctx, r.sp.ID, r.res.JobID, true, nil)
			switch {
			case err == nil && portal:
				r.validated = true
				updated, err := r.keepPortalConfig(ctx, saved, want)
				if err != nil {
					return "", "", err
				}
				detail := "found the configuration made in the portal; Entra's Test Connection passes"
				if updated {
					return Updated, detail + "; notification settings updated", nil
				}
				return Unchanged, detail, nil
			case err == nil:
				r.validated = true
				if err := r.recordWriter(prev); err != nil {
					return "", "", err
				}
				return Unchanged, "saved settings match key set " + KeySetName + " and Entra's Test Connection passes (the client secret is write-only and was not rewritten: `invicti-scim rotate-secret` changes it)", nil
			case graph.IsAuth(err):
				return "", "", authErr("test the connection", PermSync, err)
			}
			r.Progress.emit(Event{Kind: EventWait, Message: "the saved settings fail Entra's Test Connection (" + shortMsg(err) + "); writing them again"})
		}
		w := &settingsWrite{graph: r.Graph, spID: r.sp.ID, jobID: r.res.JobID, want: want, waiter: r.waiter, fresh: r.fresh || r.freshJob, progress: r.Progress}
		plan := r.cfg.Writer.plan()
		guided := slices.Contains(plan, WriterPortal)
		res, refusals, err := w.firstAccepted(ctx, plan, func(reason string, more bool) {
			if more || guided {
				r.Progress.emit(Event{Kind: EventWait, Message: reason + "; trying the next way"})
			}
		})
		switch {
		case err != nil:
			return "", "", err
		case res.writer != "":
			r.validated = res.validated
			r.wrote = true
			if err := r.recordWriter(res.writer); err != nil {
				return "", "", err
			}
			return Updated, res.detail, nil
		case guided:
			reason := "the settings need one step in the Entra portal"
			if len(refusals) > 0 {
				reason = strings.Join(refusals, "; ")
			} else if r.cfg.Writer == WriterPortal {
				reason = "--settings-writer portal: enter the settings in the Entra portal"
			}
			return r.guided(ctx, reason)
		}
		return Failed, strings.Join(refusals, "; "), &RefusedError{Refusals: refusals}
	})
}

// keepNotifications is the settings to write: the flags' values, with each notification half
// the admin did not give now kept from what Entra stores (here or in the portal).
func (r *run) keepNotifications(saved Saved) Settings {
	want := r.cfg.settings()
	want.Notifications = want.Notifications.keptFrom(saved, r.cfg.EmailsSet, r.cfg.ThresholdSet)
	r.res.Notifications = want.Notifications.toJSON()
	return want
}

// keepPortalConfig adopts a portal-made configuration that passed Test Connection: the
// notification settings are saved beside it when they differ (the portal guide says to leave
// them to this tool), and the portal is recorded as the writer. updated says whether it wrote.
func (r *run) keepPortalConfig(ctx context.Context, saved Saved, want Settings) (updated bool, err error) {
	if n, ok := saved.Notifications(); !ok || !n.Equal(want.Notifications) {
		if err := r.saveScopeKeys(ctx, want); err != nil {
			return false, err
		}
		updated = true
	}
	return updated, r.recordWriter(WriterPortal)
}

// saveScopeKeys writes SyncAll and SyncNotificationSettings alone (next to a portal-made
// configuration) and checks that they stuck.
func (r *run) saveScopeKeys(ctx context.Context, want Settings) error {
	w := &settingsWrite{graph: r.Graph, spID: r.sp.ID, jobID: r.res.JobID, want: want, waiter: r.waiter, fresh: r.fresh, progress: r.Progress}
	return w.putScopeKeys(ctx)
}

// recordWriter remembers in state and output how the settings got into Entra.
func (r *run) recordWriter(w Writer) error {
	r.res.KeySet, r.res.SettingsWriter, r.res.Experimental = KeySetName, string(w), w.Experimental()
	r.st.Setup.SecretsKeySet = KeySetName
	r.st.Setup.SettingsWriter = string(w)
	r.st.Setup.Experimental = w.Experimental()
	r.st.Setup.GuidedPending = false
	return r.save("secrets")
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

// Guided-step polling: how often setup reads the saved settings while the admin works in
// the portal, and for how long.
const (
	GuidedPollInterval = 5 * time.Second
	GuidedPollTimeout  = 15 * time.Minute
)

// guided shows the portal step. Interactively it then polls GET …/secrets (every 5 s, up to
// 15 min, at once when the admin presses Enter) until a configuration with our Tenant URL
// appears, and setup carries on in the same run. Without a person it stops with
// instructions (exit 1) and a resumable state.
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
	checkNow, err := r.cfg.Guided(ctx, g)
	if err != nil {
		return Guided, reason, err
	}
	interval, limit := r.cfg.GuidedPoll, r.cfg.GuidedTimeout
	if interval <= 0 {
		interval = GuidedPollInterval
	}
	if limit <= 0 {
		limit = GuidedPollTimeout
	}
	sleep := r.Waiter.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		got, err := r.Graph.Secrets(ctx, r.sp.ID)
		if err != nil && !transient(retrySync, err) {
			return "", "", authErr("read the provisioning settings", PermSync, err)
		}
		if err == nil && NewSaved(got).PointsAt(r.cfg.Endpoints) {
			// Settings with our Tenant URL are there; they count only when Entra's Test
			// Connection passes with them (a refused writer may have left a half-usable set).
			verr := r.Graph.ValidateCredentials(ctx, r.sp.ID, r.res.JobID, true, nil)
			switch {
			case verr == nil:
				r.validated = true
				r.res.Guide = nil
				saved := NewSaved(got)
				if _, err := r.keepPortalConfig(ctx, saved, r.keepNotifications(saved)); err != nil {
					return "", "", err
				}
				return Updated, "configured in the portal; found after " + waited.Round(time.Second).String() + " and Entra's Test Connection passes", nil
			case graph.IsAuth(verr):
				return "", "", authErr("test the connection", PermSync, verr)
			}
			r.Progress.emit(Event{Kind: EventWait, Message: "settings with your Tenant URL are saved but Entra's Test Connection fails (" + shortMsg(verr) + "); still waiting"})
		}
		if waited >= limit {
			g.Reason = fmt.Sprintf("no settings with Tenant URL %s appeared within %s", r.cfg.Endpoints.TenantURL, limit)
			r.res.Guide = &g
			return Guided, g.Reason, &GuidedError{Guide: g, Err: errors.New(g.Reason)}
		}
		r.Progress.emit(Event{Kind: EventWait, Message: fmt.Sprintf("waiting for the settings in the portal (check %d; every %s, Enter checks now, Ctrl-C stops: a re-run carries on)", attempt, interval)})
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-checkNow:
				cancel()
			case <-wctx.Done():
			}
		}()
		err = sleep(wctx, interval)
		cancel()
		if ctx.Err() != nil {
			return Guided, reason, ctx.Err()
		}
		if err == nil {
			waited += interval
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
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
		msg := shortMsg(err)
		if side := testSide(err); side != SideUnknown {
			msg = "failed at the " + string(side) + ": " + msg
		}
		return Failed, msg, &ConnectionError{
			Layer:   "entra",
			Message: msg,
			Fix:     "the direct check passed, so Invicti accepts these credentials; Entra may need the settings entered in the portal (see the steps above), or cannot reach " + r.cfg.Endpoints.BaseURL + " from Microsoft's cloud (IP restrictions, on-premises firewall)",
			Err:     err,
		}
	})
}

// repairableQuarantine is the quarantine new settings can cure: Entra could not use the
// credentials (EncounteredQuarantineException, Graph's synchronizationQuarantine reasons).
// Deletion or escrow thresholds are safety stops an admin must look at; setup never clears them.
func repairableQuarantine(q *graph.Quarantine) bool {
	return q == nil || q.Reason == "" || strings.EqualFold(q.Reason, "EncounteredQuarantineException")
}

// 7. Start the job unless it already runs (never call start on a running job). A job that
// the old settings sent to quarantine is restarted with a reset once the new ones pass.
func (r *run) startJob(ctx context.Context) error {
	return r.step("start", "Start provisioning", func() (Outcome, string, error) {
		if r.cfg.NoStart {
			return Skipped, "--no-start", nil
		}
		if r.res.JobID == "" {
			return WillStart, "POST …/jobs/{id}/start", nil
		}
		if r.freshJob && !r.cfg.DryRun {
			// Created in this run, so Disabled (a new job always is): start it without a read.
			err := r.waiter("the provisioning service").do(ctx, "start job", retrySync, true, func() error {
				err := r.Graph.StartJob(ctx, r.sp.ID, r.res.JobID)
				if graph.StatusOf(err) >= 500 {
					// The start may have happened before the error (503, 504): never send it
					// twice (Graph's start page: repeated starts can stop the service).
					return &noRetry{err}
				}
				return err
			})
			if err != nil {
				return "", "", authErr("start the provisioning job", PermSync, err)
			}
			return Started, "Entra runs the first cycle within 20–40 minutes, then about every 40 minutes", nil
		}
		return KeepRunning(ctx, r.Graph, r.sp.ID, r.res.JobID, r.wrote, r.cfg.DryRun)
	})
}

// JobStarter is what KeepRunning needs from Graph.
type JobStarter interface {
	Job(ctx context.Context, spID, jobID string) (graph.Job, error)
	StartJob(ctx context.Context, spID, jobID string) error
	RestartJob(ctx context.Context, spID, jobID, resetScope string) error
}

// KeepRunning is the one rule for the job after the settings were saved (setup's last step,
// rotate-secret's too): a running job is left alone (never call start on a running job); a
// stopped one is started; a quarantined one is restarted with reset QuarantineState only when
// the quarantine is one new settings can cure and wrote says this run saved settings that
// passed Test Connection, else it is a *QuarantineError. With dryRun nothing is sent.
func KeepRunning(ctx context.Context, g JobStarter, spID, jobID string, wrote, dryRun bool) (Outcome, string, error) {
	job, err := g.Job(ctx, spID, jobID)
	if err != nil {
		return "", "", authErr("read the provisioning job", PermSync, err)
	}
	if job.Quarantined() {
		reason := "quarantined"
		if q := job.Status.Quarantine; q != nil && q.Reason != "" {
			reason += " (" + q.Reason + ")"
		}
		if !repairableQuarantine(job.Status.Quarantine) || !wrote {
			if dryRun {
				return WillCheck, reason + ": setup restarts it only after writing new settings that pass Test Connection", nil
			}
			why := "the saved settings did not change in this run, so restarting would quarantine it again"
			if wrote {
				why = "the reason is not the credentials; restarting would skip a safety stop"
			}
			return Failed, reason + "; not restarted: " + why, &QuarantineError{Reason: reason, Why: why}
		}
		if dryRun {
			return WillStart, reason + ": restart with reset QuarantineState", nil
		}
		if err := g.RestartJob(ctx, spID, jobID, "QuarantineState"); err != nil {
			return "", "", authErr("restart the provisioning job", PermSync, err)
		}
		return Restarted, "was " + reason + "; restarted with reset QuarantineState after the new settings passed Test Connection", nil
	}
	if job.Running() {
		return AlreadyRunning, fmt.Sprintf("schedule %s, status %s", job.Schedule.State, job.Status.Code), nil
	}
	if dryRun {
		return WillStart, "POST …/jobs/{id}/start", nil
	}
	if err := g.StartJob(ctx, spID, jobID); err != nil {
		return "", "", authErr("start the provisioning job", PermSync, err)
	}
	return Started, "Entra runs the first cycle within 20–40 minutes, then about every 40 minutes", nil
}

// noRetry keeps an error from being retried as replication lag; it reads as the error.
type noRetry struct{ err error }

func (e *noRetry) Error() string { return e.err.Error() }

// QuarantineError means the job is quarantined and setup would not restart it.
type QuarantineError struct{ Reason, Why string }

func (e *QuarantineError) Error() string {
	return "the provisioning job is " + e.Reason + " and was not restarted: " + e.Why
}

// Hint says how to go on.
func (e *QuarantineError) Hint() string {
	return "see `invicti-scim status` for the cause; once it is fixed: invicti-scim job restart --reset QuarantineState --yes"
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
