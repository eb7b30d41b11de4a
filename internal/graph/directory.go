package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// User is an Entra user, as much as assignment and provisioning need.
type User struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
	AccountEnabled    *bool  `json:"accountEnabled,omitempty"`
	UserType          string `json:"userType,omitempty"`
}

// Group is an Entra group.
type Group struct {
	ID              string   `json:"id"`
	DisplayName     string   `json:"displayName"`
	SecurityEnabled bool     `json:"securityEnabled"`
	MailEnabled     bool     `json:"mailEnabled"`
	GroupTypes      []string `json:"groupTypes,omitempty"`
}

// UserSelect is the $select used for every user read.
const UserSelect = "id,userPrincipalName,mail,displayName,accountEnabled,userType"

// GroupSelect is the $select used for every group read.
const GroupSelect = "id,displayName,securityEnabled,mailEnabled,groupTypes"

// User reads a user by object id or user principal name (any UPN, including one that starts
// with '$': see UserPath).
func (c *Client) User(ctx context.Context, idOrUPN string) (User, error) {
	if strings.HasPrefix(idOrUPN, "$") {
		// The SDK's request builder can only build /users/{id}, which Graph refuses for these.
		var u User
		err := c.raw(ctx, "get user "+idOrUPN, http.MethodGet, UserPath(idOrUPN), url.Values{"$select": {UserSelect}}, nil, &u)
		return u, err
	}
	cfg := &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "userPrincipalName", "mail", "displayName", "accountEnabled", "userType"}},
	}
	op := "get user " + idOrUPN
	ri, err := c.users().ByUserId(idOrUPN).ToGetRequestInformation(ctx, cfg)
	if err != nil {
		return User{}, fmt.Errorf("%s: %w", op, err)
	}
	var u User
	err = c.send(ctx, op, ri, nil, &u)
	return u, err
}

// FindUsers lists users matching an OData filter.
func (c *Client) FindUsers(ctx context.Context, filter string) ([]User, error) {
	return c.listUsers(ctx, "find users", filter, 10)
}

// listUsers reads one page of at most top users matching filter ("" for any): the callers
// want a few candidates (FindUser's mail look-up, the wizard's picker), never the directory.
func (c *Client) listUsers(ctx context.Context, op, filter string, top int32) ([]User, error) {
	q := &users.UsersRequestBuilderGetQueryParameters{Select: strings.Split(UserSelect, ","), Top: &top}
	if filter != "" {
		q.Filter = &filter
	}
	ri, err := c.users().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{QueryParameters: q})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return firstPage[User](ctx, c, op, ri)
}

// Group reads a group by object id.
func (c *Client) Group(ctx context.Context, id string) (Group, error) {
	op := "get group " + id
	var g Group
	ri, err := c.groups().ByGroupId(id).ToGetRequestInformation(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: strings.Split(GroupSelect, ",")},
	})
	if err != nil {
		return g, fmt.Errorf("%s: %w", op, err)
	}
	err = c.send(ctx, op, ri, nil, &g)
	return g, err
}

// FindGroups lists groups matching an OData filter.
func (c *Client) FindGroups(ctx context.Context, filter string) ([]Group, error) {
	return c.listGroups(ctx, "find groups", filter, 10)
}

// listGroups reads one page of at most top groups matching filter ("" for any), as listUsers.
func (c *Client) listGroups(ctx context.Context, op, filter string, top int32) ([]Group, error) {
	q := &groups.GroupsRequestBuilderGetQueryParameters{Select: strings.Split(GroupSelect, ","), Top: &top}
	if filter != "" {
		q.Filter = &filter
	}
	ri, err := c.groups().ToGetRequestInformation(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{QueryParameters: q})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return firstPage[Group](ctx, c, op, ri)
}

