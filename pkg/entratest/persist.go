package entratest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The snapshot types mirror the tenant's unexported state with exported JSON fields, so a
// tenant can outlive its process (the sandbox's --state-dir). Request logs, faults and knobs
// are not kept: they belong to one run.
type tenantSnapshot struct {
	Version      int                  `json:"version"`
	TenantID     string               `json:"tenantId"`
	DefaultToken string               `json:"defaultToken"`
	Tokens       map[string]Principal `json:"tokens"`
	Users        []User               `json:"users"`
	Groups       []Group              `json:"groups"`
	Apps         []appSnapshot        `json:"apps"`
	Claims       []claimsSnapshot     `json:"claimsMappingPolicies,omitempty"`
	Logs         []logSnapshot        `json:"logs"`
	Provisioned  int                  `json:"provisioned"`
	RoleObjIDs   map[string]string    `json:"roleObjectIds"`
}

type roleSnapshot struct{ ID, DisplayName, Value string }

type claimsSnapshot struct {
	ID, DisplayName string
	Definition      []string
}

type appSnapshot struct {
	ID, AppID, DisplayName, TemplateID string
	Roles                              []roleSnapshot
	Created                            time.Time
	SP                                 *spSnapshot `json:",omitempty"`
	IdentifierURIs, RedirectURIs       []string    `json:",omitempty"`
}

type spSnapshot struct {
	ID, AppID, DisplayName, TemplateID string
	Tags                               []string
	Notes                              *string
	Roles                              []roleSnapshot
	AssignmentRequired                 bool
	Created                            time.Time
	Secrets                            [][2]string
	Jobs                               []jobSnapshot
	Assignments                        []assignmentSnapshot
	SSOMode                            *string   `json:",omitempty"`
	SigningThumbprint                  string    `json:",omitempty"`
	KeyCreds                           []keyCred `json:",omitempty"`
	ClaimsPolicyIDs                    []string  `json:",omitempty"`
}

type jobSnapshot struct {
	ID, TemplateID, RuleID              string
	Created                             time.Time
	ScheduleState, Interval, StatusCode string
	Quarantine                          *quarantineSnapshot `json:",omitempty"`
	LastExecution, LastSuccessful       *executionSnapshot  `json:",omitempty"`
	SteadyFirst, SteadyLast             time.Time
	StartCalls, StartWhileActive        int
	PodTimes                            []time.Time
	EntryCounts                         map[string]int
	UserMappings, GroupMappings         []mapping `json:",omitempty"`
}

type quarantineSnapshot struct {
	Reason                                 string
	CurrentBegan, NextAttempt, SeriesBegan time.Time
	SeriesCount                            int
	ErrCode, ErrMessage                    string
}

type executionSnapshot struct {
	ID, State          string
	Began, Ended       time.Time
	Imported, Exported int
}

type assignmentSnapshot struct {
	ID, PrincipalID, PrincipalType, PrincipalName, AppRoleID string
	Created                                                  time.Time
}

type stepSnapshot struct {
	Name, Type, Status, Description string
	Details                         map[string]string
	At                              time.Time
}

type modSnapshot struct {
	Name     string
	Old, New any
}

type logSnapshot struct {
	ID                                     string
	Time                                   time.Time
	SPID, SPName, JobID, CycleID, ChangeID string
	Action, Status, ErrorCode, Reason      string
	SourceID, SourceName, SourceUPN        string
	SourceType                             string
	TargetID, TargetName, TargetType       string
	Steps                                  []stepSnapshot
	Modified                               []modSnapshot
	DurationMs                             int
}

func rolesOut(rs []appRole) []roleSnapshot {
	out := make([]roleSnapshot, 0, len(rs))
	for _, r := range rs {
		out = append(out, roleSnapshot{r.id, r.displayName, r.value})
	}
	return out
}

func rolesIn(rs []roleSnapshot) []appRole {
	out := make([]appRole, 0, len(rs))
	for _, r := range rs {
		out = append(out, appRole{id: r.ID, displayName: r.DisplayName, value: r.Value})
	}
	return out
}

