package invicti

import (
	"bytes"
	"fmt"
)

// UTF-16 and UTF-8 byte-order marks, as Windows tools (Notepad, PowerShell's Out-File and
// `>` redirection in Windows PowerShell 5.1) write them.
var (
	bomUTF8    = []byte{0xef, 0xbb, 0xbf}
	bomUTF16LE = []byte{0xff, 0xfe}
	bomUTF16BE = []byte{0xfe, 0xff}
)

// TextFileError means a secret or credentials file is not UTF-8 text; Fix says how to convert.
type TextFileError struct {
	Source   string // the flag, e.g. "--client-secret-file secret.txt"
	Encoding string // "UTF-16"
}

func (e *TextFileError) Error() string {
	return fmt.Sprintf("%s: the file is %s, not UTF-8 (Windows PowerShell 5.1's Out-File and > write UTF-16)", e.Source, e.Encoding)
}

// Hint says how to convert the file.
func (e *TextFileError) Hint() string {
	return "save it as UTF-8: in PowerShell, Get-Content FILE | Set-Content -Encoding utf8 FILE.utf8 (or Out-File -Encoding utf8); elsewhere, iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8"
}

// DecodeText turns the bytes of a secret, credentials or list file into text: a UTF-8
// byte-order mark is dropped (Windows editors add one), and UTF-16, with or without its mark,
// is refused with a *TextFileError naming the cause instead of "invalid UTF-8" or "invalid
// character 'ÿ'".
func DecodeText(source string, data []byte) (string, error) {
	if isUTF16(data) {
		return "", &TextFileError{Source: source, Encoding: "UTF-16"}
	}
	return string(bytes.TrimPrefix(data, bomUTF8)), nil
}

// isUTF16 recognises UTF-16 by its byte-order mark, or, without one, by ASCII text with a NUL
// byte beside every character (no UTF-8 text, secret or JSON has NUL bytes).
func isUTF16(data []byte) bool {
	if bytes.HasPrefix(data, bomUTF16LE) || bytes.HasPrefix(data, bomUTF16BE) {
		return true
	}
	if len(data) < 2 {
		return false
	}
	even, odd := 0, 0
	for i, b := range data {
		if b != 0 {
			continue
		}
		if i%2 == 0 {
			even++
		} else {
			odd++
		}
	}
	half := len(data) / 2
	return even >= half*9/10 && even > 0 || odd >= half*9/10 && odd > 0
}
