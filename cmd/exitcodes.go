package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/manifest"
	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/reconcile"
	"github.com/invicti-scim/invicti-scim/internal/signin"
	"github.com/invicti-scim/invicti-scim/internal/ui"
	"github.com/invicti-scim/invicti-scim/internal/wizard"
)

// Exit codes. They are part of the interface: scripts branch on them.
const (
	ExitOK         = 0   // success, including --dry-run and "nothing to do"
	ExitFailed     = 1   // the operation failed
	ExitUsage      = 2   // bad flag or value, or missing input when not interactive
	ExitConnection = 3   // a connection test failed (Invicti directly, or Entra's Test Connection)
	ExitAuth       = 4   // Microsoft Graph sign-in or permission problem
	ExitChanges    = 5   // plan --exit-code: changes are pending (the tenant is not in sync)
	ExitCancelled  = 130 // cancelled (Ctrl-C, Esc in a form)
)

// ExitCodeDoc is one row of the exit-code table: `help exit-codes` prints the table as text,
// and `help exit-codes -o json` as {"ok": true, "exitCodes": [{"code", "name", "meaning"}…]}.
type ExitCodeDoc struct {
	Code    int    `json:"code"`
	Name    string `json:"name"` // a short stable name for scripts: ok, failed, usage, …
	Meaning string `json:"meaning"`
}

// exitCodeTable is the one table of exit codes.
var exitCodeTable = []ExitCodeDoc{
	{ExitOK, "ok", `success (also --dry-run, "nothing to do", and No at a confirmation: "Nothing changed")`},
	{ExitFailed, "failed", "the operation failed (Graph or Invicti error, provisioning failure, timeout); for mappings diff, the mappings differ (its JSON then has \"ok\": true)"},
	{ExitUsage, "usage", "usage error: a bad flag or value, or missing input when not interactive"},
	{ExitConnection, "connection", "connection test failed (Invicti directly, or Entra's Test Connection)"},
	{ExitAuth, "auth", "Microsoft Graph sign-in or permission problem, including an expired or not-yet-valid Graph token"},
	{ExitChanges, "changes", "plan --exit-code: changes are pending (0 means in sync)"},
	{ExitCancelled, "cancelled", "cancelled (Ctrl-C); state is saved and the same command resumes"},
}

// newExitCodesTopic is the help topic `invicti-scim help exit-codes` (also `invicti-scim
// exit-codes`): the table as text, or with -o json as {"ok": true, "exitCodes": […]}, the one
// help topic that is data scripts read.
func newExitCodesTopic(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "exit-codes",
		Short: "Exit codes and what they mean (a help topic: invicti-scim help exit-codes)",
		Long:  exitCodesHelp(),
	}
	c.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		if !f.JSON() {
			// The root's help (wrappedHelp): wrapped to a terminal like every other.
			cmd.Parent().HelpFunc()(cmd, args)
			return
		}
		if err := printJSON(f, struct {
			OK        bool          `json:"ok"`
			ExitCodes []ExitCodeDoc `json:"exitCodes"`
		}{true, exitCodeTable}); err != nil {
			ui.Err(f.IO).Errorf("%v", err)
		}
	})
	return c
}

// noJSONForm reports the commands whose output is not data: shell completion scripts, and
// help other than the exit-code table. -o json there is a usage error rather than text a
// script would fail to parse.
func noJSONForm(cmd *cobra.Command, args []string) bool {
	top := cmd // completion's shells (completion bash) count as completion
	if p := cmd.Parent(); p != nil && p.Name() == "completion" {
		top = p
	}
	if top.Parent() == nil || top.Parent().Parent() != nil {
		return false // only the root's own commands
	}
	switch top.Name() {
	case "completion":
		return true
	case "help":
		return len(args) != 1 || args[0] != "exit-codes"
	}
	return false
}

