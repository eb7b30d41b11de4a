package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/state"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

// invictiFlags are the flags every command that talks to Invicti shares. No flag takes the
// secret itself: argv is visible in ps and shell history.
type invictiFlags struct {
	Region          string
	URL             string
	ClientID        string
	SecretStdin     bool
	SecretFile      string
	CredentialsFile string
}

func (fl *invictiFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&fl.Region, "region", "", "Invicti Platform region: us, eu or ca")
	fs.StringVar(&fl.URL, "invicti-url", "", "Invicti base URL for on-premises or private tenants (env INVICTI_SCIM_INVICTI_URL)")
	fs.StringVar(&fl.ClientID, "client-id", "", "Invicti SCIM client id, credentials.clientId (env INVICTI_SCIM_CLIENT_ID)")
	fs.BoolVar(&fl.SecretStdin, "client-secret-stdin", false, "Read the Invicti client secret from standard input")
	fs.StringVar(&fl.SecretFile, "client-secret-file", "", "Read the Invicti client secret from a file")
	fs.StringVar(&fl.CredentialsFile, "credentials-file", "", `Read client id and secret from the JSON Invicti returns ({"credentials": {"clientId", "clientSecret"}})`)
	_ = cmd.RegisterFlagCompletionFunc("region", fixedCompletion("us", "eu", "ca"))
}

// invictiInput is the resolved Invicti side.
type invictiInput struct {
	Endpoints   provision.Endpoints
	Credentials provision.Credentials
	// SecretSource says where the secret came from, for messages (never the secret).
	SecretSource string
}

// errMissingInput marks input that was not given at all (as opposed to given wrong), for
// commands where the Invicti side is optional.
var errMissingInput = errors.New("missing input (not running interactively)")

// resolve fills the Invicti input from flags, then the environment, then state, then (when
// allowed) the wizard. Without a terminal, missing input is a usage error naming every flag.
func (fl *invictiFlags) resolve(ctx context.Context, f *Factory, st *state.State, ask bool) (invictiInput, error) {
	var askFn func(wizard.InvictiAnswers) (wizard.InvictiAnswers, error)
	if ask {
		askFn = func(known wizard.InvictiAnswers) (wizard.InvictiAnswers, error) {
			return wizard.AskInvicti(ctx, f.wizardIO(), known)
		}
	}
	return fl.resolveWith(ctx, f, st, askFn)
}

