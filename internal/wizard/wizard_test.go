package wizard

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

const (
	testID     = "scim-client-1"
	testSecret = "s3cr3t-Value-For-Tests-0123456789"
)

// accessible runs a step in huh's accessible mode, which reads one answer per line: the same
// forms, driven in-process.
func accessible(input string) (IO, *bytes.Buffer) {
	out := &bytes.Buffer{}
	return IO{In: &lineReader{rest: input}, Out: out, Accessible: true}, out
}

// lineReader hands out one line per Read, as a terminal in canonical mode does: each form
// reads its answer through its own buffer, which must not swallow the next form's answers.
type lineReader struct{ rest string }

func (r *lineReader) Read(p []byte) (int, error) {
	if r.rest == "" {
		return 0, io.EOF
	}
	line, _, _ := strings.Cut(r.rest, "\n")
	n := copy(p, line+"\n")
	r.rest = r.rest[min(len(r.rest), n):]
	return n, nil
}

// TestAskCredentialsCorrectsOnlyTheURL: the direct check runs on the values given; when the
// base URL is what failed, the suggested correction is the URL and only it is asked again (the
// client id and secret are kept).
func TestAskCredentialsCorrectsOnlyTheURL(t *testing.T) {
	wio, out := accessible(strings.Join([]string{
		"1",                            // What do you want to correct? The region or base URL
		"4",                            // On-premises: enter its URL
		"https://invicti2.example.com", // the corrected URL
	}, "\n") + "\n")
	var tried []string
	step := CredentialsStep{
		Known: InvictiAnswers{URL: "https://invicti.example.com", ClientID: testID, Secret: testSecret},
		Check: func(_ context.Context, ep invicti.Endpoints, c invicti.Credentials) *invicti.Problem {
			tried = append(tried, ep.TenantURL)
			if c.ClientID != testID || c.ClientSecret != testSecret {
				t.Errorf("checked with %q", c.ClientID)
			}
			if ep.BaseURL != "https://invicti2.example.com" {
				return &invicti.Problem{Kind: invicti.ProblemNotFound, Message: "HTTP 404 from " + ep.TenantURL, Fix: "Is " + ep.BaseURL + " the Invicti Platform base URL?"}
			}
			return nil
		},
	}
	a, err := AskCredentials(context.Background(), wio, step)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if a.URL != "https://invicti2.example.com" || a.ClientID != testID || a.Secret != testSecret {
		t.Fatalf("answers %+v", a)
	}
	if strings.Join(tried, " ") != "https://invicti.example.com/api/scim/v2 https://invicti2.example.com/api/scim/v2" {
		t.Fatalf("checks %q", tried)
	}
	for _, notAsked := range []string{"Invicti client id", "Invicti client secret", "Do you have the SCIM client credentials?"} {
		if strings.Contains(out.String(), notAsked) {
			t.Errorf("%q was asked again:\n%s", notAsked, out)
		}
	}
	if !strings.Contains(out.String(), "HTTP 404 from https://invicti.example.com/api/scim/v2") {
		t.Errorf("the cause is not shown:\n%s", out)
	}
}

// TestAskCredentialsStop: choosing "Stop here" after a failed check returns CheckFailedError
// carrying Invicti's fix.
func TestAskCredentialsStop(t *testing.T) {
	wio, _ := accessible("6\n")
	_, err := AskCredentials(context.Background(), wio, CredentialsStep{
		Known: InvictiAnswers{Region: "eu", ClientID: testID, Secret: testSecret},
		Check: func(context.Context, invicti.Endpoints, invicti.Credentials) *invicti.Problem {
			return &invicti.Problem{Kind: invicti.ProblemUnauthorized, Message: "HTTP 403", Fix: "Authorize the client registration"}
		},
	})
	var cf *CheckFailedError
	if !errors.As(err, &cf) || cf.Hint() != "Authorize the client registration" {
		t.Fatalf("err = %v", err)
	}
}

func TestSuggestedFix(t *testing.T) {
	for k, want := range map[invicti.ProblemKind]string{
		invicti.ProblemDNS: fixURL, invicti.ProblemNotSCIM: fixURL, invicti.ProblemAudience: fixURL,
		invicti.ProblemInvalidClient: fixSecret, invicti.ProblemUnauthorized: fixRetry, invicti.ProblemServer: fixRetry,
	} {
		if got := suggestedFix(k); got != want {
			t.Errorf("%s: %s, want %s", k, got, want)
		}
	}
}

// TestHowToLinesFillTheBaseURL: "No, show me how" names the login request on the admin's own
// region and links Invicti's page, each on a line short enough not to be cut at 80 columns.
func TestHowToLinesFillTheBaseURL(t *testing.T) {
	lines := HowToLines("https://platform-ca.invicti.com")
	text := strings.Join(lines, "\n")
	for _, want := range []string{"POST https://platform-ca.invicti.com/api/identity/v1/userCredentials/login", SetUpSCIMURL, "credentials.clientId"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	for _, l := range lines {
		if len([]rune(l)) > 80 {
			t.Errorf("line longer than 80 columns: %q", l)
		}
	}
}

// TestThemeMarksTheChosenButton: with no colour the chosen Yes/No button still shows, in
// brackets.
func TestThemeMarksTheChosenButton(t *testing.T) {
	th := theme(true)
	if got := th.Focused.FocusedButton.Render("Yes"); !strings.Contains(got, "[Yes]") {
		t.Errorf("focused button %q", got)
	}
	if got := th.Focused.BlurredButton.Render("No"); strings.Contains(got, "[No]") {
		t.Errorf("blurred button %q", got)
	}
}

// TestAccessibleEmptyAnswerKeepsTheDefault: in accessible mode the pre-filled value is not on
// the answer line, so an empty answer keeps it, and the description says so.
func TestAccessibleEmptyAnswerKeepsTheDefault(t *testing.T) {
	wio, out := accessible("\n")
	got, err := AskText(context.Background(), wio, "Enterprise app name", "The app.", "Invicti Platform", func(s string) error {
		if s == "" {
			return errors.New("enter a name")
		}
		return nil
	})
	if err != nil || got != "Invicti Platform" {
		t.Fatalf("AskText = %q, %v\n%s", got, err, out)
	}
	if w := (IO{Accessible: true}).withDefault("The app.", "Invicti Platform", false); !strings.Contains(w, "An empty answer keeps Invicti Platform.") {
		t.Errorf("description %q", w)
	}
}

// TestFieldErrorNamesTheField: a refused URL in the wizard names the field, never the
// --invicti-url flag its user did not type, and on an 80-column terminal its lines continue
// under the text after huh's " * " mark, none wider than 79 columns.
func TestFieldErrorNamesTheField(t *testing.T) {
	_, err := invicti.ParseBaseURL("http://evil.example")
	wio := IO{Width: func() int { return 80 }}
	got := wio.fieldError("Invicti base URL", err).Error()
	if strings.Contains(got, "--invicti-url") || !strings.HasPrefix(got, "Invicti base URL: plain http") {
		t.Fatalf("error %q", got)
	}
	lines := strings.Split(" * "+got, "\n")
	if len(lines) < 2 {
		t.Fatalf("not wrapped at 80 columns: %q", got)
	}
	for i, l := range lines {
		if len([]rune(l)) > 79 || (i > 0 && !strings.HasPrefix(l, "   ") || strings.HasPrefix(l, "    ")) {
			t.Errorf("line %d %q", i, l)
		}
	}
	if piped := (IO{}).fieldError("Invicti base URL", err).Error(); strings.Contains(piped, "\n") {
		t.Errorf("with no known width the error is one line: %q", piped)
	}
}
