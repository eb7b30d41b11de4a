// Package wizard asks the admin for what flags did not give, with huh forms. It is the only
// package that imports huh; it validates inline and returns plain answers, never acting on them.
package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/pkg/invicti"
)

// ErrCancelled means the admin left a form (Ctrl-C or Esc). The CLI exits 130.
var ErrCancelled = errors.New("cancelled")

// ErrNotReady means the admin answered that they do not have Invicti's SCIM client
// credentials yet: a choice, like No at a plan, not an interruption. Nothing was changed.
var ErrNotReady = errors.New("no SCIM client credentials yet")

// InputError is an answer the wizard could not accept.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// IO is where forms read keys and draw (stderr, so stdout stays data).
type IO struct {
	In         io.Reader
	Out        io.Writer
	Accessible bool
	// Say prints lines between forms (explanations, check results) through the caller's
	// sanitising printer; nil writes them to Out as they are.
	Say func(lines ...string)
	// Width is the terminal's width in columns (0 when unknown), so that an answer's error is
	// wrapped under its own text rather than by huh from the first column; nil is unknown.
	Width func() int
}

func (w IO) say(lines ...string) {
	if w.Say != nil {
		w.Say(lines...)
		return
	}
	for _, l := range lines {
		_, _ = io.WriteString(w.Out, l+"\n")
	}
}

func run(ctx context.Context, wio IO, groups ...*huh.Group) error {
	return runRecorded(ctx, wio, nil, groups...)
}

// runRecorded is run with record, when not nil, giving the lines left on screen once the form
// is answered instead of the form's own last frame: for an answer that must not stay in the
// terminal's scrollback (pasted JSON with a client secret).
func runRecorded(ctx context.Context, wio IO, record func() string, groups ...*huh.Group) error {
	form := huh.NewForm(groups...).
		WithInput(wio.In).
		WithOutput(wio.Out).
		WithAccessible(wio.Accessible).
		WithShowHelp(true).
		WithTheme(huh.ThemeFunc(theme))
	var err error
	if wio.Accessible {
		err = runAccessible(ctx, form)
	} else {
		err = runForm(ctx, wio, form, record)
	}
	if errors.Is(err, huh.ErrUserAborted) || errors.Is(err, tea.ErrInterrupted) || errors.Is(err, context.Canceled) {
		return ErrCancelled
	}
	return err
}

