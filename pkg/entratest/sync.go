package entratest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

const (
	disabledInterval = "P10675199DT2H48M5.4775807S"
	activeInterval   = "PT40M"
	targetDirectory  = "customappsso"
	sourceDirectory  = "Azure Active Directory"
	userTargetObject = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	groupTargetObj   = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

// secretKeyEnum is Graph's synchronizationSecret enum, case-sensitive (v1.0 and beta
// synchronizationSecretKeyStringValuePair pages; unchanged in msgraph-sdk-go v1.89–v1.96).
const secretKeyEnum = "None, UserName, Password, SecretToken, AppKey, BaseAddress, ClientIdentifier, " +
	"ClientSecret, SingleSignOnType, Sandbox, Url, Domain, ConsumerKey, ConsumerSecret, TokenKey, TokenExpiration, " +
	"Oauth2AccessToken, Oauth2AccessTokenCreationTime, Oauth2RefreshToken, SyncAll, InstanceName, Oauth2ClientId, " +
	"Oauth2ClientSecret, CompanyId, UpdateKeyOnSoftDelete, SynchronizationSchedule, SystemOfRecord, SandboxName, " +
	"EnforceDomain, SyncNotificationSettings, SkipOutOfScopeDeletions, Oauth2AuthorizationCode, Oauth2RedirectUri, " +
	"ApplicationTemplateIdentifier, Oauth2TokenExchangeUri, Oauth2AuthorizationUri, AuthenticationType, Server, " +
	"PerformInboundEntitlementGrants, HardDeletesEnabled, SyncAgentCompatibilityKey, SyncAgentADContainer, " +
	"ValidateDomain, TestReferences, ConnectionString"

// isSecretKey reports whether key is a member of the enum, exactly as spelled there: Graph
// answers any other spelling with 500 "Requested value 'x' was not found."
// (msgraph-beta-sdk-java#372).
func isSecretKey(key string) bool {
	for k := range strings.SplitSeq(secretKeyEnum, ",") {
		if strings.TrimSpace(k) == key {
			return true
		}
	}
	return false
}

// isSensitiveKey: values Graph masks as "*" on GET …/secrets (Terraform's
// flattenSynchronizationSecretKeyStringValuePair relies on the mask), whatever the key's case.
func isSensitiveKey(key string) bool {
	switch strings.ToLower(key) {
	case "secrettoken", "password", "clientsecret", "oauth2clientsecret", "oauth2accesstoken", "oauth2refreshtoken", "consumersecret", "appkey":
		return true
	}
	return false
}

var restartScopes = map[string]bool{"None": true, "ConnectorDataStore": true, "Escrows": true, "Watermark": true,
	"QuarantineState": true, "Full": true, "ForceDeletes": true}

type job struct {
	id, templateID, ruleID        string
	created                       time.Time
	scheduleState, interval       string
	statusCode                    string
	quarantine                    *quarantine
	lastExecution, lastSuccessful *execution
	steadyFirst, steadyLast       time.Time
	startCalls, startWhileActive  int
	podTimes                      []time.Time
	entryCounts                   map[string]int
	// userMappings and groupMappings are what a schema PUT saved; nil means Entra's defaults.
	userMappings, groupMappings []mapping
}

type quarantine struct {
	reason                                 string
	currentBegan, nextAttempt, seriesBegan time.Time
	seriesCount                            int
	errCode, errMessage                    string
}

type execution struct {
	id, state          string
	began, ended       time.Time
	imported, exported int
}

// secret returns a saved value whatever the key's case: the portal and the beta
// connectivityParameters writer store lower-case names for the same settings.
func (sp *servicePrincipal) secret(key string) string {
	for _, s := range sp.secrets {
		if strings.EqualFold(s.key, key) {
			return s.value
		}
	}
	return ""
}

// secretMap is the saved settings keyed by lower-case name.
func (sp *servicePrincipal) secretMap() map[string]string {
	m := make(map[string]string, len(sp.secrets))
	for _, s := range sp.secrets {
		m[strings.ToLower(s.key)] = s.value
	}
	return m
}

// putSecret upserts one key (matched case-insensitively, the newest spelling kept); an empty
// value removes it (Terraform deletes a secret by PUTting it empty).
func (sp *servicePrincipal) putSecret(key, value string) {
	for i, s := range sp.secrets {
		if strings.EqualFold(s.key, key) {
			sp.secrets[i].key = key
			if value == "" {
				sp.secrets = append(sp.secrets[:i], sp.secrets[i+1:]...)
			} else {
				sp.secrets[i].value = value
			}
			return
		}
	}
	if value != "" {
		sp.secrets = append(sp.secrets, secret{key: key, value: value})
	}
}

// afterSecrets moves never-configured jobs to NotRun once a BaseAddress is saved.
func (sp *servicePrincipal) afterSecrets() {
	if sp.secret("BaseAddress") == "" {
		return
	}
	for _, j := range sp.jobs {
		if j.statusCode == "NotConfigured" {
			j.statusCode = "NotRun"
		}
	}
}

// syncSP resolves the service principal of a synchronization call, reproducing the 403/409 answers
// Graph gives while a new service principal replicates.
func (t *Tenant) syncSP(id string) (*servicePrincipal, *apiError) {
	if !isGUID(id) {
		return nil, invalidObjectID(id)
	}
	sp := t.findSP(id)
	if sp == nil {
		return nil, notFound(id)
	}
	if !t.replicated(sp.created) {
		sp.replFlip++
		if sp.replFlip%2 == 1 {
			return nil, insufficientPrivileges()
		}
		return nil, newErr(http.StatusConflict, "Conflict",
			"The synchronization service is not ready for service principal '%s' yet. Retry the operation.", sp.id)
	}
	return sp, nil
}

func (t *Tenant) syncJob(sp *servicePrincipal, jobID string) (*job, *apiError) {
	for _, j := range sp.jobs {
		if j.id == jobID {
			if !t.replicated(j.created) {
				return nil, notFound(jobID)
			}
			return j, nil
		}
	}
	return nil, notFound(jobID)
}

func (t *Tenant) syncSPJob(p params) (*servicePrincipal, *job, *apiError) {
	sp, e := t.syncSP(p.spID)
	if e != nil {
		return nil, nil, e
	}
	j, e := t.syncJob(sp, p.jobID)
	if e != nil {
		return nil, nil, e
	}
	return sp, j, nil
}

func execJSON(e *execution) any {
	if e == nil {
		return nil
	}
	return map[string]any{
		"activityIdentifier":           e.id,
		"countEntitled":                e.imported,
		"countEntitledForProvisioning": e.imported,
		"countEscrowed":                0,
		"countEscrowedRaw":             0,
		"countExported":                e.exported,
		"countExports":                 e.exported,
		"countImported":                e.imported,
		"countImportedDeltas":          0,
		"countImportedReferenceDeltas": 0,
		"error":                        nil,
		"state":                        e.state,
		"timeBegan":                    fmtTime(e.began),
		"timeEnded":                    fmtTime(e.ended),
	}
}

func jobJSON(j *job) map[string]any {
	var q any
	if j.quarantine != nil {
		q = map[string]any{
			"currentBegan": fmtTime(j.quarantine.currentBegan),
			"nextAttempt":  fmtTime(j.quarantine.nextAttempt),
			"reason":       j.quarantine.reason,
			"seriesBegan":  fmtTime(j.quarantine.seriesBegan),
			"seriesCount":  j.quarantine.seriesCount,
			"error": map[string]any{"code": j.quarantine.errCode, "message": j.quarantine.errMessage,
				"tenantActionable": true},
		}
	}
	counts := []map[string]any{}
	for _, k := range []string{"User", "Group"} {
		if n, ok := j.entryCounts[k]; ok {
			counts = append(counts, map[string]any{"key": k, "value": n})
		}
	}
	return map[string]any{
		"id":         j.id,
		"templateId": j.templateID,
		"schedule":   map[string]any{"expiration": nil, "interval": j.interval, "state": j.scheduleState},
		"status": map[string]any{
			"code":                               j.statusCode,
			"countSuccessiveCompleteFailures":    0,
			"escrowsPruned":                      false,
			"lastExecution":                      execJSON(j.lastExecution),
			"lastSuccessfulExecution":            execJSON(j.lastSuccessful),
			"lastSuccessfulExecutionWithExports": execJSON(j.lastSuccessful),
			"progress":                           []any{},
			"quarantine":                         q,
			"steadyStateFirstAchievedTime":       fmtTime(j.steadyFirst),
			"steadyStateLastAchievedTime":        fmtTime(j.steadyLast),
			"synchronizedEntryCountByType":       counts,
			"troubleshootingUrl":                 nil,
		},
		"synchronizationJobSettings": []map[string]any{
			{"name": "AzureIngestionAttributeOptimization", "value": "False"},
			{"name": "LookaheadQueryEnabled", "value": "False"},
			{"name": "QuarantineTooManyDeletesThreshold", "value": "500"},
		},
	}
}

func jobSchemaJSON(j *job) map[string]any {
	userMappings := attributeMappingsJSON(j.userMaps())
	groupMappings := attributeMappingsJSON(j.groupMaps())
	return map[string]any{
		"id":      "customappsso",
		"version": "Date:" + j.created.UTC().Format("2006-01-02") + ";SchemaId:scim",
		"directories": []any{
			map[string]any{"id": "AzureActiveDirectory", "name": sourceDirectory, "discoverabilities": "None",
				"objects": []any{map[string]any{"name": "User", "attributes": attributesJSON(userSourceAttrs)},
					map[string]any{"name": "Group", "attributes": attributesJSON(groupSourceAttrs)}}},
			map[string]any{"id": "customappsso", "name": targetDirectory, "discoverabilities": "None",
				"objects": []any{map[string]any{"name": userTargetObject, "attributes": attributesJSON(userTargetAttrs)},
					map[string]any{"name": groupTargetObj, "attributes": attributesJSON(groupTargetAttrs)}}},
		},
		"synchronizationRules": []any{map[string]any{
			"id":                  j.ruleID,
			"name":                "USER_OUTBOUND_TEAM",
			"editable":            true,
			"priority":            1,
			"sourceDirectoryName": sourceDirectory,
			"targetDirectoryName": targetDirectory,
			"containerFilter":     map[string]any{"includedContainers": []any{}},
			"groupFilter":         map[string]any{"includedGroups": []any{}},
			"metadata":            []any{},
			"objectMappings": []any{
				map[string]any{"name": "Provision Azure Active Directory Users", "enabled": true,
					"flowTypes": "Add, Update, Delete", "sourceObjectName": "User", "targetObjectName": userTargetObject,
					"attributeMappings": userMappings, "metadata": []any{}, "scope": nil},
				map[string]any{"name": "Provision Azure Active Directory Groups", "enabled": true,
					"flowTypes": "Add, Update, Delete", "sourceObjectName": "Group", "targetObjectName": groupTargetObj,
					"attributeMappings": groupMappings, "metadata": []any{}, "scope": nil},
			},
		}},
	}
}

func hSyncGet(t *Tenant, req *request, p params) *response {
	sp, e := t.syncSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"@odata.context": req.contextURL("servicePrincipals('" + sp.id + "')/synchronization/$entity"),
		"id":             sp.id,
		"secrets":        maskedSecrets(sp),
	})
}

