package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

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
		c := exec.Command(bin, "apply", "-f", file)
		c.Env = env
		f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 40, Cols: 160})
		if err != nil {
			t.Fatal(err)
		}
		scr := &screen{}
		go func() { _, _ = io.Copy(scr, f) }()
		at := scr.waitFor(t, "+ create alice@contoso.example", 0)
		scr.waitFor(t, "Apply th", at)
		time.Sleep(150 * time.Millisecond) // huh moves focus asynchronously
		if _, err := f.Write([]byte(answer)); err != nil {
			t.Fatal(err)
		}
		if answer == "y" {
			scr.waitFor(t, "Applied", at)
		} else {
			scr.waitFor(t, "Nothing changed", at) // before the pty closes
		}
		err = c.Wait()
		f.Close()
		switch answer {
		case "n":
			if err != nil || !strings.Contains(scr.String(), "Nothing changed") || len(ten.Apps()) != 0 || len(ten.Writes()) != 0 {
				t.Fatalf("declined: err %v, %d apps, %d writes\n%s", err, len(ten.Apps()), len(ten.Writes()), scr.String())
			}
		case "y":
			if err != nil || len(ten.Apps()) != 1 || len(ten.Apps()[0].Assignments) != 1 {
				t.Fatalf("confirmed: err %v, %d apps\n%s", err, len(ten.Apps()), scr.String())
			}
		}
	}
}
