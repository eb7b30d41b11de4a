package provision

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

func TestParseMappingsRejectsWithTheEntry(t *testing.T) {
	ok := "users:\n  - {target: userName, source: '[userPrincipalName]', matching: 1}\ngroups:\n  - {target: displayName, source: '[displayName]', matching: 1}\n"
	if _, err := ParseMappings([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseMappings([]byte(`{"users":[{"target":"userName","source":"[userPrincipalName]","matching":1}],"groups":[{"target":"displayName","source":"[displayName]","matching":1}]}`)); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	cases := map[string]string{
		"users:\n  - {target: userName, source: '[upn]', matching: 1, extra: 1}\ngroups: []\n":                                                        "field extra not found",
		"users:\n  - {target: userName, source: '[upn]', matching: 1}\n":                                                                              "both a users: and a groups: list",
		"users:\n  - {target: '', source: '[upn]'}\ngroups:\n  - {target: displayName, source: '[displayName]', matching: 1}\n":                       "users[0]: target is empty",
		"users:\n  - {target: a, source: '[x', matching: 1}\ngroups:\n  - {target: displayName, source: '[displayName]', matching: 1}\n":              "users[0] (a): source \"[x\"",
		"users:\n  - {target: a, source: '[x]', matching: 1, flowType: Sometimes}\ngroups:\n  - {target: d, source: '[d]', matching: 1}\n":            "flowType \"Sometimes\"",
		"users:\n  - {target: a, source: '[x]', matching: 1}\n  - {target: a, source: '[y]'}\ngroups:\n  - {target: d, source: '[d]', matching: 1}\n": "users[1] (a): target mapped twice",
		"users:\n  - {target: a, source: '[x]'}\ngroups:\n  - {target: d, source: '[d]', matching: 1}\n":                                              "users: no attribute has matching: 1",
	}
	for in, want := range cases {
		if _, err := ParseMappings([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestDiffMappingsComparesByMeaning(t *testing.T) {
	have := InvictiPreset()
	want := InvictiPreset()
	want.Users[2].Source = "Coalesce( [mail],[userPrincipalName] )" // other spelling, same expression
	want.Users[0].FlowType = "Always"                               // the default, spelled out
	if d := DiffMappings(want, have); len(d) != 0 {
		t.Fatalf("equal mappings differ: %+v", d)
	}
	want.Users = append(want.Users[:1], want.Users[2:]...) // drop active
	want.Groups[1].Source = "[objectId]"
	want.Users = append(want.Users, graph.AttributeMapping{Target: "title", Source: "[jobTitle]", FlowType: "ObjectAddOnly"})
	got := fmt.Sprint(DiffMappings(want, have))
	for _, w := range []string{"{users title add  [jobTitle] (ObjectAddOnly)}", "{users active remove", "{groups members change [members] [objectId]}"} {
		if !strings.Contains(got, w) {
			t.Errorf("diff %s lacks %s", got, w)
		}
	}
}

// fakeMappings serves a schema and a small directory.
type fakeMappings struct {
	users       []graph.AttributeMapping
	assignments []graph.Assignment
	members     map[string][]graph.User
	attrs       map[string]map[string]string
	put         []graph.ObjectMapping
}

func (f *fakeMappings) Schema(context.Context, string, string) (graph.JobSchema, error) {
	return graph.JobSchema{Objects: []graph.ObjectMapping{
		{SourceObject: "User", Attributes: f.users},
		{SourceObject: "Group", Attributes: InvictiPreset().Groups},
	}}, nil
}
func (f *fakeMappings) PutSchema(_ context.Context, _, _ string, _ graph.JobSchema, o []graph.ObjectMapping) error {
	f.put = o
	return nil
}
func (f *fakeMappings) Assignments(context.Context, string) ([]graph.Assignment, error) {
	return f.assignments, nil
}
func (f *fakeMappings) GroupMembers(_ context.Context, id string) ([]graph.User, []graph.Group, error) {
	return f.members[id], nil, nil
}
func (f *fakeMappings) SourceUsers(_ context.Context, ids []string) ([]map[string]string, error) {
	var out []map[string]string
	for _, id := range ids {
		out = append(out, f.attrs[id])
	}
	return out, nil
}

func TestCheckMappingsFindsUsersWithoutMail(t *testing.T) {
	f := &fakeMappings{
		users: []graph.AttributeMapping{
			{Target: "userName", Source: "[userPrincipalName]", Matching: 1},
			{Target: WorkEmailTarget, Source: "[mail]"},
			{Target: "name.givenName", Source: "[givenName]"},
			{Target: "name.familyName", Source: `Word([displayName], " ", "2")`},
		},
		assignments: []graph.Assignment{{PrincipalType: "User", PrincipalID: "u1"}, {PrincipalType: "Group", PrincipalID: "g1"}},
		members:     map[string][]graph.User{"g1": {{ID: "u1"}}},
		attrs:       map[string]map[string]string{"u1": {"userPrincipalName": "ivan@contoso.example", "givenName": "Ivan"}},
	}
	for i := 2; i <= 13; i++ {
		id := fmt.Sprintf("u%d", i)
		f.members["g1"] = append(f.members["g1"], graph.User{ID: id})
		f.attrs[id] = map[string]string{"userPrincipalName": id + "@contoso.example"}
	}
	res, err := CheckMappings(context.Background(), f, "sp", "job")
	if err != nil {
		t.Fatal(err)
	}
	if res.UsersChecked != 13 || res.OK() {
		t.Fatalf("checked %d, ok %v", res.UsersChecked, res.OK())
	}
	mail, given, family := res.Findings[0], res.Findings[1], res.Findings[2]
	if mail.Count != 13 || len(mail.Users) != MaxListed || mail.Users[0] != "ivan@contoso.example" || mail.Fix != "Coalesce([mail], [userPrincipalName])" {
		t.Errorf("mail finding %+v", mail)
	}
	if given.Count != 12 || given.Fix != "" {
		t.Errorf("given-name finding %+v", given)
	}
	if !family.Unpredictable || family.Count != 0 {
		t.Errorf("a function the check cannot evaluate must not be judged: %+v", family)
	}
	fixed, ok := res.Fixed()
	if !ok || fixed.Users[1].Source != "Coalesce([mail], [userPrincipalName])" {
		t.Fatalf("fixed %+v", fixed.Users)
	}
}

func TestEmailFix(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "Coalesce([mail], [userPrincipalName])",
		"[mail]":                        "Coalesce([mail], [userPrincipalName])",
		"Coalesce([mail],[otherMails])": "Coalesce([mail], [otherMails], [userPrincipalName])",
		"ToLower([mail])":               "Coalesce(ToLower([mail]), [userPrincipalName])",
	} {
		if got := emailFix(in); got != want {
			t.Errorf("emailFix(%q) = %q, want %q", in, got, want)
		}
	}
}
