package entratest

import (
	"net/http"
	"sort"
	"strings"
)

type handlerFunc func(t *Tenant, req *request, p params) *response

// routeSpec describes one method on one route.
type routeSpec struct {
	perms    []string // any one of these scopes/app roles is required
	also     []string // and, when set, any one of these as well (Graph's "A and B" permission rows)
	sync     bool     // synchronization endpoint: a missing scope gives 401 UnknownError (Graph quirk)
	write    bool     // delegated callers also need an application administrator directory role
	unlocked bool     // the handler takes t.mu itself (it calls the SCIM target)
	meOnly   bool     // /me: app-only tokens get 400 before any permission check
	fn       handlerFunc
}

type params struct {
	tplID, appID, spID, jobID, assignID, userKey, groupID, policyID string
	// beta: the request came under /beta. Only the one beta call the tool makes is served.
	beta bool
}

func methodNotAllowed() *apiError {
	return newErr(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

func segmentNotFound(seg string) *apiError {
	return badRequest("Resource not found for the segment '%s'.", seg)
}

func eq(a, b string) bool { return strings.EqualFold(a, b) }

type methods map[string]routeSpec

// route resolves the path to its methods and parameters.
func (t *Tenant) route(req *request) (methods, params, *apiError) {
	var p params
	s := req.segs
	switch {
	case eq(s[0], "v1.0"):
	case eq(s[0], "beta"):
		p.beta = true
	default:
		return nil, p, segmentNotFound(s[0])
	}
	s = s[1:]
	if len(s) == 0 {
		return nil, p, segmentNotFound("v1.0")
	}
	if p.beta && (len(s) < 4 || !eq(s[0], "servicePrincipals") || !eq(s[2], "synchronization")) {
		return nil, p, segmentNotFound(s[0])
	}
	// Key syntax users('upn'): Graph's "Get user" documentation gives it for a user principal
	// name that starts with '$' (/users('$AdeleVance@contoso.com')); a quote in the key is
	// doubled, as in every OData string literal.
	if key, ok := userKeySegment(s[0]); ok {
		s = append([]string{"users", key}, s[1:]...)
	} else if len(s) > 1 && eq(s[0], "users") && strings.HasPrefix(s[1], "$") {
		// /users/$x@y: Graph parses a segment starting with '$' as a system segment and answers
		// 400 (the message quoted in msgraph-sdk-dotnet#2635).
		return nil, p, badRequest("The request URI is not valid. Since the segment 'users' refers to a collection, this must be the last segment in the request URI or it must be followed by an function or action that can be bound to it otherwise all intermediate segments must refer to a single resource.")
	}
	// Key syntax: servicePrincipals(appId='...') and applications(appId='...').
	if name, key, ok := keySegment(s[0]); ok {
		t.mu.Lock()
		id := ""
		for _, a := range t.apps {
			if !eq(a.appID, key) {
				continue
			}
			if eq(name, "applications") {
				id = a.id
			} else if a.sp != nil {
				id = a.sp.id
			}
		}
		t.mu.Unlock()
		if id == "" {
			return nil, p, notFound(key)
		}
		s = append([]string{name, id}, s[1:]...)
	}
	tooLong := func(n int) *apiError {
		if len(s) > n {
			return segmentNotFound(s[n])
		}
		return nil
	}
	switch {
	case eq(s[0], "applicationTemplates"):
		if len(s) == 1 {
			return methods{"GET": {perms: permAppRead, fn: hTemplatesList}}, p, nil
		}
		p.tplID = s[1]
		if len(s) == 2 {
			return methods{"GET": {perms: permAppRead, fn: hTemplateGet}}, p, nil
		}
		if eq(s[2], "instantiate") {
			return methods{"POST": {perms: permInstantiate, write: true, fn: hInstantiate}}, p, tooLong(3)
		}
		return nil, p, segmentNotFound(s[2])

	case eq(s[0], "applications"):
		if len(s) == 1 {
			return methods{"GET": {perms: permAppRead, fn: hAppList}}, p, nil
		}
		p.appID = s[1]
		return methods{
			"GET":    {perms: permAppRead, fn: hAppGet},
			"PATCH":  {perms: permAppWrite, write: true, fn: hAppPatch},
			"DELETE": {perms: permAppWrite, write: true, fn: hAppDelete},
		}, p, tooLong(2)

	case eq(s[0], "servicePrincipals"):
		if len(s) == 1 {
			return methods{"GET": {perms: permAppRead, fn: hSPList}}, p, nil
		}
		p.spID = s[1]
		if len(s) == 2 {
			return methods{
				"GET":    {perms: permAppRead, fn: hSPGet},
				"PATCH":  {perms: permAppWrite, write: true, fn: hSPPatch},
				"DELETE": {perms: permAppWrite, write: true, fn: hSPDelete},
			}, p, nil
		}
		switch {
		case eq(s[2], "appRoleAssignedTo"):
			if len(s) == 3 {
				return methods{
					"GET":  {perms: permAssignRead, fn: hAssignList},
					"POST": {perms: permAssignWrite, write: true, fn: hAssignCreate},
				}, p, nil
			}
			p.assignID = s[3]
			return methods{
				"GET":    {perms: permAssignRead, fn: hAssignGet},
				"DELETE": {perms: permAssignWrite, write: true, fn: hAssignDelete},
			}, p, tooLong(4)
		case eq(s[2], "synchronization"):
			return t.routeSync(s, p)
		case eq(s[2], "claimsMappingPolicies"):
			return routeSPClaims(s, p)
		case eq(s[2], "addTokenSigningCertificate"):
			// serviceprincipal-addtokensigningcertificate.md: Application.ReadWrite.All.
			return methods{"POST": {perms: permAppWrite, write: true, fn: hAddTokenSigningCertificate}}, p, tooLong(3)
		}
		return nil, p, segmentNotFound(s[2])

	case eq(s[0], "users"):
		if len(s) == 1 {
			return methods{"GET": {perms: permUsers, fn: hUserList}}, p, nil
		}
		p.userKey = s[1]
		return methods{"GET": {perms: permUsers, fn: hUserGet}}, p, tooLong(2)

	case eq(s[0], "groups"):
		if len(s) == 1 {
			return methods{"GET": {perms: permGroups, fn: hGroupList}}, p, nil
		}
		p.groupID = s[1]
		if len(s) == 2 {
			return methods{"GET": {perms: permGroups, fn: hGroupGet}}, p, nil
		}
		if eq(s[2], "members") {
			// The OData cast /members/microsoft.graph.group lists only the nested groups
			// (https://learn.microsoft.com/en-us/graph/api/group-list-members: "OData cast is
			// enabled"; the SDKs' Members().GraphGroup()).
			if len(s) == 4 && eq(s[3], "microsoft.graph.group") {
				return methods{"GET": {perms: permGroups, fn: hGroupMemberGroups}}, p, nil
			}
			return methods{"GET": {perms: permGroups, fn: hGroupMembers}}, p, tooLong(3)
		}
		if eq(s[2], "transitiveMembers") {
			return methods{"GET": {perms: permGroups, fn: hGroupTransitiveMembers}}, p, tooLong(3)
		}
		return nil, p, segmentNotFound(s[2])

	case eq(s[0], "me"):
		if len(s) == 1 {
			return methods{"GET": {perms: permMe, meOnly: true, fn: hMe}}, p, nil
		}
		if eq(s[1], "memberOf") {
			return methods{"GET": {perms: permMemberOf, meOnly: true, fn: hMeMemberOf}}, p, tooLong(2)
		}
		return nil, p, segmentNotFound(s[1])

	case eq(s[0], "policies"):
		return routePolicies(s, p)

	case eq(s[0], "organization"):
		return methods{"GET": {perms: permOrg, fn: hOrganization}}, p, tooLong(1)

	case eq(s[0], "auditLogs"):
		if len(s) >= 2 && eq(s[1], "provisioning") {
			return methods{"GET": {perms: permAudit, fn: hAuditProvisioning}}, p, tooLong(2)
		}
		if len(s) == 1 {
			return nil, p, segmentNotFound("auditLogs")
		}
		return nil, p, segmentNotFound(s[1])
	}
	return nil, p, segmentNotFound(s[0])
}

func (t *Tenant) routeSync(s []string, p params) (methods, params, *apiError) {
	rd := func(fn handlerFunc) routeSpec { return routeSpec{perms: permSyncRead, sync: true, fn: fn} }
	wr := func(fn handlerFunc) routeSpec {
		return routeSpec{perms: permSyncWrite, sync: true, write: true, fn: fn}
	}
	tooLong := func(n int) *apiError {
		if len(s) > n {
			return segmentNotFound(s[n])
		}
		return nil
	}
	if p.beta {
		// PATCH /beta/servicePrincipals/{id}/synchronization/connectivityParameters: the one
		// beta call (Microsoft's SCIM onboarding agent, AzureAD/SCIMReferenceCode). Everything
		// else the tool must do through v1.0.
		if len(s) == 4 && eq(s[3], "connectivityParameters") && !t.Knobs().NoConnectivityParameters {
			return methods{"PATCH": wr(hConnectivityPatch)}, p, nil
		}
		if len(s) > 3 {
			return nil, p, segmentNotFound(s[3])
		}
		return nil, p, segmentNotFound(s[2])
	}
	if len(s) == 3 {
		return methods{"GET": rd(hSyncGet)}, p, nil
	}
	switch {
	case eq(s[3], "templates"):
		return methods{"GET": rd(hSyncTemplates)}, p, tooLong(4)
	case eq(s[3], "secrets"):
		return methods{"GET": rd(hSecretsGet), "PUT": wr(hSecretsPut)}, p, tooLong(4)
	case eq(s[3], "jobs"):
	default:
		return nil, p, segmentNotFound(s[3])
	}
	if len(s) == 4 {
		return methods{"GET": rd(hJobsList), "POST": wr(hJobCreate)}, p, nil
	}
	if eq(s[4], "validateCredentials") {
		v := wr(hValidateCredentials)
		v.unlocked = true
		return methods{"POST": v}, p, tooLong(5)
	}
	p.jobID = s[4]
	if len(s) == 5 {
		return methods{"GET": rd(hJobGet), "DELETE": wr(hJobDelete)}, p, nil
	}
	switch {
	case eq(s[5], "schema"):
		return methods{"GET": rd(hJobSchema), "PUT": wr(hJobSchemaPut)}, p, tooLong(6)
	case eq(s[5], "start"):
		return methods{"POST": wr(hJobStart)}, p, tooLong(6)
	case eq(s[5], "pause"):
		return methods{"POST": wr(hJobPause)}, p, tooLong(6)
	case eq(s[5], "restart"):
		return methods{"POST": wr(hJobRestart)}, p, tooLong(6)
	case eq(s[5], "validateCredentials"):
		v := wr(hValidateCredentials)
		v.unlocked = true
		return methods{"POST": v}, p, tooLong(6)
	case eq(s[5], "provisionOnDemand"):
		v := wr(hProvisionOnDemand)
		v.unlocked = true
		return methods{"POST": v}, p, tooLong(6)
	}
	return nil, p, segmentNotFound(s[5])
}

// userKeySegment parses "users('key')" into the key, undoubling quotes.
func userKeySegment(seg string) (string, bool) {
	open := strings.IndexByte(seg, '(')
	if open < 0 || !eq(seg[:open], "users") || !strings.HasSuffix(seg, ")") {
		return "", false
	}
	v := strings.TrimSpace(seg[open+1 : len(seg)-1])
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return "", false
	}
	return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), true
}

