package invicti

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode"
)

// Limits on credential values.
const (
	MaxClientIDLength     = 1024 // bytes
	MaxSecretLength       = 4096 // bytes
	MaxJSONCredentialSize = 1024 // bytes, for each value in a credentials JSON document
	maxCredentialsFile    = 1 << 20
)

// redacted replaces the client secret wherever Credentials are printed;
// redactedJSON in JSON.
const (
	redacted     = "<redacted>"
	redactedJSON = "[redacted]"
)

// Credentials are the OAuth2 client credentials of an Invicti client
// registration. The secret is never printed: String, GoString, Format,
// MarshalJSON and LogValue all redact it.
type Credentials struct {
	ClientID     string
	ClientSecret string
}

func (c Credentials) secretShown() string {
	if c.ClientSecret == "" {
		return "<empty>"
	}
	return redacted
}

// String returns `Credentials{ClientID: "abc", ClientSecret: <redacted>}`.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{ClientID: %s, ClientSecret: %s}", strconv.Quote(c.ClientID), c.secretShown())
}

// GoString returns a Go-syntax-like form with the secret redacted.
func (c Credentials) GoString() string {
	return fmt.Sprintf("invicti.Credentials{ClientID:%s, ClientSecret:%s}", strconv.Quote(c.ClientID), strconv.Quote(c.secretShown()))
}

// Format makes every fmt verb safe: %#v uses GoString, %q quotes String,
// and every other verb prints String.
func (c Credentials) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = fmt.Fprint(f, c.GoString())
	case verb == 'q':
		_, _ = fmt.Fprint(f, strconv.Quote(c.String()))
	default:
		_, _ = fmt.Fprint(f, c.String())
	}
}

func (c Credentials) jsonSecret() string {
	if c.ClientSecret == "" {
		return ""
	}
	return redactedJSON
}

// MarshalJSON returns {"clientId":"…","clientSecret":"[redacted]"} (square
// brackets, because encoding/json would escape angle brackets).
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}{c.ClientID, c.jsonSecret()})
}

// LogValue keeps the secret out of log/slog output.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("clientId", c.ClientID), slog.String("clientSecret", c.secretShown()))
}

// TrimSecret removes one trailing newline ("\n" or "\r\n"), as left by
// `echo` or an editor when a secret is read from standard input or a file.
// Nothing else is trimmed.
func TrimSecret(s string) string {
	if strings.HasSuffix(s, "\r\n") {
		return s[:len(s)-2]
	}
	return strings.TrimSuffix(s, "\n")
}

// ValidateClientID checks a client id: 1..1024 bytes, no control or
// invisible characters, no surrounding whitespace. flag names the source
// for the *InputError.
func ValidateClientID(flag, v string) error {
	return validateValue(flag, "client id", v, MaxClientIDLength, false)
}

// ValidateSecret checks a client secret like ValidateClientID, with a limit
// of 4096 bytes. The error never contains the secret.
func ValidateSecret(source, v string) error {
	return validateValue(source, "client secret", v, MaxSecretLength, true)
}

func validateValue(flag, what, v string, limit int, secret bool) error {
	e := &InputError{Flag: flag, Hint: fmt.Sprintf("the %s exactly as Invicti returned it", what)}
	if !secret {
		e.Value = shown(v)
	}
	switch {
	case v == "":
		e.Msg = fmt.Sprintf("the %s is empty", what)
	case len(v) > limit:
		e.Value = ""
		e.Msg = fmt.Sprintf("the %s is %d bytes long; at most %d are allowed", what, len(v), limit)
	case strings.TrimSpace(v) != v:
		e.Msg = fmt.Sprintf("the %s has leading or trailing whitespace", what)
		e.Hint = fmt.Sprintf("the %s without surrounding spaces or newlines", what)
	default:
		if desc, bad := badRune(v); bad {
			e.Msg = fmt.Sprintf("the %s contains %s", what, desc)
			break
		}
		if strings.IndexFunc(v, unicode.IsSpace) >= 0 {
			e.Msg = fmt.Sprintf("the %s contains a space", what)
			break
		}
		if secret && (v == redacted || strings.EqualFold(v, redactedJSON)) {
			e.Msg = "the client secret is the redaction placeholder " + v + ", not the real secret"
			break
		}
		return nil
	}
	return e
}

