package cmd

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/safetext"
	"github.com/invicti-scim/invicti-scim/internal/sandbox"
	"github.com/invicti-scim/invicti-scim/internal/shellarg"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

type sandboxOptions struct {
	EnvFile          string
	StateDir         string
	PortGraph        int
	PortInvicti      int
	Latency          time.Duration
	ReplicationDelay time.Duration
	AssignmentLag    time.Duration
	Throttle         []string
	Quarantine       string
	RejectTokenURI   bool
	NoConnectivity   bool
	DropPartialPut   bool
	PortalLowerCase  bool
	NoP1             bool
	Tenants          int
}

func newSandboxCmd(f *Factory) *cobra.Command {
	opts := &sandboxOptions{}
	def := sandbox.Defaults()
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run an emulated Entra tenant and an emulated Invicti on this machine, for every command",
		Long: `Start the emulated Microsoft Entra tenant (the Microsoft Graph calls invicti-scim makes) and the
emulated Invicti Platform (OAuth2 token endpoint and SCIM 2.0) on 127.0.0.1 and keep them running
until Ctrl-C or SIGTERM (exit 0). With --env-file the sandbox writes the variables that point
every command at it (mode 0600, sandbox-only values):

  invicti-scim sandbox --env-file sandbox.env &
  set -a; . ./sandbox.env; set +a
  invicti-scim setup --non-interactive
  invicti-scim assign --user alice@contoso.example
  invicti-scim provision --user alice@contoso.example --verify
  invicti-scim status

INVICTI_SCIM_SANDBOX_NEXT_SECRET is a second secret the emulated Invicti accepts, to rehearse
rotate-secret. --state-dir keeps the tenant, Invicti and the tool's own state (its config dir)
across restarts, on the same ports. The fault flags rehearse what real tenants do: latency,
replication delays, throttling, quarantine, and the provisioning-settings refusals of
docs/setup.md. "invicti-scim sandbox users" lists the demo users and groups.`,
		Example: `  invicti-scim sandbox --env-file sandbox.env
  invicti-scim sandbox --state-dir ~/.cache/invicti-scim-sandbox --env-file sandbox.env
  invicti-scim sandbox --replication-delay 20s --assignment-lag 1m --throttle '/instantiate$=3'
  invicti-scim sandbox --reject-token-uri            # the settings go through the experimental writer
  invicti-scim sandbox --reject-token-uri --no-connectivity   # the guided portal step`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSandbox(cmd.Context(), f, opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.EnvFile, "env-file", "", "Write KEY=VALUE lines for INVICTI_SCIM_* here (mode 0600) so every command uses the sandbox")
	fs.StringVar(&opts.StateDir, "state-dir", "", "Keep the emulated tenant and Invicti in this directory across restarts")
	fs.IntVar(&opts.PortGraph, "port-graph", 0, "Loopback port of the emulated Microsoft Graph (default: the previous one in --state-dir, else free)")
	fs.IntVar(&opts.PortInvicti, "port-invicti", 0, "Loopback port of the emulated Invicti (default: the previous one in --state-dir, else free)")
	fs.DurationVar(&opts.Latency, "latency", def.Latency, "Added to every request of both emulators")
	fs.DurationVar(&opts.ReplicationDelay, "replication-delay", def.ReplicationDelay, "How long a new app or job stays invisible (Entra's eventual consistency)")
	fs.DurationVar(&opts.AssignmentLag, "assignment-lag", def.ProvisionDelay, "How long a new assignment is not honoured by provisioning on demand")
	fs.StringArrayVar(&opts.Throttle, "throttle", nil, "Answer 429 to the next N requests whose Graph path matches ROUTE (a regular expression): ROUTE=N; repeatable")
	fs.StringVar(&opts.Quarantine, "quarantine", "", "Send every job into quarantine with this reason once it starts (e.g. EncounteredQuarantineException)")
	fs.BoolVar(&opts.RejectTokenURI, "reject-token-uri", false, "The v1.0 secrets PUT refuses the Token Endpoint (NotInAllowList)")
	fs.BoolVar(&opts.NoConnectivity, "no-connectivity", false, "Graph does not serve the beta connectivityParameters endpoint")
	fs.BoolVar(&opts.DropPartialPut, "drop-partial-put", false, "A secrets PUT without SyncNotificationSettings and SyncAll is dropped silently")
	fs.BoolVar(&opts.PortalLowerCase, "portal-lower-case", false, "Settings saved as the portal would use lower-case key names")
	fs.BoolVar(&opts.NoP1, "no-group-assignment", false, "The tenant has no Entra ID P1/P2: assigning a group to the app is refused")
	fs.IntVar(&opts.Tenants, "tenants", 1, "Host this many emulated tenants, each with its own Invicti, for manifests with a tenants: list (env INVICTI_SCIM_SANDBOX_T<N>_*; docs/manifest.md)")
	cmd.AddCommand(newSandboxUsersCmd(f), newSandboxPortalCmd(f))
	return cmd
}