func hSyncTemplates(t *Tenant, req *request, p params) *response {
	sp, e := t.syncSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	value := []any{}
	if sp.templateID != "" {
		value = append(value, map[string]any{
			"id": "scim", "applicationId": sp.appID, "factoryTag": "CustomSCIM", "default": true,
			"description": nil, "discoverable": true, "metadata": []any{},
			"schema": map[string]any{"directories": []any{}, "synchronizationRules": []any{}},
		})
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"@odata.context": req.contextURL("servicePrincipals('" + sp.id + "')/synchronization/templates"),
		"value":          value,
	})
}

func hJobsList(t *Tenant, req *request, p params) *response {
	sp, e := t.syncSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	value := []any{}
	for _, j := range sp.jobs {
		if t.replicated(j.created) {
			value = append(value, jobJSON(j))
		}
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"@odata.context": req.contextURL("servicePrincipals('" + sp.id + "')/synchronization/jobs"),
		"value":          value,
	})
}

func hJobCreate(t *Tenant, req *request, p params) *response {
	sp, e := t.syncSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	body, e := req.bodyObject("synchronizationJob", "templateId")
	if e != nil {
		return t.errorResponse(req, e)
	}
	var tpl string
	if _, e := prop(body, "templateId", &tpl); e != nil {
		return t.errorResponse(req, e)
	}
	// An App registrations app (no applicationTemplateId) is not enabled for provisioning
	// ("Automatic provisioning isn't available on my OIDC-based application", Entra's
	// provisioning known issues; a peer script that created one saw its job creation fail:
	// shared reference peers.md), so it is offered no template. The wording is the one this
	// emulator gives for any unknown template; Microsoft does not document the exact answer.
	if tpl != "scim" || sp.templateID == "" {
		return t.errorResponse(req, badRequest("The synchronization template '%s' was not found for application '%s'.", tpl, sp.appID))
	}
	j := &job{
		id:            "scim." + strings.ReplaceAll(t.tenantID, "-", "") + "." + strings.ReplaceAll(uuid.NewString(), "-", ""),
		templateID:    tpl,
		ruleID:        uuid.NewString() + "#V2",
		created:       t.now(),
		scheduleState: "Disabled",
		interval:      disabledInterval,
		statusCode:    "NotConfigured",
	}
	sp.jobs = append(sp.jobs, j)
	sp.afterSecrets()
	out := jobJSON(j)
	out["@odata.context"] = req.contextURL("servicePrincipals('" + sp.id + "')/synchronization/jobs/$entity")
	return jsonResponse(http.StatusCreated, out)
}

