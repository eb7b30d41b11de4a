package entratest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// farFuture is the exp of tokens without an expiry (2100-01-01).
var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// MakeToken builds a JWT-shaped, unsigned access token for the tenant and principal:
// base64url(header).base64url(payload).base64url(signature). The payload carries tid, oid, upn,
// scp (delegated) or roles (app-only), wids and exp, like an Entra v1 access token for Graph.
// The emulator accepts a token only after Tenant.AddToken (the default token is pre-registered).
func MakeToken(tenantID string, p Principal) string {
	return makeToken(tenantID, "https://graph.microsoft.com", p)
}

func makeToken(tenantID, audience string, p Principal) string {
	oid := p.ObjectID
	if oid == "" {
		oid = uuid.NewString()
	}
	exp := p.ExpiresAt
	if exp.IsZero() {
		exp = farFuture
	}
	// Entra backdates iat and nbf by five minutes against clock skew.
	now := time.Now().Add(-5 * time.Minute)
	nbf := now
	if !p.NotBefore.IsZero() {
		nbf = p.NotBefore
	}
	claims := map[string]any{
		"aud":             audience,
		"iss":             "https://sts.windows.net/" + tenantID + "/",
		"iat":             now.Unix(),
		"nbf":             nbf.Unix(),
		"exp":             exp.Unix(),
		"tid":             tenantID,
		"oid":             oid,
		"sub":             oid,
		"ver":             "1.0",
		"appid":           "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
		"app_displayname": "invicti-scim (emulated)",
		"uti":             strings.ReplaceAll(uuid.NewString(), "-", ""),
	}
	if len(p.Roles) > 0 {
		claims["wids"] = p.Roles
	}
	if p.AppOnly {
		claims["idtyp"] = "app"
		claims["roles"] = p.Scopes
	} else {
		claims["idtyp"] = "user"
		claims["upn"] = p.UPN
		claims["unique_name"] = p.UPN
		claims["name"] = p.UPN
		claims["scp"] = strings.Join(p.Scopes, " ")
	}
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": "entratest"})
	payload, _ := json.Marshal(claims)
	return enc.EncodeToString(header) + "." + enc.EncodeToString(payload) + "." +
		enc.EncodeToString([]byte("entratest-unsigned-"+uuid.NewString()))
}

// principal is a registered token's identity.
type principal struct {
	Principal
	scopes map[string]bool
	roles  map[string]bool
}

// AddToken registers a bearer token. Requests with unregistered tokens get 401.
func (t *Tenant) AddToken(token string, p Principal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.ObjectID == "" {
		if claims := tokenClaims(token); claims != nil {
			if oid, ok := claims["oid"].(string); ok {
				p.ObjectID = oid
			}
		}
	}
	if p.ObjectID == "" && !p.AppOnly {
		if u := t.findUser(p.UPN); u != nil {
			p.ObjectID = u.ID
		}
	}
	if p.ObjectID == "" {
		p.ObjectID = uuid.NewString()
	}
	pr := &principal{Principal: p, scopes: map[string]bool{}, roles: map[string]bool{}}
	pr.Scopes = slices.Clone(p.Scopes)
	pr.Roles = slices.Clone(p.Roles)
	for _, s := range p.Scopes {
		pr.scopes[strings.ToLower(s)] = true
	}
	for _, r := range p.Roles {
		pr.roles[strings.ToLower(r)] = true
	}
	t.tokens[token] = pr
}

func tokenClaims(token string) map[string]any {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// authenticate resolves the Authorization header.
func (t *Tenant) authenticate(h http.Header) (*principal, *apiError) {
	auth := strings.TrimSpace(h.Get("Authorization"))
	scheme, token, _ := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	if auth == "" || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, &apiError{status: 401, code: "InvalidAuthenticationToken", message: "Access token is empty."}
	}
	t.mu.Lock()
	p := t.tokens[token]
	t.mu.Unlock()
	if p == nil {
		if strings.Count(token, ".") != 2 {
			return nil, &apiError{status: 401, code: "InvalidAuthenticationToken",
				message: "IDX14100: JWT is not well formed, there are no dots (.)."}
		}
		return nil, &apiError{status: 401, code: "InvalidAuthenticationToken",
			message: "Access token validation failure. Invalid audience."}
	}
	// Graph answers a token past its exp with 401 InvalidAuthenticationToken "Lifetime
	// validation failed, the token is expired." (quoted from production answers in
	// Microsoft365DSC/Microsoft365DSC#4427 and s1t5/mail-archiver#267), and one before its nbf
	// with "Access token has expired or is not yet valid." (microsofthackathons/tdi#24).
	// Microsoft's validation allows five minutes of clock skew on nbf, none here on exp.
	now := t.now()
	if !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt) {
		return nil, &apiError{status: 401, code: "InvalidAuthenticationToken",
			message: "Lifetime validation failed, the token is expired."}
	}
	if !p.NotBefore.IsZero() && now.Add(5*time.Minute).Before(p.NotBefore) {
		return nil, &apiError{status: 401, code: "InvalidAuthenticationToken",
			message: "Access token has expired or is not yet valid."}
	}
	return p, nil
}

// ExpireToken makes Graph treat a registered token as expired from now on, whatever its exp
// claim says: the token running out in the middle of a command, or a client clock behind
// Graph's.
func (t *Tenant) ExpireToken(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.tokens[token]; p != nil {
		p.ExpiresAt = t.now()
	}
}

// Permission sets per route family (any one suffices).
var (
	permAppRead  = []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permAppWrite = []string{"Application.ReadWrite.All"}
	// Application.ReadWrite.OwnedBy can instantiate, but the new app has no owner, so every later
	// call on it is denied (microsoft-graph-docs#16545), which is what the other sets reproduce.
	permInstantiate = []string{"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"}
	permSyncRead    = []string{"Synchronization.Read.All", "Synchronization.ReadWrite.All"}
	permSyncWrite   = []string{"Synchronization.ReadWrite.All"}
	permAssignRead  = []string{"Application.Read.All", "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permAssignWrite = []string{"AppRoleAssignment.ReadWrite.All"}
	permUsers       = []string{"User.Read.All", "User.ReadBasic.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permGroups      = []string{"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permAudit       = []string{"AuditLog.Read.All"}
	permMe          = []string{"User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permMemberOf    = []string{"User.Read", "User.Read.All", "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permOrg         = []string{"User.Read", "User.Read.All", "Organization.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"}

	adminRoles = []string{RoleApplicationAdministrator, RoleCloudApplicationAdministrator, RoleGlobalAdministrator}
)

func (p *principal) hasAny(perms []string) bool {
	for _, s := range perms {
		if p.scopes[strings.ToLower(s)] {
			return true
		}
	}
	return false
}

func (p *principal) hasAdminRole() bool {
	if p.AppOnly {
		return true
	}
	for _, r := range adminRoles {
		if p.roles[r] {
			return true
		}
	}
	return false
}

var roleNames = map[string]string{
	RoleApplicationAdministrator:           "Application Administrator",
	RoleCloudApplicationAdministrator:      "Cloud Application Administrator",
	RoleGlobalAdministrator:                "Global Administrator",
	RoleGlobalReader:                       "Global Reader",
	"4a5d8f65-41da-4de4-8968-e035b65339cf": "Reports Reader",
	"5d6b6bb7-de71-4623-b4af-96380a352509": "Security Reader",
	"e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
	"fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
	"8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
}
