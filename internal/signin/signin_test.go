package signin

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/pkg/entratest"
)

func testRecord() *Record {
	return &Record{
		Version: recordVersion, Method: graph.AuthDeviceCode, Cloud: "global", LoginURL: "https://login.microsoftonline.com",
		GraphURL: "https://graph.microsoft.com", ClientID: graph.DefaultPublicClientID, TenantID: "t1", Account: "admin@contoso.example",
		Cache: CachePersistent, ExpiresOn: time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC),
		Auth: azidentity.AuthenticationRecord{Authority: "https://login.microsoftonline.com", ClientID: graph.DefaultPublicClientID,
			HomeAccountID: "oid.t1", TenantID: "t1", Username: "admin@contoso.example", Version: "1.0"},
	}
}

func TestRecordStoreSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config")
	s := RecordStore{Dir: dir}
	if r, err := s.Load(); r != nil || err != nil {
		t.Fatalf("Load with no file = %v, %v; want nil, nil", r, err)
	}
	want := testRecord()
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("record mode = %o, want 600", m)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if m := di.Mode().Perm(); m != 0o700 {
			t.Errorf("config dir mode = %o, want 700", m)
		}
	}
	b, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"access_token", "refresh_token", "secret"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the record holds %q:\n%s", secret, b)
		}
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got.Auth != want.Auth || got.Method != want.Method || got.TenantID != want.TenantID || !got.ExpiresOn.Equal(want.ExpiresOn) {
		t.Errorf("Load = %+v, want %+v", got, want)
	}
	// Saving again replaces the record; no temporary file is left behind.
	want.Account = "other@contoso.example"
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("config dir holds %d entries after two saves, want 1", len(ents))
	}
	for i, want := range []bool{true, false} {
		removed, err := s.Delete()
		if err != nil || removed != want {
			t.Errorf("Delete #%d = %v, %v; want %v, nil", i+1, removed, err, want)
		}
	}
}

