package provision

import (
	"context"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// validateAnswer answers validateCredentials with err.
type validateAnswer struct{ err error }

func (v validateAnswer) ValidateCredentials(context.Context, string, string, bool, []graph.KeyValue) error {
	return v.err
}

// A token Graph refuses (401 InvalidAuthenticationToken: malformed, another tenant's) is a
// sign-in problem, like an expired one: Entra's Test Connection never ran, so the kind is
// sign_in (exit 4) with the sign-in fix, not "permission" (it used to say the identity needs
// Synchronization.ReadWrite.All, exit 3). A real refusal for lack of a permission stays one.
func TestEntraConnectionKinds(t *testing.T) {
	for _, tc := range []struct {
		name, kind, fix string
		err             error
	}{
		{"refused token", "sign_in", SignInAgain, &graph.Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "IDX14100: JWT is not well formed, there are no dots (.)."}},
		{"expired token", "sign_in", (&graph.TokenLifetimeError{}).Hint(), &graph.Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "Lifetime validation failed, the token is expired."}},
		{"permission", "permission", "", &graph.Error{Status: 403, Code: "Authorization_RequestDenied"}},
		{"gone", "not_found", "", &graph.Error{Status: 404}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := TestEntraConnection(t.Context(), validateAnswer{tc.err}, "sp", "job", nil)
			if c.OK || c.Kind != tc.kind || (tc.fix != "" && c.Fix != tc.fix) || c.Fix == "" {
				t.Errorf("%+v, want kind %s fix %q", c, tc.kind, tc.fix)
			}
		})
	}
}
