package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// DirectoryGraph is what the wizard's "who gets access" step reads (implemented by
// *graph.Client).
type DirectoryGraph interface {
	SearchUsers(ctx context.Context, prefix string, top int) ([]graph.User, error)
	SearchGroups(ctx context.Context, prefix string, top int) ([]graph.Group, error)
	GroupMembers(ctx context.Context, groupID string) ([]graph.User, []graph.Group, error)
}

// PrincipalKind says whether a Principal is a user or a group.
type PrincipalKind string

// Principal kinds.
const (
	PrincipalUser  PrincipalKind = "user"
	PrincipalGroup PrincipalKind = "group"
)

// Principal is a user or security group the admin may give access, in plain words.
type Principal struct {
	Kind PrincipalKind
	ID   string
	// Name is the UPN for a user and the display name for a group: what --assign-user and
	// --assign-group take.
	Name string
	// Label is one line for a picker: display name, UPN or "security group".
	Label string
	// Warnings are what the admin should know before choosing it (guest, disabled, no mail).
	Warnings []string
	// Refused says why it cannot be assigned (UserRefusal); "" when it can.
	Refused string
}

// Directory searches the tenant for the wizard.
type Directory struct{ Graph DirectoryGraph }

// SearchPageSize is how many users and how many groups one search returns at most.
const SearchPageSize = 50

// Search returns the security groups, then the users, whose name starts with prefix (all of
// them up to SearchPageSize each when prefix is empty). Graph filters; nothing is fetched
// whole.
func (d *Directory) Search(ctx context.Context, prefix string) ([]Principal, error) {
	prefix = strings.TrimSpace(prefix)
	gs, err := d.Graph.SearchGroups(ctx, prefix, SearchPageSize)
	if err != nil {
		return nil, fmt.Errorf("search groups: %w", err)
	}
	us, err := d.Graph.SearchUsers(ctx, prefix, SearchPageSize)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	var out []Principal
	for _, g := range gs {
		if !g.SecurityEnabled {
			continue // Entra assigns security groups to apps
		}
		out = append(out, Principal{Kind: PrincipalGroup, ID: g.ID, Name: g.DisplayName, Label: g.DisplayName + " (security group)"})
	}
	for _, u := range us {
		out = append(out, Principal{Kind: PrincipalUser, ID: u.ID, Name: u.UserPrincipalName, Label: userLabel(u), Warnings: UserWarnings(u), Refused: UserRefusal(u)})
	}
	return out, nil
}

func userLabel(u graph.User) string {
	if u.DisplayName != "" && u.DisplayName != u.UserPrincipalName {
		return u.DisplayName + " <" + u.UserPrincipalName + ">"
	}
	return u.UserPrincipalName
}

// UserWarnings says what may keep a user out of Invicti or surprise the admin: Invicti's
// userName and e-mail come from the user's mail in the default mappings, and disabled users are
// provisioned as inactive.
func UserWarnings(u graph.User) []string {
	var w []string
	if strings.EqualFold(u.UserType, "Guest") {
		w = append(w, "guest user")
	}
	if u.AccountEnabled != nil && !*u.AccountEnabled {
		w = append(w, "disabled: Entra provisions them as inactive")
	}
	if u.Mail == "" {
		w = append(w, "no mail address: Invicti's invitation e-mail cannot reach them")
	}
	return w
}

// GroupFacts is what the wizard says about a chosen group before it is assigned.
type GroupFacts struct {
	Members int // direct user members: the ones Entra provisions
	// Nested are groups inside it; Entra does not provision their members.
	Nested []string
	// Guests, Disabled and NoMail count members with each warning.
	Guests, Disabled, NoMail int
}

// Group reads a group's direct members and sums up the warnings.
func (d *Directory) Group(ctx context.Context, groupID string) (GroupFacts, error) {
	us, nested, err := d.Graph.GroupMembers(ctx, groupID)
	if err != nil {
		return GroupFacts{}, fmt.Errorf("list the members of group %s: %w", groupID, err)
	}
	f := GroupFacts{Members: len(us)}
	for _, g := range nested {
		f.Nested = append(f.Nested, g.DisplayName)
	}
	for _, u := range us {
		if strings.EqualFold(u.UserType, "Guest") {
			f.Guests++
		}
		if u.AccountEnabled != nil && !*u.AccountEnabled {
			f.Disabled++
		}
		if u.Mail == "" {
			f.NoMail++
		}
	}
	return f, nil
}

