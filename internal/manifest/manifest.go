// Package manifest reads invicti-scim.yaml, the declarative description of what one or many
// Entra tenants should look like (docs/manifest.md): the Invicti side (region or URL, client
// id, the secret by reference only), the enterprise app, assignments, Invicti teams,
// notifications, SSO, attribute mappings and whether to start provisioning. It parses and
// validates only: no network, no environment, no secrets (the references are resolved by the
// use case in internal/reconcile). Every error names the file, the line and the field.
package manifest

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // the JSON Schema ships in the binary for `invicti-scim manifest schema`
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// Schema is the manifest's JSON Schema (draft 2020-12), the same file as
// docs/manifest.schema.json (TestSchemaCopyInDocs keeps them equal).
//
//go:embed manifest.schema.json
var Schema []byte

// MaxFileBytes bounds the manifest: a few hundred tenants with their assignments fit easily.
const MaxFileBytes = 4 << 20

// Ref is a value given by reference, never inline: an environment variable, a file (relative
// paths are relative to the manifest's directory) or standard input.
type Ref struct {
	Env   string `json:"env,omitempty"`
	File  string `json:"file,omitempty"`
	Stdin bool   `json:"stdin,omitempty"`
	// Field and Line say where the reference is written, for messages.
	Field string `json:"-"`
	Line  int    `json:"-"`
}

// String describes the reference without its value, e.g. "env INVICTI_SCIM_CLIENT_SECRET".
func (r Ref) String() string {
	switch {
	case r.Env != "":
		return "env " + r.Env
	case r.File != "":
		return "file " + r.File
	case r.Stdin:
		return "stdin"
	}
	return "nothing"
}

// Value is a string given either inline or as {env: NAME} (URLs of emulated or per-machine
// endpoints, such as the sandbox's, which change from run to run).
type Value struct {
	Literal string
	Env     string
	Field   string
	Line    int
}

// Set reports whether a value was given at all.
func (v Value) Set() bool { return v.Literal != "" || v.Env != "" }

// Invicti is the Invicti Platform side: exactly one of Region and URL, the client id, and the
// client secret by reference.
type Invicti struct {
	Region       string
	URL          Value
	ClientID     string
	ClientSecret Ref
	Line         int
}

// Assignments are the users (UPN, mail or object id) and groups (display name or object id)
// assigned to the app. Anything else assigned is removed by `apply --prune` only.
type Assignments struct {
	Users  []string
	Groups []string
}

// Notifications are Entra's failure e-mails and the accidental-deletions threshold (0 = off).
type Notifications struct {
	Emails            []string
	DeletionThreshold *int
}

// SSO turns SAML single sign-on on with Invicti's Identifier and Reply URL, or off.
type SSO struct {
	Enabled    bool
	Identifier string
	ReplyURL   string
}

// Mappings selects the attribute mappings: the built-in preset ("invicti") or a file in
// docs/mappings.md's format (relative to the manifest's directory).
type Mappings struct {
	Preset string
	File   string
	Line   int
}

// Config is what one tenant should look like. A nil field is not managed by the manifest.
type Config struct {
	Invicti       *Invicti
	AppName       string
	Assignments   *Assignments
	Teams         []string
	TeamsSet      bool
	Notifications *Notifications
	SSO           *SSO
	Mappings      *Mappings
	Start         *bool
}

// Graph says how to reach and sign in to one tenant's Microsoft Graph. Empty fields fall back
// to the command's environment (INVICTI_SCIM_GRAPH_TOKEN, INVICTI_SCIM_GRAPH_URL, AZURE_*).
type Graph struct {
	Tenant string // tenant id or domain
	Cloud  string // global, usgov, china
	URL    Value  // Graph root override (the sandbox's, for example)
	Auth   string // token, environment, azure-cli, browser, device-code
	Token  *Ref   // a ready Graph access token, by reference
}

// Tenant is one tenant of a manifest with its effective configuration (the top level's,
// with what the tenant entry sets replacing it key by key).
type Tenant struct {
	Name string
	// ConfigDir is where this tenant's state lives: relative to the command's config dir
	// ("tenants/NAME" by default), or absolute. "" for a single-tenant manifest: the config
	// dir itself.
	ConfigDir string
	Graph     Graph
	Config
	Line int
}

