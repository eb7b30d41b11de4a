package scimtest

import (
	"net/http"
	"reflect"
	"strings"
)

// SCIM PATCH (RFC 7644 §3.5.2), with what Microsoft Entra sends: op names
// in any case ("Add", "Replace", "Remove"), string booleans, paths such as
// emails[type eq "work"].value and members[value eq "…"], remove of
// members with a value list, and path-less add/replace whose value keys
// may themselves be paths ("name.givenName", "urn:…:enterprise:2.0:User:department").

type patchOp struct {
	op       string // add, replace, remove
	path     string
	value    any
	hasValue bool
}

func parsePatchRequest(body map[string]any) ([]patchOp, *scimErr) {
	ok, err := schemasInclude(body, SchemaPatchOp)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(http.StatusBadRequest, "invalidSyntax", "schemas must include %s", SchemaPatchOp)
	}
	raw, _ := lookupFold(body, "Operations")
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, errf(http.StatusBadRequest, "invalidSyntax", "Operations must be a non-empty array")
	}
	var ops []patchOp
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, errf(http.StatusBadRequest, "invalidSyntax", "Operations[%d] must be an object", i)
		}
		var op patchOp
		o, _ := lookupFold(m, "op")
		os, _ := o.(string)
		op.op = strings.ToLower(os)
		switch op.op {
		case "add", "replace", "remove":
		default:
			return nil, errf(http.StatusBadRequest, "invalidSyntax", "Operations[%d].op must be add, replace or remove", i)
		}
		if p, ok := lookupFold(m, "path"); ok && p != nil {
			ps, ok := p.(string)
			if !ok {
				return nil, errf(http.StatusBadRequest, "invalidPath", "Operations[%d].path must be a string", i)
			}
			op.path = strings.TrimSpace(ps)
		}
		op.value, op.hasValue = lookupFold(m, "value")
		if op.op != "remove" && !op.hasValue {
			return nil, errf(http.StatusBadRequest, "invalidValue", "Operations[%d] (%s) needs a value", i, op.op)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// patchPath is a resolved PATCH path: attr[filter].sub, or a plain chain.
type patchPath struct {
	chain  attrChain // without filter: 1..3 definitions
	filter node      // on chain[0], which is then multi-valued
	sub    *attrDef  // with filter: optional sub-attribute of the elements
	text   string
}

func parsePatchPath(k *resourceKind, path string) (*patchPath, *scimErr) {
	bad := func(format string, args ...any) (*patchPath, *scimErr) {
		return nil, errf(http.StatusBadRequest, "invalidPath", format, args...)
	}
	i := strings.IndexByte(path, '[')
	if i < 0 {
		c, err := resolvePath(k, k.All, path)
		if err != nil {
			return bad("invalid path %q: %v", path, err)
		}
		return &patchPath{chain: c, text: path}, nil
	}
	// Find the matching ']' outside string literals.
	j, inStr := -1, false
	for x := i + 1; x < len(path); x++ {
		switch c := path[x]; {
		case inStr && c == '\\':
			x++
		case c == '"':
			inStr = !inStr
		case !inStr && c == ']':
			j = x
		}
		if j >= 0 {
			break
		}
	}
	if j < 0 {
		return bad("invalid path %q: missing ]", path)
	}
	c, err := resolvePath(k, k.All, path[:i])
	if err != nil {
		return bad("invalid path %q: %v", path, err)
	}
	attr := c.last()
	if len(c) != 1 || !attr.Multi || attr.Type != tComplex {
		return bad("invalid path %q: %s is not a multi-valued attribute", path, c)
	}
	f, ferr := parseFilterIn(nil, attr.Sub, path[i+1:j])
	if ferr != nil {
		return nil, errf(http.StatusBadRequest, "invalidFilter", "invalid filter in path %q: %v", path, ferr)
	}
	pp := &patchPath{chain: c, filter: f, text: path}
	if rest := path[j+1:]; rest != "" {
		if rest[0] != '.' || attr.sub(rest[1:]) == nil {
			return bad("invalid path %q: unknown sub-attribute %q", path, strings.TrimPrefix(rest, "."))
		}
		pp.sub = attr.sub(rest[1:])
	}
	return pp, nil
}

// applyPatch applies ops to doc (a copy of the stored document).
func applyPatch(k *resourceKind, doc map[string]any, ops []patchOp) *scimErr {
	for _, op := range ops {
		if op.path == "" {
			if op.op == "remove" {
				return errf(http.StatusBadRequest, "noTarget", "remove needs a path")
			}
			m, ok := op.value.(map[string]any)
			if !ok {
				return invalidValue("%s without a path needs an object value", op.op)
			}
			for key, v := range m {
				if strings.EqualFold(key, "schemas") {
					continue
				}
				if strings.EqualFold(key, SchemaEnterpriseUser) && k == userKind {
					if sm, ok := v.(map[string]any); ok {
						for sk, sv := range sm {
							if err := applyKey(k, doc, op.op, SchemaEnterpriseUser+":"+sk, sv); err != nil {
								return err
							}
						}
						continue
					}
				}
				if err := applyKey(k, doc, op.op, key, v); err != nil {
					return err
				}
			}
			continue
		}
		p, err := parsePatchPath(k, op.path)
		if err != nil {
			return err
		}
		if err := applyPath(doc, op, p); err != nil {
			return err
		}
	}
	return nil
}

// applyKey applies one member of a path-less add/replace value. Unknown
// attributes are ignored, as in POST.
func applyKey(k *resourceKind, doc map[string]any, op, key string, v any) *scimErr {
	p, err := parsePatchPath(k, key)
	if err != nil {
		if err.scimType == "invalidPath" {
			return nil
		}
		return err
	}
	return applyPath(doc, patchOp{op: op, path: key, value: v, hasValue: true}, p)
}

func mutabilityErr(d *attrDef, path string) *scimErr {
	return errf(http.StatusBadRequest, "mutability", "attribute %s is %s", path, d.Mutability)
}

func applyPath(doc map[string]any, op patchOp, p *patchPath) *scimErr {
	for _, d := range p.chain {
		if d.Mutability == mReadOnly {
			return mutabilityErr(d, p.text)
		}
	}
	if p.sub != nil && p.sub.Mutability == mReadOnly {
		return mutabilityErr(p.sub, p.text)
	}
	if p.filter != nil {
		return applyFiltered(doc, op, p)
	}
	return applyChain(doc, op, p)
}

func applyChain(doc map[string]any, op patchOp, p *patchPath) *scimErr {
	chain := p.chain
	target := chain.last()
	if target.Mutability == mWriteOnly {
		return nil // password: not supported, silently ignored as in POST
	}
	if op.op == "replace" && target.Mutability == mImmutable {
		return mutabilityErr(target, p.text)
	}
	// Walk to the map holding target.
	parents := []map[string]any{doc}
	m := doc
	for _, d := range chain[:len(chain)-1] {
		if d.Multi {
			return errf(http.StatusBadRequest, "invalidPath", "path %q needs a filter such as %s[type eq \"work\"]", p.text, d.Name)
		}
		child, ok := m[d.Name].(map[string]any)
		if !ok {
			if op.op == "remove" {
				return nil
			}
			child = map[string]any{}
			m[d.Name] = child
		}
		m = child
		parents = append(parents, m)
	}
	defer pruneEmpty(parents, chain)

	if op.op == "remove" {
		if target.Multi && op.hasValue && op.value != nil {
			return removeValues(m, target, op.value, p.text)
		}
		delete(m, target.Name)
		return nil
	}

	var nv any
	var err *scimErr
	if target.Multi {
		v := op.value
		if obj, ok := v.(map[string]any); ok {
			v = []any{obj} // a single element for a multi-valued attribute
		}
		nv, err = normalizeValue(target, v, p.text)
	} else {
		nv, err = normalizeSingle(target, op.value, p.text)
	}
	if err != nil {
		return err
	}
	if nv == nil {
		if op.op == "replace" || !target.Multi {
			delete(m, target.Name)
		}
		return nil
	}
	switch {
	case target.Multi && op.op == "add":
		existing, _ := m[target.Name].([]any)
		for _, e := range nv.([]any) {
			existing = addElement(target, existing, e.(map[string]any))
		}
		m[target.Name] = existing
	case target.Multi:
		m[target.Name] = nv
	case target.Type == tComplex:
		// add and replace of a complex attribute merge sub-attributes.
		existing, _ := m[target.Name].(map[string]any)
		if existing == nil {
			existing = map[string]any{}
		}
		for sk, sv := range nv.(map[string]any) {
			existing[sk] = sv
		}
		m[target.Name] = existing
	default:
		m[target.Name] = nv
	}
	return nil
}

// pruneEmpty removes complex attributes left empty along chain.
func pruneEmpty(parents []map[string]any, chain attrChain) {
	for i := len(parents) - 1; i >= 1; i-- {
		if len(parents[i]) == 0 {
			delete(parents[i-1], chain[i-1].Name)
		}
	}
	if last := chain.last(); len(parents) > 0 {
		if arr, ok := parents[len(parents)-1][last.Name].([]any); ok && len(arr) == 0 {
			delete(parents[len(parents)-1], last.Name)
		}
	}
}

// sameElement reports whether two elements of d are the same value.
func sameElement(d *attrDef, a, b map[string]any) bool {
	av, aok := a["value"].(string)
	bv, bok := b["value"].(string)
	if aok && bok && d.sub("value") != nil {
		if d.sub("value").CaseExact {
			if av != bv {
				return false
			}
		} else if !strings.EqualFold(av, bv) {
			return false
		}
		at, _ := a["type"].(string)
		bt, _ := b["type"].(string)
		return d.Name == "members" || at == "" || bt == "" || strings.EqualFold(at, bt)
	}
	return reflect.DeepEqual(a, b)
}

func addElement(d *attrDef, arr []any, e map[string]any) []any {
	for _, x := range arr {
		if xm, ok := x.(map[string]any); ok && sameElement(d, xm, e) {
			for k, v := range e {
				xm[k] = v
			}
			return arr
		}
	}
	return append(arr, e)
}

func removeValues(m map[string]any, d *attrDef, v any, path string) *scimErr {
	if obj, ok := v.(map[string]any); ok {
		v = []any{obj}
	}
	list, ok := v.([]any)
	if !ok {
		return invalidValue("%s: remove value must be an array of objects", path)
	}
	arr, _ := m[d.Name].([]any)
	var keep []any
	for _, x := range arr {
		xm, _ := x.(map[string]any)
		drop := false
		for _, r := range list {
			rm, ok := r.(map[string]any)
			if !ok {
				return invalidValue("%s: remove value must be an array of objects", path)
			}
			nr, err := normalizeSingle(d, rm, path)
			if err != nil {
				return err
			}
			if nm, ok := nr.(map[string]any); ok && sameElement(d, xm, nm) {
				drop = true
			}
		}
		if !drop {
			keep = append(keep, x)
		}
	}
	if len(keep) == 0 {
		delete(m, d.Name)
	} else {
		m[d.Name] = keep
	}
	return nil
}

func applyFiltered(doc map[string]any, op patchOp, p *patchPath) *scimErr {
	attr := p.chain[0]
	arr, _ := doc[attr.Name].([]any)
	var matches []int
	for i, e := range arr {
		if m, ok := e.(map[string]any); ok && p.filter.eval(m) {
			matches = append(matches, i)
		}
	}
	if op.op == "remove" {
		if p.sub != nil {
			for _, i := range matches {
				delete(arr[i].(map[string]any), p.sub.Name)
			}
			return nil
		}
		var keep []any
		mi := 0
		for i, e := range arr {
			if mi < len(matches) && matches[mi] == i {
				mi++
				continue
			}
			keep = append(keep, e)
		}
		if len(keep) == 0 {
			delete(doc, attr.Name)
		} else {
			doc[attr.Name] = keep
		}
		return nil
	}
	if p.sub != nil && op.op == "replace" && p.sub.Mutability == mImmutable {
		return mutabilityErr(p.sub, p.text)
	}
	if len(matches) == 0 {
		// Entra adds emails[type eq "work"].value to users that have no
		// work email yet: create the element the filter describes.
		seed, ok := eqTerms(p.filter)
		if !ok {
			return errf(http.StatusBadRequest, "noTarget", "no value of %s matches %q", attr.Name, p.text)
		}
		arr = append(arr, seed)
		matches = []int{len(arr) - 1}
	}
	for _, i := range matches {
		el := arr[i].(map[string]any)
		if p.sub != nil {
			nv, err := normalizeSingle(p.sub, op.value, p.text)
			if err != nil {
				return err
			}
			if nv == nil {
				delete(el, p.sub.Name)
			} else {
				el[p.sub.Name] = nv
			}
			continue
		}
		nv, err := normalizeSingle(attr, op.value, p.text)
		if err != nil {
			return err
		}
		if nm, ok := nv.(map[string]any); ok {
			for k, v := range nm {
				el[k] = v
			}
		}
	}
	doc[attr.Name] = arr
	return nil
}
