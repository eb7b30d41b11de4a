package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"charm.land/huh/v2"

	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// Links the wizard shows: Invicti's pages for the credentials and for the Entra side.
const (
	SetUpSCIMURL          = "https://docs.invicti.com/ip/set-up-scim-provisioning"
	ConfigureDirectoryURL = "https://docs.invicti.com/ip/scim-configure-directory"
)

// CredentialsStep is what the Invicti credentials step starts from: the values flags, the
// environment or state already gave (each "" when not), defaults to offer, and the direct
// check to run once the values are in.
type CredentialsStep struct {
	Known InvictiAnswers
	// Default pre-fills the questions (the sandbox's URL and client): each is still asked and
	// Enter accepts it.
	Default InvictiAnswers
	// Check runs Invicti's direct check (token, ServiceProviderConfig, user query) and returns
	// the first problem, nil when it passed.
	Check func(ctx context.Context, ep invicti.Endpoints, cred invicti.Credentials) *invicti.Problem
	// MaxFile bounds a credentials file read from a path the admin types.
	MaxFile int64
}

// How the admin gives the credentials.
const (
	srcPaste = "paste"
	srcFile  = "file"
	srcType  = "type"
	srcHowTo = "howto"
)

// What to correct after a failed check.
const (
	fixURL    = "url"
	fixID     = "id"
	fixSecret = "secret"
	fixPaste  = "paste"
	fixRetry  = "retry"
	fixStop   = "stop"
)

// AskCredentials asks for what the Invicti side still needs: the region (showing the Tenant URL
// and Token Endpoint it gives), then the SCIM client credentials (pasted JSON, a file, typed,
// or "show me how"), then runs the direct check right away. When the check fails it explains
// the cause and lets the admin correct just the failing value. It returns ErrCancelled when the
// admin stops.
func AskCredentials(ctx context.Context, wio IO, step CredentialsStep) (InvictiAnswers, error) {
	a := step.Known
	if a.Region == "" && a.URL == "" {
		if err := askRegion(ctx, wio, &a, step.Default); err != nil {
			return a, err
		}
	}
	if a.ClientID == "" || a.Secret == "" {
		if err := askClient(ctx, wio, &a, step); err != nil {
			return a, err
		}
	}
	if step.Check == nil {
		return a, nil
	}
	for {
		ep, err := invicti.ResolveEndpoints(a.Region, a.URL)
		if err != nil {
			return a, err
		}
		p := step.Check(ctx, ep, invicti.Credentials{ClientID: a.ClientID, ClientSecret: a.Secret})
		if p == nil {
			wio.say("✓ Invicti accepted the client credentials (token, SCIM config, user query)", "")
			return a, nil
		}
		if ctx.Err() != nil {
			return a, ErrCancelled
		}
		wio.say("✗ The direct check with Invicti failed: "+p.Message, "  "+p.Fix, "")
		fix := suggestedFix(p.Kind)
		if err := run(ctx, wio, huh.NewGroup(huh.NewSelect[string]().
			Title("What do you want to correct?").
			Description("Only the value you pick is asked again.").
			Options(
				huh.NewOption("The region or base URL ("+ep.BaseURL+")", fixURL),
				huh.NewOption("The client id ("+a.ClientID+")", fixID),
				huh.NewOption("The client secret", fixSecret),
				huh.NewOption("Paste the JSON Invicti returned again", fixPaste),
				huh.NewOption("Nothing: I fixed it in Invicti, check again", fixRetry),
				huh.NewOption("Stop here", fixStop),
			).Value(&fix))); err != nil {
			return a, err
		}
		switch fix {
		case fixURL:
			cur := a
			a.Region, a.URL = "", ""
			if err := askRegion(ctx, wio, &a, InvictiAnswers{Region: cur.Region, URL: cur.URL}); err != nil {
				return a, err
			}
		case fixID:
			if err := askID(ctx, wio, &a, a.ClientID); err != nil {
				return a, err
			}
		case fixSecret:
			// The sandbox's secret is never shown, so a typo there would leave no way on but
			// Ctrl-C: the correction offers it again, pre-filled (Enter accepts it).
			a.Secret = ""
			if err := askSecret(ctx, wio, &a, step.Default.Secret); err != nil {
				return a, err
			}
		case fixPaste:
			if err := askPaste(ctx, wio, &a); err != nil {
				return a, err
			}
		case fixStop:
			return a, &CheckFailedError{Problem: *p}
		}
	}
}

// CheckFailedError is a direct check the admin chose not to correct. The CLI exits 3.
type CheckFailedError struct{ Problem invicti.Problem }

func (e *CheckFailedError) Error() string { return "Invicti check failed: " + e.Problem.Message }

// Hint is what to do about it.
func (e *CheckFailedError) Hint() string { return e.Problem.Fix }

// suggestedFix maps a check problem to the value most likely wrong.
func suggestedFix(k invicti.ProblemKind) string {
	switch k {
	case invicti.ProblemDNS, invicti.ProblemTLS, invicti.ProblemConnection, invicti.ProblemTimeout,
		invicti.ProblemNotFound, invicti.ProblemNotSCIM, invicti.ProblemAudience:
		return fixURL
	case invicti.ProblemInvalidClient:
		return fixSecret
	}
	return fixRetry
}