// Snapshot returns the tenant's directory, apps, jobs, settings (unmasked), assignments,
// provisioning logs and tokens as JSON, for Restore in a later process. It holds secrets and
// bearer tokens: store it 0600.
func (t *Tenant) Snapshot() ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := tenantSnapshot{Version: 1, TenantID: t.tenantID, DefaultToken: t.defaultToken, Tokens: map[string]Principal{},
		Provisioned: t.provisioned, RoleObjIDs: t.roleObjIDs}
	for tok, p := range t.tokens {
		s.Tokens[tok] = p.Principal
	}
	for _, u := range t.users {
		s.Users = append(s.Users, copyUser(u))
	}
	for _, g := range t.groups {
		s.Groups = append(s.Groups, copyGroup(g))
	}
	for _, c := range t.claims {
		s.Claims = append(s.Claims, claimsSnapshot{ID: c.id, DisplayName: c.displayName, Definition: c.definition})
	}
	for _, a := range t.apps {
		as := appSnapshot{ID: a.id, AppID: a.appID, DisplayName: a.displayName, TemplateID: a.templateID, Roles: rolesOut(a.roles), Created: a.created,
			IdentifierURIs: a.identifierURIs, RedirectURIs: a.redirectURIs}
		if sp := a.sp; sp != nil {
			ss := &spSnapshot{ID: sp.id, AppID: sp.appID, DisplayName: sp.displayName, TemplateID: sp.templateID, Tags: sp.tags,
				Notes: sp.notes, Roles: rolesOut(sp.roles), AssignmentRequired: sp.assignmentRequired, Created: sp.created,
				SSOMode: sp.ssoMode, SigningThumbprint: sp.signingThumbprint, KeyCreds: sp.keyCreds, ClaimsPolicyIDs: sp.claimsPolicyIDs}
			for _, sec := range sp.secrets {
				ss.Secrets = append(ss.Secrets, [2]string{sec.key, sec.value})
			}
			for _, j := range sp.jobs {
				js := jobSnapshot{ID: j.id, TemplateID: j.templateID, RuleID: j.ruleID, Created: j.created, ScheduleState: j.scheduleState,
					Interval: j.interval, StatusCode: j.statusCode, SteadyFirst: j.steadyFirst, SteadyLast: j.steadyLast,
					StartCalls: j.startCalls, StartWhileActive: j.startWhileActive, PodTimes: j.podTimes, EntryCounts: j.entryCounts,
					UserMappings: j.userMappings, GroupMappings: j.groupMappings}
				if q := j.quarantine; q != nil {
					js.Quarantine = &quarantineSnapshot{q.reason, q.currentBegan, q.nextAttempt, q.seriesBegan, q.seriesCount, q.errCode, q.errMessage}
				}
				exec := func(e *execution) *executionSnapshot {
					if e == nil {
						return nil
					}
					return &executionSnapshot{e.id, e.state, e.began, e.ended, e.imported, e.exported}
				}
				js.LastExecution, js.LastSuccessful = exec(j.lastExecution), exec(j.lastSuccessful)
				ss.Jobs = append(ss.Jobs, js)
			}
			for _, as := range sp.assignments {
				ss.Assignments = append(ss.Assignments, assignmentSnapshot{as.id, as.principalID, as.principalType, as.principalName, as.appRoleID, as.created})
			}
			as.SP = ss
		}
		s.Apps = append(s.Apps, as)
	}
	for _, l := range t.logs {
		ls := logSnapshot{ID: l.id, Time: l.time, SPID: l.spID, SPName: l.spName, JobID: l.jobID, CycleID: l.cycleID, ChangeID: l.changeID,
			Action: l.action, Status: l.status, ErrorCode: l.errorCode, Reason: l.reason, SourceID: l.sourceID, SourceName: l.sourceName,
			SourceUPN: l.sourceUPN, SourceType: l.sourceType, TargetID: l.targetID, TargetName: l.targetName, TargetType: l.targetType,
			DurationMs: l.durationMs}
		for _, st := range l.steps {
			ls.Steps = append(ls.Steps, stepSnapshot{st.name, st.typ, st.status, st.description, st.details, st.at})
		}
		for _, m := range l.modified {
			ls.Modified = append(ls.Modified, modSnapshot{m.name, m.old, m.new})
		}
		s.Logs = append(s.Logs, ls)
	}
	return json.MarshalIndent(s, "", "  ")
}