// ParseCredentialsJSON parses the credentials Invicti's API returns,
//
//	{"credentials":{"clientId":"…","clientSecret":"…"}, …}
//
// or a bare {"clientId":"…","clientSecret":"…"} object. Other fields are
// ignored. Errors are *InputError with Flag set to source (for example
// "--credentials-file /path/creds.json"); they give line and column for
// malformed JSON and never contain the secret.
func ParseCredentialsJSON(source string, data []byte) (Credentials, error) {
	fail := func(msg string) (Credentials, error) {
		// The placeholders are not quoted: a quoted "clientSecret":"…" is what redaction masks,
		// and the hint would read "clientSecret":"[REDACTED]".
		return Credentials{}, &InputError{Flag: source, Msg: msg, Hint: `{"credentials":{"clientId":…,"clientSecret":…}}`}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM from Windows editors
	if len(bytes.TrimSpace(data)) == 0 {
		return fail("is empty")
	}
	if len(data) > maxCredentialsFile {
		return fail(fmt.Sprintf("is larger than %d bytes", maxCredentialsFile))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fail(jsonErrorMessage(data, err, ""))
	}
	if top == nil {
		return fail("is JSON null, not an object")
	}
	obj, path := top, ""
	if raw, ok := lookupKey(top, "credentials"); ok {
		path = "credentials."
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(raw, &inner); err != nil {
			return fail(jsonErrorMessage(raw, err, "credentials"))
		}
		if inner == nil {
			return fail("has \"credentials\": null")
		}
		obj = inner
	}
	var c Credentials
	for _, f := range []struct {
		key string
		dst *string
	}{{"clientId", &c.ClientID}, {"clientSecret", &c.ClientSecret}} {
		name := path + f.key
		raw, ok := lookupKey(obj, f.key)
		if !ok {
			return fail(fmt.Sprintf("has no %s", name))
		}
		if err := json.Unmarshal(raw, f.dst); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return fail(fmt.Sprintf("%s must be a JSON string, not %s", name, jsonKind(raw)))
		}
		what := "clientId"
		var err error
		if f.key == "clientId" {
			err = validateValue(source, name, *f.dst, MaxJSONCredentialSize, false)
		} else {
			what = "clientSecret"
			err = validateValue(source, name, *f.dst, MaxJSONCredentialSize, true)
		}
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				return Credentials{}, err
			}
			ie.Hint = fmt.Sprintf("the %s exactly as Invicti returned it", what)
			return Credentials{}, ie
		}
	}
	return c, nil
}

// lookupKey finds key in m, exactly or else ignoring case.
func lookupKey(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// jsonErrorMessage describes a json.Unmarshal error with a line and column,
// without quoting any of the input.
func jsonErrorMessage(data []byte, err error, within string) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	prefix := "is not valid JSON"
	if within != "" {
		prefix = "has an invalid \"" + within + "\" value"
	}
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		msg := se.Error()
		if strings.Contains(msg, "unexpected end") {
			return fmt.Sprintf("%s: unexpected end of input at line %d, column %d", prefix, line, col)
		}
		return fmt.Sprintf("%s at line %d, column %d: %s", prefix, line, col, syntaxReason(msg))
	case errors.As(err, &te):
		if within != "" {
			return fmt.Sprintf("\"%s\" must be a JSON object, not %s", within, jsonKind(data))
		}
		return fmt.Sprintf("must be a JSON object, not %s", jsonKind(data))
	}
	return prefix
}

// syntaxReason shortens encoding/json's message, which may quote one input
// character; that is acceptable (a single character is no secret).
func syntaxReason(msg string) string {
	return strings.TrimPrefix(msg, "json: ")
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	line, col = 1, 1
	for _, r := range string(data[:off]) {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	// encoding/json reports the offset after the offending byte.
	if col > 1 {
		col--
	}
	return line, col
}
