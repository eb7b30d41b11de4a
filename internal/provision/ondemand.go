package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/shellarg"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// Verdict is provision-on-demand's answer, parsed from the JSON strings Graph returns inside
// an HTTP 200 (the status code says nothing about the outcome).
type Verdict struct {
	Result     string          `json:"result"` // Success, Skipped, Failure
	ErrorCode  string          `json:"errorCode,omitempty"`
	Message    string          `json:"message,omitempty"`
	Action     string          `json:"action,omitempty"`
	Steps      []VerdictStep   `json:"steps,omitempty"`
	Attributes []VerdictChange `json:"attributes,omitempty"`
	TargetID   string          `json:"targetId,omitempty"`
}

// VerdictStep is one provisioning step (Import, Scoping, Matching, Action, Export).
type VerdictStep struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	Description string `json:"description,omitempty"`
}

// VerdictChange is one attribute Entra sent.
type VerdictChange struct {
	Name     string `json:"name"`
	OldValue string `json:"oldValue,omitempty"`
	NewValue string `json:"newValue,omitempty"`
}

// Verdict outcomes the CLI branches on.
const (
	ResultSuccess = "Success"
	ResultSkipped = "Skipped"
	ResultFailure = "Failure"
)

// InSync reports Skipped/RedundantExport: source and target already match.
func (v Verdict) InSync() bool {
	return strings.EqualFold(v.Result, ResultSkipped) && strings.EqualFold(v.ErrorCode, "RedundantExport")
}

// NotEntitled reports Skipped/NotEffectivelyEntitled: usually an assignment still replicating.
func (v Verdict) NotEntitled() bool {
	return strings.EqualFold(v.Result, ResultSkipped) && strings.EqualFold(v.ErrorCode, "NotEffectivelyEntitled")
}

// OK reports whether the verdict leaves the subject provisioned.
func (v Verdict) OK() bool {
	return strings.EqualFold(v.Result, ResultSuccess) || v.InSync()
}

