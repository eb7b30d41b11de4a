package entratest

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

const zeroGUID = "00000000-0000-0000-0000-000000000000"

var customAppTags = []string{"WindowsAzureActiveDirectoryIntegratedApp", "WindowsAzureActiveDirectoryCustomSingleSignOnApplication"}

type appRole struct {
	id, displayName, value string
}

type application struct {
	id, appID, displayName, templateID string
	roles                              []appRole
	created                            time.Time
	sp                                 *servicePrincipal
	identifierURIs, redirectURIs       []string // SAML identifier and reply URLs (sso.go)
}

type servicePrincipal struct {
	id, appID, displayName, templateID string
	app                                *application
	tags                               []string
	notes                              *string
	roles                              []appRole
	assignmentRequired                 bool
	created                            time.Time
	secrets                            []secret
	jobs                               []*job
	assignments                        []*assignment
	replFlip                           int
	ssoMode                            *string   // preferredSingleSignOnMode (sso.go)
	signingThumbprint                  string    // preferredTokenSigningKeyThumbprint
	keyCreds                           []keyCred // token-signing certificates
	claimsPolicyIDs                    []string  // assigned claims-mapping policies (claims.go)
}

type secret struct{ key, value string }

type assignment struct {
	id, principalID, principalType, principalName, appRoleID string
	created                                                  time.Time
}

// newApp creates an application and its service principal (caller holds t.mu).
func (t *Tenant) newApp(displayName string, created time.Time) *application {
	roles := []appRole{
		{id: uuid.NewString(), displayName: "User"},
		{id: uuid.NewString(), displayName: "msiam_access"},
	}
	a := &application{id: uuid.NewString(), appID: uuid.NewString(), displayName: displayName,
		templateID: t.templateID, roles: roles, created: created}
	a.sp = &servicePrincipal{id: uuid.NewString(), appID: a.appID, displayName: displayName,
		templateID: t.templateID, app: a, tags: slices.Clone(customAppTags), roles: slices.Clone(roles),
		assignmentRequired: true, created: created}
	t.apps = append(t.apps, a)
	return a
}

func (t *Tenant) deleteApp(a *application) {
	t.apps = slices.DeleteFunc(t.apps, func(x *application) bool { return x == a })
	a.sp = nil
}

func (t *Tenant) findSP(id string) *servicePrincipal {
	for _, a := range t.apps {
		if a.sp != nil && eq(a.sp.id, id) {
			return a.sp
		}
	}
	return nil
}

func (t *Tenant) findApp(id string) *application {
	for _, a := range t.apps {
		if eq(a.id, id) {
			return a
		}
	}
	return nil
}

// replicated reports whether an object created at c is visible everywhere yet.
func (t *Tenant) replicated(c time.Time) bool {
	return t.opts.ReplicationDelay <= 0 || !t.now().Before(c.Add(t.opts.ReplicationDelay))
}

func fmtTime(tm time.Time) string {
	if tm.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return tm.UTC().Format(time.RFC3339)
}

func rolesJSON(roles []appRole) []map[string]any {
	out := make([]map[string]any, 0, len(roles))
	for _, r := range roles {
		var value any
		if r.value != "" {
			value = r.value
		}
		out = append(out, map[string]any{
			"allowedMemberTypes": []string{"User"},
			"description":        r.displayName,
			"displayName":        r.displayName,
			"id":                 r.id,
			"isEnabled":          true,
			"origin":             "Application",
			"value":              value,
		})
	}
	return out
}

var spProps = []string{"id", "deletedDateTime", "accountEnabled", "appDisplayName", "appId", "applicationTemplateId",
	"appOwnerOrganizationId", "appRoleAssignmentRequired", "appRoles", "displayName", "homepage", "loginUrl",
	"logoutUrl", "notes", "notificationEmailAddresses", "preferredSingleSignOnMode", "replyUrls",
	"servicePrincipalNames", "servicePrincipalType", "signInAudience", "tags", "oauth2PermissionScopes",
	"keyCredentials", "preferredTokenSigningKeyThumbprint"}

