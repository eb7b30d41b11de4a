package safetext

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestEscapeControlCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"plain name":               "plain name",
		"Zoë Ünal 日本":              "Zoë Ünal 日本",
		"\x1b[2J\x1b[H✓ healthy":   `\x1b[2J\x1b[H✓ healthy`,
		"\x1b]0;pwned\x07title":    `\x1b]0;pwned\x07title`,
		"a\rb":                     `a\x0db`,
		"line1\nline2\tx":          `line1\x0aline2\x09x`,
		"csi\u009b31m":             `csi\u009b31m`,
		"abc\u202edcba":            `abc\u202edcba`,
		"bad \xff byte":            `bad \xff byte`,
		"del\x7f":                  `del\x7f`,
		"keeps \ufffd replacement": "keeps \ufffd replacement",
	} {
		if got := Escape(in, false); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Escape("a\nb\tc\x1b", true); got != "a\nb\tc\\x1b" {
		t.Errorf("Escape keepNewlines = %q", got)
	}
}

func TestRedactEveryEncoding(t *testing.T) {
	const secret = `s3cr3t/Value+with "quotes"&more`
	r := &Redactor{}
	r.AddBasic("client-1", secret)
	basic := base64.StdEncoding.EncodeToString([]byte("client-1:" + secret))
	jsonForm, _ := json.Marshal(secret)
	for name, in := range map[string]string{
		"raw":          "Graph said: " + secret + " is wrong",
		"query":        "https://x/?q=" + url.QueryEscape(secret),
		"path":         "https://x/" + url.PathEscape(secret),
		"json":         `{"error":{"message":` + string(jsonForm) + `}}`,
		"basic header": `{"headers":{"X-Echo":"` + basic + `"}}`,
	} {
		got := r.Redact(in)
		if strings.Contains(got, "s3cr3t") || strings.Contains(got, basic) || strings.Contains(got, "s3cr3t%2F") {
			t.Errorf("%s: Redact(%q) = %q still holds the secret", name, in, got)
		}
		if !strings.Contains(got, Mask) {
			t.Errorf("%s: Redact(%q) = %q has no mask", name, in, got)
		}
	}
}

func TestRedactCredentialFieldsAnywhere(t *testing.T) {
	var r *Redactor // patterns only
	for _, in := range []string{
		"client_assertion=eyAAAA.BBBB.CCCC&client_id=x&grant_type=client_credentials",
		"client_id=x&client_assertion=assert-value-1&scope=y",
		"code=auth-code-value&code_verifier=pkce-verifier-value&grant_type=authorization_code",
		"grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=dev-code-value",
		"refresh_token=refresh-value&client_id=x",
		"GET http://localhost:1234/?code=auth-code-value&state=s",
		`{"access_token":"at-value","refresh_token":"rt-value","id_token":"it-value"}`,
		`{"device_code":"dev-code-value","user_code":"ABCD"}`,
		`{"assertion":"assert-value-1"}`,
		"Authorization: Basic dXNlcjpwYXNz",
		`reflected "Basic dXNlcjpwYXNz" header`,
		"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-part here",
	} {
		got := r.Redact(in)
		for _, leak := range []string{"eyAAAA", "assert-value", "auth-code-value", "pkce-verifier", "dev-code-value", "refresh-value", "rt-value", "at-value", "it-value", "dXNlcjpwYXNz", "eyJhbGciOiJIUzI1NiJ9"} {
			if strings.Contains(got, leak) {
				t.Errorf("Redact(%q) = %q leaks %q", in, got, leak)
			}
		}
	}
	// Graph's error objects keep their code; non-secret fields stay.
	for _, in := range []string{
		`{"error":{"code":"Request_ResourceNotFound","message":"gone"}}`,
		`{"key":"BaseAddress","value":"https://x/api/scim/v2"}`,
		"grant_type=client_credentials&client_id=abc",
	} {
		if got := r.Redact(in); got != in {
			t.Errorf("Redact(%q) = %q, want it unchanged", in, got)
		}
	}
}

func TestJSONKeepsDataExact(t *testing.T) {
	r := &Redactor{}
	r.Add("the-secret-1")
	name := "\x1b]0;pwned\x07Eve\u009b2J\u202e"
	doc, _ := json.Marshal(map[string]string{"name": name, "detail": "echo the-secret-1"})
	out := r.JSON(doc)
	if bytes.ContainsAny(out, "\x1b\x07") || bytes.Contains(out, []byte("\u009b")) || bytes.Contains(out, []byte("\u202e")) {
		t.Fatalf("JSON output carries raw control characters: %q", out)
	}
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back["name"] != name {
		t.Errorf("name = %q, want the exact %q", back["name"], name)
	}
	if back["detail"] != "echo "+Mask {
		t.Errorf("detail = %q, want the secret masked", back["detail"])
	}
}

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	r := &Redactor{}
	r.Add("abcd-secret")
	_, _ = r.Writer(&b).Write([]byte("code \x1b[31mABCD\x1b[0m for abcd-secret\n"))
	if got := b.String(); got != `code \x1b[31mABCD\x1b[0m for `+Mask+"\n" {
		t.Errorf("Writer wrote %q", got)
	}
}

func TestSchemeWordsInProseStay(t *testing.T) {
	in := "Bearer tokens from the token endpoint; Basic authentication"
	if got := (*Redactor)(nil).Redact(in); got != in {
		t.Errorf("Redact(%q) = %q", in, got)
	}
}
