package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/microsoftgraph/msgraph-sdk-go/applicationtemplates"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
)

// ServicePrincipal is the enterprise app object every provisioning call hangs off.
type ServicePrincipal struct {
	ID                        string    `json:"id"`
	AppID                     string    `json:"appId"`
	DisplayName               string    `json:"displayName"`
	ApplicationTemplateID     string    `json:"applicationTemplateId,omitempty"`
	Tags                      []string  `json:"tags,omitempty"`
	AppRoles                  []AppRole `json:"appRoles,omitempty"`
	AppRoleAssignmentRequired bool      `json:"appRoleAssignmentRequired"`
}

// AppRole is one role declared by the service principal.
type AppRole struct {
	ID                 string   `json:"id"`
	DisplayName        string   `json:"displayName"`
	Value              string   `json:"value,omitempty"`
	AllowedMemberTypes []string `json:"allowedMemberTypes,omitempty"`
	Enabled            bool     `json:"isEnabled"`
}

// CreatedApp is what instantiating the non-gallery template returns.
type CreatedApp struct {
	ApplicationID    string // application object id: needed to delete or rename
	AppID            string // client id, for display
	ServicePrincipal ServicePrincipal
}

// spSelect is what we read of a service principal; real Graph returns only selected fields.
var spSelect = []string{"id", "appId", "displayName", "applicationTemplateId", "tags", "appRoles", "appRoleAssignmentRequired"}

// Instantiate creates an enterprise app from an application template.
func (c *Client) Instantiate(ctx context.Context, templateID, displayName string) (CreatedApp, error) {
	body := applicationtemplates.NewItemInstantiatePostRequestBody()
	body.SetDisplayName(&displayName)
	res, err := c.tmpl.ByApplicationTemplateId(templateID).Instantiate().Post(ctx, body, nil)
	if err != nil {
		return CreatedApp{}, convert("instantiate application template", err)
	}
	out := CreatedApp{}
	if app := res.GetApplication(); app != nil {
		out.ApplicationID = str(app.GetId())
		out.AppID = str(app.GetAppId())
	}
	if sp := res.GetServicePrincipal(); sp != nil {
		out.ServicePrincipal = spFromModel(sp)
		if out.AppID == "" {
			out.AppID = out.ServicePrincipal.AppID
		}
	}
	return out, nil
}

// ServicePrincipal reads one service principal by object id.
func (c *Client) ServicePrincipal(ctx context.Context, id string) (ServicePrincipal, error) {
	cfg := &serviceprincipals.ServicePrincipalItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalItemRequestBuilderGetQueryParameters{Select: spSelect},
	}
	sp, err := c.sp.ByServicePrincipalId(id).Get(ctx, cfg)
	if err != nil {
		return ServicePrincipal{}, convert("get service principal "+id, err)
	}
	return spFromModel(sp), nil
}

// FindServicePrincipals lists every service principal matching an OData filter, following
// @odata.nextLink page by page (50 a page: the answers are usually one or two apps, and a
// tenant with more must not be cut off silently). The next pages go through the same typed
// builder (WithUrl), so errors convert the same way as on the first; the link is re-rooted on
// the client's own Graph URL (sameHost), so a nextLink naming another host never gets the token.
func (c *Client) FindServicePrincipals(ctx context.Context, filter string) ([]ServicePrincipal, error) {
	top := int32(50)
	cfg := &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Filter: &filter, Select: spSelect, Top: &top},
	}
	res, err := c.sp.Get(ctx, cfg)
	var out []ServicePrincipal
	for pages := 1; ; pages++ {
		if err != nil {
			return nil, convert("find service principals", err)
		}
		for _, sp := range res.GetValue() {
			out = append(out, spFromModel(sp))
		}
		next := res.GetOdataNextLink()
		if next == nil || *next == "" {
			return out, nil
		}
		if pages >= maxPages {
			return nil, fmt.Errorf("find service principals: more than %d pages of %d; narrow the filter %q", maxPages, top, filter)
		}
		res, err = c.sp.WithUrl(c.sameHost(*next)).Get(ctx, nil)
	}
}

