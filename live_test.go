//go:build live

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The live-tenant acceptance suite (docs/live-test.md): the one check that settles whether the
// key set makes a real Entra tenant fetch a token. It drives the built CLI against a scratch
// tenant and a real SCIM service, and cleans up after itself. Run it with
//
//	go test -tags live -run TestLive -v -timeout 30m .
//
// It skips, naming what is missing, without its environment variables.
var liveEnv = []struct{ name, what string }{
	{"INVICTI_SCIM_LIVE_GRAPH_TOKEN", "a Microsoft Graph access token for a scratch tenant (az account get-access-token --resource-type ms-graph --query accessToken -o tsv)"},
	{"INVICTI_SCIM_LIVE_INVICTI_URL", "the Invicti Platform base URL, e.g. https://platform.invicti.com"},
	{"INVICTI_SCIM_LIVE_CLIENT_ID", "the SCIM client registration's credentials.clientId"},
	{"INVICTI_SCIM_LIVE_CLIENT_SECRET", "its credentials.clientSecret"},
	{"INVICTI_SCIM_LIVE_USER", "the UPN of a test user in the tenant to assign and provision"},
}

func TestLive(t *testing.T) {
	vals := map[string]string{}
	var missing []string
	for _, e := range liveEnv {
		v := os.Getenv(e.name)
		if v == "" {
			missing = append(missing, e.name+" ("+e.what+")")
		}
		vals[e.name] = v
	}
	if len(missing) > 0 {
		t.Skipf("live suite skipped; set %s", strings.Join(missing, "; "))
	}
	appName := os.Getenv("INVICTI_SCIM_LIVE_APP_NAME")
	if appName == "" {
		appName = "invicti-scim live test " + time.Now().UTC().Format("20060102-150405")
	}
	bin := binary(t)
	env := append(os.Environ(),
		"INVICTI_SCIM_GRAPH_TOKEN="+vals["INVICTI_SCIM_LIVE_GRAPH_TOKEN"],
		"INVICTI_SCIM_INVICTI_URL="+vals["INVICTI_SCIM_LIVE_INVICTI_URL"],
		"INVICTI_SCIM_CLIENT_ID="+vals["INVICTI_SCIM_LIVE_CLIENT_ID"],
		"INVICTI_SCIM_CLIENT_SECRET="+vals["INVICTI_SCIM_LIVE_CLIENT_SECRET"],
		"INVICTI_SCIM_CONFIG_DIR="+t.TempDir(),
		"INVICTI_SCIM_NON_INTERACTIVE=1", "NO_COLOR=1")
	run := func(args ...string) (string, error) {
		t.Helper()
		c := exec.Command(bin, args...)
		c.Env = env
		var stderr strings.Builder
		c.Stderr = &stderr
		out, err := c.Output()
		t.Logf("$ invicti-scim %s\n%s%s", strings.Join(args, " "), stderr.String(), out)
		if strings.Contains(string(out)+stderr.String(), vals["INVICTI_SCIM_LIVE_CLIENT_SECRET"]) {
			t.Fatalf("the client secret appeared in the output of %v", args)
		}
		return string(out), err
	}
	t.Cleanup(func() {
		if _, err := run("teardown", "--yes", "--auth", "token"); err != nil {
			t.Errorf("teardown failed: delete the app %q by hand", appName)
		}
	})

	out, err := run("setup", "--auth", "token", "--app-name", appName, "-o", "json")
	var setup struct {
		OK             bool   `json:"ok"`
		KeySet         string `json:"keySet"`
		SettingsWriter string `json:"settingsWriter"`
		Experimental   bool   `json:"experimental"`
	}
	_ = json.Unmarshal([]byte(out), &setup)
	if err != nil || !setup.OK {
		t.Fatalf("setup failed (%v): Entra did not accept key set v2 through any writer; see the log above", err)
	}
	t.Logf("RESULT: key set %s saved by the %s writer (experimental: %v)", setup.KeySet, setup.SettingsWriter, setup.Experimental)

	out, err = run("doctor", "--show-settings", "--auth", "token", "-o", "json")
	var doc struct {
		Settings *struct {
			Keys []string `json:"keys"`
		} `json:"settings"`
	}
	_ = json.Unmarshal([]byte(out), &doc)
	if doc.Settings == nil {
		t.Fatalf("doctor --show-settings printed no settings (%v)", err)
	}
	fmt.Printf("LIVE: key names Entra stores: %s\n", strings.Join(doc.Settings.Keys, ", "))

	if _, err := run("assign", "--user", vals["INVICTI_SCIM_LIVE_USER"], "--auth", "token"); err != nil {
		t.Fatalf("assign: %v", err)
	}
	if _, err := run("provision", "--user", vals["INVICTI_SCIM_LIVE_USER"], "--verify", "--wait", "10m", "--auth", "token"); err != nil {
		t.Fatalf("provision --verify: %v (Entra fetched a token for Test Connection, but the user did not reach the SCIM service)", err)
	}
	if _, err := run("status", "--auth", "token", "-o", "json"); err != nil {
		t.Errorf("status is not healthy after a successful provision: %v", err)
	}
}