func TestRecordStoreDamaged(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":         "{\"version\": 1, \"method\": ",
		"no method":        `{"version": 1}`,
		"no account":       `{"version": 1, "method": "device-code", "cloud": "global"}`,
		"bad azidentity":   `{"version": 1, "method": "browser", "authenticationRecord": {"version": "9.9", "homeAccountId": "x"}}`,
		"newer format":     `{"version": 7, "method": "browser"}`,
		"unknown method":   `{"version": 1, "method": "password"}`,
		"a list, not JSON": `[]`,
	} {
		t.Run(name, func(t *testing.T) {
			s := RecordStore{Dir: t.TempDir()}
			if err := os.WriteFile(s.Path(), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := s.Load()
			var e *Error
			if r != nil || !errors.As(err, &e) {
				t.Fatalf("Load = %v, %v; want an *Error", r, err)
			}
			if !strings.Contains(e.Msg, s.Path()) {
				t.Errorf("message does not name the file %s: %s", s.Path(), e.Msg)
			}
			if !strings.Contains(e.HintText, "invicti-scim auth logout") {
				t.Errorf("hint does not give the fix: %s", e.HintText)
			}
			// The documented fix works on a damaged record.
			res, err := Logout(Env{Getenv: func(string) string { return "" }, ConfigDir: s.Dir})
			if err != nil || len(res.Removed) == 0 || res.Removed[0] != s.Path() {
				t.Fatalf("Logout = %+v, %v; want the record removed", res, err)
			}
		})
	}
}

func TestOpenCacheFallsBackToMemory(t *testing.T) {
	var notices []string
	opened := 0
	env := Env{
		Getenv: func(string) string { return "" },
		Notice: func(s string) { notices = append(notices, s) },
		OpenCache: func(string) (azidentity.Cache, error) {
			opened++
			return azidentity.Cache{}, errors.New("keyctl: operation not permitted")
		},
	}
	if _, kind := openCache(env, "n", true); kind != CacheMemory {
		t.Errorf("kind = %s, want memory", kind)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "not kept after this run") || strings.Contains(notices[0], "\n") {
		t.Errorf("notices = %q, want one line saying the sign-in is not kept", notices)
	}
	// A silent run (a record exists) says nothing: nobody is asked to sign in.
	if _, kind := openCache(env, "n", false); kind != CacheMemory || len(notices) != 1 {
		t.Errorf("silent fallback: kind %s, notices %q", kind, notices)
	}
	// INVICTI_SCIM_TOKEN_CACHE=none never touches the store.
	env.Getenv = func(k string) string {
		if k == TokenCacheEnv {
			return "none"
		}
		return ""
	}
	opened = 0
	if _, kind := openCache(env, "n", true); kind != CacheMemory || opened != 0 {
		t.Errorf("opt-out: kind %s, store opened %d times", kind, opened)
	}
}

func TestCacheNamePerConfigDir(t *testing.T) {
	a, b := cacheName("/home/a/.config/invicti-scim"), cacheName("/home/a/contoso")
	if a == b || !strings.HasPrefix(a, "invicti-scim-") || a != cacheName("/home/a/.config/invicti-scim") {
		t.Errorf("cache names %q and %q: want distinct, stable, prefixed", a, b)
	}
}

// emuEnv is an Env pointed at an emulated tenant and its TLS sign-in endpoint.
func emuEnv(t *testing.T, vars map[string]string) (Env, *entratest.Tenant, *http.Client) {
	t.Helper()
	ten := entratest.New(entratest.Options{})
	t.Cleanup(ten.Close)
	ten.SeedDemo()
	login := ten.StartLogin()
	t.Cleanup(login.Close)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(login.CertPEM)
	signIn := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	all := map[string]string{"AZURE_AUTHORITY_HOST": login.URL, "INVICTI_SCIM_GRAPH_URL": ten.URL}
	for k, v := range vars {
		all[k] = v
	}
	var prompt bytes.Buffer
	env := Env{
		Getenv: func(k string) string { return all[k] }, ConfigDir: filepath.Join(t.TempDir(), "config"),
		Prompt: &prompt, SignInHTTP: signIn,
	}
	return env, ten, &http.Client{Timeout: 30 * time.Second}
}

func TestLoginWithoutCacheKeepsNothing(t *testing.T) {
	env, ten, graphHTTP := emuEnv(t, nil)
	var notices []string
	env.Notice = func(s string) { notices = append(notices, s) }
	env.OpenCache = func(string) (azidentity.Cache, error) { return azidentity.Cache{}, errors.New("no keyring") }
	ctx := context.Background()
	st, err := Login(ctx, Request{Auth: "device-code", Cloud: "global"}, env, graphHTTP)
	if err != nil {
		t.Fatal(err)
	}
	if !st.SignedIn || st.TenantID != ten.TenantID() || st.Account != entratest.DefaultAdminUPN || st.Cache != CacheMemory || st.TenantName == "" {
		t.Errorf("Login = %+v", st)
	}
	if len(notices) != 1 {
		t.Errorf("notices = %q, want the one fallback line", notices)
	}
	if _, err := os.Stat(RecordStore{Dir: env.ConfigDir}.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a record was saved although no token is kept: %v", err)
	}
	got, err := StatusOf(ctx, Request{Cloud: "global"}, env, graphHTTP)
	if err != nil || got.SignedIn {
		t.Errorf("StatusOf after a cache-less login = %+v, %v; want not signed in", got, err)
	}
}

// TestLoginPersistentSession signs in with a device code through the real OS token cache
// (where this machine has one), then a second, prompt-less connection signs in silently from
// the saved record, and logout removes record and cache.
func TestLoginPersistentSession(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", filepath.Join(t.TempDir(), "cache"))
	if _, err := OpenOSCache("invicti-scim-probe"); err != nil {
		t.Skipf("no OS secret store here (%v): TestLoginWithoutCacheKeepsNothing covers the fallback", err)
	}
	env, ten, graphHTTP := emuEnv(t, map[string]string{"XDG_CACHE_HOME": os.Getenv("XDG_CACHE_HOME")})
	ctx := context.Background()
	st, err := Login(ctx, Request{Auth: "device-code", Cloud: "global"}, env, graphHTTP)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cache != CachePersistent || st.RecordPath == "" {
		t.Fatalf("Login = %+v, want a persistent session", st)
	}
	// No --auth, no terminal: the record chooses device code and signs in without a prompt.
	got, err := StatusOf(ctx, Request{Cloud: "global"}, env, graphHTTP)
	if err != nil {
		t.Fatal(err)
	}
	if !got.SignedIn || got.Method != graph.AuthDeviceCode || got.Account != entratest.DefaultAdminUPN || got.Cache != CachePersistent || got.ExpiresOn.IsZero() {
		t.Fatalf("StatusOf = %+v", got)
	}
	if p := env.Prompt.(*bytes.Buffer).String(); strings.Count(p, "devicelogin") != 1 {
		t.Errorf("device-code prompts = %q, want exactly the login's one", p)
	}
	cloud, mode, _, err := Validate(Request{Cloud: "global"}, env)
	if err != nil || mode != graph.AuthDeviceCode {
		t.Fatalf("Validate = %s, %v; want the record's device-code", mode, err)
	}
	conn, err := Connect(Request{Cloud: "global"}, env, cloud, mode, "", graphHTTP)
	if err != nil {
		t.Fatal(err)
	}
	if conn.TenantID() != ten.TenantID() {
		t.Errorf("TenantID = %q before any call, want the record's %q", conn.TenantID(), ten.TenantID())
	}
	if _, err := conn.Client.Organization(ctx); err != nil {
		t.Fatalf("a Graph call from the saved session: %v", err)
	}
	res, err := Logout(env)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) < 2 || res.Account != entratest.DefaultAdminUPN {
		t.Errorf("Logout = %+v, want the record and the cache file", res)
	}
	if got, err := StatusOf(ctx, Request{Cloud: "global"}, env, graphHTTP); err != nil || got.SignedIn {
		t.Errorf("StatusOf after logout = %+v, %v", got, err)
	}
}

