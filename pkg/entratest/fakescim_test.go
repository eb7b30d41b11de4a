package entratest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// fakeSCIM is a tiny SCIM 2.0 target behind an OAuth2 client-credentials token endpoint that, like
// Invicti, requires HTTP Basic client authentication and an audience query parameter.
type fakeSCIM struct {
	srv                    *httptest.Server
	clientID, secret, aud  string
	mu                     sync.Mutex
	tokens                 map[string]bool
	users                  map[string]map[string]any
	groups                 map[string]map[string]any
	log                    []string
	rejectUserPost         string // non-empty: POST /Users answers 400 with this detail
	usersStatus            int    // non-zero: GET /Users answers with this status
	tokenCalls, userPosts  int
	lastTokenContentType   string
	lastTokenAuth          string
	lastTokenBody          string
	lastFilter             string
	lastGroupPostMemberIDs []string
}

const (
	fakeClientID = "invicti client+id"
	fakeSecret   = "s3cr:et/&=%"
)

func newFakeSCIM(t *testing.T) *fakeSCIM {
	f := &fakeSCIM{clientID: fakeClientID, secret: fakeSecret, tokens: map[string]bool{},
		users: map[string]map[string]any{}, groups: map[string]map[string]any{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.aud = f.srv.URL + "/api"
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSCIM) base() string { return f.srv.URL + "/api/scim/v2" }
func (f *fakeSCIM) tokenURI() string {
	return f.srv.URL + "/oauth/token?audience=" + url.QueryEscape(f.aud)
}

// creds returns the secret set invicti-scim writes (key set v2, without the scope keys).
func (f *fakeSCIM) creds() map[string]string {
	return map[string]string{"AuthenticationType": "OAuth2ClientCredentialsGrant", "BaseAddress": f.base(),
		"Oauth2TokenExchangeUri": f.tokenURI(), "Oauth2ClientId": f.clientID, "Oauth2ClientSecret": f.secret}
}

func (f *fakeSCIM) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func scimError(status int, detail string) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status": fmt.Sprint(status), "detail": detail}
}

func (f *fakeSCIM) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	if r.URL.Path == "/oauth/token" {
		f.token(w, r)
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || !f.tokens[strings.TrimPrefix(auth, "Bearer ")] {
		f.write(w, http.StatusUnauthorized, scimError(401, "invalid or missing bearer token"))
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/scim/v2")
	switch {
	case path == "/Users" && r.Method == http.MethodGet:
		if f.usersStatus != 0 {
			f.write(w, f.usersStatus, scimError(f.usersStatus, "forced status"))
			return
		}
		f.lastFilter = r.URL.Query().Get("filter")
		f.list(w, f.users, "userName", r.URL.Query().Get("filter"))
	case path == "/Users" && r.Method == http.MethodPost:
		if f.rejectUserPost != "" {
			f.write(w, http.StatusBadRequest, scimError(400, f.rejectUserPost))
			return
		}
		var u map[string]any
		_ = json.NewDecoder(r.Body).Decode(&u)
		for _, existing := range f.users {
			if strings.EqualFold(fmt.Sprint(existing["userName"]), fmt.Sprint(u["userName"])) {
				f.write(w, http.StatusConflict, scimError(409, "userName already exists"))
				return
			}
		}
		f.userPosts++
		u["id"] = uuid.NewString()
		f.users[u["id"].(string)] = u
		f.write(w, http.StatusCreated, u)
	case strings.HasPrefix(path, "/Users/") && r.Method == http.MethodPatch:
		u := f.users[strings.TrimPrefix(path, "/Users/")]
		if u == nil {
			f.write(w, http.StatusNotFound, scimError(404, "no such user"))
			return
		}
		var patch struct {
			Operations []struct {
				Op, Path string
				Value    any
			}
		}
		_ = json.NewDecoder(r.Body).Decode(&patch)
		for _, op := range patch.Operations {
			switch op.Path {
			case "active", "displayName":
				u[op.Path] = op.Value
			}
		}
		f.write(w, http.StatusOK, u)
	case path == "/Groups" && r.Method == http.MethodGet:
		f.list(w, f.groups, "displayName", r.URL.Query().Get("filter"))
	case path == "/Groups" && r.Method == http.MethodPost:
		var g map[string]any
		_ = json.NewDecoder(r.Body).Decode(&g)
		g["id"] = uuid.NewString()
		f.lastGroupPostMemberIDs = nil
		if ms, ok := g["members"].([]any); ok {
			for _, m := range ms {
				f.lastGroupPostMemberIDs = append(f.lastGroupPostMemberIDs, fmt.Sprint(m.(map[string]any)["value"]))
			}
		}
		f.groups[g["id"].(string)] = g
		f.write(w, http.StatusCreated, g)
	case strings.HasPrefix(path, "/Groups/") && r.Method == http.MethodPatch:
		w.WriteHeader(http.StatusNoContent)
	default:
		f.write(w, http.StatusNotFound, scimError(404, "not found"))
	}
}

func (f *fakeSCIM) token(w http.ResponseWriter, r *http.Request) {
	f.tokenCalls++
	body, _ := io.ReadAll(r.Body)
	f.lastTokenContentType = r.Header.Get("Content-Type")
	f.lastTokenAuth = r.Header.Get("Authorization")
	f.lastTokenBody = string(body)
	fail := func(msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprintf(w, `{"error":"invalid_client","error_description":%q}`, msg)
	}
	if r.Method != http.MethodPost || r.URL.Query().Get("audience") != f.aud {
		fail("audience missing or wrong")
		return
	}
	form, _ := url.ParseQuery(string(body))
	if form.Get("grant_type") != "client_credentials" || !strings.HasPrefix(f.lastTokenContentType, "application/x-www-form-urlencoded") {
		fail("grant_type must be client_credentials in a form body")
		return
	}
	auth := r.Header.Get("Authorization")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
	id, sec, _ := strings.Cut(string(raw), ":")
	id, _ = url.QueryUnescape(id)
	sec, _ = url.QueryUnescape(sec)
	if !strings.HasPrefix(auth, "Basic ") || err != nil || id != f.clientID || sec != f.secret {
		fail("client authentication failed")
		return
	}
	tok := uuid.NewString()
	f.tokens[tok] = true
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
}

func (f *fakeSCIM) list(w http.ResponseWriter, set map[string]map[string]any, attr, filter string) {
	res := []map[string]any{}
	if filter != "" {
		prefix := attr + ` eq "`
		if !strings.HasPrefix(filter, prefix) || !strings.HasSuffix(filter, `"`) {
			f.write(w, http.StatusBadRequest, scimError(400, "unsupported filter "+filter))
			return
		}
		want := strings.TrimSuffix(strings.TrimPrefix(filter, prefix), `"`)
		for _, v := range set {
			if strings.EqualFold(fmt.Sprint(v[attr]), want) {
				res = append(res, v)
			}
		}
	}
	f.write(w, http.StatusOK, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": len(res), "Resources": res, "startIndex": 1, "itemsPerPage": len(res)})
}

func (f *fakeSCIM) userCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.users)
}
