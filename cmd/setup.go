package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/safetext"
	"github.com/invicti-scim/invicti-scim/internal/sandbox"
	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

const defaultAppName = "Invicti Platform"

type setupOptions struct {
	invicti      invictiFlags
	graph        graphFlags
	AppName      string
	AssignUsers  []string
	AssignGroups []string
	ProvisionNow bool
	NoStart      bool
	DryRun       bool
	Yes          bool
	Sandbox      bool
	ShowSecret   bool
	NotifyEmails []string
	// DeletionThreshold is --deletion-threshold (0 disables the guard).
	DeletionThreshold int
	SettingsWriter    string
	emailsSet         bool
	thresholdSet      bool
	Adopt             string
	// New creates (or finds) an app named --app-name even when state records another one.
	New bool
	// Rename renames the app this config dir recorded to --app-name.
	Rename bool
	// CreateTeams and NoCreateTeams answer the "teams first" step (both false: ask, or skip
	// without a terminal).
	CreateTeams, NoCreateTeams bool
	provisionNowSet            bool
	// SSOIdentifier and SSOReplyURL configure SAML single sign-on after provisioning
	// (setup_sso.go): both or neither.
	SSOIdentifier, SSOReplyURL string
}

func newSetupCmd(f *Factory) *cobra.Command {
	opts := &setupOptions{}
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create and configure the Entra enterprise app that provisions into Invicti",
		Long: `Create (or find) the Entra ID enterprise app for Invicti Platform and configure SCIM
provisioning with the OAuth2 client credentials grant, in order:

  1. check the Invicti credentials directly (exit 3 before any Graph write if they fail)
  2. find the app it made (state file, then its invicti-scim tag) or create it from the
     non-gallery template, and wait for Entra to replicate it. An app with the same name that
     it did not make (no invicti-scim tag, or not from the non-gallery template, such as an
     App registrations app) is listed and left alone unless you name it with --adopt
     (which still refuses an App registrations app: Entra cannot provision one)
  3. find or create the provisioning job (template "scim")
  4. save the provisioning settings (key set oauth2-client-credentials/v2: AuthenticationType
     OAuth2ClientCredentialsGrant, Tenant URL, Token Endpoint, client id and secret,
     SyncAll=false, notifications): Entra's Test Connection runs with them BEFORE they are
     saved, and they are read back after; if Graph refuses them, the experimental beta
     writer is tried, then you are guided through the portal (--settings-writer)
  5. run Entra's Test Connection, then start the job (never restarting a running one)
  6. optionally assign users and groups and provision them on demand

Whom --assign-user and --assign-group name is looked up (reads only) before step 1: a user
or group that does not exist or cannot be assigned (a disabled account, a group that is not
a security group) stops setup with exit 2 and nothing created; --dry-run lists whom it
would assign.

Every step is idempotent: a second run with the same input creates nothing new, and an
interrupted run resumes where it stopped. Without a terminal every answer must be a flag.

Try it with no account: invicti-scim setup --sandbox`,
		Example: `  # The built-in sandbox: emulated Entra tenant and emulated Invicti
  invicti-scim setup --sandbox

  # Interactive: asks for what flags do not give
  invicti-scim setup

  # Scripted, EU region, secret from a file, preview first
  export INVICTI_SCIM_GRAPH_TOKEN=$(az account get-access-token \
      --resource-type ms-graph --query accessToken -o tsv)
  invicti-scim setup --region eu --client-id abc123 \
      --client-secret-file secret.txt --dry-run
  invicti-scim setup --region eu --client-id abc123 \
      --client-secret-file secret.txt --assign-group "Invicti Users" \
      --provision-now -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			opts.emailsSet, opts.thresholdSet = cmd.Flags().Changed("notify-email"), cmd.Flags().Changed("deletion-threshold")
			opts.provisionNowSet = cmd.Flags().Changed("provision-now")
			// With --sandbox only --config-dir chooses the config dir: INVICTI_SCIM_CONFIG_DIR in the
			// environment belongs to a real tenant or to a running sandbox (a loaded sandbox.env),
			// and a one-shot sandbox must write into neither.
			configDirSet := cmd.Flags().Changed("config-dir") || (!opts.Sandbox && f.Getenv("INVICTI_SCIM_CONFIG_DIR") != "")
			if opts.Sandbox && !cmd.Flags().Changed("config-dir") && f.Getenv("INVICTI_SCIM_CONFIG_DIR") != "" && !f.JSON() {
				ui.Err(f.IO).Paragraph("", "Note: INVICTI_SCIM_CONFIG_DIR is ignored with --sandbox: this run keeps its state in a temporary directory (pass --config-dir to keep it).")
			}
			return runSetup(ctx, f, opts, configDirSet, cmd.Flags().Changed("app-name"))
		},
	}
	opts.invicti.register(cmd)
	opts.graph.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&opts.AppName, "app-name", defaultAppName, "Display name of the enterprise app")
	fs.StringArrayVar(&opts.AssignUsers, "assign-user", nil, "Assign this user (UPN, mail or object id) to the app; repeatable")
	fs.StringArrayVar(&opts.AssignGroups, "assign-group", nil, "Assign this security group (name or object id); repeatable")
	fs.BoolVar(&opts.ProvisionNow, "provision-now", false, "Provision the assigned users and groups on demand instead of waiting for the first cycle")
	fs.BoolVar(&opts.NoStart, "no-start", false, "Configure everything but do not start provisioning")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "Print the plan (exists / will create / will change) and change nothing")
	fs.BoolVar(&opts.Yes, "yes", false, "Apply without asking for confirmation")
	fs.BoolVar(&opts.Sandbox, "sandbox", false, "Run against the built-in emulated Entra tenant and emulated Invicti (no account needed)")
	fs.BoolVar(&opts.ShowSecret, "show-secret", false, "In the guided portal step, print the client secret so you can paste it")
	fs.StringArrayVar(&opts.NotifyEmails, "notify-email", nil, "Send Entra's provisioning failure e-mails to this address; repeatable")
	fs.IntVar(&opts.DeletionThreshold, "deletion-threshold", provision.DefaultDeletionThreshold, "Stop a provisioning cycle that would delete more than this many accounts (0 turns the guard off)")
	fs.StringVar(&opts.SettingsWriter, "settings-writer", string(provision.WriterAuto), "How to save the provisioning settings: auto, secrets (documented PUT), connectivity (experimental beta PATCH) or portal (guided)")
	_ = cmd.RegisterFlagCompletionFunc("settings-writer", cobra.FixedCompletions([]string{"auto", "secrets", "connectivity", "portal"}, cobra.ShellCompDirectiveNoFileComp))
	fs.StringVar(&opts.Adopt, "adopt", "", "Configure this existing enterprise app (service principal object id or appId) although invicti-scim did not make it")
	fs.BoolVar(&opts.New, "new", false, "With --app-name: set up a second app under that name instead of the app this config dir recorded")
	fs.BoolVar(&opts.Rename, "rename", false, "With --app-name: rename the app this config dir recorded to that name")
	fs.BoolVar(&opts.CreateTeams, "create-teams", false, "Create an Invicti team (SCIM group) named like each --assign-group before users arrive")
	fs.BoolVar(&opts.NoCreateTeams, "no-create-teams", false, "Do not offer to create Invicti teams for the assigned groups")
	fs.StringVar(&opts.SSOIdentifier, "sso-identifier", "", "Also set up SAML single sign-on: Invicti's Identifier (Settings → SSO & provisioning); with --sso-reply-url")
	fs.StringVar(&opts.SSOReplyURL, "sso-reply-url", "", "Also set up SAML single sign-on: Invicti's SAML 2.0 Service URL; with --sso-identifier")
	return cmd
}

func runSetup(ctx context.Context, f *Factory, opts *setupOptions, configDirSet, appNameSet bool) error {
	// Every flag is checked before anything happens, the sandbox's emulators included: a bad
	// value exits 2 with nothing started, created or written.
	notify := provision.Notifications{Emails: opts.NotifyEmails, DeletionThreshold: opts.DeletionThreshold}
	if err := provision.ValidateNotifications(notify); err != nil {
		return &FlagError{Err: err}
	}
	writer, err := provision.ParseWriter(opts.SettingsWriter)
	if err != nil {
		return &FlagError{Err: err}
	}
	if strings.TrimSpace(opts.AppName) == "" || len(opts.AppName) > 256 {
		return flagErrorf("--app-name %q: must be 1 to 256 characters", opts.AppName)
	}
	if strings.IndexFunc(opts.AppName, unicode.IsControl) >= 0 || !utf8.ValidString(opts.AppName) {
		return flagErrorf("--app-name %q: must not contain control characters or invalid UTF-8", opts.AppName)
	}
	if opts.Adopt != "" && !provision.IsGUID(opts.Adopt) {
		return flagErrorf("--adopt %q: expected the service principal object id or appId (GUID) that setup listed", opts.Adopt)
	}
	if opts.New && (!appNameSet || opts.Adopt != "") {
		return flagErrorf("--new needs --app-name (the name of the second app) and cannot go with --adopt")
	}
	if opts.Rename && (!appNameSet || opts.Adopt != "" || opts.New) {
		return flagErrorf("--rename needs --app-name (the new name) and cannot go with --adopt or --new")
	}
	if opts.CreateTeams && opts.NoCreateTeams {
		return flagErrorf("use only one of --create-teams and --no-create-teams")
	}
	if opts.CreateTeams && len(opts.AssignGroups) == 0 && !opts.Sandbox && !f.CanPrompt() {
		return flagErrorf("--create-teams needs --assign-group: it creates one Invicti team per assigned group")
	}
	if opts.ProvisionNow && len(opts.AssignUsers) == 0 && len(opts.AssignGroups) == 0 && !opts.Sandbox {
		return flagErrorf("--provision-now needs --assign-user or --assign-group: it provisions what setup assigns")
	}
	if (opts.SSOIdentifier == "") != (opts.SSOReplyURL == "") || opts.SSOIdentifier != "" && opts.DryRun {
		if err := checkSetupSSOFlags(opts, ""); err != nil {
			return err
		}
	}
	// Check what setup will assign before it creates anything, so a typo cannot leave a new app
	// behind with a failed assignment.
	for _, v := range opts.AssignUsers {
		if err := validUser("--assign-user", v); err != nil {
			return err
		}
	}
	for _, v := range opts.AssignGroups {
		if err := validPrincipal("--assign-group", v); err != nil {
			return err
		}
	}
	if opts.thresholdSet && notify.DeletionThreshold == 0 && !f.JSON() {
		ui.Err(f.IO).Check(ui.SymWarn, "--deletion-threshold 0: the accidental-deletions guard is off", "a cycle may deprovision any number of Invicti users at once")
	}
	interactive := f.CanPrompt()
	// Without a terminal every answer must be a flag; with one, the wizard asks what flags did
	// not give, the sandbox's values included (offered as defaults, never answered for the admin).
	wiz := interactive && !opts.Yes && !opts.DryRun
	if opts.Sandbox {
		if err := startSandbox(f, opts, configDirSet, wiz); err != nil {
			return err
		}
	}
	store, st, err := f.loadState(ctx)
	if err != nil {
		return err
	}
	// Usage errors first (exit 2), then sign-in configuration (exit 4), then the network.
	cloud, mode, token, err := opts.graph.validate(f)
	if err != nil {
		return err
	}
	if wiz {
		printWelcome(f, opts.Sandbox)
	}
	var ask func(wizard.InvictiAnswers) (wizard.InvictiAnswers, error)
	if interactive {
		ask = credentialsStep(ctx, f, wiz)
	}
	in, err := opts.invicti.resolveWith(ctx, f, &st, ask)
	if err != nil {
		return err
	}
	if err := checkSetupSSOFlags(opts, in.Endpoints.BaseURL); err != nil {
		return err
	}
	// The unattended sandbox (no terminal, --yes or --dry-run) names its app itself, as before.
	if err := chooseApp(ctx, f, opts, st, interactive, interactive && (wiz || !opts.Sandbox), appNameSet); err != nil {
		return err
	}

	sp := ui.NewSpinner(f.IO)
	defer sp.Stop()
	conn, err := opts.graph.connect(f, cloud, mode, token, throttleNotice(sp))
	if err != nil {
		return err
	}
	if err := checkTenant(conn, &st); err != nil {
		return err
	}
	// The signed-in tenant (name and id) and account, once, right after sign-in, then the
	// permission check; the plan repeats them. The sandbox's emulated tenant answers the same
	// calls (/organization, /me), so its first-time user sees what a real sign-in shows.
	who := signedIn{TenantID: conn.tenantID()}
	if interactive {
		id, err := printSignedIn(ctx, f, conn) // auth.go
		if err != nil {
			return err
		}
		who = signedIn{TenantID: id.TenantID, TenantName: id.TenantName, Account: id.Account}
		printPreflight(f, provision.RunPreflight(ctx, conn.Client, "setup", "assign", "provision"))
	}

	if wiz && len(opts.AssignUsers) == 0 && len(opts.AssignGroups) == 0 {
		if err := askAccess(ctx, f, conn, opts); err != nil {
			return err
		}
	}
	// Whom to assign is looked up before anything is created (reads only; none without
	// --assign-*): a name that does not resolve is a usage error with nothing written, and
	// the assignment step reuses these lookups.
	var resolved []provision.AssignItem
	if len(opts.AssignUsers)+len(opts.AssignGroups) > 0 {
		if sp.Animated() { // without a terminal, the error or the assign table says it
			sp.Set("Looking up the users and groups to assign")
		}
		resolved, err = provision.ResolveAssignees(ctx, conn.Client, opts.AssignUsers, opts.AssignGroups)
		sp.Stop()
		if err != nil {
			return err
		}
	}
	createTeams := opts.CreateTeams
	if wiz && len(opts.AssignGroups) > 0 && !opts.CreateTeams && !opts.NoCreateTeams {
		if createTeams, err = wizard.AskTeams(ctx, setupWizardIO(f), wizard.TeamsStep{Groups: opts.AssignGroups}); err != nil {
			return err
		}
	}

	prog := progressPrinter(f, sp, wiz)
	setup := &provision.Setup{
		TenantID: conn.tenantID(),
		Graph:    conn.Client,
		Checker:  f.Checker(),
		Store:    store,
		Progress: prog,
		Now:      f.Now,
	}
	cfg := provision.SetupConfig{
		AppName: opts.AppName, Endpoints: in.Endpoints, Credentials: in.Credentials, Cloud: cloud,
		NoStart: opts.NoStart, DryRun: opts.DryRun, Notifications: notify, Writer: writer,
		EmailsSet: opts.emailsSet, ThresholdSet: opts.thresholdSet, Adopt: opts.Adopt, NewApp: opts.New, Rename: opts.Rename,
	}
	if interactive {
		cfg.Guided = guidedPrompt(f, sp, opts.ShowSecret, in.Credentials.ClientSecret)
	}

	// Interactively, show the plan (reads only) and ask before the first write.
	if interactive && !opts.DryRun && !opts.Yes {
		plan, err := planSetup(ctx, f, conn, setup, &cfg, sp)
		if err != nil {
			return err
		}
		additive := printPlan(f, plan, opts, who, createTeams)
		ok, err := wizard.Confirm(ctx, setupWizardIO(f), "Apply this plan?", planQuestionHint(additive), additive)
		if err != nil {
			return err
		}
		if !ok {
			return declined(f)
		}
	}

	res, err := setup.Run(ctx, cfg)
	sp.Stop()
	if res == nil {
		return err
	}
	out := &setupOutcome{SetupResult: res}
	scim := provision.InvictiConn{Checker: f.Checker(), Endpoints: in.Endpoints, Credentials: in.Credentials}.SCIM(ctx)
	if err == nil && !opts.DryRun && createTeams && len(opts.AssignGroups) > 0 {
		out.Teams, err = createTeamsStep(ctx, f, scim, opts.AssignGroups, in.Endpoints.BaseURL, wiz, sp)
	}
	if err == nil && opts.DryRun && createTeams && len(opts.AssignGroups) > 0 && !f.JSON() {
		// The run would create them before anyone is provisioned (createTeamsStep).
		ui.Err(f.IO).Check(ui.SymPlan, "Create the Invicti teams first", "will-create unless they exist: "+strings.Join(opts.AssignGroups, ", "))
	}
	if err == nil && opts.DryRun && len(resolved) > 0 {
		// Whom it would assign (already looked up); on an existing app, who already is.
		var ar *provision.AssignResult
		if ar, err = provision.PlanAssignees(ctx, conn.Client, res.ServicePrincipalID, resolved); err == nil {
			out.Extras = &provision.AfterSetupResult{Assign: ar}
			if !f.JSON() {
				printAfterSetup(f, out.Extras)
			}
		}
	}
	if err == nil && !opts.DryRun && (len(opts.AssignUsers) > 0 || len(opts.AssignGroups) > 0) {
		req := provision.AfterSetupRequest{ServicePrincipalID: res.ServicePrincipalID, JobID: res.JobID,
			Users: opts.AssignUsers, Groups: opts.AssignGroups, ProvisionNow: opts.ProvisionNow, Resolved: resolved}
		assignShown := false
		if wiz && !opts.provisionNowSet {
			// Assign first, show it, then ask whom to provision: the plan's assignments are
			// made whatever the answer.
			req.Pick = func(ctx context.Context, ar *provision.AssignResult) (bool, []string, error) {
				sp.Stop()
				if !f.JSON() {
					printAfterSetup(f, &provision.AfterSetupResult{Assign: ar})
					assignShown = true
				}
				return pickProvision(ctx, f, conn, opts)
			}
		}
		as := &provision.AfterSetup{Graph: conn.Client, Progress: spinnerOnly(sp)}
		if req.ProvisionNow && wiz {
			as.SCIM = scim // each provisioned user is looked up in Invicti: the proof
		}
		out.Extras, err = as.Run(ctx, req)
		sp.Stop()
		if errors.Is(err, provision.ErrPartial) {
			err = &exitError{code: ExitFailed, err: err}
		}
		if err == nil && !f.JSON() && out.Extras != nil {
			shown := *out.Extras
			if assignShown {
				shown.Assign = nil // printed before the provision-now question
			}
			printAfterSetup(f, &shown)
		}
		if err == nil {
			mappingsAfterAssign(ctx, f, conn, res.ServicePrincipalID, res.JobID) // mappings_hook.go
		}
	}
	var ssoErr error
	if err == nil && !opts.DryRun {
		// The wizard offers it after its provision-now step, so only when it assigned someone.
		askSSO := wiz && len(opts.AssignUsers)+len(opts.AssignGroups) > 0
		out.SSO, ssoErr = setupSSO(ctx, f, conn, opts, res.ServicePrincipalID, in.Endpoints.BaseURL, askSSO)
	}
	if opts.Sandbox {
		out.Sandbox = sandboxReport(f)
	}
	if f.JSON() {
		jerr := err
		if jerr == nil {
			jerr = ssoErr
		}
		doc := setupJSON{setupOutcome: out, OK: jerr == nil}
		if out.Extras != nil {
			doc.Assign, doc.Provision = out.Extras.Assign, out.Extras.Provision
		}
		if jerr != nil {
			doc.Error = f.errJSON(jerr)
		}
		if perr := printJSON(f, doc); perr != nil {
			return perr
		}
	} else {
		printSetupSummary(f, out, opts, in.Credentials.ClientSecret, err)
	}
	if x := out.Extras; x != nil {
		if x.Assign != nil && !x.Assign.OK {
			reportAssignFailures(f, x.Assign)
		}
		if x.Provision != nil && !x.Provision.OK {
			reportProvisionFailures(f, x.Provision)
		}
	}
	if err == nil && ssoErr != nil {
		// Provisioning is set up; only single sign-on failed: `invicti-scim sso` retries it.
		return fmt.Errorf("provisioning is set up, but single sign-on is not (retry with `invicti-scim sso`): %w", ssoErr)
	}
	return err
}

type errorJSON struct {
	Message  string `json:"message"`
	ExitCode int    `json:"exitCode"`
	Hint     string `json:"hint,omitempty"`
}

type setupOutcome struct {
	*provision.SetupResult
	Extras  *provision.AfterSetupResult `json:"-"`
	Teams   []provision.TeamResult      `json:"teams,omitempty"`
	Sandbox *sandboxJSON                `json:"sandbox,omitempty"`
	SSO     *ssoJSON                    `json:"sso,omitempty"`
}

type setupJSON struct {
	*setupOutcome
	Assign    *provision.AssignResult   `json:"assign,omitempty"`
	Provision *provision.OnDemandResult `json:"provision,omitempty"`
	OK        bool                      `json:"ok"`
	Error     *errorJSON                `json:"error,omitempty"`
}

// startSandbox starts both emulators and points this run at them. Unattended (no terminal, or
// --yes) it also answers for the admin: the emulated Invicti's URL and client, and the demo
// group assigned and provisioned. The wizard instead offers those values as defaults.
func startSandbox(f *Factory, opts *setupOptions, configDirSet, wiz bool) error {
	env := sandbox.Start(sandbox.Defaults())
	f.addCleanup(env.Close)
	f.sandbox = env
	if !configDirSet {
		dir, err := os.MkdirTemp("", "invicti-scim-sandbox-")
		if err != nil {
			return err
		}
		f.addCleanup(func() { os.RemoveAll(dir) })
		f.ConfigDir, f.configDirTemporary = dir, true
	}
	base := f.Getenv
	overlay := map[string]string{
		"INVICTI_SCIM_GRAPH_TOKEN": env.GraphToken,
		"INVICTI_SCIM_GRAPH_URL":   env.GraphURL,
	}
	if !wiz {
		overlay["INVICTI_SCIM_INVICTI_URL"] = env.InvictiURL
		overlay["INVICTI_SCIM_CLIENT_ID"] = env.ClientID
		overlay["INVICTI_SCIM_CLIENT_SECRET"] = env.ClientSecret
	} else {
		// The admin's environment must not answer for the sandbox either.
		for _, k := range []string{"INVICTI_SCIM_INVICTI_URL", "INVICTI_SCIM_CLIENT_ID", "INVICTI_SCIM_CLIENT_SECRET"} {
			overlay[k] = ""
		}
	}
	f.Getenv = func(k string) string {
		if v, ok := overlay[k]; ok {
			return v
		}
		return base(k)
	}
	f.IO.Redactor.Add(env.ClientSecret)
	f.IO.Redactor.Add(env.GraphToken)
	opts.graph.Auth, opts.graph.GraphURL, opts.graph.Cloud = "token", env.GraphURL, "global"
	opts.invicti.Region, opts.invicti.URL = "", ""
	if !wiz {
		opts.invicti.URL = env.InvictiURL
	}
	if !wiz && len(opts.AssignUsers) == 0 && len(opts.AssignGroups) == 0 {
		opts.AssignGroups = []string{env.DemoGroup}
		opts.ProvisionNow = true
	}
	if !f.JSON() {
		p := ui.Err(f.IO)
		p.Heading("Sandbox: an emulated Entra tenant and Invicti Platform on this machine")
		p.KV([][2]string{{"Entra (Graph)", env.GraphURL}, {"Invicti", env.InvictiURL}, {"demo group", env.DemoGroup + " (3 users)"}})
		p.Println()
	}
	return nil
}

type sandboxJSON struct {
	GraphURL        string   `json:"graphUrl"`
	InvictiURL      string   `json:"invictiUrl"`
	InvictiUsers    []string `json:"invictiUsers"`
	InvictiGroups   []string `json:"invictiGroups"`
	EntraRequests   int      `json:"entraRequests"`
	InvictiRequests int      `json:"invictiRequests"`
}

func sandboxReport(f *Factory) *sandboxJSON {
	env := f.sandbox
	if env == nil {
		return nil
	}
	r := &sandboxJSON{GraphURL: env.GraphURL, InvictiURL: env.InvictiURL, EntraRequests: len(env.Tenant.Requests()), InvictiRequests: len(env.Invicti.Requests())}
	for _, u := range env.Invicti.Users() {
		r.InvictiUsers = append(r.InvictiUsers, u.UserName)
	}
	for _, g := range env.Invicti.Groups() {
		r.InvictiGroups = append(r.InvictiGroups, g.DisplayName)
	}
	return r
}

// progressPrinter shows each step as it ends (a checklist line on stderr) and keeps the
// spinner saying what is running or awaited.
// brief (the wizard, whose plan already said what each step does) keeps each line to the step
// and its outcome; failures and guided steps keep their detail.
func progressPrinter(f *Factory, sp *ui.Spinner, brief bool) provision.Progress {
	if f.JSON() {
		return spinnerOnly(sp)
	}
	p := ui.Err(f.IO)
	return func(e provision.Event) {
		switch e.Kind {
		case provision.EventBegin:
			// Without a terminal the end line says it all; begin lines would only double the log.
			if sp.Animated() {
				sp.Set(e.Message)
			}
		case provision.EventWait:
			sp.Set(e.Message)
		case provision.EventEnd:
			sp.Stop()
			sym := ui.SymOK
			switch {
			case e.Step.Outcome == provision.Failed:
				sym = ui.SymFail
			case e.Step.Outcome == provision.Guided:
				sym = ui.SymWarn
			case strings.HasPrefix(string(e.Step.Outcome), "will-"):
				sym = ui.SymPlan
			case e.Step.Outcome == provision.Skipped:
				sym = ui.SymSkip
			}
			if brief && sym != ui.SymFail && sym != ui.SymWarn {
				p.Check(sym, e.Step.Title, briefOutcome(e.Step, p.Width))
				return
			}
			p.Check(sym, e.Step.Title, string(e.Step.Outcome)+": "+e.Step.Detail)
		}
	}
}

// briefOutcome is the outcome and, when it fits on the line, the first clause of the detail;
// for the settings step always, since how they were saved matters ("updated: configured in the
// portal").
func briefOutcome(st provision.Step, width int) string {
	clause := st.Detail
	for _, sep := range []string{";", ":", " ("} {
		clause, _, _ = strings.Cut(clause, sep)
	}
	out := string(st.Outcome)
	if clause != "" && (st.ID == "secrets" || width <= 0 || len(st.Title)+len(out)+len(clause)+7 <= width) {
		out += ": " + clause
	}
	return out
}

func spinnerOnly(sp *ui.Spinner) provision.Progress {
	return func(e provision.Event) {
		if e.Kind == provision.EventWait || (e.Kind == provision.EventBegin && sp.Animated()) {
			sp.Set(e.Message)
		}
	}
}

// guidedPrompt shows the portal step and then lets setup poll for the settings: every
// Enter the admin presses asks for a check now. The values are printed outside any box so
// they can be copied whole at any width; the secret only on request.
func guidedPrompt(f *Factory, sp *ui.Spinner, showSecret bool, secret string) func(context.Context, provision.Guide) (<-chan struct{}, error) {
	return func(ctx context.Context, g provision.Guide) (<-chan struct{}, error) {
		sp.Stop()
		p := ui.Err(f.IO)
		p.Heading("One step in the Entra portal")
		p.Println(g.Reason)
		if !showSecret {
			show, err := wizard.Confirm(ctx, f.wizardIO(), "Show the client secret so you can paste it?", "It is printed on this terminal only.", false)
			if err != nil {
				return nil, err
			}
			showSecret = show
		}
		shown := ""
		if showSecret {
			shown = secret
		}
		p.Println()
		for _, l := range g.LinesWithSecret(shown) {
			p.Println(l)
		}
		p.Println()
		p.Printf("Waiting for the settings: checking every %s for up to %s. Press Enter to check now; Ctrl-C stops (state is saved, and setup carries on when run again).\n",
			provision.GuidedPollInterval, provision.GuidedPollTimeout)
		return enterPresses(ctx, f), nil
	}
}

// enterPresses reports each line read from stdin until ctx ends. The reader goroutine may
// outlive ctx while blocked in Read; setup asks nothing after this step, so it takes no
// input meant for anything else.
func enterPresses(ctx context.Context, f *Factory) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(f.IO.In)
		for sc.Scan() {
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// printAfterSetup prints what was assigned and provisioned (on stdout) as soon as those steps
// finish, before the single sign-on step and the summary: the record reads in the order
// things happened, and the summary does not repeat it.
func printAfterSetup(f *Factory, x *provision.AfterSetupResult) {
	p := ui.Out(f.IO)
	if x.Assign != nil {
		printAssignTable(p, x.Assign)
	}
	if x.Provision != nil {
		p.Println()
		printProvisionResults(p, x.Provision)
	}
	for _, m := range x.Members {
		if m.Verified.Found {
			state := "active"
			if !m.Verified.Active {
				state = "inactive"
			}
			p.Check(ui.SymOK, "In Invicti: "+m.UserName, state)
		} else {
			p.Check(ui.SymFail, "Not in Invicti: "+m.UserName, m.Verified.Error)
		}
	}
	p.Println()
}

func printSetupSummary(f *Factory, res *setupOutcome, opts *setupOptions, secret string, runErr error) {
	p := ui.Out(f.IO)
	cmdName := commandPrefix()
	if res.Guide != nil {
		// Not in a box: the values must be copyable whole at any terminal width.
		e := ui.Err(f.IO)
		e.Println()
		e.Heading("Finish in the Entra portal")
		e.Println(res.Guide.Reason)
		shown := ""
		if opts.ShowSecret {
			shown = secret
		}
		for _, l := range res.Guide.LinesWithSecret(shown) {
			e.Println(l)
		}
	}
	if runErr != nil {
		return
	}
	// Single sign-on was the wizard's last step: its values (for Invicti's SSO page) come
	// before the summary too.
	if res.SSO != nil {
		printSSO(f, *res.SSO)
		p.Println()
	}
	title := "Setup complete"
	if res.DryRun {
		title = "Dry run: nothing was changed"
	}
	p.Heading(title)
	rows := [][2]string{
		{"Enterprise app", fmt.Sprintf("%s (appId %s)", res.AppName, dash(res.AppID))},
		{"Service principal", dash(res.ServicePrincipalID)},
		{"Application object", dash(res.ApplicationID)},
		{"Provisioning job", dash(res.JobID)},
		{"Tenant URL", res.TenantURL},
		{"Token Endpoint", res.TokenEndpoint},
		{"Invicti client id", res.ClientID},
	}
	if res.PortalURL != "" {
		rows = append(rows, [2]string{"Portal", res.ProvisioningURL})
	}
	if len(res.Teams) > 0 {
		var names []string
		for _, t := range res.Teams {
			how := "reused"
			if t.Created {
				how = "created"
			}
			names = append(names, t.Name+" ("+how+")")
		}
		rows = append(rows, [2]string{"Invicti teams", strings.Join(names, ", ")})
	}
	p.KVWhole(rows) // ids and URLs whole, so they can be copied
	if s := res.Sandbox; s != nil {
		p.Println()
		p.Heading("In the emulated Invicti now")
		p.KV([][2]string{{"users", strings.Join(s.InvictiUsers, ", ")}, {"teams", strings.Join(s.InvictiGroups, ", ")}, {"requests", fmt.Sprintf("%d to Entra (Graph), %d to Invicti", s.EntraRequests, s.InvictiRequests)}})
		p.Println()
		p.Println("This sandbox stops now. To try every other command, keep one running:")
		p.Println("  " + cmdName + " sandbox --env-file sandbox.env &")
		p.Println("  set -a; . ./sandbox.env; set +a")
		p.Println("  " + cmdName + " setup --non-interactive")
		return
	}
	if res.DryRun {
		return
	}
	p.Println()
	p.Heading("Next steps")
	steps := []string{}
	if res.Extras == nil || res.Extras.Provision == nil {
		steps = append(steps, "Entra's first provisioning cycle starts within 20–40 minutes (then about every 40 minutes); for immediate feedback:\n       "+cmdName+" provision --user <UPN> --verify")
	}
	if len(res.Teams) > 0 {
		steps = append(steps, "In Invicti, give each team its roles and collections if you have not yet (Users, teams & roles → Manage teams)")
	} else {
		steps = append(steps, "In Invicti, create teams and give them roles and collections BEFORE users arrive: SCIM-provisioned users and teams get no permissions of their own")
	}
	assignStep := "Assign users and groups"
	if res.Extras != nil && res.Extras.Assign != nil {
		assignStep = "Assign more users and groups"
	}
	steps = append(steps,
		assignStep+" (group assignment needs Entra ID P1/P2; nested groups are not provisioned):\n       "+cmdName+" assign --group \"<security group>\"",
		"Check health any time:\n       "+cmdName+" status",
	)
	p.Numbered(steps)
}

// safeName reports whether a name read back from the tenant (through the state) may be offered
// as the app name: the wizard's form shows it raw, and --app-name refuses control characters.
func safeName(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0 && safetext.Escape(s, false) == s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printPreflight says, before the plan, what the signed-in account lacks for setup and the
// wizard's assign and provision steps (doctor's check). It warns rather than stops: the admin
// may have a reason, and Graph has the last word.
func printPreflight(f *Factory, p provision.Preflight) {
	e := ui.Err(f.IO)
	switch {
	case !p.Determined:
		e.Check(ui.SymWarn, "Permissions not checked", "the token's claims cannot be read; `invicti-scim doctor` checks by calling Graph")
		return
	case len(p.Missing) == 0 && !p.NoRole:
		e.Check(ui.SymOK, "Permissions", "the account has what setup, assign and provision need")
		return
	}
	if len(p.Missing) > 0 {
		e.Check(ui.SymWarn, "Missing Graph permissions", strings.Join(p.Missing, ", ")+": grant and consent them, or setup stops with exit 4 at the first call that needs one (docs/permissions.md)")
	}
	if p.NoRole {
		e.Check(ui.SymWarn, "No directory role", "none of Application Administrator, Cloud Application Administrator, Global Administrator: ask a Privileged Role Administrator to assign (or activate in PIM) one of them")
	}
}
