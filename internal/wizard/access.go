package wizard

import (
	"context"
	"fmt"
	"strings"

	"charm.land/huh/v2"
)

// Choice is one user or group the admin can pick: Key is what is returned (a UPN or a group
// name, what --assign-user and --assign-group take), Label what is shown.
type Choice struct {
	Key, Label string
	Group      bool
	// Refused says why the entry cannot be given access (a disabled account); ticking it is
	// refused in the list, with that reason, instead of failing the run later.
	Refused string
}

// AccessStep is the optional "who gets access" step.
type AccessStep struct {
	// Search asks the directory for users and groups whose name starts with the text ("" lists
	// the first page).
	Search func(ctx context.Context, prefix string) ([]Choice, error)
	// Preselected keys are ticked at first (the sandbox's demo group).
	Preselected []string
	// Offer is the default of "Give someone access now?".
	Offer bool
}

// Access is what the admin chose.
type Access struct {
	Users, Groups []string
}

// AskAccess offers to assign users and security groups now. The admin may narrow the list by
// the start of a name (Graph searches), then ticks entries in a multi-select that also filters
// as one types (/). It returns an empty Access when the admin skips.
func AskAccess(ctx context.Context, wio IO, step AccessStep) (Access, error) {
	var out Access
	yes := step.Offer
	if err := run(ctx, wio, huh.NewGroup(huh.NewConfirm().
		Title("Give users or groups access to Invicti now?").
		Description("Entra provisions only the users and groups assigned to the app. Group assignment needs Entra ID P1 or P2; members of nested groups are not provisioned.").
		Affirmative("Yes").Negative("Skip").Value(&yes))); err != nil {
		return out, err
	}
	if !yes {
		return out, nil
	}
	prefix := ""
	for {
		choices, err := step.Search(ctx, prefix)
		if err != nil {
			return out, err
		}
		if len(choices) == 0 {
			wio.say("No users or security groups start with "+quoteOr(prefix, "anything")+".", "")
		} else {
			picked := append([]string{}, step.Preselected...)
			opts := make([]huh.Option[string], 0, len(choices))
			for _, c := range choices {
				opts = append(opts, huh.NewOption(c.Label, c.Key))
			}
			ms := huh.NewMultiSelect[string]().
				Title("Who gets access?").
				Description("x ticks, / filters this list, Enter confirms. Nothing ticked: search by name.").
				Options(opts...).
				Filterable(true).
				Height(min(len(opts)+4, 14)).
				Value(&picked).
				Validate(func(keys []string) error { return refusedPick(choices, keys) })
			wio.sayAccessible("Nothing ticked: you can search the directory by name next.", multiSelectHowTo)
			if err := run(ctx, wio, huh.NewGroup(ms)); err != nil {
				return out, err
			}
			for _, k := range picked {
				for _, c := range choices {
					if c.Key != k {
						continue
					}
					if c.Group {
						out.Groups = append(out.Groups, k)
					} else {
						out.Users = append(out.Users, k)
					}
				}
			}
			if len(out.Users)+len(out.Groups) > 0 {
				return out, nil
			}
		}
		if err := run(ctx, wio, huh.NewGroup(huh.NewInput().
			Title("Search users and groups").
			Description("The start of a name, UPN or group name (Entra searches); empty lists the first ones; Esc skips.").
			Value(&prefix))); err != nil {
			return out, err
		}
		prefix = strings.TrimSpace(prefix)
	}
}

// refusedPick is the picker's check: the first ticked entry that cannot be given access, with
// the reason and what to do.
func refusedPick(choices []Choice, keys []string) error {
	for _, k := range keys {
		for _, c := range choices {
			if c.Key == k && c.Refused != "" {
				return fmt.Errorf("%s: %s (untick it with x)", k, c.Refused)
			}
		}
	}
	return nil
}

func quoteOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return fmt.Sprintf("%q", s)
}

// TeamsStep is the "teams first" question for the chosen groups.
type TeamsStep struct {
	Groups []string
}

// AskTeams offers to create an Invicti team for each chosen group now (same name, so Entra links
// them later). Default yes.
func AskTeams(ctx context.Context, wio IO, step TeamsStep) (bool, error) {
	if len(step.Groups) == 0 {
		return false, nil
	}
	yes := true
	err := run(ctx, wio, huh.NewGroup(huh.NewConfirm().
		Title("Create the matching Invicti teams first?").
		Description("Invicti advises giving teams their roles and collections before users arrive: SCIM users get no permissions of their own. Teams: "+strings.Join(step.Groups, ", ")).
		Affirmative("Yes").Negative("No").Value(&yes)))
	return yes, err
}

