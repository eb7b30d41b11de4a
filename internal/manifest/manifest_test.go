package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("manifest.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("manifest.schema.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return s
}

// validate checks YAML text against the JSON Schema (YAML → JSON, as editors do).
func validate(t *testing.T, s *jsonschema.Schema, text string) error {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// Every YAML example in docs/manifest.md (the complete one included) is valid for the schema
// and for the parser.
func TestDocsExamplesValidate(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "manifest.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := compileSchema(t)
	blocks := yamlBlock.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 4 {
		t.Fatalf("docs/manifest.md has %d yaml examples, want at least 4 (smallest, complete, many tenants, sandbox)", len(blocks))
	}
	complete := false
	for i, b := range blocks {
		text := b[1]
		if err := validate(t, s, text); err != nil {
			t.Errorf("example %d does not validate against the schema: %v\n%s", i, err, text)
		}
		if _, err := Parse("example.yaml", []byte(text)); err != nil {
			t.Errorf("example %d does not parse: %v", i, err)
		}
		complete = complete || (strings.Contains(text, "sso:") && strings.Contains(text, "teams:") && strings.Contains(text, "mappings:") && strings.Contains(text, "notifications:"))
	}
	if !complete {
		t.Error("docs/manifest.md has no complete example (sso, teams, mappings and notifications together)")
	}
}

func TestSchemaCopyInDocs(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "manifest.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, Schema) {
		t.Fatal("docs/manifest.schema.json differs from internal/manifest/manifest.schema.json: copy it (cp internal/manifest/manifest.schema.json docs/)")
	}
}

const base = `invicti:
  region: eu
  clientId: abc123
  clientSecret: {env: SECRET}
`

// Bad manifests are refused by the parser with the line and the field, and by the schema too
// (so an editor flags what the tool refuses).
func TestBadManifests(t *testing.T) {
	s := compileSchema(t)
	cases := []struct {
		name, text, want string
		schemaToo        bool
	}{
		{"inline secret", "invicti:\n  region: eu\n  clientId: abc\n  clientSecret: hunter2-secret\n", "m.yaml:4: invicti.clientSecret: the client secret is written inline", true},
		{"inline graph token", base + "graph:\n  token: eyJ0eXAi\n", "m.yaml:6: graph.token: the Graph access token is written inline", true},
		{"unknown key", base + "asignments:\n  users: [a@b.c]\n", "m.yaml:5: asignments: unknown key", true},
		{"region and url", "invicti:\n  region: eu\n  url: https://x.example\n  clientId: abc\n  clientSecret: {env: S}\n", "m.yaml:2: invicti: give region or url, not both", true},
		{"two refs", "invicti:\n  region: eu\n  clientId: abc\n  clientSecret: {env: S, file: f}\n", "invicti.clientSecret: give exactly one of env, file or stdin", true},
		{"bad env name", "invicti:\n  region: eu\n  clientId: abc\n  clientSecret: {env: 'A-B'}\n", `invicti.clientSecret.env: not an environment variable name (letters, digits and _): write the name of the variable that holds the client secret, never the client secret itself`, true},
		{"users not a list", base + "assignments:\n  users: alice@contoso.example\n", "m.yaml:6: assignments.users: expected a list", true},
		{"bad email", base + "notifications:\n  emails: [not-an-address]\n", `m.yaml:6: notifications.emails[0]: "not-an-address" is not a plain e-mail address`, false},
		{"negative threshold", base + "notifications:\n  deletionThreshold: -1\n", "notifications.deletionThreshold: expected 0", true},
		{"start not bool", base + "start: yes please\n", "m.yaml:5: start: expected true or false", true},
		{"mappings both", base + "mappings:\n  preset: invicti\n  file: m.yaml\n", "mappings: give exactly one of preset: invicti or file: PATH", true},
		{"unknown preset", base + "mappings:\n  preset: okta\n", `mappings.preset: unknown preset "okta"`, true},
		{"sso half", base + "sso:\n  identifier: https://x.example/saml\n", "sso: SAML needs both identifier and replyUrl", false},
		{"no invicti", "app:\n  name: X\n", "invicti: missing", false},
		{"tenant without name", base + "tenants:\n  - configDir: x\n", "tenants[0].name: missing", true},
		{"duplicate tenant", base + "tenants:\n  - name: a\n  - name: A\n", `m.yaml:7: tenants[1].name: "A" names two tenants`, false},
		{"duplicate user", base + "assignments:\n  users: [a@b.c, A@b.c]\n", `assignments.users[1]: "A@b.c" is listed twice`, false},
		{"not a mapping", "- a\n- b\n", "m.yaml:1: expected a mapping", true},
		{"shared configDir", base + "tenants:\n  - name: a\n  - name: b\n    configDir: tenants/a\n", `m.yaml:8: tenants[1].configDir: "tenants/a" is another tenant's too`, false},
		{"graph beside tenants", base + "graph:\n  auth: azure-cli\ntenants:\n  - name: a\n", "m.yaml:6: graph: with a tenants: list each tenant signs in on its own", true},
		{"two documents", base + "---\n" + base, "more than one YAML document", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(c.text))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.text)
			}
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("error %T, want *manifest.Error", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error\n  %s\nwant it to contain\n  %s", err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "eyJ0eXAi") {
				t.Fatalf("the error shows the inline secret: %s", err)
			}
			if c.schemaToo && validate(t, s, c.text) == nil && c.name != "two documents" {
				t.Errorf("the schema accepts what the parser refuses:\n%s", c.text)
			}
		})
	}
}

