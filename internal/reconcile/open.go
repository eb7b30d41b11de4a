package reconcile

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/manifest"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

func (d *Deps) checker() *invicti.Checker {
	return &invicti.Checker{HTTP: d.HTTPClient(false, nil), Now: d.Now}
}

func (d *Deps) addSecret(s string) {
	if d.AddSecret != nil && s != "" {
		d.AddSecret(s)
	}
}

// TenantDir is where tenant t keeps its state: the config dir for a single-tenant manifest,
// else its configDir (relative to the config dir unless absolute).
func (d *Deps) TenantDir(t manifest.Tenant) string {
	if t.ConfigDir == "" {
		return d.ConfigDir
	}
	if filepath.IsAbs(t.ConfigDir) {
		return t.ConfigDir
	}
	return filepath.Join(d.ConfigDir, t.ConfigDir)
}

// open resolves tenant t's references and builds its Graph client (no network yet).
func (d *Deps) open(ctx context.Context, m *manifest.Manifest, t manifest.Tenant, lock bool) (*session, error) {
	s := &session{store: state.Store{Dir: d.TenantDir(t), Now: d.Now}}
	in := t.Invicti
	rawURL := in.URL.Literal
	if in.URL.Env != "" {
		rawURL = d.Getenv(in.URL.Env)
		if rawURL == "" {
			return nil, &InputError{Problems: []string{fmt.Sprintf("%s:%d: %s: environment variable %s is empty or not set", m.Path, in.URL.Line, in.URL.Field, in.URL.Env)}}
		}
	}
	ep, err := invicti.ResolveEndpoints(in.Region, rawURL)
	if err != nil {
		return nil, err
	}
	secret, err := d.resolveRef(m, in.ClientSecret, "client secret")
	if err != nil {
		return nil, err
	}
	secret = invicti.TrimSecret(secret)
	if err := invicti.ValidateSecret(in.ClientSecret.Field+" ("+in.ClientSecret.String()+")", secret); err != nil {
		return nil, err
	}
	d.addSecret(secret)
	if d.AddBasic != nil {
		d.AddBasic(in.ClientID, secret)
	}
	s.ep, s.cred = ep, invicti.Credentials{ClientID: in.ClientID, ClientSecret: secret}

	if err := d.connect(m, t, s); err != nil {
		return nil, err
	}
	if lock {
		l, err := s.store.Lock(ctx, d.WaitLock)
		if err != nil {
			return nil, err
		}
		s.lock = l
	}
	st, err := s.store.Load()
	if err != nil {
		s.unlock()
		return nil, err
	}
	if s.tid != "" && st.Tenant != "" && !strings.EqualFold(s.tid, st.Tenant) {
		s.unlock()
		return nil, &graph.SignInError{Err: fmt.Errorf("signed in to tenant %s, but the state in %s belongs to tenant %s; give each tenant its own configDir", s.tid, s.store.Dir, st.Tenant)}
	}
	return s, nil
}

func (s *session) unlock() {
	if s.lock != nil {
		_ = s.lock.Unlock()
		s.lock = nil
	}
}

// resolveRef reads a referenced secret: an environment variable, a file (relative to the
// manifest) or standard input (read once, shared by every reference to it).
func (d *Deps) resolveRef(m *manifest.Manifest, r manifest.Ref, what string) (string, error) {
	where := fmt.Sprintf("%s:%d: %s", m.Path, r.Line, r.Field)
	switch {
	case r.Env != "":
		v := d.Getenv(r.Env)
		if strings.TrimSpace(v) == "" {
			return "", &InputError{Problems: []string{fmt.Sprintf("%s: environment variable %s (the %s) is empty or not set; export it before running", where, r.Env, what)}}
		}
		return v, nil
	case r.File != "":
		path := r.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(m.Dir(), path)
		}
		data, err := state.ReadFileLimited(path, maxRefBytes)
		if err != nil {
			return "", &InputError{Problems: []string{fmt.Sprintf("%s: file %s: %v", where, r.File, err)}}
		}
		text, err := invicti.DecodeText(r.Field+" file "+r.File, data)
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(text) == "" {
			return "", &InputError{Problems: []string{fmt.Sprintf("%s: file %s is empty", where, r.File)}}
		}
		return text, nil
	case r.Stdin:
		data, err := d.stdin()
		if err != nil {
			return "", &InputError{Problems: []string{fmt.Sprintf("%s: read standard input: %v", where, err)}}
		}
		if len(data) > maxRefBytes {
			return "", &InputError{Problems: []string{fmt.Sprintf("%s: standard input is larger than %d KiB", where, maxRefBytes>>10)}}
		}
		text, err := invicti.DecodeText(r.Field+" (stdin)", data)
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(text) == "" {
			return "", &InputError{Problems: []string{fmt.Sprintf("%s: standard input was empty; pipe the %s in", where, what)}}
		}
		return text, nil
	}
	return "", &InputError{Problems: []string{where + ": no reference"}}
}