// Manifest is a parsed, validated manifest.
type Manifest struct {
	Path string
	// Hash is the SHA-256 of the file's bytes (hex): what state records as applied.
	Hash string
	// Tenants holds one entry without a name for a manifest with no tenants: list.
	Tenants []Tenant
	// Multi says the manifest has a tenants: list.
	Multi bool
}

// Dir is the directory relative references are resolved against: the manifest's own, or the
// working directory for a manifest read from standard input.
func (m *Manifest) Dir() string {
	if m.Path == StdinName {
		return "."
	}
	return filepath.Dir(m.Path)
}

// StdinName is the Path of a manifest read from standard input (-f -), as messages name it.
const StdinName = "<stdin>"

// Error is a manifest that cannot be used: each problem names the file, line and field. The
// CLI exits 2.
type Error struct {
	Path     string
	Problems []Problem
}

// Problem is one finding.
type Problem struct {
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("\n")
		}
		if p.Line > 0 {
			fmt.Fprintf(&b, "%s:%d: ", e.Path, p.Line)
		} else {
			fmt.Fprintf(&b, "%s: ", e.Path)
		}
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Hint points at the reference.
func (e *Error) Hint() string {
	return "the manifest's format: docs/manifest.md, or `invicti-scim manifest schema` for the JSON Schema"
}

// Load reads and validates the manifest at path.
func Load(path string) (*Manifest, error) {
	fh, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{Path: path, Problems: []Problem{{Msg: "cannot read the manifest: " + err.Error() + "; pass -f with the path of your invicti-scim.yaml"}}}
	}
	defer fh.Close()
	return Read(path, fh)
}

// Read reads (at most MaxFileBytes) and validates a manifest from r; path names it in
// messages and anchors its relative references (StdinName for standard input).
func Read(path string, r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, &Error{Path: path, Problems: []Problem{{Msg: "cannot read the manifest: " + err.Error()}}}
	}
	if len(data) > MaxFileBytes {
		return nil, &Error{Path: path, Problems: []Problem{{Msg: fmt.Sprintf("larger than %d MiB, more than a manifest can hold", MaxFileBytes>>20)}}}
	}
	return Parse(path, data)
}

// Parse validates data as the manifest at path.
func Parse(path string, data []byte) (*Manifest, error) {
	sum := sha256.Sum256(data)
	m := &Manifest{Path: path, Hash: hex.EncodeToString(sum[:])}
	p := &parser{path: path}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, &Error{Path: path, Problems: []Problem{{Msg: "not UTF-8 text; save the file as UTF-8"}}}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Path: path, Problems: []Problem{{Msg: "the file is empty; start from the example in docs/manifest.md"}}}
		}
		msg := yamlLineRE().ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "")
		return nil, &Error{Path: path, Problems: []Problem{{Line: yamlErrLine(err), Msg: "not valid YAML: " + strings.TrimPrefix(msg, ": ")}}}
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		return nil, &Error{Path: path, Problems: []Problem{{Line: extra.Line, Msg: "more than one YAML document; a manifest is one document (remove the ---)"}}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	top := p.mapping(root, "", topKeys)
	if top == nil {
		return nil, p.err()
	}
	base := p.config(top, "")
	if tn, ok := top["tenants"]; ok {
		if gn, ok := top["graph"]; ok {
			p.add(gn, "graph", "with a tenants: list each tenant signs in on its own: move graph: under each tenant")
		}
		m.Multi = true
		m.Tenants = p.tenants(tn, base)
	} else {
		if _, ok := top["graph"]; ok {
			m.Tenants = []Tenant{{Config: base, Graph: p.graph(top["graph"], "graph"), Line: 1}}
		} else {
			m.Tenants = []Tenant{{Config: base, Line: 1}}
		}
	}
	for i := range m.Tenants {
		p.complete(&m.Tenants[i], m.Multi)
	}
	if len(p.problems) > 0 {
		return nil, p.err()
	}
	return m, nil
}