// askRegion asks for the region, showing the Tenant URL and Token Endpoint each choice gives.
func askRegion(ctx context.Context, wio IO, a *InvictiAnswers, def InvictiAnswers) error {
	choice := "us"
	switch {
	case def.Region != "":
		choice = def.Region
	case def.URL != "":
		choice = customRegion
	}
	opts := []huh.Option[string]{}
	for _, r := range invicti.Regions() {
		opts = append(opts, huh.NewOption(r.Label+" ("+r.BaseURL+")", r.Name))
	}
	opts = append(opts, huh.NewOption("On-premises, private tenant or sandbox (enter its URL)", customRegion))
	sel := huh.NewSelect[string]().
		Title("Invicti Platform region").
		Options(opts...).
		Value(&choice).
		DescriptionFunc(func() string {
			if choice == customRegion {
				return "Where you sign in to Invicti. You enter the URL next."
			}
			r, _ := invicti.LookupRegion(choice)
			return endpointsText(invicti.EndpointsFor(r.BaseURL))
		}, &choice)
	if err := run(ctx, wio, huh.NewGroup(sel)); err != nil {
		return err
	}
	if choice != customRegion {
		a.Region = choice // the form left on screen shows the Tenant URL and Token Endpoint
		return nil
	}
	u := def.URL
	in := huh.NewInput().
		Title("Invicti base URL").
		Value(&u).
		DescriptionFunc(func() string {
			base, err := invicti.ParseBaseURL(u)
			if err != nil {
				return "For example https://invicti.example.com (https; the tool derives the Tenant URL and Token Endpoint)."
			}
			return endpointsText(invicti.EndpointsFor(base))
		}, &u).
		Validate(wio.orDefault(def.URL, func(s string) error {
			_, err := invicti.ParseBaseURL(s)
			return wio.fieldError("Invicti base URL", err)
		}))
	if wio.Accessible {
		in = in.Description(wio.withDefault("The Tenant URL and Token Endpoint are derived from it.", def.URL, false))
	}
	if err := run(ctx, wio, huh.NewGroup(in)); err != nil {
		return err
	}
	a.URL = strings.TrimSpace(wio.keep(u, def.URL))
	return nil
}

// endpointsText shows the two values Entra needs, each on its own line so a narrow terminal
// wraps rather than cuts them.
func endpointsText(ep invicti.Endpoints) string {
	return "Tenant URL:\n  " + ep.TenantURL + "\nToken Endpoint:\n  " + ep.TokenURL
}

func askClient(ctx context.Context, wio IO, a *InvictiAnswers, step CredentialsStep) error {
	src := srcPaste
	if step.Default.ClientID != "" || wio.Accessible {
		// The sandbox's values are pre-filled there; and line-by-line prompts read one line
		// and show what is pasted, where the typed secret is hidden.
		src = srcType
	}
	for {
		if err := run(ctx, wio, huh.NewGroup(huh.NewSelect[string]().
			Title("Do you have the SCIM client credentials?").
			Description("credentials.clientId and credentials.clientSecret, from the client registration you created in Invicti.").
			Options(
				huh.NewOption("Yes, paste the JSON Invicti returned", srcPaste),
				huh.NewOption("Yes, in a file (the JSON Invicti returned)", srcFile),
				huh.NewOption("Yes, type them", srcType),
				huh.NewOption("No, show me how", srcHowTo),
			).Value(&src))); err != nil {
			return err
		}
		var err error
		switch src {
		case srcPaste:
			err = askPaste(ctx, wio, a)
		case srcFile:
			err = askFile(ctx, wio, a, step.MaxFile)
		case srcType:
			if a.ClientID == "" {
				err = askID(ctx, wio, a, step.Default.ClientID)
			}
			if err == nil && a.Secret == "" {
				err = askSecret(ctx, wio, a, step.Default.Secret)
			}
		case srcHowTo:
			if err = showHowTo(ctx, wio, *a); err == nil {
				src = srcPaste
				continue
			}
		}
		return err
	}
}

func askPaste(ctx context.Context, wio IO, a *InvictiAnswers) error {
	var raw string
	var parsed invicti.Credentials
	desc := "The whole response is fine: only credentials.clientId and credentials.clientSecret are used. Enter finishes."
	if wio.Accessible {
		desc = "Screen-reader mode reads one line: paste the JSON as a single line. What you paste is shown, secret included; \"Yes, type them\" hides the secret."
	}
	txt := huh.NewText().
		Title("Paste the JSON Invicti returned").
		Description(desc).
		Lines(4).
		Value(&raw).
		Validate(func(s string) error {
			c, err := invicti.ParseCredentialsJSON("the pasted JSON", []byte(s))
			if err != nil {
				return err
			}
			parsed = c
			return nil
		})
	// The record left on screen names the client id and hides the secret: the pasted JSON
	// holds it in plain text, and the terminal's scrollback would keep it.
	record := func() string {
		return "\n  Paste the JSON Invicti returned\n  > (pasted: client id " + parsed.ClientID + ", client secret hidden)\n"
	}
	if err := runRecorded(ctx, wio, record, huh.NewGroup(txt)); err != nil {
		return err
	}
	a.ClientID, a.Secret = parsed.ClientID, parsed.ClientSecret
	wio.say("Client id "+a.ClientID+" and its secret read from the pasted JSON.", "")
	return nil
}

