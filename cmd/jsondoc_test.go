package cmd

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// finishJSON is the one rule of the JSON failure contract: a failing run's document says
// "ok": false and carries the error with the run's exit code, whatever the command printed;
// a verdict (silent) and a success keep their document as it is.
func TestFinishJSON(t *testing.T) {
	type doc struct {
		OK    *bool      `json:"ok"`
		Error *errorJSON `json:"error"`
	}
	for _, tc := range []struct {
		name     string
		print    any // nil: the command printed nothing
		err      error
		code     int
		wantOK   bool
		wantErr  bool
		wantKeep string // a field of the command's document that must survive
	}{
		{"failed report without error", map[string]any{"health": "missing", "ok": false}, errors.New("status: missing"), ExitFailed, false, true, `"health": "missing"`},
		{"ok report, later failure", struct {
			OK    bool `json:"ok"`
			Count int  `json:"count"`
		}{true, 3}, errors.New("boom"), ExitFailed, false, true, `"count": 3`},
		{"report without ok", struct {
			Entries []int `json:"entries"`
		}{[]int{}}, errors.New("boom"), ExitFailed, false, true, `"entries": []`},
		{"report with its own error", setupJSON{Error: &errorJSON{Message: "own", ExitCode: 3}}, &exitError{code: 3, err: errors.New("own")}, 3, false, true, `"message": "own"`},
		{"nothing printed", nil, flagErrorf("--x: bad"), ExitUsage, false, true, ""},
		{"verdict", map[string]any{"ok": true, "changes": []int{1}}, silent(ExitFailed), ExitFailed, true, false, `"changes"`},
		{"success", map[string]any{"ok": true}, nil, ExitOK, true, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, out, _ := newTestFactory(nil)
			f.Output = "json"
			if tc.print != nil {
				if err := printJSON(f, tc.print); err != nil {
					t.Fatal(err)
				}
			}
			finishJSON(f, tc.err, tc.code)
			var d doc
			dec := json.NewDecoder(strings.NewReader(out.String()))
			if err := dec.Decode(&d); err != nil || dec.More() {
				t.Fatalf("not one document (%v):\n%s", err, out.String())
			}
			if d.OK == nil || *d.OK != tc.wantOK || (d.Error != nil) != tc.wantErr {
				t.Fatalf("ok/error wrong:\n%s", out.String())
			}
			if tc.wantErr && (d.Error.ExitCode != tc.code || d.Error.Message == "") {
				t.Errorf("error %+v, want exit code %d", d.Error, tc.code)
			}
			if !strings.Contains(out.String(), tc.wantKeep) {
				t.Errorf("lost %s:\n%s", tc.wantKeep, out.String())
			}
		})
	}
}