// exitCodesHelp is the exit-code table as text, printed once by `invicti-scim help exit-codes`:
// each meaning wrapped at 80 columns under its own column.
func exitCodesHelp() string {
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, e := range exitCodeTable {
		line := fmt.Sprintf("  %-4d ", e.Code)
		indent := strings.Repeat(" ", len(line))
		for i, w := range strings.Fields(e.Meaning) {
			switch {
			case i == 0:
				line += w
			case len(line)+1+len(w) > 80:
				b.WriteString(line + "\n")
				line = indent + w
			default:
				line += " " + w
			}
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\nWhen one run finds problems of several kinds (doctor, status, test-connection),\n")
	b.WriteString("4 outranks 3, and 3 outranks 1: doctor and status exit 3 only when the direct\n")
	b.WriteString("Invicti check is the only failure.\n")
	b.WriteString("\nScripts can branch on them; `help exit-codes -o json` gives this table as JSON.\n")
	b.WriteString("With -o json, an error is also a JSON document on stdout:\n")
	b.WriteString(`  {"ok": false, "error": {"message": "…", "exitCode": 2, "hint": "…"}}`)
	return b.String()
}

// exitCodesLink is what every command's help says about exit codes; exitCodesLinkAll, for
// the root and plan (the one command that exits 5), adds 5.
const (
	exitCodesLink    = "Exit codes: 0 ok, 1 failed, 2 usage, 3 connection test, 4 sign-in or permission,\n130 cancelled; see `invicti-scim help exit-codes`."
	exitCodesLinkAll = "Exit codes: 0 ok, 1 failed, 2 usage, 3 connection test, 4 sign-in or permission,\n5 changes pending (plan --exit-code), 130 cancelled;\nsee `invicti-scim help exit-codes`."
)

// FlagError is a usage problem; it exits 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

func flagErrorf(format string, a ...any) error {
	return &FlagError{Err: fmt.Errorf(format, a...)}
}

// exitError carries an explicit exit code (e.g. 3 from test-connection after printing).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// silentError is a verdict exit: the command's output already is the answer and the exit
// code is part of it (plan --exit-code's 5, mappings diff's 1, declining's 0), so no error
// line is printed and the JSON document keeps "ok": true (finishJSON). A failure returns an
// error instead, which becomes the error line and the document's "error".
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func silent(code int) error { return &silentError{code: code} }

// declined is what a command returns when the admin answered No to its confirmation: nothing
// was changed, which is a success (exit 0), not an interruption (130 is Ctrl-C or Esc). It
// says so on stderr, and with -o json prints {"ok":true,"changed":false,"declined":true}.
func declined(f *Factory) error {
	if f.JSON() {
		if err := printJSON(f, declinedJSON{OK: true, Declined: true}); err != nil {
			return err
		}
	}
	ui.Err(f.IO).Println("Nothing changed: you declined.")
	return silent(ExitOK)
}

type declinedJSON struct {
	OK       bool `json:"ok"`
	Changed  bool `json:"changed"`
	Declined bool `json:"declined"`
}

// AuthError is a Graph sign-in problem detected before any call (no usable sign-in method);
// internal/signin returns it.
type AuthError = signin.Error

func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var (
		se   *silentError
		ee   *exitError
		fe   *FlagError
		ae   *AuthError
		werr *wizard.InputError
		mfe  *manifest.Error
		rie  *reconcile.InputError
	)
	// The use-case layer classifies the gateways' errors (internal/graph, pkg/invicti), so
	// this table never needs their types.
	kind := provision.Classify(err)
	switch {
	case errors.As(err, &se):
		return se.code
	case kind == provision.KindExpiredToken:
		// Before exitError: an expired token is a sign-in problem whatever step it stopped.
		return ExitAuth
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, context.Canceled), errors.Is(err, wizard.ErrCancelled):
		return ExitCancelled
	case errors.As(err, &fe), errors.As(err, &werr), errors.As(err, &mfe), errors.As(err, &rie), kind == provision.KindUsage, isUnknownCommand(err):
		return ExitUsage
	case kind == provision.KindConnection:
		return ExitConnection
	case errors.As(err, &ae), kind == provision.KindAuth:
		return ExitAuth
	}
	return ExitFailed
}

// isUnknownCommand recognises cobra's own usage error for a mistyped command ("unknown command
// "stauts" for "invicti-scim""), which cobra returns as a plain error, not through the flag
// error func.
func isUnknownCommand(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command ")
}

// hintOf finds the first hint in the error chain (see provision.Hint).
func hintOf(err error) string { return provision.Hint(err) }
