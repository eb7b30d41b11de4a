package provision

import (
	"context"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// Preflight is doctor's permission and role check, run by the setup wizard right after sign-in
// and before its plan, so a missing permission is named before anything is written rather than
// as a 401 half-way through.
type Preflight struct {
	// Determined is false when the token's claims cannot be read (not a JWT): nothing is known.
	Determined bool
	// Missing lists the Graph permissions the chosen commands need and the token lacks.
	Missing []string
	// Delegated: a person signed in; NoRole then says they hold none of the directory roles
	// that can configure provisioning (Application Administrator, Cloud Application
	// Administrator, Global Administrator).
	Delegated, NoRole bool
}

// TokenClaimer reads the signed-in token's claims (implemented by *graph.Client).
type TokenClaimer interface {
	TokenClaims(ctx context.Context) (graph.Claims, error)
}

// RunPreflight checks the token against what the commands need ("setup", "assign", … as in
// doctor's permission table). It never fails: a token it cannot read is "not determined".
func RunPreflight(ctx context.Context, g TokenClaimer, commands ...string) Preflight {
	claims, err := g.TokenClaims(ctx)
	if err != nil {
		return Preflight{}
	}
	p := Preflight{Determined: true, Delegated: claims.Delegated()}
	p.Missing = missingOf(permNeeds(claims.Scopes(), commands...), false)
	p.NoRole = p.Delegated && len(heldAdminRoles(claims.WIDs)) == 0
	return p
}
