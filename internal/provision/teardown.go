package provision

import (
	"context"
	"errors"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// TeardownGraph is what Teardown needs from Graph.
type TeardownGraph interface {
	SPReader
	AppFinder
	ApplicationByAppID(ctx context.Context, appID string) (graph.Application, error)
	DeleteApplication(ctx context.Context, id string) error
}

// TeardownRequest says which app to delete.
type TeardownRequest struct {
	ServicePrincipalID string
	// Ownership decides whether the app is invicti-scim's (see OwnedApp).
	Ownership Ownership
	// KnownAppID and KnownName name the app in the report when Graph cannot (from the state);
	// the application deleted is always the one Graph confirms, never one read from a file.
	KnownAppID, KnownName string
	// Confirm is asked once the app to delete is known, before the delete; false cancels
	// (Teardown then returns ErrDeclined). nil deletes without asking.
	Confirm func(TeardownPlan) (bool, error)
	// Progress receives EventBegin for each Graph step (for a spinner); nil is allowed.
	Progress Progress
}

// TeardownPlan is what will be deleted.
type TeardownPlan struct {
	ApplicationID, AppID, AppName, ServicePrincipalID string
}

// TaggedApp is an enterprise app carrying the invicti-scim tag.
type TaggedApp struct {
	ServicePrincipalID string `json:"servicePrincipalId"`
	AppID              string `json:"appId"`
	DisplayName        string `json:"displayName"`
}

// TeardownResult is what Teardown did.
type TeardownResult struct {
	TeardownPlan
	Outcome string // "deleted" or "already-gone"
	// OtherTagged lists the other apps carrying the invicti-scim tag (e.g. a twin from two
	// runs at once): the report names them rather than calling the tenant clean over them.
	OtherTagged []TaggedApp
}

// ErrDeclined means the person answered no to a confirmation; nothing was changed.
var ErrDeclined = errors.New("declined; nothing was changed")

// Teardown deletes the application object behind an app invicti-scim made (Entra then deletes
// its service principal, job, saved credentials and assignments). An app that is already gone
// is success ("already-gone"); an app that is not ours is a *HintedError and nothing is
// deleted. Graph 401/403 come back as *PermissionError.
func Teardown(ctx context.Context, g TeardownGraph, req TeardownRequest) (*TeardownResult, error) {
	spID := req.ServicePrincipalID
	res := &TeardownResult{TeardownPlan: TeardownPlan{ServicePrincipalID: spID, AppID: req.KnownAppID, AppName: req.KnownName}}
	req.Progress.emit(Event{Kind: EventBegin, StepID: "lookup", Message: "Looking up the app"})
	sp, err := OwnedApp(ctx, g, spID, req.Ownership)
	var he *HintedError
	if errors.As(err, &he) {
		return nil, err
	}
	switch {
	case err == nil:
		res.AppID, res.AppName = sp.AppID, sp.DisplayName
		app, aerr := g.ApplicationByAppID(ctx, sp.AppID)
		if aerr != nil && !graph.IsNotFound(aerr) {
			return nil, PermissionHint(aerr, PermApplication)
		}
		if aerr == nil {
			res.ApplicationID = app.ID
		}
	case graph.IsNotFound(err):
		res.Outcome = "already-gone"
	default:
		return nil, PermissionHint(err, PermApplication)
	}
	if res.Outcome == "" && res.ApplicationID == "" {
		res.Outcome = "already-gone"
	}
	if res.Outcome == "" {
		if req.Confirm != nil {
			ok, err := req.Confirm(res.TeardownPlan)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, ErrDeclined
			}
		}
		req.Progress.emit(Event{Kind: EventBegin, StepID: "delete", Message: "Deleting the app"})
		err := g.DeleteApplication(ctx, res.ApplicationID)
		switch {
		case err == nil:
			res.Outcome = "deleted"
		case graph.IsNotFound(err):
			res.Outcome = "already-gone"
		default:
			return nil, PermissionHint(err, PermApplication)
		}
	}
	res.OtherTagged = OtherTagged(ctx, g, spID)
	return res, nil
}

// OtherTagged lists the apps carrying the invicti-scim tag other than spID. It is a report,
// so a Graph that cannot answer the tag query only loses the report (nil).
func OtherTagged(ctx context.Context, g AppFinder, spID string) []TaggedApp {
	sps, err := g.FindServicePrincipals(ctx, "tags/any(t:t eq "+graph.Quote(MarkerTag)+")")
	if err != nil {
		return nil
	}
	var out []TaggedApp
	for _, sp := range sps {
		if strings.EqualFold(sp.ID, spID) {
			continue // the one torn down (Entra's lists lag behind the delete)
		}
		out = append(out, TaggedApp{ServicePrincipalID: sp.ID, AppID: sp.AppID, DisplayName: sp.DisplayName})
	}
	return out
}
