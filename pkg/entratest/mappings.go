package entratest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Attribute mappings of the provisioning job's schema: what GET/PUT …/jobs/{id}/schema read
// and replace, and what provisionOnDemand sends.
//
// Sources:
//   - synchronization-synchronizationschema-update.md (PUT …/jobs/{jobId}/schema "fully replaces
//     the current schema"; 204 No Content);
//   - synchronization-attributemapping.md and -attributemappingsource.md (targetAttributeName,
//     matchingPriority, flowType, defaultValue; source {expression, name, type, parameters});
//   - "Reference for writing expressions for attribute mappings in Microsoft Entra ID"
//     (learn.microsoft.com/entra/identity/app-provisioning/functions-for-customizing-application-data):
//     [attribute], "string constant", Function(arg, …); Coalesce "returns the first source
//     value that isn't NULL"; Switch, Join, Append, ToLower, ToUpper;
//   - use-scim-to-provision-users-and-groups.md (the default user and group attribute tables
//     of a non-gallery SCIM app, which the two attribute lists below follow).
//
// The emulator evaluates only the functions listed in evalFunctions and answers 400 for any
// other function name, saying it is an emulator limit: the tool must not rely on the real
// service accepting what the emulator does not evaluate.

// mapping is one attribute mapping.
type mapping struct {
	Source       string `json:"source"` // the expression, e.g. [mail] or Coalesce([mail], [userPrincipalName])
	Target       string `json:"target"`
	Matching     int    `json:"matching,omitempty"`
	FlowType     string `json:"flowType,omitempty"`     // Always (default), ObjectAddOnly, …
	FlowBehavior string `json:"flowBehavior,omitempty"` // FlowWhenChanged (default), FlowAlways
	Default      string `json:"default,omitempty"`
}

// userSourceAttrs are the Entra user attributes a mapping may read (the default mapping
// table and the portal's source attribute list for users).
var userSourceAttrs = []string{"accountEnabled", "IsSoftDeleted", "userPrincipalName", "mail", "mailNickname",
	"displayName", "givenName", "surname", "objectId", "otherMails", "userType", "jobTitle", "department",
	"employeeId", "preferredLanguage", "telephoneNumber", "mobile", "city", "country", "streetAddress",
	"postalCode", "state", "physicalDeliveryOfficeName", "manager", "companyName"}

// groupSourceAttrs are the Entra group attributes a group mapping may read.
var groupSourceAttrs = []string{"displayName", "objectId", "members", "mailNickname", "mail", "description"}

// userTargetAttrs are the SCIM attributes of the customappsso user object (SCIM core user
// and the enterprise extension as Entra names them).
var userTargetAttrs = []string{"userName", "active", "displayName", "title", "preferredLanguage", "nickName",
	"emails[type eq \"work\"].value", "emails[type eq \"home\"].value", "emails[type eq \"other\"].value",
	"name.givenName", "name.familyName", "name.formatted", "name.middleName", "name.honorificPrefix",
	"name.honorificSuffix", "externalId", "userType", "locale", "timezone",
	"phoneNumbers[type eq \"work\"].value", "phoneNumbers[type eq \"mobile\"].value", "phoneNumbers[type eq \"fax\"].value",
	"addresses[type eq \"work\"].formatted", "addresses[type eq \"work\"].streetAddress", "addresses[type eq \"work\"].locality",
	"addresses[type eq \"work\"].region", "addresses[type eq \"work\"].postalCode", "addresses[type eq \"work\"].country",
	"roles[primary eq \"True\"].value",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}

// groupTargetAttrs are the SCIM attributes of the customappsso group object.
var groupTargetAttrs = []string{"displayName", "externalId", "members"}

// defaultActive is how the portal shows the default mapping of active: Entra's soft-delete
// flag inverted.
const defaultActive = `Switch([IsSoftDeleted], , "False", "True", "True", "False")`

// defaultUserMappings is the non-gallery SCIM app's default user mapping.
func defaultUserMappings() []mapping {
	return []mapping{
		{Source: "[userPrincipalName]", Target: "userName", Matching: 1},
		{Source: defaultActive, Target: "active"},
		{Source: "[displayName]", Target: "displayName"},
		{Source: "[mail]", Target: `emails[type eq "work"].value`},
		{Source: "[givenName]", Target: "name.givenName"},
		{Source: "[surname]", Target: "name.familyName"},
		{Source: "[mailNickname]", Target: "externalId"},
	}
}

// defaultGroupMappings is the non-gallery SCIM app's default group mapping.
func defaultGroupMappings() []mapping {
	return []mapping{
		{Source: "[displayName]", Target: "displayName", Matching: 1},
		{Source: "[objectId]", Target: "externalId"},
		{Source: "[members]", Target: "members"},
	}
}

