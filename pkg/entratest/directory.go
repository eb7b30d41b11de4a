package entratest

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

func (t *Tenant) findUser(idOrUPN string) *User {
	if idOrUPN == "" {
		return nil
	}
	for _, u := range t.users {
		if eq(u.ID, idOrUPN) || eq(u.UserPrincipalName, idOrUPN) {
			return u
		}
	}
	return nil
}

func (t *Tenant) findGroup(id string) *Group {
	if id == "" {
		return nil
	}
	for _, g := range t.groups {
		if eq(g.ID, id) {
			return g
		}
	}
	return nil
}

// --- users --------------------------------------------------------------------------------------

var userProps = []string{"id", "userPrincipalName", "mail", "displayName", "accountEnabled", "userType", "givenName",
	"surname", "otherMails", "mailNickname", "businessPhones", "jobTitle", "mobilePhone", "officeLocation",
	"preferredLanguage", "createdDateTime"}

// userDefaults is what Graph returns for a user without $select (no accountEnabled, no userType).
var userDefaults = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName"}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func userJSON(u *User) map[string]any {
	return map[string]any{
		"@odata.type":       "#microsoft.graph.user",
		"id":                u.ID,
		"userPrincipalName": u.UserPrincipalName,
		"mail":              nullable(u.Mail),
		"displayName":       u.DisplayName,
		"accountEnabled":    u.AccountEnabled,
		"userType":          u.UserType,
		"givenName":         nullable(u.GivenName),
		"surname":           nullable(u.Surname),
		"otherMails":        append([]string{}, u.OtherMails...),
		"mailNickname":      u.MailNickname,
		"businessPhones":    []string{},
		"jobTitle":          nil,
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
		"createdDateTime":   "2024-01-15T09:00:00Z",
	}
}

// projectEntity projects an entity for a single GET or a plain list (no @odata.type member).
func projectEntity(full map[string]any, sel, defaults []string) map[string]any {
	out := project(full, sel, defaults)
	delete(out, "@odata.type")
	return out
}

