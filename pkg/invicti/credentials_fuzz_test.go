package invicti

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

const fuzzSource = "--credentials-file creds.json"

// FuzzParseCredentialsJSON: never panics; on success both values are non-empty, at most
// MaxJSONCredentialSize bytes, valid UTF-8, free of control and invisible characters and of
// surrounding whitespace; every failure is an *InputError for the source; and no error ever
// contains the clientSecret value given in the input.
func FuzzParseCredentialsJSON(f *testing.F) {
	for _, s := range []string{
		`{"credentials":{"clientId":"0oa1b2c3","clientSecret":"Zx9-very-SECRET-value_42"}}`,
		`{"id":"reg-1","credentials":{"clientId":"cid","clientSecret":"s3cr3t-s3cr3t","scopes":["scim"]},"authorized":true}`,
		`{"clientId":"cid","clientSecret":"bare-object-secret"}`,
		"\xef\xbb\xbf{\n  \"Credentials\": {\n    \"ClientId\": \"cid\",\n    \"CLIENTSECRET\": \"bom-and-case\"\n  }\n}\n",
		`{"clientId":"c\u0069d","clientSecret":"escaped\/secret\u00e9"}`,
		`{"clientId":"cid","clientSecret":"ctrl-in-secret\u0007xx"}`,
		`{"clientId":"cid","clientSecret":" leading-space-secret"}`,
		`{"clientId":"cid","clientSecret":"zero\u200bwidth-secret"}`,
		`{"clientId":"cid","clientSecret":"[REDACTED]"}`,
		`{"clientId":"bad id","clientSecret":"secret-after-bad-id"}`,
		`{"clientId":"cid","clientSecret":"trailing-comma-secret",}`,
		`{"clientId":"cid","clientSecret":"unterminated-secret`,
		`{"credentials":{"clientId":"cid","clientSecret":{"v":"nested-secret-value"}}}`,
		`{"credentials":"string-credentials-secret"}`,
		`{"credentials":null}`,
		`"just-a-string-secret"`,
		`[{"clientId":"c"}]`,
		`null`,
		``,
		"{\"clientId\":\"cid\",\"clientSecret\":\"\xff\xfe-invalid-utf8\"}",
	} {
		f.Add([]byte(s))
	}
	corpus := messageCorpus()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCredentialsJSON(fuzzSource, data)
		if err == nil {
			for name, v := range map[string]string{"ClientID": c.ClientID, "ClientSecret": c.ClientSecret} {
				checkCleanValue(t, name, v, MaxJSONCredentialSize)
			}
			return
		}
		var ie *InputError
		if !errors.As(err, &ie) || ie.Flag != fuzzSource {
			t.Fatalf("error is not an *InputError for %q: %T %v", fuzzSource, err, err)
		}
		msg := err.Error()
		secrets, ids := credentialCandidates(data)
		for _, s := range secrets {
			if len(s) < 8 {
				continue // too short to be told apart from the message's own words
			}
			if !strings.Contains(msg, s) || coincidental(s, ids, corpus) {
				continue
			}
			t.Fatalf("error contains the clientSecret %q: %s", s, msg)
		}
	})
}

// checkCleanValue asserts what every accepted credential value satisfies.
func checkCleanValue(t *testing.T, name, v string, limit int) {
	t.Helper()
	switch {
	case v == "":
		t.Fatalf("%s is empty", name)
	case len(v) > limit:
		t.Fatalf("%s is %d bytes, more than %d", name, len(v), limit)
	case !utf8.ValidString(v):
		t.Fatalf("%s %q is not valid UTF-8", name, v)
	case strings.TrimSpace(v) != v || strings.IndexFunc(v, unicode.IsSpace) >= 0:
		t.Fatalf("%s %q contains whitespace", name, v)
	case strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		t.Fatalf("%s %q contains a control or invisible character", name, v)
	}
}

var rawSecretRE = regexp.MustCompile(`(?i)"client_?secret"\s*:\s*"((?:[^"\\]|\\.)*)`)

// credentialCandidates returns every value the input could mean as the client secret (and as
// the client id): the decoded values of any key spelled clientSecret (any case) at the top or
// inside "credentials", and, for input that is not valid JSON, what follows "clientSecret":" .
func credentialCandidates(data []byte) (secrets, ids []string) {
	add := func(dst *[]string, raw json.RawMessage) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			*dst = append(*dst, s)
		}
		*dst = append(*dst, strings.Trim(string(raw), `"`))
	}
	var scan func(m map[string]json.RawMessage, depth int)
	scan = func(m map[string]json.RawMessage, depth int) {
		for k, v := range m {
			switch {
			case strings.EqualFold(k, "clientSecret"):
				add(&secrets, v)
			case strings.EqualFold(k, "clientId"):
				add(&ids, v)
			case strings.EqualFold(k, "credentials") && depth == 0:
				var inner map[string]json.RawMessage
				if json.Unmarshal(v, &inner) == nil {
					scan(inner, 1)
				} else {
					add(&secrets, v) // "credentials":"…" may be a pasted secret
				}
			}
		}
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(trimBOM(data), &top) == nil {
		scan(top, 0)
	} else {
		var s string
		if json.Unmarshal(trimBOM(data), &s) == nil {
			secrets = append(secrets, s)
		}
	}
	for _, m := range rawSecretRE.FindAllSubmatch(data, -1) {
		secrets = append(secrets, string(m[1]))
		if s, err := strconv.Unquote(`"` + string(m[1]) + `"`); err == nil {
			secrets = append(secrets, s)
		}
	}
	return secrets, ids
}