// WaitForRoles pauses after the teams exist, until the admin has given them roles and
// collections in Invicti (or chooses to do it later).
func WaitForRoles(ctx context.Context, wio IO, teams []string, portal string) error {
	lines := []string{"Now give each team its roles and collections in Invicti:", "  " + portal}
	for _, t := range teams {
		lines = append(lines, "  • "+t)
	}
	lines = append(lines,
		"  Users, teams & roles → Manage teams → the team → role → Select Collections.",
		"  SCIM users get no permissions of their own: they inherit their team's.", "")
	wio.say(lines...)
	done := true
	return run(ctx, wio, huh.NewGroup(huh.NewConfirm().
		Title("Continue?").
		Description("Yes once the roles are given; No to do it later (setup goes on either way).").
		Affirmative("Yes").Negative("Later").Value(&done)))
}

// PickProvision asks which of the assigned users to provision on demand now. candidates are
// UPNs; all are ticked at first. An empty answer provisions nobody now.
func PickProvision(ctx context.Context, wio IO, candidates []string) ([]string, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	picked := append([]string{}, candidates...)
	opts := make([]huh.Option[string], 0, len(candidates))
	for _, c := range candidates {
		opts = append(opts, huh.NewOption(c, c).Selected(true))
	}
	wio.sayAccessible("Entra provisions these on demand now and Invicti is asked for each; untick to wait for the first cycle (20–40 minutes).", multiSelectHowTo)
	err := run(ctx, wio, huh.NewGroup(huh.NewMultiSelect[string]().
		Title("Provision now?").
		Description("Entra provisions these on demand now and Invicti is asked for each; untick to wait for the first cycle (20–40 minutes).").
		Options(opts...).
		Height(min(len(opts)+4, 12)).
		Value(&picked)))
	if err != nil {
		return nil, err
	}
	// Say what was chosen: the frame left on screen shows only the rows that fit its height
	// (12), and accessible mode shows no ticks at all.
	if len(picked) == 0 {
		wio.say("Nobody is provisioned now; Entra's first cycle will.", "")
	} else {
		wio.say("Provisioning now: "+strings.Join(picked, ", "), "")
	}
	return picked, nil
}

// AppChoice is one enterprise app the admin can pick when several match.
type AppChoice struct {
	ID, Label string
}

// NewApp is PickApp's answer for "create a new app instead".
const NewApp = "new"

// PickApp lets the admin pick one of several candidate apps, or a new one.
func PickApp(ctx context.Context, wio IO, title string, apps []AppChoice) (string, error) {
	choice := NewApp
	opts := []huh.Option[string]{}
	for _, a := range apps {
		opts = append(opts, huh.NewOption(a.Label, a.ID))
	}
	opts = append(opts, huh.NewOption("Create a new app (under another name)", NewApp))
	err := run(ctx, wio, huh.NewGroup(huh.NewSelect[string]().
		Title(title).
		Description("Setup never writes into an app you did not choose.").
		Options(opts...).Value(&choice)))
	return choice, err
}

// AppNameChoice answers a --app-name that differs from the app recorded in state.
type AppNameChoice string

// Answers to AskAppName.
const (
	KeepStateApp   AppNameChoice = "keep"
	RenameStateApp AppNameChoice = "rename"
	SecondApp      AppNameChoice = "new"
)

// AskAppName asks what a differing --app-name means.
func AskAppName(ctx context.Context, wio IO, stateName, flagName string) (AppNameChoice, error) {
	c := KeepStateApp
	err := run(ctx, wio, huh.NewGroup(huh.NewSelect[AppNameChoice]().
		Title(fmt.Sprintf("--app-name %q differs from the app this config dir set up (%q)", flagName, stateName)).
		Options(
			huh.NewOption(fmt.Sprintf("Keep using %q", stateName), KeepStateApp),
			huh.NewOption(fmt.Sprintf("Rename it to %q (as --rename does)", flagName), RenameStateApp),
			huh.NewOption(fmt.Sprintf("Create a second app %q (as --new does)", flagName), SecondApp),
		).Value(&c)))
	return c, err
}