func hJobGet(t *Tenant, req *request, p params) *response {
	sp, j, e := t.syncSPJob(p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	out := jobJSON(j)
	out["@odata.context"] = req.contextURL("servicePrincipals('" + sp.id + "')/synchronization/jobs/$entity")
	return jsonResponse(http.StatusOK, out)
}

func hJobDelete(t *Tenant, req *request, p params) *response {
	sp, j, e := t.syncSPJob(p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	for i, x := range sp.jobs {
		if x == j {
			sp.jobs = append(sp.jobs[:i], sp.jobs[i+1:]...)
			break
		}
	}
	return noContent()
}

func hJobSchema(t *Tenant, req *request, p params) *response {
	sp, j, e := t.syncSPJob(p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	out := jobSchemaJSON(j)
	out["@odata.context"] = req.contextURL("servicePrincipals('" + sp.id + "')/synchronization/jobs('" + j.id + "')/schema/$entity")
	return jsonResponse(http.StatusOK, out)
}

func maskedSecrets(sp *servicePrincipal) []map[string]any {
	out := []map[string]any{}
	for _, s := range sp.secrets {
		v := s.value
		if isSensitiveKey(s.key) {
			v = "*"
		}
		out = append(out, map[string]any{"key": s.key, "value": v})
	}
	return out
}

func hSecretsGet(t *Tenant, req *request, p params) *response {
	sp, e := t.syncSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"@odata.context": req.contextURL("servicePrincipals('" + sp.id + "')/synchronization/secrets"),
		"value":          maskedSecrets(sp),
	})
}

// decodeKeyValues parses [{"key","value"}] and validates each key against the service's enum.
func (t *Tenant) decodeKeyValues(raw json.RawMessage, what string) ([]secret, *apiError) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, badRequest("Invalid value for property '%s': an array of key/value pairs is expected.", what)
	}
	out := make([]secret, 0, len(items))
	for _, it := range items {
		m, e := decodeObject(it, "synchronizationSecretKeyStringValuePair", "key", "value")
		if e != nil {
			return nil, e
		}
		var s secret
		if ok, e := prop(m, "key", &s.key); e != nil || !ok {
			return nil, badRequest("Every item of '%s' needs a 'key'.", what)
		}
		if _, e := prop(m, "value", &s.value); e != nil {
			return nil, e
		}
		if !isSecretKey(s.key) || t.rejectedKeys[s.key] {
			return nil, newErr(http.StatusInternalServerError, "InternalError", "Requested value '%s' was not found.", s.key)
		}
		out = append(out, s)
	}
	return out, nil
}

