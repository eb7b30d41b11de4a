package graph

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// SearchUsers returns up to top users whose displayName or userPrincipalName starts with
// prefix (case-insensitive), or the first top users when prefix is empty: the server-side half
// of the wizard's type-to-filter picker. It makes two requests because startswith clauses
// joined by "or" are an advanced query on some tenants; startswith on displayName and
// userPrincipalName is a default query on /users
// (https://learn.microsoft.com/graph/aad-advanced-queries). The Graph SDK's request builders
// would work here; the hand-written request keeps one shape with FindUsers.
func (c *Client) SearchUsers(ctx context.Context, prefix string, top int) ([]User, error) {
	if prefix == "" {
		return c.listUsers(ctx, url.Values{"$select": {UserSelect}, "$top": {strconv.Itoa(top)}})
	}
	var out []User
	seen := map[string]bool{}
	for _, prop := range []string{"displayName", "userPrincipalName"} {
		us, err := c.listUsers(ctx, url.Values{"$filter": {"startswith(" + prop + "," + Quote(prefix) + ")"}, "$select": {UserSelect}, "$top": {strconv.Itoa(top)}})
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			if !seen[u.ID] && len(out) < top {
				seen[u.ID] = true
				out = append(out, u)
			}
		}
	}
	return out, nil
}

func (c *Client) listUsers(ctx context.Context, q url.Values) ([]User, error) {
	var res struct {
		Value []User `json:"value"`
	}
	err := c.raw(ctx, "search users", http.MethodGet, "/users", q, nil, &res)
	return res.Value, err
}

// SearchGroups returns up to top groups whose displayName starts with prefix
// (case-insensitive), or the first top groups when prefix is empty. Callers keep the security
// groups: Entra assigns those to an app, not Microsoft 365 groups without securityEnabled.
func (c *Client) SearchGroups(ctx context.Context, prefix string, top int) ([]Group, error) {
	var res struct {
		Value []Group `json:"value"`
	}
	q := url.Values{"$select": {GroupSelect}, "$top": {strconv.Itoa(top)}}
	if prefix != "" {
		q.Set("$filter", "startswith(displayName,"+Quote(prefix)+")")
	}
	err := c.raw(ctx, "search groups", http.MethodGet, "/groups", q, nil, &res)
	return res.Value, err
}
