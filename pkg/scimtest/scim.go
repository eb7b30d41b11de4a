package scimtest

import (
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const scimContentType = "application/scim+json"

func scimError(w http.ResponseWriter, status int, scimType, detail string) {
	body := map[string]any{
		"schemas": []any{SchemaError},
		"status":  strconv.Itoa(status),
		"detail":  detail,
	}
	if scimType != "" {
		body["scimType"] = scimType
	}
	writeJSON(w, status, scimContentType, body)
}

func writeErr(w http.ResponseWriter, e *scimErr) { scimError(w, e.status, e.scimType, e.detail) }

func writeSCIM(w http.ResponseWriter, status int, v any) { writeJSON(w, status, scimContentType, v) }

const loginPage = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in - Invicti Platform</title></head>
<body>
<form method="post" action="/login">
<label>Email <input type="email" name="emailAddress"></label>
<label>Password <input type="password" name="password"></label>
<button type="submit">Sign in</button>
</form>
</body>
</html>
`

const notFoundPage = `<!DOCTYPE html>
<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>
`

func writeHTML(w http.ResponseWriter, status int, page string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(page))
}

// authenticate checks the bearer token; it writes the 401 and returns
// false when there is no valid one.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if h == "" || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Invicti Platform"`)
		scimError(w, http.StatusUnauthorized, "", "authentication required: send Authorization: Bearer <access token>")
		return "", false
	}
	s.mu.Lock()
	ti, ok := s.tokens[tok]
	expired := ok && !s.opts.Now().Before(ti.expires)
	if expired {
		delete(s.tokens, tok)
	}
	s.mu.Unlock()
	if !ok || expired {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Invicti Platform", error="invalid_token"`)
		detail := "invalid access token"
		if expired {
			detail = "the access token has expired"
		}
		scimError(w, http.StatusUnauthorized, "", detail)
		return "", false
	}
	return ti.clientID, true
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	scimError(w, http.StatusMethodNotAllowed, "", r.Method+" is not supported here")
}

func (s *Server) handleSCIM(w http.ResponseWriter, r *http.Request, info *reqInfo) {
	mode := s.Mode()
	switch mode {
	case ModeNotSCIM:
		writeHTML(w, http.StatusOK, loginPage)
		return
	case ModeNoSCIM:
		writeHTML(w, http.StatusNotFound, notFoundPage)
		return
	case ModeServerError:
		scimError(w, http.StatusInternalServerError, "", "internal server error")
		return
	case ModeRateLimited:
		w.Header().Set("Retry-After", "1")
		scimError(w, http.StatusTooManyRequests, "", "too many requests")
		return
	}
	clientID, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	info.clientID = clientID
	if mode == ModeSCIMForbidden {
		scimError(w, http.StatusForbidden, "", "the client registration is not authorized for SCIM")
		return
	}

	rest := strings.TrimPrefix(r.URL.Path, scimPrefix)
	segs := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if rest == "" || rest == "/" {
		segs = nil
	}
	get := func(fn func()) {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, r, http.MethodGet)
			return
		}
		fn()
	}
	base := s.baseURL() + scimPrefix
	switch {
	case len(segs) == 1 && segs[0] == "ServiceProviderConfig":
		get(func() { writeSCIM(w, http.StatusOK, serviceProviderConfigDoc(base)) })
	case len(segs) == 1 && segs[0] == "Schemas":
		get(func() { writeSCIM(w, http.StatusOK, listOf(schemaDocs(base))) })
	case len(segs) == 2 && segs[0] == "Schemas":
		get(func() { s.writeOne(w, schemaDocs(base), segs[1], "schema") })
	case len(segs) == 1 && segs[0] == "ResourceTypes":
		get(func() { writeSCIM(w, http.StatusOK, listOf(resourceTypeDocs(base))) })
	case len(segs) == 2 && segs[0] == "ResourceTypes":
		get(func() { s.writeOne(w, resourceTypeDocs(base), segs[1], "resource type") })
	case len(segs) == 1 && segs[0] == "Bulk":
		scimError(w, http.StatusNotImplemented, "", "bulk operations are not supported")
	case len(segs) == 1 && (segs[0] == "Users" || segs[0] == "Groups"):
		// POST creates (RFC 7644 §3.3: 201 with the resource and Location; 409 uniqueness for
		// a taken userName or displayName). Invicti creates teams this way too: its overview
		// says teams can be created "through SCIM" before users arrive, so they can be given
		// roles and collections first (https://docs.invicti.com/ip/scim-provisioning-overview,
		// https://docs.invicti.com/ip/scim-configure-directory); the wizard's "teams first"
		// step relies on it.
		k := kindOf(segs[0])
		switch r.Method {
		case http.MethodGet:
			s.list(w, r, k)
		case http.MethodPost:
			s.create(w, r, k)
		default:
			methodNotAllowed(w, r, http.MethodGet, http.MethodPost)
		}
	case len(segs) == 2 && (segs[0] == "Users" || segs[0] == "Groups") && segs[1] != "":
		k, id := kindOf(segs[0]), segs[1]
		switch r.Method {
		case http.MethodGet:
			s.get(w, r, k, id)
		case http.MethodPut:
			s.replace(w, r, k, id)
		case http.MethodPatch:
			s.patch(w, r, k, id)
		case http.MethodDelete:
			s.delete(w, k, id)
		default:
			methodNotAllowed(w, r, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
		}
	default:
		scimError(w, http.StatusNotFound, "", "no such endpoint: "+r.Method+" "+r.URL.Path)
	}
}