func hSecretsPut(t *Tenant, req *request, p params) *response {
	sp, e := t.syncSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	body, e := req.bodyObject("synchronizationSecrets", "value")
	if e != nil {
		return t.errorResponse(req, e)
	}
	if _, ok := body["value"]; !ok {
		return t.errorResponse(req, badRequest("The request body must contain the property 'value'."))
	}
	pairs, e := t.decodeKeyValues(body["value"], "value")
	if e != nil {
		return t.errorResponse(req, e)
	}
	k := t.Knobs()
	if k.RejectTokenURI {
		for _, s := range pairs {
			if s.key == "Oauth2TokenExchangeUri" {
				// The onboarding agent's newest version saw the v1.0 PUT refuse the token URI
				// with NotInAllowList; the exact status and wording are not public [INF].
				return t.errorResponse(req, badRequest("Oauth2TokenExchangeUri: the value '%s' is not allowed (NotInAllowList).", s.value))
			}
		}
	}
	if t.takeDroppedPut() {
		return noContent()
	}
	if k.DropPartialSecretsPut && (!hasPair(pairs, "SyncNotificationSettings") || !hasPair(pairs, "SyncAll")) {
		// The onboarding agent: a PUT without SyncNotificationSettings and SyncAll can be
		// dropped silently: 204, nothing stored.
		return noContent()
	}
	for _, s := range pairs {
		sp.putSecret(s.key, s.value)
	}
	sp.afterSecrets()
	return noContent()
}