func askFile(ctx context.Context, wio IO, a *InvictiAnswers, limit int64) error {
	if limit <= 0 {
		limit = 64 << 10
	}
	var path string
	var parsed invicti.Credentials
	in := huh.NewInput().
		Title("Credentials file").
		Description("The JSON Invicti returned, saved to a file.").
		Value(&path).
		Validate(func(s string) error {
			data, err := readLimited(strings.TrimSpace(s), limit)
			if err != nil {
				return err
			}
			c, err := invicti.ParseCredentialsJSON(strings.TrimSpace(s), data)
			if err != nil {
				return err
			}
			parsed = c
			return nil
		})
	if err := run(ctx, wio, huh.NewGroup(in)); err != nil {
		return err
	}
	a.ClientID, a.Secret = parsed.ClientID, parsed.ClientSecret
	return nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	if path == "" {
		return nil, errors.New("enter a path")
	}
	data, err := state.ReadFileLimited(path, limit)
	var tl *state.TooLargeError
	var pe *os.PathError
	switch {
	case errors.As(err, &tl):
		return nil, fmt.Errorf("%s is larger than %d KiB, more than a credentials file holds", path, limit>>10)
	case err != nil && !errors.As(err, &pe):
		return nil, fmt.Errorf("%s: %w", path, err) // could not open it: name the file
	}
	return data, err
}

func askID(ctx context.Context, wio IO, a *InvictiAnswers, def string) error {
	v := def
	if err := run(ctx, wio, huh.NewGroup(huh.NewInput().
		Title("Invicti client id").
		Description(wio.withDefault("credentials.clientId of the SCIM client registration.", def, false)).
		Value(&v).
		Validate(wio.orDefault(def, func(s string) error {
			return wio.fieldError("Invicti client id", invicti.ValidateClientID("client id", strings.TrimSpace(s)))
		})))); err != nil {
		return err
	}
	a.ClientID = strings.TrimSpace(wio.keep(v, def))
	return nil
}

func askSecret(ctx context.Context, wio IO, a *InvictiAnswers, def string) error {
	v := def
	desc := "credentials.clientSecret; sent to Invicti and saved in Entra, never written to disk by this tool."
	if def != "" {
		desc = "Pre-filled with the sandbox's secret (hidden); Enter accepts it."
	}
	if err := run(ctx, wio, huh.NewGroup(huh.NewInput().
		Title("Invicti client secret").
		Description(wio.withDefault(desc, def, true)).
		EchoMode(huh.EchoModePassword).
		Value(&v).
		Validate(wio.orDefault(def, func(s string) error {
			return wio.fieldError("Invicti client secret", invicti.ValidateSecret("client secret", invicti.TrimSecret(s)))
		})))); err != nil {
		return err
	}
	a.Secret = invicti.TrimSecret(wio.keep(v, def))
	if a.Secret == "" {
		return &InputError{Msg: "no client secret was entered (password prompts need a terminal; use --client-secret-stdin or --client-secret-file)"}
	}
	return nil
}

// HowToLines are the steps of Invicti's "Set up SCIM provisioning" page, with the region's base
// URL filled in (https://docs.invicti.com/ip/set-up-scim-provisioning).
func HowToLines(baseURL string) []string {
	if baseURL == "" {
		baseURL = "<your Invicti base URL>"
	}
	return []string{
		"Get SCIM client credentials in Invicti (Invicti Ultimate with API access):",
		"  1. Sign in as an Owner and get a short-lived token (valid 1 hour):",
		"     POST " + baseURL + "/api/identity/v1/userCredentials/login",
		`     {"emailAddress": "<your e-mail>", "password": "<your password>"}`,
		"     The response carries accessToken.",
		"  2. With that token, create a client registration (step 2 of the page).",
		"  3. Authorize the client registration (step 3 of the page).",
		"  4. Keep the JSON it returns: credentials.clientId and",
		"     credentials.clientSecret are what this wizard needs.",
		"  The page, with the exact requests:",
		"    " + SetUpSCIMURL,
	}
}

// showHowTo prints the steps and waits until the admin has the credentials.
func showHowTo(ctx context.Context, wio IO, a InvictiAnswers) error {
	base := ""
	if ep, err := invicti.ResolveEndpoints(a.Region, a.URL); err == nil {
		base = ep.BaseURL
	}
	wio.say(HowToLines(base)...)
	wio.say("")
	ready := true
	if err := run(ctx, wio, huh.NewGroup(huh.NewConfirm().
		Title("Do you have the credentials now?").
		Description("Take your time: nothing has been changed. No stops here; run the same command again once you have them.").
		Affirmative("Yes").Negative("No").Value(&ready))); err != nil {
		return err
	}
	if !ready {
		return ErrNotReady
	}
	return nil
}
