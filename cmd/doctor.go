package cmd

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

type doctorOptions struct {
	graph        graphFlags
	invicti      invictiFlags
	app          appFlags
	ShowSettings bool
}

// newDoctorCmd builds `doctor`; runF replaces runDoctor in tests (nil: the real one).
func newDoctorCmd(f *Factory, runF func(context.Context, *Factory, *doctorOptions) error) *cobra.Command {
	opts := &doctorOptions{}
	if runF == nil {
		runF = runDoctor
	}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Diagnose sign-in, permissions, Invicti access and state",
		Long: `Check everything invicti-scim depends on and say how to fix what is wrong:

  - who is signed in to Graph, in which tenant (from the token and Graph)
  - the Graph permissions the token carries versus what each command needs
  - the directory roles of a signed-in person (Application Administrator or Cloud
    Application Administrator are needed to configure provisioning)
  - Invicti reachability and the credential check (when a client secret is available)
  - whether the app and job recorded in state still exist in the tenant (or, with --sp-id
    or --app-id, the app those name and its job)
  - whether the saved provisioning settings make Entra fetch a token (key set v2)

--show-settings also prints the key NAMES Entra stores for the app (never a value), and the
writer and key-set version setup used, so settings made in the portal can be compared.

It reads the token's exp and nbf claims and says how long the token stays valid: an
expired (or not yet valid) token is a sign-in problem and exits 4, with how to sign in again.
So is a token Microsoft Graph refuses (401 InvalidAuthenticationToken: malformed, not a JWT,
or for another tenant): the Graph sign-in check fails, and no permission is blamed.

Exits 0 when every check passes; 4 when the Graph token is expired, not yet valid or refused,
or a sign-in or permission check fails (Graph sign-in, Tenant, Graph permissions, Directory
role); else 3 when the only failed check is the direct Invicti check (as test-connection); 1
otherwise. The failed checks are also the error line on stderr (and "error" with -o json).`,
		Example: `  invicti-scim doctor
  invicti-scim doctor --show-settings
  invicti-scim doctor -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runF(ctx, f, opts)
		},
	}
	opts.graph.register(cmd)
	opts.invicti.register(cmd)
	opts.app.register(cmd)
	cmd.Flags().BoolVar(&opts.ShowSettings, "show-settings", false, "Print the provisioning setting key names Entra stores (never values) and how setup saved them")
	return cmd
}

func runDoctor(ctx context.Context, f *Factory, opts *doctorOptions) error {
	app := provision.AppRef{SPID: opts.app.SPID, AppID: opts.app.AppID}
	if err := app.Validate(); err != nil {
		return err // a malformed id is a usage error, as in every command, not a failed check
	}
	store, err := f.Store()
	if err != nil {
		return err
	}
	st, stErr := store.Load()
	sp := ui.NewSpinner(f.IO)
	defer sp.Stop()

	req := provision.DoctorRequest{State: st, StateErr: stErr, StateDir: store.Dir, App: app, ShowSettings: opts.ShowSettings,
		Checker: f.Checker(), Now: f.Now, Progress: sp.Set}
	cloud, mode, token, gerr := opts.graph.validate(f)
	var fe *FlagError
	if errors.As(gerr, &fe) {
		return gerr // a bad --auth, --cloud or --graph-url is a usage error (exit 2), not a failed check
	}
	if gerr == nil {
		var conn *graphConn
		if conn, gerr = opts.graph.connect(f, cloud, mode, token, throttleNotice(sp)); gerr == nil {
			req.Graph, req.Cloud, req.AuthMode = conn.Client, conn.Cloud, string(mode)
		}
	}
	req.SignInErr = gerr
	if in, ierr := opts.invicti.resolve(ctx, f, &st, false); ierr == nil {
		req.Invicti = &provision.InvictiTarget{Endpoints: in.Endpoints, Credentials: in.Credentials}
	} else {
		req.InvictiErr = ierr
	}
	out := provision.Doctor(ctx, req)
	sp.Stop()
	if f.JSON() {
		if err := printJSON(f, out); err != nil {
			return err
		}
	} else {
		printDoctor(f, out)
	}
	// The failed checks are the error (stderr, and "error" in the JSON document); what they
	// mean (exit 4, 3 or 1) is decided by the report (DoctorReport.Err, provision.Classify).
	return out.Err()
}

func printDoctor(f *Factory, out *provision.DoctorReport) {
	p := ui.Out(f.IO)
	for _, c := range out.Checks {
		sym := map[string]string{"ok": ui.SymOK, "fail": ui.SymFail, "warn": ui.SymWarn, "skip": ui.SymSkip}[c.Status]
		p.Check(sym, c.Name, c.Detail)
		if c.Fix != "" && !c.OK {
			p.Fix(4, c.Fix)
		}
	}
	if d := out.Settings; d != nil {
		p.Println()
		p.Heading("Provisioning settings Entra stores (key names only)")
		writer := dash(d.Writer)
		if d.Experimental {
			writer += " (experimental)"
		}
		p.KV([][2]string{
			{"Service principal", d.ServicePrincipalID},
			{"Keys", dash(strings.Join(d.Keys, ", "))},
			{"Key set", dash(d.KeySet) + " (state: " + dash(d.StateKeySet) + ")"},
			{"Saved by", writer},
		})
	}
	if len(out.Permissions) > 0 {
		p.Println()
		var rows [][]string
		for _, n := range out.Permissions {
			state := "ok"
			if !n.Satisfied {
				state = "missing " + strings.Join(n.Missing, ", ")
			}
			rows = append(rows, []string{n.Command, strings.Join(n.Needs, ", "), state})
		}
		p.Table([]string{"COMMAND", "NEEDS", "TOKEN"}, rows)
	}
}
