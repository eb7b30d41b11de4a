package provision

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/plural"
)

// Item status values for assign.
const (
	StatusAssigned        = "assigned"
	StatusAlreadyAssigned = "already-assigned"
	StatusRemoved         = "removed"
	StatusNotAssigned     = "not-assigned"
	StatusFailed          = "failed"
	StatusWillAssign      = "will-assign" // --dry-run
	StatusWillRemove      = "will-remove" // --dry-run
)

// AssignItem is one principal's result, so a script can retry just the failures.
type AssignItem struct {
	Input   string `json:"input"`
	Type    string `json:"type"` // user or group
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
	Warning string `json:"warning,omitempty"`
}

// AssignResult is the outcome of one assign run.
type AssignResult struct {
	ServicePrincipalID string       `json:"servicePrincipalId"`
	AppRoleID          string       `json:"appRoleId"`
	AppRoleName        string       `json:"appRoleName"`
	Items              []AssignItem `json:"items"`
	BatchRoundTrips    int          `json:"batchRoundTrips"`
	OK                 bool         `json:"ok"`
}

// Failed lists the items that failed.
func (r *AssignResult) Failed() []AssignItem {
	var out []AssignItem
	for _, it := range r.Items {
		if it.Status == StatusFailed {
			out = append(out, it)
		}
	}
	return out
}

// AssignGraph is what Assigner needs from Graph.
type AssignGraph interface {
	SPReader
	Assignments(ctx context.Context, spID string) ([]graph.Assignment, error)
	BatchAll(ctx context.Context, reqs []graph.BatchRequest, concurrency, maxAttempts int) ([]graph.BatchResponse, graph.BatchStats, error)
}

// Assigner assigns users and groups to the app, in $batch round trips.
type Assigner struct {
	Graph       AssignGraph
	Waiter      Waiter
	Progress    Progress
	Concurrency int // $batch round trips in flight; default 4
	// Confirm, when set, is asked once before any write with the items about to change; an
	// error stops the run with nothing written and is returned as is.
	Confirm func(ctx context.Context, changes []AssignItem, remove bool) error
}

// AssignRequest says whom to assign (or remove) on which app.
type AssignRequest struct {
	ServicePrincipalID string
	Users              []string // UPN, mail or object id
	Groups             []string // display name or object id
	Remove             bool
	DryRun             bool // look up and decide, write nothing (items end will-assign / will-remove)
	// Resolved, when set, is what ResolveAssignees already looked up (users then groups, none
	// failed); Run takes those items instead of Users and Groups and does not look them up
	// again.
	Resolved []AssignItem
}

// Compiled on first use, not at start-up (docs/performance.md, "Start-up").
var guidRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
})

// IsGUID reports whether s is an object id.
func IsGUID(s string) bool { return guidRE().MatchString(s) }