// maxPages bounds a paged list, so a server that keeps sending nextLinks cannot keep the tool
// reading forever.
const maxPages = 1000

// SetTags replaces the service principal's tags.
func (c *Client) SetTags(ctx context.Context, spID string, tags []string) error {
	sp := models.NewServicePrincipal()
	sp.SetTags(tags)
	_, err := c.sp.ByServicePrincipalId(spID).Patch(ctx, sp, nil)
	return convert("tag service principal", err)
}

// RenameApp gives the enterprise app a new display name: the service principal's (what
// Enterprise applications lists) and, when appObjectID is known, its application's (what App
// registrations lists). Both are plain PATCHes of displayName (docs/graph-sources.md,
// "Renaming the app"); the portal's Properties blade edits the same two.
func (c *Client) RenameApp(ctx context.Context, spID, appObjectID, name string) error {
	sp := models.NewServicePrincipal()
	sp.SetDisplayName(&name)
	if _, err := c.sp.ByServicePrincipalId(spID).Patch(ctx, sp, nil); err != nil {
		return convert("rename service principal", err)
	}
	if appObjectID == "" {
		return nil
	}
	app := models.NewApplication()
	app.SetDisplayName(&name)
	_, err := c.applications().ByApplicationId(appObjectID).Patch(ctx, app, nil)
	return convert("rename application", err)
}

// Application is the app registration behind an enterprise app.
type Application struct {
	ID          string `json:"id"`
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
	// CreatedDateTime is when the app was made (RFC 3339 as Graph returns it; "" when not
	// returned). Service principals carry no creation time in v1.0; their application does.
	CreatedDateTime string `json:"createdDateTime,omitempty"`
}

// ApplicationByAppID finds the application object for an appId.
func (c *Client) ApplicationByAppID(ctx context.Context, appID string) (Application, error) {
	var res struct {
		Value []Application `json:"value"`
	}
	q := url.Values{"$filter": {"appId eq " + Quote(appID)}, "$select": {"id,appId,displayName,createdDateTime"}}
	if err := c.raw(ctx, "find application", http.MethodGet, "/applications", q, nil, &res); err != nil {
		return Application{}, err
	}
	if len(res.Value) == 0 {
		return Application{}, &Error{Status: http.StatusNotFound, Code: "Request_ResourceNotFound", Message: "no application with appId " + appID, Op: "find application"}
	}
	return res.Value[0], nil
}

// Application reads an application object by object id.
func (c *Client) Application(ctx context.Context, id string) (Application, error) {
	var app Application
	q := url.Values{"$select": {"id,appId,displayName"}}
	err := c.raw(ctx, "get application "+id, http.MethodGet, "/applications/"+PathEscape(id), q, nil, &app)
	return app, err
}

// DeleteApplication deletes the app registration; Entra removes its service principal,
// provisioning job and assignments with it.
func (c *Client) DeleteApplication(ctx context.Context, id string) error {
	return c.raw(ctx, "delete application "+id, http.MethodDelete, "/applications/"+PathEscape(id), nil, nil, nil)
}

func spFromModel(sp models.ServicePrincipalable) ServicePrincipal {
	out := ServicePrincipal{
		ID:                        str(sp.GetId()),
		AppID:                     str(sp.GetAppId()),
		DisplayName:               str(sp.GetDisplayName()),
		ApplicationTemplateID:     str(sp.GetApplicationTemplateId()),
		Tags:                      sp.GetTags(),
		AppRoleAssignmentRequired: boolean(sp.GetAppRoleAssignmentRequired()),
	}
	for _, r := range sp.GetAppRoles() {
		role := AppRole{
			DisplayName:        str(r.GetDisplayName()),
			Value:              str(r.GetValue()),
			AllowedMemberTypes: r.GetAllowedMemberTypes(),
			Enabled:            r.GetIsEnabled() == nil || *r.GetIsEnabled(),
		}
		if id := r.GetId(); id != nil {
			role.ID = id.String()
		}
		out.AppRoles = append(out.AppRoles, role)
	}
	return out
}
