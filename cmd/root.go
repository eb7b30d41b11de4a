// Package cmd is the command-line layer: cobra commands, flags, help text, output formats and
// exit codes. It translates the outside world into use-case calls and back; the work itself
// lives in internal/.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

// Main runs the CLI and returns the process exit code.
func Main(build BuildInfo) int { return MainWith(build, MainOptions{}) }

// MainOptions are the dependencies a test harness may give Main.
type MainOptions struct {
	// Transport replaces the base HTTP transport every Graph and Invicti client is built on
	// (nil: http.DefaultTransport). The crash tests wrap it to kill the process at an exact
	// request.
	Transport http.RoundTripper
}

// MainWith is Main with injected dependencies; it returns the process exit code.
func MainWith(build BuildInfo, opts MainOptions) int {
	// The handler stays installed until the process exits: a Ctrl-C after the work is done
	// must not kill the process before it reports its exit code.
	ctx, _ := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	f := newFactory(build)
	f.Transport = opts.Transport
	// Child processes (az for --auth azure-cli, the browser opener) inherit the process
	// environment: the tool reads its secrets from a snapshot and takes them out of it.
	for _, k := range secretEnv {
		f.unsetenv(k)
	}
	return run(ctx, f, os.Args[1:])
}

// CommandTree builds the command tree for documentation generators (internal/docgen); it
// runs nothing.
func CommandTree() *cobra.Command { return newRootCmd(newFactory(BuildInfo{})) }

func run(ctx context.Context, f *Factory, args []string) int {
	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	ran, err := root.ExecuteContextC(ctx)
	f.cleanup()
	err = explainNamedApp(ran, err)
	if err != nil && ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		err = fmt.Errorf("%w (%s)", context.Canceled, f.againAdvice())
	}
	err = explainDeadline(f, err)
	// Whatever path an expired Graph token took, it reads (and hints) as a sign-in problem.
	err = provision.ExplainExpiredToken(err)
	code := exitCode(err)
	if code == ExitUsage && !f.JSON() && jsonRequested(args) {
		f.Output = "json"
	}
	if err != nil && !isVerdict(err) {
		printError(f, err)
	}
	finishJSON(f, err, code)
	return code
}

// explainNamedApp is the one rule for a 404 on an app the command line named: Deleted's
// advice (set the recorded app up again, or tear it down) becomes "check the id", because the
// recorded app is not the one that was missing.
func explainNamedApp(c *cobra.Command, err error) error {
	if err == nil || c == nil || provision.Hint(err) != provision.Deleted {
		return err
	}
	for _, flag := range []string{"sp-id", "app-id"} {
		if fl := c.Flags().Lookup(flag); fl != nil && fl.Changed {
			return &provision.HintedError{Err: err, HintText: provision.NamedAppMissing("--"+flag, fl.Value.String())}
		}
	}
	return err
}

// againAdvice is what to do after a command was cut short: a command that writes saved its
// state and resumes; a read-only one just runs again.
func (f *Factory) againAdvice() string {
	if f.writes {
		return "state is saved, run the same command again to resume"
	}
	return "nothing was changed, run the same command again"
}

// errorDoc is the one JSON document of a command that failed before printing its own.
type errorDoc struct {
	OK    bool      `json:"ok"` // always false
	Error errorJSON `json:"error"`
}

// jsonRequested reads -o/--output json from the raw arguments, for errors found before cobra
// parsed them (an unknown flag stops parsing before a later -o json is read).
func jsonRequested(args []string) bool {
	for i, a := range args {
		switch a {
		case "--":
			return false
		case "-o", "--output":
			if i+1 < len(args) && args[i+1] == "json" {
				return true
			}
		case "-ojson", "-o=json", "--output=json":
			return true
		}
	}
	return false
}

