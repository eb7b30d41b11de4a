package cmd

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/graph"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

// graphFlags choose the cloud, the Graph endpoint and how to sign in. --client-id is always
// the Invicti client id; the Graph side uses --graph-client-id.
type graphFlags struct {
	Auth          string
	Tenant        string
	GraphClientID string
	Cloud         string
	GraphURL      string
}

func (fl *graphFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&fl.Auth, "auth", "", "Graph sign-in: browser, device-code, azure-cli, environment or token (default: token when INVICTI_SCIM_GRAPH_TOKEN is set, else environment when AZURE_* are set, else browser on a terminal)")
	fs.StringVar(&fl.Tenant, "tenant", "", "Entra tenant id or domain to sign in to")
	fs.StringVar(&fl.GraphClientID, "graph-client-id", "", "Public client id for browser and device-code sign-in (default: Microsoft Graph Command Line Tools, "+graph.DefaultPublicClientID+")")
	fs.StringVar(&fl.Cloud, "cloud", "global", "Microsoft cloud: global, usgov or china")
	fs.StringVar(&fl.GraphURL, "graph-url", "", "Graph root URL override, e.g. http://127.0.0.1:8080 (env INVICTI_SCIM_GRAPH_URL; /v1.0 is appended)")
	_ = cmd.RegisterFlagCompletionFunc("auth", fixedCompletion("browser", "device-code", "azure-cli", "environment", "token"))
	_ = cmd.RegisterFlagCompletionFunc("cloud", fixedCompletion("global", "usgov", "china"))
}

// graphConn is what a command needs to talk to Graph.
type graphConn struct {
	Client *graph.Client
	Cloud  graph.Cloud
	Mode   graph.AuthMode
	Token  string // only for --auth token, to read claims
	Opts   graph.AuthOptions
}

// validate checks the flags without any I/O (usage errors come before network errors).
func (fl *graphFlags) validate(f *Factory) (graph.Cloud, graph.AuthMode, string, error) {
	c, err := graph.CloudByName(fl.Cloud)
	if err != nil {
		return graph.Cloud{}, "", "", flagErrorf("--cloud: %v", err)
	}
	root := fl.GraphURL
	if root == "" {
		root = f.Getenv("INVICTI_SCIM_GRAPH_URL")
	}
	if root != "" {
		r, err := graph.ValidateRootURL(root)
		if err != nil {
			return graph.Cloud{}, "", "", flagErrorf("--graph-url: %v", err)
		}
		c.GraphURL = r
		if !graph.IsMicrosoftGraphHost(r) && !graph.IsLoopbackURL(r) {
			// validate runs once per command, so this warns once.
			ui.Err(f.IO).Check(ui.SymWarn, "warning: "+r+" is not a Microsoft Graph host", "your Graph sign-in token will be sent to it")
		}
	}
	if host := f.Getenv("AZURE_AUTHORITY_HOST"); host != "" {
		// azidentity's own variable for another authority host; it needs an explicit cloud
		// configuration here because the tool always passes one.
		h, err := graph.ValidateLoginURL(host)
		if err != nil {
			return graph.Cloud{}, "", "", flagErrorf("AZURE_AUTHORITY_HOST: %v", err)
		}
		c.LoginURL = h
		if c.CustomLogin() && !graph.IsLoopbackURL(h) {
			ui.Err(f.IO).Check(ui.SymWarn, "warning: AZURE_AUTHORITY_HOST "+h+" is not a Microsoft sign-in host", "your sign-in credentials will be sent to it")
		}
	}
	mode := graph.AuthMode(fl.Auth)
	if mode == "" {
		mode, err = fl.defaultMode(f)
		if err != nil {
			return c, "", "", err
		}
	} else {
		valid := false
		for _, m := range graph.AuthModes() {
			valid = valid || m == mode
		}
		if !valid {
			return c, "", "", flagErrorf("--auth %q: expected one of browser, device-code, azure-cli, environment, token", fl.Auth)
		}
	}
	token := ""
	if mode == graph.AuthToken {
		token = strings.TrimSpace(f.Getenv("INVICTI_SCIM_GRAPH_TOKEN"))
		if token == "" {
			return c, "", "", &AuthError{Msg: "--auth token: INVICTI_SCIM_GRAPH_TOKEN is empty", HintText: "export INVICTI_SCIM_GRAPH_TOKEN=$(az account get-access-token --resource-type ms-graph --query accessToken -o tsv)"}
		}
		f.IO.Redactor.Add(token)
		// Tokens from `az account get-access-token` last about an hour: say so before any call
		// instead of letting the first 401 read like a missing permission.
		if cl, err := graph.ParseClaims(token); err == nil {
			if err := cl.Lifetime(f.Now()); err != nil {
				return c, "", "", err
			}
		}
	}
	if (mode == graph.AuthBrowser || mode == graph.AuthDeviceCode) && !f.CanPrompt() && mode == graph.AuthBrowser {
		return c, "", "", &AuthError{Msg: "browser sign-in needs a terminal", HintText: "without a terminal use --auth token (INVICTI_SCIM_GRAPH_TOKEN), --auth environment (AZURE_CLIENT_ID, AZURE_TENANT_ID and a secret, certificate or federated token) or --auth azure-cli"}
	}
	return c, mode, token, nil
}