func TestTenantsMerge(t *testing.T) {
	m, err := Parse("t.yaml", []byte(base+`app:
  name: Shared
assignments:
  groups: [Invicti Users]
tenants:
  - name: contoso
    invicti:
      clientSecret: {env: CONTOSO}
  - name: fabrikam
    configDir: /srv/fab
    invicti:
      url: https://invicti.fabrikam.example
    assignments:
      users: [erin@fabrikam.example]
    start: false
`))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Multi || len(m.Tenants) != 2 {
		t.Fatalf("tenants: %+v", m.Tenants)
	}
	c, f := m.Tenants[0], m.Tenants[1]
	if c.Invicti.Region != "eu" || c.Invicti.ClientID != "abc123" || c.Invicti.ClientSecret.Env != "CONTOSO" {
		t.Errorf("contoso's invicti should merge field by field: %+v", c.Invicti)
	}
	if c.ConfigDir != filepath.Join("tenants", "contoso") || f.ConfigDir != "/srv/fab" {
		t.Errorf("configDir: %q, %q", c.ConfigDir, f.ConfigDir)
	}
	if f.Invicti.Region != "" || f.Invicti.URL.Literal != "https://invicti.fabrikam.example" || f.Invicti.ClientSecret.Env != "SECRET" {
		t.Errorf("fabrikam's url replaces the region, its secret is the default: %+v", f.Invicti)
	}
	if c.AppName != "Shared" || len(c.Assignments.Groups) != 1 || len(c.Assignments.Users) != 0 {
		t.Errorf("contoso inherits app and assignments: %+v", c.Config)
	}
	if len(f.Assignments.Users) != 1 || len(f.Assignments.Groups) != 0 || f.Start == nil || *f.Start {
		t.Errorf("fabrikam's assignments and start replace the defaults: %+v", f.Config)
	}
	if m.Hash == "" || len(m.Hash) != 64 {
		t.Errorf("hash %q", m.Hash)
	}
}

// The hash is of the file's bytes: the same file hashes the same; any edit changes it.
func TestHash(t *testing.T) {
	a, err := Parse("a.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Parse("b.yaml", []byte(base))
	c, _ := Parse("c.yaml", []byte(base+"start: false\n"))
	if a.Hash != b.Hash || a.Hash == c.Hash {
		t.Fatalf("hashes %s %s %s", a.Hash, b.Hash, c.Hash)
	}
	if a.Tenants[0].AppName != DefaultAppName || a.Tenants[0].ConfigDir != "" {
		t.Fatalf("single tenant defaults: %+v", a.Tenants[0])
	}
}
