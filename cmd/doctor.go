package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

type doctorOptions struct {
	graph        graphFlags
	invicti      invictiFlags
	app          appFlags
	ShowSettings bool
}

type doctorCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Status string `json:"status"` // ok, fail, warn, skip
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

type doctorJSON struct {
	Identity    string        `json:"identity,omitempty"`
	TenantID    string        `json:"tenantId,omitempty"`
	Delegated   bool          `json:"delegated"`
	Scopes      []string      `json:"scopes,omitempty"`
	Roles       []string      `json:"directoryRoles,omitempty"`
	TokenExpiry *time.Time    `json:"tokenExpires,omitempty"`
	Checks      []doctorCheck `json:"checks"`
	OK          bool          `json:"ok"`
	Permissions []permNeed    `json:"permissions"`
	// Settings is filled by --show-settings: the key names Entra stores (never values).
	Settings *settingsDump `json:"settings,omitempty"`
}

// settingsDump is what --show-settings prints: enough for an admin who configured an app in
// the portal to compare and report which keys the portal stores, and nothing secret.
type settingsDump struct {
	ServicePrincipalID string   `json:"servicePrincipalId"`
	Keys               []string `json:"keys"`
	KeySet             string   `json:"keySet"`
	StateKeySet        string   `json:"stateKeySet,omitempty"`
	Writer             string   `json:"writer,omitempty"`
	Experimental       bool     `json:"experimental,omitempty"`
	ClientCredentials  bool     `json:"clientCredentials"`
}

type permNeed struct {
	Command    string   `json:"command"`
	Needs      []string `json:"needs"`
	Missing    []string `json:"missing,omitempty"`
	Satisfied  bool     `json:"satisfied"`
	Determined bool     `json:"determined"`
}

// commandPermissions is what each command needs from Graph (application or delegated).
var commandPermissions = []struct {
	cmd   string
	perms []string
}{
	{"setup", []string{provision.PermApplication, provision.PermSync}},
	{"assign", []string{provision.PermAssign, provision.PermUsers, provision.PermGroups}},
	{"provision", []string{provision.PermSync, provision.PermUsers, provision.PermGroups}},
	{"status / job / rotate-secret", []string{provision.PermSync}},
	{"logs", []string{provision.PermAuditLog}},
	{"teardown", []string{provision.PermApplication}},
	{"sso", []string{provision.PermApplication}},
	{"mappings", []string{provision.PermSync, provision.PermUsers, provision.PermGroups}},
}

// Directory roles that can configure provisioning, by template id.
var adminRoles = map[string]string{
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
	"158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
	"62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
}

