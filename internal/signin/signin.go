// Package signin is how invicti-scim signs in to Microsoft Graph: it turns the sign-in flags
// and environment into a credential, keeps a person's session between runs the way az and gh
// do (an azidentity.AuthenticationRecord in the config dir plus azidentity's persistent token
// cache in the OS secret store), and answers who is signed in (auth login, status, logout).
// It does no terminal I/O: notices and warnings go through callbacks cmd provides.
package signin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// Cloud is a Microsoft cloud (graph.Cloud), named here so the command layer needs no gateway
// import.
type Cloud = graph.Cloud

// Mode is a sign-in method (graph.AuthMode): browser, device-code, azure-cli, environment or
// token.
type Mode = graph.AuthMode

// DefaultPublicClientID is the public client browser and device-code sign-in use by default
// (Microsoft Graph Command Line Tools, see graph.DefaultPublicClientID).
const DefaultPublicClientID = graph.DefaultPublicClientID

// Request holds the sign-in flags of a command.
type Request struct {
	Auth          string // --auth; "" = choose (see Validate)
	Tenant        string // --tenant
	GraphClientID string // --graph-client-id
	Cloud         string // --cloud
	GraphURL      string // --graph-url
}

// Env is what sign-in needs from the process. Getenv is required; nil callbacks do nothing.
type Env struct {
	Getenv func(string) string
	// Unsetenv removes a variable from the environment child processes inherit (az).
	Unsetenv func(string) error
	// CanPrompt says a person is at a terminal (browser sign-in, re-sign-in allowed).
	CanPrompt bool
	// ConfigDir holds the sign-in record (RecordFile).
	ConfigDir string
	// Prompt receives the device-code message (stderr, through the redactor).
	Prompt io.Writer
	// Warn prints a one-line warning with a detail line (stderr).
	Warn func(title, detail string)
	// Notice prints a one-line notice (stderr), e.g. that no token cache is available.
	Notice func(string)
	// Secret registers a secret with the output redactor as soon as it is read.
	Secret func(string)
	// Now is the clock for token lifetimes.
	Now func() time.Time
	// SignInHTTP carries sign-in requests (no retry: a sign-in is not resent).
	SignInHTTP *http.Client
	// OpenCache opens the persistent token cache by name; nil = the OS secret store through
	// azidentity/cache (OpenOSCache).
	OpenCache func(name string) (azidentity.Cache, error)
}

func (e Env) warn(title, detail string) {
	if e.Warn != nil {
		e.Warn(title, detail)
	}
}