// Compiled on first use, not at start-up (docs/performance.md, "Start-up").
var yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^line (\d+)`) })

func yamlErrLine(err error) int {
	if m := yamlLineRE().FindStringSubmatch(strings.TrimPrefix(err.Error(), "yaml: ")); m != nil {
		n := 0
		fmt.Sscanf(m[1], "%d", &n) //nolint:errcheck // digits only
		return n
	}
	return 0
}

var (
	configKeys  = []string{"invicti", "app", "assignments", "teams", "notifications", "sso", "mappings", "start"}
	topKeys     = append(append([]string{}, configKeys...), "tenants", "graph")
	tenantKeys  = append(append([]string{}, configKeys...), "name", "configDir", "graph")
	invictiKeys = []string{"region", "url", "clientId", "clientSecret"}
	graphKeys   = []string{"tenant", "cloud", "url", "auth", "token"}
)

type parser struct {
	path     string
	problems []Problem
}

// reported says whether field already has a problem (so "missing" does not follow "inline").
func (p *parser) reported(field string) bool {
	for _, q := range p.problems {
		if q.Field == field || strings.HasSuffix(q.Field, "."+field) {
			return true
		}
	}
	return false
}

func (p *parser) err() error { return &Error{Path: p.path, Problems: p.problems} }

func (p *parser) add(n *yaml.Node, field, format string, a ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.problems = append(p.problems, Problem{Line: line, Field: field, Msg: fmt.Sprintf(format, a...)})
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// mapping reads a mapping node, refusing unknown and repeated keys.
func (p *parser) mapping(n *yaml.Node, field string, allowed []string) map[string]*yaml.Node {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		what := field
		if what == "" {
			what = "the manifest"
		}
		p.add(n, field, "expected a mapping (key: value lines), got %s; see docs/manifest.md for %s", kindName(n), what)
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if _, dup := out[key]; dup {
			p.add(k, join(field, key), "given twice; keep one")
			continue
		}
		known := false
		for _, a := range allowed {
			known = known || a == key
		}
		if !known {
			p.add(k, join(field, key), "unknown key; expected one of %s", strings.Join(allowed, ", "))
			continue
		}
		out[key] = v
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.add(n, field, "expected a text value, got %s", kindName(n))
		return "", false
	}
	v := n.Value
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		p.add(n, field, "contains a control character; remove it")
		return "", false
	}
	if strings.TrimSpace(v) == "" {
		p.add(n, field, "is empty; give a value or remove the key")
		return "", false
	}
	return strings.TrimSpace(v), true
}

func (p *parser) list(n *yaml.Node, field string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return []string{}
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n, field, "expected a list ([a, b] or one \"- item\" per line), got %s", kindName(n))
		return nil
	}
	out := []string{}
	seen := map[string]bool{}
	for i, it := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		s, ok := p.str(it, f)
		if !ok {
			continue
		}
		if seen[strings.ToLower(s)] {
			p.add(it, f, "%q is listed twice; keep one", s)
			continue
		}
		seen[strings.ToLower(s)] = true
		out = append(out, s)
	}
	return out
}

func (p *parser) boolean(n *yaml.Node, field string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", true
	}
	p.add(n, field, "expected true or false, got %s", kindName(n))
	return false, false
}

func (p *parser) config(mp map[string]*yaml.Node, prefix string) Config {
	var c Config
	if n, ok := mp["invicti"]; ok {
		c.Invicti = p.invicti(n, join(prefix, "invicti"))
	}
	if n, ok := mp["app"]; ok {
		if am := p.mapping(n, join(prefix, "app"), []string{"name"}); am != nil {
			if nn, ok := am["name"]; ok {
				f := join(prefix, "app.name")
				if s, ok := p.str(nn, f); ok {
					if len(s) > 256 {
						p.add(nn, f, "is %d characters long; at most 256 are allowed", len(s))
					}
					c.AppName = s
				}
			}
		}
	}
	if n, ok := mp["assignments"]; ok {
		f := join(prefix, "assignments")
		if am := p.mapping(n, f, []string{"users", "groups"}); am != nil {
			a := &Assignments{Users: []string{}, Groups: []string{}}
			if un, ok := am["users"]; ok {
				a.Users = p.list(un, f+".users")
				for i, u := range a.Users {
					if !strings.Contains(u, "@") && !guidRE().MatchString(u) {
						p.add(un.Content[min(i, len(un.Content)-1)], fmt.Sprintf("%s.users[%d]", f, i), "%q is neither a user principal name (name@domain) nor an object id", u)
					}
				}
			}
			if gn, ok := am["groups"]; ok {
				a.Groups = p.list(gn, f+".groups")
			}
			c.Assignments = a
		}
	}
	if n, ok := mp["teams"]; ok {
		c.Teams, c.TeamsSet = p.list(n, join(prefix, "teams")), true
	}
	if n, ok := mp["notifications"]; ok {
		f := join(prefix, "notifications")
		if nm := p.mapping(n, f, []string{"emails", "deletionThreshold"}); nm != nil {
			nt := &Notifications{}
			if en, ok := nm["emails"]; ok {
				nt.Emails = p.list(en, f+".emails")
				for i, e := range nt.Emails {
					a, err := mail.ParseAddress(e)
					if err != nil || a.Address != e || strings.ContainsAny(e, ";,") {
						p.add(en.Content[min(i, len(en.Content)-1)], fmt.Sprintf("%s.emails[%d]", f, i), "%q is not a plain e-mail address (name@example.com); one address per item", e)
					}
				}
			}
			if tn, ok := nm["deletionThreshold"]; ok {
				var v int
				if tn.Kind != yaml.ScalarNode || tn.Tag != "!!int" || tn.Decode(&v) != nil || v < 0 {
					p.add(tn, f+".deletionThreshold", "expected 0 (the guard off) or a positive number of deletions, got %s", kindName(tn))
				} else {
					nt.DeletionThreshold = &v
				}
			}
			c.Notifications = nt
		}
	}
	if n, ok := mp["sso"]; ok {
		f := join(prefix, "sso")
		if sm := p.mapping(n, f, []string{"enabled", "identifier", "replyUrl"}); sm != nil {
			s := &SSO{Enabled: true}
			if en, ok := sm["enabled"]; ok {
				s.Enabled, _ = p.boolean(en, f+".enabled")
			}
			if in, ok := sm["identifier"]; ok {
				s.Identifier, _ = p.str(in, f+".identifier")
			}
			if rn, ok := sm["replyUrl"]; ok {
				s.ReplyURL, _ = p.str(rn, f+".replyUrl")
			}
			if s.Enabled && (s.Identifier == "" || s.ReplyURL == "") {
				p.add(n, f, "SAML needs both identifier and replyUrl (Invicti: Settings → SSO & provisioning), or enabled: false to turn it off")
			}
			c.SSO = s
		}
	}
	if n, ok := mp["mappings"]; ok {
		f := join(prefix, "mappings")
		if mm := p.mapping(n, f, []string{"preset", "file"}); mm != nil {
			mp := &Mappings{Line: n.Line}
			if pn, ok := mm["preset"]; ok {
				if s, ok := p.str(pn, f+".preset"); ok {
					if s != "invicti" {
						p.add(pn, f+".preset", "unknown preset %q; expected invicti, or file: PATH for your own mappings", s)
					}
					mp.Preset = s
				}
			}
			if fn, ok := mm["file"]; ok {
				mp.File, _ = p.str(fn, f+".file")
			}
			if (mp.Preset == "") == (mp.File == "") {
				p.add(n, f, "give exactly one of preset: invicti or file: PATH")
			}
			c.Mappings = mp
		}
	}
	if n, ok := mp["start"]; ok {
		if b, ok := p.boolean(n, join(prefix, "start")); ok {
			c.Start = &b
		}
	}
	return c
}

var guidRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
})

var envNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// ref reads {env: NAME} | {file: PATH} | {stdin: true}; an inline string is refused with the
// fix, since a secret in a file that goes into version control is a leaked secret.
func (p *parser) ref(n *yaml.Node, field, what, example string) *Ref {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		p.add(n, field, "the %s is written inline; a secret never goes in the manifest (it ends up in version control and backups). Reference it instead: %s: {env: %s}, {file: PATH} or {stdin: true}", what, field[strings.LastIndex(field, ".")+1:], example)
		return nil
	}
	m := p.mapping(n, field, []string{"env", "file", "stdin"})
	if m == nil {
		return nil
	}
	r := &Ref{Field: field, Line: n.Line}
	count := 0
	if en, ok := m["env"]; ok {
		count++
		if s, ok := p.str(en, field+".env"); ok {
			if !envNameRE().MatchString(s) {
				// Not echoed: what stands here by mistake is usually the secret itself.
				p.add(en, field+".env", "not an environment variable name (letters, digits and _): write the name of the variable that holds the %s, never the %s itself", what, what)
			}
			r.Env = s
		}
	}
	if fn, ok := m["file"]; ok {
		count++
		r.File, _ = p.str(fn, field+".file")
	}
	if sn, ok := m["stdin"]; ok {
		count++
		if b, ok := p.boolean(sn, field+".stdin"); ok {
			if !b {
				p.add(sn, field+".stdin", "only stdin: true means something; use env or file instead")
			}
			r.Stdin = b
		}
	}
	if count != 1 {
		p.add(n, field, "give exactly one of env, file or stdin")
		return nil
	}
	return r
}

func (p *parser) value(n *yaml.Node, field string) Value {
	v := Value{Field: field, Line: n.Line}
	if n.Kind == yaml.MappingNode {
		m := p.mapping(n, field, []string{"env"})
		if en, ok := m["env"]; ok {
			v.Env, _ = p.str(en, field+".env")
			if v.Env != "" && !envNameRE().MatchString(v.Env) {
				p.add(en, field+".env", "%q is not an environment variable name (letters, digits and _)", v.Env)
			}
		} else if m != nil {
			p.add(n, field, "expected a URL or {env: NAME}")
		}
		return v
	}
	v.Literal, _ = p.str(n, field)
	return v
}

func (p *parser) invicti(n *yaml.Node, field string) *Invicti {
	m := p.mapping(n, field, invictiKeys)
	if m == nil {
		return nil
	}
	in := &Invicti{Line: n.Line}
	if rn, ok := m["region"]; ok {
		if s, ok := p.str(rn, field+".region"); ok {
			if _, known := invicti.LookupRegion(s); !known {
				p.add(rn, field+".region", "unknown region %q; expected us, eu or ca, or url: https://HOST for an on-premises or private tenant", s)
			}
			in.Region = s
		}
	}
	if un, ok := m["url"]; ok {
		in.URL = p.value(un, field+".url")
		if in.URL.Literal != "" {
			if _, err := invicti.ResolveEndpoints("", in.URL.Literal); err != nil {
				var ie *invicti.InputError
				msg := err.Error()
				if errors.As(err, &ie) {
					msg = ie.Msg
					if ie.Hint != "" {
						msg += "; expected " + strings.ReplaceAll(ie.Hint, "--invicti-url ", "")
					}
				}
				p.add(un, field+".url", "%s", msg)
			}
		}
	}
	if in.Region != "" && in.URL.Set() {
		p.add(n, field, "give region or url, not both")
	}
	if cn, ok := m["clientId"]; ok {
		if s, ok := p.str(cn, field+".clientId"); ok {
			if err := invicti.ValidateClientID(field+".clientId", s); err != nil {
				p.add(cn, "", "%v", err)
			}
			in.ClientID = s
		}
	}
	if sn, ok := m["clientSecret"]; ok {
		if r := p.ref(sn, field+".clientSecret", "client secret", "INVICTI_SCIM_CLIENT_SECRET"); r != nil {
			in.ClientSecret = *r
		}
	}
	return in
}

func (p *parser) graph(n *yaml.Node, field string) Graph {
	var g Graph
	m := p.mapping(n, field, graphKeys)
	if m == nil {
		return g
	}
	if tn, ok := m["tenant"]; ok {
		g.Tenant, _ = p.str(tn, field+".tenant")
	}
	if cn, ok := m["cloud"]; ok {
		if s, ok := p.str(cn, field+".cloud"); ok {
			if s != "global" && s != "usgov" && s != "china" {
				p.add(cn, field+".cloud", "unknown cloud %q; expected global, usgov or china", s)
			}
			g.Cloud = s
		}
	}
	if un, ok := m["url"]; ok {
		g.URL = p.value(un, field+".url")
	}
	if an, ok := m["auth"]; ok {
		if s, ok := p.str(an, field+".auth"); ok {
			switch s {
			case "token", "environment", "azure-cli", "browser", "device-code":
			default:
				p.add(an, field+".auth", "unknown sign-in %q; expected token, environment, azure-cli, browser or device-code", s)
			}
			g.Auth = s
		}
	}
	if tn, ok := m["token"]; ok {
		g.Token = p.ref(tn, field+".token", "Graph access token", "CONTOSO_GRAPH_TOKEN")
	}
	return g
}

var tenantNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`) })

