package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// TestApplyConfirmInPTY: on a terminal apply shows the plan and asks; "no" changes nothing
// (exit 0, "Nothing changed"; 130 is for Ctrl-C), "yes" applies it.
func TestApplyConfirmInPTY(t *testing.T) {
	inv := scimtest.New(scimtest.Options{})
	defer inv.Close()
	inv.AddClient(testClientID, testSecret)
	ten := entratest.New(entratest.Options{})
	defer ten.Close()
	ten.SeedDemo()
	dir := t.TempDir()
	file := filepath.Join(dir, "invicti-scim.yaml")
	if err := os.WriteFile(file, []byte("invicti:\n  url: {env: INVICTI_URL}\n  clientId: "+testClientID+"\n  clientSecret: {env: SECRET}\nassignments:\n  users: [alice@contoso.example]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"INVICTI_SCIM_GRAPH_URL="+ten.URL, "INVICTI_SCIM_GRAPH_TOKEN="+ten.Token(), "INVICTI_URL="+inv.URL, "SECRET="+testSecret,
		"INVICTI_SCIM_CONFIG_DIR="+filepath.Join(dir, "config"), "INVICTI_SCIM_NON_INTERACTIVE=", "TERM=xterm-256color", "NO_COLOR=1")
	bin := binary(t)
	for _, answer := range []string{"n", "y"} {
		scr, err := answerConfirm(t, bin, env, []string{"apply", "-f", file}, "+ create alice@contoso.example", "Apply th", answer, "Applied")
		switch answer {
		case "n":
			if err != nil || !strings.Contains(scr, "Nothing changed") || len(ten.Apps()) != 0 || len(ten.Writes()) != 0 {
				t.Fatalf("declined: err %v, %d apps, %d writes\n%s", err, len(ten.Apps()), len(ten.Writes()), scr)
			}
		case "y":
			if err != nil || len(ten.Apps()) != 1 || len(ten.Apps()[0].Assignments) != 1 {
				t.Fatalf("confirmed: err %v, %d apps\n%s", err, len(ten.Apps()), scr)
			}
		}
	}
}