func TestValidateChoosesMethod(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{}
	env := Env{Getenv: func(k string) string { return vars[k] }, ConfigDir: dir}
	req := Request{Cloud: "global"}
	if _, _, _, err := Validate(req, env); err == nil || !strings.Contains(err.Error(), "without a terminal") {
		t.Errorf("nothing to sign in with: err = %v", err)
	}
	env.CanPrompt = true
	if _, m, _, err := Validate(req, env); err != nil || m != graph.AuthBrowser {
		t.Errorf("terminal: %s, %v; want browser", m, err)
	}
	env.CanPrompt = false
	rec := testRecord()
	if err := (RecordStore{Dir: dir}).Save(rec); err != nil {
		t.Fatal(err)
	}
	if _, m, _, err := Validate(req, env); err != nil || m != graph.AuthDeviceCode {
		t.Errorf("saved record: %s, %v; want device-code", m, err)
	}
	// A record for another cloud, tenant or client is not used.
	for _, other := range []Request{{Cloud: "usgov"}, {Cloud: "global", Tenant: "fabrikam.example"}, {Cloud: "global", GraphClientID: "11111111-1111-1111-1111-111111111111"}} {
		if _, m, _, err := Validate(other, env); err == nil {
			t.Errorf("%+v: chose %s from a record that does not fit", other, m)
		}
	}
	// Explicit browser without a terminal is fine with a record to reuse.
	if _, m, _, err := Validate(Request{Cloud: "global", Auth: "browser"}, env); err != nil || m != graph.AuthBrowser {
		t.Errorf("--auth browser with a record: %s, %v", m, err)
	}
	vars["AZURE_CLIENT_ID"], vars["AZURE_TENANT_ID"], vars["AZURE_CLIENT_SECRET"] = "a", "t", "s"
	if _, m, _, err := Validate(req, env); err != nil || m != graph.AuthEnvironment {
		t.Errorf("AZURE_*: %s, %v; want environment before the record", m, err)
	}
	tok := entratest.MakeToken("t1", entratest.Principal{UPN: "a@b.c", ExpiresAt: time.Now().Add(time.Hour)})
	vars["INVICTI_SCIM_GRAPH_TOKEN"] = tok
	if _, m, got, err := Validate(req, env); err != nil || m != graph.AuthToken || got != tok {
		t.Errorf("token: %s, %v", m, err)
	}
	var ue *UsageError
	if _, _, _, err := Validate(Request{Cloud: "global", Auth: "password"}, env); !errors.As(err, &ue) {
		t.Errorf("--auth password: %v, want a usage error", err)
	}
	// A damaged record is an error naming the file, not a silent browser prompt.
	if err := os.WriteFile(RecordStore{Dir: dir}.Path(), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(vars, "INVICTI_SCIM_GRAPH_TOKEN")
	delete(vars, "AZURE_CLIENT_ID")
	if _, _, _, err := Validate(req, env); err == nil || !strings.Contains(err.Error(), RecordFile) {
		t.Errorf("damaged record: %v", err)
	}
}

func TestStatusOfToken(t *testing.T) {
	ten := entratest.New(entratest.Options{})
	t.Cleanup(ten.Close)
	ten.SeedDemo()
	expired := entratest.Principal{UPN: entratest.DefaultAdminUPN, Scopes: entratest.DefaultScopes, ExpiresAt: time.Now().Add(-time.Hour)}
	old := entratest.MakeToken(ten.TenantID(), expired)
	ten.AddToken(old, expired)
	for _, tc := range []struct {
		name, token string
		signedIn    bool
	}{{"valid", ten.Token(), true}, {"expired", old, false}} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"INVICTI_SCIM_GRAPH_TOKEN": tc.token, "INVICTI_SCIM_GRAPH_URL": ten.URL}
			var secrets []string
			env := Env{Getenv: func(k string) string { return vars[k] }, ConfigDir: t.TempDir(), Secret: func(s string) { secrets = append(secrets, s) }}
			st, err := StatusOf(context.Background(), Request{Cloud: "global"}, env, &http.Client{Timeout: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if st.SignedIn != tc.signedIn || st.Method != graph.AuthToken {
				t.Fatalf("StatusOf = %+v", st)
			}
			if len(secrets) != 1 || secrets[0] != tc.token {
				t.Errorf("the token was not registered with the redactor")
			}
			if tc.signedIn && (st.TenantID != ten.TenantID() || st.TenantName == "" || st.Cache != CacheNone || st.Account != entratest.DefaultAdminUPN) {
				t.Errorf("StatusOf = %+v", st)
			}
			if !tc.signedIn && !strings.Contains(st.Reason, "expired") {
				t.Errorf("reason = %q, want it to say the token expired", st.Reason)
			}
		})
	}
}