func (t *Tenant) spJSON(sp *servicePrincipal) map[string]any {
	var notes, ssoMode, thumb any
	if sp.notes != nil {
		notes = *sp.notes
	}
	if sp.ssoMode != nil {
		ssoMode = *sp.ssoMode
	}
	if sp.signingThumbprint != "" {
		thumb = sp.signingThumbprint
	}
	return map[string]any{
		"id":                                 sp.id,
		"deletedDateTime":                    nil,
		"accountEnabled":                     true,
		"appDisplayName":                     sp.app.displayName,
		"appId":                              sp.appID,
		"applicationTemplateId":              nullable(sp.templateID),
		"appOwnerOrganizationId":             t.tenantID,
		"appRoleAssignmentRequired":          sp.assignmentRequired,
		"appRoles":                           rolesJSON(sp.roles),
		"displayName":                        sp.displayName,
		"homepage":                           nil,
		"loginUrl":                           nil,
		"logoutUrl":                          nil,
		"notes":                              notes,
		"notificationEmailAddresses":         []string{},
		"preferredSingleSignOnMode":          ssoMode,
		"preferredTokenSigningKeyThumbprint": thumb,
		"keyCredentials":                     keyCredsJSON(sp.keyCreds),
		"replyUrls":                          slices.Clone(sp.app.redirectURIs),
		"servicePrincipalNames":              []string{sp.appID},
		"servicePrincipalType":               "Application",
		"signInAudience":                     "AzureADMyOrg",
		"tags":                               slices.Clone(sp.tags),
		"oauth2PermissionScopes":             []any{},
	}
}

var appProps = []string{"id", "deletedDateTime", "appId", "applicationTemplateId", "createdDateTime", "displayName",
	"description", "notes", "signInAudience", "tags", "identifierUris", "appRoles", "web"}