func (p *parser) tenants(n *yaml.Node, base Config) []Tenant {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.add(n, "tenants", "expected a list of tenants (- name: contoso …), got %s", kindName(n))
		return nil
	}
	var out []Tenant
	seen, dirs := map[string]bool{}, map[string]bool{}
	for i, tn := range n.Content {
		field := fmt.Sprintf("tenants[%d]", i)
		m := p.mapping(tn, field, tenantKeys)
		if m == nil {
			continue
		}
		t := Tenant{Line: tn.Line}
		if nn, ok := m["name"]; ok {
			if s, ok := p.str(nn, field+".name"); ok {
				if !tenantNameRE().MatchString(s) {
					p.add(nn, field+".name", "%q: use letters, digits, '.', '_' and '-' (it names the tenant's state directory), at most 64", s)
				}
				if seen[strings.ToLower(s)] {
					p.add(nn, field+".name", "%q names two tenants; each tenant needs its own name", s)
				}
				seen[strings.ToLower(s)] = true
				t.Name = s
			}
		} else {
			p.add(tn, field+".name", "missing; every tenant needs a name (it labels the results and its state directory)")
		}
		dirNode := tn
		if cn, ok := m["configDir"]; ok {
			t.ConfigDir, _ = p.str(cn, field+".configDir")
			dirNode = cn
		} else if t.Name != "" {
			t.ConfigDir = filepath.Join("tenants", t.Name)
		}
		if t.ConfigDir != "" {
			if dirs[filepath.Clean(t.ConfigDir)] {
				p.add(dirNode, field+".configDir", "%q is another tenant's too; each tenant needs its own state directory (its app ids and lock)", t.ConfigDir)
			}
			dirs[filepath.Clean(t.ConfigDir)] = true
		}
		if gn, ok := m["graph"]; ok {
			t.Graph = p.graph(gn, field+".graph")
		}
		own := p.config(m, field)
		t.Config = merge(base, own, m)
		out = append(out, t)
	}
	return out
}

