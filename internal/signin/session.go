package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

// Status is who is signed in to Microsoft Graph and how (auth status, auth login).
type Status struct {
	SignedIn   bool
	TenantID   string
	TenantName string // "" when GET /organization is not readable
	Account    string // UPN; for app-only sign-ins the app's name or id
	Method     Mode
	ExpiresOn  time.Time // the current access token's expiry (UTC)
	Cache      CacheKind
	// Reason says why SignedIn is false, Hint what to do about it.
	Reason, Hint string
	// RecordPath is the sign-in record the session comes from or was saved to ("" = none).
	RecordPath string
	// Source names where the credentials come from (an environment variable, az, the record).
	Source string
}

// Identity is the tenant and account of a connection: it gets a token (signing in if needed)
// and reads the tenant's name (best effort: "" when /organization is not readable). The
// wizard prints it right after sign-in.
func Identity(ctx context.Context, c *Conn) (*Status, error) {
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: c.Opts.Scopes()})
	if err != nil {
		return nil, &graph.SignInError{Err: err}
	}
	st := &Status{SignedIn: true, Method: c.Mode, ExpiresOn: tok.ExpiresOn.UTC(), Cache: CacheNone}
	if person(c.Mode) {
		st.Cache = c.Cache
	}
	cl, _ := graph.ParseClaims(tok.Token)
	st.TenantID, st.Account = cl.TenantID, cl.UPN
	if r := c.Saved; r != nil {
		if st.TenantID == "" {
			st.TenantID = r.Auth.TenantID
		}
		if st.Account == "" {
			st.Account = r.Auth.Username
		}
	}
	if st.Account == "" {
		st.Account = cl.AppName
	}
	if st.Account == "" && cl.AppID != "" {
		st.Account = "app " + cl.AppID
	}
	if org, err := c.Client.Organization(ctx); err == nil {
		st.TenantName = org.DisplayName
		if st.TenantID == "" {
			st.TenantID = org.ID
		}
	}
	return st, nil
}

// Line is the one line the wizard and auth login print after sign-in:
// "Signed in to Contoso (tenant 0000…) as admin@contoso.example".
func (s *Status) Line() string {
	tenant := "tenant " + s.TenantID
	if s.TenantName != "" {
		tenant = s.TenantName + " (tenant " + s.TenantID + ")"
	}
	return "Signed in to " + tenant + " as " + s.Account
}

// Login signs in afresh with the method the flags and environment choose (auth login) and
// keeps the session for later runs: a browser or device-code sign-in saves the record when its
// tokens landed in the persistent cache, an Azure CLI sign-in saves which method to use. A
// token or app credentials from the environment are never written anywhere.
func Login(ctx context.Context, req Request, env Env, graphHTTP *http.Client) (*Status, error) {
	cloud, mode, token, err := validate(req, env, false)
	if err != nil {
		return nil, err
	}
	conn, err := connect(req, env, cloud, mode, token, graphHTTP, connectFor{fresh: true})
	if err != nil {
		return nil, err
	}
	st, err := Identity(ctx, conn)
	if err != nil {
		return nil, err
	}
	store := RecordStore{Dir: env.ConfigDir}
	switch {
	case person(mode) && conn.SavedTo != "":
		// sessionCred saved the record on the sign-in.
		st.RecordPath = conn.SavedTo
		st.Source = "the sign-in record and the OS-protected token cache"
	case person(mode) && conn.Cache == CachePersistent:
		st.Source = "this run only (the sign-in record could not be saved)"
	case person(mode):
		st.Source = "this run only (nothing kept: " + cacheNoneReason + " or " + TokenCacheEnv + "=none)"
	case mode == graph.AuthAzureCLI && env.ConfigDir != "":
		r := &Record{Version: recordVersion, Method: mode, Cloud: cloud.Name, LoginURL: cloud.LoginURL, GraphURL: cloud.GraphURL,
			Tenant: req.Tenant, TenantID: st.TenantID, Account: st.Account, Cache: CacheNone, ExpiresOn: st.ExpiresOn, SavedAt: env.now().UTC()}
		if err := store.Save(r); err != nil {
			return nil, err
		}
		st.RecordPath = store.Path()
		st.Source = "az (Azure CLI keeps the session; the record says to use it)"
	case mode == graph.AuthToken:
		st.Source = "INVICTI_SCIM_GRAPH_TOKEN (nothing saved)"
	default:
		st.Source = "AZURE_* app credentials in the environment (nothing saved)"
	}
	return st, nil
}