func hasPair(pairs []secret, key string) bool {
	for _, s := range pairs {
		if s.key == key {
			return true
		}
	}
	return false
}

// connectivityKeys are the lower-case names the beta connectivityParameters PATCH takes
// (Microsoft's SCIM onboarding agent, AzureAD/SCIMReferenceCode, both of its branches).
var connectivityKeys = []string{"authenticationType", "baseAddress", "secretToken", "oauth2ClientId",
	"oauth2ClientSecret", "oauth2TokenExchangeUri", "credentialLocationInRequest"}

// hConnectivityPatch is PATCH /beta/servicePrincipals/{id}/synchronization/connectivityParameters:
// the undocumented writer the onboarding agent calls the portal's path. It upserts the
// lower-case keys it knows, refuses others the way the enum refuses them, and refuses a body
// that mixes bearer and OAuth keys (the agent: "NEVER mix").
func hConnectivityPatch(t *Tenant, req *request, p params) *response {
	sp, e := t.syncSP(p.spID)
	if e != nil {
		return t.errorResponse(req, e)
	}
	body, e := req.bodyObject("connectivityParameters", "value")
	if e != nil {
		return t.errorResponse(req, e)
	}
	var items []struct {
		Key   *string `json:"key"`
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(body["value"], &items); err != nil || len(items) == 0 {
		return t.errorResponse(req, badRequest("Invalid value for property 'value': a non-empty array of key/value pairs is expected."))
	}
	var pairs []secret
	for _, it := range items {
		if it.Key == nil || it.Value == nil {
			return t.errorResponse(req, badRequest("Every item of 'value' needs a 'key' and a 'value'."))
		}
		known := false
		for _, k := range connectivityKeys {
			known = known || k == *it.Key
		}
		if !known {
			return t.errorResponse(req, newErr(http.StatusInternalServerError, "InternalError", "Requested value '%s' was not found.", *it.Key))
		}
		pairs = append(pairs, secret{key: *it.Key, value: *it.Value})
	}
	if hasPair(pairs, "secretToken") && (hasPair(pairs, "oauth2ClientId") || hasPair(pairs, "oauth2ClientSecret")) {
		return t.errorResponse(req, badRequest("The connectivity parameters mix a bearer token with OAuth client credentials."))
	}
	for _, s := range pairs {
		sp.putSecret(s.key, s.value)
	}
	sp.afterSecrets()
	return noContent()
}

func credentialsNotConfigured() *apiError {
	return badRequest("Credentials not configured. Save the credentials of the synchronization job (at least BaseAddress) before starting it.")
}

func hJobStart(t *Tenant, req *request, p params) *response {
	sp, j, e := t.syncSPJob(p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	if sp.secret("BaseAddress") == "" {
		return t.errorResponse(req, credentialsNotConfigured())
	}
	j.startCalls++
	// Graph's docs: start only a paused or quarantined job; starting a running one is the
	// misuse the tool must never commit.
	if j.scheduleState == "Active" && j.statusCode != "Quarantine" {
		j.startWhileActive++
	}
	j.scheduleState, j.interval, j.statusCode, j.quarantine = "Active", activeInterval, "Active", nil
	return noContent()
}

func hJobPause(t *Tenant, req *request, p params) *response {
	_, j, e := t.syncSPJob(p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	j.scheduleState, j.statusCode = "Paused", "Paused"
	return noContent()
}

func hJobRestart(t *Tenant, req *request, p params) *response {
	sp, j, e := t.syncSPJob(p)
	if e != nil {
		return t.errorResponse(req, e)
	}
	var scopes []string
	if len(bytes.TrimSpace(req.body)) > 0 {
		body, e := req.bodyObject("synchronizationJob.restart", "criteria")
		if e != nil {
			return t.errorResponse(req, e)
		}
		if raw, ok := body["criteria"]; ok && string(bytes.TrimSpace(raw)) != "null" {
			crit, e := decodeObject(raw, "synchronizationJobRestartCriteria", "resetScope")
			if e != nil {
				return t.errorResponse(req, e)
			}
			var scope string
			if _, e := prop(crit, "resetScope", &scope); e != nil {
				return t.errorResponse(req, e)
			}
			for _, s := range strings.Split(scope, ",") {
				s = strings.TrimSpace(s)
				if s == "" {
					continue
				}
				if !restartScopes[s] {
					return t.errorResponse(req, badRequest("The value '%s' is not a valid synchronizationJobRestartScope. Valid values: None, ConnectorDataStore, Escrows, Watermark, QuarantineState, Full, ForceDeletes.", s))
				}
				scopes = append(scopes, s)
			}
		}
	}
	if sp.secret("BaseAddress") == "" {
		return t.errorResponse(req, credentialsNotConfigured())
	}
	reset := len(scopes) == 0
	for _, s := range scopes {
		if s == "QuarantineState" || s == "Full" {
			reset = true
		}
	}
	if reset {
		j.quarantine = nil
	}
	if j.quarantine == nil {
		j.scheduleState, j.interval, j.statusCode = "Active", activeInterval, "Active"
	}
	return noContent()
}
