package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/sandbox"
	"github.com/invicti-scim/invicti-scim/internal/signin"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

// authExitCodes is what the auth commands' help says about exit codes.
const authExitCodes = `Exit codes: 0 ok (auth status: also when not signed in; read "signedIn"; auth logout:
also when there was nothing to remove), 1 failed (a file could not be removed),
2 usage, 4 sign-in failed or the sign-in record is damaged, 130 cancelled.`

func newAuthCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Sign in to Microsoft Graph once, see who is signed in, sign out",
		Long: `Sign in to Microsoft Graph once and let later commands reuse the session, as az and gh do.

  login   sign in with --auth browser (default on a terminal), device-code, azure-cli,
          environment or token, and keep the session for later runs
  status  who is signed in: tenant, account, method, token expiry, where tokens are kept
  logout  delete the saved session

A browser or device-code sign-in keeps an account record (no token, no secret) in the config
dir as signin.json (mode 0600) and its tokens in azidentity's persistent token cache, encrypted
by the OS secret store (Linux kernel keyring, macOS keychain, Windows DPAPI). Where there is no
secret store the sign-in is kept for that run only, with a one-line notice. See docs/auth.md.

` + authExitCodes,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAuthLoginCmd(f), newAuthStatusCmd(f), newAuthLogoutCmd(f))
	return cmd
}

// authStatusJSON is the stable document of auth status and auth login -o json when signed in:
// every key is always present ("" when unknown, e.g. tenantName when /organization is not
// readable).
type authStatusJSON struct {
	OK         bool   `json:"ok"`
	SignedIn   bool   `json:"signedIn"`
	TenantID   string `json:"tenantId"`
	TenantName string `json:"tenantName"`
	Account    string `json:"account"`
	Method     string `json:"method"`
	ExpiresOn  string `json:"expiresOn"` // RFC 3339, UTC
	Cache      string `json:"cache"`     // persistent, memory or none
}

// notSignedInJSON is the whole document when nobody is signed in.
type notSignedInJSON struct {
	OK       bool `json:"ok"`
	SignedIn bool `json:"signedIn"`
}

func statusDoc(st *signin.Status) any {
	if !st.SignedIn {
		return notSignedInJSON{OK: true}
	}
	d := authStatusJSON{OK: true, SignedIn: true, TenantID: st.TenantID, TenantName: st.TenantName, Account: st.Account,
		Method: string(st.Method), Cache: string(st.Cache)}
	if !st.ExpiresOn.IsZero() {
		d.ExpiresOn = st.ExpiresOn.UTC().Format(time.RFC3339)
	}
	return d
}

// printSession prints a session as key/value rows (stdout: it is the command's data).
func printSession(f *Factory, st *signin.Status) {
	p := ui.Out(f.IO)
	if !st.SignedIn {
		p.Println("Not signed in to Microsoft Graph: " + st.Reason)
		if st.Hint != "" {
			p.Println("To sign in: " + st.Hint)
		}
		return
	}
	tenant := st.TenantID
	if st.TenantName != "" {
		tenant = st.TenantName + " (" + st.TenantID + ")"
	}
	expiry := ""
	if !st.ExpiresOn.IsZero() {
		expiry = st.ExpiresOn.UTC().Format(time.RFC3339)
		if left := st.ExpiresOn.Sub(f.Now()); left > 0 {
			expiry += " (in " + spanText(left) + ")"
		} else {
			expiry += " (expired)"
		}
	}
	rows := [][2]string{{"Tenant", tenant}, {"Account", st.Account}, {"Method", string(st.Method)}, {"Token expires", expiry}, {"Token cache", cacheText(st.Cache)}}
	if st.Source != "" {
		rows = append(rows, [2]string{"From", st.Source})
	}
	p.Println("Signed in to Microsoft Graph")
	p.KV(rows)
}

