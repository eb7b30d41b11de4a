package cmd

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/signin"
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
	fs.StringVar(&fl.Auth, "auth", "", "Graph sign-in: browser, device-code, azure-cli, environment or token (default: token when INVICTI_SCIM_GRAPH_TOKEN is set, else environment when AZURE_* are set, else the session saved by auth login, else browser on a terminal)")
	fs.StringVar(&fl.Tenant, "tenant", "", "Entra tenant id or domain to sign in to")
	fs.StringVar(&fl.GraphClientID, "graph-client-id", "", "Public client id for browser and device-code sign-in (default: Microsoft Graph Command Line Tools, "+signin.DefaultPublicClientID+")")
	fs.StringVar(&fl.Cloud, "cloud", "global", "Microsoft cloud: global, usgov or china")
	fs.StringVar(&fl.GraphURL, "graph-url", "", "Graph root URL override, e.g. http://127.0.0.1:8080 (env INVICTI_SCIM_GRAPH_URL; /v1.0 is appended)")
	_ = cmd.RegisterFlagCompletionFunc("auth", fixedCompletion("browser", "device-code", "azure-cli", "environment", "token"))
	_ = cmd.RegisterFlagCompletionFunc("cloud", fixedCompletion("global", "usgov", "china"))
}

// graphConn is what a command needs to talk to Graph (signin.Conn: Client, Cloud, Mode, ...).
type graphConn struct{ *signin.Conn }

func (fl *graphFlags) request() signin.Request {
	return signin.Request{Auth: fl.Auth, Tenant: fl.Tenant, GraphClientID: fl.GraphClientID, Cloud: fl.Cloud, GraphURL: fl.GraphURL}
}

// signinEnv hands sign-in the process: environment, terminal, config dir, stderr and clocks.
func signinEnv(f *Factory) signin.Env {
	dir := ""
	if st, err := f.Store(); err == nil {
		dir = st.Dir
	}
	errP := ui.Err(f.IO)
	return signin.Env{
		Getenv: f.Getenv, Unsetenv: f.Unsetenv, CanPrompt: f.CanPrompt(), ConfigDir: dir,
		Prompt: f.IO.Redactor.Writer(f.IO.ErrOut),
		Warn:   func(title, detail string) { errP.Check(ui.SymWarn, title, detail) },
		Notice: func(s string) { errP.Println(s) },
		Secret: f.IO.Redactor.Add, Now: f.Now, SignInHTTP: f.HTTPClient(false, nil),
	}
}

// signinErr gives sign-in errors the command layer's exit codes (2 usage, 4 sign-in).
func signinErr(err error) error {
	var ue *signin.UsageError
	if errors.As(err, &ue) {
		return &FlagError{Err: ue.Err}
	}
	return err
}

// validate checks the flags without any I/O (usage errors come before network errors).
func (fl *graphFlags) validate(f *Factory) (signin.Cloud, signin.Mode, string, error) {
	c, m, tok, err := signin.Validate(fl.request(), signinEnv(f))
	return c, m, tok, signinErr(err)
}

// connect builds the Graph client (no I/O yet: the first call signs in).
func (fl *graphFlags) connect(f *Factory, cloud signin.Cloud, mode signin.Mode, token string, onWait func(*http.Request, int, time.Duration)) (*graphConn, error) {
	c, err := signin.Connect(fl.request(), signinEnv(f), cloud, mode, token, f.HTTPClient(true, onWait))
	if err != nil {
		return nil, signinErr(err)
	}
	return &graphConn{c}, nil
}

// tenantID reads the tenant from a ready token or the saved sign-in without any call.
func (c *graphConn) tenantID() string { return c.TenantID() }

// checkTenant refuses to reuse ids recorded for another tenant.
func checkTenant(conn *graphConn, st *state.State) error {
	return signin.CheckTenant(conn.Conn, st.Tenant)
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
