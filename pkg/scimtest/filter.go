package scimtest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// SCIM filter support (RFC 7644 §3.4.2.2): attribute paths with optional
// schema URN and sub-attribute; operators eq ne co sw ew gt ge lt le pr;
// and, or, not(…), parentheses; value paths attr[filter]; and, as an
// extension Entra-style tools use, attr[filter].sub op value.

const (
	maxFilterLen   = 4096
	maxFilterDepth = 32
)

type tokKind int

const (
	tkEOF tokKind = iota
	tkWord
	tkString
	tkLParen
	tkRParen
	tkLBrack
	tkRBrack
)

type token struct {
	kind tokKind
	text string // word text, or the decoded string literal
	pos  int
}

func tokenize(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch c {
		case ' ', '\t':
			i++
		case '(':
			out = append(out, token{tkLParen, "(", i})
			i++
		case ')':
			out = append(out, token{tkRParen, ")", i})
			i++
		case '[':
			out = append(out, token{tkLBrack, "[", i})
			i++
		case ']':
			out = append(out, token{tkRBrack, "]", i})
			i++
		case '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string starting at position %d", i+1)
			}
			var v string
			if err := json.Unmarshal([]byte(s[i:j+1]), &v); err != nil {
				return nil, fmt.Errorf("invalid string at position %d", i+1)
			}
			out = append(out, token{tkString, v, i})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t()[]\"", rune(s[j])) {
				j++
			}
			out = append(out, token{tkWord, s[i:j], i})
			i = j
		}
	}
	return append(out, token{tkEOF, "", len(s)}), nil
}

// node is a parsed filter.
type node interface {
	eval(obj map[string]any) bool
}

type logicalNode struct {
	and  bool
	l, r node
}

func (n *logicalNode) eval(obj map[string]any) bool {
	if n.and {
		return n.l.eval(obj) && n.r.eval(obj)
	}
	return n.l.eval(obj) || n.r.eval(obj)
}

type notNode struct{ x node }

func (n *notNode) eval(obj map[string]any) bool { return !n.x.eval(obj) }

// attrChain is a resolved attribute path: one to three attribute
// definitions from the resource (or element) down.
type attrChain []*attrDef

func (c attrChain) last() *attrDef { return c[len(c)-1] }

func (c attrChain) String() string {
	parts := make([]string, len(c))
	for i, d := range c {
		parts[i] = d.Name
	}
	return strings.Join(parts, ".")
}

// values collects the values at chain in obj, flattening multi-valued
// attributes. A complex terminal attribute yields its "value" sub-attribute.
func (c attrChain) values(obj map[string]any) []any {
	cur := []any{obj}
	for _, d := range c {
		var next []any
		for _, v := range cur {
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			x, ok := m[d.Name]
			if !ok || x == nil {
				continue
			}
			if arr, ok := x.([]any); ok {
				next = append(next, arr...)
			} else {
				next = append(next, x)
			}
		}
		cur = next
	}
	if t := c.last(); t.Type == tComplex {
		var out []any
		for _, v := range cur {
			if m, ok := v.(map[string]any); ok {
				if x, ok := m["value"]; ok {
					out = append(out, x)
				}
			}
		}
		return out
	}
	return cur
}

// compareDef is the definition whose type and caseExact govern a
// comparison at chain.
func (c attrChain) compareDef() *attrDef {
	t := c.last()
	if t.Type == tComplex {
		if v := t.sub("value"); v != nil {
			return v
		}
	}
	return t
}

type compareNode struct {
	chain attrChain
	op    string // eq ne co sw ew gt ge lt le pr
	val   any    // string, bool, float64 or nil
}