// GroupMemberUPNs lists the user principal names of a group's direct members, for picking whom
// to provision now.
func (d *Directory) GroupMemberUPNs(ctx context.Context, groupID string) ([]string, error) {
	us, _, err := d.Graph.GroupMembers(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("list the members of group %s: %w", groupID, err)
	}
	out := make([]string, 0, len(us))
	for _, u := range us {
		out = append(out, u.UserPrincipalName)
	}
	return out, nil
}

// TeamResult is one Invicti team the wizard asked for.
type TeamResult struct {
	Name    string `json:"name"`
	ID      string `json:"id,omitempty"`
	Created bool   `json:"created"` // false: it existed already (reused)
	Error   string `json:"error,omitempty"`
}

// TeamCreator creates Invicti teams (implemented by *invicti.SCIMClient).
type TeamCreator interface {
	CreateGroup(ctx context.Context, displayName string) (*invicti.SCIMGroup, bool, error)
}

// CreateTeams creates an Invicti team named like each Entra group, so Entra links them by
// displayName when it provisions the group, and the admin can give each team its roles and
// collections before any user arrives (Invicti's "teams first" advice). A team that exists is
// reused. It stops at the first failure and returns what it did so far with the error.
func CreateTeams(ctx context.Context, scim TeamCreator, names []string) ([]TeamResult, error) {
	var out []TeamResult
	for _, n := range names {
		g, created, err := scim.CreateGroup(ctx, n)
		if err != nil {
			out = append(out, TeamResult{Name: n, Error: err.Error()})
			return out, fmt.Errorf("create the Invicti team %q: %w", n, err)
		}
		out = append(out, TeamResult{Name: n, ID: g.ID, Created: created})
	}
	return out, nil
}

// InvictiConn is the Invicti side the wizard's later steps talk to: the direct check, team
// creation and the per-user proof after provisioning.
type InvictiConn struct {
	Checker     *Invicti
	Endpoints   invicti.Endpoints
	Credentials invicti.Credentials
}

// SCIM returns a SCIM client with the connection's credentials; ctx must outlive it (its
// token requests use it).
func (c InvictiConn) SCIM(ctx context.Context) *invicti.SCIMClient {
	return c.Checker.c.Client(ctx, c.Endpoints, c.Credentials)
}

// DirectCheck returns the direct check as the wizard's credentials step runs it: before is
// called with the base URL and the credentials about to be tried (to start a spinner and to
// teach the redactor the secret), after when the check ends. It returns the first problem, nil
// when Invicti answered as Entra expects.
func DirectCheck(c *Invicti, before func(baseURL, clientID, secret string), after func()) func(context.Context, invicti.Endpoints, invicti.Credentials) *invicti.Problem {
	return func(ctx context.Context, ep invicti.Endpoints, cred invicti.Credentials) *invicti.Problem {
		before(ep.BaseURL, cred.ClientID, cred.ClientSecret)
		defer after()
		return c.Check(ctx, ep, cred).Problem()
	}
}

// CandidateFacts is what the wizard shows about an app the admin may pick: when it was made
// and whether it has a provisioning job already.
type CandidateFacts struct {
	Created string // date (YYYY-MM-DD) or ""
	HasJob  bool
	// Unknown says the facts could not be read (the list still shows the app).
	Unknown bool
}

// CandidateGraph is what DescribeCandidate reads (implemented by *graph.Client).
type CandidateGraph interface {
	ApplicationByAppID(ctx context.Context, appID string) (graph.Application, error)
	Jobs(ctx context.Context, spID string) ([]graph.Job, error)
}

// DescribeCandidate reads an app's creation date and whether it has a provisioning job.
func DescribeCandidate(ctx context.Context, g CandidateGraph, c Candidate) CandidateFacts {
	var f CandidateFacts
	app, err := g.ApplicationByAppID(ctx, c.AppID)
	if err != nil {
		f.Unknown = true
	} else if len(app.CreatedDateTime) >= len("2006-01-02") {
		f.Created = app.CreatedDateTime[:len("2006-01-02")]
	}
	jobs, err := g.Jobs(ctx, c.ServicePrincipalID)
	if err != nil {
		f.Unknown = true
	}
	f.HasJob = len(jobs) > 0
	return f
}
