package cmd

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/iostreams"
	"github.com/invicti-scim/invicti-scim/internal/provision"
)

func testFactory() *Factory {
	ios, _, _, _ := iostreams.Test()
	return &Factory{IO: ios, Getenv: func(string) string { return "" }, Now: time.Now}
}

// The commands that went to internal/provision take an injectable run function (as cli/cli's
// NewCmdX(f, runF)): these tests check flags → options without a tenant.

func TestNewJobCmd(t *testing.T) {
	tests := []struct {
		args    []string
		action  string
		reset   string
		yes     bool
		wantErr bool
	}{
		{args: []string{"start"}, action: "start", reset: "Watermark, Escrows, QuarantineState"},
		{args: []string{"restart", "--reset", "Full", "--yes", "--sp-id", "x"}, action: "restart", reset: "Full", yes: true},
		{args: []string{"stop"}, wantErr: true},
		{args: []string{}, wantErr: true},
	}
	for _, tt := range tests {
		var got *jobOptions
		action := ""
		cmd := newJobCmd(testFactory(), func(_ context.Context, _ *Factory, o *jobOptions, a string) error {
			got, action = o, a
			return nil
		})
		cmd.SetArgs(tt.args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.Execute()
		if tt.wantErr {
			var fe *FlagError
			if !errors.As(err, &fe) || got != nil {
				t.Errorf("%v: err %v, ran %v; want a FlagError and no run", tt.args, err, got != nil)
			}
			continue
		}
		if err != nil || got == nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if action != tt.action || got.Reset != tt.reset || got.Yes != tt.yes {
			t.Errorf("%v: action %q reset %q yes %v", tt.args, action, got.Reset, got.Yes)
		}
	}
}

func TestNewTeardownCmd(t *testing.T) {
	var got *teardownOptions
	cmd := newTeardownCmd(testFactory(), func(_ context.Context, _ *Factory, o *teardownOptions) error {
		got = o
		return nil
	})
	cmd.SetArgs([]string{"--yes", "--keep-state", "--app-id", "00000000-0000-0000-0000-000000000001"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || !got.Yes || !got.Keep || got.app.AppID != "00000000-0000-0000-0000-000000000001" {
		t.Errorf("options %+v", got)
	}
	cmd.SetArgs([]string{"--dry-run"})
	if err := cmd.Execute(); err != nil || !got.DryRun {
		t.Errorf("--dry-run: %v, options %+v", err, got)
	}
}

func TestNewLogsCmd(t *testing.T) {
	var got *logsOptions
	cmd := newLogsCmd(testFactory(), func(_ context.Context, _ *Factory, o *logsOptions) error {
		got = o
		return nil
	})
	cmd.SetArgs([]string{"--since", "7d", "--status", "failure", "--max", "10"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || !got.sinceSet || got.Since != "7d" || got.Status != "failure" || got.Max != 10 {
		t.Errorf("options %+v", got)
	}
}

// TestRunJobRejectsBeforeSigningIn: usage problems come before any sign-in or Graph call.
func TestRunJobRejectsBeforeSigningIn(t *testing.T) {
	f := testFactory()
	err := runJob(t.Context(), f, &jobOptions{Reset: "Bogus"}, "restart")
	if exitCode(err) != ExitUsage {
		t.Errorf("bad --reset: %v (exit %d)", err, exitCode(err))
	}
	err = runJob(t.Context(), f, &jobOptions{Reset: "Full"}, "restart")
	if exitCode(err) != ExitUsage {
		t.Errorf("restart without --yes and no terminal: %v (exit %d)", err, exitCode(err))
	}
}

// The confirmation panel (and --dry-run) lists the tool's claims-mapping policy before the app,
// and any policy left with its reason.
func TestTeardownPlanLines(t *testing.T) {
	lines := teardownPlanLines(provision.TeardownPlan{AppName: "Invicti", AppID: "a1", ApplicationID: "o1", ServicePrincipalID: "s1",
		ClaimsPolicies: []provision.TeardownClaimsPolicy{
			{ID: "p1", DisplayName: provision.ClaimsPolicyPrefix + "Invicti", Outcome: provision.PolicyWillDelete},
			{ID: "p2", DisplayName: "Contoso", Outcome: provision.PolicyLeft, Reason: "not made by invicti-scim"},
		}})
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		`Claims-mapping policy "invicti-scim claims: Invicti" (id p1), made by sso --claims` + "\n" + `Enterprise app "Invicti" (appId a1)`,
		"service principal s1",
		`Not deleted: claims-mapping policy "Contoso" (id p2): not made by invicti-scim`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lines lack %q:\n%s", want, got)
		}
	}
}