// GroupMembers lists the direct user members of a group, and apart from them its nested groups
// (whose members Entra does not provision, so callers can say why a group brings nobody), 100
// a page through the one pager (listPages: bounded, nextLinks kept on Graph's host).
func (c *Client) GroupMembers(ctx context.Context, groupID string) ([]User, []Group, error) {
	const op = "list group members"
	top := int32(100)
	cfg := &groups.ItemMembersRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemMembersRequestBuilderGetQueryParameters{
			Select: []string{"id", "userPrincipalName", "mail", "displayName", "accountEnabled"}, Top: &top,
		},
	}
	ri, err := c.groups().ByGroupId(groupID).Members().ToGetRequestInformation(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	var out []User
	var nested []Group
	type member struct {
		Type string `json:"@odata.type"`
		User
	}
	err = listPages(ctx, c, op, ri, func(page []member) bool {
		for _, m := range page {
			switch m.Type {
			case "", "#microsoft.graph.user":
				out = append(out, m.User)
			case "#microsoft.graph.group":
				nested = append(nested, Group{ID: m.ID, DisplayName: m.DisplayName})
			}
		}
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	return out, nested, nil
}

func (c *Client) groups() *groups.GroupsRequestBuilder {
	return groups.NewGroupsRequestBuilderInternal(c.pathParams(), c.adapter)
}

// relative turns an @odata.nextLink into a path and query under our base URL.
func (c *Client) relative(link string) (string, url.Values) {
	if link == "" {
		return "", nil
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", nil
	}
	base, _ := url.Parse(c.baseURL)
	p := u.Path
	if base != nil && len(p) >= len(base.Path) && p[:len(base.Path)] == base.Path {
		p = p[len(base.Path):]
	}
	return p, u.Query()
}

// sameHost is link (an @odata.nextLink) re-rooted on the client's Graph URL: its path below
// the version and its query, never its scheme or host.
func (c *Client) sameHost(link string) string {
	p, q := c.relative(link)
	u := c.baseURL + p
	if len(q) > 0 {
		// Graph wants %20 rather than + in $filter values (as in raw).
		u += "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	return u
}

// Assignment is an app role assignment of a user or group to the app.
type Assignment struct {
	ID                   string    `json:"id"`
	AppRoleID            string    `json:"appRoleId"`
	PrincipalID          string    `json:"principalId"`
	PrincipalType        string    `json:"principalType"`
	PrincipalDisplayName string    `json:"principalDisplayName"`
	ResourceID           string    `json:"resourceId"`
	CreatedDateTime      time.Time `json:"createdDateTime"`
}

// Assignments lists every user and group assigned to the app, 999 a page (Graph's most for
// appRoleAssignedTo) through the one pager.
func (c *Client) Assignments(ctx context.Context, spID string) ([]Assignment, error) {
	const op = "list app role assignments"
	top := int32(999)
	cfg := &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetQueryParameters{Top: &top},
	}
	ri, err := c.servicePrincipals().ByServicePrincipalId(spID).AppRoleAssignedTo().ToGetRequestInformation(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return listAll[Assignment](ctx, c, op, ri)
}

// Assign assigns a user or group to the app with the given app role.
func (c *Client) Assign(ctx context.Context, spID, principalID, appRoleID string) (Assignment, error) {
	for _, v := range []string{principalID, spID, appRoleID} {
		if _, err := uuid.Parse(v); err != nil {
			return Assignment{}, &Error{Status: http.StatusBadRequest, Code: "Request_BadRequest", Message: "invalid object identifier " + strconv.Quote(v), Op: "assign"}
		}
	}
	body := struct {
		PrincipalID string `json:"principalId"`
		ResourceID  string `json:"resourceId"`
		AppRoleID   string `json:"appRoleId"`
	}{principalID, spID, appRoleID}
	var res Assignment
	if err := c.send(ctx, "assign", at(abs.POST, c.servicePrincipals().ByServicePrincipalId(spID).AppRoleAssignedTo().BaseRequestBuilder), body, &res); err != nil {
		return Assignment{}, err
	}
	res.PrincipalID, res.ResourceID, res.AppRoleID = principalID, spID, appRoleID
	return res, nil
}