func kindOf(seg string) *resourceKind {
	if seg == "Users" {
		return userKind
	}
	return groupKind
}

func listOf(docs []map[string]any) map[string]any {
	res := make([]any, len(docs))
	for i, d := range docs {
		res[i] = d
	}
	return map[string]any{
		"schemas":      []any{SchemaListResponse},
		"totalResults": len(docs),
		"startIndex":   1,
		"itemsPerPage": len(docs),
		"Resources":    res,
	}
}

func (s *Server) writeOne(w http.ResponseWriter, docs []map[string]any, id, what string) {
	for _, d := range docs {
		if d["id"] == id {
			writeSCIM(w, http.StatusOK, d)
			return
		}
	}
	scimError(w, http.StatusNotFound, "", "no such "+what+": "+id)
}

// readResourceBody reads and decodes a JSON object request body.
func readResourceBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != scimContentType && mt != "application/json") {
		scimError(w, http.StatusUnsupportedMediaType, "", "Content-Type must be application/scim+json")
		return nil, false
	}
	body, ok := readBody(w, r, func() {
		scimError(w, http.StatusRequestEntityTooLarge, "", "request body larger than 1 MiB")
	})
	if !ok {
		if w.(*statusWriter).status == 0 {
			scimError(w, http.StatusBadRequest, "invalidSyntax", "cannot read the request body")
		}
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		detail := "the body must be a JSON object"
		if err != nil {
			detail = "invalid JSON: " + err.Error()
		}
		scimError(w, http.StatusBadRequest, "invalidSyntax", detail)
		return nil, false
	}
	return m, true
}

