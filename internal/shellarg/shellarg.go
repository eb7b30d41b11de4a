// Package shellarg writes the command lines the tool suggests (in hints, errors and next
// steps) so that they can be pasted into a POSIX shell as they are: a value with a space or
// a shell-special character becomes one single-quoted word.
package shellarg

import (
	"strings"

	"github.com/alessio/shellescape"
)

// Program is the name a suggested command line starts with.
const Program = "invicti-scim"

// Quote returns s as one POSIX shell word: unchanged when it holds only characters no shell
// treats specially (letters, digits, @ % + = : , . / - _), otherwise in single quotes with
// each embedded ' written as '"'"'. The empty string becomes two single quotes.
func Quote(s string) string { return shellescape.Quote(s) }

// Command is the invicti-scim command line with these arguments, each quoted as Quote does:
// Command("assign", "--group", "Big Group") is "invicti-scim assign --group 'Big Group'".
// Every suggested command line that carries a value the admin typed or the tenant returned
// is built here.
func Command(args ...string) string {
	return Program + " " + shellescape.QuoteCommand(args)
}

// Flag is one flag and its value as Command writes them ("--group 'Big Group'"), for text
// that names a flag to add rather than a whole command line.
func Flag(name, value string) string {
	return strings.TrimSpace(name + " " + Quote(value))
}
