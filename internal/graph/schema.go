package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/invicti-scim/invicti-scim/internal/mappingexpr"
)

// The provisioning job's schema: its attribute mappings, read with GET and written back with
// PUT …/jobs/{jobId}/schema (docs/graph-sources.md: the
// PUT "fully replaces the current schema with the one provided"). Both go raw: the SDK offers
// only PATCH for the schema, and the PUT must send back every part of the schema it read
// (directories, rule metadata, scoping filters) untouched, which a typed model re-serialised
// from its known fields does not guarantee.

// AttributeMapping is one attributeMapping (docs/graph-sources.md) in the tool's
// terms.
type AttributeMapping struct {
	// Target is targetAttributeName, e.g. emails[type eq "work"].value.
	Target string `json:"target" yaml:"target"`
	// Source is the source expression as the portal shows it: [mail], "constant" or
	// Coalesce([mail], [userPrincipalName]).
	Source string `json:"source" yaml:"source"`
	// Matching is matchingPriority: 0 = not used to match, 1 = matched first, …
	Matching int `json:"matching,omitempty" yaml:"matching,omitempty"`
	// FlowType is Always (the default), ObjectAddOnly, MultiValueAddOnly, ValueAddOnly or
	// AttributeAddOnly.
	FlowType string `json:"flowType,omitempty" yaml:"flowType,omitempty"`
	// Default is defaultValue, used when the source is NULL.
	Default string `json:"default,omitempty" yaml:"default,omitempty"`
}

// ObjectMapping is the attribute list of one source object (User or Group).
type ObjectMapping struct {
	SourceObject string             `json:"sourceObject"`
	TargetObject string             `json:"targetObject"`
	Attributes   []AttributeMapping `json:"attributes"`
}

// JobSchema is the job's mappings plus the schema document they came from, which PutSchema
// sends back with only the attribute mappings replaced.
type JobSchema struct {
	RuleID  string
	Objects []ObjectMapping
	raw     map[string]any
}

// Object returns the mapping of a source object ("User" or "Group").
func (s JobSchema) Object(source string) (ObjectMapping, bool) {
	for _, o := range s.Objects {
		if strings.EqualFold(o.SourceObject, source) {
			return o, true
		}
	}
	return ObjectMapping{}, false
}

// Schema reads the job's schema.
func (c *Client) Schema(ctx context.Context, spID, jobID string) (JobSchema, error) {
	var raw map[string]any
	if err := c.send(ctx, "get synchronization schema", at(abs.GET, c.job(spID, jobID).Schema().BaseRequestBuilder), nil, &raw); err != nil {
		return JobSchema{}, err
	}
	out := JobSchema{raw: raw}
	rules, _ := raw["synchronizationRules"].([]any)
	if len(rules) == 0 {
		return out, fmt.Errorf("get synchronization schema: the schema has no synchronization rule")
	}
	rule, _ := rules[0].(map[string]any)
	out.RuleID, _ = rule["id"].(string)
	oms, _ := rule["objectMappings"].([]any)
	for _, x := range oms {
		om, _ := x.(map[string]any)
		o := ObjectMapping{}
		o.SourceObject, _ = om["sourceObjectName"].(string)
		o.TargetObject, _ = om["targetObjectName"].(string)
		ams, _ := om["attributeMappings"].([]any)
		for _, y := range ams {
			am, _ := y.(map[string]any)
			m := AttributeMapping{}
			m.Target, _ = am["targetAttributeName"].(string)
			m.FlowType, _ = am["flowType"].(string)
			m.Default, _ = am["defaultValue"].(string)
			if p, ok := am["matchingPriority"].(float64); ok {
				m.Matching = int(p)
			}
			src, _ := am["source"].(map[string]any)
			m.Source = sourceExpression(src)
			o.Attributes = append(o.Attributes, m)
		}
		out.Objects = append(out.Objects, o)
	}
	return out, nil
}

// sourceExpression renders an attributeMappingSource (docs/graph-sources.md): its
// expression when Graph gives one, else the expression rebuilt from name, type and parameters.
func sourceExpression(src map[string]any) string {
	if e, _ := src["expression"].(string); strings.TrimSpace(e) != "" {
		return mappingexpr.Canonical(e)
	}
	name, _ := src["name"].(string)
	switch src["type"] {
	case "Attribute":
		return "[" + name + "]"
	case "Constant":
		return mappingexpr.Expr{Kind: mappingexpr.Constant, Name: name}.String()
	}
	params, _ := src["parameters"].([]any)
	var args []string
	for _, p := range params {
		pm, _ := p.(map[string]any)
		v, _ := pm["value"].(map[string]any)
		args = append(args, sourceExpression(v))
	}
	return name + "(" + strings.Join(args, ", ") + ")"
}

// sourceJSON encodes an expression as an attributeMappingSource: the expression and the same
// tree in name, type and parameters, so the service reads the same mapping whichever it uses.
func sourceJSON(e mappingexpr.Expr) map[string]any {
	out := map[string]any{"expression": e.String(), "name": e.Name, "type": string(e.Kind), "parameters": []any{}}
	if e.Kind == mappingexpr.Function {
		params := []any{}
		for i, a := range e.Args {
			params = append(params, map[string]any{"key": fmt.Sprintf("p%d", i+1), "value": sourceJSON(a)})
		}
		out["parameters"] = params
	}
	return out
}

