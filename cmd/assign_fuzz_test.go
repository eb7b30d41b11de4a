package cmd

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParsePrincipalFile feeds --from-file parsing arbitrary files, in both of its forms (one
// principal per line, and CSV with a header): it never panics, and every user or group it
// returns is a usable name — non-empty, trimmed, at most 256 bytes, valid UTF-8 and free of
// control characters.
func FuzzParsePrincipalFile(f *testing.F) {
	for _, s := range []string{
		"alice@contoso.com\nbob@contoso.com\n",
		"# users to assign\nalice@contoso.com   # the admin\n\ngroup:Invicti Users\nbob_fabrikam.com#EXT#@contoso.com\n",
		"\ufeffupn,displayName\r\nalice@contoso.com,Alice\r\n\"carol@contoso.com\",\"Chen, Carol\"\r\n",
		"user,group\nalice@contoso.com,Invicti Users\n,Big Group\n",
		"name,title\nx,y\n",
		"upn\n\"multi\nline\"\n",
		"upn\n\"unterminated\n",
		"group:\n",
		"group:   \n",
		"a\x00b\n",
		"tab\there\n",
		"nel\u0085inside\n",
		"csi\u009b31m\n",
		"\u00a0padded\u00a0\n",
		"\u2028\n",
		"\xff\xfe\n",
		strings.Repeat("x", 300) + "\n",
		"group:" + strings.Repeat("g", 300) + "\n",
		"#only a comment\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		users, groups, err := ParsePrincipalFile(strings.NewReader(string(data)))
		if err != nil {
			if users != nil || groups != nil {
				t.Fatalf("error %v with results %q %q", err, users, groups)
			}
			return
		}
		for kind, list := range map[string][]string{"user": users, "group": groups} {
			for _, v := range list {
				switch {
				case v == "":
					t.Fatalf("empty %s from %q", kind, data)
				case strings.TrimSpace(v) != v:
					t.Fatalf("%s %q is not trimmed (from %q)", kind, v, data)
				case len(v) > 256:
					t.Fatalf("%s of %d bytes (from %q)", kind, len(v), data)
				case !utf8.ValidString(v):
					t.Fatalf("%s %q is not valid UTF-8 (from %q)", kind, v, data)
				case strings.IndexFunc(v, unicode.IsControl) >= 0:
					t.Fatalf("%s %q contains a control character (from %q)", kind, v, data)
				}
				if err := validPrincipal("", v); err != nil {
					t.Fatalf("%s %q returned, but the command line would refuse it: %v", kind, v, err)
				}
			}
		}
	})
}