// Run assigns (or removes) every principal and reports each one.
func (a *Assigner) Run(ctx context.Context, req AssignRequest) (*AssignResult, error) {
	res := &AssignResult{ServicePrincipalID: req.ServicePrincipalID}
	sp, err := a.Graph.ServicePrincipal(ctx, req.ServicePrincipalID)
	if err != nil {
		if graph.IsNotFound(err) {
			return nil, fmt.Errorf("the app's service principal %s no longer exists; run `invicti-scim setup` again: %w", req.ServicePrincipalID, err)
		}
		return nil, authErr("read the app's roles", PermApplication, err)
	}
	role := UserRole(sp.AppRoles)
	if role == nil {
		return nil, fmt.Errorf("the app %q declares no assignable \"User\" role; was it created from the non-gallery template?", sp.DisplayName)
	}
	res.AppRoleID, res.AppRoleName = role.ID, role.DisplayName

	a.Progress.emit(Event{Kind: EventBegin, Message: "Reading current assignments"})
	existing, err := a.Graph.Assignments(ctx, sp.ID)
	if err != nil {
		return nil, authErr("list assignments", PermApplication, err)
	}
	assigned := map[string]graph.Assignment{}
	for _, as := range existing {
		assigned[strings.ToLower(as.PrincipalID)] = as
	}

	var items []AssignItem
	if req.Resolved != nil {
		items = append(items, req.Resolved...)
	} else {
		a.Progress.emit(Event{Kind: EventBegin, Message: "Looking up " + plural.Count(len(req.Users), "user") + " and " + plural.Count(len(req.Groups), "group")})
		var trips int
		items, trips, err = a.resolve(ctx, req)
		res.BatchRoundTrips += trips
		if err != nil {
			return nil, err
		}
	}

	// Decide per item, then write in batches.
	var writes []graph.BatchRequest
	var writeIdx []int
	seen := map[string]int{}
	for i := range items {
		it := &items[i]
		if it.Status == StatusFailed {
			continue
		}
		key := strings.ToLower(it.ID)
		if j, dup := seen[key]; dup {
			it.Status = items[j].Status
			it.Warning = "listed more than once"
			continue
		}
		seen[key] = i
		cur, isAssigned := assigned[key]
		switch {
		case req.Remove && !isAssigned:
			it.Status = StatusNotAssigned
		case req.Remove:
			writes = append(writes, graph.BatchRequest{Method: http.MethodDelete, URL: "/servicePrincipals/" + graph.PathEscape(sp.ID) + "/appRoleAssignedTo/" + graph.PathEscape(cur.ID)})
			writeIdx = append(writeIdx, i)
		case isAssigned:
			it.Status = StatusAlreadyAssigned
		default:
			writes = append(writes, graph.BatchRequest{Method: http.MethodPost, URL: "/servicePrincipals/" + graph.PathEscape(sp.ID) + "/appRoleAssignedTo",
				Body: map[string]string{"principalId": it.ID, "resourceId": sp.ID, "appRoleId": role.ID}})
			writeIdx = append(writeIdx, i)
		}
	}
	if len(writes) > 0 && req.DryRun {
		for _, i := range writeIdx {
			items[i].Status = StatusWillAssign
			if req.Remove {
				items[i].Status = StatusWillRemove
			}
		}
		writes = nil
	}
	if len(writes) > 0 && a.Confirm != nil {
		changes := make([]AssignItem, 0, len(writeIdx))
		for _, i := range writeIdx {
			changes = append(changes, items[i])
		}
		if err := a.Confirm(ctx, changes, req.Remove); err != nil {
			return nil, err
		}
	}
	if len(writes) > 0 {
		verb := "Assigning"
		if req.Remove {
			verb = "Removing"
		}
		a.Progress.emit(Event{Kind: EventBegin, Message: fmt.Sprintf("%s %d principals", verb, len(writes))})
		trips, err := a.write(ctx, writes, writeIdx, items, req.Remove)
		res.BatchRoundTrips += trips
		if err != nil {
			return nil, err
		}
	}
	res.Items = items
	res.OK = len(res.Failed()) == 0
	return res, nil
}

// write sends the assignment writes, retrying items Entra has not replicated yet (404, 400
// "Not a valid reference update") within the waiter's budget.
func (a *Assigner) write(ctx context.Context, writes []graph.BatchRequest, idx []int, items []AssignItem, remove bool) (int, error) {
	trips := 0
	deadline := a.Waiter.now().Add(min(a.Waiter.budget(), 5*time.Minute))
	wait := a.Waiter.interval()
	for attempt := 1; len(writes) > 0; attempt++ {
		res, stats, err := a.Graph.BatchAll(ctx, writes, a.concurrency(), 6)
		trips += stats.RoundTrips
		if err != nil {
			return trips, authErr("assign", PermAssign, err)
		}
		var retryW []graph.BatchRequest
		var retryI []int
		for k, r := range res {
			it := &items[idx[k]]
			err := r.Err()
			if graph.IsExpiredToken(err) {
				return trips, graph.AsExpiredToken(err)
			}
			switch {
			case err == nil && remove:
				it.Status, it.Error = StatusRemoved, ""
			case err == nil:
				it.Status, it.Error = StatusAssigned, ""
			case remove && graph.IsNotFound(err):
				it.Status, it.Error = StatusNotAssigned, ""
			case !remove && graph.IsAlreadyExists(err):
				it.Status, it.Error = StatusAlreadyAssigned, ""
			case transient(retryAssign, err) && a.Waiter.now().Add(wait).Before(deadline):
				retryW = append(retryW, writes[k])
				retryI = append(retryI, idx[k])
				it.Status, it.Error = StatusFailed, errMsg(err)
			case graph.IsPremiumRequired(err):
				it.Status, it.Error = StatusFailed, "this tenant cannot assign groups to apps (it needs Entra ID P1 or P2): assign the group's users one by one instead ("+errMsg(err)+")"
			case graph.IsAuth(err):
				it.Status, it.Error = StatusFailed, "permission denied: needs "+PermAssign+" ("+errMsg(err)+")"
			default:
				it.Status, it.Error = StatusFailed, errMsg(err)
			}
		}
		if len(retryW) == 0 {
			break
		}
		a.Progress.emit(Event{Kind: EventWait, Message: fmt.Sprintf("waiting for Entra to replicate %d principals before assigning them (attempt %d)", len(retryW), attempt)})
		if err := a.Waiter.sleep(ctx, wait); err != nil {
			return trips, err
		}
		wait = min(wait*2, a.Waiter.maxWait())
		writes, idx = retryW, retryI
	}
	return trips, nil
}