func (s *Server) projectionOf(w http.ResponseWriter, r *http.Request, k *resourceKind) (*projection, bool) {
	q := r.URL.Query()
	p, err := parseProjection(k, q.Get("attributes"), q.Get("excludedAttributes"))
	if err != nil {
		writeErr(w, err)
		return nil, false
	}
	return p, true
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, k *resourceKind) {
	q := r.URL.Query()
	var f node
	if fs, ok := q["filter"]; ok {
		var err error
		if f, err = parseFilter(k, fs[0]); err != nil {
			scimError(w, http.StatusBadRequest, "invalidFilter", err.Error())
			return
		}
	}
	intParam := func(name string, def int) (int, bool) {
		v := q.Get(name)
		if v == "" {
			return def, true
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			scimError(w, http.StatusBadRequest, "invalidValue", name+" must be an integer")
			return 0, false
		}
		return n, true
	}
	start, ok := intParam("startIndex", 1)
	if !ok {
		return
	}
	count, ok := intParam("count", DefaultCount)
	if !ok {
		return
	}
	start = max(start, 1)
	count = min(max(count, 0), MaxResults)
	var sortChain attrChain
	if sb := q.Get("sortBy"); sb != "" {
		c, err := resolvePath(k, k.All, sb)
		if err != nil {
			scimError(w, http.StatusBadRequest, "invalidValue", "sortBy: "+err.Error())
			return
		}
		sortChain = c
	}
	desc := false
	switch so := strings.ToLower(q.Get("sortOrder")); so {
	case "", "ascending":
	case "descending":
		desc = true
	default:
		scimError(w, http.StatusBadRequest, "invalidValue", "sortOrder must be ascending or descending")
		return
	}
	proj, ok := s.projectionOf(w, r, k)
	if !ok {
		return
	}

	// Filter and sort on cheap views; render only the page.
	full := needsComputed(k, q.Get("filter")+" "+q.Get("sortBy"))
	type item struct {
		res  *resource
		view map[string]any
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []item
	for _, res := range sortedResources(s.store(k)) {
		var v map[string]any
		if full {
			v = s.renderLocked(k, res)
		} else {
			v = s.viewLocked(k, res)
		}
		if f == nil || f.eval(v) {
			matched = append(matched, item{res, v})
		}
	}

	if sortChain != nil {
		key := func(doc map[string]any) (string, bool) {
			vals := sortChain.values(doc)
			if len(vals) == 0 {
				return "", false
			}
			switch v := vals[0].(type) {
			case string:
				if !sortChain.compareDef().CaseExact {
					return strings.ToLower(v), true
				}
				return v, true
			case bool:
				return strconv.FormatBool(v), true
			}
			return "", false
		}
		slices.SortStableFunc(matched, func(a, b item) int {
			ka, oka := key(a.view)
			kb, okb := key(b.view)
			switch {
			case !oka && !okb:
				return 0
			case !oka:
				return 1 // missing values last
			case !okb:
				return -1
			}
			c := strings.Compare(ka, kb)
			if desc {
				c = -c
			}
			return c
		})
	}

	total := len(matched)
	page := []any{}
	if start <= total {
		end := min(start-1+count, total)
		for _, it := range matched[start-1 : end] {
			page = append(page, proj.apply(s.renderLocked(k, it.res)))
		}
	}
	writeSCIM(w, http.StatusOK, map[string]any{
		"schemas":      []any{SchemaListResponse},
		"totalResults": total,
		"startIndex":   start,
		"itemsPerPage": len(page),
		"Resources":    page,
	})
}

// needsComputed reports whether a filter or sortBy text may refer to
// computed attributes (a user's groups; a member's display, $ref or type),
// so that list must evaluate it on fully rendered resources.
func needsComputed(k *resourceKind, text string) bool {
	t := strings.ToLower(text)
	if k == userKind {
		return strings.Contains(t, "groups")
	}
	return strings.Contains(t, "members") && (strings.Contains(t, "display") || strings.Contains(t, "$ref") || strings.Contains(t, "type"))
}

func notFound(w http.ResponseWriter, k *resourceKind, id string) {
	scimError(w, http.StatusNotFound, "", k.Name+" "+id+" not found")
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, k *resourceKind, id string) {
	proj, ok := s.projectionOf(w, r, k)
	if !ok {
		return
	}
	s.mu.Lock()
	res, found := s.store(k)[id]
	var doc map[string]any
	if found {
		doc = s.renderLocked(k, res)
	}
	s.mu.Unlock()
	if !found {
		notFound(w, k, id)
		return
	}
	writeSCIM(w, http.StatusOK, proj.apply(doc))
}

// checkMembersLocked checks that every member of a group document is an
// existing user (Invicti teams hold users, not groups).
func (s *Server) checkMembersLocked(doc map[string]any) *scimErr {
	ms, _ := doc["members"].([]any)
	seen := map[string]bool{}
	var out []any
	for _, m := range ms {
		mm, _ := m.(map[string]any)
		id := getString(mm, "value")
		if _, isGroup := s.groups[id]; isGroup || strings.EqualFold(getString(mm, "type"), "Group") {
			return invalidValue("member %s is a group; nested groups are not supported", id)
		}
		if _, ok := s.users[id]; !ok {
			return invalidValue("member %s is not an existing user", id)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, map[string]any{"value": id})
		}
	}
	if len(out) > 0 {
		doc["members"] = out
	} else {
		delete(doc, "members")
	}
	return nil
}

