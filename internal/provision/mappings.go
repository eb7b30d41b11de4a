package provision

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/mappingexpr"
)

// Attribute mappings of the provisioning job, read and replaced through the job's schema
// (GET/PUT …/jobs/{jobId}/schema; synchronization-synchronizationschema-update.md). The file
// format is docs/mappings.md's: two lists, users and groups, of {target, source, matching,
// flowType, default}, where source is an expression in the portal's syntax ("Reference for
// writing expressions for attribute mappings in Microsoft Entra ID").

// MappingsGraph is what the mapping commands need from Microsoft Graph.
type MappingsGraph interface {
	Schema(ctx context.Context, spID, jobID string) (graph.JobSchema, error)
	PutSchema(ctx context.Context, spID, jobID string, s graph.JobSchema, objects []graph.ObjectMapping) error
	Assignments(ctx context.Context, spID string) ([]graph.Assignment, error)
	GroupMembers(ctx context.Context, groupID string) ([]graph.User, []graph.Group, error)
	SourceUsers(ctx context.Context, ids []string) ([]map[string]string, error)
}

// Mappings is the tool's view of the job's user and group attribute mappings: what `mappings
// export` writes and `mappings diff/apply` read.
type Mappings struct {
	Users  []graph.AttributeMapping `json:"users" yaml:"users"`
	Groups []graph.AttributeMapping `json:"groups" yaml:"groups"`
}

// WorkEmailTarget is the SCIM attribute Invicti takes the user's e-mail from.
const WorkEmailTarget = `emails[type eq "work"].value`

// InvictiPreset is what Invicti Platform needs: userName (matched on), active, the work
// e-mail (falling back to the UPN for users without a mailbox), given and family name; teams
// by displayName with their members. Invicti's SCIM reference lists these; the Microsoft
// tutorial for the older Invicti Enterprise maps the same required attributes
// (netsparker-enterprise-provisioning-tutorial.md).
func InvictiPreset() Mappings {
	return Mappings{
		Users: []graph.AttributeMapping{
			{Target: "userName", Source: "[userPrincipalName]", Matching: 1},
			{Target: "active", Source: `Switch([IsSoftDeleted], , "False", "True", "True", "False")`},
			{Target: WorkEmailTarget, Source: "Coalesce([mail], [userPrincipalName])"},
			{Target: "name.givenName", Source: "[givenName]"},
			{Target: "name.familyName", Source: "[surname]"},
		},
		Groups: []graph.AttributeMapping{
			{Target: "displayName", Source: "[displayName]", Matching: 1},
			{Target: "members", Source: "[members]"},
		},
	}
}

var flowTypes = []string{"Always", "ObjectAddOnly", "MultiValueAddOnly", "ValueAddOnly", "AttributeAddOnly"}

// normalize gives every mapping its canonical expression and explicit flow type, so files
// and tenants compare by meaning rather than spelling.
func (m Mappings) normalize() Mappings {
	norm := func(in []graph.AttributeMapping) []graph.AttributeMapping {
		out := make([]graph.AttributeMapping, 0, len(in))
		for _, a := range in {
			a.Source = mappingexpr.Canonical(a.Source)
			a.Target = strings.TrimSpace(a.Target)
			if a.FlowType == "Always" {
				a.FlowType = "" // the default: left out of files and comparisons
			}
			out = append(out, a)
		}
		return out
	}
	return Mappings{Users: norm(m.Users), Groups: norm(m.Groups)}
}

// ReadMappings reads the job's mappings (and the schema, for a later PutSchema).
func ReadMappings(ctx context.Context, g MappingsGraph, spID, jobID string) (Mappings, graph.JobSchema, error) {
	s, err := g.Schema(ctx, spID, jobID)
	if err != nil {
		return Mappings{}, s, err
	}
	var m Mappings
	if u, ok := s.Object("User"); ok {
		m.Users = u.Attributes
	}
	if gr, ok := s.Object("Group"); ok {
		m.Groups = gr.Attributes
	}
	return m.normalize(), s, nil
}

// MarshalMappingsYAML renders mappings as the documented YAML file.
func MarshalMappingsYAML(m Mappings) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# invicti-scim attribute mappings (docs/mappings.md): target ← source expression.\n")
	buf.WriteString("# matching: match existing Invicti users/teams on this attribute (1 = first).\n")
	buf.WriteString("# flowType: Always (default), ObjectAddOnly, … Edit, then: invicti-scim mappings diff -f FILE\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m.normalize()); err != nil {
		return nil, fmt.Errorf("encode mappings: %w", err)
	}
	return buf.Bytes(), enc.Close()
}

