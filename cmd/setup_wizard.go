package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/shellarg"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

// setupWizardIO is the wizard's IO with its between-form lines going through the sanitising
// printer on stderr.
func setupWizardIO(f *Factory) wizard.IO {
	wio := f.wizardIO()
	p := ui.Err(f.IO)
	wio.Say = func(lines ...string) {
		// Each line wraps at spaces under its own indentation (a list of user names).
		for _, l := range lines {
			p.Paragraph(strings.Repeat(" ", len(l)-len(strings.TrimLeft(l, " ")))+"  ", l)
		}
	}
	return wio
}

// printWelcome is the wizard's first screen: what will happen and what each side needs.
func printWelcome(f *Factory, sandbox bool) {
	p := ui.Err(f.IO)
	p.Heading("Connect Microsoft Entra ID to Invicti Platform (SCIM provisioning)")
	p.Paragraph("", "This wizard creates the Entra enterprise app that provisions users and groups into Invicti, checks each value as you give it, and can give the first people access. Nothing is changed until you confirm the plan. You need:")
	p.Paragraph("    ", "  • Invicti: an Owner (or System rights) account, Invicti Ultimate with API access, and SCIM client credentials (the wizard can show you how).")
	p.Paragraph("    ", "  • Entra: the Application Administrator or Cloud Application Administrator role (or the Graph permissions in docs/permissions.md).")
	p.Paragraph("", "Invicti's guides, Set up SCIM provisioning and Configure your SCIM directory:")
	p.Println("  " + wizard.SetUpSCIMURL)
	p.Println("  " + wizard.ConfigureDirectoryURL)
	if sandbox {
		p.Paragraph("", "Sandbox: each answer is pre-filled with the emulators' values; Enter accepts.")
	}
	p.Println()
}

// credentialsStep returns resolve's question for the Invicti side: the full credentials step
// with the direct check when the wizard runs, the short form otherwise (--yes on a terminal).
func credentialsStep(ctx context.Context, f *Factory, full bool) func(wizard.InvictiAnswers) (wizard.InvictiAnswers, error) {
	if !full {
		return func(known wizard.InvictiAnswers) (wizard.InvictiAnswers, error) {
			return wizard.AskInvicti(ctx, f.wizardIO(), known)
		}
	}
	return func(known wizard.InvictiAnswers) (wizard.InvictiAnswers, error) {
		step := wizard.CredentialsStep{Known: known, MaxFile: maxSecretFile}
		if env := f.sandbox; env != nil {
			step.Default = wizard.InvictiAnswers{URL: env.InvictiURL, ClientID: env.ClientID, Secret: env.ClientSecret}
		}
		sp := ui.NewSpinner(f.IO)
		step.Check = provision.DirectCheck(f.Checker(), func(base, id, secret string) {
			f.IO.Redactor.Add(secret)
			f.IO.Redactor.AddBasic(id, secret)
			sp.Set("Checking the credentials with Invicti (" + base + ")")
		}, sp.Stop)
		ans, err := wizard.AskCredentials(ctx, setupWizardIO(f), step)
		var cf *wizard.CheckFailedError
		switch {
		case errors.As(err, &cf):
			return ans, &exitError{code: ExitConnection, err: err}
		case errors.Is(err, wizard.ErrNotReady):
			// The admin's choice, as No at the plan: exit 0, nothing changed.
			ui.Err(f.IO).Println("Nothing changed: run the same command again once you have Invicti's SCIM client credentials.")
			return ans, silent(ExitOK)
		}
		return ans, err
	}
}

