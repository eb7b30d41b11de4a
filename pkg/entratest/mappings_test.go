package entratest

import (
	"strings"
	"testing"
)

func TestExpressionParseEval(t *testing.T) {
	noMail := User{UserPrincipalName: "ivan@contoso.example", GivenName: "Ivan", AccountEnabled: true}
	withMail := User{UserPrincipalName: "a@contoso.example", Mail: "alice@contoso.example", AccountEnabled: false}
	cases := []struct {
		src        string
		u          User
		want, back string
	}{
		{"[mail]", noMail, "", "[mail]"},
		{"Coalesce([mail], [userPrincipalName])", noMail, "ivan@contoso.example", "Coalesce([mail], [userPrincipalName])"},
		{"Coalesce([mail],[userPrincipalName])", withMail, "alice@contoso.example", "Coalesce([mail], [userPrincipalName])"},
		{defaultActive, withMail, "False", defaultActive},
		{defaultActive, noMail, "True", defaultActive},
		{`Join(" ", [givenName], [surname])`, noMail, "Ivan", `Join(" ", [givenName], [surname])`},
		{`ToLower(Append([givenName], "@x"))`, noMail, "ivan@x", `ToLower(Append([givenName], "@x"))`},
	}
	for _, c := range cases {
		e, err := parseExpr(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if err := e.check(userSourceAttrs); err != nil {
			t.Errorf("%s: check: %v", c.src, err)
		}
		if got := e.eval(userAttr(c.u)); got != c.want {
			t.Errorf("%s on %s = %q, want %q", c.src, c.u.UserPrincipalName, got, c.want)
		}
		if got := e.String(); got != c.back {
			t.Errorf("%s renders as %q", c.src, got)
		}
	}
	for _, bad := range []string{"", "[mail", "Coalesce([mail]", "mail", `"open`, "[mail] x", "Coalesce([mail],, "} {
		if _, err := parseExpr(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	e, _ := parseExpr("Coalesce([nope], [mail])")
	if err := e.check(userSourceAttrs); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown attribute: %v", err)
	}
	e, _ = parseExpr(`Word([mail], " ", "1")`)
	if err := e.check(userSourceAttrs); err == nil || !strings.Contains(err.Error(), "emulator") {
		t.Errorf("unevaluated function: %v", err)
	}
}

func TestDesiredUserFollowsMappings(t *testing.T) {
	u := User{UserPrincipalName: "ivan@contoso.example", GivenName: "Ivan", Surname: "Ivanov", AccountEnabled: true}
	if got := wantEmail(desiredUser(u, defaultUserMappings())); got != "" {
		t.Fatalf("default mapping sent %q for a user without mail", got)
	}
	maps := defaultUserMappings()
	for i := range maps {
		if strings.HasPrefix(maps[i].Target, "emails") {
			maps[i].Source = "Coalesce([mail], [userPrincipalName])"
		}
	}
	if got := wantEmail(desiredUser(u, maps)); got != u.UserPrincipalName {
		t.Fatalf("Coalesce mapping sent %q", got)
	}
}