// PutSchema replaces the attribute mappings of the objects in objects (matched by source
// object name) and PUTs the whole schema back. Fields of a mapping the tool does not model
// (exportMissingReferences, flowBehavior, …) are kept for targets that stay mapped.
func (c *Client) PutSchema(ctx context.Context, spID, jobID string, s JobSchema, objects []ObjectMapping) error {
	if s.raw == nil {
		return fmt.Errorf("put synchronization schema: no schema was read first")
	}
	doc := map[string]any{}
	for k, v := range s.raw {
		if !strings.HasPrefix(k, "@") {
			doc[k] = v
		}
	}
	rules, _ := doc["synchronizationRules"].([]any)
	if len(rules) == 0 {
		return fmt.Errorf("put synchronization schema: the schema has no synchronization rule")
	}
	rule, _ := rules[0].(map[string]any)
	oms, _ := rule["objectMappings"].([]any)
	for _, want := range objects {
		found := false
		for _, x := range oms {
			om, _ := x.(map[string]any)
			if name, _ := om["sourceObjectName"].(string); !strings.EqualFold(name, want.SourceObject) {
				continue
			}
			found = true
			old := map[string]map[string]any{}
			if ams, ok := om["attributeMappings"].([]any); ok {
				for _, y := range ams {
					am, _ := y.(map[string]any)
					if t, _ := am["targetAttributeName"].(string); t != "" {
						old[t] = am
					}
				}
			}
			list := []any{}
			for _, m := range want.Attributes {
				e, err := mappingexpr.Parse(m.Source)
				if err != nil {
					return fmt.Errorf("mapping for %s: source %q: %w", m.Target, m.Source, err)
				}
				am := map[string]any{"exportMissingReferences": false, "flowBehavior": "FlowWhenChanged"}
				for k, v := range old[m.Target] {
					am[k] = v
				}
				flow := m.FlowType
				if flow == "" {
					flow = "Always"
				}
				var def any
				if m.Default != "" {
					def = m.Default
				}
				am["targetAttributeName"] = m.Target
				am["source"] = sourceJSON(e)
				am["matchingPriority"] = m.Matching
				am["flowType"] = flow
				am["defaultValue"] = def
				list = append(list, am)
			}
			om["attributeMappings"] = list
		}
		if !found {
			return fmt.Errorf("put synchronization schema: the job's schema has no %s object mapping", want.SourceObject)
		}
	}
	// PUT, which the SDK's schema builder does not offer (only PATCH): PUT "fully replaces the
	// current schema with the one provided", which is what a read-modify-write needs.
	return c.send(ctx, "PUT synchronization schema", at(abs.PUT, c.job(spID, jobID).Schema().BaseRequestBuilder), doc, nil)
}

// SourceUserSelect is what SourceUsers reads: the user attributes that provisioning mappings
// commonly use as sources.
var SourceUserSelect = []string{"id", "userPrincipalName", "mail", "mailNickname", "displayName", "givenName",
	"surname", "accountEnabled", "userType", "otherMails", "jobTitle", "preferredLanguage"}

// SourceUsers reads users' mapping-relevant attributes, in the order of ids, as name → value
// (Graph's property names; an absent, null or empty property is missing; otherMails gives its
// first entry; objectId repeats id under the schema's name). The reads go in $batch round
// trips of 20 (docs/graph-sources.md), four at a time, retrying throttled items.
func (c *Client) SourceUsers(ctx context.Context, ids []string) ([]map[string]string, error) {
	reqs := make([]BatchRequest, len(ids))
	q := url.Values{"$select": {strings.Join(SourceUserSelect, ",")}}.Encode()
	for i, id := range ids {
		reqs[i] = BatchRequest{ID: strconv.Itoa(i + 1), Method: http.MethodGet, URL: "/users/" + PathEscape(id) + "?" + q}
	}
	res, _, err := c.BatchAll(ctx, reqs, 4, 6)
	if err != nil {
		return nil, fmt.Errorf("read users' attributes: %w", err)
	}
	if len(res) != len(ids) {
		return nil, fmt.Errorf("read users' attributes: %d answers for %d users", len(res), len(ids))
	}
	out := make([]map[string]string, len(ids))
	for i, r := range res {
		id := ids[i] //nolint:gosec // G602: len(res) == len(ids) is checked above
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("read user %s: %w", id, err)
		}
		var raw map[string]any
		if err := r.Decode(&raw); err != nil {
			return nil, fmt.Errorf("read user %s: decode answer: %w", id, err)
		}
		out[i] = sourceAttrs(raw)
	}
	return out, nil
}

func sourceAttrs(raw map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range raw {
		switch x := v.(type) {
		case string:
			if x != "" {
				out[k] = x
			}
		case bool:
			out[k] = strconv.FormatBool(x)
		case []any:
			if len(x) > 0 {
				if s, ok := x[0].(string); ok && s != "" {
					out[k] = s
				}
			}
		}
	}
	if id, ok := out["id"]; ok {
		out["objectId"] = id // the provisioning schema's name for the object id
	}
	return out
}