func (n *compareNode) eval(obj map[string]any) bool {
	vals := n.chain.values(obj)
	present := false
	for _, v := range vals {
		if s, ok := v.(string); !ok || s != "" {
			present = true
		}
	}
	switch {
	case n.op == "pr":
		return present
	case n.val == nil && n.op == "eq":
		return !present
	case n.val == nil && n.op == "ne":
		return present
	case n.op == "ne":
		for _, v := range vals {
			if compare(n.chain.compareDef(), "eq", v, n.val) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if compare(n.chain.compareDef(), n.op, v, n.val) {
			return true
		}
	}
	return false
}

func compare(def *attrDef, op string, have, want any) bool {
	switch h := have.(type) {
	case bool:
		w, ok := want.(bool)
		if s, isStr := want.(string); isStr {
			w, ok = strings.EqualFold(s, "true"), strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
		}
		return ok && op == "eq" && h == w
	case string:
		w, ok := want.(string)
		if !ok {
			return false
		}
		if !def.CaseExact {
			h, w = strings.ToLower(h), strings.ToLower(w)
		}
		switch op {
		case "eq":
			return h == w
		case "co":
			return strings.Contains(h, w)
		case "sw":
			return strings.HasPrefix(h, w)
		case "ew":
			return strings.HasSuffix(h, w)
		case "gt":
			return h > w
		case "ge":
			return h >= w
		case "lt":
			return h < w
		case "le":
			return h <= w
		}
	}
	return false
}

// valuePathNode is attr[filter], optionally followed by .sub op value.
type valuePathNode struct {
	attr   *attrDef
	prefix attrChain // the attribute chain up to and including attr
	filter node
	cmp    *compareNode // on the matching elements; nil: any element matches
}

func (n *valuePathNode) eval(obj map[string]any) bool {
	cur := []any{obj}
	for _, d := range n.prefix {
		var next []any
		for _, v := range cur {
			m, _ := v.(map[string]any)
			x, ok := m[d.Name]
			if !ok {
				continue
			}
			if arr, ok := x.([]any); ok {
				next = append(next, arr...)
			} else {
				next = append(next, x)
			}
		}
		cur = next
	}
	for _, e := range cur {
		m, ok := e.(map[string]any)
		if !ok || !n.filter.eval(m) {
			continue
		}
		if n.cmp == nil || n.cmp.eval(m) {
			return true
		}
	}
	return false
}

// filterParser parses a filter against a set of attribute definitions.
type filterParser struct {
	toks  []token
	i     int
	kind  *resourceKind // top-level context; nil inside brackets
	defs  []*attrDef    // attribute definitions in the current context
	depth int
}

func parseFilter(k *resourceKind, s string) (node, error) {
	return parseFilterIn(k, k.All, s)
}

// parseFilterIn parses a filter in the context defs (k.All for a resource,
// or an attribute's Sub for a value filter, with k nil).
func parseFilterIn(k *resourceKind, defs []*attrDef, s string) (node, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty filter")
	}
	if len(s) > maxFilterLen {
		return nil, fmt.Errorf("filter longer than %d characters", maxFilterLen)
	}
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, kind: k, defs: defs}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, fmt.Errorf("unexpected %q at position %d", t.text, t.pos+1)
	}
	return n, nil
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

func (p *filterParser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tkWord && strings.EqualFold(t.text, w)
}

func (p *filterParser) or() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &logicalNode{and: false, l: l, r: r}
	}
	return l, nil
}

func (p *filterParser) and() (node, error) {
	l, err := p.factor()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		p.next()
		r, err := p.factor()
		if err != nil {
			return nil, err
		}
		l = &logicalNode{and: true, l: l, r: r}
	}
	return l, nil
}

func (p *filterParser) factor() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxFilterDepth {
		return nil, fmt.Errorf("filter nested too deeply")
	}
	t := p.peek()
	switch {
	case t.kind == tkLParen:
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next().kind != tkRParen {
			return nil, fmt.Errorf("missing ) for ( at position %d", t.pos+1)
		}
		return n, nil
	case t.kind == tkWord && strings.EqualFold(t.text, "not") && p.toks[p.i+1].kind == tkLParen:
		p.next()
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next().kind != tkRParen {
			return nil, fmt.Errorf("missing ) for not( at position %d", t.pos+1)
		}
		return &notNode{n}, nil
	case t.kind == tkWord:
		return p.attrExpr()
	case t.kind == tkEOF:
		return nil, fmt.Errorf("unexpected end of filter")
	}
	return nil, fmt.Errorf("unexpected %q at position %d", t.text, t.pos+1)
}

func (p *filterParser) attrExpr() (node, error) {
	t := p.next()
	chain, err := resolvePath(p.kind, p.defs, t.text)
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tkLBrack {
		if p.kind == nil {
			return nil, fmt.Errorf("nested [ ] filters are not supported")
		}
		attr := chain.last()
		if !attr.Multi || attr.Type != tComplex {
			return nil, fmt.Errorf("%s is not a multi-valued complex attribute; [ ] cannot be used", chain)
		}
		open := p.next()
		sub := &filterParser{toks: p.toks, i: p.i, kind: nil, defs: attr.Sub, depth: p.depth}
		inner, err := sub.or()
		if err != nil {
			return nil, err
		}
		p.i = sub.i
		if p.next().kind != tkRBrack {
			return nil, fmt.Errorf("missing ] for [ at position %d", open.pos+1)
		}
		vp := &valuePathNode{attr: attr, prefix: chain, filter: inner}
		// Optional ".sub op value" right after "]".
		if nt := p.peek(); nt.kind == tkWord && strings.HasPrefix(nt.text, ".") && nt.pos == p.toks[p.i-1].pos+1 {
			p.next()
			sd := attr.sub(nt.text[1:])
			if sd == nil {
				return nil, fmt.Errorf("%s has no sub-attribute %q", attr.Name, nt.text[1:])
			}
			cmp, err := p.comparison(attrChain{sd})
			if err != nil {
				return nil, err
			}
			vp.cmp = cmp
		}
		return vp, nil
	}
	return p.comparison(chain)
}