func runSandbox(ctx context.Context, f *Factory, opts *sandboxOptions) error {
	so := sandbox.ServeOptions{
		Options:   sandbox.Options{Latency: opts.Latency, ReplicationDelay: opts.ReplicationDelay, ProvisionDelay: opts.AssignmentLag},
		StateDir:  opts.StateDir,
		GraphPort: opts.PortGraph, InvictiPort: opts.PortInvicti,
		Faults: sandbox.Faults{RejectTokenURI: opts.RejectTokenURI, NoConnectivity: opts.NoConnectivity,
			DropPartialPut: opts.DropPartialPut, PortalLowerCase: opts.PortalLowerCase, NoGroupAssignment: opts.NoP1},
		Quarantine: opts.Quarantine,
		Tenants:    opts.Tenants,
	}
	if opts.Tenants < 1 || opts.Tenants > sandbox.MaxTenants {
		return flagErrorf("--tenants %d: expected 1 to %d emulated tenants", opts.Tenants, sandbox.MaxTenants)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"--port-graph", opts.PortGraph}, {"--port-invicti", opts.PortInvicti}} {
		if p.v < 0 || p.v > 65535 {
			return flagErrorf("%s %d: expected a port from 1 to 65535 (0 = any free port)", p.name, p.v)
		}
	}
	if opts.PortGraph != 0 && opts.PortGraph == opts.PortInvicti {
		return flagErrorf("--port-graph and --port-invicti are both %d: the two emulators need two ports", opts.PortGraph)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--latency", opts.Latency}, {"--replication-delay", opts.ReplicationDelay}, {"--assignment-lag", opts.AssignmentLag}} {
		if d.v < 0 || d.v > time.Hour {
			return flagErrorf("%s %s: expected a duration from 0 to 1h", d.name, d.v)
		}
	}
	for _, t := range opts.Throttle {
		th, err := sandbox.ParseThrottle(t)
		if err != nil {
			return &FlagError{Err: err}
		}
		so.Throttle = append(so.Throttle, th)
	}
	if opts.Quarantine != "" {
		if !slices.Contains(quarantineReasons, opts.Quarantine) {
			return flagErrorf("--quarantine %q: expected one of %s", opts.Quarantine, strings.Join(quarantineReasons, ", "))
		}
	}
	if opts.StateDir != "" {
		if fi, err := os.Stat(opts.StateDir); err == nil && !fi.IsDir() {
			return flagErrorf("--state-dir %s: exists and is not a directory; name a directory (it is created if missing)", opts.StateDir)
		}
	}
	var saveWarned sync.Once
	so.OnSaveError = func(err error) {
		saveWarned.Do(func() {
			ui.Err(f.IO).Errorf("cannot save the sandbox state in %s: %v (the sandbox keeps running; a restart would lose recent changes)", opts.StateDir, err)
		})
	}
	if opts.EnvFile != "" {
		// Replaced only when it is an env file a sandbox wrote (its first line says so).
		isEnvFile := func(head []byte) bool { return bytes.HasPrefix(head, []byte(sandbox.EnvFileHeader)) }
		if err := state.CheckOutputFile(opts.EnvFile, "a sandbox env file", isEnvFile); err != nil {
			return flagErrorf("--env-file %s: %v", opts.EnvFile, err)
		}
		dial := func(addr string) error {
			c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
			if err == nil {
				_ = c.Close()
			}
			return err
		}
		if addr := sandbox.RunningFor(opts.EnvFile, dial); addr != "" {
			return flagErrorf("--env-file %s: a sandbox still serves it (Graph at %s); stop that one first (Ctrl-C, or kill its pid), or name another file", opts.EnvFile, addr)
		}
	}
	s, err := sandbox.Serve(so)
	if err != nil {
		return &exitError{code: ExitFailed, err: err}
	}
	if s.ConfigDir == "" {
		dir, err := os.MkdirTemp("", "invicti-scim-sandbox-config-")
		if err != nil {
			_ = s.Close()
			return err
		}
		defer os.RemoveAll(dir)
		s.ConfigDir = dir
	}
	if opts.EnvFile != "" {
		if err := s.WriteEnvFile(opts.EnvFile); err != nil {
			_ = s.Close()
			return fmt.Errorf("--env-file %s: %w", opts.EnvFile, err)
		}
	}
	// The sandbox's tokens and secrets reach a shell only through the env file (docs/sandbox.md):
	// every later print of them is redacted, and the JSON document masks them by name.
	for _, e := range s.EnvVars() {
		if sandboxSecretVar(e.Key) {
			f.IO.Redactor.Add(e.Value)
		}
	}
	if f.JSON() {
		env := map[string]string{}
		for _, e := range s.EnvVars() {
			env[e.Key] = e.Value
			if sandboxSecretVar(e.Key) {
				env[e.Key] = safetext.Mask
			}
		}
		doc := map[string]any{"ok": true, "graphUrl": s.GraphURL, "invictiUrl": s.InvictiURL, "tenantId": s.Tenant.TenantID(),
			"restored": s.Restored, "env": env}
		// The document announces a sandbox that keeps running: it goes out now, not at the end.
		perr := printJSON(f, doc)
		if perr == nil {
			perr = flushJSON(f)
		}
		if perr != nil {
			_ = s.Close()
			return perr
		}
	}
	printSandboxBanner(f, s, opts)
	<-ctx.Done()
	if err := s.Close(); err != nil {
		return fmt.Errorf("save the sandbox state: %w", err)
	}
	if !f.JSON() {
		p := ui.Err(f.IO)
		if opts.StateDir != "" {
			p.Println("Sandbox stopped; its state is in " + opts.StateDir + " (start it again with the same --state-dir).")
		} else {
			p.Println("Sandbox stopped.")
		}
	}
	return nil
}

