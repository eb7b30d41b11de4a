package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

type testConnectionOptions struct {
	invicti invictiFlags
	graph   graphFlags
	noEntra bool
}

type checkStepJSON struct {
	Name       string `json:"name"`
	Title      string `json:"title"`
	OK         bool   `json:"ok"`
	Skipped    bool   `json:"skipped,omitempty"`
	DurationMS int64  `json:"durationMs"`
	Detail     string `json:"detail,omitempty"`
	Problem    string `json:"problem,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Fix        string `json:"fix,omitempty"`
	Status     int    `json:"status,omitempty"`
}

type layerJSON struct {
	OK      bool            `json:"ok"`
	Skipped bool            `json:"skipped,omitempty"`
	Reason  string          `json:"reason,omitempty"`
	Steps   []checkStepJSON `json:"steps"`
}

type testConnectionJSON struct {
	OK            bool   `json:"ok"`
	Region        string `json:"region"`
	InvictiURL    string `json:"invictiUrl"`
	TenantURL     string `json:"tenantUrl"`
	TokenEndpoint string `json:"tokenEndpoint"`
	ClientID      string `json:"clientId"`
	// ClientAuth is how Invicti accepted the client id and secret: basic (RFC 6749 form),
	// basic-raw or body; "" when it accepted none.
	ClientAuth string     `json:"clientAuth,omitempty"`
	Warnings   []string   `json:"warnings,omitempty"`
	Invicti    layerJSON  `json:"invicti"`
	Entra      *layerJSON `json:"entra,omitempty"`
}

func newTestConnectionCmd(f *Factory) *cobra.Command {
	opts := &testConnectionOptions{}
	cmd := &cobra.Command{
		Use:   "test-connection",
		Short: "Check the Invicti SCIM credentials, and Entra's Test Connection for the configured app",
		Long: `Check the connection the way Entra's Test Connection does, in two layers:

  invicti  directly: a client-credentials token from the token endpoint, then
           GET /ServiceProviderConfig and GET /Users?filter=userName eq "<random uuid>"
  entra    when setup has recorded an app: Entra's own validateCredentials with the saved settings

With no flags it uses the Invicti URL and client id recorded by setup; the secret still comes
from INVICTI_SCIM_CLIENT_SECRET, --client-secret-stdin, --client-secret-file or --credentials-file.
Exits 0 when every layer passes, 3 when one fails, 4 when the Microsoft Graph token is
expired or refused (a sign-in problem: the Entra layer could not run).`,
		Example: `  # Check EU credentials before touching Entra
  printf %s "$SECRET" | invicti-scim test-connection --region eu --client-id abc123 --client-secret-stdin

  # Use the JSON Invicti returned, as data
  invicti-scim test-connection --region us --credentials-file creds.json -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runTestConnection(ctx, f, opts)
		},
	}
	opts.invicti.register(cmd)
	opts.graph.register(cmd)
	cmd.Flags().BoolVar(&opts.noEntra, "invicti-only", false, "Check only the Invicti side, even when an app is recorded")
	return cmd
}