var filterOps = map[string]bool{"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true, "ge": true, "lt": true, "le": true, "pr": true}

func (p *filterParser) comparison(chain attrChain) (*compareNode, error) {
	opTok := p.next()
	op := strings.ToLower(opTok.text)
	if opTok.kind != tkWord || !filterOps[op] {
		if opTok.kind == tkEOF {
			return nil, fmt.Errorf("missing operator after %s", chain)
		}
		return nil, fmt.Errorf("unknown operator %q at position %d", opTok.text, opTok.pos+1)
	}
	n := &compareNode{chain: chain, op: op}
	if op == "pr" {
		return n, nil
	}
	def := chain.compareDef()
	if def.Type == tComplex {
		return nil, fmt.Errorf("%s is complex; compare one of its sub-attributes", chain)
	}
	vt := p.next()
	switch vt.kind {
	case tkString:
		n.val = vt.text
	case tkWord:
		switch strings.ToLower(vt.text) {
		case "true":
			n.val = true
		case "false":
			n.val = false
		case "null":
			n.val = nil
			if op != "eq" && op != "ne" {
				return nil, fmt.Errorf("null can only be compared with eq or ne")
			}
		default:
			f, err := strconv.ParseFloat(vt.text, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid value %q at position %d (strings must be in double quotes)", vt.text, vt.pos+1)
			}
			n.val = f
		}
	default:
		return nil, fmt.Errorf("missing value after %s %s", chain, opTok.text)
	}
	switch def.Type {
	case tBoolean:
		if op != "eq" && op != "ne" {
			return nil, fmt.Errorf("%s is a boolean; only eq and ne apply", chain)
		}
		if s, ok := n.val.(string); ok && !strings.EqualFold(s, "true") && !strings.EqualFold(s, "false") {
			return nil, fmt.Errorf("%s is a boolean; compare it with true or false", chain)
		}
		if _, ok := n.val.(float64); ok {
			return nil, fmt.Errorf("%s is a boolean; compare it with true or false", chain)
		}
	default:
		switch n.val.(type) {
		case bool, float64:
			return nil, fmt.Errorf("%s is a string; the value must be in double quotes", chain)
		}
	}
	return n, nil
}

// resolvePath resolves an attribute path such as userName, name.givenName,
// meta.created, urn:…:User:userName or urn:…:enterprise:2.0:User:manager.value
// in the context defs. k is nil inside a value filter.
func resolvePath(k *resourceKind, defs []*attrDef, path string) (attrChain, error) {
	if path == "" {
		return nil, fmt.Errorf("missing attribute")
	}
	rest := path
	if k != nil {
		switch {
		case hasPrefixFold(rest, k.Schema+":"):
			rest = rest[len(k.Schema)+1:]
		case k == userKind && hasPrefixFold(rest, SchemaEnterpriseUser):
			after := rest[len(SchemaEnterpriseUser):]
			if after == "" {
				return attrChain{enterpriseAttr}, nil
			}
			if after[0] != ':' {
				return nil, fmt.Errorf("unknown attribute %q", path)
			}
			name, sub, hasSub := strings.Cut(after[1:], ".")
			d := enterpriseAttr.sub(name)
			if d == nil {
				return nil, fmt.Errorf("unknown attribute %q", path)
			}
			chain := attrChain{enterpriseAttr, d}
			if hasSub {
				sd := d.sub(sub)
				if sd == nil {
					return nil, fmt.Errorf("unknown attribute %q", path)
				}
				chain = append(chain, sd)
			}
			return chain, nil
		case hasPrefixFold(rest, "urn:"):
			return nil, fmt.Errorf("unknown schema in attribute %q", path)
		}
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	d := findDef(defs, name)
	if d == nil {
		return nil, fmt.Errorf("unknown attribute %q", path)
	}
	chain := attrChain{d}
	if hasSub {
		sd := d.sub(sub)
		if sd == nil {
			return nil, fmt.Errorf("unknown attribute %q", path)
		}
		chain = append(chain, sd)
	}
	return chain, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// eqTerms extracts attr eq "value" terms from a filter made only of such
// terms joined by "and"; ok is false otherwise. PATCH uses it to create the
// element a filtered path names when none matches.
func eqTerms(n node) (map[string]any, bool) {
	out := map[string]any{}
	var walk func(n node) bool
	walk = func(n node) bool {
		switch x := n.(type) {
		case *logicalNode:
			return x.and && walk(x.l) && walk(x.r)
		case *compareNode:
			if x.op != "eq" || len(x.chain) != 1 || x.val == nil || x.chain[0].Type == tComplex {
				return false
			}
			v := x.val
			if x.chain[0].Type == tBoolean {
				if s, ok := v.(string); ok {
					v = strings.EqualFold(s, "true")
				}
			}
			out[x.chain[0].Name] = v
			return true
		}
		return false
	}
	if !walk(n) {
		return nil, false
	}
	return out, true
}
