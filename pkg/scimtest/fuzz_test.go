package scimtest

import (
	"encoding/json"
	"strconv"
	"testing"
)

// FuzzFilter: parsing and evaluating any filter never panics.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "a@b.c"`, `emails[type eq "work"].value eq "x"`, `not (a eq "b") or (c pr)`,
		`members[value eq "1"]`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`,
		`meta.created gt "2020"`, `active eq True`, `userName eq "\"\\"`, `emails[type eq "w"].`, `((((`,
	} {
		f.Add(s)
	}
	doc := map[string]any{
		"id": "1", "userName": "a@b.c", "active": true,
		"emails":             []any{map[string]any{"value": "x", "type": "work", "primary": true}, "odd"},
		"name":               map[string]any{"givenName": "A"},
		"members":            []any{map[string]any{"value": "1"}},
		SchemaEnterpriseUser: map[string]any{"manager": map[string]any{"value": "x"}},
		"meta":               map[string]any{"created": "2021-01-01T00:00:00.000Z"},
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range []*resourceKind{userKind, groupKind} {
			if n, err := parseFilter(k, s); err == nil {
				n.eval(doc)
			}
		}
	})
}

// FuzzPatch: applying any PATCH path and value never panics and never
// leaves a document that fails to render.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		`emails[type eq "work"].value`, `name.givenName`, `members[value eq "1"]`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
		`active`, `emails`, `addresses[type eq "work" and primary eq true].locality`,
	} {
		f.Add("add", s, `"v"`)
		f.Add("remove", s, ``)
		f.Add("replace", s, `{"value":"x","type":"home"}`)
	}
	f.Fuzz(func(t *testing.T, op, path, value string) {
		s := NewHandler(Options{})
		u := s.AddUser(User{UserName: "a@b.c", Email: "a@b.c"})
		body := `{"schemas":["` + SchemaPatchOp + `"],"Operations":[{"op":` + strconv.Quote(op) + `,"path":` + strconv.Quote(path)
		if value != "" {
			body += `,"value":` + value
		}
		body += `}]}`
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			return
		}
		ops, serr := parsePatchRequest(m)
		if serr != nil {
			return
		}
		if _, serr := s.patchLocked(userKind, u.ID, ops); serr == nil {
			s.mu.Lock()
			s.renderLocked(userKind, s.users[u.ID])
			s.mu.Unlock()
		}
	})
}