// runAccessible runs form's line-by-line prompts (screen-reader mode). Those block reading
// standard input and do not watch ctx, so Ctrl-C (which cancels ctx) printed "^C" and the
// questions went on; this returns as soon as ctx ends. The prompt's read is left to the
// process's exit, which follows a cancellation.
func runAccessible(ctx context.Context, form *huh.Form) error {
	done := make(chan error, 1)
	go func() { done <- form.RunWithContext(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runForm runs form on the terminal as huh's Form.RunWithContext does, through answerFrame so
// that the frame left on screen shows the answer given.
func runForm(ctx context.Context, wio IO, form *huh.Form, record func() string) error {
	form.SubmitCmd, form.CancelCmd = tea.Quit, tea.Interrupt
	m := &answerFrame{form: form, record: record}
	_, err := tea.NewProgram(m, tea.WithInput(wio.In), tea.WithOutput(wio.Out), tea.WithContext(ctx)).Run()
	if form.State == huh.StateAborted {
		return ErrCancelled
	}
	if err != nil {
		return fmt.Errorf("form: %w", err)
	}
	return nil
}

// answerFrame is a huh form as a bubbletea model whose last frame is the record of the
// question and its answer. huh's own run loop spoils that record in three ways:
//   - huh's Form.View is empty once the form is done or aborted, and bubbletea's last flush
//     draws whatever View said last: an empty frame erased the question and its answer (the
//     region select vanished).
//   - bubbletea leaves the cursor at the start of the frame's last row, so whatever is printed
//     next overwrote that row (the last name of a list, "dave"; the second line of an error
//     under "error: cancelled").
//   - bubbletea's renderer loses track of the cursor when a frame shrinks after it grew (a
//     validation error shown, then gone): the next frames were drawn rows too low, leaving
//     rows of the old frame behind (a stale description line above the corrected field).
//
// So every frame ends in an empty row that the next output may take, a frame is never
// shorter than the tallest one before it (padded with empty rows), and the final frame of a
// completed form is the form as last drawn while it took keys (after the key that gave the
// answer, y at a Yes/No question included) without its key help. An aborted form keeps the
// frame on screen as it is: bubbletea does not flush a frame after an interrupt.
type answerFrame struct {
	form *huh.Form
	// live is the latest frame drawn while the form took keys; final is that frame without
	// the key help, left on screen once the form is done.
	live, final string
	// rows is the most rows a frame of this form has had.
	rows int
	// record, when not nil, replaces final once the form is completed (runRecorded).
	record func() string
}

func (m *answerFrame) Init() tea.Cmd { return m.form.Init() }

func (m *answerFrame) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := m.form.Update(msg)
	if m.form.State == huh.StateNormal {
		m.live = m.form.View() + "\n"
		m.final = finalFrame(m.form)
	}
	return m, cmd
}

func (m *answerFrame) View() tea.View {
	content := m.form.View() + "\n"
	switch m.form.State {
	case huh.StateCompleted:
		content = m.final
		if m.record != nil {
			content = strings.TrimRight(m.record(), "\n") + "\n"
		}
	case huh.StateAborted:
		content = m.live
	}
	content, m.rows = padRows(content, m.rows)
	v := tea.NewView(content)
	v.ReportFocus = true // as huh's run loop asks
	return v
}

// finalFrame is form's view without the key help (it means nothing once the form is gone),
// plus the empty row bubbletea leaves the cursor on.
func finalFrame(form *huh.Form) string {
	form.WithShowHelp(false)
	v := form.View()
	form.WithShowHelp(true)
	return strings.TrimRight(v, " \n") + "\n"
}

// padRows pads content with empty rows to at least rows rows, and returns the rows it has.
func padRows(content string, rows int) (string, int) {
	n := strings.Count(content, "\n") + 1
	if n < rows {
		content += strings.Repeat("\n", rows-n)
	}
	return content, max(n, rows)
}

// InvictiAnswers are the Invicti connection values.
type InvictiAnswers struct {
	Region   string
	URL      string
	ClientID string
	Secret   string
}

const customRegion = "custom"

// AskInvicti asks for the region (or an on-premises URL), the client id and the secret, each
// only if missing. The secret is typed into a password field and never echoed.
func AskInvicti(ctx context.Context, wio IO, a InvictiAnswers) (InvictiAnswers, error) {
	if a.Region == "" && a.URL == "" {
		choice := "us"
		opts := []huh.Option[string]{}
		for _, r := range invicti.Regions() {
			opts = append(opts, huh.NewOption(r.Label+" ("+r.BaseURL+")", r.Name))
		}
		opts = append(opts, huh.NewOption("On-premises or private tenant (enter its URL)", customRegion))
		if err := run(ctx, wio, huh.NewGroup(
			huh.NewSelect[string]().
				Title("Invicti Platform region").
				Description("Where your Invicti Platform account lives: the host you sign in to.").
				Options(opts...).
				Value(&choice),
		)); err != nil {
			return a, err
		}
		if choice == customRegion {
			var u string
			if err := run(ctx, wio, huh.NewGroup(
				huh.NewInput().
					Title("Invicti base URL").
					Description("For example https://invicti.example.com (https; the tool derives /api/scim/v2 and /oauth/token).").
					Value(&u).
					Validate(func(s string) error {
						_, err := invicti.ParseBaseURL(s)
						return wio.fieldError("Invicti base URL", err)
					}),
			)); err != nil {
				return a, err
			}
			a.URL = strings.TrimSpace(u)
		} else {
			a.Region = choice
		}
	}
	var fields []huh.Field
	if a.ClientID == "" {
		fields = append(fields, huh.NewInput().
			Title("Invicti client id").
			Description("credentials.clientId of the SCIM client registration you created in Invicti.").
			Value(&a.ClientID).
			Validate(func(s string) error { return invicti.ValidateClientID("client id", strings.TrimSpace(s)) }))
	}
	if a.Secret == "" {
		fields = append(fields, huh.NewInput().
			Title("Invicti client secret").
			Description("credentials.clientSecret; it is sent to Invicti and saved in Entra, never written to disk by this tool.").
			EchoMode(huh.EchoModePassword).
			Value(&a.Secret).
			Validate(func(s string) error { return invicti.ValidateSecret("client secret", invicti.TrimSecret(s)) }))
	}
	if len(fields) > 0 {
		if err := run(ctx, wio, huh.NewGroup(fields...)); err != nil {
			return a, err
		}
	}
	a.ClientID = strings.TrimSpace(a.ClientID)
	a.Secret = invicti.TrimSecret(a.Secret)
	if a.Secret == "" {
		return a, &InputError{Msg: "no client secret was entered (password prompts need a terminal; use --client-secret-stdin or --client-secret-file)"}
	}
	return a, nil
}

// AskText asks for one line of text with a default.
func AskText(ctx context.Context, wio IO, title, description, def string, validate func(string) error) (string, error) {
	v := def
	in := huh.NewInput().Title(title).Description(wio.withDefault(description, def, false)).Value(&v)
	if validate != nil {
		in = in.Validate(wio.orDefault(def, validate))
	}
	if err := run(ctx, wio, huh.NewGroup(in)); err != nil {
		return "", err
	}
	return strings.TrimSpace(wio.keep(v, def)), nil
}

// Accessible mode reads each answer as a fresh line, so a pre-filled default is not on it:
// there an empty answer means the default, and the description says so.

// withDefault adds "Enter accepts …" to a description in accessible mode (hidden: a secret).
// huh's accessible mode prints a field's title but not its description, so there the
// description is also said as a line of its own, right before the form that asks.
func (w IO) withDefault(desc, def string, hidden bool) string {
	if !w.Accessible {
		return desc
	}
	switch {
	case def == "":
	case hidden:
		desc += " An empty answer keeps the pre-filled value."
	default:
		desc += " An empty answer keeps " + def + "."
	}
	w.sayAccessible(desc)
	return desc
}

// sayAccessible prints lines in accessible mode only (what a screen reader would otherwise
// miss); nowhere to print is nothing to do.
func (w IO) sayAccessible(lines ...string) {
	if w.Accessible && (w.Say != nil || w.Out != nil) {
		w.say(lines...)
	}
}

// multiSelectHowTo is said before a multi-select in accessible mode, where huh reads numbers:
// an empty answer there is refused, not "keep the ticks".
const multiSelectHowTo = "Type the number of an entry to tick or untick it, one per line; type 0 when done (the ticked entries are kept)."

// orDefault accepts an empty answer when there is a default (accessible mode).
func (w IO) orDefault(def string, validate func(string) error) func(string) error {
	return func(s string) error {
		if w.Accessible && def != "" && strings.TrimSpace(s) == "" {
			return nil
		}
		return validate(s)
	}
}

// keep returns def for an empty accessible-mode answer, else v.
func (w IO) keep(v, def string) string {
	if w.Accessible && strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

// Confirm asks a yes/no question.
func Confirm(ctx context.Context, wio IO, title, description string, def bool) (bool, error) {
	v := def
	err := run(ctx, wio, huh.NewGroup(huh.NewConfirm().Title(title).Description(description).Affirmative("Yes").Negative("No").Value(&v)))
	return v, err
}

// fieldError names the field instead of the flag in an error from a parser shared with the
// flags (the wizard's user typed no --invicti-url, and the value is on screen above the
// error), wrapped as fieldErrorText says.
func (w IO) fieldError(field string, err error) error {
	if err == nil {
		return nil
	}
	var ie *invicti.InputError
	if errors.As(err, &ie) {
		c := *ie
		c.Flag, c.Value = field, ""
		err = &c
	}
	return errors.New(w.fieldErrorText(err.Error()))
}

// errorMark is what huh's theme puts before an error (" *" and a space).
const errorMark = "   "

// fieldErrorText wraps msg, as the one wrap rule (ui.Printer.Wrap) does, so that its lines
// continue under the text after huh's " * " mark; huh itself wraps from the first column.
func (w IO) fieldErrorText(msg string) string {
	width := 0
	if w.Width != nil {
		width = w.Width()
	}
	if w.Accessible || width <= 0 {
		return msg
	}
	// One column is kept free: a row filled to the last column makes some terminals wrap.
	p := ui.Printer{Width: width - 1, Terminal: true}
	return strings.TrimPrefix(p.Wrap(errorMark+msg, errorMark), errorMark)
}
