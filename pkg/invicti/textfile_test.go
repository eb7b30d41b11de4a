package invicti

import (
	"errors"
	"testing"
	"unicode/utf16"
)

func TestDecodeText(t *testing.T) {
	le := func(s string, bom bool) []byte {
		var b []byte
		if bom {
			b = []byte{0xff, 0xfe}
		}
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	tests := []struct {
		name  string
		in    []byte
		want  string
		utf16 bool
	}{
		{"plain", []byte("s3cr3t\n"), "s3cr3t\n", false},
		{"utf8 bom", []byte("\xef\xbb\xbfs3cr3t"), "s3cr3t", false},
		{"utf8 non-ascii", []byte("pässwörd"), "pässwörd", false},
		{"utf16le bom", le("s3cr3t", true), "", true},
		{"utf16be bom", []byte{0xfe, 0xff, 0, 's', 0, '3'}, "", true},
		{"utf16le no bom", le(`{"credentials":{}}`, false), "", true},
		{"empty", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeText("--client-secret-file f", tt.in)
			var te *TextFileError
			if errors.As(err, &te) != tt.utf16 || got != tt.want {
				t.Fatalf("DecodeText = %q, %v", got, err)
			}
			if tt.utf16 && (te.Encoding != "UTF-16" || te.Hint() == "") {
				t.Fatalf("error %#v", te)
			}
		})
	}
}