// ParseVerdict reads the key and value strings of a provisionOnDemand answer.
func ParseVerdict(key, value string) (Verdict, error) {
	var v Verdict
	var k struct {
		Result  string `json:"result"`
		Details struct {
			ErrorCode    string `json:"errorCode"`
			ErrorMessage string `json:"errorMessage"`
		} `json:"details"`
	}
	if strings.TrimSpace(key) == "" {
		return v, fmt.Errorf("provision on demand: empty verdict")
	}
	if err := json.Unmarshal([]byte(key), &k); err != nil {
		return v, fmt.Errorf("provision on demand: unreadable verdict: %w", err)
	}
	if k.Result == "" {
		return v, fmt.Errorf("provision on demand: verdict has no result")
	}
	v.Result, v.ErrorCode, v.Message = k.Result, k.Details.ErrorCode, k.Details.ErrorMessage
	if strings.TrimSpace(value) == "" {
		return v, nil
	}
	var val struct {
		Action            string `json:"action"`
		ProvisioningSteps []struct {
			Name        string `json:"name"`
			Type        string `json:"type"`
			Status      string `json:"status"`
			Description string `json:"description"`
		} `json:"provisioningSteps"`
		ModifiedProperties []struct {
			DisplayName string `json:"displayName"`
			OldValue    any    `json:"oldValue"`
			NewValue    any    `json:"newValue"`
		} `json:"modifiedProperties"`
		TargetIdentity struct {
			ID string `json:"id"`
		} `json:"targetIdentity"`
	}
	if err := json.Unmarshal([]byte(value), &val); err != nil {
		// The details are a bonus; the verdict in key is what counts.
		return v, nil
	}
	v.Action = val.Action
	v.TargetID = val.TargetIdentity.ID
	for _, s := range val.ProvisioningSteps {
		v.Steps = append(v.Steps, VerdictStep{Name: s.Name, Type: s.Type, Status: s.Status, Description: s.Description})
	}
	for _, m := range val.ModifiedProperties {
		v.Attributes = append(v.Attributes, VerdictChange{Name: m.DisplayName, OldValue: scalar(m.OldValue), NewValue: scalar(m.NewValue)})
	}
	return v, nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// OnDemandItem is one subject's provisioning result.
type OnDemandItem struct {
	Input    string   `json:"input"`
	Type     string   `json:"type"` // user or group
	ID       string   `json:"id,omitempty"`
	Name     string   `json:"name,omitempty"`
	Members  []string `json:"members,omitempty"`
	Status   string   `json:"status"` // provisioned, in-sync, failed, not-entitled
	Verdict  *Verdict `json:"verdict,omitempty"`
	Error    string   `json:"error,omitempty"`
	Attempts int      `json:"attempts"`
	Verified *Verify  `json:"verified,omitempty"`
}

// Verify is what Invicti itself says after provisioning: the end-to-end proof.
type Verify struct {
	Found       bool   `json:"found"`
	ID          string `json:"id,omitempty"`
	UserName    string `json:"userName,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Active      bool   `json:"active"`
	Email       string `json:"email,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Statuses for on-demand items.
const (
	StatusProvisioned = "provisioned"
	StatusInSync      = "in-sync"
	StatusNotEntitled = "not-entitled"
	StatusNothing     = "nothing-provisioned" // a group without direct user members
)

// OnDemandResult is the outcome of one provision run.
type OnDemandResult struct {
	JobID  string         `json:"jobId"`
	RuleID string         `json:"ruleId"`
	Items  []OnDemandItem `json:"items"`
	OK     bool           `json:"ok"`
}

// OnDemandGraph is what OnDemand needs from Graph.
type OnDemandGraph interface {
	Rules(ctx context.Context, spID, jobID string) ([]graph.SyncRule, error)
	ProvisionOnDemand(ctx context.Context, spID, jobID, ruleID string, subjects []graph.Subject) (string, string, error)
	User(ctx context.Context, idOrUPN string) (graph.User, error)
	FindUsers(ctx context.Context, filter string) ([]graph.User, error)
	Group(ctx context.Context, id string) (graph.Group, error)
	FindGroups(ctx context.Context, filter string) ([]graph.Group, error)
	GroupMembers(ctx context.Context, groupID string) ([]graph.User, []graph.Group, error)
	Assignments(ctx context.Context, spID string) ([]graph.Assignment, error)
}

// OnDemand provisions users and groups now, within Entra's limits.
type OnDemand struct {
	Graph    OnDemandGraph
	Progress Progress
	// EntitlementWait bounds the retries of NotEffectivelyEntitled after a fresh assignment.
	EntitlementWait time.Duration
	// Limiter paces calls (5 per 10 s per Graph's docs); nil builds one.
	Limiter *RateLimiter
	Sleep   func(context.Context, time.Duration) error
	// SCIM, when set, verifies users in Invicti after provisioning.
	SCIM interface {
		FindUser(ctx context.Context, userName string) (*invicti.SCIMUser, error)
	}
	// Now is the clock that ages assignments; default time.Now.
	Now func() time.Time
}

// OnDemandRequest says what to provision.
type OnDemandRequest struct {
	ServicePrincipalID string
	JobID              string
	Users              []string
	Groups             []string
	Verify             bool
	// JustAssigned: the caller assigned these subjects moments ago (setup --provision-now), so
	// the assignment check is skipped (Graph's list may not show them yet) and the replication
	// wait applies.
	JustAssigned bool
}

// MaxGroupMembers is how many members one provisionOnDemand call may carry for a group.
const MaxGroupMembers = 5

// Run provisions each subject and reports each verdict.
func (o *OnDemand) Run(ctx context.Context, req OnDemandRequest) (*OnDemandResult, error) {
	res := &OnDemandResult{JobID: req.JobID}
	var rules []graph.SyncRule
	err := Waiter{}.do(ctx, "read schema", retrySync, false, func() error {
		var e error
		rules, e = o.Graph.Rules(ctx, req.ServicePrincipalID, req.JobID)
		return e
	})
	if err != nil {
		return nil, authErr("read the job schema", PermSync, err)
	}
	rule := PickRule(rules)
	if rule == nil {
		return nil, fmt.Errorf("the provisioning job %s has no rule from Azure Active Directory for users; check the app's attribute mappings", req.JobID)
	}
	res.RuleID = rule.ID
	lim := o.Limiter
	if lim == nil {
		lim = NewRateLimiter(5, 10*time.Second)
	}

	type job struct {
		item     OnDemandItem
		subjects []graph.Subject
		upn      string
		fresh    bool // assigned within the wait budget: worth waiting for replication
	}
	sc := &scope{} // unknown scope: everyone counts as assigned
	if !req.JustAssigned {
		sc = o.readScope(ctx, req.ServicePrincipalID)
	}
	var jobs []job
	for _, in := range req.Users {
		in = strings.TrimSpace(in)
		it := OnDemandItem{Input: in, Type: "user"}
		u, err := FindUser(ctx, o.Graph, in)
		if err != nil {
			if graph.IsAuth(err) {
				return nil, authErr("look up users", PermUsers, err)
			}
			it.Status, it.Error = StatusFailed, lookupErr("user", in, err)
			jobs = append(jobs, job{item: it})
			continue
		}
		it.ID, it.Name = u.ID, u.UserPrincipalName
		assigned, since, err := sc.user(ctx, o, u.ID)
		if err != nil {
			return nil, err
		}
		if !assigned {
			it.Status, it.Error = StatusNotAssigned, "not assigned to the app, directly or through an assigned group: run `"+shellarg.Command("assign", "--user", in)+"` first"
			jobs = append(jobs, job{item: it})
			continue
		}
		jobs = append(jobs, job{item: it, subjects: []graph.Subject{{ObjectID: u.ID, ObjectTypeName: "User"}}, upn: u.UserPrincipalName, fresh: o.fresh(since)})
	}
	for _, in := range req.Groups {
		in = strings.TrimSpace(in)
		it := OnDemandItem{Input: in, Type: "group"}
		g, err := FindGroup(ctx, o.Graph, in)
		if err != nil {
			if graph.IsAuth(err) {
				return nil, authErr("look up groups", PermGroups, err)
			}
			it.Status, it.Error = StatusFailed, err.Error()
			jobs = append(jobs, job{item: it})
			continue
		}
		it.ID, it.Name = g.ID, g.DisplayName
		since, assigned := sc.group(g.ID)
		if !assigned {
			it.Status, it.Error = StatusNotAssigned, "the group is not assigned to the app: run `"+shellarg.Command("assign", "--group", in)+"` first"
			jobs = append(jobs, job{item: it})
			continue
		}
		members, nested, err := o.Graph.GroupMembers(ctx, g.ID)
		if err != nil {
			return nil, authErr("list group members", PermGroups, err)
		}
		// A group without direct user members brings nobody into Invicti: say so instead of
		// reporting an empty Success.
		if len(members) == 0 {
			it.Status, it.Error = StatusNothing, "the group has no members: nobody to provision"
			if len(nested) > 0 {
				names := make([]string, 0, len(nested))
				for _, n := range nested {
					names = append(names, n.DisplayName)
				}
				it.Error = fmt.Sprintf("nobody was provisioned: the group's only members are nested groups (%s), and Entra does not provision members of nested groups; assign those groups or their users directly", strings.Join(names, ", "))
			}
			jobs = append(jobs, job{item: it})
			continue
		}
		// Entra accepts one group with at most five members per call: larger groups are
		// provisioned in slices of five, each call carrying the group and five members.
		for i := 0; i < len(members); i += MaxGroupMembers {
			part := members[i:min(i+MaxGroupMembers, len(members))]
			sub := graph.Subject{ObjectID: g.ID, ObjectTypeName: "Group"}
			pit := it
			for _, m := range part {
				sub.Members = append(sub.Members, m.ID)
				pit.Members = append(pit.Members, m.UserPrincipalName)
			}
			if len(members) > MaxGroupMembers {
				pit.Input = fmt.Sprintf("%s (members %d–%d of %d)", in, i+1, i+len(part), len(members))
			}
			jobs = append(jobs, job{item: pit, subjects: []graph.Subject{sub}, fresh: o.fresh(since)})
		}
	}

	for _, j := range jobs {
		it := j.item
		if it.Status != StatusFailed && it.Status != StatusNotAssigned && it.Status != StatusNothing {
			if err := o.provisionOne(ctx, req, rule.ID, &it, j.subjects, lim, j.fresh); err != nil {
				return nil, err
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if req.Verify && o.SCIM != nil && j.upn != "" && (it.Status == StatusProvisioned || it.Status == StatusInSync) {
				it.Verified = o.verify(ctx, j.upn)
			}
		}
		res.Items = append(res.Items, it)
	}
	res.OK = true
	for _, it := range res.Items {
		if it.Status != StatusProvisioned && it.Status != StatusInSync {
			res.OK = false
		}
		if it.Verified != nil && !it.Verified.Found {
			res.OK = false
		}
	}
	return res, nil
}

// UserFinder is what FindUser needs from Graph.
type UserFinder interface {
	User(ctx context.Context, idOrUPN string) (graph.User, error)
	FindUsers(ctx context.Context, filter string) ([]graph.User, error)
}

// FindUser is the one rule for "which user does the person mean": an object id or user
// principal name, else (when Graph has none and the input looks like an address) the one user
// whose mail it is. Not found is Graph's 404; a mail shared by several users is an error.
func FindUser(ctx context.Context, g UserFinder, in string) (graph.User, error) {
	u, err := g.User(ctx, in)
	if err != nil && graph.IsNotFound(err) && strings.Contains(in, "@") {
		users, ferr := g.FindUsers(ctx, "mail eq "+graph.Quote(in))
		switch {
		case ferr != nil:
			err = ferr
		case len(users) == 1:
			u, err = users[0], nil
		case len(users) > 1:
			err = fmt.Errorf("ambiguous mail %s matches %d users", in, len(users))
		}
	}
	return u, err
}

// GroupFinder is what FindGroup needs from Graph.
type GroupFinder interface {
	Group(ctx context.Context, id string) (graph.Group, error)
	FindGroups(ctx context.Context, filter string) ([]graph.Group, error)
}

// FindGroup is the one rule for "which group does the person mean": an object id, else the one
// group with that display name (none, or several, is an error naming the fix).
func FindGroup(ctx context.Context, g GroupFinder, in string) (graph.Group, error) {
	if IsGUID(in) {
		grp, err := g.Group(ctx, in)
		if err != nil {
			return grp, fmt.Errorf("%s", lookupErr("group", in, err))
		}
		return grp, nil
	}
	groups, err := g.FindGroups(ctx, "displayName eq "+graph.Quote(in))
	if err != nil {
		return graph.Group{}, err
	}
	switch len(groups) {
	case 0:
		return graph.Group{}, fmt.Errorf("no group named %s", in)
	case 1:
		return groups[0], nil
	}
	return graph.Group{}, fmt.Errorf("ambiguous group name %s matches %d groups; pass the object id", in, len(groups))
}

// provisionOne records the subject's outcome in it. It returns an error only when carrying on
// is pointless: the Graph token expired, so every later subject would fail the same way.
func (o *OnDemand) provisionOne(ctx context.Context, req OnDemandRequest, ruleID string, it *OnDemandItem, subjects []graph.Subject, lim *RateLimiter, fresh bool) error {
	wait := o.wait()
	deadline := o.now().Add(wait)
	if !fresh {
		// An assignment older than the budget has replicated long ago: a NotEffectivelyEntitled
		// answer is final, not worth minutes of retries.
		deadline = o.now()
	}
	// Entra allows 5 provisionOnDemand calls per 10 s (the API page); the shared limiter keeps
	// all subjects inside that budget, so one subject may ask again every 2 s: the first user
	// lands within ~2 s of the moment Entra honours the assignment, not after a back-off.
	pause := OnDemandRetryInterval
	for {
		it.Attempts++
		done, err := lim.Wait(ctx)
		if err != nil {
			it.Status, it.Error = StatusFailed, err.Error()
			return nil
		}
		o.Progress.emit(Event{Kind: EventBegin, Message: "Provisioning " + label(it) + " on demand"})
		key, value, err := o.Graph.ProvisionOnDemand(ctx, req.ServicePrincipalID, req.JobID, ruleID, subjects)
		done()
		if graph.IsExpiredToken(err) {
			return graph.AsExpiredToken(err)
		}
		if err != nil {
			it.Status, it.Error = StatusFailed, errMsg(err)
			if graph.IsAuth(err) {
				it.Error = "permission denied: needs " + PermSync + " (" + errMsg(err) + ")"
			}
			return nil
		}
		v, perr := ParseVerdict(key, value)
		if perr != nil {
			it.Status, it.Error = StatusFailed, perr.Error()
			return nil
		}
		it.Verdict = &v
		switch {
		case v.InSync():
			it.Status = StatusInSync
			return nil
		case strings.EqualFold(v.Result, ResultSuccess):
			it.Status = StatusProvisioned
			return nil
		case v.NotEntitled() && o.now().Add(pause).Before(deadline):
			o.Progress.emit(Event{Kind: EventWait, Message: fmt.Sprintf("Entra does not see %s %s as assigned yet (assignments take minutes to replicate); retrying in %s", it.Type, label(it), pause)})
			if err := o.sleep(ctx, pause); err != nil {
				it.Status, it.Error = StatusFailed, err.Error()
				return nil
			}
		case v.NotEntitled() && !fresh:
			it.Status, it.Error = StatusNotEntitled, fmt.Sprintf("%s: %s (the assignment is older than --wait %s, so this is not replication delay; check the assignment and the app's scoping filters)", v.ErrorCode, v.Message, wait)
			return nil
		case v.NotEntitled():
			it.Status, it.Error = StatusNotEntitled, fmt.Sprintf("%s: %s (still not entitled after %s; check the assignment with `invicti-scim assign`)", v.ErrorCode, v.Message, wait)
			return nil
		default:
			it.Status = StatusFailed
			it.Error = strings.TrimSpace(v.ErrorCode + ": " + v.Message)
			return nil
		}
	}
}

func (o *OnDemand) wait() time.Duration {
	if o.EntitlementWait == 0 {
		return 5 * time.Minute
	}
	return o.EntitlementWait
}

func (o *OnDemand) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// fresh reports whether an assignment made at since may still be replicating (zero since:
// unknown, so assume it may).
func (o *OnDemand) fresh(since time.Time) bool {
	return since.IsZero() || o.now().Sub(since) < o.wait()
}

// scope is the app's assignments, read once per run, to tell "not assigned" (fail at once)
// from "assigned, not replicated yet" (worth waiting) before any provisionOnDemand call.
type scope struct {
	known   bool                 // false when the assignments could not be read: assume assigned
	users   map[string]time.Time // user object id → assignment time
	groups  map[string]time.Time // group object id → assignment time
	members map[string][]graph.User
}

func (o *OnDemand) readScope(ctx context.Context, spID string) *scope {
	sc := &scope{users: map[string]time.Time{}, groups: map[string]time.Time{}, members: map[string][]graph.User{}}
	as, err := o.Graph.Assignments(ctx, spID)
	if err != nil {
		// Reading assignments needs Application.Read.All or AppRoleAssignment.ReadWrite.All,
		// which provisioning itself does not: without them, provision as before and let
		// Entra's verdict speak.
		return sc
	}
	sc.known = true
	for _, a := range as {
		id := strings.ToLower(a.PrincipalID)
		if strings.EqualFold(a.PrincipalType, "Group") {
			sc.groups[id] = a.CreatedDateTime
		} else {
			sc.users[id] = a.CreatedDateTime
		}
	}
	return sc
}

// user reports whether the user is assigned directly or as a direct member of an assigned
// group (Entra does not provision members of nested groups), and since when.
func (sc *scope) user(ctx context.Context, o *OnDemand, id string) (bool, time.Time, error) {
	if !sc.known {
		return true, time.Time{}, nil
	}
	if t, ok := sc.users[strings.ToLower(id)]; ok {
		return true, t, nil
	}
	for gid, t := range sc.groups {
		members, ok := sc.members[gid]
		if !ok {
			var err error
			if members, _, err = o.Graph.GroupMembers(ctx, gid); err != nil {
				if graph.IsAuth(err) {
					return false, time.Time{}, authErr("list the members of assigned groups", PermGroups, err)
				}
				return false, time.Time{}, err
			}
			sc.members[gid] = members
		}
		for _, m := range members {
			if strings.EqualFold(m.ID, id) {
				return true, t, nil
			}
		}
	}
	return false, time.Time{}, nil
}

func (sc *scope) group(id string) (time.Time, bool) {
	if !sc.known {
		return time.Time{}, true
	}
	t, ok := sc.groups[strings.ToLower(id)]
	return t, ok
}

// OnDemandRetryInterval is how often one subject that Entra does not yet see as assigned is
// provisioned again (NotEffectivelyEntitled): the rate Entra allows one caller (5 per 10 s).
const OnDemandRetryInterval = 2 * time.Second

func label(it *OnDemandItem) string {
	if it.Name != "" {
		return it.Name
	}
	return it.Input
}

func (o *OnDemand) sleep(ctx context.Context, d time.Duration) error {
	if o.Sleep != nil {
		return o.Sleep(ctx, d)
	}
	return Waiter{}.sleep(ctx, d)
}

func (o *OnDemand) verify(ctx context.Context, upn string) *Verify {
	o.Progress.emit(Event{Kind: EventBegin, Message: "Asking Invicti for " + upn})
	u, err := o.SCIM.FindUser(ctx, upn)
	if err != nil {
		return &Verify{Error: err.Error()}
	}
	if u == nil {
		return &Verify{Found: false, Error: "Invicti has no user with userName " + upn}
	}
	return &Verify{Found: true, ID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName, Active: u.Active, Email: u.Email}
}

// PickRule chooses the rule provisioning users from Entra ("Azure Active Directory"). Rule
// ids differ per app and may carry a "#V2" suffix, so they are read, never hard-coded.
func PickRule(rules []graph.SyncRule) *graph.SyncRule {
	for i := range rules {
		r := &rules[i]
		if strings.EqualFold(r.SourceDirectoryName, "Azure Active Directory") {
			for _, o := range r.SourceObjects {
				if strings.EqualFold(o, "User") {
					return r
				}
			}
		}
	}
	if len(rules) > 0 {
		return &rules[0]
	}
	return nil
}

// RateLimiter allows n calls per window (a sliding window, as Graph counts them).
type RateLimiter struct {
	n      int
	window time.Duration
	mu     sync.Mutex
	calls  []time.Time
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
}

// NewRateLimiter allows n calls per window.
func NewRateLimiter(n int, window time.Duration) *RateLimiter {
	return &RateLimiter{n: n, window: window, now: time.Now, sleep: Waiter{}.sleep}
}

// Wait blocks until one more call fits in the window. Call the returned func when the
// answer arrives: Entra counts a call when it receives it, which can be a round trip after
// we sent it, so the window is measured from the answer (never earlier than the send).
func (l *RateLimiter) Wait(ctx context.Context) (func(), error) {
	for {
		l.mu.Lock()
		now := l.now()
		keep := l.calls[:0]
		for _, t := range l.calls {
			if now.Sub(t) < l.window {
				keep = append(keep, t)
			}
		}
		l.calls = keep
		if len(l.calls) < l.n {
			l.calls = append(l.calls, now)
			sent := now
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				defer l.mu.Unlock()
				// The slice may have been compacted: find our entry by its send time.
				for i := range l.calls {
					if l.calls[i].Equal(sent) {
						l.calls[i] = l.now()
						return
					}
				}
			}, nil
		}
		oldest := l.calls[0]
		for _, t := range l.calls[1:] {
			if t.Before(oldest) {
				oldest = t
			}
		}
		wait := l.window - now.Sub(oldest)
		l.mu.Unlock()
		if err := l.sleep(ctx, wait); err != nil {
			return func() {}, err
		}
	}
}
