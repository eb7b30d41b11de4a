package entratest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Error codes the Entra provisioning service uses for SCIM targets.
const (
	codeUnavailable    = "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable"
	codeCredFailure    = "SystemForCrossDomainIdentityManagementCredentialValidationFailure"
	codeIncompatible   = "SystemForCrossDomainIdentityManagementServiceIncompatible"
	codeBadRequest     = "SystemForCrossDomainIdentityManagementBadRequest"
	codeUnauthorized   = "SystemForCrossDomainIdentityManagementUnauthorized"
	codeServiceFailure = "SystemForCrossDomainIdentityManagementServiceFailure"

	scimUserSchema    = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimGroupSchema   = "urn:ietf:params:scim:schemas:core:2.0:Group"
	scimListSchema    = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	scimPatchOpSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

	podWindow = 10 * time.Second
	podLimit  = 5
)

// scimCreds are the effective connection settings of a provisioning job.
type scimCreds struct {
	base, tokenURI, clientID, clientSecret string
	// mode: "oauth" fetches a token with the client-credentials grant; "bearer" sends
	// SecretToken; "stored" sends whatever Oauth2AccessToken holds (maybe nothing).
	mode string
	// bearer is the token sent in modes bearer and stored.
	bearer string
	// location is credentialLocationInRequest: Header (default), Body or Both.
	location string
}

// credsFrom picks the connection settings from secrets keyed by lower-case name. Entra
// acquires a token from the stored client credentials ONLY when AuthenticationType is
// OAuth2ClientCredentialsGrant: Microsoft's SCIM onboarding agent (AzureAD/SCIMReferenceCode)
// says so, and a third party that saved the four Oauth2/BaseAddress keys without it saw Entra
// never call the token endpoint and send SCIM requests with an invalid token (pranems/SCIMServer,
// AUTHENTICATION_GUIDE §7). Knobs().LegacyTokenFetch restores the old, unsourced behaviour.
func (t *Tenant) credsFrom(m map[string]string) (scimCreds, []string) {
	c := scimCreds{base: strings.TrimRight(m["baseaddress"], "/"), tokenURI: m["oauth2tokenexchangeuri"],
		clientID: m["oauth2clientid"], clientSecret: m["oauth2clientsecret"], location: m["credentiallocationinrequest"]}
	var missing []string
	if c.base == "" {
		missing = append(missing, "BaseAddress")
	}
	oauth := strings.EqualFold(m["authenticationtype"], "OAuth2ClientCredentialsGrant")
	if t.Knobs().LegacyTokenFetch && m["authenticationtype"] == "" && m["secrettoken"] == "" {
		oauth = true
	}
	switch {
	case oauth:
		c.mode = "oauth"
		for _, k := range []struct{ key, val string }{
			{"Oauth2TokenExchangeUri", c.tokenURI}, {"Oauth2ClientId", c.clientID}, {"Oauth2ClientSecret", c.clientSecret},
		} {
			if k.val == "" {
				missing = append(missing, k.key)
			}
		}
	case m["secrettoken"] != "":
		c.mode, c.bearer = "bearer", m["secrettoken"]
	default:
		c.mode, c.bearer = "stored", m["oauth2accesstoken"]
	}
	return c, missing
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 500 {
		s = s[:500] + "..."
	}
	return s
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// acquireToken performs the client-credentials grant the way Entra does: form body with
// grant_type only, client id/secret in HTTP Basic auth (form-url-encoded, RFC 6749 §2.3.1).
func (t *Tenant) acquireToken(ctx context.Context, c scimCreds) (string, *apiError) {
	if c.mode != "oauth" {
		return c.bearer, nil
	}
	if !absoluteURL(c.tokenURI) {
		return "", newErr(http.StatusBadRequest, codeUnavailable,
			"Token request to %s failed: the token endpoint is not an absolute http(s) URL.", c.tokenURI)
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if strings.EqualFold(c.location, "Body") || strings.EqualFold(c.location, "Both") {
		form.Set("client_id", c.clientID)
		form.Set("client_secret", c.clientSecret)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", newErr(http.StatusBadRequest, codeUnavailable, "Token request to %s failed: %v", c.tokenURI, err)
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "Azure-AD-Provisioning (entratest)")
	if !strings.EqualFold(c.location, "Body") {
		hr.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
			[]byte(url.QueryEscape(c.clientID)+":"+url.QueryEscape(c.clientSecret))))
	}
	resp, err := t.opts.HTTPClient.Do(hr)
	if err != nil {
		return "", newErr(http.StatusBadRequest, codeUnavailable, "Token request to %s failed: %v", c.tokenURI, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", newErr(http.StatusBadRequest, codeUnavailable, "Token request to %s failed: HTTP %d %s",
			c.tokenURI, resp.StatusCode, snippet(body))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		return "", newErr(http.StatusBadRequest, codeUnavailable,
			"Token request to %s failed: the response has no access_token: %s", c.tokenURI, snippet(body))
	}
	return tok.AccessToken, nil
}