func runTestConnection(ctx context.Context, f *Factory, opts *testConnectionOptions) error {
	_, st, err := f.loadState(ctx)
	if err != nil {
		return err
	}
	in, err := opts.invicti.resolve(ctx, f, &st, f.CanPrompt())
	if err != nil {
		return err
	}
	checker := f.Checker()
	sp := ui.NewSpinner(f.IO)
	if !f.JSON() {
		sp.Set("Checking " + in.Endpoints.BaseURL + " the way Entra does")
	}
	res := checker.Check(ctx, in.Endpoints, in.Credentials)
	sp.Stop()
	out := testConnectionJSON{
		OK: res.OK, Region: in.Endpoints.Region, InvictiURL: in.Endpoints.BaseURL, TenantURL: in.Endpoints.TenantURL,
		TokenEndpoint: in.Endpoints.TokenURL, ClientID: in.Credentials.ClientID,
		Invicti:    layerJSON{OK: res.OK, Steps: stepsJSON(res.Steps)},
		ClientAuth: string(res.ClientAuth), Warnings: res.Warnings,
	}

	// The Entra layer runs when setup recorded an app for this configuration.
	if !opts.noEntra && st.App != nil && st.App.ServicePrincipalID != "" && st.App.JobID != "" {
		layer := entraLayer(ctx, f, opts, st.App.ServicePrincipalID, st.App.JobID)
		out.Entra = &layer
		out.OK = out.OK && (layer.OK || layer.Skipped)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if f.JSON() {
		if err := printJSON(f, out); err != nil {
			return err
		}
	} else {
		printCheck(f, out)
	}
	if !out.OK {
		return connectionFailure(out)
	}
	return nil
}

// connectionFailure is the error of a failed test: the first layer that failed, its problem
// and fix (exit 3). A Graph sign-in problem in the Entra layer (an expired token, or one Graph
// refused) is exit 4 and the error, whatever the Invicti layer found: 4 outranks 3, as in every
// command (help exit-codes).
func connectionFailure(out testConnectionJSON) error {
	layer, l := "invicti", &out.Invicti
	signIn := out.Entra != nil && len(out.Entra.Steps) > 0 && out.Entra.Steps[0].Kind == "sign_in"
	if (out.Invicti.OK || signIn) && out.Entra != nil {
		layer, l = "entra", out.Entra
	}
	fix := firstFix(l)
	code := ExitConnection
	if signIn {
		code = ExitAuth
	}
	err := fmt.Errorf("%s connection test failed: %s", layer, firstProblem(l))
	if fix != "" {
		err = &provision.HintedError{Err: err, HintText: fix}
	}
	return &exitError{code: code, err: err}
}

func entraLayer(ctx context.Context, f *Factory, opts *testConnectionOptions, spID, jobID string) layerJSON {
	cloud, mode, token, err := opts.graph.validate(f)
	if provision.IsExpiredToken(err) {
		step := checkStepJSON{Name: "signIn", Title: "Microsoft Graph sign-in", Problem: err.Error(), Kind: "sign_in", Fix: hintOf(err)}
		return layerJSON{Steps: []checkStepJSON{step}}
	}
	if err != nil {
		return layerJSON{Skipped: true, Reason: "not signed in to Microsoft Graph: " + err.Error() + " (" + hintOf(err) + ")"}
	}
	conn, err := opts.graph.connect(f, cloud, mode, token, nil)
	if err != nil {
		return layerJSON{Skipped: true, Reason: err.Error()}
	}
	c := provision.TestEntraConnection(ctx, conn.Client, spID, jobID, time.Now)
	step := checkStepJSON{Name: "validateCredentials", Title: "Entra Test Connection (validateCredentials, saved settings)", DurationMS: c.Duration.Milliseconds()}
	if c.OK {
		step.OK = true
		step.Detail = "Entra fetched a token and queried Invicti"
		return layerJSON{OK: true, Steps: []checkStepJSON{step}}
	}
	step.Problem, step.Status, step.Kind, step.Fix = c.Problem, c.Status, c.Kind, c.Fix
	return layerJSON{OK: false, Steps: []checkStepJSON{step}}
}

func stepsJSON(steps []provision.CheckStep) []checkStepJSON {
	var out []checkStepJSON
	for _, s := range steps {
		j := checkStepJSON{Name: string(s.Name), Title: s.Title, OK: s.OK, Skipped: s.Skipped, DurationMS: s.Duration.Milliseconds(), Detail: s.Detail}
		if s.Problem != nil {
			j.Problem, j.Kind, j.Fix, j.Status = s.Problem.Message, string(s.Problem.Kind), s.Problem.Fix, s.Problem.Status
		}
		out = append(out, j)
	}
	return out
}

func printCheck(f *Factory, out testConnectionJSON) {
	p := ui.Out(f.IO)
	p.Heading(fmt.Sprintf("Invicti (%s, %s)", out.InvictiURL, out.Region))
	printLayer(p, out.Invicti)
	if out.Entra != nil {
		p.Println()
		p.Heading("Entra")
		if out.Entra.Skipped {
			p.Check(ui.SymSkip, "skipped", out.Entra.Reason)
		}
		printLayer(p, *out.Entra)
	}
	for _, w := range out.Warnings {
		p.Check(ui.SymWarn, "warning", w)
	}
	p.Println()
	if out.OK {
		p.Check(ui.SymOK, "Connection OK", "")
	} else {
		p.Check(ui.SymFail, "Connection test failed", "")
	}
}

func printLayer(p *ui.Printer, l layerJSON) {
	for _, s := range l.Steps {
		dur := fmt.Sprintf("%d ms", s.DurationMS)
		switch {
		case s.Skipped:
			p.Check(ui.SymSkip, s.Title, "skipped")
		case s.OK:
			detail := dur
			if s.Detail != "" {
				detail = s.Detail + ", " + dur
			}
			p.Check(ui.SymOK, s.Title, detail)
		default:
			p.Check(ui.SymFail, s.Title, s.Problem)
			if s.Fix != "" {
				p.Fix(4, s.Fix)
			}
		}
	}
}