func (a *Assigner) concurrency() int {
	if a.Concurrency > 0 {
		return a.Concurrency
	}
	return 4
}

func errMsg(err error) string {
	var ge *graph.Error
	if asGraphError(err, &ge) {
		if ge.Message != "" {
			return ge.Message
		}
		return fmt.Sprintf("HTTP %d %s", ge.Status, ge.Code)
	}
	return err.Error()
}

// resolve looks every principal up in batches: users by UPN or id (then by mail for
// addresses that are not UPNs), groups by id or display name.
// inLookupMax is how many values one `$filter=… in (…)` may carry: Graph refuses more with
// "Too many child clauses specified in search filter expression containing 'OR' operators:
// N. Max allowed: 15." (the same limit applies to in, which Graph expands to ORs).
const inLookupMax = 15

// lookupInBulk finds users by object id or user principal name with `$filter=id in (…)` and
// `$filter=userPrincipalName in (…)` queries of 15 values, 20 queries to a $batch: 1,000 users
// take four round trips instead of fifty. What it does not find is looked up one by one
// afterwards (where a missing UPN may still be a mail address).
func (a *Assigner) lookupInBulk(ctx context.Context, users []string) (map[string]graph.User, int, error) {
	var ids, upns []string
	seen := map[string]bool{}
	for _, u := range users {
		u = strings.TrimSpace(u)
		k := strings.ToLower(u)
		if u == "" || seen[k] {
			continue
		}
		seen[k] = true
		switch {
		case IsGUID(u):
			ids = append(ids, u)
		case strings.Contains(u, "@") && !strings.ContainsAny(u, "'\""):
			upns = append(upns, u)
		}
	}
	var reqs []graph.BatchRequest
	chunk := func(prop string, vals []string) {
		for len(vals) > 0 {
			n := min(len(vals), inLookupMax)
			quoted := make([]string, n)
			for i, v := range vals[:n] {
				quoted[i] = graph.Quote(v)
			}
			reqs = append(reqs, graph.BatchRequest{Method: http.MethodGet,
				URL: "/users?$filter=" + odataEscape(prop+" in ("+strings.Join(quoted, ",")+")") + "&$select=" + graph.UserSelect})
			vals = vals[n:]
		}
	}
	chunk("id", ids)
	chunk("userPrincipalName", upns)
	found := map[string]graph.User{}
	// One user or one group needs no bulk query: the direct lookups below are as cheap.
	if len(reqs) == 0 || len(users) < 2 {
		return found, 0, nil
	}
	res, stats, err := a.Graph.BatchAll(ctx, reqs, a.concurrency(), 6)
	if err != nil {
		return nil, stats.RoundTrips, authErr("look up users", PermUsers, err)
	}
	for _, r := range res {
		if err := r.Err(); err != nil {
			if graph.IsExpiredToken(err) {
				return nil, stats.RoundTrips, graph.AsExpiredToken(err)
			}
			continue // the one-by-one lookups below report it per user
		}
		var list struct {
			Value []graph.User `json:"value"`
		}
		if r.Decode(&list) != nil {
			continue
		}
		for _, u := range list.Value {
			found[strings.ToLower(u.ID)] = u
			found[strings.ToLower(u.UserPrincipalName)] = u
		}
	}
	return found, stats.RoundTrips, nil
}

