package scimtest

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// scimErr is a SCIM error answer.
type scimErr struct {
	status   int
	scimType string
	detail   string
}

func (e *scimErr) Error() string { return e.detail }

func errf(status int, scimType, format string, args ...any) *scimErr {
	return &scimErr{status: status, scimType: scimType, detail: fmt.Sprintf(format, args...)}
}

func invalidValue(format string, args ...any) *scimErr {
	return errf(http.StatusBadRequest, "invalidValue", format, args...)
}

func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func schemasInclude(body map[string]any, want string) (bool, *scimErr) {
	raw, ok := lookupFold(body, "schemas")
	if !ok {
		return false, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return false, errf(http.StatusBadRequest, "invalidSyntax", "schemas must be an array of strings")
	}
	found := false
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return false, errf(http.StatusBadRequest, "invalidSyntax", "schemas must be an array of strings")
		}
		if strings.EqualFold(s, want) {
			found = true
		}
	}
	return found, nil
}

// normalizeResource validates a POST or PUT body and returns the stored
// form: canonical attribute names, checked types, read-only and unknown
// attributes dropped.
func normalizeResource(k *resourceKind, body map[string]any) (map[string]any, *scimErr) {
	ok, err := schemasInclude(body, k.Schema)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(http.StatusBadRequest, "invalidSyntax", "schemas must include %s", k.Schema)
	}
	doc := map[string]any{}
	for key, v := range body {
		if strings.EqualFold(key, "schemas") || strings.EqualFold(key, "id") || strings.EqualFold(key, "meta") {
			continue
		}
		d := findDef(k.All, key)
		if d == nil || d.Mutability == mReadOnly || d.Mutability == mWriteOnly {
			continue // unknown, read-only and write-only (password) attributes are ignored
		}
		nv, err := normalizeValue(d, v, d.Name)
		if err != nil {
			return nil, err
		}
		if nv != nil {
			doc[d.Name] = nv
		}
	}
	if err := validateDoc(k, doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// validateDoc checks what must hold after any change.
func validateDoc(k *resourceKind, doc map[string]any) *scimErr {
	for _, d := range k.Core {
		if d.Required {
			if s, _ := doc[d.Name].(string); strings.TrimSpace(s) == "" {
				return invalidValue("%s is required", d.Name)
			}
		}
	}
	for _, d := range k.All {
		if !d.Multi {
			continue
		}
		arr, _ := doc[d.Name].([]any)
		primaries := 0
		for _, e := range arr {
			m, _ := e.(map[string]any)
			if p, _ := m["primary"].(bool); p {
				primaries++
			}
			if d.sub("value") != nil && d.Name == "members" {
				if s, _ := m["value"].(string); s == "" {
					return invalidValue("every member needs a value (the member's id)")
				}
			}
		}
		if primaries > 1 {
			return invalidValue("only one of %s may be primary", d.Name)
		}
	}
	return nil
}

func normalizeValue(d *attrDef, v any, path string) (any, *scimErr) {
	if v == nil {
		return nil, nil
	}
	if d.Multi {
		arr, ok := v.([]any)
		if !ok {
			return nil, invalidValue("%s must be an array", path)
		}
		var out []any
		for _, e := range arr {
			if m, ok := e.(map[string]any); ok && d.Name == "members" {
				if v, _ := lookupFold(m, "value"); v == nil || v == "" {
					return nil, invalidValue("every member needs a value (the member's id)")
				}
			}
			ne, err := normalizeSingle(d, e, path)
			if err != nil {
				return nil, err
			}
			if ne != nil {
				out = append(out, ne)
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	return normalizeSingle(d, v, path)
}

// normalizeSingle checks one value of d (one element for multi-valued
// attributes).
func normalizeSingle(d *attrDef, v any, path string) (any, *scimErr) {
	if v == nil {
		return nil, nil
	}
	switch d.Type {
	case tComplex:
		if sv, isStr := v.(string); isStr && !d.Multi && d.sub("value") != nil {
			// Microsoft Entra sends the enterprise manager as a bare id.
			v = map[string]any{"value": sv}
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalidValue("%s must be an object", path)
		}
		out := map[string]any{}
		for key, sv := range m {
			sd := d.sub(key)
			if sd == nil || sd.Mutability == mReadOnly {
				continue
			}
			nv, err := normalizeSingle(sd, sv, path+"."+sd.Name)
			if err != nil {
				return nil, err
			}
			if nv != nil {
				out[sd.Name] = nv
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	case tBoolean:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			// Microsoft Entra sends "True"/"False" in PATCH values.
			if strings.EqualFold(b, "true") {
				return true, nil
			}
			if strings.EqualFold(b, "false") {
				return false, nil
			}
		}
		return nil, invalidValue("%s must be a boolean", path)
	default:
		s, ok := v.(string)
		if !ok {
			return nil, invalidValue("%s must be a string", path)
		}
		if s == "" {
			return nil, nil
		}
		return s, nil
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	}
	return v
}

func copyDoc(m map[string]any) map[string]any { return deepCopy(m).(map[string]any) }

func scimTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// renderLocked builds the JSON form of a resource, with computed
// attributes. s.mu must be held.
func (s *Server) renderLocked(k *resourceKind, r *resource) map[string]any {
	base := s.base + scimPrefix
	out := copyDoc(r.doc)
	out["id"] = r.id
	schemas := []any{k.Schema}
	if _, ok := out[SchemaEnterpriseUser]; ok {
		schemas = append(schemas, SchemaEnterpriseUser)
	}
	out["schemas"] = schemas
	out["meta"] = map[string]any{
		"resourceType": k.Name,
		"created":      scimTime(r.created),
		"lastModified": scimTime(r.modified),
		"location":     base + k.Endpoint + "/" + r.id,
	}
	if k == userKind {
		var groups []any
		for _, g := range sortedResources(s.groups) {
			ms, _ := g.doc["members"].([]any)
			for _, m := range ms {
				if mm, _ := m.(map[string]any); getString(mm, "value") == r.id {
					groups = append(groups, map[string]any{
						"value": g.id, "display": getString(g.doc, "displayName"),
						"$ref": base + "/Groups/" + g.id, "type": "direct",
					})
					break
				}
			}
		}
		if len(groups) > 0 {
			out["groups"] = groups
		}
		if ext, ok := out[SchemaEnterpriseUser].(map[string]any); ok {
			if mgr, ok := ext["manager"].(map[string]any); ok {
				if mu, ok := s.users[getString(mgr, "value")]; ok {
					mgr["$ref"] = base + "/Users/" + mu.id
					if dn := getString(mu.doc, "displayName"); dn != "" {
						mgr["displayName"] = dn
					}
				}
			}
		}
	} else if ms, ok := out["members"].([]any); ok {
		for _, m := range ms {
			mm := m.(map[string]any)
			if u, ok := s.users[getString(mm, "value")]; ok {
				mm["type"] = "User"
				mm["$ref"] = base + "/Users/" + u.id
				dn := getString(u.doc, "displayName")
				if dn == "" {
					dn = getString(u.doc, "userName")
				}
				mm["display"] = dn
			}
		}
	}
	return out
}

// viewLocked is a read-only view of a resource for filtering and sorting:
// the stored attributes (shared, not copied) plus id and meta, without the
// computed attributes. s.mu must be held and the view must not be modified.
// Views are cached on the resource until it changes (see touch).
func (s *Server) viewLocked(k *resourceKind, r *resource) map[string]any {
	if r.view != nil && r.viewBase == s.base {
		return r.view
	}
	v := make(map[string]any, len(r.doc)+2)
	for key, val := range r.doc {
		v[key] = val
	}
	v["id"] = r.id
	v["meta"] = map[string]any{
		"resourceType": k.Name,
		"created":      scimTime(r.created),
		"lastModified": scimTime(r.modified),
		"location":     s.base + scimPrefix + k.Endpoint + "/" + r.id,
	}
	r.view, r.viewBase = v, s.base
	return v
}

// touch records a change of r's document at now.
func (r *resource) touch(doc map[string]any, now time.Time) {
	r.doc, r.modified, r.view = doc, now, nil
}

// projection implements the attributes and excludedAttributes parameters.
type projection struct {
	include []attrChain
	exclude []attrChain
}

func parseProjection(k *resourceKind, attributes, excluded string) (*projection, *scimErr) {
	p := &projection{}
	parse := func(list string) ([]attrChain, *scimErr) {
		var out []attrChain
		for _, a := range strings.Split(list, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			c, err := resolvePath(k, k.All, a)
			if err != nil {
				return nil, invalidValue("%v", err)
			}
			out = append(out, c)
		}
		return out, nil
	}
	var err *scimErr
	if p.include, err = parse(attributes); err != nil {
		return nil, err
	}
	if p.exclude, err = parse(excluded); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *projection) apply(doc map[string]any) map[string]any {
	if p == nil {
		return doc
	}
	if len(p.include) > 0 {
		out := map[string]any{"id": doc["id"], "schemas": doc["schemas"]}
		for _, c := range p.include {
			copyChain(out, doc, c)
		}
		doc = out
	}
	for _, c := range p.exclude {
		if c[0].Returned == "always" {
			continue
		}
		removeChain(doc, c)
	}
	return doc
}

func copyChain(dst, src map[string]any, c attrChain) {
	v, ok := src[c[0].Name]
	if !ok {
		return
	}
	if len(c) == 1 {
		dst[c[0].Name] = v
		return
	}
	switch x := v.(type) {
	case map[string]any:
		d, _ := dst[c[0].Name].(map[string]any)
		if d == nil {
			d = map[string]any{}
			dst[c[0].Name] = d
		}
		copyChain(d, x, c[1:])
	case []any:
		// Multi-valued: keep the sub-attribute of every element.
		var arr []any
		for _, e := range x {
			if em, ok := e.(map[string]any); ok {
				n := map[string]any{}
				copyChain(n, em, c[1:])
				if len(n) > 0 {
					arr = append(arr, n)
				}
			}
		}
		if len(arr) > 0 {
			dst[c[0].Name] = arr
		}
	}
}

func removeChain(doc map[string]any, c attrChain) {
	if len(c) == 1 {
		delete(doc, c[0].Name)
		return
	}
	switch x := doc[c[0].Name].(type) {
	case map[string]any:
		removeChain(x, c[1:])
	case []any:
		for _, e := range x {
			if em, ok := e.(map[string]any); ok {
				removeChain(em, c[1:])
			}
		}
	}
}
