package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

func TestClassify(t *testing.T) {
	expired := &graph.Error{Status: 401, Code: "InvalidAuthenticationToken", Message: "Lifetime validation failed, the token is expired."}
	tests := []struct {
		name string
		err  error
		want ErrorKind
	}{
		{"nil", nil, KindFailed},
		{"plain", errors.New("x"), KindFailed},
		{"usage", usageErrorf("--sp-id %q: bad", "x"), KindUsage},
		{"invicti input", &invicti.InputError{Flag: "--region", Msg: "unknown"}, KindUsage},
		{"adoption", &AdoptionError{}, KindUsage},
		{"connection", fmt.Errorf("wrap: %w", &ConnectionError{Layer: "invicti"}), KindConnection},
		{"permission", &PermissionError{Err: &graph.Error{Status: 401}}, KindAuth},
		{"graph 403 denied", &graph.Error{Status: 403, Code: "Authorization_RequestDenied"}, KindAuth},
		{"graph 403 other", &graph.Error{Status: 403, Code: "Forbidden"}, KindFailed},
		{"graph 404", &graph.Error{Status: 404}, KindFailed},
		{"sign-in", &graph.SignInError{Err: errors.New("no")}, KindAuth},
		{"expired token answer", fmt.Errorf("read job: %w", expired), KindExpiredToken},
		{"expired token claims", &graph.TokenLifetimeError{}, KindExpiredToken},
		// An expired token outranks the kind of the error that carries it.
		{"expired inside connection", &ConnectionError{Err: expired}, KindExpiredToken},
		// A kind a use case decided from a report outranks the errors it wraps, but not an
		// expired token.
		{"decided auth", &KindError{Kind: KindAuth, Err: errors.New("doctor: 1 check failed")}, KindAuth},
		{"decided connection", fmt.Errorf("w: %w", &KindError{Kind: KindConnection, Err: &graph.Error{Status: 401}}), KindConnection},
		{"decided, expired inside", &KindError{Kind: KindConnection, Err: expired}, KindExpiredToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestPermissionHint(t *testing.T) {
	if err := PermissionHint(nil, PermSync); err != nil {
		t.Fatalf("nil: %v", err)
	}
	var pe *PermissionError
	if err := PermissionHint(&graph.Error{Status: 401}, PermSync); !errors.As(err, &pe) || pe.Permission != PermSync {
		t.Errorf("401: %v, want a PermissionError naming %s", err, PermSync)
	}
	if err := PermissionHint(&graph.Error{Status: 404}, PermSync); Hint(err) != Deleted {
		t.Errorf("404: hint %q, want %q", Hint(err), Deleted)
	}
	plain := errors.New("x")
	if err := PermissionHint(plain, PermSync); !errors.Is(err, plain) || err.Error() != "x" {
		t.Errorf("other errors pass unchanged, got %v", err)
	}
}

func TestHintFindsInvictiInputHint(t *testing.T) {
	err := fmt.Errorf("resolve: %w", &invicti.InputError{Flag: "--region", Msg: "unknown", Hint: "us, eu or ca"})
	if got := Hint(err); got != "us, eu or ca" {
		t.Errorf("Hint = %q", got)
	}
	if got := Hint(&HintedError{Err: err, HintText: "outer"}); got != "outer" {
		t.Errorf("the outermost hint wins, got %q", got)
	}
}

func TestOurJob(t *testing.T) {
	jobs := []graph.Job{{ID: "other.1", TemplateID: "other"}, {ID: "scim.2", TemplateID: "scim"}, {ID: "scim.3"}}
	tests := []struct {
		name      string
		jobs      []graph.Job
		fromState string
		want      string
	}{
		{"none", nil, "", ""},
		{"state wins", jobs, "scim.3", "scim.3"},
		{"template next", jobs, "gone", "scim.2"},
		{"id prefix", []graph.Job{{ID: "x.1"}, {ID: "SCIM.9"}}, "", "SCIM.9"},
		{"else the first", []graph.Job{{ID: "x.1"}, {ID: "y.2"}}, "", "x.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if j := OurJob(tt.jobs, tt.fromState); j != nil {
				got = j.ID
			}
			if got != tt.want {
				t.Errorf("OurJob = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNormalizeReset(t *testing.T) {
	got, err := NormalizeReset(" watermark,ESCROWS ,, quarantinestate,Watermark")
	if err != nil || got != "Watermark, Escrows, QuarantineState" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", ",", "Full,Nope"} {
		var ue *UsageError
		if _, err := NormalizeReset(bad); !errors.As(err, &ue) {
			t.Errorf("%q: err %v, want a UsageError", bad, err)
		}
	}
}

type fakeUsers struct {
	byUPN  map[string]graph.User
	byMail map[string][]graph.User
}

func (f fakeUsers) User(_ context.Context, in string) (graph.User, error) {
	if u, ok := f.byUPN[in]; ok {
		return u, nil
	}
	return graph.User{}, &graph.Error{Status: 404, Code: "Request_ResourceNotFound"}
}

func (f fakeUsers) FindUsers(_ context.Context, filter string) ([]graph.User, error) {
	for mail, us := range f.byMail {
		if filter == "mail eq "+graph.Quote(mail) {
			return us, nil
		}
	}
	return nil, nil
}

// FindUser: the UPN or id first, then the one user with that mail.
func TestFindUser(t *testing.T) {
	alice, bob := graph.User{ID: "1", UserPrincipalName: "alice@contoso.com"}, graph.User{ID: "2", UserPrincipalName: "bob@contoso.com"}
	g := fakeUsers{
		byUPN:  map[string]graph.User{"alice@contoso.com": alice},
		byMail: map[string][]graph.User{"a.smith@contoso.com": {alice}, "team@contoso.com": {alice, bob}},
	}
	ctx := t.Context()
	if u, err := FindUser(ctx, g, "alice@contoso.com"); err != nil || u.ID != "1" {
		t.Errorf("by UPN: %+v %v", u, err)
	}
	if u, err := FindUser(ctx, g, "a.smith@contoso.com"); err != nil || u.ID != "1" {
		t.Errorf("by mail: %+v %v", u, err)
	}
	if _, err := FindUser(ctx, g, "team@contoso.com"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("shared mail: %v", err)
	}
	if _, err := FindUser(ctx, g, "nobody@contoso.com"); !IsNotFound(err) {
		t.Errorf("nobody: %v, want Graph's 404", err)
	}
	if _, err := FindUser(ctx, g, "no-at-sign"); !IsNotFound(err) {
		t.Errorf("not an address: %v, want Graph's 404 without a mail query", err)
	}
}

func TestCompleteInvicti(t *testing.T) {
	st := &state.State{Invicti: &state.Invicti{Region: "eu", ClientID: "from-state"}}
	got, missing := CompleteInvicti(InvictiGiven{Secret: "s"}, st)
	if got.Region != "eu" || got.ClientID != "from-state" || got.ClientIDSource != "state" || len(missing) != 0 {
		t.Errorf("from state: %+v %v", got, missing)
	}
	// Flags win over the state; a custom tenant's URL comes back as the URL.
	custom := &state.State{Invicti: &state.Invicti{Region: "custom", BaseURL: "https://invicti.example", ClientID: "x"}}
	got, _ = CompleteInvicti(InvictiGiven{ClientID: "flag", ClientIDSource: "--client-id", Secret: "s"}, custom)
	if got.URL != "https://invicti.example" || got.ClientID != "flag" || got.ClientIDSource != "--client-id" {
		t.Errorf("custom: %+v", got)
	}
	_, missing = CompleteInvicti(InvictiGiven{}, nil)
	if len(missing) != 3 || missing[2] != SecretSources {
		t.Errorf("nothing given: %q", missing)
	}
}