// Resolve looks the users and groups up without an app (reads only): items that do not exist
// or cannot be assigned end StatusFailed with the reason, the others carry their object id.
// A plan uses it to refuse a manifest naming nobody before it creates the app.
func (a *Assigner) Resolve(ctx context.Context, users, groups []string) ([]AssignItem, error) {
	items, _, err := a.resolve(ctx, AssignRequest{Users: users, Groups: groups})
	return items, err
}

func (a *Assigner) resolve(ctx context.Context, req AssignRequest) ([]AssignItem, int, error) {
	var items []AssignItem
	var reqs []graph.BatchRequest
	var reqItem []int // reqs[k] looks up items[reqItem[k]]
	found, trips, err := a.lookupInBulk(ctx, req.Users)
	if err != nil {
		return nil, trips, err
	}
	for _, u := range req.Users {
		u = strings.TrimSpace(u)
		items = append(items, AssignItem{Input: u, Type: "user"})
		if fu, ok := found[strings.ToLower(u)]; ok && u != "" {
			checkUser(&items[len(items)-1], fu)
			continue
		}
		reqs = append(reqs, graph.BatchRequest{Method: http.MethodGet, URL: graph.UserPath(u) + "?$select=" + graph.UserSelect})
		reqItem = append(reqItem, len(items)-1)
	}
	for _, g := range req.Groups {
		g = strings.TrimSpace(g)
		items = append(items, AssignItem{Input: g, Type: "group"})
		if IsGUID(g) {
			reqs = append(reqs, graph.BatchRequest{Method: http.MethodGet, URL: "/groups/" + g + "?$select=" + graph.GroupSelect})
		} else {
			reqs = append(reqs, graph.BatchRequest{Method: http.MethodGet, URL: "/groups?$filter=" + odataEscape("displayName eq "+graph.Quote(g)) + "&$select=" + graph.GroupSelect})
		}
		reqItem = append(reqItem, len(items)-1)
	}
	for i := range items {
		if items[i].Input == "" {
			items[i].Status, items[i].Error = StatusFailed, "empty name"
		}
	}
	if len(reqs) == 0 {
		return items, trips, nil
	}
	res, stats, err := a.Graph.BatchAll(ctx, reqs, a.concurrency(), 6)
	trips += stats.RoundTrips
	if err != nil {
		return nil, trips, authErr("look up users and groups", PermUsers, err)
	}
	var mailReqs []graph.BatchRequest
	var mailIdx []int
	var mailFirst []error // the 404 of the user principal name lookup, to quote Graph when mail finds nobody either
	for k, r := range res {
		i := reqItem[k]
		it := &items[i]
		if it.Input == "" {
			continue
		}
		err := r.Err()
		if graph.IsExpiredToken(err) {
			return nil, trips, graph.AsExpiredToken(err)
		}
		if it.Type == "user" {
			if graph.IsNotFound(err) && strings.Contains(it.Input, "@") && !IsGUID(it.Input) {
				mailReqs = append(mailReqs, graph.BatchRequest{Method: http.MethodGet, URL: "/users?$filter=" + odataEscape("mail eq "+graph.Quote(it.Input)) + "&$select=" + graph.UserSelect})
				mailIdx = append(mailIdx, i)
				mailFirst = append(mailFirst, err)
				continue
			}
			if err != nil {
				it.Status, it.Error = StatusFailed, lookupErr("user", it.Input, err)
				continue
			}
			var u graph.User
			if err := r.Decode(&u); err != nil {
				it.Status, it.Error = StatusFailed, "unreadable answer: "+err.Error()
				continue
			}
			checkUser(it, u)
			continue
		}
		if err != nil {
			it.Status, it.Error = StatusFailed, lookupErr("group", it.Input, err)
			continue
		}
		var groups []graph.Group
		if IsGUID(it.Input) {
			var g graph.Group
			if err := r.Decode(&g); err != nil {
				it.Status, it.Error = StatusFailed, "unreadable answer: "+err.Error()
				continue
			}
			groups = []graph.Group{g}
		} else {
			var list struct {
				Value []graph.Group `json:"value"`
			}
			if err := r.Decode(&list); err != nil {
				it.Status, it.Error = StatusFailed, "unreadable answer: "+err.Error()
				continue
			}
			groups = list.Value
		}
		checkGroup(it, groups)
	}
	// Only a group that has groups among its direct members gets the nested-groups note: one
	// read per group of its members cast to groups, in the same round trip as the mail lookups.
	var nestedIdx []int
	second := mailReqs
	for i := range items {
		if it := &items[i]; it.Type == "group" && it.Status != StatusFailed && it.ID != "" {
			second = append(second, graph.BatchRequest{Method: http.MethodGet, URL: "/groups/" + graph.PathEscape(it.ID) + "/members/microsoft.graph.group?$select=id,displayName&$top=" + fmt.Sprint(nestedShown)})
			nestedIdx = append(nestedIdx, i)
		}
	}
	if len(second) > 0 {
		res, stats, err := a.Graph.BatchAll(ctx, second, a.concurrency(), 6)
		trips += stats.RoundTrips
		if err != nil {
			return nil, trips, authErr("look up users by mail and nested groups", PermUsers, err)
		}
		for k, r := range res[len(mailReqs):] {
			if err := r.Err(); graph.IsExpiredToken(err) {
				return nil, trips, graph.AsExpiredToken(err)
			}
			noteNested(&items[nestedIdx[k]], r)
		}
		for k, r := range res[:len(mailReqs)] {
			it := &items[mailIdx[k]]
			if err := r.Err(); graph.IsExpiredToken(err) {
				return nil, trips, graph.AsExpiredToken(err)
			} else if err != nil {
				it.Status, it.Error = StatusFailed, lookupErr("user", it.Input, err)
				continue
			}
			var list struct {
				Value []graph.User `json:"value"`
			}
			_ = r.Decode(&list)
			switch len(list.Value) {
			case 0:
				it.Status, it.Error = StatusFailed, "no user with this user principal name or mail"+graphSays(mailFirst[k])
			case 1:
				checkUser(it, list.Value[0])
			default:
				var upns []string
				for _, u := range list.Value {
					upns = append(upns, u.UserPrincipalName)
				}
				it.Status, it.Error = StatusFailed, "ambiguous mail: "+strings.Join(upns, ", ")+"; pass the user principal name or object id"
			}
		}
	}
	return items, trips, nil
}