func (e Env) notice(s string) {
	if e.Notice != nil {
		e.Notice(s)
	}
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Error is a sign-in problem found before or instead of a Graph call; it exits 4.
type Error struct{ Msg, HintText string }

func (e *Error) Error() string { return e.Msg }

// Hint says how to sign in.
func (e *Error) Hint() string { return e.HintText }

// UsageError is a bad flag or variable value; it exits 2. Err names the flag and the value.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, a ...any) error { return &UsageError{Err: fmt.Errorf(format, a...)} }

// loginNoTerminalHint is how auth login signs in without a terminal.
const loginNoTerminalHint = "pass --auth device-code (a code to enter on any device), --auth azure-cli (reuse az login), or set INVICTI_SCIM_GRAPH_TOKEN or AZURE_* app credentials"

// loginHint is the fix for a session that needs a person again.
const loginHint = "run `invicti-scim auth login` (or pass --auth with another sign-in method)"

// Validate checks the sign-in flags and environment without any network I/O (usage errors
// before sign-in errors before the network) and chooses the method: --auth when given, else a
// token when INVICTI_SCIM_GRAPH_TOKEN is set, else environment when AZURE_CLIENT_ID,
// AZURE_TENANT_ID and a secret, certificate or federated token are set, else the method of the
// saved sign-in record (auth login), else browser on a terminal. It returns the cloud, the
// method and, for the token method, the token.
func Validate(req Request, env Env) (Cloud, Mode, string, error) {
	return validate(req, env, true)
}

// validate is Validate; useRecord=false ignores the saved record (auth login signs in afresh).
func validate(req Request, env Env, useRecord bool) (Cloud, Mode, string, error) {
	c, err := graph.CloudByName(req.Cloud)
	if err != nil {
		return Cloud{}, "", "", usagef("--cloud: %v", err)
	}
	root := req.GraphURL
	if root == "" {
		root = env.Getenv("INVICTI_SCIM_GRAPH_URL")
	}
	if root != "" {
		r, err := graph.ValidateRootURL(root)
		if err != nil {
			return Cloud{}, "", "", usagef("--graph-url: %v", err)
		}
		c.GraphURL = r
		if !graph.IsMicrosoftGraphHost(r) && !graph.IsLoopbackURL(r) {
			// Validate runs once per command, so this warns once.
			env.warn("warning: "+r+" is not a Microsoft Graph host", "your Graph sign-in token will be sent to it")
		}
	}
	if host := env.Getenv("AZURE_AUTHORITY_HOST"); host != "" {
		// azidentity's own variable for another authority host; it needs an explicit cloud
		// configuration here because the tool always passes one.
		h, err := graph.ValidateLoginURL(host)
		if err != nil {
			return Cloud{}, "", "", usagef("AZURE_AUTHORITY_HOST: %v", err)
		}
		c.LoginURL = h
		if c.CustomLogin() && !graph.IsLoopbackURL(h) {
			env.warn("warning: AZURE_AUTHORITY_HOST "+h+" is not a Microsoft sign-in host", "your sign-in credentials will be sent to it")
		}
	}
	mode := Mode(req.Auth)
	var rec *Record
	if mode == "" {
		mode, rec, err = defaultMode(req, env, c, useRecord)
		if err != nil {
			return c, "", "", err
		}
	} else if !validMode(mode) {
		return c, "", "", usagef("--auth %q: expected one of browser, device-code, azure-cli, environment, token", req.Auth)
	}
	token := ""
	if mode == graph.AuthToken {
		token = strings.TrimSpace(env.Getenv("INVICTI_SCIM_GRAPH_TOKEN"))
		if token == "" {
			return c, "", "", &Error{Msg: "--auth token: INVICTI_SCIM_GRAPH_TOKEN is empty", HintText: "export INVICTI_SCIM_GRAPH_TOKEN=$(az account get-access-token --resource-type ms-graph --query accessToken -o tsv)"}
		}
		if env.Secret != nil {
			env.Secret(token)
		}
		// Tokens from `az account get-access-token` last about an hour: say so before any call
		// instead of letting the first 401 read like a missing permission.
		if cl, err := graph.ParseClaims(token); err == nil {
			if err := cl.Lifetime(env.now()); err != nil {
				return c, "", "", err
			}
		}
	}
	if mode == graph.AuthBrowser && !env.CanPrompt && rec == nil {
		if !useRecord {
			return c, "", "", &Error{Msg: "browser sign-in needs a terminal", HintText: loginNoTerminalHint}
		}
		if r, _ := usableRecord(req, env, c, mode); r == nil {
			return c, "", "", &Error{Msg: "browser sign-in needs a terminal", HintText: "without a terminal use --auth token (INVICTI_SCIM_GRAPH_TOKEN), --auth environment (AZURE_CLIENT_ID, AZURE_TENANT_ID and a secret, certificate or federated token), --auth azure-cli, or sign in once on a terminal with `invicti-scim auth login`"}
		}
	}
	return c, mode, token, nil
}

func validMode(m Mode) bool {
	for _, v := range graph.AuthModes() {
		if v == m {
			return true
		}
	}
	return false
}

// envMode is the method the environment asks for ("" = none).
func envMode(getenv func(string) string) Mode {
	switch {
	case getenv("INVICTI_SCIM_GRAPH_TOKEN") != "":
		return graph.AuthToken
	case getenv("AZURE_CLIENT_ID") != "" && getenv("AZURE_TENANT_ID") != "" &&
		(getenv("AZURE_CLIENT_SECRET") != "" || getenv("AZURE_CLIENT_CERTIFICATE_PATH") != "" || getenv("AZURE_FEDERATED_TOKEN_FILE") != ""):
		return graph.AuthEnvironment
	}
	return ""
}

func defaultMode(req Request, env Env, c Cloud, useRecord bool) (Mode, *Record, error) {
	if m := envMode(env.Getenv); m != "" {
		return m, nil, nil
	}
	if useRecord {
		rec, err := usableRecord(req, env, c, "")
		if err != nil {
			return "", nil, err
		}
		if rec != nil {
			return rec.Method, rec, nil
		}
	}
	if env.CanPrompt {
		return graph.AuthBrowser, nil, nil
	}
	if !useRecord {
		return "", nil, &Error{Msg: "no way to sign in to Microsoft Graph without a terminal", HintText: loginNoTerminalHint}
	}
	return "", nil, &Error{
		Msg:      "no way to sign in to Microsoft Graph without a terminal",
		HintText: "set INVICTI_SCIM_GRAPH_TOKEN (a Graph access token, e.g. from `az account get-access-token --resource-type ms-graph`), or AZURE_CLIENT_ID + AZURE_TENANT_ID + AZURE_CLIENT_SECRET (or a certificate or federated token), or pass --auth azure-cli, or sign in once on a terminal with `invicti-scim auth login`",
	}
}

// usableRecord loads the saved record when it fits this run: same cloud, sign-in host, Graph
// root, public client and (when --tenant is given) tenant, and, when mode is given, a method
// that can reuse it. A damaged record is an error (its message names the file and the fix).
func usableRecord(req Request, env Env, c Cloud, mode Mode) (*Record, error) {
	if env.ConfigDir == "" {
		return nil, nil
	}
	rec, err := (RecordStore{Dir: env.ConfigDir}).Load()
	if err != nil || rec == nil {
		return nil, err
	}
	if !rec.fits(req, c) {
		return nil, nil
	}
	if mode != "" && mode != rec.Method && !(rec.Person() && (mode == graph.AuthBrowser || mode == graph.AuthDeviceCode)) {
		return nil, nil
	}
	return rec, nil
}

// Conn is what a command needs to talk to Graph.
type Conn struct {
	Client *graph.Client
	Cloud  Cloud
	Mode   Mode
	Token  string // only for the token method, to read claims
	Opts   graph.AuthOptions
	// Cache says where this run's tokens are kept: CachePersistent, CacheMemory or CacheNone.
	Cache CacheKind
	// Saved is the record this run signs in from silently (nil = none).
	Saved *Record
	// SavedTo is the record file this run's fresh sign-in was saved to ("" = not saved).
	SavedTo string

	cred azcore.TokenCredential
}

// Connect builds the Graph client (no I/O yet: the first call signs in). A browser or
// device-code sign-in reuses the saved record and token cache when they fit, and a first
// sign-in that lands in the persistent cache saves a record, so the next run signs in
// silently. graphHTTP carries Graph calls (with retries).
func Connect(req Request, env Env, cloud Cloud, mode Mode, token string, graphHTTP *http.Client) (*Conn, error) {
	return connect(req, env, cloud, mode, token, graphHTTP, connectFor{})
}

// connectFor tunes connect for auth login and status.
type connectFor struct {
	fresh    bool // auth login: ignore the saved record, sign in afresh, always say where tokens go
	noPrompt bool // auth status: never ask a person
}

func connect(req Request, env Env, cloud Cloud, mode Mode, token string, graphHTTP *http.Client, cf connectFor) (*Conn, error) {
	if mode == graph.AuthAzureCLI && env.Unsetenv != nil {
		// azidentity runs `az` with this process's environment; az needs none of these.
		for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD"} {
			_ = env.Unsetenv(k)
		}
	}
	opts := graph.AuthOptions{
		Mode: mode, Cloud: cloud, Tenant: req.Tenant, PublicClientID: req.GraphClientID, Token: token,
		Getenv: env.Getenv, Prompt: env.Prompt, HTTPClient: env.SignInHTTP,
	}
	conn := &Conn{Cloud: cloud, Mode: mode, Token: token, Cache: CacheNone}
	if person(mode) {
		var rec *Record
		if !cf.fresh {
			r, err := usableRecord(req, env, cloud, mode)
			if err != nil {
				return nil, err
			}
			rec = r
		}
		explicit := req.Auth != ""
		if rec != nil && rec.Auth.HomeAccountID != "" {
			opts.Record = rec.Auth
			// Without a person at the terminal a lost session fails with the fix instead of
			// waiting for a browser or a device code nobody will enter.
			opts.NoPrompt = cf.noPrompt || (!env.CanPrompt && !explicit)
			conn.Saved = rec
		} else {
			rec = nil
		}
		cache, kind := openCache(env, cacheName(env.ConfigDir), rec == nil)
		opts.Cache, conn.Cache = cache, kind
	}
	cred, err := graph.NewCredential(opts)
	if err != nil {
		return nil, &Error{Msg: err.Error(), HintText: "see `invicti-scim setup --help` for the sign-in options"}
	}
	if person(mode) {
		cred = &sessionCred{inner: cred, conn: conn, env: env, mode: mode, fresh: conn.Saved == nil}
	}
	client, err := graph.New(graph.Options{RootURL: cloud.GraphURL, Credential: cred, Scopes: opts.Scopes(), HTTPClient: graphHTTP})
	if err != nil {
		return nil, err
	}
	conn.Client, conn.Opts, conn.cred = client, opts, cred
	return conn, nil
}

