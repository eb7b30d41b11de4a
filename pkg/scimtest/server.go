// Package scimtest is an in-process emulation of the Invicti Platform
// endpoints that Microsoft Entra ID provisioning uses: the OAuth2 token
// endpoint (client-credentials grant, audience in the query string) and the
// SCIM 2.0 API under /api/scim/v2.
//
// It is strict like a real service: wrong audience, content type, grant
// type or client authentication are refused with OAuth errors; SCIM calls
// need a valid, unexpired bearer token; bodies are validated against the
// User and Group schemas; userName and displayName are unique. It also
// accepts what Microsoft Entra sends: PATCH op names in any case ("Replace",
// "Add"), string booleans ("True"/"False"), filtered paths such as
// emails[type eq "work"].value and members[value eq "…"].
//
// It is a public package in the spirit of net/http/httptest, and not a
// test-only one: invicti-scim's sandbox and benchmarks use it, and other Go
// programs may use it to test a SCIM client or an Entra-like provisioner.
// New serves it on a loopback port; AddClient registers a client id and
// secret; Users and Groups show what was provisioned; Snapshot and Restore
// keep its state across processes. It never logs secrets or tokens.
package scimtest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Limits.
const (
	MaxBodyBytes = 1 << 20 // request bodies above this are refused with 413
	MaxResults   = 200     // the largest page size (count) served
	DefaultCount = 100     // page size when count is not given
	maxLog       = 10000   // request log entries kept (the older half is dropped when full)
)

const (
	scimPrefix   = "/api/scim/v2"
	tokenPath    = "/oauth/token" //nolint:gosec // G101: a URL path, not a secret
	audiencePath = "/api"
)

// Options configure a Server.
type Options struct {
	Latency  time.Duration    // added to every request
	TokenTTL time.Duration    // lifetime of issued tokens; default 1 h
	Now      func() time.Time // clock for token expiry and timestamps; default time.Now
}

// Mode switches the emulator into a failure scenario.
type Mode string

// Modes.
const (
	ModeNormal Mode = ""
	// ModeNotSCIM: SCIM paths answer 200 with an HTML login page, as a
	// proxy or the wrong web application would.
	ModeNotSCIM Mode = "not-scim"
	// ModeNoSCIM: SCIM paths answer 404 (the wrong server, or SCIM not
	// enabled).
	ModeNoSCIM Mode = "no-scim"
	// ModeServerError: SCIM paths answer 500.
	ModeServerError Mode = "server-error"
	// ModeStrictAudience: the token URL's query must be exactly
	// "audience=BASE/api", not percent-encoded, as Invicti documents it.
	// (In every mode the decoded audience must equal BASE/api.)
	ModeStrictAudience Mode = "strict-audience"
	// ModeRateLimited: SCIM paths answer 429 with Retry-After.
	ModeRateLimited Mode = "rate-limited"
	// ModeSCIMForbidden: tokens are issued but SCIM answers 403, as for a
	// client registration that was never authorised.
	ModeSCIMForbidden Mode = "scim-forbidden"
	// ModeRawBasic: HTTP Basic client credentials are taken verbatim, without the
	// form-urlencoding RFC 6749 §2.3.1 prescribes, as some servers do
	// (spring-attic/spring-security-oauth#1826, DuendeArchive/IdentityModel#90).
	ModeRawBasic Mode = "raw-basic"
	// ModeBodyOnly: only client_secret_post is accepted; HTTP Basic answers
	// invalid_client (RFC 6749 §2.3.1 says servers MUST support Basic; not all do).
	ModeBodyOnly Mode = "body-only"
)

// Modes lists all modes, ModeNormal first.
func Modes() []Mode {
	return []Mode{ModeNormal, ModeNotSCIM, ModeNoSCIM, ModeServerError, ModeStrictAudience, ModeRateLimited, ModeSCIMForbidden, ModeRawBasic, ModeBodyOnly}
}

// Request is one logged request. It never holds a secret or token: query
// parameters that could carry one are redacted.
type Request struct {
	Method   string
	Path     string
	Query    string // raw query, with secret-bearing parameters redacted
	Status   int
	ClientID string // the authenticated (or claimed, on the token endpoint) client
	Time     time.Time
}