func odataEscape(s string) string {
	r := strings.NewReplacer(" ", "%20", "'", "%27", "#", "%23", "&", "%26", "+", "%2B", "?", "%3F")
	return r.Replace(s)
}

func lookupErr(kind, input string, err error) string {
	if graph.IsNotFound(err) {
		return "no " + kind + " named " + input + graphSays(err)
	}
	if graph.IsAuth(err) {
		perm := PermUsers
		if kind == "group" {
			perm = PermGroups
		}
		return "permission denied reading " + kind + "s: needs " + perm + graphSays(err)
	}
	return errMsg(err)
}

// graphSays quotes Graph's own message, so the admin sees what Graph answered and not only
// our reading of it.
func graphSays(err error) string {
	var ge *graph.Error
	if err == nil || !asGraphError(err, &ge) || strings.TrimSpace(ge.Message) == "" {
		return ""
	}
	return " (Graph: " + strings.TrimSpace(ge.Message) + ")"
}

// UserRefusal is why a user cannot be assigned ("" when it can): the one rule that assign,
// setup's check of --assign-user and the wizard's picker share.
func UserRefusal(u graph.User) string {
	if u.AccountEnabled != nil && !*u.AccountEnabled {
		return "the account is disabled: Entra would provision it as inactive; enable it in Entra or leave it out"
	}
	return ""
}

func checkUser(it *AssignItem, u graph.User) {
	it.ID, it.Name = u.ID, u.UserPrincipalName
	if why := UserRefusal(u); why != "" {
		it.Status, it.Error = StatusFailed, why
		return
	}
	if strings.EqualFold(u.UserType, "Guest") || strings.Contains(u.UserPrincipalName, "#EXT#") {
		it.Warning = "guest user: Invicti receives the guest's UPN as userName unless you change the attribute mapping"
	}
}

