package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// The JSON failure contract (README "Exit codes"): with -o json a run prints one document on
// stdout, and when the run fails that document has "ok": false and an "error" object
// {message, exitCode, hint} whose exitCode is the process's. Commands print their document
// with printJSON and return their error; run() applies the contract once, in finishJSON, so
// no command can print a failing document without the error (status, doctor and mappings
// check once did). A verdict exit (silent: plan --exit-code's 5, mappings diff's 1,
// declining a confirmation's 0) is not a failure: its document stays as the command made it.

// printJSON takes the command's one JSON document. The data stays exact except for secrets,
// which are masked in every string (steps[].detail, error messages) by the same redactor as
// the text output. The document is held until the run ends (finishJSON) so that a failure
// after it still reaches it; a command that keeps running after announcing itself (sandbox)
// calls flushJSON.
func printJSON(f *Factory, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// The document is read by people and jq, not embedded in HTML: "&" stays "&", not \u0026.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	if err := flushJSON(f); err != nil { // a run prints one document; never drop one silently
		return err
	}
	f.jsonDone = true
	f.jsonDoc = buf.Bytes()
	return nil
}

// flushJSON writes the held document now (nothing when there is none).
func flushJSON(f *Factory) error {
	if f.jsonDoc == nil {
		return nil
	}
	doc := f.jsonDoc
	f.jsonDoc = nil
	_, err := f.IO.Out.Write(f.IO.Redactor.JSON(doc))
	return err
}

// finishJSON applies the failure contract to the run's document and writes it. err and code
// are the run's final error and exit code. A failed run that printed no document gets the
// error document; one that printed a document gets "ok": false and the error in it, unless
// the command already put its own error object there.
func finishJSON(f *Factory, err error, code int) {
	failed := code != ExitOK && !isVerdict(err)
	if failed && f.JSON() {
		e := errorJSON{Message: errMessage(f, err), ExitCode: code, Hint: f.IO.Redactor.Redact(hintOf(err))}
		if f.jsonDoc == nil && !f.jsonDone {
			_ = printJSON(f, errorDoc{Error: e})
		} else if f.jsonDoc != nil {
			f.jsonDoc = failDoc(f.jsonDoc, e)
		}
	}
	_ = flushJSON(f)
}

// isVerdict reports whether err is a verdict exit (silent): the command's output already is
// the answer, and the exit code is part of it rather than a failure.
func isVerdict(err error) bool {
	var se *silentError
	return errors.As(err, &se)
}

// errMessage is err's message as printed: redacted, without surrounding space.
func errMessage(f *Factory, err error) string {
	return strings.TrimSpace(f.IO.Redactor.Redact(err.Error()))
}

// failDoc makes an encoded document (printJSON's indented object) a failing one: the
// top-level "ok" becomes false (added when missing) and e is added as "error" when the
// document has none. The edit is textual so the document keeps its field order; top-level
// keys are the lines indented by exactly two spaces.
func failDoc(doc []byte, e errorJSON) []byte {
	var top map[string]json.RawMessage
	if json.Unmarshal(doc, &top) != nil {
		return doc // not an object: nothing to add to
	}
	doc = bytes.Replace(doc, []byte("\n  \"ok\": true"), []byte("\n  \"ok\": false"), 1)
	var add [][]byte
	if _, ok := top["ok"]; !ok {
		add = append(add, []byte(`  "ok": false`))
	}
	if raw, ok := top["error"]; !ok || string(raw) == "null" {
		ej, _ := json.MarshalIndent(e, "  ", "  ")
		if ok { // "error": null
			return bytes.Replace(doc, []byte("\n  \"error\": null"), append([]byte("\n  \"error\": "), ej...), 1)
		}
		add = append(add, append([]byte(`  "error": `), ej...))
	}
	if len(add) == 0 {
		return doc
	}
	body := bytes.TrimRight(doc, " \n")
	body = bytes.TrimRight(body[:len(body)-1], " \n") // drop the closing brace
	var out bytes.Buffer
	out.Write(body)
	for i, a := range add {
		if i > 0 || !bytes.HasSuffix(body, []byte("{")) {
			out.WriteString(",")
		}
		out.WriteString("\n")
		out.Write(a)
	}
	out.WriteString("\n}\n")
	return out.Bytes()
}