// resolveWith is resolve with the question asked by ask (nil: never ask), so setup can run its
// fuller credentials step.
func (fl *invictiFlags) resolveWith(ctx context.Context, f *Factory, st *state.State, ask func(wizard.InvictiAnswers) (wizard.InvictiAnswers, error)) (invictiInput, error) {
	var in invictiInput

	// Secret sources are exclusive: two of them is almost certainly a mistake.
	var chosen []string
	if fl.SecretStdin {
		chosen = append(chosen, "--client-secret-stdin")
	}
	if fl.SecretFile != "" {
		chosen = append(chosen, "--client-secret-file")
	}
	if fl.CredentialsFile != "" {
		chosen = append(chosen, "--credentials-file")
	}
	if len(chosen) > 1 {
		return in, flagErrorf("use only one secret source, got %s", strings.Join(chosen, " and "))
	}

	clientID := fl.ClientID
	clientIDFlag := "--client-id"
	if clientID == "" {
		clientID = f.Getenv("INVICTI_SCIM_CLIENT_ID")
		clientIDFlag = "INVICTI_SCIM_CLIENT_ID"
	}
	var secret string
	switch {
	case fl.SecretStdin:
		data, err := f.IO.ReadSecret(ctx, "Invicti client secret (input hidden): ", maxSecretFile)
		if err != nil {
			if ctx.Err() != nil {
				return in, ctx.Err()
			}
			return in, flagErrorf("--client-secret-stdin: read standard input: %v", err)
		}
		if secret, err = provision.DecodeSecret("--client-secret-stdin", data); err != nil {
			return in, err
		}
		in.SecretSource = "--client-secret-stdin"
		if secret == "" {
			return in, flagErrorf("--client-secret-stdin: standard input was empty; pipe the secret in, e.g. `printf %%s \"$SECRET\" | invicti-scim ... --client-secret-stdin`")
		}
	case fl.SecretFile != "":
		data, err := readInputFile(fl.SecretFile, maxSecretFile)
		if err != nil {
			return in, flagErrorf("--client-secret-file %s: %v", fl.SecretFile, err)
		}
		if secret, err = provision.DecodeSecret("--client-secret-file "+fl.SecretFile, data); err != nil {
			return in, err
		}
		in.SecretSource = "--client-secret-file"
		if secret == "" {
			return in, flagErrorf("--client-secret-file %s: the file is empty", fl.SecretFile)
		}
	case fl.CredentialsFile != "":
		data, err := readInputFile(fl.CredentialsFile, maxSecretFile)
		if err != nil {
			return in, flagErrorf("--credentials-file %s: %v", fl.CredentialsFile, err)
		}
		cred, err := provision.DecodeCredentials("--credentials-file "+fl.CredentialsFile, data)
		if err != nil {
			return in, err
		}
		if fl.ClientID != "" && fl.ClientID != cred.ClientID {
			return in, flagErrorf("--client-id %q differs from clientId %q in --credentials-file %s; pass one of them", fl.ClientID, cred.ClientID, fl.CredentialsFile)
		}
		clientID, clientIDFlag = cred.ClientID, "--credentials-file"
		secret = cred.ClientSecret
		in.SecretSource = "--credentials-file"
	default:
		if v := f.Getenv("INVICTI_SCIM_CLIENT_SECRET"); v != "" {
			secret = provision.TrimSecret(v)
			in.SecretSource = "INVICTI_SCIM_CLIENT_SECRET"
		}
	}
	if secret != "" {
		if err := provision.ValidateSecret(in.SecretSource, secret); err != nil {
			return in, err
		}
		f.IO.Redactor.Add(secret)
	}

	region, rawURL := fl.Region, fl.URL
	if rawURL == "" && region == "" {
		rawURL = f.Getenv("INVICTI_SCIM_INVICTI_URL")
	}
	given, missing := provision.CompleteInvicti(provision.InvictiGiven{Region: region, URL: rawURL, ClientID: clientID, ClientIDSource: clientIDFlag, Secret: secret}, st)
	region, rawURL, clientID, clientIDFlag = given.Region, given.URL, given.ClientID, given.ClientIDSource

	if len(missing) > 0 && ask != nil {
		ans, err := ask(wizard.InvictiAnswers{Region: region, URL: rawURL, ClientID: clientID, Secret: secret})
		if err != nil {
			return in, err
		}
		region, rawURL, clientID = ans.Region, ans.URL, ans.ClientID
		if ans.Secret != secret {
			secret = ans.Secret
			in.SecretSource = "prompt"
			f.IO.Redactor.Add(secret)
		}
		missing = nil
	}
	if len(missing) > 0 {
		return in, &FlagError{Err: fmt.Errorf("%w: %s", errMissingInput, strings.Join(missing, "; "))}
	}

	ep, cred, err := provision.ResolveInvicti(region, rawURL, clientIDFlag, clientID, secret)
	if err != nil {
		return in, err
	}
	in.Endpoints, in.Credentials = ep, cred
	// Entra and the direct check send these as HTTP Basic; a server may reflect the header.
	f.IO.Redactor.AddBasic(clientID, secret)
	return in, nil
}

// Input file limits (docs/security.md). A secret or credentials file holds a few hundred bytes;
// a principal list (assign --from-file) a few hundred thousand lines at most.
const (
	maxSecretFile    = 64 << 10
	maxPrincipalFile = 16 << 20
)

// readInputFile reads a file named by a flag, at most limit bytes (state.ReadFileLimited).
func readInputFile(path string, limit int64) ([]byte, error) {
	data, err := state.ReadFileLimited(path, limit)
	if tl := (*state.TooLargeError)(nil); errors.As(err, &tl) {
		return nil, fmt.Errorf("the file is larger than %d KiB, more than such a file can hold", limit>>10)
	}
	return data, unwrapPathErr(err)
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (f *Factory) wizardIO() wizard.IO {
	return wizard.IO{In: f.IO.In, Out: f.IO.ErrOut, Accessible: f.IO.Accessible(), Width: f.IO.Width}
}