// Restore replaces the tenant's state with a Snapshot (its tenant id included). Everything
// restored counts as replicated long ago.
func (t *Tenant) Restore(data []byte) error {
	var s tenantSnapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("entratest: restore: %w", err)
	}
	if s.Version != 1 {
		return fmt.Errorf("entratest: restore: unknown snapshot version %d", s.Version)
	}
	t.mu.Lock()
	t.tenantID, t.defaultToken, t.provisioned = strings.ToLower(s.TenantID), s.DefaultToken, s.Provisioned
	t.roleObjIDs = map[string]string{}
	for k, v := range s.RoleObjIDs {
		t.roleObjIDs[k] = v
	}
	t.users, t.groups, t.apps, t.logs, t.claims = nil, nil, nil, nil, nil
	for _, c := range s.Claims {
		t.claims = append(t.claims, &claimsPolicy{id: c.ID, displayName: c.DisplayName, definition: c.Definition})
	}
	t.tokens = map[string]*principal{}
	for i := range s.Users {
		u := s.Users[i]
		t.users = append(t.users, &u)
	}
	for i := range s.Groups {
		g := s.Groups[i]
		t.groups = append(t.groups, &g)
	}
	for _, as := range s.Apps {
		a := &application{id: as.ID, appID: as.AppID, displayName: as.DisplayName, templateID: as.TemplateID, roles: rolesIn(as.Roles), created: as.Created,
			identifierURIs: as.IdentifierURIs, redirectURIs: as.RedirectURIs}
		if ss := as.SP; ss != nil {
			sp := &servicePrincipal{id: ss.ID, appID: ss.AppID, displayName: ss.DisplayName, templateID: ss.TemplateID, app: a, tags: ss.Tags,
				notes: ss.Notes, roles: rolesIn(ss.Roles), assignmentRequired: ss.AssignmentRequired, created: ss.Created,
				ssoMode: ss.SSOMode, signingThumbprint: ss.SigningThumbprint, keyCreds: ss.KeyCreds, claimsPolicyIDs: ss.ClaimsPolicyIDs}
			for _, kv := range ss.Secrets {
				sp.secrets = append(sp.secrets, secret{key: kv[0], value: kv[1]})
			}
			for _, js := range ss.Jobs {
				j := &job{id: js.ID, templateID: js.TemplateID, ruleID: js.RuleID, created: js.Created, scheduleState: js.ScheduleState,
					interval: js.Interval, statusCode: js.StatusCode, steadyFirst: js.SteadyFirst, steadyLast: js.SteadyLast,
					startCalls: js.StartCalls, startWhileActive: js.StartWhileActive, podTimes: js.PodTimes, entryCounts: js.EntryCounts,
					userMappings: js.UserMappings, groupMappings: js.GroupMappings}
				if q := js.Quarantine; q != nil {
					j.quarantine = &quarantine{q.Reason, q.CurrentBegan, q.NextAttempt, q.SeriesBegan, q.SeriesCount, q.ErrCode, q.ErrMessage}
				}
				exec := func(e *executionSnapshot) *execution {
					if e == nil {
						return nil
					}
					return &execution{e.ID, e.State, e.Began, e.Ended, e.Imported, e.Exported}
				}
				j.lastExecution, j.lastSuccessful = exec(js.LastExecution), exec(js.LastSuccessful)
				sp.jobs = append(sp.jobs, j)
			}
			for _, x := range ss.Assignments {
				sp.assignments = append(sp.assignments, &assignment{x.ID, x.PrincipalID, x.PrincipalType, x.PrincipalName, x.AppRoleID, x.Created})
			}
			a.sp = sp
		}
		t.apps = append(t.apps, a)
	}
	for _, ls := range s.Logs {
		l := &provLog{id: ls.ID, time: ls.Time, spID: ls.SPID, spName: ls.SPName, jobID: ls.JobID, cycleID: ls.CycleID, changeID: ls.ChangeID,
			action: ls.Action, status: ls.Status, errorCode: ls.ErrorCode, reason: ls.Reason, sourceID: ls.SourceID, sourceName: ls.SourceName,
			sourceUPN: ls.SourceUPN, sourceType: ls.SourceType, targetID: ls.TargetID, targetName: ls.TargetName, targetType: ls.TargetType,
			durationMs: ls.DurationMs}
		for _, st := range ls.Steps {
			l.steps = append(l.steps, step{st.Name, st.Type, st.Status, st.Description, st.Details, st.At})
		}
		for _, m := range ls.Modified {
			l.modified = append(l.modified, modProp{m.Name, m.Old, m.New})
		}
		t.logs = append(t.logs, l)
	}
	t.mu.Unlock()
	for tok, p := range s.Tokens {
		t.AddToken(tok, p)
	}
	return nil
}
