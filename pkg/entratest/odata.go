package entratest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// literal is a $filter operand: a quoted string or a bare token (GUID, date-time, number, boolean).
type literal struct {
	text   string
	quoted bool
}

// clause is one comparison of a $filter, e.g. displayName eq 'x', id in ('a','b') or
// tags/any(t:t eq 'x') (op "any").
type clause struct {
	prop   string
	op     string
	values []literal
}

type token struct {
	kind byte // 'w' word, 's' string, '(' ')' ','
	text string
}

func filterSyntax(format string, args ...any) *apiError {
	e := badRequest(format, args...)
	e.message = "Invalid filter clause: " + e.message
	return e
}

func filterUnsupported(prop, resource string) *apiError {
	return newErr(http.StatusBadRequest, "Request_UnsupportedQuery",
		"Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", prop, resource)
}

func tokenize(s string) ([]token, *apiError) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case ' ', '\t':
			i++
		case '(', ')', ',':
			out = append(out, token{kind: c, text: string(c)})
			i++
		case '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, filterSyntax("unterminated string literal in '%s'.", s)
			}
			out = append(out, token{kind: 's', text: b.String()})
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t(),'", rune(s[j])) {
				j++
			}
			out = append(out, token{kind: 'w', text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

type filterParser struct {
	toks []token
	pos  int
	src  string
	res  string
}

func (p *filterParser) next() token {
	if p.pos >= len(p.toks) {
		return token{}
	}
	t := p.toks[p.pos]
	p.pos++
	return t
}

func (p *filterParser) peek() token {
	if p.pos >= len(p.toks) {
		return token{}
	}
	return p.toks[p.pos]
}

func (p *filterParser) literal() (literal, *apiError) {
	t := p.next()
	switch t.kind {
	case 's':
		return literal{text: t.text, quoted: true}, nil
	case 'w':
		return literal{text: t.text}, nil
	}
	return literal{}, filterSyntax("expected a literal in '%s'.", p.src)
}

func (p *filterParser) clause() (clause, *apiError) {
	w := p.next()
	if w.kind != 'w' {
		return clause{}, filterSyntax("syntax error at position %d in '%s'.", p.pos, p.src)
	}
	if p.peek().kind == '(' && strings.EqualFold(w.text, "startswith") {
		// startswith(prop,'value'): a function, not an operator. Graph serves it on the
		// users and groups collections by default (without ConsistencyLevel) for displayName,
		// userPrincipalName, mail and a few more properties
		// (https://learn.microsoft.com/graph/aad-advanced-queries, "Support for filter by
		// properties of Microsoft Entra ID (directory) objects"); each handler says which.
		p.next()
		prop := p.next()
		if prop.kind != 'w' || p.next().kind != ',' {
			return clause{}, filterSyntax("invalid startswith expression in '%s'.", p.src)
		}
		lit, e := p.literal()
		if e != nil {
			return clause{}, e
		}
		if p.next().kind != ')' {
			return clause{}, filterSyntax("')' expected in '%s'.", p.src)
		}
		return clause{prop: prop.text, op: "startswith", values: []literal{lit}}, nil
	}
	if p.peek().kind == '(' {
		if !strings.HasSuffix(strings.ToLower(w.text), "/any") {
			return clause{}, filterUnsupported(w.text, p.res)
		}
		p.next()
		v := p.next()
		if v.kind != 'w' || !strings.Contains(v.text, ":") {
			return clause{}, filterSyntax("invalid lambda expression in '%s'.", p.src)
		}
		name, rest, _ := strings.Cut(v.text, ":")
		if rest == "" {
			r := p.next()
			if r.kind != 'w' {
				return clause{}, filterSyntax("invalid lambda expression in '%s'.", p.src)
			}
			rest = r.text
		}
		if name == "" || rest != name {
			return clause{}, filterSyntax("invalid lambda expression in '%s'.", p.src)
		}
		if op := p.next(); op.kind != 'w' || !strings.EqualFold(op.text, "eq") {
			return clause{}, filterUnsupported(w.text, p.res)
		}
		lit, e := p.literal()
		if e != nil {
			return clause{}, e
		}
		if p.next().kind != ')' {
			return clause{}, filterSyntax("')' expected in '%s'.", p.src)
		}
		return clause{prop: w.text[:len(w.text)-len("/any")], op: "any", values: []literal{lit}}, nil
	}
	op := p.next()
	if op.kind != 'w' {
		return clause{}, filterSyntax("syntax error at position %d in '%s'.", p.pos, p.src)
	}
	c := clause{prop: w.text, op: strings.ToLower(op.text)}
	switch c.op {
	case "eq", "ne", "ge", "gt", "le", "lt":
		lit, e := p.literal()
		if e != nil {
			return clause{}, e
		}
		c.values = []literal{lit}
	case "in":
		if p.next().kind != '(' {
			return clause{}, filterSyntax("'(' expected after 'in' in '%s'.", p.src)
		}
		for {
			lit, e := p.literal()
			if e != nil {
				return clause{}, e
			}
			c.values = append(c.values, lit)
			t := p.next()
			if t.kind == ')' {
				break
			}
			if t.kind != ',' {
				return clause{}, filterSyntax("',' or ')' expected in '%s'.", p.src)
			}
		}
	case "startswith", "endswith", "contains", "has":
		return clause{}, filterUnsupported(w.text, p.res)
	default:
		return clause{}, filterSyntax("unknown operator '%s' in '%s'.", op.text, p.src)
	}
	return c, nil
}

// parseFilter parses conjunctions ("and") of simple clauses. resource names the entity type in
// error messages.
func parseFilter(s, resource string) ([]clause, *apiError) {
	toks, e := tokenize(s)
	if e != nil {
		return nil, e
	}
	if len(toks) == 0 {
		return nil, filterSyntax("the filter is empty.")
	}
	p := &filterParser{toks: toks, src: s, res: resource}
	var out []clause
	for {
		c, e := p.clause()
		if e != nil {
			return nil, e
		}
		out = append(out, c)
		if p.pos >= len(p.toks) {
			return out, nil
		}
		t := p.next()
		switch {
		case t.kind == 'w' && strings.EqualFold(t.text, "and"):
		case t.kind == 'w' && strings.EqualFold(t.text, "or"):
			return nil, newErr(http.StatusBadRequest, "Request_UnsupportedQuery",
				"Unsupported or invalid query filter clause specified: 'or' is not supported on resource '%s'.", resource)
		default:
			return nil, filterSyntax("syntax error at position %d in '%s'.", p.pos, s)
		}
	}
}

// stringValue requires a quoted string literal for a String-typed property.
func (c clause) stringValue() (string, *apiError) {
	v := c.values[0]
	if !v.quoted {
		return "", badRequest("A binary operator with incompatible types was detected. Found operand types 'Edm.String' and '%s' for operator kind 'Equal'.", bareType(v.text))
	}
	return v.text, nil
}

// guidValue requires a bare GUID literal for an Edm.Guid property.
func (c clause) guidValue() (string, *apiError) {
	v := c.values[0]
	if v.quoted {
		return "", badRequest("A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.String' for operator kind 'Equal'.")
	}
	if !isGUID(v.text) {
		return "", badRequest("Unrecognized 'Edm.Guid' literal '%s' in '$filter'.", v.text)
	}
	return strings.ToLower(v.text), nil
}

func bareType(s string) string {
	switch {
	case isGUID(s):
		return "Edm.Guid"
	case s == "true" || s == "false":
		return "Edm.Boolean"
	}
	if _, err := strconv.Atoi(s); err == nil {
		return "Edm.Int32"
	}
	return "Edm.DateTimeOffset"
}

func (c clause) is(prop, op string) bool { return strings.EqualFold(c.prop, prop) && c.op == op }

// --- $select / $top / paging ---------------------------------------------------------------------

// allowQuery rejects system query options ($...) other than the listed ones.
func (req *request) allowQuery(opts ...string) *apiError {
	for k := range req.query {
		if !strings.HasPrefix(k, "$") {
			continue
		}
		ok := false
		for _, o := range opts {
			if strings.EqualFold(k, o) {
				ok = true
			}
		}
		if !ok {
			return badRequest("Query option '%s' is not supported on this resource.", k)
		}
	}
	return nil
}

func (req *request) q(name string) (string, bool) {
	for k, v := range req.query {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// selectFields parses $select against the entity's known property names (case-insensitive) and
// returns canonical names; nil when $select is absent.
func (req *request) selectFields(typeName string, known []string) ([]string, *apiError) {
	raw, ok := req.q("$select")
	if !ok {
		return nil, nil
	}
	var out []string
	for _, f := range strings.Split(raw, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		found := ""
		for _, k := range known {
			if strings.EqualFold(k, f) {
				found = k
			}
		}
		if found == "" {
			return nil, badRequest("Could not find a property named '%s' on type 'microsoft.graph.%s'.", f, typeName)
		}
		out = append(out, found)
	}
	if len(out) == 0 {
		return nil, badRequest("The $select query option is empty.")
	}
	return out, nil
}

// project returns the selected properties (plus id), the default set when sel is nil and defaults
// is non-nil, or everything.
func project(full map[string]any, sel, defaults []string) map[string]any {
	keys := sel
	if keys == nil {
		keys = defaults
	}
	if keys == nil {
		out := make(map[string]any, len(full))
		for k, v := range full {
			out[k] = v
		}
		return out
	}
	out := map[string]any{"id": full["id"]}
	for _, k := range keys {
		out[k] = full[k]
	}
	for k, v := range full {
		if strings.HasPrefix(k, "@odata.") {
			out[k] = v
		}
	}
	return out
}

func (req *request) top(def, limit int) (int, *apiError) {
	raw, ok := req.q("$top")
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > limit {
		return 0, badRequest("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", raw, limit)
	}
	return n, nil
}

func (req *request) contextURL(fragment string) string {
	return req.baseURL + "/v1.0/$metadata#" + fragment
}

// page slices a collection with $top/$skiptoken and builds the OData collection response.
func (req *request) page(items []map[string]any, contextFragment string, def, limit int) (map[string]any, *apiError) {
	top, e := req.top(def, limit)
	if e != nil {
		return nil, e
	}
	offset := 0
	if tok, ok := req.q("$skiptoken"); ok {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "entratest:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(raw), "entratest:") || n < 0 {
			return nil, badRequest("The $skiptoken '%s' is invalid.", tok)
		}
		offset = n
	}
	if offset > len(items) {
		offset = len(items)
	}
	end := min(offset+top, len(items))
	value := items[offset:end]
	if value == nil {
		value = []map[string]any{}
	}
	out := map[string]any{"@odata.context": req.contextURL(contextFragment), "value": value}
	if end < len(items) {
		var parts []string
		for _, p := range strings.Split(req.rawQuery, "&") {
			k, _, _ := strings.Cut(p, "=")
			if dk, err := url.QueryUnescape(k); p == "" || (err == nil && strings.EqualFold(dk, "$skiptoken")) {
				continue
			}
			parts = append(parts, p)
		}
		parts = append(parts, "$skiptoken="+base64.RawURLEncoding.EncodeToString([]byte("entratest:"+strconv.Itoa(end))))
		segs := make([]string, len(req.segs))
		for i, s := range req.segs {
			segs[i] = url.PathEscape(s)
		}
		out["@odata.nextLink"] = req.baseURL + "/" + strings.Join(segs, "/") + "?" + strings.Join(parts, "&")
	}
	return out, nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
