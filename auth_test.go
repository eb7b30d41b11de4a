package main

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/invicti-scim/invicti-scim/internal/signin"
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