func person(m Mode) bool { return m == graph.AuthBrowser || m == graph.AuthDeviceCode }

// TenantID reads the tenant from a ready token or the saved record without any call ("" when
// unknown: other sign-in methods learn it only on the first call).
func (c *Conn) TenantID() string {
	if c.Token != "" {
		if cl, err := graph.ParseClaims(c.Token); err == nil {
			return cl.TenantID
		}
		return ""
	}
	if c.Saved != nil {
		return c.Saved.Auth.TenantID
	}
	return ""
}

// CheckTenant refuses to reuse ids recorded for another tenant (stateTenant, "" = none yet).
func CheckTenant(c *Conn, stateTenant string) error {
	tid := c.TenantID()
	if tid == "" || stateTenant == "" || strings.EqualFold(tid, stateTenant) {
		return nil
	}
	return &Error{
		Msg:      fmt.Sprintf("signed in to tenant %s, but the state in this config dir belongs to tenant %s", tid, stateTenant),
		HintText: "sign in to the tenant setup used (--tenant), or keep one --config-dir (INVICTI_SCIM_CONFIG_DIR) per tenant",
	}
}

// sessionCred wraps a browser or device-code credential. A fresh sign-in goes through
// Authenticate, which hands back the account record, and the record is saved when the tokens
// landed in the persistent cache; later token requests are served silently from the cache.
// A saved session that no longer serves silently becomes an *Error with the fix.
type sessionCred struct {
	inner azcore.TokenCredential
	conn  *Conn
	env   Env
	mode  Mode

	mu    sync.Mutex
	fresh bool // no record yet: the first request signs in through Authenticate
}