// scimCall is one HTTP exchange with the SCIM target.
type scimCall struct {
	method, url string
	status      int
	body        []byte
	err         error
}

func (c scimCall) describe() string {
	if c.err != nil {
		return fmt.Sprintf("Request: %s %s Error: %v", c.method, c.url, c.err)
	}
	return fmt.Sprintf("Request: %s %s Response: HTTP %d %s", c.method, c.url, c.status, snippet(c.body))
}

func (t *Tenant) scimDo(ctx context.Context, method, u, token string, payload any) scimCall {
	call := scimCall{method: method, url: u}
	var rd io.Reader
	if payload != nil {
		b, _ := json.Marshal(payload)
		rd = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		call.err = err
		return call
	}
	hr.Header.Set("Authorization", "Bearer "+token)
	hr.Header.Set("Accept", "application/scim+json")
	hr.Header.Set("User-Agent", "Azure-AD-Provisioning (entratest)")
	if payload != nil {
		hr.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := t.opts.HTTPClient.Do(hr)
	if err != nil {
		call.err = err
		return call
	}
	defer resp.Body.Close()
	call.status = resp.StatusCode
	call.body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return call
}

// listResources parses a SCIM ListResponse; ok is false when the body is not one.
func listResources(b []byte) ([]map[string]any, bool) {
	var lr struct {
		Schemas      []string         `json:"schemas"`
		TotalResults *int             `json:"totalResults"`
		Resources    []map[string]any `json:"Resources"`
	}
	if json.Unmarshal(b, &lr) != nil {
		return nil, false
	}
	isList := lr.TotalResults != nil
	for _, s := range lr.Schemas {
		if s == scimListSchema {
			isList = true
		}
	}
	return lr.Resources, isList
}

func filterURL(base, resource, attr, value string, extra url.Values) string {
	q := url.Values{"filter": {fmt.Sprintf(`%s eq "%s"`, attr, value)}}
	for k, v := range extra {
		q[k] = v
	}
	return base + "/" + resource + "?" + q.Encode()
}

// testConnection is the Entra "Test connection": token, then a filter query for a random user.
func (t *Tenant) testConnection(ctx context.Context, creds map[string]string) *apiError {
	c, missing := t.credsFrom(creds)
	if len(missing) > 0 {
		return newErr(http.StatusBadRequest, codeUnavailable,
			"The provisioning configuration is incomplete; missing setting(s): %s.", strings.Join(missing, ", "))
	}
	if !absoluteURL(c.base) {
		return newErr(http.StatusBadRequest, codeUnavailable, "The tenant URL (BaseAddress) '%s' is not an absolute http(s) URL.", c.base)
	}
	token, e := t.acquireToken(ctx, c)
	if e != nil {
		return e
	}
	call := t.scimDo(ctx, http.MethodGet, filterURL(c.base, "Users", "userName", uuid.NewString(), nil), token, nil)
	switch {
	case call.err != nil:
		return newErr(http.StatusBadRequest, codeUnavailable,
			"We could not reach the SCIM endpoint. %s", call.describe())
	case call.status == http.StatusUnauthorized || call.status == http.StatusForbidden:
		return newErr(http.StatusBadRequest, codeCredFailure,
			"While attempting to validate our authorization to access your application, we received this unexpected response: %s", call.describe())
	case call.status == http.StatusOK:
		if _, ok := listResources(call.body); ok {
			return nil
		}
		return newErr(http.StatusBadRequest, codeIncompatible,
			"The SCIM endpoint did not answer a filter query with a SCIM ListResponse. %s", call.describe())
	case call.status >= 500:
		return newErr(http.StatusBadRequest, codeUnavailable, "The SCIM endpoint failed. %s", call.describe())
	default:
		return newErr(http.StatusBadRequest, codeIncompatible,
			"The SCIM endpoint is not compatible with the provisioning service: a filter query must return HTTP 200 with a SCIM ListResponse. %s", call.describe())
	}
}

func hValidateCredentials(t *Tenant, req *request, p params) *response {
	creds, e := t.validatePlan(req, p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	if e := t.testConnection(req.ctx, creds); e != nil {
		return t.errorResponse(req, e)
	}
	return noContent()
}

func (t *Tenant) validatePlan(req *request, p params) (map[string]string, *apiError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp, e := t.syncSP(p.spID)
	if e != nil {
		return nil, e
	}
	if p.jobID != "" {
		if _, e := t.syncJob(sp, p.jobID); e != nil {
			return nil, e
		}
	}
	body, e := req.bodyObject("synchronizationJob.validateCredentials", "useSavedCredentials", "credentials", "templateId", "applicationIdentifier")
	if e != nil {
		return nil, e
	}
	var (
		useSaved  bool
		tpl, appI string
	)
	for k, dst := range map[string]any{"useSavedCredentials": &useSaved, "templateId": &tpl, "applicationIdentifier": &appI} {
		if _, e := prop(body, k, dst); e != nil {
			return nil, e
		}
	}
	if tpl != "" && tpl != "scim" {
		return nil, badRequest("The synchronization template '%s' was not found for application '%s'.", tpl, sp.appID)
	}
	pairs, e := t.decodeKeyValues(body["credentials"], "credentials")
	if e != nil {
		return nil, e
	}
	creds := map[string]string{}
	if useSaved {
		creds = sp.secretMap()
	}
	for _, s := range pairs {
		creds[strings.ToLower(s.key)] = s.value
	}
	return creds, nil
}

// --- provisionOnDemand --------------------------------------------------------------------------

type step struct {
	name, typ, status, description string
	details                        map[string]string
	at                             time.Time
}

type modProp struct {
	name     string
	old, new any
}

// podPlan is everything provisionOnDemand needs after validation, copied out of the tenant.
type podPlan struct {
	spID, spName, appID, jobID string
	kind                       string // User or Group
	user                       User
	group                      Group
	members                    []User
	entitled                   bool
	creds                      map[string]string
	userMaps                   []mapping // the job's user mappings (mappings.go)
}

// userOutcome is the verdict for one user (or the group itself).
type userOutcome struct {
	result, errorCode, errorMessage string // Success | Skipped | Failure
	action                          string // Create | Update | Other
	steps                           []step
	modified                        []modProp
	targetID                        string
	created                         bool
}

func hProvisionOnDemand(t *Tenant, req *request, p params) *response {
	plan, e := t.podPlan(req, p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	var (
		main    userOutcome
		members []userOutcome
	)
	c, missing := t.credsFrom(plan.creds)
	switch {
	case !plan.entitled:
		main = t.notEntitled(plan)
	case len(missing) > 0:
		main = t.importSteps(plan)
		main.result, main.action, main.errorCode = "Failure", "Other", "CredentialsMissing"
		main.errorMessage = "The credentials for the provisioning job are not configured; missing setting(s): " +
			strings.Join(missing, ", ") + "."
	default:
		token, e := t.acquireToken(req.ctx, c)
		switch {
		case e != nil:
			main = t.importSteps(plan)
			main.result, main.action, main.errorCode, main.errorMessage = "Failure", "Other", e.code, e.message
		case plan.kind == "User":
			main = t.provisionUser(req.ctx, c, token, plan.user, plan.userMaps)
		default:
			main, members = t.provisionGroup(req.ctx, c, token, plan)
		}
	}

	t.mu.Lock()
	now := t.now()
	cycle := uuid.NewString()
	record := func(o userOutcome, id, name, upn, typ, targetType string) {
		l := &provLog{id: uuid.NewString(), time: now, spID: plan.spID, spName: plan.spName, jobID: plan.jobID,
			cycleID: cycle, changeID: uuid.NewString(), action: strings.ToLower(o.action), status: strings.ToLower(o.result),
			errorCode: o.errorCode, reason: o.errorMessage, sourceID: id, sourceName: name, sourceUPN: upn,
			sourceType: typ, targetID: o.targetID, targetName: name, targetType: targetType, steps: o.steps,
			modified: o.modified, durationMs: 800}
		if l.action == "" {
			l.action = "other"
		}
		t.logs = append(t.logs, l)
		if o.created && typ == "User" {
			t.provisioned++
		}
	}
	if plan.kind == "User" {
		record(main, plan.user.ID, plan.user.DisplayName, plan.user.UserPrincipalName, "User", userTargetObject)
	} else {
		for i, o := range members {
			u := plan.members[i]
			record(o, u.ID, u.DisplayName, u.UserPrincipalName, "User", userTargetObject)
		}
		record(main, plan.group.ID, plan.group.DisplayName, "", "Group", groupTargetObj)
	}
	t.mu.Unlock()

	details := map[string]string{}
	if main.errorCode != "" {
		details["errorCode"] = main.errorCode
		details["errorMessage"] = main.errorMessage
	}
	key, _ := json.Marshal(map[string]any{"result": main.result, "details": details})
	value := "{}"
	if plan.kind == "User" {
		value = podValue(plan, main)
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"@odata.context": req.contextURL("microsoft.graph.stringKeyStringValuePair"),
		"key":            string(key),
		"value":          value,
	})
}

func podValue(plan *podPlan, o userOutcome) string {
	steps := make([]map[string]any, 0, len(o.steps))
	for _, s := range o.steps {
		d := map[string]string{}
		for k, v := range s.details {
			d[k] = v
		}
		steps = append(steps, map[string]any{"name": s.name, "type": s.typ, "status": s.status,
			"description": s.description, "timestamp": s.at.UTC().Format(time.RFC3339Nano), "details": d})
	}
	mods := make([]map[string]any, 0, len(o.modified))
	for _, m := range o.modified {
		mods = append(mods, map[string]any{"displayName": m.name, "oldValue": m.old, "newValue": m.new})
	}
	status := map[string]any{"status": o.result}
	if o.errorCode != "" {
		status["errorInformation"] = map[string]any{"errorCode": o.errorCode, "reason": o.errorMessage}
	}
	var target any
	if o.targetID != "" {
		target = map[string]any{"id": o.targetID, "displayName": plan.user.DisplayName, "identityType": userTargetObject,
			"details": map[string]string{}}
	}
	b, _ := json.Marshal(map[string]any{
		"action":             o.action,
		"provisioningSteps":  steps,
		"modifiedProperties": mods,
		"statusInfo":         status,
		"sourceIdentity": map[string]any{"id": plan.user.ID, "displayName": plan.user.DisplayName, "identityType": "User",
			"details": map[string]string{"userPrincipalName": plan.user.UserPrincipalName}},
		"targetIdentity": target,
		"sourceSystem":   map[string]any{"name": sourceDirectory},
		"targetSystem": map[string]any{"name": targetDirectory, "details": map[string]string{
			"ApplicationId": plan.appID, "ServicePrincipalId": plan.spID, "ServicePrincipalDisplayName": plan.spName}},
	})
	return string(b)
}

// podPlan validates a provisionOnDemand request and snapshots what the verdict needs.
func (t *Tenant) podPlan(req *request, p params) (*podPlan, *apiError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp, j, e := t.syncSPJob(p)
	if e != nil {
		return nil, e
	}
	now := t.now()
	kept := j.podTimes[:0]
	for _, at := range j.podTimes {
		if now.Sub(at) < podWindow {
			kept = append(kept, at)
		}
	}
	j.podTimes = kept
	if len(j.podTimes) >= podLimit {
		wait := j.podTimes[0].Add(podWindow).Sub(now)
		secs := int((wait + time.Second - 1) / time.Second)
		return nil, &apiError{status: http.StatusTooManyRequests, code: "TooManyRequests", retryAfter: max(secs, 1),
			message: fmt.Sprintf("Too many provisionOnDemand requests for job '%s': the limit is %d requests per 10 seconds.", j.id, podLimit)}
	}
	j.podTimes = append(j.podTimes, now)

	body, e := req.bodyObject("synchronizationJob.provisionOnDemand", "parameters")
	if e != nil {
		return nil, e
	}
	var params []json.RawMessage
	if ok, e := prop(body, "parameters", &params); e != nil || !ok || len(params) == 0 {
		return nil, badRequest("The property 'parameters' is required and must contain one item.")
	}
	if len(params) > 1 {
		return nil, badRequest("The on-demand provisioning request API can only accept a single user, or a single group with up to 5 members, at a time.")
	}
	pm, e := decodeObject(params[0], "synchronizationJobApplicationParameters", "ruleId", "subjects")
	if e != nil {
		return nil, e
	}
	var ruleID string
	if _, e := prop(pm, "ruleId", &ruleID); e != nil {
		return nil, e
	}
	if ruleID != j.ruleID {
		return nil, badRequest("The rule id '%s' was not found in the synchronization schema of job '%s'.", ruleID, j.id)
	}
	var subjects []json.RawMessage
	if ok, e := prop(pm, "subjects", &subjects); e != nil || !ok || len(subjects) == 0 {
		return nil, badRequest("The property 'subjects' is required and must contain one item.")
	}
	if len(subjects) > 1 {
		return nil, badRequest("The on-demand provisioning request API can only accept a single user, or a single group with up to 5 members, at a time.")
	}
	sm, e := decodeObject(subjects[0], "synchronizationJobSubject", "objectId", "objectTypeName", "links")
	if e != nil {
		return nil, e
	}
	var objectID, typeName string
	if _, e := prop(sm, "objectId", &objectID); e != nil {
		return nil, e
	}
	if _, e := prop(sm, "objectTypeName", &typeName); e != nil {
		return nil, e
	}
	if typeName != "User" && typeName != "Group" {
		return nil, badRequest("The objectTypeName '%s' is not supported. Use 'User' or 'Group'.", typeName)
	}
	if !isGUID(objectID) {
		return nil, invalidObjectID(objectID)
	}
	var memberIDs []string
	if raw, ok := sm["links"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		lm, e := decodeObject(raw, "synchronizationLinkedObjects", "members", "manager", "group")
		if e != nil {
			return nil, e
		}
		var members []json.RawMessage
		if _, e := prop(lm, "members", &members); e != nil {
			return nil, e
		}
		if len(members) > 0 && typeName != "Group" {
			return nil, badRequest("Linked members can only be provided for a subject of type 'Group'.")
		}
		if len(members) > 5 {
			return nil, badRequest("The on-demand provisioning request API can only accept a single group with up to 5 members at a time.")
		}
		for _, raw := range members {
			mm, e := decodeObject(raw, "synchronizationJobSubject", "objectId", "objectTypeName", "links")
			if e != nil {
				return nil, e
			}
			var id, tn string
			if _, e := prop(mm, "objectId", &id); e != nil {
				return nil, e
			}
			if _, e := prop(mm, "objectTypeName", &tn); e != nil {
				return nil, e
			}
			if tn != "User" {
				return nil, badRequest("Group members must have objectTypeName 'User'; got '%s'.", tn)
			}
			memberIDs = append(memberIDs, id)
		}
	}

	plan := &podPlan{spID: sp.id, spName: sp.displayName, appID: sp.appID, jobID: j.id, kind: typeName,
		creds: sp.secretMap(), userMaps: j.userMaps()}
	if typeName == "User" {
		u := t.findUser(objectID)
		if u == nil {
			return nil, notFound(objectID)
		}
		plan.user = copyUser(u)
		plan.entitled = t.entitledAt(sp, u.ID, now)
		return plan, nil
	}
	g := t.findGroup(objectID)
	if g == nil {
		return nil, notFound(objectID)
	}
	plan.group = copyGroup(g)
	plan.entitled = t.groupEntitledAt(sp, g.ID, now)
	for _, id := range memberIDs {
		u := t.findUser(id)
		if u == nil {
			return nil, notFound(id)
		}
		isMember := false
		for _, m := range g.MemberIDs {
			if eq(m, u.ID) {
				isMember = true
			}
		}
		if !isMember {
			return nil, badRequest("The user '%s' is not a member of the group '%s'.", id, g.ID)
		}
		plan.members = append(plan.members, copyUser(u))
	}
	return plan, nil
}

func (t *Tenant) assignmentHonoured(a *assignment, now time.Time) bool {
	return !now.Before(a.created.Add(t.opts.ProvisionDelay))
}

// entitledAt reports whether the user is in provisioning scope: SyncAll, a direct assignment or an
// assignment of a group the user is a direct member of, old enough to be honoured.
func (t *Tenant) entitledAt(sp *servicePrincipal, userID string, now time.Time) bool {
	if strings.EqualFold(sp.secret("SyncAll"), "true") {
		return true
	}
	for _, a := range sp.assignments {
		if !t.assignmentHonoured(a, now) {
			continue
		}
		if eq(a.principalID, userID) {
			return true
		}
		if a.principalType == "Group" {
			if g := t.findGroup(a.principalID); g != nil {
				for _, m := range g.MemberIDs {
					if eq(m, userID) {
						return true
					}
				}
			}
		}
	}
	return false
}

func (t *Tenant) groupEntitledAt(sp *servicePrincipal, groupID string, now time.Time) bool {
	if strings.EqualFold(sp.secret("SyncAll"), "true") {
		return true
	}
	for _, a := range sp.assignments {
		if eq(a.principalID, groupID) && t.assignmentHonoured(a, now) {
			return true
		}
	}
	return false
}

func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func (t *Tenant) importSteps(plan *podPlan) userOutcome {
	now := t.now()
	name, kind := plan.user.UserPrincipalName, "User"
	if plan.kind == "Group" {
		name, kind = plan.group.DisplayName, "Group"
	}
	return userOutcome{steps: []step{
		{name: "EntryImport", typ: "Import", status: "Success", at: now,
			description: fmt.Sprintf("Retrieved %s '%s' from %s", kind, name, sourceDirectory),
			details:     map[string]string{"objectId": plan.user.ID + plan.group.ID}},
		{name: "EntrySynchronizationScoping", typ: "Scoping", status: "Success", at: now,
			description: fmt.Sprintf("Determine if %s in scope by evaluating against each scoping filter", kind),
			details: map[string]string{"Active in the source system": boolString(plan.kind == "Group" || plan.user.AccountEnabled),
				"Assigned to the application": "True", "Scoping filter evaluation passed": "True"}},
	}}
}

func (t *Tenant) notEntitled(plan *podPlan) userOutcome {
	o := t.importSteps(plan)
	o.steps[1].status = "Skipped"
	o.steps[1].details["Assigned to the application"] = "False"
	o.result, o.action, o.errorCode = "Skipped", "Other", "NotEffectivelyEntitled"
	what := "user"
	if plan.kind == "Group" {
		what = "group"
	}
	o.errorMessage = fmt.Sprintf("The %s is not assigned to the application or is not in scope for provisioning. "+
		"Assignments can take a few minutes to be honoured by on-demand provisioning.", what)
	return o
}

func failureCode(status int) string {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return codeUnauthorized
	case status >= 500 || status == 0:
		return codeServiceFailure
	}
	return codeBadRequest
}

// desiredUser is what the job's user mappings send for a user (mappings.go evaluates them).
// With the default mapping emails[type eq "work"].value comes from mail
// (use-scim-to-provision-users-and-groups.md, the attribute table), and Entra sends no
// attribute whose source is empty: a user without a mailbox gets no emails value unless the
// mapping falls back, e.g. Coalesce([mail], [userPrincipalName]). active follows the account.
func desiredUser(u User, maps []mapping) map[string]any {
	v := mappedUser(u, maps)
	m := map[string]any{
		"schemas": []string{scimUserSchema},
		"active":  u.AccountEnabled,
	}
	for target, key := range map[string]string{"userName": "userName", "displayName": "displayName", "externalId": "externalId"} {
		if v[target] != "" {
			m[key] = v[target]
		}
	}
	if mail := v[`emails[type eq "work"].value`]; mail != "" {
		m["emails"] = []map[string]any{{"type": "work", "primary": true, "value": mail}}
	}
	name := map[string]any{}
	if g := v["name.givenName"]; g != "" {
		name["givenName"] = g
	}
	if f := v["name.familyName"]; f != "" {
		name["familyName"] = f
	}
	if len(name) > 0 {
		m["name"] = name
	}
	return m
}

// wantEmail is the work e-mail a desiredUser carries ("" when none).
func wantEmail(want map[string]any) string {
	list, _ := want["emails"].([]map[string]any)
	if len(list) == 0 {
		return ""
	}
	s, _ := list[0]["value"].(string)
	return s
}

func strField(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

func workEmail(m map[string]any) string {
	list, _ := m["emails"].([]any)
	first := ""
	for _, e := range list {
		em, _ := e.(map[string]any)
		v, _ := em["value"].(string)
		if first == "" {
			first = v
		}
		if t, _ := em["type"].(string); t == "work" {
			return v
		}
	}
	return first
}

func activeField(m map[string]any) bool {
	switch v := m["active"].(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return true
}

// provisionUser matches and creates or updates one user in the SCIM target.
func (t *Tenant) provisionUser(ctx context.Context, c scimCreds, token string, u User, maps []mapping) userOutcome {
	o := t.importSteps(&podPlan{kind: "User", user: u})
	add := func(name, typ, status, desc string) {
		o.steps = append(o.steps, step{name: name, typ: typ, status: status, description: desc, at: t.now(),
			details: map[string]string{}})
	}
	fail := func(call scimCall, stepName, typ string) userOutcome {
		add(stepName, typ, "Failure", call.describe())
		o.result, o.errorCode = "Failure", failureCode(call.status)
		if call.err != nil {
			o.errorCode = codeServiceFailure
		}
		o.errorMessage = fmt.Sprintf("Failed to %s the user '%s' in %s. %s", map[string]string{
			"EntryImportByMatch": "match", "EntryExportAdd": "create", "EntryExportUpdate": "update"}[stepName],
			u.UserPrincipalName, targetDirectory, call.describe())
		return o
	}
	if o.action == "" {
		o.action = "Other"
	}
	lookup := t.scimDo(ctx, http.MethodGet, filterURL(c.base, "Users", "userName", u.UserPrincipalName, nil), token, nil)
	if lookup.err != nil || lookup.status != http.StatusOK {
		return fail(lookup, "EntryImportByMatch", "Matching")
	}
	found, ok := listResources(lookup.body)
	if !ok {
		add("EntryImportByMatch", "Matching", "Failure", "The SCIM endpoint did not return a ListResponse. "+lookup.describe())
		o.result, o.errorCode = "Failure", codeIncompatible
		o.errorMessage = "The SCIM endpoint did not return a ListResponse. " + lookup.describe()
		return o
	}
	want := desiredUser(u, maps)
	if len(found) == 0 {
		add("EntryImportByMatch", "Matching", "Success",
			fmt.Sprintf("User '%s' was not found in %s", u.UserPrincipalName, targetDirectory))
		add("EntrySynchronizationAdd", "Action", "Success", "User will be created in "+targetDirectory)
		o.action = "Create"
		create := t.scimDo(ctx, http.MethodPost, c.base+"/Users", token, want)
		if create.err != nil || (create.status != http.StatusCreated && create.status != http.StatusOK) {
			return fail(create, "EntryExportAdd", "Export")
		}
		var res map[string]any
		_ = json.Unmarshal(create.body, &res)
		o.targetID = strField(res, "id")
		add("EntryExportAdd", "Export", "Success", fmt.Sprintf("User '%s' was created in %s", u.UserPrincipalName, targetDirectory))
		o.result, o.created = "Success", true
		o.modified = []modProp{
			{"userName", nil, strField(want, "userName")}, {"active", nil, boolString(u.AccountEnabled)},
			{"displayName", nil, strField(want, "displayName")}, {`emails[type eq "work"].value`, nil, wantEmail(want)},
			{"name.givenName", nil, strField(want, "name", "givenName")}, {"name.familyName", nil, strField(want, "name", "familyName")},
			{"externalId", nil, strField(want, "externalId")},
		}
		return o
	}
	cur := found[0]
	o.targetID = strField(cur, "id")
	add("EntryImportByMatch", "Matching", "Success", fmt.Sprintf("Retrieved '%s' from %s", u.UserPrincipalName, targetDirectory))
	var ops []map[string]any
	diff := func(path string, old, newVal any) {
		if fmt.Sprint(old) == fmt.Sprint(newVal) {
			return
		}
		if os, ok := old.(string); ok {
			if ns, ok := newVal.(string); ok && strings.EqualFold(os, ns) && path != "displayName" {
				return
			}
		}
		ops = append(ops, map[string]any{"op": "Replace", "path": path, "value": newVal})
		o.modified = append(o.modified, modProp{path, old, newVal})
	}
	diff("active", activeField(cur), u.AccountEnabled)
	if d := strField(want, "displayName"); d != "" {
		diff("displayName", strField(cur, "displayName"), d)
	}
	if g := strField(want, "name", "givenName"); g != "" {
		diff("name.givenName", strField(cur, "name", "givenName"), g)
	}
	if f := strField(want, "name", "familyName"); f != "" {
		diff("name.familyName", strField(cur, "name", "familyName"), f)
	}
	if mail := wantEmail(want); mail != "" {
		diff(`emails[type eq "work"].value`, workEmail(cur), mail)
	}
	if len(ops) == 0 {
		add("EntrySynchronizationSkip", "Export", "Skipped", "The state of the user in both the source and target systems already match.")
		o.result, o.action, o.errorCode = "Skipped", "Other", "RedundantExport"
		o.errorMessage = "The state of the user in both the source and target systems already match."
		return o
	}
	for i := range o.modified {
		if b, ok := o.modified[i].new.(bool); ok {
			o.modified[i].new = boolString(b)
			o.modified[i].old = boolString(!b)
		}
	}
	add("EntrySynchronizationUpdate", "Action", "Success", "User will be updated in "+targetDirectory)
	o.action = "Update"
	patch := t.scimDo(ctx, http.MethodPatch, c.base+"/Users/"+url.PathEscape(o.targetID), token,
		map[string]any{"schemas": []string{scimPatchOpSchema}, "Operations": ops})
	if patch.err != nil || patch.status/100 != 2 {
		return fail(patch, "EntryExportUpdate", "Export")
	}
	add("EntryExportUpdate", "Export", "Success", fmt.Sprintf("User '%s' was updated in %s", u.UserPrincipalName, targetDirectory))
	o.result = "Success"
	return o
}

// provisionGroup provisions the linked members, then creates the group or adds the members to it.
func (t *Tenant) provisionGroup(ctx context.Context, c scimCreds, token string, plan *podPlan) (userOutcome, []userOutcome) {
	g := plan.group
	o := t.importSteps(plan)
	o.action = "Other"
	add := func(name, typ, status, desc string) {
		o.steps = append(o.steps, step{name: name, typ: typ, status: status, description: desc, at: t.now(),
			details: map[string]string{}})
	}
	var members []userOutcome
	var memberIDs []string
	for _, u := range plan.members {
		mo := t.provisionUser(ctx, c, token, u, plan.userMaps)
		members = append(members, mo)
		if mo.result == "Failure" {
			o.result, o.errorCode = "Failure", mo.errorCode
			o.errorMessage = fmt.Sprintf("Member '%s' could not be provisioned: %s", u.UserPrincipalName, mo.errorMessage)
			return o, members
		}
		if mo.targetID != "" {
			memberIDs = append(memberIDs, mo.targetID)
		}
	}
	failed := func(call scimCall, stepName string) (userOutcome, []userOutcome) {
		add(stepName, "Export", "Failure", call.describe())
		o.result, o.errorCode = "Failure", failureCode(call.status)
		o.errorMessage = fmt.Sprintf("Failed to provision the group '%s' in %s. %s", g.DisplayName, targetDirectory, call.describe())
		return o, members
	}
	lookup := t.scimDo(ctx, http.MethodGet, filterURL(c.base, "Groups", "displayName", g.DisplayName,
		url.Values{"excludedAttributes": {"members"}}), token, nil)
	if lookup.err != nil || lookup.status != http.StatusOK {
		return failed(lookup, "EntryImportByMatch")
	}
	found, ok := listResources(lookup.body)
	if !ok {
		o.result, o.errorCode = "Failure", codeIncompatible
		o.errorMessage = "The SCIM endpoint did not return a ListResponse. " + lookup.describe()
		return o, members
	}
	memberRefs := make([]map[string]any, 0, len(memberIDs))
	for _, id := range memberIDs {
		memberRefs = append(memberRefs, map[string]any{"value": id})
	}
	if len(found) == 0 {
		o.action = "Create"
		create := t.scimDo(ctx, http.MethodPost, c.base+"/Groups", token, map[string]any{
			"schemas": []string{scimGroupSchema}, "displayName": g.DisplayName, "externalId": g.ID, "members": memberRefs})
		if create.err != nil || (create.status != http.StatusCreated && create.status != http.StatusOK) {
			return failed(create, "EntryExportAdd")
		}
		var res map[string]any
		_ = json.Unmarshal(create.body, &res)
		o.targetID = strField(res, "id")
		add("EntryExportAdd", "Export", "Success", fmt.Sprintf("Group '%s' was created in %s", g.DisplayName, targetDirectory))
		o.result = "Success"
		o.modified = []modProp{{"displayName", nil, g.DisplayName}, {"externalId", nil, g.ID}}
		return o, members
	}
	o.targetID = strField(found[0], "id")
	if len(memberRefs) == 0 {
		o.result, o.errorCode = "Skipped", "RedundantExport"
		o.errorMessage = "The state of the group in both the source and target systems already match."
		return o, members
	}
	o.action = "Update"
	patch := t.scimDo(ctx, http.MethodPatch, c.base+"/Groups/"+url.PathEscape(o.targetID), token, map[string]any{
		"schemas":    []string{scimPatchOpSchema},
		"Operations": []map[string]any{{"op": "Add", "path": "members", "value": memberRefs}},
	})
	if patch.err != nil || patch.status/100 != 2 {
		return failed(patch, "EntryExportUpdate")
	}
	add("EntryExportUpdate", "Export", "Success", fmt.Sprintf("Group '%s' was updated in %s", g.DisplayName, targetDirectory))
	o.result = "Success"
	return o, members
}
