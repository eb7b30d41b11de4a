package graph

import "context"

// SearchUsers returns up to top users whose displayName or userPrincipalName starts with
// prefix (case-insensitive), or the first top users when prefix is empty: the server-side half
// of the wizard's type-to-filter picker. It makes two requests because startswith clauses
// joined by "or" are an advanced query on some tenants; startswith on displayName and
// userPrincipalName is a default query on /users
// (https://learn.microsoft.com/graph/aad-advanced-queries).
func (c *Client) SearchUsers(ctx context.Context, prefix string, top int) ([]User, error) {
	if prefix == "" {
		return c.listUsers(ctx, "search users", "", pageSize(top))
	}
	var out []User
	seen := map[string]bool{}
	for _, prop := range []string{"displayName", "userPrincipalName"} {
		us, err := c.listUsers(ctx, "search users", "startswith("+prop+","+Quote(prefix)+")", pageSize(top))
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

// SearchGroups returns up to top groups whose displayName starts with prefix
// (case-insensitive), or the first top groups when prefix is empty. Callers keep the security
// groups: Entra assigns those to an app, not Microsoft 365 groups without securityEnabled.
func (c *Client) SearchGroups(ctx context.Context, prefix string, top int) ([]Group, error) {
	filter := ""
	if prefix != "" {
		filter = "startswith(displayName," + Quote(prefix) + ")"
	}
	return c.listGroups(ctx, "search groups", filter, pageSize(top))
}

// pageSize is a $top value: n clamped to Graph's 1 to 999.
func pageSize(n int) int32 { return int32(min(max(n, 1), 999)) }