func checkGroup(it *AssignItem, groups []graph.Group) {
	switch len(groups) {
	case 0:
		it.Status, it.Error = StatusFailed, "no group named "+it.Input
		return
	case 1:
	default:
		var ids []string
		for _, g := range groups {
			ids = append(ids, g.ID)
		}
		it.Status, it.Error = StatusFailed, "ambiguous group name, matches "+strings.Join(ids, ", ")+"; pass the object id"
		return
	}
	g := groups[0]
	it.ID, it.Name = g.ID, g.DisplayName
	if !g.SecurityEnabled {
		it.Status, it.Error = StatusFailed, "not a security group: Entra provisions only security-enabled groups (assigning groups needs Entra ID P1/P2)"
		return
	}
}

// nestedShown is how many nested groups the note names.
const nestedShown = 5

// noteNested warns about a group's nested groups, whose members Entra does not provision,
// naming them; a group without any gets no note. When the members could not be read the
// note stays general: the assignment itself does not depend on it.
func noteNested(it *AssignItem, r graph.BatchResponse) {
	const note = "members of nested groups are not provisioned"
	if err := r.Err(); err != nil {
		it.Warning = note + " (could not check whether this group has any: " + errMsg(err) + ")"
		return
	}
	var list struct {
		Value    []graph.Group `json:"value"`
		NextLink string        `json:"@odata.nextLink"`
	}
	if err := r.Decode(&list); err != nil {
		it.Warning = note + " (could not check whether this group has any: " + err.Error() + ")"
		return
	}
	if len(list.Value) == 0 {
		return
	}
	var names []string
	for _, g := range list.Value {
		names = append(names, g.DisplayName)
	}
	more := ""
	if list.NextLink != "" {
		more = ", …"
	}
	it.Warning = note + ": " + strings.Join(names, ", ") + more
}

// Assigned is one principal assigned to the app, for `assign --list`.
type Assigned struct {
	Type         string    `json:"type"` // user or group
	Name         string    `json:"name"` // Graph's principalDisplayName
	PrincipalID  string    `json:"principalId"`
	Role         string    `json:"role"` // the app role's display name ("" for the default access role)
	AppRoleID    string    `json:"appRoleId"`
	AssignedAt   time.Time `json:"assignedAt"`
	AssignmentID string    `json:"assignmentId"`
}

// AssignedList is who is assigned to the app.
type AssignedList struct {
	ServicePrincipalID string     `json:"servicePrincipalId"`
	Assigned           []Assigned `json:"assigned"`
	OK                 bool       `json:"ok"`
}

// List reads who is assigned to the app (users and groups), with the role's name and when,
// oldest first.
func (a *Assigner) List(ctx context.Context, spID string) (*AssignedList, error) {
	sp, err := a.Graph.ServicePrincipal(ctx, spID)
	if err != nil {
		if graph.IsNotFound(err) {
			return nil, fmt.Errorf("the app's service principal %s no longer exists; run `invicti-scim setup` again: %w", spID, err)
		}
		return nil, authErr("read the app's roles", PermApplication, err)
	}
	roles := map[string]string{}
	for _, r := range sp.AppRoles {
		roles[strings.ToLower(r.ID)] = r.DisplayName
	}
	as, err := a.Graph.Assignments(ctx, sp.ID)
	if err != nil {
		return nil, authErr("list assignments", PermApplication, err)
	}
	out := &AssignedList{ServicePrincipalID: sp.ID, Assigned: []Assigned{}, OK: true}
	for _, x := range as {
		role, ok := roles[strings.ToLower(x.AppRoleID)]
		if !ok && x.AppRoleID == "00000000-0000-0000-0000-000000000000" {
			role = "Default Access"
		}
		out.Assigned = append(out.Assigned, Assigned{Type: strings.ToLower(x.PrincipalType), Name: x.PrincipalDisplayName, PrincipalID: x.PrincipalID,
			Role: role, AppRoleID: x.AppRoleID, AssignedAt: x.CreatedDateTime, AssignmentID: x.ID})
	}
	sort.SliceStable(out.Assigned, func(i, j int) bool { return out.Assigned[i].AssignedAt.Before(out.Assigned[j].AssignedAt) })
	return out, nil
}
