package provision

import (
	"strings"
	"testing"
)

// FuzzParseVerdict feeds ParseVerdict arbitrary key and value strings (Graph returns both as
// JSON inside JSON, and a proxy or a future API version may return anything): it never panics,
// a success always has a result, and a failure leaves nothing half-filled.
func FuzzParseVerdict(f *testing.F) {
	value := `{"action":"Create","provisioningSteps":[{"name":"EntryImport","type":"Import","status":"Success","description":"Retrieved alice"},` +
		`{"name":"EntryExportAdd","type":"Export","status":"Success","description":"Created"}],` +
		`"modifiedProperties":[{"displayName":"userName","oldValue":null,"newValue":"alice@contoso.example"},{"displayName":"active","oldValue":false,"newValue":true},` +
		`{"displayName":"emails","newValue":["a@x","b@x"]},{"displayName":"n","newValue":1.5e300}],"targetIdentity":{"id":"4f1c"}}`
	for _, c := range [][2]string{
		{`{"result":"Success","details":{}}`, value},
		{`{"result":"Skipped","details":{"errorCode":"RedundantExport","errorMessage":"already in sync"}}`, `{}`},
		{`{"result":"Skipped","details":{"errorCode":"NotEffectivelyEntitled","errorMessage":"not assigned"}}`, ``},
		{`{"result":"Failure","details":{"errorCode":"SystemForCrossDomainIdentityManagementBadRequest","errorMessage":"400"}}`, `not json`},
		{`{"result":""}`, value},
		{`{"result":null}`, ``},
		{`{"result":1}`, ``},
		{`{"details":"x"}`, ``},
		{`[]`, ``},
		{``, value},
		{` `, ``},
		{`null`, ``},
		{`{"result":"Success"}`, `{"provisioningSteps":"x"}`},
		{`{"result":"Success"}`, `{"modifiedProperties":[{"newValue":{"a":[1,{"b":null}]}}]}`},
		{`{"result":"Success"}`, `{"targetIdentity":null,"provisioningSteps":null}`},
		{`{"result":"Success\u0000"}`, `{"action":"\ud800"}`},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		v, err := ParseVerdict(key, value)
		if err != nil {
			if v.Result != "" || v.Action != "" || len(v.Steps) > 0 || len(v.Attributes) > 0 {
				t.Fatalf("error %v with a half-filled verdict %+v", err, v)
			}
			if !strings.HasPrefix(err.Error(), "provision on demand: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if v.Result == "" {
			t.Fatalf("ParseVerdict(%q, %q) succeeded with an empty result", key, value)
		}
		// The predicates the CLI branches on must not panic and must agree with each other.
		if v.InSync() && v.NotEntitled() {
			t.Fatalf("verdict both in sync and not entitled: %+v", v)
		}
		if v.OK() && v.NotEntitled() {
			t.Fatalf("verdict both OK and not entitled: %+v", v)
		}
	})
}