// chooseApp settles the app's name: asked on a terminal (default: the app in state, else
// "Invicti Platform"), and a --app-name that differs from the app in state is an explicit
// choice (keep that app, rename it with --rename, or a second one with --new), never silently
// ignored.
func chooseApp(ctx context.Context, f *Factory, opts *setupOptions, st state.State, interactive, askName, appNameSet bool) error {
	stateName := ""
	if st.App != nil && st.App.DisplayName != "" && safeName(st.App.DisplayName) {
		stateName = st.App.DisplayName
	}
	if appNameSet && stateName != "" && !strings.EqualFold(stateName, opts.AppName) && opts.Adopt == "" && !opts.New && !opts.Rename {
		if !interactive {
			return flagErrorf("--app-name %q differs from the app this config dir set up (%q): pass %s to keep configuring it, add --rename to rename it to %q, or add --new to set up a second app named %q", opts.AppName, stateName, shellarg.Flag("--app-name", stateName), opts.AppName, opts.AppName)
		}
		c, err := wizard.AskAppName(ctx, setupWizardIO(f), stateName, opts.AppName)
		if err != nil {
			return err
		}
		switch c {
		case wizard.KeepStateApp:
			opts.AppName = stateName
		case wizard.RenameStateApp:
			opts.Rename = true
		default:
			opts.New = true
		}
		return nil
	}
	if appNameSet {
		return nil
	}
	def := opts.AppName
	if stateName != "" {
		def = stateName
	}
	if !askName {
		opts.AppName = def
		return nil
	}
	name, err := wizard.AskText(ctx, setupWizardIO(f), "Enterprise app name", "The Entra enterprise app that provisions into Invicti; the one this tool made before is reused.", def,
		func(s string) error {
			if strings.TrimSpace(s) == "" {
				return fmt.Errorf("enter a name")
			}
			return nil
		})
	if err != nil {
		return err
	}
	opts.AppName = name
	return nil
}

// signedIn is who setup writes as. TenantName and Account come from the sign-in step when it
// knows them.
type signedIn struct{ TenantID, TenantName, Account string }

// askAccess is the optional "who gets access" step: a search over the tenant's users and
// security groups, then the warnings for each chosen group.
func askAccess(ctx context.Context, f *Factory, conn *graphConn, opts *setupOptions) error {
	dir := &provision.Directory{Graph: conn.Client}
	var pre []string
	if env := f.sandbox; env != nil {
		pre = []string{env.DemoGroup}
	}
	sp := ui.NewSpinner(f.IO)
	step := wizard.AccessStep{
		Preselected: pre,
		Offer:       true,
		Search: func(ctx context.Context, prefix string) ([]wizard.Choice, error) {
			sp.Set("Searching the directory")
			defer sp.Stop()
			ps, err := dir.Search(ctx, prefix)
			if err != nil {
				return nil, err
			}
			out := make([]wizard.Choice, 0, len(ps))
			for _, p := range ps {
				label := p.Label
				for _, w := range p.Warnings {
					short, _, _ := strings.Cut(w, ":") // the picker has one line per entry
					label += " (" + short + ")"
				}
				out = append(out, wizard.Choice{Key: p.Name, Label: f.IO.Redactor.Line(label), Group: p.Kind == provision.PrincipalGroup, Refused: p.Refused})
			}
			return out, nil
		},
	}
	acc, err := wizard.AskAccess(ctx, setupWizardIO(f), step)
	if errors.Is(err, wizard.ErrCancelled) {
		return err
	}
	if err != nil {
		// Assigning is optional: a directory setup cannot read (permissions, throttling) must
		// not stop the rest; the assign command does it later.
		ui.Err(f.IO).Check(ui.SymWarn, "Could not search the directory, so nobody is assigned now", err.Error())
		return nil
	}
	opts.AssignUsers, opts.AssignGroups = acc.Users, acc.Groups
	if len(acc.Users)+len(acc.Groups) == 0 {
		return nil
	}
	opts.ProvisionNow = true // what to provision is picked after the assignment
	p := ui.Err(f.IO)
	for _, u := range acc.Users {
		p.Check(ui.SymOK, "User "+u, "")
	}
	for _, g := range acc.Groups {
		id := ""
		if ps, err := dir.Search(ctx, g); err == nil {
			for _, x := range ps {
				if x.Kind == provision.PrincipalGroup && x.Name == g {
					id = x.ID
				}
			}
		}
		if id == "" {
			continue
		}
		facts, err := dir.Group(ctx, id)
		if err != nil {
			p.Check(ui.SymWarn, "Group "+g, "members not read: "+err.Error())
			continue
		}
		p.Check(ui.SymOK, "Group "+g, plural(facts.Members, "direct member"))
		if len(facts.Nested) > 0 {
			p.Check(ui.SymWarn, "  nested groups are not provisioned", strings.Join(facts.Nested, ", "))
		}
		for _, w := range groupWarnings(facts) {
			p.Check(ui.SymWarn, "  "+w, "")
		}
	}
	p.Println()
	return nil
}

