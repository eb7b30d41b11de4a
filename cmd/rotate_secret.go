package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/shellarg"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

type rotateOptions struct {
	invicti invictiFlags
	graph   graphFlags
	app     appFlags
}

type rotateJSON struct {
	ServicePrincipalID string           `json:"servicePrincipalId"`
	JobID              string           `json:"jobId"`
	ClientID           string           `json:"clientId"`
	Steps              []provision.Step `json:"steps"`
	OK                 bool             `json:"ok"`
	Error              *errorJSON       `json:"error,omitempty"` // with "ok": false (README)
}

func newRotateSecretCmd(f *Factory) *cobra.Command {
	opts := &rotateOptions{}
	cmd := &cobra.Command{
		Use:   "rotate-secret",
		Short: "Give the app a new Invicti client secret without rebuilding it",
		Long: `Replace the Invicti client secret (and, if it changed, the client id) saved in the app:
check the new credentials directly against Invicti, write them, run Entra's Test Connection,
and keep the job running, by setup's rule: a job the old secret sent to quarantine is
restarted (reset QuarantineState) once the new settings pass; a quarantine for another reason,
such as too many deletes, is a safety stop and is left for you to look at (exit 1).
The secret comes from the usual sources, never from a flag value.`,
		Example: `  printf %s "$NEW_SECRET" | invicti-scim rotate-secret --client-secret-stdin
  invicti-scim rotate-secret --credentials-file new-creds.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := f.context(cmd.Context())
			defer cancel()
			return runRotate(ctx, f, opts)
		},
	}
	opts.invicti.register(cmd)
	opts.graph.register(cmd)
	opts.app.register(cmd)
	return cmd
}

func runRotate(ctx context.Context, f *Factory, opts *rotateOptions) error {
	store, st, err := f.loadState(ctx)
	if err != nil {
		return err
	}
	cloud, mode, token, err := opts.graph.validate(f)
	if err != nil {
		return err
	}
	in, err := opts.invicti.resolve(ctx, f, &st, f.CanPrompt())
	if err != nil {
		return err
	}
	sp := ui.NewSpinner(f.IO)
	defer sp.Stop()
	out := rotateJSON{ClientID: in.Credentials.ClientID}
	// A run that fails before Graph is asked still names the app it was for: the one given by
	// --sp-id, else (without --app-id) the one setup recorded.
	switch {
	case opts.app.SPID != "":
		out.ServicePrincipalID = opts.app.SPID
	case opts.app.AppID == "" && st.App != nil:
		out.ServicePrincipalID, out.JobID = st.App.ServicePrincipalID, st.App.JobID
	}
	step := func(id, title string, o provision.Outcome, detail string) {
		out.Steps = append(out.Steps, provision.Step{ID: id, Title: title, Outcome: o, Detail: detail})
		if !f.JSON() {
			sp.Stop()
			sym := ui.SymOK
			if o == provision.Failed {
				sym = ui.SymFail
			}
			ui.Err(f.IO).Check(sym, title, string(o)+": "+detail)
		}
	}
	finish := func(err error) error {
		if f.JSON() {
			out.OK, out.Error = err == nil, f.errJSON(err)
			if perr := printJSON(f, out); perr != nil {
				return perr
			}
		}
		return err
	}

	sp.Set("Checking the new credentials with Invicti")
	res := f.Checker().Check(ctx, in.Endpoints, in.Credentials)
	if !res.OK {
		l := layerJSON{Steps: stepsJSON(res.Steps)}
		step("invicti-check", "Check the new credentials directly", provision.Failed, firstProblem(&l))
		return finish(&provision.ConnectionError{Layer: "invicti", Message: firstProblem(&l), Fix: "nothing was changed in Entra; check the new client id and secret"})
	}
	step("invicti-check", "Check the new credentials directly", provision.Passed, in.Endpoints.BaseURL)

	conn, err := opts.graph.connect(f, cloud, mode, token, throttleNotice(sp))
	if err != nil {
		return finish(err)
	}
	spID, jobID, err := resolveAppFromState(ctx, conn, opts.app, st)
	if err != nil {
		return finish(err)
	}
	out.ServicePrincipalID, out.JobID = spID, jobID
	rot, err := provision.RotateSecret(ctx, conn.Client, provision.RotateRequest{
		ServicePrincipalID: spID, JobID: jobID,
		Ownership: provision.Ownership{TemplateID: conn.Cloud.TemplateID, Recorded: provision.RecordedSP(st),
			What: "rotate-secret writes the Invicti secret only into apps invicti-scim made",
			Hint: "if this is the app to use, run `" + shellarg.Command("setup", "--adopt", spID) + "` first"},
		Settings: provision.Settings{Endpoints: in.Endpoints, Credentials: in.Credentials},
		Writer:   provision.Writer(st.Setup.SettingsWriter),
		OnSaved: func(saved provision.SaveSettingsResult) error {
			if st.Setup.SettingsWriter == string(saved.Writer) && st.Setup.SecretsKeySet == provision.KeySetName {
				return nil
			}
			st.Setup.SettingsWriter, st.Setup.SecretsKeySet, st.Setup.Experimental = string(saved.Writer), provision.KeySetName, saved.Writer.Experimental()
			return store.Save(st)
		},
		Progress: func(e provision.Event) {
			if e.Kind == provision.EventBegin || e.Kind == provision.EventWait {
				sp.Set(e.Message)
			}
		},
		OnStep: func(s provision.Step) { step(s.ID, s.Title, s.Outcome, s.Detail) },
	})
	if rot != nil {
		out.ServicePrincipalID, out.JobID = rot.ServicePrincipalID, rot.JobID
	}
	if err != nil {
		return finish(err)
	}
	if st.Invicti != nil && st.Invicti.ClientID != in.Credentials.ClientID {
		st.Invicti.ClientID = in.Credentials.ClientID
		if err := store.Save(st); err != nil {
			return finish(err)
		}
	}
	return finish(nil)
}