// keySegment parses "servicePrincipals(appId='x')" / "applications(appId='x')".
func keySegment(seg string) (name, key string, ok bool) {
	open := strings.IndexByte(seg, '(')
	if open < 0 || !strings.HasSuffix(seg, ")") {
		return "", "", false
	}
	name = seg[:open]
	if !eq(name, "servicePrincipals") && !eq(name, "applications") {
		return "", "", false
	}
	inner := seg[open+1 : len(seg)-1]
	k, v, found := strings.Cut(inner, "=")
	if !found || !eq(strings.TrimSpace(k), "appId") {
		return "", "", false
	}
	v = strings.TrimSpace(v)
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return "", "", false
	}
	if eq(name, "servicePrincipals") {
		name = "servicePrincipals"
	} else {
		name = "applications"
	}
	return name, v[1 : len(v)-1], true
}

// dispatch routes, authorizes and runs the handler.
func (t *Tenant) dispatch(req *request) *response {
	ms, p, e := t.route(req)
	if e != nil {
		return t.errorResponse(req, e)
	}
	spec, ok := ms[req.method]
	if !ok {
		resp := t.errorResponse(req, methodNotAllowed())
		allow := make([]string, 0, len(ms))
		for m := range ms {
			allow = append(allow, m)
		}
		sort.Strings(allow)
		resp.header.Set("Allow", strings.Join(allow, ", "))
		return resp
	}
	if spec.meOnly && req.principal.AppOnly {
		return t.errorResponse(req, meOnlyDelegated())
	}
	if !req.principal.hasAny(spec.perms) || len(spec.also) > 0 && !req.principal.hasAny(spec.also) {
		if spec.sync {
			return t.errorResponse(req, newErr(http.StatusUnauthorized, "UnknownError", ""))
		}
		return t.errorResponse(req, insufficientPrivileges())
	}
	if spec.write && !req.principal.hasAdminRole() {
		return t.errorResponse(req, insufficientPrivileges())
	}
	if spec.unlocked {
		return spec.fn(t, req, p)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return spec.fn(t, req, p)
}