// groupWarnings are the counted warnings about a group's members, in words ("1 disabled user
// (provisioned as inactive)"); none when every member is a plain enabled user with mail.
func groupWarnings(facts provision.GroupFacts) []string {
	var out []string
	for _, w := range []struct {
		n          int
		noun, what string
	}{{facts.Guests, "guest user", ""}, {facts.Disabled, "disabled user", " (provisioned as inactive)"}, {facts.NoMail, "user", " without a mail address"}} {
		if w.n > 0 {
			out = append(out, plural(w.n, w.noun)+w.what)
		}
	}
	return out
}

// createTeamsStep creates the Invicti teams for the assigned groups, then (on a terminal)
// pauses until the admin has given them roles and collections.
func createTeamsStep(ctx context.Context, f *Factory, scim provision.TeamCreator, groups []string, base string, wiz bool, sp *ui.Spinner) ([]provision.TeamResult, error) {
	sp.Set("Creating the Invicti teams")
	teams, err := provision.CreateTeams(ctx, scim, groups)
	sp.Stop()
	if !f.JSON() {
		p := ui.Err(f.IO)
		for _, t := range teams {
			switch {
			case t.Error != "":
				p.Check(ui.SymFail, "Invicti team "+t.Name, t.Error)
			case t.Created:
				p.Check(ui.SymOK, "Invicti team "+t.Name, "created")
			default:
				p.Check(ui.SymOK, "Invicti team "+t.Name, "reused: it exists")
			}
		}
	}
	if err != nil {
		return teams, err
	}
	if wiz {
		names := make([]string, 0, len(teams))
		for _, t := range teams {
			names = append(names, t.Name)
		}
		if err := wizard.WaitForRoles(ctx, setupWizardIO(f), names, base); err != nil {
			return teams, err
		}
	}
	return teams, nil
}

// pickProvision asks whom to provision now, among the assigned users and the direct members of
// the assigned groups: whether to provision now, and whom (nil: everyone assigned).
func pickProvision(ctx context.Context, f *Factory, conn *graphConn, opts *setupOptions) (bool, []string, error) {
	dir := &provision.Directory{Graph: conn.Client}
	cands := append([]string{}, opts.AssignUsers...)
	for _, g := range opts.AssignGroups {
		ps, err := dir.Search(ctx, g)
		if err != nil {
			return false, nil, err
		}
		for _, x := range ps {
			if x.Kind != provision.PrincipalGroup || x.Name != g {
				continue
			}
			upns, err := dir.GroupMemberUPNs(ctx, x.ID)
			if err != nil {
				return false, nil, err
			}
			for _, u := range upns {
				if !contains(cands, u) {
					cands = append(cands, u)
				}
			}
		}
	}
	for i := range cands {
		cands[i] = f.IO.Redactor.Line(cands[i])
	}
	picked, err := wizard.PickProvision(ctx, setupWizardIO(f), cands)
	if err != nil {
		return false, nil, err
	}
	if len(picked) < len(cands) {
		return len(picked) > 0, picked, nil
	}
	return len(picked) > 0, nil, nil
}