func (t *Tenant) appJSON(a *application) map[string]any {
	return map[string]any{
		"id":                    a.id,
		"deletedDateTime":       nil,
		"appId":                 a.appID,
		"applicationTemplateId": nullable(a.templateID),
		"createdDateTime":       fmtTime(a.created),
		"displayName":           a.displayName,
		"description":           nil,
		"notes":                 nil,
		"signInAudience":        "AzureADMyOrg",
		"tags":                  []string{},
		"identifierUris":        append([]string{}, a.identifierURIs...),
		"appRoles":              rolesJSON(a.roles),
		"web": map[string]any{"homePageUrl": nil, "logoutUrl": nil, "redirectUris": append([]string{}, a.redirectURIs...),
			"implicitGrantSettings": map[string]any{"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}},
	}
}

// --- application templates ----------------------------------------------------------------------

func (t *Tenant) templateJSON() map[string]any {
	return map[string]any{
		"id": t.templateID, "displayName": "Custom", "homePageUrl": "http://www.microsoft.com",
		"supportedSingleSignOnModes": []string{"password", "saml", "external"},
		"supportedProvisioningTypes": []string{"sync"}, "logoUrl": nil, "categories": []string{},
		"publisher": "Microsoft Corporation", "description": nil,
	}
}

func hTemplatesList(t *Tenant, req *request, _ params) *response {
	if e := req.allowQuery("$select", "$filter", "$top"); e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, map[string]any{"@odata.context": req.contextURL("applicationTemplates"),
		"value": []any{t.templateJSON()}})
}

func hTemplateGet(t *Tenant, req *request, p params) *response {
	if !eq(p.tplID, t.templateID) {
		return t.errorResponse(req, notFound(p.tplID))
	}
	out := t.templateJSON()
	out["@odata.context"] = req.contextURL("applicationTemplates/$entity")
	return jsonResponse(http.StatusOK, out)
}

func hInstantiate(t *Tenant, req *request, p params) *response {
	if !eq(p.tplID, t.templateID) {
		return t.errorResponse(req, notFound(p.tplID))
	}
	body, e := req.bodyObject("applicationTemplate", "displayName", "serviceManagementReference")
	if e != nil {
		return t.errorResponse(req, e)
	}
	var name string
	if _, e := prop(body, "displayName", &name); e != nil {
		return t.errorResponse(req, e)
	}
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > 256 {
		return t.errorResponse(req, newErr(http.StatusBadRequest, "Request_BadRequest",
			"Invalid value specified for property 'displayName' of resource 'Application'. It must be between 1 and 256 characters."))
	}
	var smr string
	if _, e := prop(body, "serviceManagementReference", &smr); e != nil {
		return t.errorResponse(req, e)
	}
	a := t.newApp(name, t.now())
	return jsonResponse(http.StatusCreated, map[string]any{
		"@odata.context":   req.contextURL("microsoft.graph.applicationServicePrincipal"),
		"application":      t.appJSON(a),
		"servicePrincipal": t.spJSON(a.sp),
	})
}

// --- service principals -------------------------------------------------------------------------

// visibleSP resolves a service principal for non-synchronization reads and writes.
func (t *Tenant) visibleSP(id string) (*servicePrincipal, *apiError) {
	if !isGUID(id) {
		return nil, invalidObjectID(id)
	}
	sp := t.findSP(id)
	if sp == nil || !t.replicated(sp.created) {
		return nil, notFound(id)
	}
	return sp, nil
}

func hSPGet(t *Tenant, req *request, p params) *response {
	if e := req.allowQuery("$select"); e != nil {
		return t.errorResponse(req, e)
	}
	sp, e := t.visibleSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	sel, e := req.selectFields("servicePrincipal", spProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	out := project(t.spJSON(sp), sel, nil)
	out["@odata.context"] = req.contextURL("servicePrincipals/$entity")
	return jsonResponse(http.StatusOK, out)
}

func hSPList(t *Tenant, req *request, _ params) *response {
	if e := req.allowQuery("$select", "$filter", "$top", "$skiptoken"); e != nil {
		return t.errorResponse(req, e)
	}
	sel, e := req.selectFields("servicePrincipal", spProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	var clauses []clause
	if f, ok := req.q("$filter"); ok {
		if clauses, e = parseFilter(f, "ServicePrincipal"); e != nil {
			return t.errorResponse(req, e)
		}
		for _, c := range clauses {
			if !(c.is("tags", "any") || c.is("displayName", "eq") || c.is("appId", "eq") || c.is("id", "eq")) {
				return t.errorResponse(req, filterUnsupported(c.prop, "ServicePrincipal"))
			}
			if _, e := c.stringValue(); e != nil {
				return t.errorResponse(req, e)
			}
		}
	}
	var items []map[string]any
	for _, a := range t.apps {
		sp := a.sp
		if sp == nil || !t.replicated(sp.created) {
			continue
		}
		match := true
		for _, c := range clauses {
			v := c.values[0].text
			switch {
			case c.op == "any":
				match = match && slices.ContainsFunc(sp.tags, func(tag string) bool { return eq(tag, v) })
			case eq(c.prop, "displayName"):
				match = match && eq(sp.displayName, v)
			case eq(c.prop, "appId"):
				match = match && eq(sp.appID, v)
			case eq(c.prop, "id"):
				match = match && eq(sp.id, v)
			}
		}
		if match {
			items = append(items, project(t.spJSON(sp), sel, nil))
		}
	}
	out, e := req.page(items, "servicePrincipals", 100, 999)
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, out)
}

func hSPPatch(t *Tenant, req *request, p params) *response {
	sp, e := t.visibleSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	body, e := req.bodyObject("servicePrincipal", "tags", "displayName", "notes", "appRoleAssignmentRequired",
		"preferredSingleSignOnMode", "preferredTokenSigningKeyThumbprint")
	if e != nil {
		return t.errorResponse(req, e)
	}
	if e := patchSPSSO(sp, body); e != nil {
		return t.errorResponse(req, e)
	}
	var (
		tags     []string
		name     string
		notes    string
		required bool
	)
	setTags, e1 := prop(body, "tags", &tags)
	setName, e2 := prop(body, "displayName", &name)
	setNotes, e3 := prop(body, "notes", &notes)
	setReq, e4 := prop(body, "appRoleAssignmentRequired", &required)
	for _, e := range []*apiError{e1, e2, e3, e4} {
		if e != nil {
			return t.errorResponse(req, e)
		}
	}
	if setName && (strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > 256) {
		return t.errorResponse(req, newErr(http.StatusBadRequest, "Request_BadRequest",
			"Invalid value specified for property 'displayName' of resource 'ServicePrincipal'."))
	}
	if _, present := body["tags"]; present {
		if !setTags {
			tags = []string{}
		}
		sp.tags = slices.Clone(tags)
	}
	if setName {
		sp.displayName = name
	}
	if _, present := body["notes"]; present {
		if setNotes {
			sp.notes = &notes
		} else {
			sp.notes = nil
		}
	}
	if setReq {
		sp.assignmentRequired = required
	}
	return noContent()
}

func hSPDelete(t *Tenant, req *request, p params) *response {
	if !isGUID(p.spID) {
		return t.errorResponse(req, invalidObjectID(p.spID))
	}
	sp := t.findSP(p.spID)
	if sp == nil {
		return t.errorResponse(req, notFound(p.spID))
	}
	sp.app.sp = nil
	return noContent()
}

// --- applications -------------------------------------------------------------------------------

func hAppGet(t *Tenant, req *request, p params) *response {
	if e := req.allowQuery("$select"); e != nil {
		return t.errorResponse(req, e)
	}
	if !isGUID(p.appID) {
		return t.errorResponse(req, invalidObjectID(p.appID))
	}
	a := t.findApp(p.appID)
	if a == nil || !t.replicated(a.created) {
		return t.errorResponse(req, notFound(p.appID))
	}
	sel, e := req.selectFields("application", appProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	out := project(t.appJSON(a), sel, nil)
	out["@odata.context"] = req.contextURL("applications/$entity")
	return jsonResponse(http.StatusOK, out)
}

func hAppList(t *Tenant, req *request, _ params) *response {
	if e := req.allowQuery("$select", "$filter", "$top", "$skiptoken"); e != nil {
		return t.errorResponse(req, e)
	}
	sel, e := req.selectFields("application", appProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	var clauses []clause
	if f, ok := req.q("$filter"); ok {
		if clauses, e = parseFilter(f, "Application"); e != nil {
			return t.errorResponse(req, e)
		}
		for _, c := range clauses {
			if !(c.is("appId", "eq") || c.is("displayName", "eq") || c.is("id", "eq")) {
				return t.errorResponse(req, filterUnsupported(c.prop, "Application"))
			}
			if _, e := c.stringValue(); e != nil {
				return t.errorResponse(req, e)
			}
		}
	}
	var items []map[string]any
	for _, a := range t.apps {
		if !t.replicated(a.created) {
			continue
		}
		match := true
		for _, c := range clauses {
			v := c.values[0].text
			switch {
			case eq(c.prop, "appId"):
				match = match && eq(a.appID, v)
			case eq(c.prop, "displayName"):
				match = match && eq(a.displayName, v)
			case eq(c.prop, "id"):
				match = match && eq(a.id, v)
			}
		}
		if match {
			items = append(items, project(t.appJSON(a), sel, nil))
		}
	}
	out, e := req.page(items, "applications", 100, 999)
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, out)
}

func hAppDelete(t *Tenant, req *request, p params) *response {
	if !isGUID(p.appID) {
		return t.errorResponse(req, invalidObjectID(p.appID))
	}
	a := t.findApp(p.appID)
	if a == nil {
		return t.errorResponse(req, notFound(p.appID))
	}
	t.deleteApp(a)
	return noContent()
}

// --- appRoleAssignedTo --------------------------------------------------------------------------

func newAssignmentID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var assignmentProps = []string{"id", "deletedDateTime", "appRoleId", "createdDateTime", "principalDisplayName",
	"principalId", "principalType", "resourceDisplayName", "resourceId"}

func assignmentJSON(sp *servicePrincipal, a *assignment) map[string]any {
	return map[string]any{
		"id":                   a.id,
		"deletedDateTime":      nil,
		"appRoleId":            a.appRoleID,
		"createdDateTime":      a.created.UTC().Format(time.RFC3339Nano),
		"principalDisplayName": a.principalName,
		"principalId":          a.principalID,
		"principalType":        a.principalType,
		"resourceDisplayName":  sp.displayName,
		"resourceId":           sp.id,
	}
}

func hAssignList(t *Tenant, req *request, p params) *response {
	if e := req.allowQuery("$select", "$filter", "$top", "$skiptoken"); e != nil {
		return t.errorResponse(req, e)
	}
	sp, e := t.visibleSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	sel, e := req.selectFields("appRoleAssignment", assignmentProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	var clauses []clause
	if f, ok := req.q("$filter"); ok {
		if clauses, e = parseFilter(f, "AppRoleAssignment"); e != nil {
			return t.errorResponse(req, e)
		}
		for _, c := range clauses {
			if !(c.is("principalId", "eq") || c.is("resourceId", "eq") || c.is("appRoleId", "eq")) {
				return t.errorResponse(req, filterUnsupported(c.prop, "AppRoleAssignment"))
			}
			if _, e := c.guidValue(); e != nil {
				return t.errorResponse(req, e)
			}
		}
	}
	var items []map[string]any
	for _, a := range sp.assignments {
		match := true
		for _, c := range clauses {
			v := c.values[0].text
			switch {
			case eq(c.prop, "principalId"):
				match = match && eq(a.principalID, v)
			case eq(c.prop, "resourceId"):
				match = match && eq(sp.id, v)
			case eq(c.prop, "appRoleId"):
				match = match && eq(a.appRoleID, v)
			}
		}
		if match {
			items = append(items, project(assignmentJSON(sp, a), sel, nil))
		}
	}
	out, e := req.page(items, "servicePrincipals('"+sp.id+"')/appRoleAssignedTo", 100, 999)
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, out)
}

func guidProp(body map[string]any, key string) (string, *apiError) {
	v, ok := body[key]
	if !ok || v == nil {
		return "", newErr(http.StatusBadRequest, "Request_BadRequest", "The property '%s' is required.", key)
	}
	s, ok := v.(string)
	if !ok || !isGUID(s) {
		return "", badRequest("Cannot convert the literal '%v' to the expected type 'Edm.Guid'.", v)
	}
	return strings.ToLower(s), nil
}

func hAssignCreate(t *Tenant, req *request, p params) *response {
	if !isGUID(p.spID) {
		return t.errorResponse(req, invalidObjectID(p.spID))
	}
	sp := t.findSP(p.spID)
	if sp == nil {
		return t.errorResponse(req, notFound(p.spID))
	}
	raw, e := req.bodyObject("appRoleAssignment", "principalId", "resourceId", "appRoleId")
	if e != nil {
		return t.errorResponse(req, e)
	}
	body := map[string]any{}
	for _, k := range []string{"principalId", "resourceId", "appRoleId"} {
		var v any
		if _, e := prop(raw, k, &v); e != nil {
			return t.errorResponse(req, e)
		}
		body[k] = v
	}
	principalID, e := guidProp(body, "principalId")
	if e != nil {
		return t.errorResponse(req, e)
	}
	resourceID, e := guidProp(body, "resourceId")
	if e != nil {
		return t.errorResponse(req, e)
	}
	roleID, e := guidProp(body, "appRoleId")
	if e != nil {
		return t.errorResponse(req, e)
	}
	if !t.replicated(sp.created) {
		return t.errorResponse(req, newErr(http.StatusBadRequest, "Request_BadRequest", "Not a valid reference update."))
	}
	if resourceID != sp.id {
		return t.errorResponse(req, newErr(http.StatusBadRequest, "Request_BadRequest",
			"The resourceId '%s' does not match the service principal '%s' addressed by the request URL.", resourceID, sp.id))
	}
	var pType, pName string
	if u := t.findUser(principalID); u != nil {
		pType, pName = "User", u.DisplayName
	} else if g := t.findGroup(principalID); g != nil {
		if t.Knobs().NoGroupAssignment {
			return t.errorResponse(req, newErr(http.StatusForbidden, "Authorization_RequestDenied", "Only companies who have purchased AAD Premium may perform this operation."))
		}
		pType, pName = "Group", g.DisplayName
	} else {
		return t.errorResponse(req, notFound(principalID))
	}
	validRole := false
	if roleID == zeroGUID {
		validRole = len(sp.roles) == 0
	}
	for _, r := range sp.roles {
		if r.id == roleID {
			validRole = true
		}
	}
	if !validRole {
		return t.errorResponse(req, newErr(http.StatusBadRequest, "Request_BadRequest",
			"Permission being assigned was not found on application '%s'.", sp.appID))
	}
	for _, a := range sp.assignments {
		if a.principalID == principalID && a.appRoleID == roleID {
			return t.errorResponse(req, newErr(http.StatusBadRequest, "Request_BadRequest",
				"Permission being assigned already exists on the object."))
		}
	}
	a := &assignment{id: newAssignmentID(), principalID: principalID, principalType: pType, principalName: pName,
		appRoleID: roleID, created: t.now()}
	sp.assignments = append(sp.assignments, a)
	out := assignmentJSON(sp, a)
	out["@odata.context"] = req.contextURL("servicePrincipals('" + sp.id + "')/appRoleAssignedTo/$entity")
	return jsonResponse(http.StatusCreated, out)
}

func (t *Tenant) findAssignment(p params) (*servicePrincipal, *assignment, *apiError) {
	sp, e := t.visibleSP(p.spID)
	if e != nil {
		return nil, nil, e
	}
	for _, a := range sp.assignments {
		if a.id == p.assignID {
			return sp, a, nil
		}
	}
	return nil, nil, notFound(p.assignID)
}

func hAssignGet(t *Tenant, req *request, p params) *response {
	if e := req.allowQuery("$select"); e != nil {
		return t.errorResponse(req, e)
	}
	sp, a, e := t.findAssignment(p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	sel, e := req.selectFields("appRoleAssignment", assignmentProps)
	if e != nil {
		return t.errorResponse(req, e)
	}
	out := project(assignmentJSON(sp, a), sel, nil)
	out["@odata.context"] = req.contextURL("servicePrincipals('" + sp.id + "')/appRoleAssignedTo/$entity")
	return jsonResponse(http.StatusOK, out)
}

func hAssignDelete(t *Tenant, req *request, p params) *response {
	sp, a, e := t.findAssignment(p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	sp.assignments = slices.DeleteFunc(sp.assignments, func(x *assignment) bool { return x == a })
	return noContent()
}