// spanText reads a time left as minutes, hours or days (a sandbox token lasts decades).
func spanText(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

func cacheText(k signin.CacheKind) string {
	switch k {
	case signin.CachePersistent:
		return "persistent (OS secret store): later commands sign in silently"
	case signin.CacheMemory:
		return "memory (this run only): the next command signs in again"
	}
	return "none (nothing kept by invicti-scim)"
}

type authLoginOptions struct {
	graph graphFlags
	// DeviceCode and AzureCLI are shorthands for --auth device-code and --auth azure-cli, in
	// the words az uses (az login --use-device-code).
	DeviceCode, AzureCLI bool
}

// method folds the shorthands into --auth; two different choices are a usage error.
func (o *authLoginOptions) method() error {
	from := "--auth " + o.graph.Auth
	for _, s := range []struct {
		set        bool
		flag, mode string
	}{{o.DeviceCode, "--device-code", "device-code"}, {o.AzureCLI, "--use-azure-cli", "azure-cli"}} {
		if !s.set {
			continue
		}
		if o.graph.Auth != "" && o.graph.Auth != s.mode {
			return flagErrorf("%s and %s ask for two sign-in methods: give one", s.flag, from)
		}
		o.graph.Auth, from = s.mode, s.flag
	}
	return nil
}

func newAuthLoginCmd(f *Factory) *cobra.Command {
	opts := &authLoginOptions{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to Microsoft Graph and keep the session for later commands",
		Long: `Sign in to Microsoft Graph and keep the session, so later commands sign in silently.

--auth chooses how (default: INVICTI_SCIM_GRAPH_TOKEN when set, else AZURE_* app credentials
when set, else browser on a terminal):
  browser      a browser window on this machine (the usual choice on a desktop)
  device-code  a code to enter at https://microsoft.com/devicelogin on any device (SSH
               sessions, no browser here; Conditional Access may block it)
  azure-cli    reuse ` + "`az login`" + ` (az keeps the session; the record says to use it)
  environment  AZURE_CLIENT_ID, AZURE_TENANT_ID and a secret, certificate or federated token
               (automation; nothing is saved, the environment is the session)
  token        INVICTI_SCIM_GRAPH_TOKEN, a ready access token (nothing is saved)

A browser or device-code sign-in is kept as signin.json in the config dir (the account record,
mode 0600, no token) plus the tokens in the OS-protected token cache. Without an OS secret
store (containers, CI) nothing is kept and a notice says so; INVICTI_SCIM_TOKEN_CACHE=none
turns the cache off on purpose.

` + authExitCodes,
		Example: `  invicti-scim auth login
  invicti-scim auth login --device-code --tenant contoso.onmicrosoft.com
  invicti-scim auth login --auth azure-cli -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runAuthLogin(ctx, f, opts)
		},
	}
	opts.graph.register(cmd)
	cmd.Flags().BoolVar(&opts.DeviceCode, "device-code", false, "Sign in with a device code: shorthand for --auth device-code")
	cmd.Flags().BoolVar(&opts.AzureCLI, "use-azure-cli", false, "Reuse `az login`: shorthand for --auth azure-cli")
	return cmd
}

func runAuthLogin(ctx context.Context, f *Factory, opts *authLoginOptions) error {
	if err := opts.method(); err != nil {
		return err
	}
	env := signinEnv(f)
	st, err := signin.Login(ctx, opts.graph.request(), env, f.HTTPClient(true, nil))
	if err != nil {
		return signinErr(err)
	}
	if f.JSON() {
		return printJSON(f, statusDoc(st))
	}
	p := ui.Out(f.IO)
	p.Println(st.Line())
	switch {
	case st.RecordPath != "":
		p.Println("Saved the session in " + st.RecordPath + "; later commands sign in silently (`invicti-scim auth logout` removes it).")
	default:
		p.Println("Nothing was saved: " + st.Source + ".")
	}
	return nil
}

type authStatusOptions struct {
	graph   graphFlags
	Sandbox bool
}

func newAuthStatusCmd(f *Factory) *cobra.Command {
	opts := &authStatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show who is signed in to Microsoft Graph: tenant, account, method, token expiry",
		Long: `Show the Microsoft Graph session the next command would use, without asking anyone to sign
in: the tenant (id, and name when GET /organization is readable), the account, how the session
was obtained, when the current token expires and where tokens are kept.

The session is the one --auth names, else INVICTI_SCIM_GRAPH_TOKEN, else AZURE_* app
credentials, else the record ` + "`auth login`" + ` saved. With the sandbox's env file loaded it is the
sandbox's token; --sandbox starts the built-in sandbox and shows its session.

-o json prints {"ok":true,"signedIn":true,"tenantId","tenantName","account","method",
"expiresOn" (RFC 3339),"cache" (persistent, memory or none)}, or {"ok":true,"signedIn":false}.

` + authExitCodes,
		Example: `  invicti-scim auth status
  invicti-scim auth status -o json
  invicti-scim auth status --sandbox`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runAuthStatus(ctx, f, opts)
		},
	}
	opts.graph.register(cmd)
	cmd.Flags().BoolVar(&opts.Sandbox, "sandbox", false, "Start the built-in sandbox (emulated Entra tenant) and show its session")
	return cmd
}

func runAuthStatus(ctx context.Context, f *Factory, opts *authStatusOptions) error {
	env := signinEnv(f)
	req := opts.graph.request()
	if opts.Sandbox {
		// The sandbox signs in with a token its emulated tenant issued (as its env file does).
		sb := sandbox.Start(sandbox.Defaults())
		f.addCleanup(sb.Close)
		f.IO.Redactor.Add(sb.GraphToken)
		req = signin.Request{Auth: "token", Cloud: "global", GraphURL: sb.GraphURL}
		getenv := env.Getenv
		env.Getenv = func(k string) string {
			switch k {
			case "INVICTI_SCIM_GRAPH_TOKEN":
				return sb.GraphToken
			case "AZURE_AUTHORITY_HOST":
				return ""
			}
			return getenv(k)
		}
	}
	st, err := signin.StatusOf(ctx, req, env, f.HTTPClient(true, nil))
	if err != nil {
		return signinErr(err)
	}
	if opts.Sandbox && st.SignedIn {
		st.Source = "the built-in sandbox's token (its emulated tenant stops when this command ends)"
	}
	if f.JSON() {
		return printJSON(f, statusDoc(st))
	}
	printSession(f, st)
	return nil
}

func newAuthLogoutCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Delete the saved Microsoft Graph session (sign-in record and token cache)",
		Long: `Delete the Microsoft Graph session ` + "`auth login`" + ` saved in the config dir: the sign-in record
(signin.json) and this config dir's token cache files. It says what it removed; running it
again removes nothing and succeeds. A damaged sign-in record is removed too.

It cannot end sign-ins it did not make: INVICTI_SCIM_GRAPH_TOKEN or AZURE_* variables in
your environment, or az's own session (` + "`az logout`" + `); it names those it sees.

` + authExitCodes,
		Example: `  invicti-scim auth logout
  invicti-scim auth logout --config-dir ./contoso`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return runAuthLogout(f) },
	}
}

// authLogoutJSON is auth logout's -o json document.
type authLogoutJSON struct {
	OK      bool     `json:"ok"`
	Removed []string `json:"removed"`
	Account string   `json:"account,omitempty"`
	Kept    []string `json:"kept,omitempty"`
}

func runAuthLogout(f *Factory) error {
	res, err := signin.Logout(signinEnv(f))
	if err != nil {
		return err
	}
	if f.JSON() {
		return printJSON(f, authLogoutJSON{OK: true, Removed: append([]string{}, res.Removed...), Account: res.Account, Kept: res.Kept})
	}
	p := ui.Out(f.IO)
	if len(res.Removed) == 0 {
		p.Println("Nothing to remove: no saved Microsoft Graph session in this config dir.")
	} else {
		who := ""
		if res.Account != "" {
			who = " of " + res.Account
		}
		p.Println("Signed out: removed the saved session" + who + ":")
		for _, r := range res.Removed {
			p.Println("  " + r)
		}
		for _, k := range res.Keys {
			p.Println("  kernel keyring key " + k + " (the token cache's encryption key)")
		}
	}
	for _, k := range res.Kept {
		p.Println("Still signed in elsewhere: " + k)
	}
	return nil
}

// printSignedIn signs in (if the session does not serve silently) and prints the one line the
// setup wizard shows after sign-in, on stderr: tenant name and id, and the account. An error
// is the sign-in's own: the caller stops there instead of asking again on the next call.
func printSignedIn(ctx context.Context, f *Factory, conn *graphConn) (*signin.Status, error) {
	st, err := signin.Identity(ctx, conn.Conn)
	if err != nil {
		return nil, err
	}
	ui.Err(f.IO).Check(ui.SymOK, st.Line(), "")
	return st, nil
}