// explainDeadline names the timeout that ended the command: --timeout only when the command's
// own deadline passed; otherwise one request stalled past --request-timeout (a 2 s stall must
// not read "timed out after 30m0s").
func explainDeadline(f *Factory, err error) error {
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if f.timedOut != nil && f.timedOut() {
		return fmt.Errorf("timed out after %s (--timeout); %s: %w", f.Timeout, f.againAdvice(), err)
	}
	return fmt.Errorf("no answer within %s (--request-timeout); %s: %w", f.requestTimeout(), f.againAdvice(), err)
}

// printError is the error line (and hint) on stderr, in text and JSON mode alike; finishJSON
// puts the same error in the JSON document.
func printError(f *Factory, err error) {
	msg := errMessage(f, err)
	hint := f.IO.Redactor.Redact(hintOf(err))
	p := ui.Err(f.IO)
	p.Errorf("%s", msg)
	// An InputError's message already ends "; expected HINT": do not say it twice.
	if hint != "" && !strings.Contains(msg, hint) {
		p.Hint(hint)
	}
}

func newRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "invicti-scim",
		Short: "Connect Microsoft Entra ID to Invicti Platform through SCIM provisioning",
		Long: `invicti-scim creates and configures the Microsoft Entra ID enterprise app that provisions
users and teams into Invicti Platform over SCIM (OAuth2 client credentials), checks both sides
of the connection, assigns users and groups, and provisions them on demand.

Try it without an account: invicti-scim setup --sandbox

` + exitCodesLinkAll + `

Environment:
  INVICTI_SCIM_CLIENT_ID         Invicti client id (--client-id)
  INVICTI_SCIM_CLIENT_SECRET     Invicti client secret (or --client-secret-stdin / -file)
  INVICTI_SCIM_INVICTI_URL       Invicti base URL for on-premises or private tenants (--invicti-url)
  INVICTI_SCIM_GRAPH_TOKEN       a ready Microsoft Graph access token (--auth token)
  INVICTI_SCIM_GRAPH_URL         Graph root override, e.g. http://127.0.0.1:PORT (--graph-url)
  INVICTI_SCIM_CONFIG_DIR        where state lives (--config-dir)
  INVICTI_SCIM_TOKEN_CACHE       none = keep no Microsoft sign-in between runs (auth login)
  INVICTI_SCIM_NON_INTERACTIVE   1 = never prompt (--non-interactive)
  NO_COLOR, CLICOLOR_FORCE, TERM=dumb, ACCESSIBLE=1   terminal behaviour`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       f.Build.Version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch f.Output {
			case "text", "json":
			default:
				return flagErrorf("-o/--output %q: expected text or json", f.Output)
			}
			if f.Timeout < 0 {
				return flagErrorf("--timeout %s: must not be negative (0 means no time limit)", f.Timeout)
			}
			if err := refuseEmptyFlags(cmd); err != nil {
				return err
			}
			if f.JSON() && noJSONForm(cmd, args) {
				return flagErrorf("%s prints no JSON: leave out -o json", cmd.CommandPath())
			}
			if f.RequestTimeout <= 0 {
				return flagErrorf("--request-timeout %s: must be positive", f.RequestTimeout)
			}
			f.IO.SetNeverPrompt(f.NonInteractive)
			f.IO.SetAccessible(f.Accessible)
			if f.NoColor || f.JSON() {
				f.IO.SetColorNever()
			}
			source := "--config-dir"
			if f.ConfigDir == "" {
				f.ConfigDir, source = f.Getenv("INVICTI_SCIM_CONFIG_DIR"), "INVICTI_SCIM_CONFIG_DIR"
			}
			if fi, err := os.Stat(f.ConfigDir); f.ConfigDir != "" && err == nil && !fi.IsDir() {
				return flagErrorf("%s %s: is a file, not a directory; name the directory that holds (or will hold) state.json", source, f.ConfigDir)
			}
			if f.WaitLock < 0 {
				return flagErrorf("--wait-lock %s: must not be negative", f.WaitLock)
			}
			f.writes = cmd.Annotations[annotWrites] != ""
			return nil
		},
	}
	root.SetFlagErrorFunc(flagParseError)
	// No SetVersionTemplate or SetUsageTemplate: a cobra template executes text/template, whose
	// reflection (MethodByName) keeps every exported method of every reachable type in the
	// binary: with the Graph SDK's models that is +26 MiB (docs/performance.md). cobra's
	// built-in Go functions print "invicti-scim version X"; usage is wrappedUsage below.
	pf := root.PersistentFlags()
	pf.StringVarP(&f.Output, "output", "o", "text", "Output format: text or json")
	pf.BoolVar(&f.Debug, "debug", false, "Trace HTTP requests on stderr (secrets and tokens redacted)")
	pf.BoolVar(&f.NonInteractive, "non-interactive", false, "Never prompt; fail with exit 2 naming missing input (env INVICTI_SCIM_NON_INTERACTIVE=1)")
	pf.BoolVar(&f.Accessible, "accessible", false, "Use line-by-line prompts for screen readers (env ACCESSIBLE=1)")
	pf.BoolVar(&f.NoColor, "no-color", false, "Disable colour (also NO_COLOR)")
	pf.StringVar(&f.ConfigDir, "config-dir", "", "Where state is kept (env INVICTI_SCIM_CONFIG_DIR; default $XDG_CONFIG_HOME/invicti-scim)")
	pf.DurationVar(&f.Timeout, "timeout", 30*time.Minute, "Give up after this long, leaving a resumable state (0: no time limit)")
	pf.DurationVar(&f.RequestTimeout, "request-timeout", 60*time.Second, "Give up on one HTTP request after this long (reads are retried)")
	_ = root.RegisterFlagCompletionFunc("output", fixedCompletion("text", "json"))

	root.AddCommand(
		newVersionCmd(f),
		newRegionsCmd(f),
		newTestConnectionCmd(f),
		newSetupCmd(f),
		newAssignCmd(f),
		newProvisionCmd(f),
		newStatusCmd(f, nil),
		newLogsCmd(f, nil),
		newJobCmd(f, nil),
		newDoctorCmd(f, nil),
		newRotateSecretCmd(f),
		newTeardownCmd(f, nil),
		newSandboxCmd(f),
		newSSOCmd(f),
		newMappingsCmd(f),
		newManifestCmd(f),
		newPlanCmd(f),
		newApplyCmd(f),
		newAuthCmd(f),
	)
	// cobra adds `completion` lazily; create it now so an unknown shell is a usage error
	// (exit 2) instead of help text with exit 0.
	// (cobra captures the output stream when it builds these, so set it first.)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					return flagErrorf("completion %q: unknown shell; expected bash, zsh, fish or powershell", args[0])
				}
				return cmd.Help()
			}
		}
	}
	// Commands that write take the config-dir lock (Factory.loadState) and may wait for it.
	for _, c := range root.Commands() {
		if writingCommand(c.Name()) {
			c.Flags().DurationVar(&f.WaitLock, "wait-lock", 0, "When another invicti-scim run holds the config dir, wait this long for it (e.g. 5m) instead of failing at once")
			c.Annotations = map[string]string{annotWrites: "true"}
		}
	}
	// Exit codes are part of every command's interface: each --help links the one table,
	// which `help exit-codes` prints (a help topic, as gh's `gh help environment`).
	for _, c := range root.Commands() {
		if c.Long != "" && c.Name() != "completion" && c.Name() != "help" {
			link := exitCodesLink
			if c.Name() == "plan" {
				link = exitCodesLinkAll
			}
			c.Long += "\n\n" + link
		}
	}
	root.AddCommand(newExitCodesTopic(f))
	help := ui.Out(f.IO)
	root.SetUsageFunc(wrappedUsage(f.IO.Width(), help))
	root.SetHelpFunc(wrappedHelp(help))
	root.SetHelpCommand(newHelpCmd())
	return root
}

