package entratest

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

func TestSAMLSingleSignOn(t *testing.T) {
	tn, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	sp, app := "/servicePrincipals/"+f.spID, "/applications/"+f.appObjID

	// Mode: only the documented values.
	c.call("PATCH", sp, map[string]any{"preferredSingleSignOnMode": "SAML2"}).expect(t, 400, "BadRequest", "Supported values")
	c.call("PATCH", sp, map[string]any{"preferredSingleSignOnMode": "saml"}).expect(t, 204)
	if m := str(c.get(sp+"?$select=preferredSingleSignOnMode").body, "preferredSingleSignOnMode"); m != "saml" {
		t.Fatalf("mode %q", m)
	}

	// URLs: absolute identifiers, https reply URLs, identifiers unique in the tenant.
	c.call("PATCH", app, map[string]any{"web": map[string]any{"redirectUris": []string{"http://invicti.example/acs"}}}).expect(t, 400, "BadRequest", "https")
	c.call("PATCH", app, map[string]any{"identifierUris": []string{"not a uri"}}).expect(t, 400)
	c.call("PATCH", app, map[string]any{"identifierUris": []string{"https://invicti.example/sp"},
		"web": map[string]any{"redirectUris": []string{"https://invicti.example/acs"}}}).expect(t, 204)
	other := c.instantiate("Other")
	c.call("PATCH", "/applications/"+other.appObjID, map[string]any{"identifierUris": []string{"https://invicti.example/sp"}}).
		expect(t, 400, "BadRequest", "identifierUris already exists")
	a := c.get(app + "?$select=identifierUris,web").body
	if str(a, "identifierUris", 0) != "https://invicti.example/sp" || str(a, "web", "redirectUris", 0) != "https://invicti.example/acs" {
		t.Fatalf("app %v", a)
	}

	// Certificate: CN= subject, at most three years, a real certificate whose thumbprint matches.
	add := sp + "/addTokenSigningCertificate"
	c.post(add, map[string]any{"displayName": "Invicti"}).expect(t, 400, "BadRequest", "CN=")
	c.post(add, map[string]any{"displayName": "CN=x", "endDateTime": "2099-01-01T00:00:00Z"}).expect(t, 400, "BadRequest", "three years")
	r := c.post(add, map[string]any{"displayName": "CN=invicti-scim"}).expect(t, 200)
	der, _ := base64.StdEncoding.DecodeString(str(r.body, "key"))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(der)
	tp := strings.ToUpper(hex.EncodeToString(sum[:]))
	if str(r.body, "thumbprint") != tp || cert.Subject.CommonName != "invicti-scim" || cert.NotAfter.Sub(cert.NotBefore).Hours() < 3*365*24 {
		t.Fatalf("certificate %v: thumbprint %s, subject %s, %s–%s", r.body, tp, cert.Subject, cert.NotBefore, cert.NotAfter)
	}
	c.call("PATCH", sp, map[string]any{"preferredTokenSigningKeyThumbprint": "00"}).expect(t, 400)
	c.call("PATCH", sp, map[string]any{"preferredTokenSigningKeyThumbprint": tp}).expect(t, 204)
	s := c.get(sp + "?$select=preferredTokenSigningKeyThumbprint,keyCredentials").body
	if str(s, "preferredTokenSigningKeyThumbprint") != tp || str(s, "keyCredentials", 0, "usage") != "Verify" || get(s, "keyCredentials", 0, "key") != nil {
		t.Fatalf("service principal %v", s)
	}
	cki, _ := base64.StdEncoding.DecodeString(str(s, "keyCredentials", 0, "customKeyIdentifier"))
	if strings.ToUpper(hex.EncodeToString(cki)) != tp {
		t.Fatalf("customKeyIdentifier %x, thumbprint %s", cki, tp)
	}

	// Clearing the mode with null, as a new app has it.
	c.call("PATCH", sp, map[string]any{"preferredSingleSignOnMode": nil}).expect(t, 204)
	if got := tn.SSOSettings(f.spID); got.Mode != "" || got.SigningThumbprint != tp || len(got.SigningCertsExpiry) != 1 {
		t.Fatalf("settings %+v", got)
	}
}

func TestSchemaPut(t *testing.T) {
	_, c := newTenant(t, Options{})
	f := c.setup("Invicti")
	path := "/servicePrincipals/" + f.spID + "/synchronization/jobs/" + f.jobID + "/schema"
	schema := c.get(path).expect(t, 200).raw
	put := func(edit func(users []any) []any) resp {
		var doc map[string]any
		if err := json.Unmarshal(schema, &doc); err != nil {
			t.Fatal(err)
		}
		delete(doc, "@odata.context")
		om := get(doc, "synchronizationRules", 0, "objectMappings", 0).(map[string]any)
		om["attributeMappings"] = edit(om["attributeMappings"].([]any))
		return c.call("PUT", path, doc)
	}
	set := func(target, expression string) func([]any) []any {
		return func(ms []any) []any {
			for _, m := range ms {
				mm := m.(map[string]any)
				if mm["targetAttributeName"] == target {
					mm["source"] = map[string]any{"expression": expression, "type": "Function", "name": "", "parameters": []any{}}
				}
			}
			return ms
		}
	}
	put(set("userName", "[nope]")).expect(t, 400, "BadRequest", "source attribute 'nope' does not exist")
	put(set("userName", "Coalesce([mail]")).expect(t, 400, "BadRequest", "is not valid")
	put(set("userName", "Word([mail], \" \", \"1\")")).expect(t, 400, "BadRequest", "emulator")
	put(func(ms []any) []any {
		return append(ms, map[string]any{"targetAttributeName": "nickname", "source": map[string]any{"expression": "[mail]"}})
	}).expect(t, 400, "BadRequest", "target attribute 'nickname' does not exist")
	put(func(ms []any) []any {
		for _, m := range ms {
			m.(map[string]any)["matchingPriority"] = 0
		}
		return ms
	}).expect(t, 400, "BadRequest", "matching")
	put(set(`emails[type eq "work"].value`, "Coalesce([mail], [userPrincipalName])")).expect(t, 204)
	got := c.get(path).body
	for _, m := range arr(got, "synchronizationRules", 0, "objectMappings", 0, "attributeMappings") {
		if str(m, "targetAttributeName") == `emails[type eq "work"].value` {
			if str(m, "source", "expression") != "Coalesce([mail], [userPrincipalName])" || str(m, "source", "type") != "Function" ||
				str(m, "source", "parameters", 1, "value", "name") != "userPrincipalName" {
				t.Fatalf("saved mapping %v", m)
			}
			return
		}
	}
	t.Fatal("the e-mail mapping is gone")
}