func hUserGet(t *Tenant, req *request, p params) *response {
	if e := req.allowQuery("$select"); e != nil {
		return t.errorResponse(req, e)
	}
	key := p.userKey
	if !isGUID(key) && !strings.Contains(key, "@") {
		return t.errorResponse(req, invalidObjectID(key))
	}
	u := t.findUser(key)
	if u == nil {
		return t.errorResponse(req, notFound(key))
	}
	sel, e := req.selectFields("user", userProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	out := projectEntity(userJSON(u), sel, userDefaults)
	out["@odata.context"] = req.contextURL("users/$entity")
	return jsonResponse(http.StatusOK, out)
}

func hUserList(t *Tenant, req *request, _ params) *response {
	if e := req.allowQuery("$select", "$filter", "$top", "$skiptoken"); e != nil {
		return t.errorResponse(req, e)
	}
	sel, e := req.selectFields("user", userProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	var clauses []clause
	if f, ok := req.q("$filter"); ok {
		if clauses, e = parseFilter(f, "User"); e != nil {
			return t.errorResponse(req, e)
		}
		for _, c := range clauses {
			switch {
			case c.is("mail", "eq"), c.is("userPrincipalName", "eq"), c.is("otherMails", "any"),
				c.is("id", "eq"), c.is("displayName", "eq"), c.is("mailNickname", "eq"):
				if _, e := c.stringValue(); e != nil {
					return t.errorResponse(req, e)
				}
			case c.is("displayName", "startswith"), c.is("userPrincipalName", "startswith"), c.is("mail", "startswith"):
				if _, e := c.stringValue(); e != nil {
					return t.errorResponse(req, e)
				}
			case c.is("id", "in"), c.is("userPrincipalName", "in"):
				// Graph expands in to ORs and allows 15 (its error text below).
				if len(c.values) > 15 {
					return t.errorResponse(req, badRequest("Too many child clauses specified in search filter expression containing 'OR' operators: %d. Max allowed: 15.", len(c.values)))
				}
				for _, v := range c.values {
					if !v.quoted {
						return t.errorResponse(req, badRequest("A binary operator with incompatible types was detected. Found operand types 'Edm.String' and '%s' for operator kind 'Equal'.", bareType(v.text)))
					}
				}
			default:
				return t.errorResponse(req, filterUnsupported(c.prop, "User"))
			}
		}
	}
	var items []map[string]any
	for _, u := range t.users {
		if userMatches(u, clauses) {
			items = append(items, projectEntity(userJSON(u), sel, userDefaults))
		}
	}
	out, e := req.page(items, "users", 100, 999)
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, out)
}

func userMatches(u *User, clauses []clause) bool {
	for _, c := range clauses {
		v := c.values[0].text
		ok := false
		switch {
		case c.op == "in" && eq(c.prop, "userPrincipalName"):
			ok = slices.ContainsFunc(c.values, func(l literal) bool { return eq(l.text, u.UserPrincipalName) })
		case c.op == "in":
			ok = slices.ContainsFunc(c.values, func(l literal) bool { return eq(l.text, u.ID) })
		case c.op == "any":
			ok = slices.ContainsFunc(u.OtherMails, func(m string) bool { return eq(m, v) })
		case c.op == "startswith":
			// Graph compares case-insensitively here too.
			ok = hasPrefixFold(map[string]string{"displayname": u.DisplayName, "userprincipalname": u.UserPrincipalName, "mail": u.Mail}[strings.ToLower(c.prop)], v)
		case eq(c.prop, "mail"):
			ok = u.Mail != "" && eq(u.Mail, v)
		case eq(c.prop, "userPrincipalName"):
			ok = eq(u.UserPrincipalName, v)
		case eq(c.prop, "id"):
			ok = eq(u.ID, v)
		case eq(c.prop, "displayName"):
			ok = eq(u.DisplayName, v)
		case eq(c.prop, "mailNickname"):
			ok = eq(u.MailNickname, v)
		}
		if !ok {
			return false
		}
	}
	return true
}

// --- groups -------------------------------------------------------------------------------------

var groupProps = []string{"id", "displayName", "description", "securityEnabled", "mailEnabled", "groupTypes", "mail",
	"mailNickname", "createdDateTime", "visibility"}

func groupJSON(g *Group) map[string]any {
	var vis any
	if slices.Contains(g.GroupTypes, "Unified") {
		vis = "Public"
	}
	return map[string]any{
		"@odata.type":     "#microsoft.graph.group",
		"id":              g.ID,
		"displayName":     g.DisplayName,
		"description":     nullable(g.Description),
		"securityEnabled": g.SecurityEnabled,
		"mailEnabled":     g.MailEnabled,
		"groupTypes":      append([]string{}, g.GroupTypes...),
		"mail":            nullable(g.Mail),
		"mailNickname":    g.MailNickname,
		"createdDateTime": "2024-01-15T09:00:00Z",
		"visibility":      vis,
	}
}

func (t *Tenant) groupByPath(id string) (*Group, *apiError) {
	if !isGUID(id) {
		return nil, invalidObjectID(id)
	}
	g := t.findGroup(id)
	if g == nil {
		return nil, notFound(id)
	}
	return g, nil
}

func hGroupGet(t *Tenant, req *request, p params) *response {
	if e := req.allowQuery("$select"); e != nil {
		return t.errorResponse(req, e)
	}
	g, e := t.groupByPath(p.groupID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	sel, e := req.selectFields("group", groupProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	out := projectEntity(groupJSON(g), sel, nil)
	out["@odata.context"] = req.contextURL("groups/$entity")
	return jsonResponse(http.StatusOK, out)
}

func hGroupList(t *Tenant, req *request, _ params) *response {
	if e := req.allowQuery("$select", "$filter", "$top", "$skiptoken"); e != nil {
		return t.errorResponse(req, e)
	}
	sel, e := req.selectFields("group", groupProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	var clauses []clause
	if f, ok := req.q("$filter"); ok {
		if clauses, e = parseFilter(f, "Group"); e != nil {
			return t.errorResponse(req, e)
		}
		for _, c := range clauses {
			if !(c.is("displayName", "eq") || c.is("id", "eq") || c.is("mailNickname", "eq") || c.is("displayName", "startswith")) {
				return t.errorResponse(req, filterUnsupported(c.prop, "Group"))
			}
			if _, e := c.stringValue(); e != nil {
				return t.errorResponse(req, e)
			}
		}
	}
	var items []map[string]any
	for _, g := range t.groups {
		match := true
		for _, c := range clauses {
			v := c.values[0].text
			switch {
			case c.op == "startswith":
				match = match && hasPrefixFold(g.DisplayName, v)
			case eq(c.prop, "displayName"):
				match = match && eq(g.DisplayName, v)
			case eq(c.prop, "id"):
				match = match && eq(g.ID, v)
			case eq(c.prop, "mailNickname"):
				match = match && eq(g.MailNickname, v)
			}
		}
		if match {
			items = append(items, projectEntity(groupJSON(g), sel, nil))
		}
	}
	out, e := req.page(items, "groups", 100, 999)
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, out)
}

// memberJSON renders a directory object in a members collection (with @odata.type).
func (t *Tenant) memberJSON(id string, sel []string) map[string]any {
	if u := t.findUser(id); u != nil {
		return project(userJSON(u), selectFor(sel, userProps), userDefaults)
	}
	if g := t.findGroup(id); g != nil {
		return project(groupJSON(g), selectFor(sel, groupProps), nil)
	}
	return nil
}

// selectFor keeps the selected properties that exist on the entity type (members collections
// mix users and groups, so $select may name properties of either).
func selectFor(sel, props []string) []string {
	if sel == nil {
		return nil
	}
	out := []string{}
	for _, s := range sel {
		if slices.Contains(props, s) {
			out = append(out, s)
		}
	}
	return out
}

func (t *Tenant) listMembers(req *request, p params, transitive bool) *response {
	return t.listMembersOf(req, p, transitive, false)
}

// listMembersOf lists a group's members; groupsOnly keeps the groups among them (the OData
// cast …/members/microsoft.graph.group, whose answer is a collection of groups).
func (t *Tenant) listMembersOf(req *request, p params, transitive, groupsOnly bool) *response {
	if e := req.allowQuery("$select", "$top", "$skiptoken"); e != nil {
		return t.errorResponse(req, e)
	}
	g, e := t.groupByPath(p.groupID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	known := append(append([]string{}, userProps...), groupProps...)
	sel, e := req.selectFields("directoryObject", known)
	if e != nil {
		return t.errorResponse(req, e)
	}
	var ids []string
	seen := map[string]bool{g.ID: true}
	var walk func(*Group)
	walk = func(gr *Group) {
		for _, m := range gr.MemberIDs {
			if seen[m] {
				continue
			}
			seen[m] = true
			ids = append(ids, m)
			if sub := t.findGroup(m); sub != nil && transitive {
				walk(sub)
			}
		}
	}
	walk(g)
	var items []map[string]any
	for _, id := range ids {
		if groupsOnly && t.findGroup(id) == nil {
			continue
		}
		if m := t.memberJSON(id, sel); m != nil {
			items = append(items, m)
		}
	}
	out, e := req.page(items, "directoryObjects", 100, 999)
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, out)
}

func hGroupMembers(t *Tenant, req *request, p params) *response { return t.listMembers(req, p, false) }

func hGroupMemberGroups(t *Tenant, req *request, p params) *response {
	return t.listMembersOf(req, p, false, true)
}

func hGroupTransitiveMembers(t *Tenant, req *request, p params) *response {
	return t.listMembers(req, p, true)
}

// --- me / organization --------------------------------------------------------------------------

func (t *Tenant) meUser(p *principal) *User {
	if u := t.findUser(p.ObjectID); u != nil {
		return u
	}
	if u := t.findUser(p.UPN); u != nil {
		return u
	}
	local, _, _ := strings.Cut(p.UPN, "@")
	return &User{ID: p.ObjectID, UserPrincipalName: p.UPN, DisplayName: local, AccountEnabled: true,
		UserType: "Member", MailNickname: local}
}

func meOnlyDelegated() *apiError {
	return badRequest("/me request is only valid with delegated authentication flow.")
}

func hMe(t *Tenant, req *request, _ params) *response {
	if req.principal.AppOnly {
		return t.errorResponse(req, meOnlyDelegated())
	}
	if e := req.allowQuery("$select"); e != nil {
		return t.errorResponse(req, e)
	}
	sel, e := req.selectFields("user", userProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	out := projectEntity(userJSON(t.meUser(req.principal)), sel, userDefaults)
	out["@odata.context"] = req.contextURL("users/$entity")
	return jsonResponse(http.StatusOK, out)
}

func (t *Tenant) roleObjectID(template string) string {
	id, ok := t.roleObjIDs[template]
	if !ok {
		id = uuid.NewString()
		t.roleObjIDs[template] = id
	}
	return id
}

func hMeMemberOf(t *Tenant, req *request, _ params) *response {
	if req.principal.AppOnly {
		return t.errorResponse(req, meOnlyDelegated())
	}
	if e := req.allowQuery("$select", "$top", "$skiptoken"); e != nil {
		return t.errorResponse(req, e)
	}
	var items []map[string]any
	for _, r := range req.principal.Roles {
		name := roleNames[strings.ToLower(r)]
		if name == "" {
			name = "Directory role " + r
		}
		items = append(items, map[string]any{
			"@odata.type": "#microsoft.graph.directoryRole", "id": t.roleObjectID(strings.ToLower(r)),
			"deletedDateTime": nil, "displayName": name, "description": name, "roleTemplateId": strings.ToLower(r),
		})
	}
	me := t.meUser(req.principal)
	for _, g := range t.groups {
		if slices.ContainsFunc(g.MemberIDs, func(m string) bool { return eq(m, me.ID) }) {
			items = append(items, groupJSON(g))
		}
	}
	out, e := req.page(items, "directoryObjects", 100, 999)
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, out)
}

func hOrganization(t *Tenant, req *request, _ params) *response {
	if e := req.allowQuery("$select"); e != nil {
		return t.errorResponse(req, e)
	}
	full := map[string]any{
		"id":                t.tenantID,
		"displayName":       "Contoso (emulated)",
		"tenantType":        "AAD",
		"countryLetterCode": "US",
		"createdDateTime":   "2020-01-01T00:00:00Z",
		"verifiedDomains": []map[string]any{
			{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true, "isInitial": false, "name": Domain, "type": "Managed"},
			{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": false, "isInitial": true, "name": "contoso.onmicrosoft.com", "type": "Managed"},
		},
	}
	sel, e := req.selectFields("organization", []string{"id", "displayName", "tenantType", "countryLetterCode", "createdDateTime", "verifiedDomains"})
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, map[string]any{"@odata.context": req.contextURL("organization"),
		"value": []any{project(full, sel, nil)}})
}

// --- provisioning logs --------------------------------------------------------------------------

type provLog struct {
	id                                     string
	time                                   time.Time
	spID, spName, jobID, cycleID, changeID string
	action, status, errorCode, reason      string
	sourceID, sourceName, sourceUPN        string
	sourceType                             string
	targetID, targetName, targetType       string
	steps                                  []step
	modified                               []modProp
	durationMs                             int
}

func (l *provLog) json(tenantID string) map[string]any {
	var errInfo any
	if l.errorCode != "" || l.status == "failure" {
		errInfo = map[string]any{"errorCode": l.errorCode, "reason": l.reason, "errorCategory": "nonServiceFailure",
			"additionalDetails": nil, "recommendedAction": nil}
	}
	steps := []map[string]any{}
	for _, s := range l.steps {
		d := map[string]any{}
		for k, v := range s.details {
			d[k] = v
		}
		steps = append(steps, map[string]any{"name": s.name, "provisioningStepType": strings.ToLower(s.typ),
			"status": strings.ToLower(s.status), "description": s.description, "details": d})
	}
	mods := []map[string]any{}
	for _, m := range l.modified {
		mods = append(mods, map[string]any{"displayName": m.name, "oldValue": m.old, "newValue": m.new})
	}
	srcDetails := map[string]any{}
	if l.sourceUPN != "" {
		srcDetails["userPrincipalName"] = l.sourceUPN
	}
	targetType := l.targetType
	if targetType == "" {
		targetType = userTargetObject
	}
	return map[string]any{
		"id":                     l.id,
		"activityDateTime":       l.time.UTC().Format(time.RFC3339Nano),
		"tenantId":               tenantID,
		"jobId":                  l.jobID,
		"cycleId":                l.cycleID,
		"changeId":               l.changeID,
		"durationInMilliseconds": l.durationMs,
		"provisioningAction":     l.action,
		"provisioningStatusInfo": map[string]any{"status": l.status, "errorInformation": errInfo},
		"provisioningSteps":      steps,
		"modifiedProperties":     mods,
		"servicePrincipal":       map[string]any{"id": l.spID, "displayName": l.spName},
		"sourceIdentity": map[string]any{"id": l.sourceID, "displayName": l.sourceName, "identityType": l.sourceType,
			"details": srcDetails},
		"targetIdentity": map[string]any{"id": l.targetID, "displayName": l.targetName, "identityType": targetType,
			"details": map[string]any{}},
		"sourceSystem": map[string]any{"id": nil, "displayName": sourceDirectory, "details": map[string]any{}},
		"targetSystem": map[string]any{"id": nil, "displayName": l.spName, "details": map[string]any{}},
		"initiatedBy": map[string]any{"id": "", "displayName": "Azure AD Provisioning Service",
			"initiatorType": "system"},
	}
}

func hAuditProvisioning(t *Tenant, req *request, _ params) *response {
	if e := req.allowQuery("$filter", "$top", "$skiptoken"); e != nil {
		return t.errorResponse(req, e)
	}
	type pred func(*provLog) bool
	var preds []pred
	if f, ok := req.q("$filter"); ok {
		clauses, e := parseFilter(f, "provisioningObjectSummary")
		if e != nil {
			return t.errorResponse(req, e)
		}
		for _, c := range clauses {
			c := c
			if c.is("activityDateTime", c.op) && c.op != "in" && c.op != "any" && c.op != "ne" && c.op != "eq" {
				if c.values[0].quoted {
					return t.errorResponse(req, badRequest("A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind '%s'.", c.op))
				}
				at, err := time.Parse(time.RFC3339Nano, c.values[0].text)
				if err != nil {
					return t.errorResponse(req, badRequest("The DateTimeOffset literal '%s' is not valid.", c.values[0].text))
				}
				op := c.op
				preds = append(preds, func(l *provLog) bool {
					switch op {
					case "ge":
						return !l.time.Before(at)
					case "gt":
						return l.time.After(at)
					case "le":
						return !l.time.After(at)
					}
					return l.time.Before(at)
				})
				continue
			}
			if c.op != "eq" {
				return t.errorResponse(req, filterUnsupported(c.prop, "provisioningObjectSummary"))
			}
			v, e := c.stringValue()
			if e != nil {
				return t.errorResponse(req, e)
			}
			var field func(*provLog) string
			switch strings.ToLower(c.prop) {
			case "serviceprincipal/id":
				field = func(l *provLog) string { return l.spID }
			case "statusinfo/status", "provisioningstatusinfo/status":
				field = func(l *provLog) string { return l.status }
			case "sourceidentity/id":
				field = func(l *provLog) string { return l.sourceID }
			case "targetidentity/id":
				field = func(l *provLog) string { return l.targetID }
			case "jobid":
				field = func(l *provLog) string { return l.jobID }
			case "provisioningaction":
				field = func(l *provLog) string { return l.action }
			case "id":
				field = func(l *provLog) string { return l.id }
			default:
				return t.errorResponse(req, filterUnsupported(c.prop, "provisioningObjectSummary"))
			}
			preds = append(preds, func(l *provLog) bool { return field(l) == v })
		}
	}
	logs := slices.Clone(t.logs)
	slices.Reverse(logs)
	sort.SliceStable(logs, func(i, j int) bool { return logs[i].time.After(logs[j].time) })
	var items []map[string]any
	for i := range logs {
		l := logs[i]
		ok := true
		for _, p := range preds {
			ok = ok && p(l)
		}
		if ok {
			items = append(items, l.json(t.tenantID))
		}
	}
	out, e := req.page(items, "auditLogs/provisioning", 50, 1000)
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, out)
}

// hasPrefixFold is startswith as Graph evaluates it: case-insensitive; an empty value (a user
// without mail) never matches.
func hasPrefixFold(s, prefix string) bool {
	return s != "" && len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