func (fl *graphFlags) defaultMode(f *Factory) (graph.AuthMode, error) {
	switch {
	case f.Getenv("INVICTI_SCIM_GRAPH_TOKEN") != "":
		return graph.AuthToken, nil
	case f.Getenv("AZURE_CLIENT_ID") != "" && f.Getenv("AZURE_TENANT_ID") != "" &&
		(f.Getenv("AZURE_CLIENT_SECRET") != "" || f.Getenv("AZURE_CLIENT_CERTIFICATE_PATH") != "" || f.Getenv("AZURE_FEDERATED_TOKEN_FILE") != ""):
		return graph.AuthEnvironment, nil
	case f.CanPrompt():
		return graph.AuthBrowser, nil
	}
	return "", &AuthError{
		Msg:      "no way to sign in to Microsoft Graph without a terminal",
		HintText: "set INVICTI_SCIM_GRAPH_TOKEN (a Graph access token, e.g. from `az account get-access-token --resource-type ms-graph`), or AZURE_CLIENT_ID + AZURE_TENANT_ID + AZURE_CLIENT_SECRET (or a certificate or federated token), or pass --auth azure-cli",
	}
}

// connect builds the Graph client (no I/O yet: the first call signs in).
func (fl *graphFlags) connect(f *Factory, cloud graph.Cloud, mode graph.AuthMode, token string, onWait func(*http.Request, int, time.Duration)) (*graphConn, error) {
	if mode == graph.AuthAzureCLI {
		// azidentity runs `az` with this process's environment; az needs none of these.
		for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD"} {
			f.unsetenv(k)
		}
	}
	hc := f.HTTPClient(true, onWait)
	opts := graph.AuthOptions{
		Mode: mode, Cloud: cloud, Tenant: fl.Tenant, PublicClientID: fl.GraphClientID, Token: token,
		Getenv: f.Getenv, Prompt: f.IO.Redactor.Writer(f.IO.ErrOut), HTTPClient: f.HTTPClient(false, nil),
	}
	cred, err := graph.NewCredential(opts)
	if err != nil {
		return nil, &AuthError{Msg: err.Error(), HintText: "see `invicti-scim setup --help` for the sign-in options"}
	}
	client, err := graph.New(graph.Options{RootURL: cloud.GraphURL, Credential: cred, Scopes: opts.Scopes(), HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	return &graphConn{Client: client, Cloud: cloud, Mode: mode, Token: token, Opts: opts}, nil
}

// tenantID reads the tenant from a ready token without any call ("" when unknown: other
// sign-in modes learn it only on the first call).
func (c *graphConn) tenantID() string {
	if c.Token == "" {
		return ""
	}
	cl, err := graph.ParseClaims(c.Token)
	if err != nil {
		return ""
	}
	return cl.TenantID
}

// checkTenant refuses to reuse ids recorded for another tenant.
func checkTenant(conn *graphConn, st *state.State) error {
	tid := conn.tenantID()
	if tid == "" || st.Tenant == "" || strings.EqualFold(tid, st.Tenant) {
		return nil
	}
	return &AuthError{
		Msg:      fmt.Sprintf("signed in to tenant %s, but the state in this config dir belongs to tenant %s", tid, st.Tenant),
		HintText: "sign in to the tenant setup used (--tenant), or keep one --config-dir (INVICTI_SCIM_CONFIG_DIR) per tenant",
	}
}

// throttleNotice tells the admin when Graph throttles us, instead of going quiet.
func throttleNotice(sp *ui.Spinner) func(*http.Request, int, time.Duration) {
	return func(req *http.Request, status int, wait time.Duration) {
		if sp == nil {
			return
		}
		switch {
		case status == 0:
			sp.Set("no answer from Graph within --request-timeout; asking again")
		case wait <= 0:
			sp.Set(fmt.Sprintf("Graph answered %d %s; asking again", status, http.StatusText(status)))
		default:
			sp.Set(fmt.Sprintf("Graph answered %d %s; waiting %s before asking again", status, http.StatusText(status), wait.Round(time.Second)))
		}
	}
}