// StatusOf reports the session the next command would use, without asking anyone: the
// method --auth names, else a token or app credentials in the environment, else the saved
// record. Not being signed in is a Status with SignedIn false, not an error; a damaged record
// or a bad flag is an error.
func StatusOf(ctx context.Context, req Request, env Env, graphHTTP *http.Client) (*Status, error) {
	env.CanPrompt = false
	cloud, err := cloudOf(req, env)
	if err != nil {
		return nil, err
	}
	rec, err := usableRecord(req, env, cloud, "")
	if err != nil {
		return nil, err
	}
	mode := Mode(req.Auth)
	switch {
	case mode != "":
		if !validMode(mode) {
			return nil, usagef("--auth %q: expected one of browser, device-code, azure-cli, environment, token", req.Auth)
		}
	case envMode(env.Getenv) != "":
		mode = envMode(env.Getenv)
	case rec != nil:
		mode = rec.Method
	default:
		return &Status{Reason: "no sign-in record in " + env.ConfigDir + ", and no INVICTI_SCIM_GRAPH_TOKEN or AZURE_* app credentials in the environment", Hint: "run `invicti-scim auth login`"}, nil
	}
	st := &Status{Method: mode}
	token := ""
	switch mode {
	case graph.AuthToken:
		token = env.Getenv("INVICTI_SCIM_GRAPH_TOKEN")
		if token == "" {
			st.Reason, st.Hint = "--auth token: INVICTI_SCIM_GRAPH_TOKEN is empty", "export INVICTI_SCIM_GRAPH_TOKEN, or run `invicti-scim auth login`"
			return st, nil
		}
		if env.Secret != nil {
			env.Secret(token)
		}
		if cl, err := graph.ParseClaims(token); err == nil {
			if err := cl.Lifetime(env.now()); err != nil {
				st.Reason, st.Hint = "INVICTI_SCIM_GRAPH_TOKEN: "+err.Error(), "get a fresh token, or unset it and run `invicti-scim auth login`"
				return st, nil
			}
		}
		st.Source = "INVICTI_SCIM_GRAPH_TOKEN"
	case graph.AuthBrowser, graph.AuthDeviceCode:
		if r, _ := usableRecord(req, env, cloud, mode); r == nil {
			st.Reason, st.Hint = "no saved "+string(mode)+" sign-in for this cloud and client in "+env.ConfigDir, "run `invicti-scim auth login`"
			return st, nil
		}
		st.Source = "the sign-in record " + RecordStore{Dir: env.ConfigDir}.Path()
	case graph.AuthAzureCLI:
		st.Source = "az (Azure CLI)"
	case graph.AuthEnvironment:
		st.Source = "AZURE_* app credentials in the environment"
	}
	conn, err := connect(req, env, cloud, mode, token, graphHTTP, connectFor{noPrompt: true})
	if err != nil {
		return nil, err
	}
	if person(mode) && conn.Saved == nil {
		st.Reason, st.Hint = "no saved "+string(mode)+" sign-in", "run `invicti-scim auth login`"
		return st, nil
	}
	got, err := Identity(ctx, conn)
	if err != nil {
		var e *Error
		st.Reason = err.Error()
		switch {
		case errors.As(err, &e):
			st.Reason, st.Hint = e.Msg, e.HintText
		case graph.NeedsInteraction(err):
			st.Hint = loginHint
		default:
			st.Hint = "run `invicti-scim auth login`, or see `invicti-scim auth login --help` for the sign-in methods"
		}
		return st, nil
	}
	got.Source = st.Source
	if person(mode) {
		got.RecordPath = RecordStore{Dir: env.ConfigDir}.Path()
	}
	return got, nil
}

// cloudOf is the cloud and hosts the flags and environment name (Validate without choosing a
// method).
func cloudOf(req Request, env Env) (Cloud, error) {
	r := req
	r.Auth = string(graph.AuthAzureCLI) // any method that needs no further input
	c, _, _, err := validate(r, env, false)
	return c, err
}

// LogoutResult is what auth logout removed and what it could not.
type LogoutResult struct {
	// Removed lists the files deleted: the record and the token cache's files.
	Removed []string
	// Keys lists the token cache's encryption keys removed from the kernel keyring (Linux).
	Keys []string
	// Account and TenantID are the signed-out session's ("" when there was no record).
	Account, TenantID string
	// Kept names sign-ins logout cannot end: variables in the environment, az's own session.
	Kept []string
}

// Logout deletes the sign-in record and this config dir's token cache files. It is
// idempotent: with nothing to remove it removes nothing and succeeds. A damaged record is
// removed too (that is the documented fix for one).
func Logout(env Env) (*LogoutResult, error) {
	store := RecordStore{Dir: env.ConfigDir}
	res := &LogoutResult{}
	rec, loadErr := store.Load()
	if rec != nil {
		res.Account, res.TenantID = rec.Account, rec.TenantID
	}
	if env.ConfigDir != "" {
		removed, err := store.Delete()
		if err != nil {
			return nil, err
		}
		if removed {
			res.Removed = append(res.Removed, store.Path())
		}
		for _, p := range cacheFiles(cacheName(env.ConfigDir), env.Getenv) {
			err := os.Remove(p)
			switch {
			case err == nil:
				res.Removed = append(res.Removed, p)
			case !errors.Is(err, os.ErrNotExist):
				return res, fmt.Errorf("remove the token cache file: %w", err)
			}
		}
		res.Keys = removeCacheKeys(cacheName(env.ConfigDir))
	}
	_ = loadErr // a damaged record is removed above; there is nothing more to say about it
	if env.Getenv("INVICTI_SCIM_GRAPH_TOKEN") != "" {
		res.Kept = append(res.Kept, "INVICTI_SCIM_GRAPH_TOKEN is still set in this environment (unset it)")
	}
	if envMode(env.Getenv) == graph.AuthEnvironment {
		res.Kept = append(res.Kept, "AZURE_CLIENT_ID and its credentials are still set in this environment")
	}
	if rec != nil && rec.Method == graph.AuthAzureCLI {
		res.Kept = append(res.Kept, "az keeps its own session (run `az logout` to end it)")
	}
	return res, nil
}
