package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

type fakeDirectory struct {
	users   []graph.User
	groups  []graph.Group
	members map[string][]graph.User
	nested  map[string][]graph.Group
}

func (d *fakeDirectory) SearchUsers(_ context.Context, prefix string, top int) ([]graph.User, error) {
	var out []graph.User
	for _, u := range d.users {
		if strings.HasPrefix(strings.ToLower(u.DisplayName), strings.ToLower(prefix)) && len(out) < top {
			out = append(out, u)
		}
	}
	return out, nil
}

func (d *fakeDirectory) SearchGroups(_ context.Context, prefix string, top int) ([]graph.Group, error) {
	var out []graph.Group
	for _, g := range d.groups {
		if strings.HasPrefix(strings.ToLower(g.DisplayName), strings.ToLower(prefix)) && len(out) < top {
			out = append(out, g)
		}
	}
	return out, nil
}

func (d *fakeDirectory) GroupMembers(_ context.Context, id string) ([]graph.User, []graph.Group, error) {
	return d.members[id], d.nested[id], nil
}

func ptr[T any](v T) *T { return &v }

// TestDirectorySearch: security groups first, then users, each user with the warnings that
// matter (guest, disabled, no mail); Microsoft 365 groups that are not security groups are left
// out because they cannot be assigned.
func TestDirectorySearch(t *testing.T) {
	d := &Directory{Graph: &fakeDirectory{
		groups: []graph.Group{{ID: "g1", DisplayName: "Invicti Users", SecurityEnabled: true}, {ID: "g2", DisplayName: "Invicti Chat", MailEnabled: true}},
		users: []graph.User{
			{ID: "u1", UserPrincipalName: "ivy@contoso.example", DisplayName: "Ivy", Mail: "ivy@contoso.example"},
			{ID: "u2", UserPrincipalName: "ian_fabrikam#EXT#@contoso.example", DisplayName: "Ian", UserType: "Guest", AccountEnabled: ptr(false)},
		},
	}}
	ps, err := d.Search(context.Background(), " i ")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, string(p.Kind)+":"+p.Name+":"+strings.Join(p.Warnings, "|"))
	}
	want := "group:Invicti Users:,user:ivy@contoso.example:,user:ian_fabrikam#EXT#@contoso.example:guest user|disabled: Entra provisions them as inactive|no mail address: Invicti's invitation e-mail cannot reach them"
	if strings.Join(got, ",") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, ","), want)
	}
}

func TestDirectoryGroupFacts(t *testing.T) {
	d := &Directory{Graph: &fakeDirectory{
		members: map[string][]graph.User{"g1": {{UserPrincipalName: "a@x", Mail: "a@x"}, {UserPrincipalName: "b@x", UserType: "Guest", Mail: "b@y"}, {UserPrincipalName: "c@x", AccountEnabled: ptr(false)}}},
		nested:  map[string][]graph.Group{"g1": {{DisplayName: "Inner"}}},
	}}
	f, err := d.Group(context.Background(), "g1")
	if err != nil || f.Members != 3 || f.Guests != 1 || f.Disabled != 1 || f.NoMail != 1 || strings.Join(f.Nested, ",") != "Inner" {
		t.Fatalf("facts %+v, %v", f, err)
	}
	upns, err := d.GroupMemberUPNs(context.Background(), "g1")
	if err != nil || strings.Join(upns, ",") != "a@x,b@x,c@x" {
		t.Fatalf("upns %v, %v", upns, err)
	}
}

type fakeTeams struct {
	existing map[string]bool
	fail     string
	made     []string
}

func (f *fakeTeams) CreateGroup(_ context.Context, name string) (*invicti.SCIMGroup, bool, error) {
	if name == f.fail {
		return nil, false, errors.New("HTTP 403")
	}
	if f.existing[name] {
		return &invicti.SCIMGroup{ID: "old-" + name, DisplayName: name}, false, nil
	}
	f.made = append(f.made, name)
	return &invicti.SCIMGroup{ID: "new-" + name, DisplayName: name}, true, nil
}

// TestCreateTeams: existing teams are reused, new ones created, and the first failure stops
// the step with what was done so far.
func TestCreateTeams(t *testing.T) {
	f := &fakeTeams{existing: map[string]bool{"Admins": true}, fail: "Broken"}
	res, err := CreateTeams(context.Background(), f, []string{"Admins", "Users", "Broken", "Never"})
	if err == nil || !strings.Contains(err.Error(), `"Broken"`) {
		t.Fatalf("err = %v", err)
	}
	if len(res) != 3 || res[0].Created || !res[1].Created || res[2].Error == "" || strings.Join(f.made, ",") != "Users" {
		t.Fatalf("results %+v, made %v", res, f.made)
	}
}

// TestProvisionSubjects: without a narrowing everything assigned (and not failed) is
// provisioned; narrowed, only the picked ones, including a user picked from inside a group.
func TestProvisionSubjects(t *testing.T) {
	ar := &AssignResult{Items: []AssignItem{
		{Input: "alice@x", Type: "user", ID: "u1", Status: StatusAssigned},
		{Input: "Team", Type: "group", ID: "g1", Status: StatusAssigned},
		{Input: "bad@x", Type: "user", Status: StatusFailed},
	}}
	u, g := provisionSubjects(ar, nil, nil)
	if strings.Join(u, ",") != "u1" || strings.Join(g, ",") != "g1" {
		t.Fatalf("all: %v %v", u, g)
	}
	u, g = provisionSubjects(ar, []string{"carol@x"}, nil)
	if strings.Join(u, ",") != "carol@x" || len(g) != 0 {
		t.Fatalf("narrowed: %v %v", u, g)
	}
}
