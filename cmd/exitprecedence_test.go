package cmd

import (
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/internal/provision"
)

// status of a healthy job whose only failure is the direct Invicti check exits 3 with that
// check's fix (it used to exit 1 with the first status fix, "assign users…"); an unhealthy job
// stays 1.
func TestStatusFailureExit(t *testing.T) {
	invicti := &layerJSON{Steps: []checkStepJSON{{Name: "token", Problem: "Invicti rejected this client id/secret", Fix: "re-create the client"}}}
	healthy := statusJSON{Status: &provision.Status{Health: provision.Healthy, Fixes: []string{"assign users"}}, Invicti: invicti}
	err := statusFailure(healthy)
	if exitCode(err) != ExitConnection || hintOf(err) != "re-create the client" || !strings.Contains(err.Error(), "direct Invicti check failed: Invicti rejected") {
		t.Errorf("healthy, Invicti failed: %v (exit %d, hint %q)", err, exitCode(err), hintOf(err))
	}
	sick := statusJSON{Status: &provision.Status{Health: provision.Quarantined, Summary: "quarantined", Fixes: []string{"fix it"}}, Invicti: invicti}
	if err := statusFailure(sick); exitCode(err) != ExitFailed || hintOf(err) != "fix it" {
		t.Errorf("quarantined: %v (exit %d)", err, exitCode(err))
	}
}

// test-connection: a Graph sign-in problem in the Entra layer outranks a failed Invicti layer
// (4 before 3) and is the error; a failed Invicti layer alone is 3.
func TestConnectionFailureExit(t *testing.T) {
	badInvicti := layerJSON{Steps: []checkStepJSON{{Problem: "Invicti rejected this client id/secret", Fix: "re-create the client"}}}
	signIn := &layerJSON{Steps: []checkStepJSON{{Problem: "validate credentials: graph: 401 InvalidAuthenticationToken", Kind: "sign_in", Fix: provision.SignInAgain}}}
	err := connectionFailure(testConnectionJSON{Invicti: badInvicti, Entra: signIn})
	if exitCode(err) != ExitAuth || hintOf(err) != provision.SignInAgain || !strings.HasPrefix(err.Error(), "entra connection test failed") {
		t.Errorf("both fail: %v (exit %d, hint %q)", err, exitCode(err), hintOf(err))
	}
	err = connectionFailure(testConnectionJSON{Invicti: badInvicti, Entra: &layerJSON{Skipped: true}})
	if exitCode(err) != ExitConnection || hintOf(err) != "re-create the client" {
		t.Errorf("Invicti fails: %v (exit %d, hint %q)", err, exitCode(err), hintOf(err))
	}
}