// User is a SCIM user in the emulator's store.
type User struct {
	ID, UserName, DisplayName, GivenName, FamilyName, Email, ExternalID string
	Active                                                              bool
}

// Group is a SCIM group (Invicti team) in the emulator's store.
type Group struct {
	ID, DisplayName string
	MemberIDs       []string
}

type tokenInfo struct {
	clientID string
	expires  time.Time
}

type resource struct {
	id       string
	doc      map[string]any // normalised attributes; no id, meta or schemas
	created  time.Time
	modified time.Time
	seq      int
	view     map[string]any // cached read-only view; nil when stale
	viewBase string
}

// Server is the emulated Invicti Platform.
type Server struct {
	// URL is the base URL (http://127.0.0.1:PORT for New). The tenant URL
	// is URL+"/api/scim/v2" and the token URL
	// URL+"/oauth/token?audience="+URL+"/api".
	URL string

	opts    Options
	handler http.Handler
	ts      *httptest.Server
	done    chan struct{}
	once    sync.Once

	mu      sync.Mutex
	base    string
	latency time.Duration
	mode    Mode
	clients map[string]string // id -> secret
	// extra are further accepted secrets per client (AddClientSecret): the sandbox's overlap
	// window for rehearsing a rotation.
	extra    map[string][]string
	tokens   map[string]tokenInfo
	users    map[string]*resource
	groups   map[string]*resource
	seq      int
	log      []Request
	reqCount int
}

// New starts an emulator on a loopback port. Close it when done.
func New(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s.handler)
	s.SetBaseURL(s.ts.URL)
	return s
}

// NewHandler makes an emulator without a listener: serve Handler() and call
// SetBaseURL with the URL it is reached at, so that audience checks and
// resource locations are right.
func NewHandler(opts Options) *Server {
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:    opts,
		done:    make(chan struct{}),
		latency: opts.Latency,
		clients: map[string]string{},
		tokens:  map[string]tokenInfo{},
		users:   map[string]*resource{},
		groups:  map[string]*resource{},
	}
	s.handler = http.HandlerFunc(s.serveHTTP)
	return s
}

// SetBaseURL sets the base URL the emulator is reached at (no trailing
// slash). It also sets s.URL; call it before serving requests.
func (s *Server) SetBaseURL(u string) {
	u = strings.TrimSuffix(u, "/")
	s.mu.Lock()
	s.base = u
	s.URL = u
	s.mu.Unlock()
}

// Handler returns the emulator's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the listener (if any) and aborts pending latency waits.
func (s *Server) Close() {
	s.once.Do(func() { close(s.done) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// Client returns an HTTP client for the emulator's listener (for New), or
// a plain client.
func (s *Server) Client() *http.Client {
	if s.ts != nil {
		return s.ts.Client()
	}
	return &http.Client{}
}

// TenantURL is the SCIM base URL Entra is given.
func (s *Server) TenantURL() string { return s.baseURL() + scimPrefix }

// TokenURL is the token endpoint Entra is given, with its audience.
func (s *Server) TokenURL() string {
	b := s.baseURL()
	return b + tokenPath + "?audience=" + b + audiencePath
}

func (s *Server) baseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// SetLatency changes the latency added to each request.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// AddClient registers (or replaces) a client registration.
func (s *Server) AddClient(clientID, clientSecret string) {
	s.mu.Lock()
	s.clients[clientID] = clientSecret
	s.mu.Unlock()
}

// AddClientSecret makes the emulator accept one more secret for an existing client, beside
// its current one, the way identity providers overlap secrets during a rotation. The sandbox
// uses it so that `rotate-secret` can be rehearsed with a second, announced secret.
func (s *Server) AddClientSecret(clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.extra == nil {
		s.extra = map[string][]string{}
	}
	s.extra[clientID] = append(s.extra[clientID], secret)
}

// ClientSecret returns a client's current secret (e.g. after Restore).
func (s *Server) ClientSecret(clientID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.clients[clientID]
	return v, ok
}

// RotateSecret gives an existing client a new secret. The old secret stops
// working at once; tokens already issued stay valid. Unknown clients are
// ignored.
func (s *Server) RotateSecret(clientID, newSecret string) {
	s.mu.Lock()
	if _, ok := s.clients[clientID]; ok {
		s.clients[clientID] = newSecret
	}
	s.mu.Unlock()
}

// RemoveClient deletes a client registration and invalidates its tokens.
func (s *Server) RemoveClient(clientID string) {
	s.mu.Lock()
	delete(s.clients, clientID)
	for t, ti := range s.tokens {
		if ti.clientID == clientID {
			delete(s.tokens, t)
		}
	}
	s.mu.Unlock()
}

// RevokeTokens invalidates every issued token.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	s.tokens = map[string]tokenInfo{}
	s.mu.Unlock()
}

// IssueToken mints a token for a registered client without an HTTP
// request (for tests and benchmarks that only exercise SCIM).
func (s *Server) IssueToken(clientID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[clientID]; !ok {
		return "", fmt.Errorf("scimtest: unknown client %q", clientID)
	}
	return s.issueLocked(clientID), nil
}

func (s *Server) issueLocked(clientID string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	s.tokens[tok] = tokenInfo{clientID: clientID, expires: s.opts.Now().Add(s.opts.TokenTTL)}
	return tok
}

// SetMode switches the failure scenario.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	s.mode = m
	s.mu.Unlock()
}

// Mode returns the current mode.
func (s *Server) Mode() Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// Requests returns a copy of the request log, oldest first. Only recent
// requests are kept (between 5000 and 10000 once that many were served);
// RequestCount counts them all.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// RequestCount is the number of requests served since start (or since
// ResetRequests), including those dropped from the log.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqCount
}

