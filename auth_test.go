package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/invicti-scim/invicti-scim/internal/signin"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

// cmdEntraLogin starts the emulated Entra sign-in endpoint (entratest.Login, over TLS) for the
// script's tenant and points the binary at it the documented way: AZURE_AUTHORITY_HOST, its
// certificate through SSL_CERT_FILE, the tenant in AZURE_TENANT_ID, and no
// INVICTI_SCIM_GRAPH_TOKEN, so that `auth login` really signs in through azidentity and MSAL.
// The token cache goes to $WORK/.cache (XDG_CACHE_HOME), never the tester's own.
//
//	entra-login
func cmdEntraLogin(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: entra-login")
	}
	e := ts.Value("emu").(*emulators)
	login := e.tenant.StartLogin()
	ts.Defer(login.Close)
	ca := filepath.Join(ts.Getenv("WORK"), "entra-login-ca.pem")
	ts.Check(os.WriteFile(ca, login.CertPEM, 0o600))
	ts.Setenv("SSL_CERT_FILE", ca)
	ts.Setenv("AZURE_AUTHORITY_HOST", login.URL)
	ts.Setenv("AZURE_TENANT_ID", e.tenant.TenantID())
	ts.Setenv("INVICTI_SCIM_GRAPH_TOKEN", "")
	ts.Setenv("XDG_CACHE_HOME", filepath.Join(ts.Getenv("WORK"), ".cache"))
}

var (
	tokenCacheOnce sync.Once
	tokenCacheOK   bool
)

// scriptCondition adds [tokencache]: this machine has the OS secret store azidentity's
// persistent token cache needs (on Linux the kernel keyring, which containers often block).
// Scripts assert the persistent session where it exists and the documented fallback elsewhere.
func scriptCondition(cond string) (bool, error) {
	if cond != "tokencache" {
		return false, nil
	}
	tokenCacheOnce.Do(func() {
		_, err := signin.OpenOSCache("invicti-scim-probe")
		tokenCacheOK = err == nil
	})
	return tokenCacheOK, nil
}

// TestSetupSaysWhoSignedIn: interactive setup prints one line with the tenant (name and id)
// and the account right after sign-in, before the plan.
func TestSetupSaysWhoSignedIn(t *testing.T) {
	inv := scimtest.New(scimtest.Options{})
	defer inv.Close()
	inv.AddClient(testClientID, testSecret)
	ten := entratest.New(entratest.Options{})
	defer ten.Close()
	ten.SeedDemo()
	c := exec.Command(binary(t), "setup", "--dry-run", "--app-name", "Invicti Platform")
	c.Env = append(os.Environ(),
		"INVICTI_SCIM_GRAPH_URL="+ten.URL, "INVICTI_SCIM_GRAPH_TOKEN="+ten.Token(),
		"INVICTI_SCIM_CONFIG_DIR="+t.TempDir(), "INVICTI_SCIM_CLIENT_ID="+testClientID, "INVICTI_SCIM_CLIENT_SECRET="+testSecret,
		"INVICTI_SCIM_INVICTI_URL="+inv.URL, "INVICTI_SCIM_NON_INTERACTIVE=", "TERM=xterm-256color", "NO_COLOR=1")
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 50, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scr := &screen{}
	go func() { _, _ = io.Copy(scr, f) }()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("setup --dry-run: %v\n%s", err, scr.String())
		}
	case <-time.After(60 * time.Second):
		_ = c.Process.Kill()
		t.Fatalf("setup --dry-run did not finish:\n%s", scr.String())
	}
	at := scr.waitFor(t, "Signed in to Contoso (emulated) (tenant "+ten.TenantID()+") as "+entratest.DefaultAdminUPN, 0)
	// doctor's permission check runs before the plan (the emulated admin has every scope).
	at = scr.waitFor(t, "Permissions — the account has what setup, assign and provision need", at)
	scr.waitFor(t, "Dry run", at)
	if n := len(regexp.MustCompile(`Signed in to `).FindAllString(scr.String(), -1)); n != 1 {
		t.Errorf("the sign-in line appears %d times, want once:\n%s", n, scr.String())
	}
}
