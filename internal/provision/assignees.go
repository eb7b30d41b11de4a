package provision

import (
	"context"
	"errors"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/shellarg"
)

// Unresolved is the one rule for principals named for assignment before anything is written
// (setup's --assign-user and --assign-group, a manifest's assignments): every item Resolve
// could not resolve (no such user or group, an ambiguous name, a disabled account, a group
// that is not security-enabled), as "<where>: <reason>". where names the flag or manifest
// field and the value the admin gave.
func Unresolved(items []AssignItem, where func(AssignItem) string) []string {
	var out []string
	for _, it := range items {
		if it.Status == StatusFailed {
			out = append(out, where(it)+": "+it.Error)
		}
	}
	return out
}

// FixAssignees is the hint when setup's --assign-user or --assign-group names someone it
// cannot assign.
const FixAssignees = "nothing was created: correct the value (a user's UPN, mail or object id; a security group's display name or object id) and run setup again, or leave the flag out and assign later with `invicti-scim assign`"

// ResolveAssignees looks up the users and groups setup was asked to assign, with reads only
// and the lookups assign makes (Assigner.Resolve: one $batch round trip for a handful), before
// setup creates anything. The items come back in order, users then groups, for AssignRequest.
// Resolved, so the assignment later does not look them up again. Any that does not resolve is
// a *UsageError naming each as --assign-user or --assign-group and its value (quoted for a
// shell), with FixAssignees as its hint. Graph failures (permissions, sign-in) are returned as
// they are.
func ResolveAssignees(ctx context.Context, g AssignGraph, users, groups []string) ([]AssignItem, error) {
	if len(users)+len(groups) == 0 {
		return nil, nil
	}
	items, err := (&Assigner{Graph: g}).Resolve(ctx, users, groups)
	if err != nil {
		return nil, err
	}
	if bad := Unresolved(items, assigneeFlag); len(bad) > 0 {
		return nil, &UsageError{Err: &HintedError{Err: errors.New(strings.Join(bad, "; ")), HintText: FixAssignees}}
	}
	return items, nil
}

func assigneeFlag(it AssignItem) string {
	flag := "--assign-user"
	if it.Type == "group" {
		flag = "--assign-group"
	}
	return shellarg.Flag(flag, it.Input)
}

// PlanAssignees is setup --dry-run's answer to whom it would assign: the resolved items as
// will-assign when the app does not exist yet (spID ""), otherwise assign's own dry run on
// that app (already-assigned where they are), reusing the lookups. It writes nothing.
func PlanAssignees(ctx context.Context, g AssignGraph, spID string, resolved []AssignItem) (*AssignResult, error) {
	if spID != "" {
		return (&Assigner{Graph: g}).Run(ctx, AssignRequest{ServicePrincipalID: spID, Resolved: resolved, DryRun: true})
	}
	res := &AssignResult{Items: make([]AssignItem, 0, len(resolved)), OK: true}
	seen := map[string]bool{}
	for _, it := range resolved {
		if k := strings.ToLower(it.ID); seen[k] {
			it.Warning = "listed more than once"
		} else {
			seen[k] = true
		}
		it.Status = StatusWillAssign
		res.Items = append(res.Items, it)
	}
	return res, nil
}