// quarantineReasons are Graph's synchronizationQuarantine reasons (the resource page).
var quarantineReasons = []string{"EncounteredQuarantineException", "EncounteredBaseEscrowThreshold", "EncounteredTotalEscrowThreshold",
	"EncounteredEscrowProportionThreshold", "TooManyDeletes", "QuarantinedOnDemand", "IngestionInterrupted", "Unknown"}

func printSandboxBanner(f *Factory, s *sandbox.Served, opts *sandboxOptions) {
	p := ui.Err(f.IO)
	title := "Sandbox running: an emulated Entra tenant and an emulated Invicti Platform on this machine"
	if s.Restored {
		title = "Sandbox running (restored from " + opts.StateDir + ")"
	}
	p.Heading(title)
	p.KV([][2]string{
		{"Entra (Graph)", s.GraphURL},
		{"Invicti", s.InvictiURL},
		{"Tenant id", s.Tenant.TenantID()},
		{"Demo users", "alice, carol, dave (in group \"Invicti Users\") @contoso.example; more: invicti-scim sandbox users"},
	})
	if n := len(s.Others); n > 0 {
		p.Println(fmt.Sprintf("Hosting %d emulated tenants; a manifest names each by the env file's INVICTI_SCIM_SANDBOX_T<N>_* variables (docs/manifest.md).", n+1))
	}
	p.Println()
	if opts.EnvFile != "" {
		p.Println("Point every command at it:")
		p.Println("  set -a; . " + shellarg.Quote(sandbox.SourcePath(opts.EnvFile)) + "; set +a")
	} else {
		// Tokens and secrets never reach a terminal, not even the sandbox's: --env-file
		// carries them to the shell.
		p.Println("Start it with --env-file FILE to point every command at it (set -a; . FILE; set +a).")
	}
	p.Println("Then try:")
	for _, c := range []string{
		"invicti-scim setup --non-interactive",
		"invicti-scim assign --user alice@contoso.example",
		"invicti-scim provision --user alice@contoso.example --verify",
		"invicti-scim status",
		"invicti-scim logs",
		"invicti-scim doctor",
		"printf '%s\\n' \"$INVICTI_SCIM_SANDBOX_NEXT_SECRET\" | invicti-scim rotate-secret --client-secret-stdin",
		"invicti-scim sandbox portal     # while setup waits in its guided step: save as the portal would",
		"invicti-scim teardown --yes",
	} {
		p.Println("  " + c)
	}
	p.Println("Ctrl-C stops the sandbox.")
}

func newSandboxUsersCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "users",
		Short: "List the sandbox's demo users and groups, and what each one teaches",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			users, groups := sandbox.Demo()
			if f.JSON() {
				return printJSON(f, map[string]any{"ok": true, "users": users, "groups": groups})
			}
			p := ui.Out(f.IO)
			var rows [][]string
			for _, u := range users {
				rows = append(rows, []string{u.UserPrincipalName, u.DisplayName, dash(u.Note)})
			}
			p.Table([]string{"USER", "NAME", "TEACHES"}, rows)
			p.Println()
			rows = nil
			for _, g := range groups {
				rows = append(rows, []string{g.DisplayName, g.Kind, fmt.Sprintf("%d", len(g.Members)), dash(g.Note)})
			}
			p.Table([]string{"GROUP", "KIND", "MEMBERS", "TEACHES"}, rows)
			return nil
		},
	}
}

func newSandboxPortalCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "portal",
		Short: "Save the app's provisioning settings in a running sandbox as an admin would in the Entra portal",
		Long: `Play the admin in the Entra portal: save the provisioning settings (OAuth2 client credentials
grant, Tenant URL, Token Endpoint, client id and secret) of the app invicti-scim made, in the
running sandbox named by INVICTI_SCIM_GRAPH_URL and INVICTI_SCIM_GRAPH_TOKEN (the env file).
Use it to rehearse the guided step: start the sandbox with --reject-token-uri --no-connectivity,
run "invicti-scim setup" in one terminal, and this in another while setup waits.`,
		Example: `  invicti-scim sandbox portal`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			graphURL, token := f.Getenv("INVICTI_SCIM_GRAPH_URL"), f.Getenv("INVICTI_SCIM_GRAPH_TOKEN")
			if graphURL == "" || token == "" {
				return flagErrorf("no running sandbox named: load its env file first (set -a; . ./sandbox.env; set +a)")
			}
			res, err := sandbox.PortalSave(cmd.Context(), graphURL, token)
			if err != nil {
				return &exitError{code: ExitFailed, err: err}
			}
			if f.JSON() {
				return printJSON(f, map[string]any{"ok": true, "servicePrincipalId": res.ServicePrincipalID, "displayName": res.DisplayName, "keys": res.Keys})
			}
			ui.Err(f.IO).Check(ui.SymOK, "Saved in the emulated portal: "+res.DisplayName+" ("+res.ServicePrincipalID+")", strings.Join(res.Keys, ", "))
			return nil
		},
	}
}

// sandboxSecretVar reports whether an env-file variable holds a secret or a token (the
// client secret, the next secret, the Graph token, and each extra tenant's).
func sandboxSecretVar(key string) bool {
	return strings.HasSuffix(key, "_SECRET") || strings.HasSuffix(key, "_TOKEN")
}
