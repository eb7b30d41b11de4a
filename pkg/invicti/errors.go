package invicti

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// InputError reports a bad value given by the user: which flag (or
// environment variable, or file) is at fault, what is wrong, and the form
// that was expected. The CLI maps it to exit code 2.
//
// Value is shown quoted in Error; it is never a secret (callers leave it
// empty for secrets) and is shortened when long.
type InputError struct {
	Flag  string // e.g. "--invicti-url"; may be a source such as "--credentials-file /path/creds.json"
	Value string // the offending value, or "" (always "" for secrets)
	Msg   string // what is wrong, e.g. "unknown region"
	Hint  string // the expected form, e.g. "one of us, eu, ca"; Error() prefixes it with "expected "
}

// Error renders the error on one line, for example:
//
//	--region "uk": unknown region; expected one of us, eu, ca, or use --invicti-url for an on-premises or private tenant
func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.Flag)
	if e.Value != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Quote(e.Value))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("; expected ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// maxShownValue bounds how much of an offending value an InputError shows.
const maxShownValue = 120

// shown shortens v for display in an InputError.
func shown(v string) string {
	if len(v) <= maxShownValue {
		return v
	}
	cut := maxShownValue
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "…"
}

// badRune describes the first character of s that must not appear in an
// identifier, URL or secret: control characters, invisible format
// characters (zero-width space, BOM, bidi marks…) and invalid UTF-8.
// ok is false when s is clean.
func badRune(s string) (desc string, ok bool) {
	for i, c := range s {
		switch {
		case c == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return "invalid UTF-8", true
		case unicode.IsControl(c):
			return "a control character (" + runeName(c) + ")", true
		case unicode.Is(unicode.Cf, c):
			return "an invisible character (" + runeName(c) + ")", true
		}
	}
	return "", false
}

func runeName(c rune) string {
	switch c {
	case '\n':
		return `newline \n`
	case '\r':
		return `carriage return \r`
	case '\t':
		return `tab \t`
	}
	s := strconv.FormatInt(int64(c), 16)
	for len(s) < 4 {
		s = "0" + s
	}
	return "U+" + strings.ToUpper(s)
}
