package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
)

// spsByAppID answers FindServicePrincipals("appId eq '<id>'") from a map and counts calls.
type spsByAppID struct {
	m     map[string]string // appId → service principal id
	calls int
}

func (f *spsByAppID) FindServicePrincipals(_ context.Context, filter string) ([]graph.ServicePrincipal, error) {
	f.calls++
	for appID, spID := range f.m {
		if filter == "appId eq "+graph.Quote(appID) {
			return []graph.ServicePrincipal{{ID: spID, AppID: appID}}, nil
		}
	}
	return nil, nil
}

// --sp-id and --app-id together must name one app: a pair that disagrees is a usage error
// naming both (it used to act on --sp-id silently); a pair that agrees works, and needs no
// Graph call when it is the pair setup recorded.
func TestResolveAppBothFlags(t *testing.T) {
	const (
		appA = "11111111-1111-4111-8111-111111111111"
		spA  = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
		appB = "22222222-2222-4222-8222-222222222222"
		spB  = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
		gone = "33333333-3333-4333-8333-333333333333"
	)
	ctx := context.Background()
	recorded := state.State{App: &state.App{ServicePrincipalID: spA, AppID: appA, JobID: "scim.job"}}

	g := &spsByAppID{m: map[string]string{appA: spA, appB: spB}}
	_, _, err := ResolveApp(ctx, g, AppRef{SPID: spA, AppID: appB}, state.State{})
	if err == nil || Classify(err) != KindUsage {
		t.Fatalf("disagreeing pair: %v, want a usage error", err)
	}
	for _, want := range []string{"--sp-id " + spA, "--app-id " + appB, spB, "pass one of the two flags"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}

	sp, job, err := ResolveApp(ctx, g, AppRef{SPID: spB, AppID: appB}, recorded)
	if err != nil || sp != spB || job != "" {
		t.Errorf("agreeing pair, not the recorded app: %q %q %v", sp, job, err)
	}

	g.calls = 0
	sp, job, err = ResolveApp(ctx, g, AppRef{SPID: spA, AppID: strings.ToUpper(appA)}, recorded)
	if err != nil || sp != spA || job != "scim.job" || g.calls != 0 {
		t.Errorf("the recorded pair: %q %q %v after %d Graph calls, want %s scim.job and no call", sp, job, err, g.calls, spA)
	}

	_, _, err = ResolveApp(ctx, g, AppRef{SPID: spA, AppID: gone}, state.State{})
	var noApp *NoAppError
	if !errors.As(err, &noApp) || noApp.AppID != gone {
		t.Errorf("an --app-id no app has: %v, want NoAppError", err)
	}

	// Both are checked for shape before any Graph call.
	g.calls = 0
	_, _, err = ResolveApp(ctx, g, AppRef{SPID: spA, AppID: "nope"}, state.State{})
	if err == nil || !strings.Contains(err.Error(), `--app-id "nope"`) || g.calls != 0 {
		t.Errorf("malformed --app-id beside --sp-id: %v (%d calls)", err, g.calls)
	}
}

// refusedFinder is Graph refusing the token on the --app-id lookup (401
// InvalidAuthenticationToken, as pkg/entratest answers a token that is not a JWT).
type refusedFinder struct{}

func (refusedFinder) FindServicePrincipals(context.Context, string) ([]graph.ServicePrincipal, error) {
	return nil, &graph.Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "IDX14100: JWT is not well formed, there are no dots (.)."}
}

// An --app-id looked up in the tenant fails the way the recorded app's own calls do when Graph
// refuses the token: "Microsoft Graph refused the call" with the sign-in fix (exit 4), not a
// bare Graph error with no hint, alone or beside --sp-id.
func TestResolveAppRefusedLookup(t *testing.T) {
	const (
		appID = "11111111-1111-4111-8111-111111111111"
		spID  = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	)
	for _, ref := range []AppRef{{AppID: appID}, {SPID: spID, AppID: appID}} {
		_, _, err := ResolveApp(context.Background(), refusedFinder{}, ref, state.State{})
		var pe *PermissionError
		if !errors.As(err, &pe) || Classify(err) != KindAuth || Hint(err) != SignInAgain || !strings.HasPrefix(err.Error(), "Microsoft Graph refused the call (") {
			t.Errorf("%+v: %v (kind %v, hint %q)", ref, err, Classify(err), Hint(err))
		}
	}
}