// ResetRequests clears the request log and count.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.log, s.reqCount = nil, 0
	s.mu.Unlock()
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	s.reqCount++
	if len(s.log) >= maxLog {
		// Drop the older half at once, so that recording stays cheap.
		s.log = s.log[:copy(s.log, s.log[maxLog/2:])]
	}
	s.log = append(s.log, r)
	s.mu.Unlock()
}

func newID() string { return uuid.NewString() }

func sortedResources(m map[string]*resource) []*resource {
	out := make([]*resource, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *resource) int { return a.seq - b.seq })
	return out
}

// Users returns the stored users in creation order.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []User
	for _, r := range sortedResources(s.users) {
		out = append(out, userFromDoc(r.id, r.doc))
	}
	return out
}

// Groups returns the stored groups in creation order.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Group
	for _, r := range sortedResources(s.groups) {
		out = append(out, groupFromDoc(r.id, r.doc))
	}
	return out
}

// User returns the user with this id.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	return userFromDoc(r.id, r.doc), true
}

// Group returns the group with this id.
func (s *Server) Group(id string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.groups[id]
	if !ok {
		return Group{}, false
	}
	return groupFromDoc(r.id, r.doc), true
}

// AddUser stores a user directly (no HTTP) and returns it with its ID
// (a new UUID when u.ID is empty). It panics when the user is invalid
// (empty or duplicate userName, duplicate ID); see TryAddUser.
func (s *Server) AddUser(u User) User {
	out, err := s.TryAddUser(u)
	if err != nil {
		panic(err)
	}
	return out
}

