// Package iostreams owns the process's standard streams and every question about them:
// is this a terminal, may we prompt, may we use colour. No other package calls isatty or
// reads NO_COLOR.
package iostreams

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/term"

	"github.com/invicti-scim/invicti-scim/internal/safetext"
)

// IOStreams bundles the standard streams with what was learned about them once at start-up.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Redactor is the one sanitiser every outside string passes on its way to Out or ErrOut
	// (internal/ui applies it); secrets are registered on it as they are learned.
	Redactor *safetext.Redactor

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool

	neverPrompt bool
	colorMode   colorMode
	accessible  bool
	dumb        bool
	width       int
}

type colorMode int

const (
	colorAuto colorMode = iota
	colorNever
	colorAlways
)

// Env is the subset of the environment the streams care about, injected so tests can set it.
type Env func(string) string

// System returns streams over the process's stdin, stdout and stderr.
func System(getenv Env) *IOStreams {
	if getenv == nil {
		getenv = os.Getenv
	}
	ios := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		Redactor:  &safetext.Redactor{},
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
	ios.applyEnv(getenv)
	if ios.stderrTTY {
		if w, _, err := term.GetSize(int(os.Stderr.Fd())); err == nil && w > 0 {
			ios.width = w
		}
	}
	return ios
}

func (s *IOStreams) applyEnv(getenv Env) {
	// clig.dev: NO_COLOR with any non-empty value wins, TERM=dumb means no styling,
	// CLICOLOR_FORCE forces colour even into a pipe.
	switch {
	case getenv("NO_COLOR") != "":
		s.colorMode = colorNever
	case getenv("CLICOLOR_FORCE") != "" && getenv("CLICOLOR_FORCE") != "0":
		s.colorMode = colorAlways
	case getenv("TERM") == "dumb":
		s.colorMode = colorNever
	}
	s.dumb = getenv("TERM") == "dumb"
	if truthy(getenv("INVICTI_SCIM_NON_INTERACTIVE")) {
		s.neverPrompt = true
	}
	if truthy(getenv("ACCESSIBLE")) {
		s.accessible = true
	}
	if c := getenv("COLUMNS"); c != "" {
		if n, err := strconv.Atoi(c); err == nil && n > 0 {
			s.width = n
		}
	}
}

func truthy(v string) bool {
	switch v {
	case "", "0", "false", "FALSE", "False", "no":
		return false
	}
	return true
}

func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// Test returns streams over buffers with every terminal flag off.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, Redactor: &safetext.Redactor{}}, in, out, errOut
}

// SetTTY flips every terminal flag, for tests.
func (s *IOStreams) SetTTY(tty bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = tty, tty, tty
}

// SetWidth sets the terminal width in columns, for tests (0: unknown, Width says 80).
func (s *IOStreams) SetWidth(cols int) { s.width = cols }

// SetNeverPrompt turns prompting off (--non-interactive).
func (s *IOStreams) SetNeverPrompt(v bool) { s.neverPrompt = s.neverPrompt || v }

// SetAccessible switches forms and spinners to plain line mode (--accessible).
func (s *IOStreams) SetAccessible(v bool) { s.accessible = s.accessible || v }

// SetColorNever turns colour off (--no-color, -o json).
func (s *IOStreams) SetColorNever() { s.colorMode = colorNever }

// Accessible reports whether forms should use line prompts instead of the full-screen UI.
func (s *IOStreams) Accessible() bool { return s.accessible }

// CanPrompt is true when a person can answer questions: stdin and stderr are terminals and
// prompting was not switched off. Without a terminal the tool is non-interactive by definition.
func (s *IOStreams) CanPrompt() bool {
	return !s.neverPrompt && s.stdinTTY && s.stderrTTY
}

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal; spinners and animation need it.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// IsStdinTTY reports whether stdin is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// ColorEnabled reports whether output to w may carry ANSI styling.
func (s *IOStreams) ColorEnabled(toStderr bool) bool {
	switch s.colorMode {
	case colorNever:
		return false
	case colorAlways:
		return true
	}
	if toStderr {
		return s.stderrTTY
	}
	return s.stdoutTTY
}

// Animate reports whether spinners may run: only on a terminal, never in accessible mode.
func (s *IOStreams) Animate() bool {
	return s.stderrTTY && !s.accessible && !s.dumb
}

// Width is the terminal width for wrapping tables, 80 when unknown.
func (s *IOStreams) Width() int {
	if s.width > 0 {
		return s.width
	}
	return 80
}

// ReadSecret reads a secret from stdin, at most limit bytes. On a terminal it prompts on
// stderr and reads one line without echo; elsewhere it reads stdin to its end. Either way the
// read gives up when ctx ends (Ctrl-C), restoring the terminal, so a run waiting for a secret
// nobody types can always be interrupted.
func (s *IOStreams) ReadSecret(ctx context.Context, prompt string, limit int64) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	f, isFile := s.In.(*os.File)
	if s.stdinTTY && isFile {
		fd := int(f.Fd())
		old, err := term.GetState(fd)
		if err != nil {
			return nil, err
		}
		fmt.Fprint(s.ErrOut, prompt)
		go func() {
			b, err := term.ReadPassword(fd)
			done <- result{b, err}
		}()
		select {
		case r := <-done:
			fmt.Fprintln(s.ErrOut)
			if int64(len(r.data)) > limit {
				r.data = r.data[:limit]
			}
			return r.data, r.err
		case <-ctx.Done():
			// ReadPassword restores the echo only when it returns; it may never return.
			_ = term.Restore(fd, old)
			fmt.Fprintln(s.ErrOut)
			return nil, ctx.Err()
		}
	}
	go func() {
		b, err := io.ReadAll(io.LimitReader(s.In, limit))
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