func contains(xs []string, v string) bool {
	for _, x := range xs {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// planSetup reads the tenant and returns the plan. When several apps could be meant, the
// admin picks one (or a new one) from a list instead of getting an error.
func planSetup(ctx context.Context, f *Factory, conn *graphConn, setup *provision.Setup, cfg *provision.SetupConfig, sp *ui.Spinner) (*provision.SetupResult, error) {
	for {
		planCfg := *cfg
		planCfg.DryRun = true
		quiet := *setup
		quiet.Progress = spinnerOnly(sp)
		plan, err := quiet.Run(ctx, planCfg)
		sp.Stop()
		var ae *provision.AdoptionError
		if !errors.As(err, &ae) {
			return plan, err
		}
		var apps []wizard.AppChoice
		for _, c := range ae.Candidates {
			facts := provision.DescribeCandidate(ctx, conn.Client, c)
			created, job := "created "+dash(facts.Created), "no provisioning job"
			if facts.HasJob {
				job = "has a provisioning job"
			}
			if facts.Unknown {
				job += " (not all readable)"
			}
			apps = append(apps, wizard.AppChoice{ID: c.ServicePrincipalID, Label: f.IO.Redactor.Line(fmt.Sprintf("%s, %s, %s — %s", c.ServicePrincipalID, created, job, c.Why))})
		}
		id, err := wizard.PickApp(ctx, setupWizardIO(f), fmt.Sprintf("Enterprise apps named %q exist that this tool did not make", ae.Name), apps)
		if err != nil {
			return nil, err
		}
		if id != wizard.NewApp {
			cfg.Adopt = id
			continue
		}
		name, err := wizard.AskText(ctx, setupWizardIO(f), "Name of the new enterprise app", "It must differ from the apps listed above.", cfg.AppName+" (SCIM)", func(s string) error {
			if strings.EqualFold(strings.TrimSpace(s), ae.Name) {
				return fmt.Errorf("that name is taken by the apps above")
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		cfg.AppName = name
	}
}

// printPlan says what setup will do, in an admin's words, and reports whether the plan only
// adds (nothing that exists is overwritten): only then does "Apply?" default to Yes.
func printPlan(f *Factory, plan *provision.SetupResult, opts *setupOptions, who signedIn, createTeams bool) bool {
	p := ui.Err(f.IO)
	additive := true
	outcome := map[string]provision.Outcome{}
	for _, s := range plan.Steps {
		outcome[s.ID] = s.Outcome
	}
	p.Println()
	p.Heading("Plan")
	tenant := dash(who.TenantID)
	if who.TenantName != "" {
		tenant = who.TenantName + " (" + tenant + ")"
	}
	rows := [][2]string{{"Entra tenant", tenant}}
	if who.Account != "" {
		rows = append(rows, [2]string{"Signed in as", who.Account})
	}
	app := fmt.Sprintf("%q — new", opts.AppName)
	if plan.ServicePrincipalID != "" {
		app = fmt.Sprintf("%q — reused (servicePrincipal %s)", plan.AppName, plan.ServicePrincipalID)
	}
	rows = append(rows, [2]string{"Enterprise app", app})
	job := "new"
	if plan.JobID != "" {
		job = "reused (" + plan.JobID + ")"
	}
	if opts.NoStart {
		job += "; not started (--no-start)"
	} else {
		job += "; starts once Test Connection passes"
	}
	rows = append(rows, [2]string{"Provisioning job", job})
	p.KV(rows)
	settings := "saved after Entra tests them"
	if plan.JobID != "" && plan.PreviousKeySet != "" && outcome["secrets"] == provision.WillUpdate {
		settings = "REPLACES the saved settings, after Entra tests the new ones"
		additive = false
	}
	p.Println("  Provisioning settings (" + settings + "):")
	p.Println("    Tenant URL:")
	p.Println("      " + plan.TenantURL)
	p.Println("    Token Endpoint:")
	p.Println("      " + plan.TokenEndpoint)
	p.Println("    Client id: " + plan.ClientID + " (and its secret)")
	if len(opts.AssignUsers)+len(opts.AssignGroups) > 0 {
		p.Println("  Access (assigned to the app; kept if already assigned):")
		for _, g := range opts.AssignGroups {
			p.Println("    group " + g)
		}
		for _, u := range opts.AssignUsers {
			p.Println("    user  " + u)
		}
	} else {
		p.Println("  Access: nobody yet (assign later with the assign command)")
	}
	if createTeams && len(opts.AssignGroups) > 0 {
		p.Println("  Invicti teams (created unless they exist, same names as the groups):")
		for _, g := range opts.AssignGroups {
			p.Println("    " + g)
		}
	}
	p.Println()
	return additive
}

func planQuestionHint(additive bool) string {
	if additive {
		return "This run has changed nothing yet; this plan only adds."
	}
	return "This run has changed nothing yet; this plan replaces saved settings, so the default is No."
}

// commandPrefix is how the admin ran this tool, for next steps that run as shown: "go run ."
// when the binary is go run's temporary build, else "invicti-scim".
func commandPrefix() string {
	exe, err := os.Executable()
	// go run builds into $GOTMPDIR/go-build…/b001/exe/<name> (a test binary sits beside exe/).
	if err == nil && strings.Contains(filepath.ToSlash(exe), "/go-build") && filepath.Base(filepath.Dir(exe)) == "exe" {
		return "go run ."
	}
	return "invicti-scim"
}