// TryAddUser is AddUser returning an error instead of panicking.
func (s *Server) TryAddUser(u User) (User, error) {
	if strings.TrimSpace(u.UserName) == "" {
		return User{}, errors.New("scimtest: AddUser: userName is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	if _, dup := s.users[u.ID]; dup {
		return User{}, fmt.Errorf("scimtest: AddUser: id %q exists", u.ID)
	}
	doc := docFromUser(u)
	if s.uniqueTakenLocked(userKind, doc, "") {
		return User{}, fmt.Errorf("scimtest: AddUser: userName %q exists", u.UserName)
	}
	s.insertLocked(userKind, u.ID, doc)
	return userFromDoc(u.ID, doc), nil
}

// AddGroup stores a group directly (no HTTP) and returns it with its ID.
// It panics when the group is invalid (empty or duplicate displayName,
// unknown member); see TryAddGroup.
func (s *Server) AddGroup(g Group) Group {
	out, err := s.TryAddGroup(g)
	if err != nil {
		panic(err)
	}
	return out
}

// TryAddGroup is AddGroup returning an error instead of panicking.
func (s *Server) TryAddGroup(g Group) (Group, error) {
	if strings.TrimSpace(g.DisplayName) == "" {
		return Group{}, errors.New("scimtest: AddGroup: displayName is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.ID == "" {
		g.ID = uuid.NewString()
	}
	if _, dup := s.groups[g.ID]; dup {
		return Group{}, fmt.Errorf("scimtest: AddGroup: id %q exists", g.ID)
	}
	doc := docFromGroup(g)
	if s.uniqueTakenLocked(groupKind, doc, "") {
		return Group{}, fmt.Errorf("scimtest: AddGroup: displayName %q exists", g.DisplayName)
	}
	if e := s.checkMembersLocked(doc); e != nil {
		return Group{}, fmt.Errorf("scimtest: AddGroup: %s", e.detail)
	}
	s.insertLocked(groupKind, g.ID, doc)
	return groupFromDoc(g.ID, doc), nil
}

func (s *Server) store(k *resourceKind) map[string]*resource {
	if k == userKind {
		return s.users
	}
	return s.groups
}

func (s *Server) insertLocked(k *resourceKind, id string, doc map[string]any) *resource {
	now := s.opts.Now()
	s.seq++
	r := &resource{id: id, doc: doc, created: now, modified: now, seq: s.seq}
	s.store(k)[id] = r
	return r
}

// uniqueTakenLocked reports whether doc's unique attribute is used by
// another resource than self.
func (s *Server) uniqueTakenLocked(k *resourceKind, doc map[string]any, self string) bool {
	v, _ := doc[k.Unique].(string)
	for id, r := range s.store(k) {
		if id == self {
			continue
		}
		if o, _ := r.doc[k.Unique].(string); strings.EqualFold(o, v) {
			return true
		}
	}
	return false
}

func docFromUser(u User) map[string]any {
	doc := map[string]any{"userName": u.UserName, "active": u.Active}
	if u.DisplayName != "" {
		doc["displayName"] = u.DisplayName
	}
	if u.ExternalID != "" {
		doc["externalId"] = u.ExternalID
	}
	name := map[string]any{}
	if u.GivenName != "" {
		name["givenName"] = u.GivenName
	}
	if u.FamilyName != "" {
		name["familyName"] = u.FamilyName
	}
	if len(name) > 0 {
		doc["name"] = name
	}
	if u.Email != "" {
		doc["emails"] = []any{map[string]any{"value": u.Email, "type": "work", "primary": true}}
	}
	return doc
}

func docFromGroup(g Group) map[string]any {
	doc := map[string]any{"displayName": g.DisplayName}
	if len(g.MemberIDs) > 0 {
		var ms []any
		for _, id := range g.MemberIDs {
			ms = append(ms, map[string]any{"value": id})
		}
		doc["members"] = ms
	}
	return doc
}

func getString(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func userFromDoc(id string, doc map[string]any) User {
	u := User{
		ID:          id,
		UserName:    getString(doc, "userName"),
		DisplayName: getString(doc, "displayName"),
		ExternalID:  getString(doc, "externalId"),
	}
	u.Active, _ = doc["active"].(bool)
	if n, ok := doc["name"].(map[string]any); ok {
		u.GivenName, u.FamilyName = getString(n, "givenName"), getString(n, "familyName")
	}
	if es, ok := doc["emails"].([]any); ok {
		best := -1
		for i, e := range es {
			m, _ := e.(map[string]any)
			if p, _ := m["primary"].(bool); p {
				best = i
				break
			}
			if best < 0 && strings.EqualFold(getString(m, "type"), "work") {
				best = i
			}
		}
		if best < 0 && len(es) > 0 {
			best = 0
		}
		if best >= 0 {
			m, _ := es[best].(map[string]any)
			u.Email = getString(m, "value")
		}
	}
	return u
}

func groupFromDoc(id string, doc map[string]any) Group {
	g := Group{ID: id, DisplayName: getString(doc, "displayName"), MemberIDs: []string{}}
	if ms, ok := doc["members"].([]any); ok {
		for _, m := range ms {
			mm, _ := m.(map[string]any)
			g.MemberIDs = append(g.MemberIDs, getString(mm, "value"))
		}
	}
	return g
}