// ParseMappings reads a mappings file (YAML; JSON is YAML too) and validates it: known keys
// only, both lists present, parsable expressions, known flow types, unique targets and at
// least one matching attribute per list. Errors name the list, the entry and the fix.
func ParseMappings(data []byte) (Mappings, error) {
	var file struct {
		// OK is the `ok` every JSON document of the tool carries: accepted so that
		// `mappings export -o json` reads back, and otherwise ignored.
		OK     *bool                    `yaml:"ok"`
		Users  []graph.AttributeMapping `yaml:"users"`
		Groups []graph.AttributeMapping `yaml:"groups"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&file)
	m := Mappings{Users: file.Users, Groups: file.Groups}
	if err != nil {
		return Mappings{}, fmt.Errorf("not a mappings file (users: and groups: lists of target/source/matching/flowType/default): %w", err)
	}
	if len(m.Users) == 0 || len(m.Groups) == 0 {
		return Mappings{}, fmt.Errorf("the file needs both a users: and a groups: list (start from `invicti-scim mappings export`)")
	}
	for _, list := range []struct {
		name  string
		items []graph.AttributeMapping
	}{{"users", m.Users}, {"groups", m.Groups}} {
		seen := map[string]bool{}
		matching := false
		for i, a := range list.items {
			where := fmt.Sprintf("%s[%d]", list.name, i)
			if strings.TrimSpace(a.Target) == "" {
				return Mappings{}, fmt.Errorf("%s: target is empty", where)
			}
			where += " (" + a.Target + ")"
			if seen[a.Target] {
				return Mappings{}, fmt.Errorf("%s: target mapped twice; keep one entry", where)
			}
			seen[a.Target] = true
			if _, err := mappingexpr.Parse(a.Source); err != nil {
				return Mappings{}, fmt.Errorf("%s: source %q: %w; expected [attribute], \"constant\" or Function(…)", where, a.Source, err)
			}
			if a.FlowType != "" && !slices.Contains(flowTypes, a.FlowType) {
				return Mappings{}, fmt.Errorf("%s: flowType %q; expected one of %s", where, a.FlowType, strings.Join(flowTypes, ", "))
			}
			if a.Matching < 0 {
				return Mappings{}, fmt.Errorf("%s: matching %d; expected 0 (not matched on) or a priority from 1", where, a.Matching)
			}
			matching = matching || a.Matching > 0
		}
		if !matching {
			return Mappings{}, fmt.Errorf("%s: no attribute has matching: 1; Entra needs one to find existing Invicti objects", list.name)
		}
	}
	return m.normalize(), nil
}

// MappingChange is one difference between two mapping sets.
type MappingChange struct {
	Object string `json:"object"` // users or groups
	Target string `json:"target"`
	Kind   string `json:"change"` // add, remove, change
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
}

func describe(a graph.AttributeMapping) string {
	s := a.Source
	if a.Matching > 0 {
		s += fmt.Sprintf(" (matching %d)", a.Matching)
	}
	if a.FlowType != "" && a.FlowType != "Always" {
		s += " (" + a.FlowType + ")"
	}
	if a.Default != "" {
		s += fmt.Sprintf(" (default %q)", a.Default)
	}
	return s
}

// DiffMappings lists what applying want to a job that has have would change.
func DiffMappings(want, have Mappings) []MappingChange {
	want, have = want.normalize(), have.normalize()
	var out []MappingChange
	cmp := func(object string, w, h []graph.AttributeMapping) {
		hm := map[string]graph.AttributeMapping{}
		for _, a := range h {
			hm[a.Target] = a
		}
		wm := map[string]bool{}
		for _, a := range w {
			wm[a.Target] = true
			old, ok := hm[a.Target]
			switch {
			case !ok:
				out = append(out, MappingChange{Object: object, Target: a.Target, Kind: "add", To: describe(a)})
			case old != a:
				out = append(out, MappingChange{Object: object, Target: a.Target, Kind: "change", From: describe(old), To: describe(a)})
			}
		}
		for _, a := range h {
			if !wm[a.Target] {
				out = append(out, MappingChange{Object: object, Target: a.Target, Kind: "remove", From: describe(a)})
			}
		}
	}
	cmp("users", want.Users, have.Users)
	cmp("groups", want.Groups, have.Groups)
	return out
}

// ApplyMappings replaces the job's user and group mappings with m (one schema PUT).
func ApplyMappings(ctx context.Context, g MappingsGraph, spID, jobID string, s graph.JobSchema, m Mappings) error {
	m = m.normalize()
	users, ok1 := s.Object("User")
	groups, ok2 := s.Object("Group")
	if !ok1 || !ok2 {
		return fmt.Errorf("the job's schema has no user or no group mapping; was the job created from the scim template?")
	}
	users.Attributes, groups.Attributes = m.Users, m.Groups
	return g.PutSchema(ctx, spID, jobID, s, []graph.ObjectMapping{users, groups})
}

// --- mappings check -------------------------------------------------------------------------

// checkedTargets are the user attributes Invicti needs filled, with why.
var checkedTargets = []struct{ target, what string }{
	{WorkEmailTarget, "e-mail"},
	{"name.givenName", "given name"},
	{"name.familyName", "family name"},
}

// MaxListed is how many users a finding names.
const MaxListed = 10

// MappingFinding is one target attribute that comes out empty for some assigned users.
type MappingFinding struct {
	Target string   `json:"target"`
	What   string   `json:"what"`
	Source string   `json:"source"` // "" when the target is not mapped at all
	Count  int      `json:"count"`
	Users  []string `json:"users"` // the first MaxListed UPNs
	// Fix is the proposed mapping change ("" when the tool has none to offer).
	Fix string `json:"fix,omitempty"`
	// Unpredictable: the source uses a function the check cannot evaluate; nothing was judged.
	Unpredictable bool `json:"unpredictable,omitempty"`
}

// MappingCheck is what `mappings check` found.
type MappingCheck struct {
	UsersChecked int              `json:"usersChecked"`
	Findings     []MappingFinding `json:"findings"`
	Mappings     Mappings         `json:"-"`
	Schema       graph.JobSchema  `json:"-"`
}

// OK reports whether every checked attribute has a value for every assigned user.
func (c *MappingCheck) OK() bool {
	for _, f := range c.Findings {
		if f.Count > 0 {
			return false
		}
	}
	return true
}

// Fixed returns the mappings with every offered fix applied, and whether any was.
func (c *MappingCheck) Fixed() (Mappings, bool) {
	m := c.Mappings.normalize()
	changed := false
	for _, f := range c.Findings {
		if f.Fix == "" || f.Count == 0 {
			continue
		}
		i := slices.IndexFunc(m.Users, func(a graph.AttributeMapping) bool { return a.Target == f.Target })
		if i < 0 {
			m.Users = append(m.Users, graph.AttributeMapping{Target: f.Target, Source: f.Fix})
		} else {
			m.Users[i].Source = f.Fix
		}
		changed = true
	}
	return m, changed
}

// CheckMappings evaluates the job's user mappings for every assigned user (direct user
// assignments and the direct members of assigned groups, which is whom Entra provisions:
// how-provisioning-works.md, nested groups are not expanded) and reports the checked targets
// that come out empty. For the e-mail it offers Coalesce(<source>, [userPrincipalName]).
func CheckMappings(ctx context.Context, g MappingsGraph, spID, jobID string) (*MappingCheck, error) {
	m, s, err := ReadMappings(ctx, g, spID, jobID)
	if err != nil {
		return nil, err
	}
	res := &MappingCheck{Mappings: m, Schema: s}
	as, err := g.Assignments(ctx, spID)
	if err != nil {
		return nil, err
	}
	var ids []string
	add := func(id string) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, a := range as {
		switch a.PrincipalType {
		case "User":
			add(a.PrincipalID)
		case "Group":
			members, _, err := g.GroupMembers(ctx, a.PrincipalID)
			if err != nil {
				return nil, err
			}
			for _, u := range members {
				add(u.ID)
			}
		}
	}
	type target struct {
		MappingFinding
		expr *mappingexpr.Expr
	}
	var targets []*target
	for _, ct := range checkedTargets {
		t := &target{MappingFinding: MappingFinding{Target: ct.target, What: ct.what, Users: []string{}}}
		if i := slices.IndexFunc(m.Users, func(a graph.AttributeMapping) bool { return a.Target == ct.target }); i >= 0 {
			t.Source = m.Users[i].Source
			if m.Users[i].Default != "" {
				continue // a default value fills it whenever the source is empty
			}
			if e, err := mappingexpr.Parse(t.Source); err == nil {
				t.expr = &e
			}
		}
		targets = append(targets, t)
	}
	users, err := g.SourceUsers(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, attrs := range users {
		res.UsersChecked++
		get := func(name string) string {
			for k, v := range attrs {
				if strings.EqualFold(k, name) {
					return v
				}
			}
			return ""
		}
		for _, t := range targets {
			v := ""
			if t.expr != nil {
				var err error
				if v, err = t.expr.Evaluate(get); err != nil {
					t.Unpredictable = true
					continue
				}
			}
			if strings.TrimSpace(v) == "" {
				t.Count++
				if len(t.Users) < MaxListed {
					t.Users = append(t.Users, get("userPrincipalName"))
				}
			}
		}
	}
	for _, t := range targets {
		if t.Count > 0 && t.Target == WorkEmailTarget && !t.Unpredictable {
			t.Fix = emailFix(t.Source)
		}
		res.Findings = append(res.Findings, t.MappingFinding)
	}
	return res, nil
}

// emailFix falls back to the UPN, which is an e-mail-shaped address in Entra.
func emailFix(source string) string {
	if source == "" {
		return "Coalesce([mail], [userPrincipalName])"
	}
	e, err := mappingexpr.Parse(source)
	if err == nil && e.Kind == mappingexpr.Function && strings.EqualFold(e.Name, "Coalesce") {
		return mappingexpr.Expr{Kind: mappingexpr.Function, Name: "Coalesce",
			Args: append(slices.Clone(e.Args), mappingexpr.Expr{Kind: mappingexpr.Attribute, Name: "userPrincipalName"})}.String()
	}
	return "Coalesce(" + mappingexpr.Canonical(source) + ", [userPrincipalName])"
}
