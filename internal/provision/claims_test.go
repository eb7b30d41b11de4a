package provision

import (
	"strings"
	"testing"
)

func TestParseClaims(t *testing.T) {
	ns := "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
	for _, tc := range []struct {
		name    string
		in      []string
		want    []ClaimMapping
		def     bool
		wantErr string
	}{
		{name: "short name", in: []string{"nameidentifier=user.mail"}, want: []ClaimMapping{{ns + "nameidentifier", "user.mail"}}},
		{name: "comma list, repeated flag, sorted, case folded", in: []string{"NameIdentifier=user.Mail, emailaddress=user.userprincipalname", "givenname=user.givenname"},
			want: []ClaimMapping{{ns + "emailaddress", "user.userprincipalname"}, {ns + "givenname", "user.givenname"}, {ns + "nameidentifier", "user.mail"}}},
		{name: "full URI", in: []string{"http://schemas.microsoft.com/identity/claims/employeeid=user.employeeid"},
			want: []ClaimMapping{{"http://schemas.microsoft.com/identity/claims/employeeid", "user.employeeid"}}},
		{name: "default", in: []string{"default"}, def: true},
		{name: "default combined", in: []string{"default", "name=user.mail"}, wantErr: "--claims default cannot be combined"},
		{name: "no equals", in: []string{"nameidentifier"}, wantErr: `--claims "nameidentifier": expected CLAIM=SOURCE`},
		{name: "empty source", in: []string{"name="}, wantErr: `expected CLAIM=SOURCE`},
		{name: "unknown short claim", in: []string{"upn=user.mail"}, wantErr: `unknown claim "upn"`},
		{name: "source without user.", in: []string{"name=mail"}, wantErr: `unknown source "mail"`},
		{name: "unknown attribute", in: []string{"name=user.shoesize"}, wantErr: `unknown source "user.shoesize"`},
		{name: "claim twice", in: []string{"name=user.mail", "name=user.displayname"}, wantErr: "given twice"},
		{name: "empty", in: []string{""}, wantErr: "expected CLAIM=SOURCE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseClaims(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "--claims") {
					t.Errorf("error %q does not name the flag", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Default != tc.def || len(got.Mappings) != len(tc.want) {
				t.Fatalf("got %+v, want default=%v %+v", got, tc.def, tc.want)
			}
			for i := range tc.want {
				if got.Mappings[i] != tc.want[i] {
					t.Errorf("mapping %d = %+v, want %+v", i, got.Mappings[i], tc.want[i])
				}
			}
		})
	}
}

func TestClaimsDefinitionRoundTrip(t *testing.T) {
	spec, err := ParseClaims([]string{"nameidentifier=user.mail,emailaddress=user.mail"})
	if err != nil {
		t.Fatal(err)
	}
	def := ClaimsDefinition(spec.Mappings)
	want := `{"ClaimsMappingPolicy":{"Version":1,"IncludeBasicClaimSet":"true","ClaimsSchema":[` +
		`{"Source":"user","ID":"mail","SamlClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"},` +
		`{"Source":"user","ID":"mail","SamlClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"}]}}`
	if def != want {
		t.Fatalf("definition\n%s\nwant\n%s", def, want)
	}
	back, err := ParseClaimsDefinition(def)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[0] != spec.Mappings[0] || back[1] != spec.Mappings[1] {
		t.Fatalf("round trip = %+v, want %+v", back, spec.Mappings)
	}
	if s := (&ClaimsState{Mappings: back, Policy: "p"}).String(); s != `emailaddress=user.mail, nameidentifier=user.mail (policy "p")` {
		t.Errorf("String() = %q", s)
	}
	if _, err := ParseClaimsDefinition("not json"); err == nil {
		t.Error("a definition that is not JSON parsed")
	}
}
