package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
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
	var res struct {
		Application struct {
			ID    string `json:"id"`
			AppID string `json:"appId"`
		} `json:"application"`
		ServicePrincipal *spWire `json:"servicePrincipal"`
	}
	body := struct {
		DisplayName string `json:"displayName"`
	}{displayName}
	ri := at(abs.POST, c.applicationTemplates().ByApplicationTemplateId(templateID).Instantiate().BaseRequestBuilder)
	if err := c.send(ctx, "instantiate application template", ri, body, &res); err != nil {
		return CreatedApp{}, err
	}
	out := CreatedApp{ApplicationID: res.Application.ID, AppID: res.Application.AppID}
	if res.ServicePrincipal != nil {
		out.ServicePrincipal = res.ServicePrincipal.servicePrincipal()
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
	op := "get service principal " + id
	ri, err := c.servicePrincipals().ByServicePrincipalId(id).ToGetRequestInformation(ctx, cfg)
	if err != nil {
		return ServicePrincipal{}, fmt.Errorf("%s: %w", op, err)
	}
	var sp spWire
	if err := c.send(ctx, op, ri, nil, &sp); err != nil {
		return ServicePrincipal{}, err
	}
	return sp.servicePrincipal(), nil
}

// FindServicePrincipals lists every service principal matching an OData filter, following
// @odata.nextLink page by page (50 a page: the answers are usually one or two apps, and a
// tenant with more must not be cut off silently), through listAll: the link is re-rooted on
// the client's own Graph URL (sameHost), so a nextLink naming another host never gets the token.
func (c *Client) FindServicePrincipals(ctx context.Context, filter string) ([]ServicePrincipal, error) {
	const op = "find service principals"
	top := int32(50)
	cfg := &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Filter: &filter, Select: spSelect, Top: &top},
	}
	ri, err := c.servicePrincipals().ToGetRequestInformation(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	sps, err := listAll[spWire](ctx, c, op, ri)
	if errors.Is(err, errTooManyPages) {
		return nil, fmt.Errorf("%s: more than %d pages of %d; narrow the filter %q", op, maxPages, top, filter)
	}
	if err != nil {
		return nil, err
	}
	var out []ServicePrincipal
	for _, sp := range sps {
		out = append(out, sp.servicePrincipal())
	}
	return out, nil
}

// maxPages bounds a paged list, so a server that keeps sending nextLinks cannot keep the tool
// reading forever.
const maxPages = 1000

// SetTags replaces the service principal's tags.
func (c *Client) SetTags(ctx context.Context, spID string, tags []string) error {
	if tags == nil {
		tags = []string{}
	}
	body := struct {
		Tags []string `json:"tags"`
	}{tags}
	return c.send(ctx, "tag service principal", at(abs.PATCH, c.servicePrincipals().ByServicePrincipalId(spID).BaseRequestBuilder), body, nil)
}

// displayNamePatch is the body of a rename.
type displayNamePatch struct {
	DisplayName string `json:"displayName"`
}

// RenameApp gives the enterprise app a new display name: the service principal's (what
// Enterprise applications lists) and, when appObjectID is known, its application's (what App
// registrations lists). Both are plain PATCHes of displayName (docs/graph-sources.md,
// "Renaming the app"); the portal's Properties blade edits the same two.
func (c *Client) RenameApp(ctx context.Context, spID, appObjectID, name string) error {
	body := displayNamePatch{name}
	if err := c.send(ctx, "rename service principal", at(abs.PATCH, c.servicePrincipals().ByServicePrincipalId(spID).BaseRequestBuilder), body, nil); err != nil {
		return err
	}
	if appObjectID == "" {
		return nil
	}
	return c.send(ctx, "rename application", at(abs.PATCH, c.applications().ByApplicationId(appObjectID).BaseRequestBuilder), body, nil)
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
	const op = "find application"
	filter := "appId eq " + Quote(appID)
	ri, err := c.applications().ToGetRequestInformation(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Filter: &filter, Select: []string{"id", "appId", "displayName", "createdDateTime"}},
	})
	if err != nil {
		return Application{}, fmt.Errorf("%s: %w", op, err)
	}
	apps, err := firstPage[Application](ctx, c, op, ri)
	if err != nil {
		return Application{}, err
	}
	if len(apps) == 0 {
		return Application{}, &Error{Status: http.StatusNotFound, Code: "Request_ResourceNotFound", Message: "no application with appId " + appID, Op: "find application"}
	}
	return apps[0], nil
}

