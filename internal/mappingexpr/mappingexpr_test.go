package mappingexpr

import (
	"errors"
	"testing"
)

func TestParseRenderEvaluate(t *testing.T) {
	attrs := map[string]string{"userPrincipalName": "ivan@contoso.example", "givenName": "Ivan", "IsSoftDeleted": "False"}
	get := func(n string) string { return attrs[n] }
	cases := []struct{ in, canon, want string }{
		{"[mail]", "[mail]", ""},
		{"Coalesce([mail],[userPrincipalName])", "Coalesce([mail], [userPrincipalName])", "ivan@contoso.example"},
		{`Switch([IsSoftDeleted], , "False", "True", "True", "False")`, `Switch([IsSoftDeleted], , "False", "True", "True", "False")`, "True"},
		{`Join(" ", [givenName], [surname])`, `Join(" ", [givenName], [surname])`, "Ivan"},
		{`"say \"hi\""`, `"say \"hi\""`, `say "hi"`},
	}
	for _, c := range cases {
		e, err := Parse(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if e.String() != c.canon {
			t.Errorf("%s renders %s", c.in, e.String())
		}
		got, err := e.Evaluate(get)
		if err != nil || got != c.want {
			t.Errorf("%s = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", " ", "[mail", "Coalesce([mail]", "mail", `"open`, "[mail] [x]", "[]"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	e, _ := Parse(`Word([displayName], " ", "1")`)
	var unk *ErrUnknownFunction
	if _, err := e.Evaluate(get); !errors.As(err, &unk) || unk.Name != "Word" {
		t.Errorf("unknown function: %v", err)
	}
	if a := (func() []string { e, _ := Parse("Coalesce([mail], [mail], [userPrincipalName])"); return e.Attributes() })(); len(a) != 2 {
		t.Errorf("attributes: %v", a)
	}
}
