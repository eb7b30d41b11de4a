package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/organization"
)

// ProvisioningEvent is one entry of the provisioning logs (provisioningObjectSummary).
type ProvisioningEvent struct {
	ID                     string    `json:"id"`
	ActivityDateTime       time.Time `json:"activityDateTime"`
	JobID                  string    `json:"jobId"`
	CycleID                string    `json:"cycleId"`
	ProvisioningAction     string    `json:"provisioningAction"`
	DurationInMilliseconds int64     `json:"durationInMilliseconds"`
	ProvisioningStatusInfo struct {
		Status           string `json:"status"`
		ErrorInformation *struct {
			ErrorCode         string `json:"errorCode"`
			Reason            string `json:"reason"`
			AdditionalDetails string `json:"additionalDetails"`
			ErrorCategory     string `json:"errorCategory"`
			RecommendedAction string `json:"recommendedAction"`
		} `json:"errorInformation"`
	} `json:"provisioningStatusInfo"`
	SourceIdentity    LogIdentity `json:"sourceIdentity"`
	TargetIdentity    LogIdentity `json:"targetIdentity"`
	ProvisioningSteps []struct {
		Name        string `json:"name"`
		Type        string `json:"provisioningStepType"`
		Status      string `json:"status"`
		Description string `json:"description"`
	} `json:"provisioningSteps"`
}

// LogIdentity is a source or target identity in a provisioning log entry.
type LogIdentity struct {
	ID           string         `json:"id"`
	DisplayName  string         `json:"displayName"`
	IdentityType string         `json:"identityType"`
	Details      map[string]any `json:"details,omitempty"`
}

// ProvisioningLogs lists provisioning log entries matching filter, newest first, up to limit.
// Decoded into this package's ProvisioningEvent for the reason Jobs gives: an entry's action
// and status are SDK enums that drop values they do not know, and its details are free-form
// JSON the tool shows as sent. Pages hold min(limit, 100) entries (50 without a limit).
func (c *Client) ProvisioningLogs(ctx context.Context, filter string, limit int) ([]ProvisioningEvent, error) {
	const op = "list provisioning logs"
	top := int32(50)
	if limit > 0 {
		top = pageSize(min(limit, 100))
	}
	q := &auditlogs.ProvisioningRequestBuilderGetQueryParameters{Top: &top}
	if filter != "" {
		q.Filter = &filter
	}
	ri, err := auditlogs.NewAuditLogsRequestBuilderInternal(c.pathParams(), c.adapter).Provisioning().
		ToGetRequestInformation(ctx, &auditlogs.ProvisioningRequestBuilderGetRequestConfiguration{QueryParameters: q})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out []ProvisioningEvent
	err = listPages(ctx, c, op, ri, func(page []ProvisioningEvent) bool {
		out = append(out, page...)
		return limit <= 0 || len(out) < limit
	})
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Me is the signed-in user (delegated sign-in only).
type Me struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
}

// Me reads the signed-in user. Hand-written: the SDK's Me() builder makes
// /users/me-token-to-replace and relies on kiota's URL-replace middleware, which this client's
// plain HTTP client does not run (New: no kiota middleware).
func (c *Client) Me(ctx context.Context) (Me, error) {
	var me Me
	err := c.raw(ctx, "get signed-in user", http.MethodGet, "/me", url.Values{"$select": {"id,userPrincipalName,displayName"}}, nil, &me)
	return me, err
}

// Organization is the tenant.
type Organization struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// Organization reads the tenant.
func (c *Client) Organization(ctx context.Context) (Organization, error) {
	const op = "get organization"
	ri, err := organization.NewOrganizationRequestBuilderInternal(c.pathParams(), c.adapter).ToGetRequestInformation(ctx,
		&organization.OrganizationRequestBuilderGetRequestConfiguration{
			QueryParameters: &organization.OrganizationRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}},
		})
	if err != nil {
		return Organization{}, fmt.Errorf("%s: %w", op, err)
	}
	orgs, err := firstPage[Organization](ctx, c, op, ri)
	if err != nil || len(orgs) == 0 {
		return Organization{}, err
	}
	return orgs[0], nil
}

// DirectoryRole is a directory role the signed-in user holds.
type DirectoryRole struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	RoleTemplateID string `json:"roleTemplateId"`
}

// MyDirectoryRoles lists the directory roles of the signed-in user, reading every page of
// memberOf (100 a page by default: a person in many groups has the roles on a later page).
// Hand-written for the reason Me gives.
func (c *Client) MyDirectoryRoles(ctx context.Context) ([]DirectoryRole, error) {
	const op = "list my directory roles"
	ri, err := requestAt(http.MethodGet, c.baseURL+"/me/memberOf")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	objs, err := listAll[struct {
		Type string `json:"@odata.type"`
		DirectoryRole
	}](ctx, c, op, ri)
	if err != nil {
		return nil, err
	}
	var out []DirectoryRole
	for _, v := range objs {
		if v.Type == "#microsoft.graph.directoryRole" {
			out = append(out, v.DirectoryRole)
		}
	}
	return out, nil
}