func trimBOM(b []byte) []byte { return []byte(strings.TrimPrefix(string(b), "\xef\xbb\xbf")) }

// coincidental reports whether s appears in an error message for a reason other than being
// the secret: it is part of a client id the message may show (client ids are not secret), or
// it is text every such message contains anyway (the source, the templates, encoding/json's
// wording), compared with digits and quoted characters normalised.
func coincidental(s string, ids []string, corpus string) bool {
	for _, id := range ids {
		if strings.Contains(id, s) || strings.Contains(shown(id), s) || strings.Contains(strconv.Quote(shown(id)), s) {
			return true
		}
	}
	return strings.Contains(corpus, normalizeMsg(s))
}

var (
	digitsRE    = regexp.MustCompile(`[0-9]+`)
	quotedRuneR = regexp.MustCompile(`'(?:\\.|[^'\\])[^' ]{0,9}'`)
)

func normalizeMsg(s string) string {
	s = strings.ToLower(s)
	s = quotedRuneR.ReplaceAllString(s, "'?'")
	return digitsRE.ReplaceAllString(s, "0")
}

// messageCorpus collects the wording of every error ParseCredentialsJSON gives, from inputs
// whose values are all "v".
func messageCorpus() string {
	var b strings.Builder
	for _, in := range []string{
		"", " ", "{", "[", "}", `{"a"`, `{"a":`, `{"a" 1}`, `{"a":1,}`, `{"a":1 "b"}`, `{}{}`, `{'a':1}`,
		`{"a":tru}`, `{"a":nul}`, `{"a":1.}`, `{"a":1e}`, `{"a":-}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `[1 2]`,
		`[]`, `"v"`, `1`, `true`, `null`, `{"credentials":null}`, `{"credentials":"v"}`, `{"credentials":[]}`, `{"credentials":{"a":}}`,
		`{}`, `{"clientId":"v"}`, `{"credentials":{}}`, `{"credentials":{"clientId":"v"}}`,
		`{"clientId":1,"clientSecret":"v"}`, `{"clientId":{},"clientSecret":"v"}`, `{"clientId":[],"clientSecret":"v"}`,
		`{"clientId":true,"clientSecret":"v"}`, `{"clientId":null,"clientSecret":"v"}`,
		`{"clientId":"v","clientSecret":1}`, `{"credentials":{"clientId":"v","clientSecret":null}}`,
		`{"clientId":"","clientSecret":"v"}`, `{"clientId":"v","clientSecret":""}`,
		`{"credentials":{"clientId":"","clientSecret":"v"}}`, `{"credentials":{"clientId":"v","clientSecret":""}}`,
		`{"clientId":" v","clientSecret":"v"}`, `{"clientId":"v","clientSecret":" v"}`,
		`{"clientId":"v v","clientSecret":"v"}`, `{"clientId":"v","clientSecret":"v v"}`,
		`{"credentials":{"clientId":"v v","clientSecret":"v"}}`, `{"credentials":{"clientId":"v","clientSecret":"v v"}}`,
		`{"clientId":"v\u0001","clientSecret":"v"}`, `{"clientId":"v","clientSecret":"v\u0001"}`,
		`{"clientId":"v\n","clientSecret":"v"}`, `{"clientId":"v","clientSecret":"v\nv"}`, `{"clientId":"v","clientSecret":"v\tv"}`, `{"clientId":"v","clientSecret":"v\rv"}`,
		`{"clientId":"v\u200b","clientSecret":"v"}`, `{"clientId":"v","clientSecret":"v\u200b"}`,
		"{\"clientId\":\"v\",\"clientSecret\":\"v\xff\"}", "{\"clientId\":\"v\xff\",\"clientSecret\":\"v\"}",
		`{"clientId":"v","clientSecret":"<redacted>"}`, `{"clientId":"v","clientSecret":"[redacted]"}`,
		`{"credentials":{"clientId":"v","clientSecret":"[REDACTED]"}}`,
		`{"clientId":"` + strings.Repeat("v", 2000) + `","clientSecret":"v"}`,
		`{"clientId":"v","clientSecret":"` + strings.Repeat("v", 2000) + `"}`,
		`{"credentials":{"clientId":"` + strings.Repeat("v", 2000) + `","clientSecret":"v"}}`,
		`{"credentials":{"clientId":"v","clientSecret":"` + strings.Repeat("v", 2000) + `"}}`,
		`{"v":"` + strings.Repeat("v", maxCredentialsFile) + `"}`,
	} {
		if _, err := ParseCredentialsJSON(fuzzSource, []byte(in)); err != nil {
			b.WriteString(normalizeMsg(err.Error()))
			b.WriteString("\x00")
		}
	}
	return b.String()
}
