package provision

import (
	"context"
	"fmt"
)

// AssignProvisionGraph is what AssignThenProvision needs from Graph.
type AssignProvisionGraph interface {
	AssignGraph
	OnDemandGraph
}

// AssignThenProvisionRequest is setup's --assign-user/--assign-group and --provision-now.
type AssignThenProvisionRequest struct {
	ServicePrincipalID, JobID string
	Users, Groups             []string
	// ProvisionNow provisions what was assigned on demand (Entra's verdicts only; verifying in
	// Invicti is `provision --verify`'s job).
	ProvisionNow bool
	Progress     Progress
}

// AssignThenProvisionResult is what the assign and provision steps did (nil when a step did
// not run).
type AssignThenProvisionResult struct {
	Assign    *AssignResult   `json:"assign,omitempty"`
	Provision *OnDemandResult `json:"provision,omitempty"`
}

// AssignThenProvision assigns users and groups to the app, through the same code as `assign`,
// and with ProvisionNow provisions every principal that got assigned, through the same code as
// `provision`, telling it the assignments are fresh. When an item failed, it returns the result
// with an error saying so.
func AssignThenProvision(ctx context.Context, g AssignProvisionGraph, req AssignThenProvisionRequest) (*AssignThenProvisionResult, error) {
	x := &AssignThenProvisionResult{}
	a := &Assigner{Graph: g, Progress: req.Progress}
	ar, err := a.Run(ctx, AssignRequest{ServicePrincipalID: req.ServicePrincipalID, Users: req.Users, Groups: req.Groups})
	if err != nil {
		return x, err
	}
	x.Assign = ar
	if !req.ProvisionNow {
		if !ar.OK {
			return x, fmt.Errorf("%d assignments failed", len(ar.Failed()))
		}
		return x, nil
	}
	var users, groups []string
	for _, it := range ar.Items {
		if it.Status == StatusFailed {
			continue
		}
		if it.Type == "user" {
			users = append(users, it.ID)
		} else {
			groups = append(groups, it.ID)
		}
	}
	od := &OnDemand{Graph: g, Progress: req.Progress}
	pr, err := od.Run(ctx, OnDemandRequest{ServicePrincipalID: req.ServicePrincipalID, JobID: req.JobID, Users: users, Groups: groups, JustAssigned: true})
	x.Provision = pr
	if err != nil {
		return x, err
	}
	if !ar.OK || !pr.OK {
		return x, fmt.Errorf("setup is done, but not every assignment or provisioning succeeded (see above)")
	}
	return x, nil
}
