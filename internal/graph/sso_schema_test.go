package graph

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

// The SSO and schema calls against the emulated tenant: the bodies the SDK builds are the ones
// Graph documents (the emulator refuses unknown properties), and a schema PUT keeps the parts
// of the schema the tool does not model.
func TestSSOAndSchemaAgainstEmulator(t *testing.T) {
	ctx := context.Background()
	tn := entratest.New(entratest.Options{})
	defer tn.Close()
	c, err := New(Options{RootURL: tn.URL, Credential: StaticToken(tn.Token())})
	if err != nil {
		t.Fatal(err)
	}
	created, err := c.Instantiate(ctx, tn.TemplateID(), "Invicti")
	if err != nil {
		t.Fatal(err)
	}
	spID := created.ServicePrincipal.ID

	if err := c.SetSSOMode(ctx, spID, "saml"); err != nil {
		t.Fatal(err)
	}
	urls := AppSAML{IdentifierURIs: []string{"https://platform.invicti.com/sp"}, RedirectURIs: []string{"https://platform.invicti.com/acs"}}
	if err := c.SetApplicationSAML(ctx, created.ApplicationID, urls); err != nil {
		t.Fatal(err)
	}
	cert, err := c.AddTokenSigningCertificate(ctx, spID, "CN=test", time.Now().AddDate(1, 0, 0))
	if err != nil || len(cert.Thumbprint) != 40 || len(cert.DER) == 0 || cert.End.Before(time.Now().AddDate(0, 11, 0)) {
		t.Fatalf("certificate %+v, %v", cert.SigningKey, err)
	}
	if err := c.SetSigningThumbprint(ctx, spID, cert.Thumbprint); err != nil {
		t.Fatal(err)
	}
	sso, err := c.ServicePrincipalSSO(ctx, spID)
	if err != nil || sso.Mode != "saml" || sso.Thumbprint != cert.Thumbprint || len(sso.Keys) != 1 || sso.Keys[0].Thumbprint != cert.Thumbprint {
		t.Fatalf("sso %+v, %v", sso, err)
	}
	app, err := c.ApplicationSAML(ctx, created.ApplicationID)
	if err != nil || app.IdentifierURIs[0] != urls.IdentifierURIs[0] || app.RedirectURIs[0] != urls.RedirectURIs[0] {
		t.Fatalf("app %+v, %v", app, err)
	}
	if err := c.SetSSOMode(ctx, spID, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.SetApplicationSAML(ctx, created.ApplicationID, AppSAML{}); err != nil {
		t.Fatal(err)
	}
	if s := tn.SSOSettings(spID); s.Mode != "" || len(s.IdentifierURIs) != 0 || len(s.RedirectURIs) != 0 {
		t.Fatalf("after clearing: %+v", s)
	}

	job, err := c.CreateJob(ctx, spID, "scim")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Schema(ctx, spID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	users, ok := s.Object("User")
	if !ok || s.RuleID == "" {
		t.Fatalf("schema %+v", s)
	}
	for i, a := range users.Attributes {
		if strings.HasPrefix(a.Target, "emails") {
			users.Attributes[i].Source = "Coalesce([mail],[userPrincipalName])"
		}
	}
	if err := c.PutSchema(ctx, spID, job.ID, s, []ObjectMapping{users}); err != nil {
		t.Fatal(err)
	}
	again, err := c.Schema(ctx, spID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	u2, _ := again.Object("User")
	g2, _ := again.Object("Group")
	gs, _ := s.Object("Group")
	if len(u2.Attributes) != len(users.Attributes) || len(g2.Attributes) != len(gs.Attributes) {
		t.Fatalf("mappings changed size: %d/%d users, %d/%d groups", len(u2.Attributes), len(users.Attributes), len(g2.Attributes), len(gs.Attributes))
	}
	for _, a := range u2.Attributes {
		if strings.HasPrefix(a.Target, "emails") && a.Source != "Coalesce([mail], [userPrincipalName])" {
			t.Fatalf("e-mail source %q", a.Source)
		}
	}
	if err := c.PutSchema(ctx, spID, job.ID, s, []ObjectMapping{{SourceObject: "Device"}}); err == nil {
		t.Fatal("a PUT for an object the schema lacks went through")
	}

	attrs, err := c.SourceUsers(ctx, []string{entratest.DefaultAdminUPN})
	if err != nil || attrs[0]["userPrincipalName"] != entratest.DefaultAdminUPN || attrs[0]["objectId"] == "" || attrs[0]["givenName"] != "Contoso" {
		t.Fatalf("source users %v, %v", attrs, err)
	}
}