// connect builds tenant t's Graph client. A single-tenant manifest falls back to the
// command's environment (INVICTI_SCIM_GRAPH_URL, INVICTI_SCIM_GRAPH_TOKEN, AZURE_*); a
// tenants: list does not, so one tenant's sign-in is never used for another.
func (d *Deps) connect(m *manifest.Manifest, t manifest.Tenant, s *session) error {
	g := t.Graph
	field := "graph"
	if m.Multi {
		field = "tenants[" + t.Name + "].graph"
	}
	cloud, err := graph.CloudByName(defaultStr(g.Cloud, "global"))
	if err != nil {
		return &InputError{Problems: []string{fmt.Sprintf("%s: %s.cloud: %v", m.Path, field, err)}}
	}
	root := g.URL.Literal
	if g.URL.Env != "" {
		root = d.Getenv(g.URL.Env)
		if root == "" {
			return &InputError{Problems: []string{fmt.Sprintf("%s:%d: %s: environment variable %s is empty or not set", m.Path, g.URL.Line, g.URL.Field, g.URL.Env)}}
		}
	}
	if root == "" && !m.Multi {
		root = d.Getenv("INVICTI_SCIM_GRAPH_URL")
	}
	if root != "" {
		r, err := graph.ValidateRootURL(root)
		if err != nil {
			return &InputError{Problems: []string{fmt.Sprintf("%s: %s.url: %v", m.Path, field, err)}}
		}
		cloud.GraphURL = r
		if !graph.IsMicrosoftGraphHost(r) && !graph.IsLoopbackURL(r) && d.Warn != nil {
			d.Warn(t.Name, r+" is not a Microsoft Graph host: your Graph sign-in token will be sent to it")
		}
	}
	mode := graph.AuthMode(g.Auth)
	token := ""
	switch {
	case g.Token != nil:
		mode = graph.AuthToken
		token, err = d.resolveRef(m, *g.Token, "Graph access token")
		if err != nil {
			return err
		}
	case mode == graph.AuthToken || (mode == "" && !m.Multi && d.Getenv("INVICTI_SCIM_GRAPH_TOKEN") != ""):
		mode = graph.AuthToken
		token = d.Getenv("INVICTI_SCIM_GRAPH_TOKEN")
	case mode == "" && d.Getenv("AZURE_CLIENT_ID") != "" && d.Getenv("AZURE_TENANT_ID") != "":
		mode = graph.AuthEnvironment
	case mode == "":
		return &graph.SignInError{Err: fmt.Errorf("%s: no sign-in for %s: give %s.token {env: NAME} (a Graph access token), %s.auth (environment, azure-cli, browser, device-code), or set INVICTI_SCIM_GRAPH_TOKEN", m.Path, tenantLabel(t), field, field)}
	}
	token = strings.TrimSpace(token)
	if mode == graph.AuthToken {
		if token == "" {
			return &graph.SignInError{Err: fmt.Errorf("%s: the Graph token for %s is empty", m.Path, tenantLabel(t))}
		}
		d.addSecret(token)
		if cl, err := graph.ParseClaims(token); err == nil {
			if err := cl.Lifetime(d.now()); err != nil {
				return err
			}
			s.tid = cl.TenantID
		}
	}
	opts := graph.AuthOptions{Mode: mode, Cloud: cloud, Tenant: g.Tenant, Token: token, Getenv: d.Getenv, Prompt: d.Prompt, HTTPClient: d.HTTPClient(false, nil)}
	cred, err := graph.NewCredential(opts)
	if err != nil {
		return &graph.SignInError{Err: err}
	}
	var onWait func(*http.Request, int, time.Duration)
	if d.OnThrottle != nil {
		onWait = func(_ *http.Request, status int, wait time.Duration) { d.OnThrottle(t.Name, status, wait) }
	}
	client, err := graph.New(graph.Options{RootURL: cloud.GraphURL, Credential: cred, Scopes: opts.Scopes(), HTTPClient: d.HTTPClient(true, onWait)})
	if err != nil {
		return err
	}
	s.client, s.cloud = client, cloud
	return nil
}

func tenantLabel(t manifest.Tenant) string {
	if t.Name == "" {
		return "the tenant"
	}
	return "tenant " + t.Name
}

func defaultStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