// Application reads an application object by object id.
func (c *Client) Application(ctx context.Context, id string) (Application, error) {
	op := "get application " + id
	var app Application
	ri, err := c.applications().ByApplicationId(id).ToGetRequestInformation(ctx, &applications.ApplicationItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationItemRequestBuilderGetQueryParameters{Select: []string{"id", "appId", "displayName"}},
	})
	if err != nil {
		return app, fmt.Errorf("%s: %w", op, err)
	}
	err = c.send(ctx, op, ri, nil, &app)
	return app, err
}

// DeleteApplication deletes the app registration; Entra removes its service principal,
// provisioning job and assignments with it.
func (c *Client) DeleteApplication(ctx context.Context, id string) error {
	return c.send(ctx, "delete application "+id, at(abs.DELETE, c.applications().ByApplicationId(id).BaseRequestBuilder), nil, nil)
}

// spWire is a service principal as Graph sends it (the fields spSelect and the SSO read ask
// for). isEnabled and appRoleAssignmentRequired are pointers because Graph may leave them out.
type spWire struct {
	ID                                 string          `json:"id"`
	AppID                              string          `json:"appId"`
	DisplayName                        string          `json:"displayName"`
	ApplicationTemplateID              string          `json:"applicationTemplateId"`
	Tags                               []string        `json:"tags"`
	AppRoles                           []appRoleWire   `json:"appRoles"`
	AppRoleAssignmentRequired          *bool           `json:"appRoleAssignmentRequired"`
	PreferredSingleSignOnMode          string          `json:"preferredSingleSignOnMode"`
	PreferredTokenSigningKeyThumbprint string          `json:"preferredTokenSigningKeyThumbprint"`
	KeyCredentials                     []keyCredential `json:"keyCredentials"`
}

type appRoleWire struct {
	ID                 string   `json:"id"`
	DisplayName        string   `json:"displayName"`
	Value              string   `json:"value"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	IsEnabled          *bool    `json:"isEnabled"`
}

// keyWire is what Graph's keyCredential and selfSignedCertificate resources share.
type keyWire struct {
	KeyID         string     `json:"keyId"`
	DisplayName   string     `json:"displayName"`
	StartDateTime *time.Time `json:"startDateTime"`
	EndDateTime   *time.Time `json:"endDateTime"`
}

// signingKey is the key with the given thumbprint (upper-cased), its times in UTC.
func (k keyWire) signingKey(thumbprint string) SigningKey {
	out := SigningKey{KeyID: k.KeyID, DisplayName: k.DisplayName, Thumbprint: strings.ToUpper(thumbprint)}
	if k.StartDateTime != nil {
		out.Start = k.StartDateTime.UTC()
	}
	if k.EndDateTime != nil {
		out.End = k.EndDateTime.UTC()
	}
	return out
}

// keyCredential is one of a service principal's keyCredentials (Graph's keyCredential
// resource: customKeyIdentifier is Edm.Binary, standard base64, which encoding/json decodes
// into []byte).
type keyCredential struct {
	keyWire
	Type                string `json:"type"`
	Usage               string `json:"usage"`
	CustomKeyIdentifier []byte `json:"customKeyIdentifier"`
}

func (sp spWire) servicePrincipal() ServicePrincipal {
	out := ServicePrincipal{
		ID:                        sp.ID,
		AppID:                     sp.AppID,
		DisplayName:               sp.DisplayName,
		ApplicationTemplateID:     sp.ApplicationTemplateID,
		Tags:                      sp.Tags,
		AppRoleAssignmentRequired: boolean(sp.AppRoleAssignmentRequired),
	}
	for _, r := range sp.AppRoles {
		out.AppRoles = append(out.AppRoles, AppRole{
			ID:                 r.ID,
			DisplayName:        r.DisplayName,
			Value:              r.Value,
			AllowedMemberTypes: r.AllowedMemberTypes,
			Enabled:            r.IsEnabled == nil || *r.IsEnabled,
		})
	}
	return out
}