func (j *job) userMaps() []mapping {
	if j.userMappings == nil {
		return defaultUserMappings()
	}
	return slices.Clone(j.userMappings)
}

func (j *job) groupMaps() []mapping {
	if j.groupMappings == nil {
		return defaultGroupMappings()
	}
	return slices.Clone(j.groupMappings)
}

// --- expressions ----------------------------------------------------------------------------

// expr is a parsed mapping expression: an attribute, a constant or a function call.
type expr struct {
	kind string // Attribute, Constant, Function
	name string // attribute or function name; constant value
	args []expr
	// empty: an omitted argument, as in Switch([x], , …)
	empty bool
}

// evalFunctions are the functions the emulator evaluates.
var evalFunctions = []string{"Coalesce", "Switch", "Join", "Append", "ToLower", "ToUpper"}

type exprParser struct {
	s   string
	pos int
}

// parseExpr parses one expression; the error says where it broke.
func parseExpr(s string) (expr, error) {
	p := &exprParser{s: s}
	e, err := p.parse()
	if err != nil {
		return expr{}, err
	}
	p.space()
	if p.pos != len(p.s) {
		return expr{}, fmt.Errorf("unexpected %q at position %d", p.s[p.pos:], p.pos+1)
	}
	return e, nil
}

func (p *exprParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *exprParser) parse() (expr, error) {
	p.space()
	if p.pos >= len(p.s) {
		return expr{}, fmt.Errorf("expression ends early")
	}
	switch c := p.s[p.pos]; c {
	case '[':
		end := strings.IndexByte(p.s[p.pos:], ']')
		if end < 0 {
			return expr{}, fmt.Errorf("unclosed [ at position %d", p.pos+1)
		}
		name := p.s[p.pos+1 : p.pos+end]
		p.pos += end + 1
		if strings.TrimSpace(name) == "" {
			return expr{}, fmt.Errorf("empty attribute name")
		}
		return expr{kind: "Attribute", name: name}, nil
	case '"':
		var b strings.Builder
		p.pos++
		for p.pos < len(p.s) {
			ch := p.s[p.pos]
			if ch == '\\' && p.pos+1 < len(p.s) {
				b.WriteByte(p.s[p.pos+1])
				p.pos += 2
				continue
			}
			if ch == '"' {
				p.pos++
				return expr{kind: "Constant", name: b.String()}, nil
			}
			b.WriteByte(ch)
			p.pos++
		}
		return expr{}, fmt.Errorf("unclosed string constant")
	case ',', ')':
		return expr{empty: true, kind: "Constant"}, nil
	default:
		start := p.pos
		for p.pos < len(p.s) && (isIdent(p.s[p.pos])) {
			p.pos++
		}
		name := p.s[start:p.pos]
		p.space()
		if name == "" || p.pos >= len(p.s) || p.s[p.pos] != '(' {
			return expr{}, fmt.Errorf("expected [attribute], \"constant\" or Function( at position %d", start+1)
		}
		p.pos++
		call := expr{kind: "Function", name: name}
		p.space()
		if p.pos < len(p.s) && p.s[p.pos] == ')' {
			p.pos++
			return call, nil
		}
		for {
			arg, err := p.parse()
			if err != nil {
				return expr{}, err
			}
			call.args = append(call.args, arg)
			p.space()
			if p.pos >= len(p.s) {
				return expr{}, fmt.Errorf("unclosed %s(", name)
			}
			if p.s[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.s[p.pos] == ')' {
				p.pos++
				return call, nil
			}
			return expr{}, fmt.Errorf("expected , or ) at position %d", p.pos+1)
		}
	}
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// check validates attribute and function names against the source object.
func (e expr) check(sourceAttrs []string) error {
	switch e.kind {
	case "Attribute":
		if !slices.ContainsFunc(sourceAttrs, func(a string) bool { return strings.EqualFold(a, e.name) }) {
			return fmt.Errorf("the source attribute '%s' does not exist", e.name)
		}
	case "Function":
		if !slices.Contains(evalFunctions, e.name) {
			return fmt.Errorf("the function '%s' is not evaluated by this emulator (it evaluates %s)", e.name, strings.Join(evalFunctions, ", "))
		}
		for _, a := range e.args {
			if err := a.check(sourceAttrs); err != nil {
				return err
			}
		}
	}
	return nil
}

// eval computes the value; "" stands for NULL (Entra sends no attribute whose value is empty).
func (e expr) eval(attr func(string) string) string {
	switch e.kind {
	case "Attribute":
		return attr(e.name)
	case "Constant":
		return e.name
	}
	vals := func() []string {
		out := make([]string, len(e.args))
		for i, a := range e.args {
			out[i] = a.eval(attr)
		}
		return out
	}
	switch e.name {
	case "Coalesce":
		for _, v := range vals() {
			if v != "" {
				return v
			}
		}
		return ""
	case "Switch":
		// Switch(source, defaultValue, key1, value1, key2, value2, …)
		v := vals()
		if len(v) < 2 {
			return ""
		}
		for i := 2; i+1 < len(v); i += 2 {
			if strings.EqualFold(v[0], v[i]) {
				return v[i+1]
			}
		}
		return v[1]
	case "Join":
		v := vals()
		if len(v) == 0 {
			return ""
		}
		var parts []string
		for _, s := range v[1:] {
			if s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, v[0])
	case "Append":
		v := vals()
		if len(v) != 2 || v[0] == "" {
			return ""
		}
		return v[0] + v[1]
	case "ToLower":
		if v := vals(); len(v) > 0 {
			return strings.ToLower(v[0])
		}
	case "ToUpper":
		if v := vals(); len(v) > 0 {
			return strings.ToUpper(v[0])
		}
	}
	return ""
}

// String renders the expression in the portal's syntax.
func (e expr) String() string {
	switch e.kind {
	case "Attribute":
		return "[" + e.name + "]"
	case "Constant":
		if e.empty {
			return ""
		}
		return `"` + strings.ReplaceAll(e.name, `"`, `\"`) + `"`
	}
	args := make([]string, len(e.args))
	for i, a := range e.args {
		args[i] = a.String()
	}
	return e.name + "(" + strings.Join(args, ", ") + ")"
}

// sourceJSON is the attributeMappingSource Graph returns for an expression.
func (e expr) sourceJSON(expression string) map[string]any {
	out := map[string]any{"expression": expression, "name": e.name, "type": e.kind, "parameters": []any{}}
	if e.kind == "Function" {
		params := []any{}
		for i, a := range e.args {
			params = append(params, map[string]any{"key": fmt.Sprintf("p%d", i+1), "value": a.sourceJSON(a.String())})
		}
		out["parameters"] = params
	}
	return out
}

// userAttr reads one source attribute of a user ("" when empty).
func userAttr(u User) func(string) string {
	return func(name string) string {
		switch strings.ToLower(name) {
		case "userprincipalname":
			return u.UserPrincipalName
		case "mail":
			return u.Mail
		case "mailnickname":
			return u.MailNickname
		case "displayname":
			return u.DisplayName
		case "givenname":
			return u.GivenName
		case "surname":
			return u.Surname
		case "objectid":
			return u.ID
		case "accountenabled":
			return boolString(u.AccountEnabled)
		case "issoftdeleted":
			// A disabled account counts as soft-deleted for provisioning (how-provisioning-works.md:
			// disabled users are disabled in the target).
			return boolString(!u.AccountEnabled)
		case "usertype":
			return u.UserType
		case "othermails":
			if len(u.OtherMails) > 0 {
				return u.OtherMails[0]
			}
		}
		return ""
	}
}

// mappedUser evaluates the user mappings into target attribute → value; empty values are left
// out, as Entra sends no attribute whose source is NULL.
func mappedUser(u User, maps []mapping) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		e, err := parseExpr(m.Source)
		if err != nil {
			continue // refused at PUT; defaults always parse
		}
		v := e.eval(userAttr(u))
		if v == "" {
			v = m.Default
		}
		if v != "" {
			out[m.Target] = v
		}
	}
	return out
}