// commitChecksLocked runs the checks that need the store: uniqueness and
// group members.
func (s *Server) commitChecksLocked(k *resourceKind, doc map[string]any, self string) *scimErr {
	if s.uniqueTakenLocked(k, doc, self) {
		return errf(http.StatusConflict, "uniqueness", "a %s with %s %q already exists", k.Name, k.Unique, getString(doc, k.Unique))
	}
	if k == groupKind {
		return s.checkMembersLocked(doc)
	}
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, k *resourceKind) {
	body, ok := readResourceBody(w, r)
	if !ok {
		return
	}
	doc, serr := normalizeResource(k, body)
	if serr != nil {
		writeErr(w, serr)
		return
	}
	s.mu.Lock()
	if serr := s.commitChecksLocked(k, doc, ""); serr != nil {
		s.mu.Unlock()
		writeErr(w, serr)
		return
	}
	res := s.insertLocked(k, newID(), doc)
	out := s.renderLocked(k, res)
	s.mu.Unlock()
	w.Header().Set("Location", out["meta"].(map[string]any)["location"].(string))
	writeSCIM(w, http.StatusCreated, out)
}

func (s *Server) replace(w http.ResponseWriter, r *http.Request, k *resourceKind, id string) {
	body, ok := readResourceBody(w, r)
	if !ok {
		return
	}
	if bid, ok := lookupFold(body, "id"); ok && bid != id {
		scimError(w, http.StatusBadRequest, "mutability", "id in the body does not match the URL")
		return
	}
	doc, serr := normalizeResource(k, body)
	if serr != nil {
		writeErr(w, serr)
		return
	}
	s.mu.Lock()
	res, found := s.store(k)[id]
	if !found {
		s.mu.Unlock()
		notFound(w, k, id)
		return
	}
	if serr := s.commitChecksLocked(k, doc, id); serr != nil {
		s.mu.Unlock()
		writeErr(w, serr)
		return
	}
	res.touch(doc, s.opts.Now())
	out := s.renderLocked(k, res)
	s.mu.Unlock()
	writeSCIM(w, http.StatusOK, out)
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, k *resourceKind, id string) {
	body, ok := readResourceBody(w, r)
	if !ok {
		return
	}
	ops, serr := parsePatchRequest(body)
	if serr != nil {
		writeErr(w, serr)
		return
	}
	proj, ok := s.projectionOf(w, r, k)
	if !ok {
		return
	}
	out, serr := s.patchLocked(k, id, ops)
	if serr != nil {
		writeErr(w, serr)
		return
	}
	writeSCIM(w, http.StatusOK, proj.apply(out))
}

func (s *Server) patchLocked(k *resourceKind, id string, ops []patchOp) (map[string]any, *scimErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, found := s.store(k)[id]
	if !found {
		return nil, errf(http.StatusNotFound, "", "%s %s not found", k.Name, id)
	}
	doc := copyDoc(res.doc)
	if serr := applyPatch(k, doc, ops); serr != nil {
		return nil, serr
	}
	if serr := validateDoc(k, doc); serr != nil {
		return nil, serr
	}
	if serr := s.commitChecksLocked(k, doc, id); serr != nil {
		return nil, serr
	}
	res.touch(doc, s.opts.Now())
	return s.renderLocked(k, res), nil
}

func (s *Server) delete(w http.ResponseWriter, k *resourceKind, id string) {
	s.mu.Lock()
	store := s.store(k)
	if _, ok := store[id]; !ok {
		s.mu.Unlock()
		notFound(w, k, id)
		return
	}
	delete(store, id)
	if k == userKind {
		for _, g := range s.groups {
			ms, _ := g.doc["members"].([]any)
			var keep []any
			for _, m := range ms {
				if mm, _ := m.(map[string]any); getString(mm, "value") != id {
					keep = append(keep, m)
				}
			}
			if len(keep) != len(ms) {
				doc := copyDoc(g.doc)
				if len(keep) == 0 {
					delete(doc, "members")
				} else {
					doc["members"] = keep
				}
				g.touch(doc, s.opts.Now())
			}
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