// newHelpCmd is cobra's help command, except that an unknown topic is a usage error (exit 2,
// naming the topic and where the list is) instead of the root's usage with exit 0: a script
// that asks for help on a misspelt command should not read success.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command or topic (help exit-codes)",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					names = append(names, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || cmd == nil || len(rest) > 0 && cmd == c.Root() {
				return flagErrorf("unknown help topic %q: `invicti-scim help` lists the commands and topics", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// wrappedHelp prints what cobra's defaultHelpFunc prints (the description, then the usage),
// except that on a terminal the description is wrapped to its width between words (help
// Printer.WrapHelp); piped, it is exactly cobra's text, which docs/commands is generated from.
func wrappedHelp(help *ui.Printer) func(*cobra.Command, []string) {
	return func(c *cobra.Command, _ []string) {
		desc := c.Long
		if desc == "" {
			desc = c.Short
		}
		desc = strings.TrimRightFunc(desc, unicode.IsSpace)
		w := c.OutOrStdout()
		if desc != "" {
			fmt.Fprintf(w, "%s\n\n", help.WrapHelp(desc))
		}
		if c.Runnable() || c.HasSubCommands() {
			fmt.Fprint(w, c.UsageString())
		}
	}
}

// wrappedUsage prints cobra's usage text (the same sections as its defaultUsageFunc) with flag
// descriptions wrapped to width (80 columns when it is not known, 60 to 120), instead of one
// long line per flag. On a terminal (help.Terminal) the examples and command summaries are
// wrapped to help's width too (Printer.WrapExamples, Printer.Wrap); piped they stay one line
// each. It is Go, not a template: see the note on templates above.
func wrappedUsage(width int, help *ui.Printer) func(*cobra.Command) error {
	if width <= 0 {
		width = 80
	}
	width = max(min(width, 120), 60)
	pad := func(s string, n int) string { return fmt.Sprintf("%-*s", n, s) }
	trim := func(s string) string { return strings.TrimRightFunc(s, unicode.IsSpace) }
	// On a terminal the flags wrap by the one rule too (pflag's own wrapper leaves a line
	// holding a long word unwrapped to its end), at most 120 columns wide, continuing under
	// the descriptions.
	flagHelp := *help
	flagHelp.Width = min(flagHelp.Width, 120)
	flags := func(fs *pflag.FlagSet) string {
		if !help.Terminal {
			return trim(fs.FlagUsagesWrapped(width))
		}
		return trim(flagHelp.WrapHelp(fs.FlagUsagesWrapped(0)))
	}
	return func(c *cobra.Command) error {
		var b strings.Builder
		b.WriteString("Usage:")
		if c.Runnable() {
			fmt.Fprintf(&b, "\n  %s", c.UseLine())
		}
		if c.HasAvailableSubCommands() {
			fmt.Fprintf(&b, "\n  %s [command]", c.CommandPath())
		}
		if len(c.Aliases) > 0 {
			fmt.Fprintf(&b, "\n\nAliases:\n  %s", c.NameAndAliases())
		}
		if c.HasExample() {
			fmt.Fprintf(&b, "\n\nExamples:\n%s", help.WrapExamples(c.Example))
		}
		if c.HasAvailableSubCommands() {
			b.WriteString("\n\nAvailable Commands:")
			for _, sub := range c.Commands() {
				if sub.IsAvailableCommand() || sub.Name() == "help" {
					line := "  " + pad(sub.Name(), sub.NamePadding()) + " " + sub.Short
					fmt.Fprintf(&b, "\n%s", help.Wrap(line, summaryHang(help, sub.NamePadding())))
				}
			}
		}
		if c.HasAvailableLocalFlags() {
			fmt.Fprintf(&b, "\n\nFlags:\n%s", flags(c.LocalFlags()))
		}
		if c.HasAvailableInheritedFlags() {
			fmt.Fprintf(&b, "\n\nGlobal Flags:\n%s", flags(c.InheritedFlags()))
		}
		if c.HasHelpSubCommands() {
			b.WriteString("\n\nAdditional help topics:")
			for _, sub := range c.Commands() {
				if sub.IsAdditionalHelpTopicCommand() {
					line := "  " + pad(sub.CommandPath(), sub.CommandPathPadding()) + " " + sub.Short
					fmt.Fprintf(&b, "\n%s", help.Wrap(line, summaryHang(help, sub.CommandPathPadding())))
				}
			}
		}
		if c.HasAvailableSubCommands() {
			fmt.Fprintf(&b, "\n\n%s", help.Wrap(fmt.Sprintf("Use \"%s [command] --help\" for more information about a command.", c.CommandPath()), ""))
		}
		b.WriteString("\n")
		_, err := io.WriteString(c.OutOrStderr(), b.String())
		return err
	}
}

// summaryHang is where a command summary continues: under the summary column ("  NAME "),
// or four spaces in when that column leaves a summary fewer than 20 cells.
func summaryHang(help *ui.Printer, name int) string {
	if col := 2 + name + 1; col+20 <= help.Width {
		return strings.Repeat(" ", col)
	}
	return "    "
}

// flagParseError is the usage error for a flag cobra could not parse. --client-secret is the
// likeliest mistake of all: a secret on the command line ends up in shell history and process
// lists, so it is not a flag, and the error says where the secret goes instead.
func flagParseError(c *cobra.Command, err error) error {
	if strings.HasPrefix(err.Error(), "unknown flag: --client-secret") && !strings.HasPrefix(err.Error(), "unknown flag: --client-secret-") {
		return flagErrorf("unknown flag: --client-secret: a secret on the command line leaks into shell history and process lists, so pass it with env INVICTI_SCIM_CLIENT_SECRET, --client-secret-stdin (e.g. from a password manager), --client-secret-file FILE or --credentials-file FILE, or let the tool prompt on a terminal")
	}
	// pflag's own messages name the flag but not where the list is (as gh does: "Run … --help").
	hint := "`" + c.CommandPath() + " --help` lists its flags"
	if c.Name() == "apply" && strings.HasPrefix(err.Error(), "unknown flag: --dry-run") {
		hint = "`invicti-scim plan -f FILE` shows what apply would do, without changing anything"
	}
	if strings.Contains(err.Error(), "time: ") {
		// A duration flag (--timeout, --wait-lock, …): Go's parser names the unit it did not
		// know but not the ones it does.
		hint = "a duration is a number with a unit: ms, s, m or h (e.g. 90s, 15m, 1h30m); " + hint
	}
	return &FlagError{Err: &provision.HintedError{Err: err, HintText: hint}}
}

// ownEmptyMessage lists the string flags whose own check already explains an empty value
// (docs/bad-input.md "Empty values"); refuseEmptyFlags leaves them to it.
var ownEmptyMessage = map[string]bool{"output": true, "cloud": true, "since": true, "reset": true, "app-name": true, "user": true, "settings-writer": true}

// refuseEmptyFlags is the one rule for a string flag given explicitly as "" (or blanks): a
// usage error naming the flag. Falling back to the default instead is how
// `teardown --yes --app-id "$UNSET"` tore down the app setup recorded, and how
// `setup --client-id ""` quietly used INVICTI_SCIM_CLIENT_ID.
func refuseEmptyFlags(cmd *cobra.Command) error {
	var err error
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if err != nil || fl.Value.Type() != "string" || ownEmptyMessage[fl.Name] || strings.TrimSpace(fl.Value.String()) != "" {
			return
		}
		err = flagErrorf("--%s: empty value (an unset shell variable?): give a value, or leave the flag out for its default", fl.Name)
	})
	return err
}

// writingCommand reports whether a command changes the tenant or the state file; those run
// one at a time per config dir.
func writingCommand(name string) bool {
	switch name {
	case "setup", "assign", "provision", "job", "rotate-secret", "teardown", "apply", "sso":
		return true
	}
	return false
}

// annotWrites marks a command that takes the config-dir lock.
const annotWrites = "invicti-scim/writes"

func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return flagErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}