func (s *sessionCred) GetToken(ctx context.Context, tro policy.TokenRequestOptions) (azcore.AccessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fresh {
		rec, err := graph.Authenticate(ctx, s.inner, tro.Scopes)
		if err != nil {
			return azcore.AccessToken{}, err
		}
		s.fresh = false
		tok, err := s.inner.GetToken(ctx, tro)
		if err != nil {
			return tok, err
		}
		r := newRecord(s.mode, s.conn, rec, tok.ExpiresOn)
		s.conn.Saved = r
		if s.conn.Cache == CachePersistent && s.env.ConfigDir != "" {
			// Sign in once: the next command reuses this session. A failed save costs only
			// a second sign-in later, so it is a notice, not an error.
			store := RecordStore{Dir: s.env.ConfigDir}
			if err := store.Save(r); err != nil {
				s.env.notice("could not keep the sign-in for later runs: " + err.Error())
			} else {
				s.conn.SavedTo = store.Path()
			}
		}
		return tok, nil
	}
	tok, err := s.inner.GetToken(ctx, tro)
	if err != nil && graph.NeedsInteraction(err) {
		who := "the saved sign-in"
		if r := s.conn.Saved; r != nil && r.Auth.Username != "" {
			who = "the saved sign-in of " + r.Auth.Username
		}
		hint := loginHint
		if s.conn.Cache != CachePersistent {
			hint = "this machine keeps no token cache (" + cacheNoneReason + "), so each run signs in again: on a terminal run the command there, in scripts use --auth token, environment or azure-cli"
		}
		return tok, &Error{Msg: who + " needs a person to sign in again (no cached token serves it)", HintText: hint}
	}
	return tok, err
}
