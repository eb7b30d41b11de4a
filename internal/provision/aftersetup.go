package provision

import (
	"context"
	"fmt"

	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// AfterSetup is setup's last step: assign the chosen users and groups to the app, then, when
// asked, provision them on demand and (with SCIM set) prove each user in Invicti. It runs the
// same code paths as `assign` and `provision`.
type AfterSetup struct {
	Graph    Graph
	Progress Progress
	// SCIM, when set, looks each provisioned user up in Invicti (the end-to-end proof).
	SCIM SCIMUsers
}

// SCIMUsers looks an Invicti user up by userName (implemented by *invicti.SCIMClient).
type SCIMUsers interface {
	FindUser(ctx context.Context, userName string) (*invicti.SCIMUser, error)
}

// AfterSetupRequest says what to assign and what to provision.
type AfterSetupRequest struct {
	ServicePrincipalID, JobID string
	// Users and Groups are assigned (UPN, mail, object id; group name or object id).
	Users, Groups []string
	// ProvisionNow provisions on demand after assigning. ProvisionUsers, when non-empty,
	// narrows it to these of the assigned users (UPN or object id) and ProvisionGroups to
	// these groups; both empty means everything that was assigned.
	ProvisionNow                    bool
	ProvisionUsers, ProvisionGroups []string
	// Resolved is what ResolveAssignees looked up for Users and Groups before setup created
	// anything; when set, the assignment reuses it instead of looking them up again.
	Resolved []AssignItem
	// Pick, when set, is asked once the assignments are made and before anything is
	// provisioned, and decides ProvisionNow and ProvisionUsers (nil users: everyone assigned).
	// The wizard asks whom to provision then, so the assignments its plan listed are made
	// whatever the answer, Ctrl-C included.
	Pick func(ctx context.Context, assigned *AssignResult) (now bool, users []string, err error)
}

// AfterSetupResult is what AfterSetup did. Provision is nil when nothing was provisioned.
type AfterSetupResult struct {
	Assign    *AssignResult   `json:"assign,omitempty"`
	Provision *OnDemandResult `json:"provision,omitempty"`
	// Members is Invicti's answer for each member of a group provisioned on demand (users
	// provisioned on their own carry theirs in Provision); set only with SCIM.
	Members []MemberProof `json:"members,omitempty"`
}

// MemberProof is what Invicti says about one group member after provisioning.
type MemberProof struct {
	UserName string  `json:"userName"`
	Verified *Verify `json:"verified"`
}

// ErrPartial means setup itself is done but an assignment or an on-demand provisioning failed;
// the result says which.
var ErrPartial = fmt.Errorf("setup is done, but not every assignment or provisioning succeeded (see above)")

// Run assigns, then provisions. It returns ErrPartial (wrapped) when an item failed.
func (a *AfterSetup) Run(ctx context.Context, req AfterSetupRequest) (*AfterSetupResult, error) {
	x := &AfterSetupResult{}
	as := &Assigner{Graph: a.Graph, Progress: a.Progress}
	ar, err := as.Run(ctx, AssignRequest{ServicePrincipalID: req.ServicePrincipalID, Users: req.Users, Groups: req.Groups, Resolved: req.Resolved})
	if err != nil {
		return x, err
	}
	x.Assign = ar
	if req.Pick != nil {
		if req.ProvisionNow, req.ProvisionUsers, err = req.Pick(ctx, ar); err != nil {
			return x, err
		}
	}
	if !req.ProvisionNow {
		if !ar.OK {
			return x, fmt.Errorf("%d assignments failed: %w", len(ar.Failed()), ErrPartial)
		}
		return x, nil
	}
	users, groups := provisionSubjects(ar, req.ProvisionUsers, req.ProvisionGroups)
	od := &OnDemand{Graph: a.Graph, Progress: a.Progress}
	if a.SCIM != nil {
		od.SCIM = a.SCIM
	}
	pr, err := od.Run(ctx, OnDemandRequest{ServicePrincipalID: req.ServicePrincipalID, JobID: req.JobID, Users: users, Groups: groups,
		JustAssigned: true, Verify: a.SCIM != nil})
	x.Provision = pr
	if err != nil {
		return x, err
	}
	if a.SCIM != nil {
		proof := &OnDemand{SCIM: a.SCIM, Progress: a.Progress}
		for _, it := range pr.Items {
			if it.Type != "group" || (it.Status != StatusProvisioned && it.Status != StatusInSync) {
				continue
			}
			for _, m := range it.Members {
				v := proof.verify(ctx, m)
				x.Members = append(x.Members, MemberProof{UserName: m, Verified: v})
				if !v.Found {
					pr.OK = false
				}
			}
		}
	}
	if !ar.OK || !pr.OK {
		return x, ErrPartial
	}
	return x, nil
}

// provisionSubjects picks the assigned items to provision: all of them, or those the caller
// narrowed to (matched by the input it gave or the object id).
func provisionSubjects(ar *AssignResult, onlyUsers, onlyGroups []string) (users, groups []string) {
	narrowed := len(onlyUsers)+len(onlyGroups) > 0
	want := map[string]bool{}
	for _, v := range append(append([]string{}, onlyUsers...), onlyGroups...) {
		want[v] = true
	}
	for _, it := range ar.Items {
		if it.Status == StatusFailed {
			continue
		}
		if narrowed && !want[it.Input] && !want[it.ID] {
			continue
		}
		if it.Type == "user" {
			users = append(users, it.ID)
		} else {
			groups = append(groups, it.ID)
		}
	}
	if narrowed {
		// Users picked from inside an assigned group are provisioned on their own.
		for _, u := range onlyUsers {
			if !containsItem(ar, u) {
				users = append(users, u)
			}
		}
	}
	return users, groups
}

func containsItem(ar *AssignResult, v string) bool {
	for _, it := range ar.Items {
		if it.Input == v || it.ID == v {
			return true
		}
	}
	return false
}
