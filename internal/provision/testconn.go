package provision

import (
	"context"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// CredentialValidator is what TestEntraConnection needs from Graph.
type CredentialValidator interface {
	ValidateCredentials(ctx context.Context, spID, jobID string, useSaved bool, creds []graph.KeyValue) error
}

// EntraCheck is the result of Entra's own Test Connection with the saved settings.
type EntraCheck struct {
	OK       bool
	Duration time.Duration
	Problem  string // Graph's message when not OK
	Status   int    // Graph's HTTP status when not OK (0 when there was no answer)
	// Kind: sign_in (the Graph token expired, or Graph refused it: TokenRefused), permission,
	// not_found (the app or job is gone) or entra (Entra could not use the saved settings).
	// sign_in is a sign-in problem (exit 4), not a failed connection test.
	Kind string
	Fix  string
}

// TestEntraConnection runs Entra's Test Connection (validateCredentials with the saved
// settings) for the app's job: Entra fetches a token from the Token Endpoint and queries
// Invicti with it. now times the call (nil: time.Now).
func TestEntraConnection(ctx context.Context, g CredentialValidator, spID, jobID string, now func() time.Time) EntraCheck {
	if now == nil {
		now = time.Now
	}
	start := now()
	err := g.ValidateCredentials(ctx, spID, jobID, true, nil)
	c := EntraCheck{Duration: now().Sub(start)}
	if err == nil {
		c.OK = true
		return c
	}
	c.Problem, c.Status = err.Error(), graph.StatusOf(err)
	switch {
	case graph.IsExpiredToken(err):
		c.Kind, c.Fix = "sign_in", (&graph.TokenLifetimeError{}).Hint()
	case TokenRefused(err):
		// Graph did not accept the token at all (malformed, another tenant's): Entra's Test
		// Connection never ran, and no permission would help.
		c.Kind, c.Fix = "sign_in", SignInAgain
	case graph.IsAuth(err):
		c.Kind, c.Fix = "permission", "the signed-in identity needs "+PermSync+" (and, signed in as a person, Application Administrator or Cloud Application Administrator)"
	case graph.IsNotFound(err):
		c.Kind, c.Fix = "not_found", "the app or job recorded in state no longer exists; run `invicti-scim setup` again"
	default:
		c.Kind, c.Fix = "entra", "Entra could not use the saved settings; run `invicti-scim setup` to rewrite them, or check them in the portal's Provisioning blade"
	}
	return c
}
