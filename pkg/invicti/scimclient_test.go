package invicti

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

func TestSCIMClientFind(t *testing.T) {
	e := newEmu(t, scimtest.Options{})
	alice := e.srv.AddUser(scimtest.User{UserName: "alice@example.com", DisplayName: "Alice", GivenName: "Alice", FamilyName: "Smith",
		Email: "alice@work.example", ExternalID: "entra-1", Active: true})
	odd := e.srv.AddUser(scimtest.User{UserName: `we"ird\name<&>@example.com`})
	g := e.srv.AddGroup(scimtest.Group{DisplayName: "Team A", MemberIDs: []string{alice.ID, odd.ID}})
	e.srv.AddGroup(scimtest.Group{DisplayName: "Empty"})

	ctx := context.Background()
	c := testChecker().Client(ctx, e.ep, goodCred)

	u, err := c.FindUser(ctx, "ALICE@example.com")
	if err != nil || u == nil {
		t.Fatalf("FindUser = %v, %v", u, err)
	}
	if u.ID != alice.ID || u.UserName != "alice@example.com" || u.DisplayName != "Alice" || u.GivenName != "Alice" ||
		u.FamilyName != "Smith" || u.Email != "alice@work.example" || u.ExternalID != "entra-1" || !u.Active ||
		u.Created == "" || u.LastModified == "" {
		t.Errorf("user = %+v", u)
	}
	if u, err := c.FindUser(ctx, odd.UserName); err != nil || u == nil || u.ID != odd.ID {
		t.Errorf("FindUser(odd) = %+v, %v", u, err)
	}
	if u, err := c.FindUser(ctx, "nobody@example.com"); u != nil || err != nil {
		t.Errorf("FindUser(nobody) = %+v, %v", u, err)
	}
	grp, err := c.FindGroup(ctx, "team a")
	if err != nil || grp == nil || grp.ID != g.ID || grp.DisplayName != "Team A" || strings.Join(grp.Members, ",") != alice.ID+","+odd.ID {
		t.Errorf("FindGroup = %+v, %v", grp, err)
	}
	if grp, err := c.FindGroup(ctx, "Empty"); err != nil || grp == nil || grp.Members == nil || len(grp.Members) != 0 {
		t.Errorf("FindGroup(Empty) = %+v, %v", grp, err)
	}
	if grp, err := c.FindGroup(ctx, "none"); grp != nil || err != nil {
		t.Errorf("FindGroup(none) = %+v, %v", grp, err)
	}
	// One token served every call.
	tokens := 0
	for _, r := range e.srv.Requests() {
		if r.Path == "/oauth/token" {
			tokens++
		}
	}
	if tokens != 1 {
		t.Errorf("%d token requests", tokens)
	}
}

func TestSCIMClientErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(t *testing.T) *SCIMClient
		step  StepName
		kind  ProblemKind
	}{
		{"bad secret", func(t *testing.T) *SCIMClient {
			e := newEmu(t, scimtest.Options{})
			return testChecker().Client(ctx, e.ep, Credentials{ClientID: checkClientID, ClientSecret: "wrong-secret-value"})
		}, StepToken, ProblemInvalidClient},
		{"wrong audience", func(t *testing.T) *SCIMClient {
			e := newEmu(t, scimtest.Options{})
			ep := e.ep
			ep.TokenURL += "x"
			return testChecker().Client(ctx, ep, goodCred)
		}, StepToken, ProblemAudience},
		{"no SCIM", func(t *testing.T) *SCIMClient {
			e := newEmu(t, scimtest.Options{})
			e.srv.SetMode(scimtest.ModeNoSCIM)
			return testChecker().Client(ctx, e.ep, goodCred)
		}, StepUserQuery, ProblemNotFound},
		{"not SCIM", func(t *testing.T) *SCIMClient {
			e := newEmu(t, scimtest.Options{})
			e.srv.SetMode(scimtest.ModeNotSCIM)
			return testChecker().Client(ctx, e.ep, goodCred)
		}, StepUserQuery, ProblemNotSCIM},
		{"forbidden", func(t *testing.T) *SCIMClient {
			e := newEmu(t, scimtest.Options{})
			e.srv.SetMode(scimtest.ModeSCIMForbidden)
			return testChecker().Client(ctx, e.ep, goodCred)
		}, StepUserQuery, ProblemUnauthorized},
		{"DNS", func(t *testing.T) *SCIMClient {
			return testChecker().Client(ctx, EndpointsFor("https://platform.invalid"), goodCred)
		}, StepToken, ProblemDNS},
		{"token endpoint HTML", func(t *testing.T) *SCIMClient {
			checker, ep, cred := handlerCase(func(e *emu) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/html")
					_, _ = w.Write([]byte("<html></html>"))
				})
			})(t)
			return checker.Client(ctx, ep, cred)
		}, StepToken, ProblemUnexpected},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := c.setup(t).FindUser(ctx, "a@b.c")
			var pe *ProblemError
			if u != nil || !errors.As(err, &pe) {
				t.Fatalf("FindUser = %+v, %v", u, err)
			}
			if pe.Step != c.step || pe.Problem.Kind != c.kind || pe.Error() != pe.Problem.Message || pe.Problem.Fix == "" {
				t.Errorf("problem = %+v", pe)
			}
			if strings.Contains(pe.Problem.Message+pe.Problem.Fix, checkSecret) || strings.Contains(pe.Problem.Message, "wrong-secret-value") {
				t.Errorf("secret in %+v", pe.Problem)
			}
		})
	}
}

func TestFilterString(t *testing.T) {
	for in, want := range map[string]string{
		"a@b.c":         `"a@b.c"`,
		`x"y\z`:         `"x\"y\\z"`,
		"<&>":           `"<&>"`,
		"line\nbreak\t": `"line\nbreak\t"`,
	} {
		if got := filterString(in); got != want {
			t.Errorf("filterString(%q) = %s, want %s", in, got, want)
		}
	}
	if got := filterQuery(`userName eq "a b+c@d"`); got != "userName%20eq%20%22a%20b%2Bc%40d%22" {
		t.Errorf("filterQuery = %s", got)
	}
}
