package main

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdJSONFail runs a command that must fail with exit status N under -o json and checks the
// JSON failure contract (README "Exit codes"): stdout is exactly one JSON object with
// "ok": false and an "error" object whose message is not empty and whose exitCode is the
// process's exit status. stdout and stderr stay available to later stdout/stderr lines.
//
//	jsonfail N PROGRAM [ARGS...]
func cmdJSONFail(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: jsonfail N PROGRAM [ARGS...]")
	}
	cmdExitCode(ts, false, args) // runs it and asserts the exit status
	got, _ := strconv.Atoi(args[0])
	var doc struct {
		OK    *bool `json:"ok"`
		Error *struct {
			Message  string `json:"message"`
			ExitCode *int   `json:"exitCode"`
		} `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile("stdout")))
	if err := dec.Decode(&doc); err != nil {
		ts.Fatalf("stdout is not one JSON document: %v", err)
	}
	if dec.More() {
		ts.Fatalf("stdout holds more than one JSON document")
	}
	switch {
	case doc.OK == nil || *doc.OK:
		ts.Fatalf("the document of a run that exited %d does not say \"ok\": false", got)
	case doc.Error == nil || doc.Error.Message == "":
		ts.Fatalf("the document of a run that exited %d has no \"error\" with a message", got)
	case doc.Error.ExitCode == nil || *doc.Error.ExitCode != got:
		ts.Fatalf("error.exitCode is not the exit status %d", got)
	}
}