// merge is base with every key the tenant entry sets replacing base's (invicti merges field
// by field: a tenant usually changes only its URL and secret).
func merge(base, own Config, set map[string]*yaml.Node) Config {
	c := base
	if _, ok := set["invicti"]; ok && own.Invicti != nil {
		if base.Invicti == nil {
			c.Invicti = own.Invicti
		} else {
			in := *base.Invicti
			o := own.Invicti
			if o.Region != "" || o.URL.Set() {
				in.Region, in.URL = o.Region, o.URL
			}
			if o.ClientID != "" {
				in.ClientID = o.ClientID
			}
			if o.ClientSecret != (Ref{}) {
				in.ClientSecret = o.ClientSecret
			}
			in.Line = o.Line
			c.Invicti = &in
		}
	}
	if _, ok := set["app"]; ok {
		c.AppName = own.AppName
	}
	if _, ok := set["assignments"]; ok {
		c.Assignments = own.Assignments
	}
	if _, ok := set["teams"]; ok {
		c.Teams, c.TeamsSet = own.Teams, own.TeamsSet
	}
	if _, ok := set["notifications"]; ok {
		c.Notifications = own.Notifications
	}
	if _, ok := set["sso"]; ok {
		c.SSO = own.SSO
	}
	if _, ok := set["mappings"]; ok {
		c.Mappings = own.Mappings
	}
	if _, ok := set["start"]; ok {
		c.Start = own.Start
	}
	return c
}

