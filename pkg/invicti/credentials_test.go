package invicti

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const leakySecret = "Zx9-very-SECRET-value_42"

func TestCredentialsNeverPrintSecret(t *testing.T) {
	c := Credentials{ClientID: "abc", ClientSecret: leakySecret}
	if got, want := c.String(), `Credentials{ClientID: "abc", ClientSecret: <redacted>}`; got != want {
		t.Errorf("String() = %q", got)
	}
	type wrapper struct {
		Name string
		C    Credentials
		P    *Credentials
	}
	w := wrapper{"x", c, &c}
	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%10.3v", "%-v"} {
		outputs["c "+verb] = fmt.Sprintf(verb, c)
		outputs["&c "+verb] = fmt.Sprintf(verb, &c)
		outputs["w "+verb] = fmt.Sprintf(verb, w)
		outputs["[]c "+verb] = fmt.Sprintf(verb, []Credentials{c})
		outputs["map "+verb] = fmt.Sprintf(verb, map[string]Credentials{"k": c})
	}
	outputs["Sprint"] = fmt.Sprint(c, &c, w)
	outputs["Sprintln"] = fmt.Sprintln(c, &c, w)
	outputs["Errorf"] = fmt.Errorf("wrapped: %w %v", errors.New("x"), c).Error()
	for _, v := range []any{c, &c, w, []Credentials{c}} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs[fmt.Sprintf("json %T", v)] = string(j)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("creds", "c", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("creds", "c", c)
	outputs["slog"] = buf.String()
	for name, out := range outputs {
		if strings.Contains(out, leakySecret) || strings.Contains(out, "SECRET") {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
	}
	if !strings.Contains(outputs["c %#v"], `invicti.Credentials{ClientID:"abc", ClientSecret:"<redacted>"}`) {
		t.Errorf("%%#v = %s", outputs["c %#v"])
	}
	if outputs["json invicti.Credentials"] != `{"clientId":"abc","clientSecret":"[redacted]"}` {
		t.Errorf("json = %s", outputs["json invicti.Credentials"])
	}
	if !strings.Contains(outputs["c %+v"], `ClientID: "abc"`) {
		t.Errorf("%%+v = %s", outputs["c %+v"])
	}
	if s := (Credentials{ClientID: "abc"}).String(); !strings.Contains(s, "<empty>") {
		t.Errorf("empty secret = %s", s)
	}
}

func TestParseCredentialsJSON(t *testing.T) {
	good := []struct{ name, in, id, secret string }{
		{"invicti response", `{"credentials":{"clientId":"cid","clientSecret":"` + leakySecret + `"}}`, "cid", leakySecret},
		{"extra fields", `{"id":"reg-1","name":"Entra","credentials":{"clientId":"cid","clientSecret":"s","scopes":["scim"],"expires":null},"authorized":true}`, "cid", "s"},
		{"bare object", `{"clientId":"cid","clientSecret":"s","other":1}`, "cid", "s"},
		{"pretty with BOM", "\xef\xbb\xbf{\n  \"credentials\": {\n    \"clientId\": \"cid\",\n    \"clientSecret\": \"s\"\n  }\n}\n", "cid", "s"},
		{"key case", `{"Credentials":{"ClientId":"cid","CLIENTSECRET":"s"}}`, "cid", "s"},
		{"credentials win over bare", `{"clientId":"x","credentials":{"clientId":"cid","clientSecret":"s"}}`, "cid", "s"},
		{"escapes", `{"clientId":"c\u0069d","clientSecret":"a\/b"}`, "cid", "a/b"},
	}
	for _, c := range good {
		got, err := ParseCredentialsJSON("--credentials-file creds.json", []byte(c.in))
		if err != nil || got.ClientID != c.id || got.ClientSecret != c.secret {
			t.Errorf("%s: %v, %v", c.name, got, err)
		}
	}

	bad := []struct{ name, in, msg string }{
		{"empty", "", "is empty"},
		{"blank", " \n ", "is empty"},
		{"truncated", "{\n  \"credentials\": {\n    \"clientId\": \"cid\",", "unexpected end of input at line 3"},
		{"syntax", "{\n  \"credentials\": {\n    \"clientId\" \"cid\"\n  }\n}", "at line 3, column 16"},
		{"trailing comma", `{"clientId":"c","clientSecret":"` + leakySecret + `",}`, "at line 1, column"},
		{"trailing data", `{"clientId":"c","clientSecret":"s"} {}`, "at line 1, column 37"},
		{"single quotes", `{'clientId':'c'}`, "line 1, column 2"},
		{"array", `[{"clientId":"c"}]`, "must be a JSON object, not an array"},
		{"string", `"` + leakySecret + `"`, "must be a JSON object, not a string"},
		{"null", `null`, "is JSON null"},
		{"credentials null", `{"credentials":null}`, `"credentials": null`},
		{"credentials string", `{"credentials":"x"}`, `"credentials" must be a JSON object, not a string`},
		{"no fields", `{"name":"x"}`, "has no clientId"},
		{"missing clientId", `{"credentials":{"clientSecret":"` + leakySecret + `"}}`, "has no credentials.clientId"},
		{"missing secret", `{"credentials":{"clientId":"cid"}}`, "has no credentials.clientSecret"},
		{"number id", `{"clientId":123,"clientSecret":"s"}`, "clientId must be a JSON string, not a number"},
		{"null secret", `{"clientId":"c","clientSecret":null}`, "clientSecret must be a JSON string, not null"},
		{"object secret", `{"clientId":"c","clientSecret":{"v":"` + leakySecret + `"}}`, "clientSecret must be a JSON string, not an object"},
		{"bool id", `{"clientId":true,"clientSecret":"s"}`, "not a boolean"},
		{"empty id", `{"clientId":"","clientSecret":"s"}`, "clientId is empty"},
		{"empty secret", `{"clientId":"c","clientSecret":""}`, "clientSecret is empty"},
		{"control char in secret", `{"clientId":"c","clientSecret":"` + leakySecret + `\u0007"}`, "control character"},
		{"newline in id", `{"clientId":"c\n","clientSecret":"s"}`, "whitespace"},
		{"space in secret", `{"clientId":"c","clientSecret":" ` + leakySecret + `"}`, "whitespace"},
		{"long secret", `{"clientId":"c","clientSecret":"` + strings.Repeat("x", 1025) + `"}`, "1025 bytes long; at most 1024"},
		{"long id", `{"clientId":"` + strings.Repeat("x", 1025) + `","clientSecret":"s"}`, "at most 1024"},
	}
	for _, c := range bad {
		_, err := ParseCredentialsJSON("--credentials-file /tmp/c.json", []byte(c.in))
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: err = %v", c.name, err)
			continue
		}
		if ie.Flag != "--credentials-file /tmp/c.json" || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want …%s…", c.name, err, c.msg)
		}
		if strings.Contains(err.Error(), leakySecret) || strings.Contains(err.Error(), "xxxxxxxxxx") {
			t.Errorf("%s: error leaks a value: %v", c.name, err)
		}
	}
}