// permImplied: a broader permission that covers a narrower one.
var permImplied = map[string][]string{
	provision.PermUsers:       {"User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	provision.PermGroups:      {"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	provision.PermApplication: {"Directory.ReadWrite.All"},
}

func hasPerm(have []string, need string) bool {
	for _, h := range have {
		if strings.EqualFold(h, need) {
			return true
		}
		for _, alt := range permImplied[need] {
			if strings.EqualFold(h, alt) {
				return true
			}
		}
	}
	return false
}

func newDoctorCmd(f *Factory) *cobra.Command {
	opts := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Diagnose sign-in, permissions, Invicti access and state",
		Long: `Check everything invicti-scim depends on and say how to fix what is wrong:

  - who is signed in to Graph, in which tenant (from the token and Graph)
  - the Graph permissions the token carries versus what each command needs
  - the directory roles of a signed-in person (Application Administrator or Cloud
    Application Administrator are needed to configure provisioning)
  - Invicti reachability and the credential check (when a client secret is available)
  - whether the app and job recorded in state still exist in the tenant
  - whether the saved provisioning settings make Entra fetch a token (key set v2)

--show-settings also prints the key NAMES Entra stores for the app (never a value), and the
writer and key-set version setup used, so settings made in the portal can be compared.

It reads the token's exp and nbf claims and says how long the token stays valid: an
expired (or not yet valid) token is a sign-in problem and exits 4, with how to sign in again.

Exits 0 when every check passes, 4 when the Graph token is expired or not yet valid, 1 otherwise.`,
		Example: `  invicti-scim doctor
  invicti-scim doctor --show-settings
  invicti-scim doctor -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runDoctor(ctx, f, opts)
		},
	}
	opts.graph.register(cmd)
	opts.invicti.register(cmd)
	opts.app.register(cmd)
	cmd.Flags().BoolVar(&opts.ShowSettings, "show-settings", false, "Print the provisioning setting key names Entra stores (never values) and how setup saved them")
	return cmd
}

// checkSettings reads the saved provisioning settings: outdated ones (key set v1) fail, the
// experimental writer warns; with show, their key names are kept for output.
func checkSettings(ctx context.Context, conn *graphConn, st state.State, spID string, show bool) (doctorCheck, *settingsDump) {
	kv, err := conn.Client.Secrets(ctx, spID)
	if err != nil {
		return doctorCheck{Name: "Provisioning settings", Detail: explainGraph(err), Fix: "needs " + provision.PermSync}, nil
	}
	saved := provision.NewSaved(kv)
	v := provision.NewSettingsView(saved, st.Setup.SecretsKeySet, st.Setup.SettingsWriter, st.Setup.Experimental)
	var dump *settingsDump
	if show {
		dump = &settingsDump{ServicePrincipalID: spID, Keys: saved.Names(), KeySet: v.KeySet, StateKeySet: v.StateKeySet,
			Writer: v.Writer, Experimental: v.Experimental, ClientCredentials: v.ClientCredentials}
	}
	switch {
	case saved.Empty():
		return doctorCheck{Name: "Provisioning settings", Detail: "nothing saved", Fix: "run `invicti-scim setup`"}, dump
	case v.Outdated():
		return doctorCheck{Name: "Provisioning settings", Detail: provision.OutdatedSettings, Fix: "run `invicti-scim setup` again (same app, same job)"}, dump
	case len(v.Mixed) > 0:
		return doctorCheck{Name: "Provisioning settings", Detail: "bearer or pre-minted token keys saved beside the client-credentials ones: " + strings.Join(v.Mixed, ", "),
			Fix: "save the settings again with `invicti-scim setup`, or clear them in the portal"}, dump
	case !v.ClientCredentials:
		return doctorCheck{Name: "Provisioning settings", Detail: "the saved settings do not select the OAuth2 client credentials grant (no AuthenticationType)", Fix: "run `invicti-scim setup`"}, dump
	case v.Experimental:
		return doctorCheck{Name: "Provisioning settings", OK: true, Status: "warn", Detail: "key set " + v.KeySet + ", saved through the experimental beta connectivityParameters endpoint"}, dump
	}
	detail := "key set " + v.KeySet
	if v.Writer != "" {
		detail += ", saved by " + v.Writer
	}
	return doctorCheck{Name: "Provisioning settings", OK: true, Detail: detail}, dump
}

func runDoctor(ctx context.Context, f *Factory, opts *doctorOptions) error {
	out := doctorJSON{}
	add := func(c doctorCheck) {
		if c.Status == "" {
			c.Status = map[bool]string{true: "ok", false: "fail"}[c.OK]
		}
		out.Checks = append(out.Checks, c)
	}
	store, err := f.Store()
	if err != nil {
		return err
	}
	st, err := store.Load()
	if err != nil {
		add(doctorCheck{Name: "state file", Detail: err.Error(), Fix: "move the file away and run setup again"})
	}
	sp := ui.NewSpinner(f.IO)
	defer sp.Stop()

	cloud, mode, token, gerr := opts.graph.validate(f)
	expired := provision.IsExpiredToken(gerr) // an expired token exits 4, as in every command
	var conn *graphConn
	if gerr != nil {
		add(doctorCheck{Name: "Graph sign-in", Detail: gerr.Error(), Fix: hintOf(gerr)})
	} else if conn, gerr = opts.graph.connect(f, cloud, mode, token, throttleNotice(sp)); gerr != nil {
		add(doctorCheck{Name: "Graph sign-in", Detail: gerr.Error(), Fix: hintOf(gerr)})
		conn = nil
	}
	if conn != nil {
		sp.Set("Reading the token")
		claims, cerr := conn.Client.TokenClaims(ctx)
		if cerr == nil {
			cerr = claims.Lifetime(f.Now())
		}
		switch {
		case provision.IsExpiredToken(cerr):
			expired = true
			add(doctorCheck{Name: "Graph sign-in", Detail: cerr.Error(), Fix: hintOf(cerr)})
			conn = nil
		case cerr != nil && !strings.Contains(cerr.Error(), "not a JWT"):
			add(doctorCheck{Name: "Graph sign-in", Detail: cerr.Error(), Fix: "sign in again (see `invicti-scim setup --help`)"})
			conn = nil
		case cerr != nil:
			add(doctorCheck{Name: "Graph sign-in", OK: true, Status: "warn", Detail: "the token is not a JWT, so its permissions cannot be read; checking by calling Graph instead"})
		default:
			out.TenantID, out.Delegated, out.Scopes = claims.TenantID, claims.Delegated(), claims.Scopes()
			if exp := claims.ExpiresAt(); !exp.IsZero() {
				out.TokenExpiry = &exp
			}
			out.Identity = claims.UPN
			if out.Identity == "" {
				out.Identity = strings.TrimSpace(claims.AppName + " (app " + claims.AppID + ")")
			}
			if st.Tenant != "" && out.TenantID != "" && !strings.EqualFold(st.Tenant, out.TenantID) {
				add(doctorCheck{Name: "Tenant", Detail: fmt.Sprintf("signed in to tenant %s, but the state in %s belongs to tenant %s", out.TenantID, store.Dir, st.Tenant),
					Fix: "sign in to the tenant setup used, or use a separate --config-dir per tenant"})
			}
			add(doctorCheck{Name: "Graph sign-in", OK: true, Detail: fmt.Sprintf("%s in tenant %s (%s, via --auth %s)%s", dash(out.Identity), dash(out.TenantID), map[bool]string{true: "delegated", false: "application"}[out.Delegated], mode, tokenLeft(claims.ExpiresAt(), f.Now()))})
			for _, cp := range commandPermissions {
				n := permNeed{Command: cp.cmd, Needs: cp.perms, Determined: true}
				for _, p := range cp.perms {
					if !hasPerm(out.Scopes, p) {
						n.Missing = append(n.Missing, p)
					}
				}
				n.Satisfied = len(n.Missing) == 0
				out.Permissions = append(out.Permissions, n)
			}
			var missing []string
			for _, n := range out.Permissions {
				for _, m := range n.Missing {
					if !slices.Contains(missing, m) {
						missing = append(missing, m)
					}
				}
			}
			if len(missing) == 0 {
				add(doctorCheck{Name: "Graph permissions", OK: true, Detail: strings.Join(out.Scopes, " ")})
			} else {
				add(doctorCheck{Name: "Graph permissions", Detail: "missing " + strings.Join(missing, ", "),
					Fix: "grant (and consent) " + strings.Join(missing, ", ") + " to the signing-in app; Graph reports a missing permission as 401 UnknownError on provisioning calls"})
			}
			if out.Delegated {
				var held []string
				for _, w := range claims.WIDs {
					if name, ok := adminRoles[w]; ok {
						held = append(held, name)
					}
				}
				out.Roles = held
				if len(held) > 0 {
					add(doctorCheck{Name: "Directory role", OK: true, Detail: strings.Join(held, ", ")})
				} else {
					add(doctorCheck{Name: "Directory role", Detail: "none of Application Administrator, Cloud Application Administrator, Global Administrator",
						Fix: "ask a Privileged Role Administrator to assign (or activate in PIM) Application Administrator or Cloud Application Administrator"})
				}
			}
		}
	}

	// Invicti side.
	if in, ierr := opts.invicti.resolve(ctx, f, &st, false); ierr == nil {
		sp.Set("Checking Invicti")
		res := f.Checker().Check(ctx, in.Endpoints, in.Credentials)
		if res.OK {
			add(doctorCheck{Name: "Invicti credentials", OK: true, Detail: in.Endpoints.BaseURL + ": token, ServiceProviderConfig and user query pass"})
		} else {
			l := layerJSON{Steps: stepsJSON(res.Steps)}
			fix := ""
			for _, s := range l.Steps {
				if s.Fix != "" {
					fix = s.Fix
					break
				}
			}
			add(doctorCheck{Name: "Invicti credentials", Detail: firstProblem(&l), Fix: fix})
		}
	} else {
		add(doctorCheck{Name: "Invicti credentials", OK: true, Status: "skip", Detail: "no Invicti URL, client id or secret given: " + ierr.Error()})
	}

	// State against the tenant.
	if conn != nil && st.App != nil && st.App.ServicePrincipalID != "" {
		sp.Set("Checking the app recorded in state")
		_, err := conn.Client.ServicePrincipal(ctx, st.App.ServicePrincipalID)
		switch {
		case err == nil:
			add(doctorCheck{Name: "App in state", OK: true, Detail: fmt.Sprintf("%s (servicePrincipal %s) exists", st.App.DisplayName, st.App.ServicePrincipalID)})
			c, dump := checkSettings(ctx, conn, st, st.App.ServicePrincipalID, opts.ShowSettings)
			add(c)
			out.Settings = dump
			if st.App.JobID != "" {
				if _, err := conn.Client.Job(ctx, st.App.ServicePrincipalID, st.App.JobID); err == nil {
					add(doctorCheck{Name: "Job in state", OK: true, Detail: st.App.JobID + " exists"})
					// mappings check (sso_checks.go).
					sp.Set("Checking the attribute mappings")
					add(mappingsDoctorCheck(ctx, conn, st.App.ServicePrincipalID, st.App.JobID))
				} else if provision.IsNotFound(err) {
					add(doctorCheck{Name: "Job in state", Detail: st.App.JobID + " no longer exists", Fix: "run `invicti-scim setup` to create the job again"})
				} else {
					add(doctorCheck{Name: "Job in state", Detail: explainGraph(err), Fix: graphFix(err, provision.PermSync)})
					expired = expired || provision.IsExpiredToken(err)
				}
			}
			// SAML single sign-on (sso_checks.go).
			sp.Set("Checking single sign-on")
			add(ssoDoctorCheck(ctx, f, conn, st, st.App.ServicePrincipalID))
		case provision.IsNotFound(err):
			add(doctorCheck{Name: "App in state", Detail: "the app recorded in state (servicePrincipal " + st.App.ServicePrincipalID + ") no longer exists — deleted in the portal?", Fix: "run `invicti-scim setup` to create it again, or `invicti-scim teardown --yes` to forget it"})
		default:
			add(doctorCheck{Name: "App in state", Detail: explainGraph(err), Fix: graphFix(err, provision.PermApplication)})
			expired = expired || provision.IsExpiredToken(err)
		}
	} else if st.App == nil {
		add(doctorCheck{Name: "App in state", OK: true, Status: "skip", Detail: "no app recorded yet (run setup)"})
	}
	sp.Stop()

	// Graph refused as expired a token whose own claims still read valid: the clocks disagree
	// (or the token was revoked); the sign-in line must not stay a green tick.
	if expired {
		for i := range out.Checks {
			if c := &out.Checks[i]; c.Name == "Graph sign-in" && c.OK {
				c.OK, c.Status = false, "fail"
				c.Detail += "; but Microsoft Graph refused this token as expired or not yet valid, so this computer's clock may differ from Microsoft's"
				c.Fix = provision.ClockSkewFix()
			}
		}
	}
	out.OK = true
	for _, c := range out.Checks {
		out.OK = out.OK && c.OK
	}
	if f.JSON() {
		if err := printJSON(f, out); err != nil {
			return err
		}
	} else {
		p := ui.Out(f.IO)
		for _, c := range out.Checks {
			sym := map[string]string{"ok": ui.SymOK, "fail": ui.SymFail, "warn": ui.SymWarn, "skip": ui.SymSkip}[c.Status]
			p.Check(sym, c.Name, c.Detail)
			if c.Fix != "" && !c.OK {
				p.Printf("    fix: %s\n", c.Fix)
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
	if !out.OK {
		if expired {
			return silent(ExitAuth)
		}
		return silent(ExitFailed)
	}
	return nil
}

// tokenLeft says how long the token stays valid, so an admin knows whether a long run will
// outlive it ("" when the token carries no exp).
func tokenLeft(exp, now time.Time) string {
	if exp.IsZero() {
		return ""
	}
	left := exp.Sub(now).Round(time.Minute)
	if left > 48*time.Hour {
		return fmt.Sprintf("; token valid until %s", exp.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return fmt.Sprintf("; token valid for %s more (until %s)", left, exp.UTC().Format("15:04 UTC"))
}

// graphFix and explainGraph: see provision.GraphFix and provision.ExplainGraph.
func graphFix(err error, perm string) string { return provision.GraphFix(err, perm) }

func explainGraph(err error) string { return provision.ExplainGraph(err) }
