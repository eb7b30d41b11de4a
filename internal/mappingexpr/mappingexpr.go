// Package mappingexpr parses and evaluates Microsoft Entra attribute-mapping expressions, the
// syntax of "Reference for writing expressions for attribute mappings in Microsoft Entra ID"
// (learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data):
// an attribute in square brackets ([mail]), a string constant in double quotes ("x", with \"
// for a quote), or a function call Name(arg, arg, …) whose arguments are expressions and may
// be omitted (Switch([x], , "a", "b")).
//
// It is used to show, compare and encode mappings, and to predict what a mapping sends for a
// user (mappings check). Evaluate knows the functions the check needs; for any other function
// it reports that it cannot predict the value rather than guessing.
package mappingexpr

import (
	"fmt"
	"strings"
)

// Kind is what an expression node is, with Graph's attributeMappingSourceType names.
type Kind string

// The node kinds (attributeMappingSourceType: Attribute, Constant, Function).
const (
	Attribute Kind = "Attribute"
	Constant  Kind = "Constant"
	Function  Kind = "Function"
)

// Expr is a parsed expression.
type Expr struct {
	Kind Kind
	// Name is the attribute name, the constant's value or the function name.
	Name string
	Args []Expr
	// Omitted marks an argument left empty, as in Switch([x], , …).
	Omitted bool
}

// Parse parses one expression. The error names the position (1-based) where it broke.
func Parse(s string) (Expr, error) {
	p := &parser{s: s}
	e, err := p.expr()
	if err != nil {
		return Expr{}, err
	}
	p.space()
	if p.pos != len(p.s) {
		return Expr{}, fmt.Errorf("unexpected %q at position %d", p.s[p.pos:], p.pos+1)
	}
	if e.Omitted {
		return Expr{}, fmt.Errorf("empty expression")
	}
	return e, nil
}

type parser struct {
	s   string
	pos int
}

func (p *parser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *parser) expr() (Expr, error) {
	p.space()
	if p.pos >= len(p.s) {
		return Expr{Kind: Constant, Omitted: true}, nil
	}
	switch c := p.s[p.pos]; c {
	case '[':
		end := strings.IndexByte(p.s[p.pos:], ']')
		if end < 0 {
			return Expr{}, fmt.Errorf("unclosed [ at position %d", p.pos+1)
		}
		name := strings.TrimSpace(p.s[p.pos+1 : p.pos+end])
		if name == "" {
			return Expr{}, fmt.Errorf("empty attribute name at position %d", p.pos+1)
		}
		p.pos += end + 1
		return Expr{Kind: Attribute, Name: name}, nil
	case '"':
		var b strings.Builder
		start := p.pos
		p.pos++
		for p.pos < len(p.s) {
			ch := p.s[p.pos]
			if ch == '\\' && p.pos+1 < len(p.s) {
				b.WriteByte(p.s[p.pos+1])
				p.pos += 2
				continue
			}
			p.pos++
			if ch == '"' {
				return Expr{Kind: Constant, Name: b.String()}, nil
			}
			b.WriteByte(ch)
		}
		return Expr{}, fmt.Errorf("unclosed string constant at position %d", start+1)
	case ',', ')':
		return Expr{Kind: Constant, Omitted: true}, nil
	default:
		start := p.pos
		for p.pos < len(p.s) && isIdent(p.s[p.pos]) {
			p.pos++
		}
		name := p.s[start:p.pos]
		p.space()
		if name == "" || p.pos >= len(p.s) || p.s[p.pos] != '(' {
			return Expr{}, fmt.Errorf("expected [attribute], \"constant\" or Function( at position %d", start+1)
		}
		p.pos++
		call := Expr{Kind: Function, Name: name}
		p.space()
		if p.pos < len(p.s) && p.s[p.pos] == ')' {
			p.pos++
			return call, nil
		}
		for {
			arg, err := p.expr()
			if err != nil {
				return Expr{}, err
			}
			call.Args = append(call.Args, arg)
			p.space()
			if p.pos >= len(p.s) {
				return Expr{}, fmt.Errorf("unclosed %s( at position %d", name, start+1)
			}
			switch p.s[p.pos] {
			case ',':
				p.pos++
			case ')':
				p.pos++
				return call, nil
			default:
				return Expr{}, fmt.Errorf("expected , or ) at position %d", p.pos+1)
			}
		}
	}
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// String renders the expression in the portal's canonical spelling (", " between arguments).
func (e Expr) String() string {
	switch e.Kind {
	case Attribute:
		return "[" + e.Name + "]"
	case Constant:
		if e.Omitted {
			return ""
		}
		return `"` + strings.ReplaceAll(strings.ReplaceAll(e.Name, `\`, `\\`), `"`, `\"`) + `"`
	}
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = a.String()
	}
	return e.Name + "(" + strings.Join(args, ", ") + ")"
}

// Attributes lists the source attributes the expression reads, in order, without repeats.
func (e Expr) Attributes() []string {
	var out []string
	var walk func(Expr)
	walk = func(x Expr) {
		if x.Kind == Attribute {
			for _, o := range out {
				if strings.EqualFold(o, x.Name) {
					return
				}
			}
			out = append(out, x.Name)
		}
		for _, a := range x.Args {
			walk(a)
		}
	}
	walk(e)
	return out
}

// Canonical re-renders an expression string; an unparsable one is returned trimmed.
func Canonical(s string) string {
	e, err := Parse(s)
	if err != nil {
		return strings.TrimSpace(s)
	}
	return e.String()
}

// ErrUnknownFunction means Evaluate met a function whose result it does not predict.
type ErrUnknownFunction struct{ Name string }

func (e *ErrUnknownFunction) Error() string {
	return "cannot predict the value of " + e.Name + "(…)"
}

// Evaluate computes what the expression yields for one object; attr returns a source
// attribute's value ("" for NULL). "" means NULL: Entra sends no attribute whose value is
// NULL. Coalesce returns its first non-NULL argument; Switch(source, default, key, value, …)
// the value of the first matching key, else default; Join(separator, …) the non-NULL values
// joined; Append(source, suffix); ToLower and ToUpper.
func (e Expr) Evaluate(attr func(string) string) (string, error) {
	switch e.Kind {
	case Attribute:
		return attr(e.Name), nil
	case Constant:
		return e.Name, nil
	}
	vals := make([]string, len(e.Args))
	for i, a := range e.Args {
		v, err := a.Evaluate(attr)
		if err != nil {
			return "", err
		}
		vals[i] = v
	}
	switch strings.ToLower(e.Name) {
	case "coalesce":
		for _, v := range vals {
			if v != "" {
				return v, nil
			}
		}
		return "", nil
	case "switch":
		if len(vals) < 2 {
			return "", nil
		}
		for i := 2; i+1 < len(vals); i += 2 {
			if strings.EqualFold(vals[0], vals[i]) {
				return vals[i+1], nil
			}
		}
		return vals[1], nil
	case "join":
		if len(vals) == 0 {
			return "", nil
		}
		var parts []string
		for _, v := range vals[1:] {
			if v != "" {
				parts = append(parts, v)
			}
		}
		return strings.Join(parts, vals[0]), nil
	case "append":
		if len(vals) != 2 || vals[0] == "" {
			return "", nil
		}
		return vals[0] + vals[1], nil
	case "tolower":
		if len(vals) > 0 {
			return strings.ToLower(vals[0]), nil
		}
		return "", nil
	case "toupper":
		if len(vals) > 0 {
			return strings.ToUpper(vals[0]), nil
		}
		return "", nil
	}
	return "", &ErrUnknownFunction{Name: e.Name}
}