// --- PUT …/jobs/{id}/schema -----------------------------------------------------------------

type putAttrMapping struct {
	TargetAttributeName *string         `json:"targetAttributeName"`
	MatchingPriority    int             `json:"matchingPriority"`
	FlowType            string          `json:"flowType"`
	FlowBehavior        string          `json:"flowBehavior"`
	DefaultValue        *string         `json:"defaultValue"`
	Source              json.RawMessage `json:"source"`
}

type putSource struct {
	Expression string `json:"expression"`
	Name       string `json:"name"`
	Type       string `json:"type"`
}

var flowTypes = []string{"Always", "ObjectAddOnly", "MultiValueAddOnly", "ValueAddOnly", "AttributeAddOnly"}

func hJobSchemaPut(t *Tenant, req *request, p params) *response {
	_, j, e := t.syncSPJob(p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	body, e := req.bodyObject("synchronizationSchema", "id", "version", "directories", "synchronizationRules")
	if e != nil {
		return t.errorResponse(req, e)
	}
	var rules []struct {
		ID             string `json:"id"`
		ObjectMappings []struct {
			SourceObjectName  string           `json:"sourceObjectName"`
			TargetObjectName  string           `json:"targetObjectName"`
			AttributeMappings []putAttrMapping `json:"attributeMappings"`
		} `json:"objectMappings"`
	}
	if ok, e := prop(body, "synchronizationRules", &rules); e != nil || !ok || len(rules) == 0 {
		return t.errorResponse(req, badRequest("The schema must contain its synchronization rules (PUT replaces the whole schema)."))
	}
	if rules[0].ID != j.ruleID {
		return t.errorResponse(req, badRequest("The synchronization rule '%s' does not exist in the schema of job '%s'.", rules[0].ID, j.id))
	}
	var users, groups []mapping
	seenUser, seenGroup := false, false
	for _, om := range rules[0].ObjectMappings {
		var srcAttrs, tgtAttrs []string
		switch {
		case om.SourceObjectName == "User" && om.TargetObjectName == userTargetObject:
			srcAttrs, tgtAttrs, seenUser = userSourceAttrs, userTargetAttrs, true
		case om.SourceObjectName == "Group" && om.TargetObjectName == groupTargetObj:
			srcAttrs, tgtAttrs, seenGroup = groupSourceAttrs, groupTargetAttrs, true
		default:
			return t.errorResponse(req, badRequest("The object mapping from '%s' to '%s' does not exist in this schema.", om.SourceObjectName, om.TargetObjectName))
		}
		list := []mapping{}
		matching := 0
		for _, am := range om.AttributeMappings {
			if am.TargetAttributeName == nil || !slices.Contains(tgtAttrs, *am.TargetAttributeName) {
				name := "<missing>"
				if am.TargetAttributeName != nil {
					name = *am.TargetAttributeName
				}
				return t.errorResponse(req, badRequest("The target attribute '%s' does not exist on object '%s'.", name, om.TargetObjectName))
			}
			var src putSource
			if err := json.Unmarshal(am.Source, &src); err != nil {
				return t.errorResponse(req, badRequest("Invalid source for attribute '%s'.", *am.TargetAttributeName))
			}
			expression := src.Expression
			if expression == "" && src.Type == "Attribute" {
				expression = "[" + src.Name + "]"
			}
			ex, err := parseExpr(expression)
			if err != nil {
				return t.errorResponse(req, badRequest("The expression '%s' for attribute '%s' is not valid: %v.", expression, *am.TargetAttributeName, err))
			}
			if err := ex.check(srcAttrs); err != nil {
				return t.errorResponse(req, badRequest("The expression '%s' for attribute '%s' is not valid: %v.", expression, *am.TargetAttributeName, err))
			}
			ft := am.FlowType
			if ft == "" {
				ft = "Always"
			}
			if !slices.Contains(flowTypes, ft) {
				return t.errorResponse(req, badRequest("The value '%s' is not a valid attributeFlowType.", ft))
			}
			if am.MatchingPriority > 0 {
				matching++
			}
			m := mapping{Source: expression, Target: *am.TargetAttributeName, Matching: am.MatchingPriority, FlowType: ft, FlowBehavior: am.FlowBehavior}
			if am.DefaultValue != nil {
				m.Default = *am.DefaultValue
			}
			list = append(list, m)
		}
		if matching == 0 {
			return t.errorResponse(req, badRequest("The object mapping '%s' needs at least one matching attribute (matchingPriority > 0).", om.SourceObjectName))
		}
		if om.SourceObjectName == "User" {
			users = list
		} else {
			groups = list
		}
	}
	if !seenUser || !seenGroup {
		return t.errorResponse(req, badRequest("The schema must keep the user and the group object mappings."))
	}
	j.userMappings, j.groupMappings = users, groups
	return &response{status: http.StatusNoContent, header: http.Header{}}
}

// attributeMappingsJSON renders mappings as Graph's attributeMapping objects.
func attributeMappingsJSON(maps []mapping) []any {
	out := []any{}
	for _, m := range maps {
		e, err := parseExpr(m.Source)
		if err != nil {
			continue
		}
		ft, fb := m.FlowType, m.FlowBehavior
		if ft == "" {
			ft = "Always"
		}
		if fb == "" {
			fb = "FlowWhenChanged"
		}
		var def any
		if m.Default != "" {
			def = m.Default
		}
		out = append(out, map[string]any{
			"defaultValue": def, "exportMissingReferences": false, "flowBehavior": fb, "flowType": ft,
			"matchingPriority": m.Matching, "targetAttributeName": m.Target, "source": e.sourceJSON(m.Source),
		})
	}
	return out
}

// attributesJSON lists a directory object's attributes (names and type only).
func attributesJSON(names []string) []any {
	out := make([]any, 0, len(names))
	for _, n := range names {
		out = append(out, map[string]any{"name": n, "type": "String"})
	}
	return out
}
