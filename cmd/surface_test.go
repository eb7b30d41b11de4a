package cmd

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/invicti-scim/invicti-scim/internal/iostreams"
)

// noExampleNeeded lists the commands, by path, that take their own flags yet need no
// Example. Keep it short and say why.
var noExampleNeeded = map[string]string{
	// "invicti-scim something": "why its flags are self-explanatory",
}

// cobraBuiltins are the commands cobra adds; their text is cobra's, not ours.
var cobraBuiltins = map[string]bool{"completion": true, "help": true}

var kebabCase = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// surfaceTree builds the command tree including what cobra adds at Execute time.
func surfaceTree() *cobra.Command {
	ios, _, _, _ := iostreams.Test()
	f := &Factory{IO: ios, Getenv: func(string) string { return "" }, Now: time.Now}
	root := newRootCmd(f)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	return root
}

// walkCommands visits every command with whether it belongs to a cobra built-in subtree.
func walkCommands(c *cobra.Command, builtin bool, fn func(c *cobra.Command, builtin bool)) {
	fn(c, builtin)
	for _, sub := range c.Commands() {
		walkCommands(sub, builtin || (c.Parent() == nil && cobraBuiltins[sub.Name()]), fn)
	}
}

func TestCLISurface(t *testing.T) {
	root := surfaceTree()
	seen := map[string]bool{}
	walkCommands(root, false, func(c *cobra.Command, builtin bool) {
		path := c.CommandPath()
		seen[path] = true

		if c.Short == "" {
			t.Errorf("%s: no Short", path)
		} else {
			if first := []rune(c.Short)[0]; !unicode.IsUpper(first) {
				t.Errorf("%s: Short %q should start with a capital letter", path, c.Short)
			}
			if strings.HasSuffix(c.Short, ".") {
				t.Errorf("%s: Short %q should not end with a period", path, c.Short)
			}
		}

		if !kebabCase.MatchString(c.Name()) && !builtin {
			t.Errorf("%s: command name %q is not kebab-case", path, c.Name())
		}

		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			if fl.Name == "client-secret" {
				t.Errorf("%s: --client-secret puts a secret in argv (ps, shell history); use --client-secret-file/-stdin or the environment", path)
			}
			if !kebabCase.MatchString(fl.Name) {
				t.Errorf("%s: flag --%s is not kebab-case", path, fl.Name)
			}
			if strings.TrimSpace(fl.Usage) == "" {
				t.Errorf("%s: flag --%s has no usage text", path, fl.Name)
			}
		})

		if builtin || c.Hidden || c.Example != "" {
			return
		}
		ownFlags := 0
		c.LocalNonPersistentFlags().VisitAll(func(fl *pflag.Flag) {
			if fl.Name != "help" {
				ownFlags++
			}
		})
		if ownFlags > 0 {
			if _, ok := noExampleNeeded[path]; !ok {
				t.Errorf("%s: takes %d flag(s) of its own but has no Example", path, ownFlags)
			}
		}
	})

	for path := range noExampleNeeded {
		if !seen[path] {
			t.Errorf("noExampleNeeded lists %q, which is not a command any more", path)
		}
	}
}