// complete checks what must hold once a tenant's configuration is merged.
func (p *parser) complete(t *Tenant, multi bool) {
	field := ""
	if multi {
		field = "tenants[" + t.Name + "]."
	}
	line := t.Line
	in := t.Invicti
	switch {
	case in == nil:
		p.problems = append(p.problems, Problem{Line: line, Field: field + "invicti", Msg: "missing; give url (or region), clientId and clientSecret"})
		return
	case in.Region == "" && !in.URL.Set():
		p.problems = append(p.problems, Problem{Line: in.Line, Field: field + "invicti", Msg: "no region or url; add region: us|eu|ca, or url: https://HOST"})
	}
	if in.ClientID == "" {
		p.problems = append(p.problems, Problem{Line: in.Line, Field: field + "invicti.clientId", Msg: "missing; the client id Invicti showed with the SCIM credentials"})
	}
	if in.ClientSecret == (Ref{}) && !p.reported(field+"invicti.clientSecret") && !p.reported("invicti.clientSecret") {
		p.problems = append(p.problems, Problem{Line: in.Line, Field: field + "invicti.clientSecret", Msg: "missing; reference the secret: {env: INVICTI_SCIM_CLIENT_SECRET}, {file: PATH} or {stdin: true}"})
	}
	if t.AppName == "" {
		t.AppName = DefaultAppName
	}
}

// DefaultAppName is the enterprise app's name when the manifest gives none.
const DefaultAppName = "Invicti Platform"