func TestValidateAndTrim(t *testing.T) {
	if err := ValidateClientID("--client-id", "0oa1b2c3-d4e5"); err != nil {
		t.Error(err)
	}
	if err := ValidateSecret("--client-secret-file f", leakySecret); err != nil {
		t.Error(err)
	}
	if err := ValidateSecret("s", strings.Repeat("x", 4096)); err != nil {
		t.Error(err)
	}
	bad := []struct {
		secret bool
		v, msg string
	}{
		{false, "", "is empty"},
		{false, " abc", "whitespace"},
		{false, "abc\n", "whitespace"},
		{false, "a\x00c", "control character"},
		{false, "a\u200bc", "invisible character (U+200B)"},
		{false, "a\ufeffc", "invisible character (U+FEFF)"},
		{false, "a b", "contains a space"},
		{false, "a\xffb", "invalid UTF-8"},
		{false, strings.Repeat("x", 1025), "at most 1024"},
		{true, "", "is empty"},
		{true, leakySecret + "\r\n", "whitespace"},
		{true, leakySecret[:5] + "\t" + leakySecret[5:], "control character"},
		{true, strings.Repeat("x", 4097), "at most 4096"},
		{true, "<redacted>", "redaction placeholder"},
		{true, "[REDACTED]", "redaction placeholder"},
	}
	for _, c := range bad {
		var err error
		if c.secret {
			err = ValidateSecret("--client-secret-file /s", c.v)
		} else {
			err = ValidateClientID("--client-id", c.v)
		}
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(ie.Msg, c.msg) {
			t.Errorf("validate(%q) = %v; want …%s…", c.v, err, c.msg)
			continue
		}
		if c.secret && (ie.Value != "" || strings.Contains(err.Error(), leakySecret[:10])) {
			t.Errorf("secret shown in %v", err)
		}
	}
	for in, want := range map[string]string{
		"abc\n":   "abc",
		"abc\r\n": "abc",
		"abc\n\n": "abc\n",
		"abc ":    "abc ",
		" abc":    " abc",
		"abc":     "abc",
		"":        "",
	} {
		if got := TrimSecret(in); got != want {
			t.Errorf("TrimSecret(%q) = %q, want %q", in, got, want)
		}
	}
}
