package invicti

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/pkg/scimtest"
)

const (
	checkClientID = "0oa-client-id"
	checkSecret   = "Sx8-check-secret+/=%value-9f3a"
)

// capture wraps the emulator and remembers what crossed the wire.
type capture struct {
	mu      sync.Mutex
	reqs    []capturedReq
	tokens  []string
	handler http.Handler
}

type capturedReq struct {
	method, path, rawQuery, auth, contentType, body string
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	c.mu.Lock()
	c.reqs = append(c.reqs, capturedReq{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(body)})
	c.mu.Unlock()
	rec := httptest.NewRecorder()
	c.handler.ServeHTTP(rec, r)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &tok) == nil && tok.AccessToken != "" {
		c.mu.Lock()
		c.tokens = append(c.tokens, tok.AccessToken)
		c.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// emu is an emulator behind a capturing listener.
type emu struct {
	srv *scimtest.Server
	cap *capture
	ep  Endpoints
}

func newEmu(t testing.TB, opts scimtest.Options) *emu {
	t.Helper()
	s := scimtest.NewHandler(opts)
	c := &capture{handler: s.Handler()}
	ts := httptest.NewServer(c)
	t.Cleanup(func() { s.Close(); ts.Close() })
	s.SetBaseURL(ts.URL)
	s.AddClient(checkClientID, checkSecret)
	return &emu{srv: s, cap: c, ep: EndpointsFor(ts.URL)}
}

func testChecker() *Checker {
	return &Checker{HTTP: &http.Client{Timeout: 5 * time.Second}}
}

var goodCred = Credentials{ClientID: checkClientID, ClientSecret: checkSecret}

// assertClean fails when anything reported contains a secret.
func assertClean(t *testing.T, res Result, secrets ...string) {
	t.Helper()
	dump := fmt.Sprintf("%+v", res)
	for _, st := range res.Steps {
		dump += st.Detail + st.Title
		if st.Problem != nil {
			dump += st.Problem.Message + st.Problem.Fix
		}
	}
	for _, s := range append(secrets, checkSecret) {
		if s != "" && strings.Contains(dump, s) {
			t.Errorf("result contains secret %q:\n%s", s, dump)
		}
	}
}

func TestCheckOK(t *testing.T) {
	e := newEmu(t, scimtest.Options{})
	res := (&Checker{}).Check(context.Background(), e.ep, goodCred) // default HTTP client
	if !res.OK || len(res.Steps) != 3 || res.Problem() != nil {
		t.Fatalf("result = %+v", res)
	}
	names := []StepName{StepToken, StepServiceProviderConfig, StepUserQuery}
	for i, st := range res.Steps {
		if st.Name != names[i] || !st.OK || st.Skipped || st.Problem != nil || st.Duration <= 0 {
			t.Errorf("step %d = %+v", i, st)
		}
	}
	if res.Steps[0].Title != "Token from "+e.ep.TokenURL || res.Steps[1].Title != "GET /ServiceProviderConfig" {
		t.Errorf("titles = %q, %q", res.Steps[0].Title, res.Steps[1].Title)
	}
	if d := res.Steps[0].Detail; d != "HTTP 200, token_type Bearer, expires in 3600 s" {
		t.Errorf("token detail = %q", d)
	}
	if d := res.Steps[1].Detail; !strings.Contains(d, "patch supported, bulk not supported, filter supported (max 200 results)") {
		t.Errorf("SPC detail = %q", d)
	}
	if d := res.Steps[2].Detail; d != "HTTP 200 OK application/scim+json; ListResponse with totalResults 0" {
		t.Errorf("user query detail = %q", d)
	}
	m := regexp.MustCompile(`^GET /Users\?filter=userName eq "([0-9a-f-]{36})"$`).FindStringSubmatch(res.Steps[2].Title)
	if m == nil {
		t.Fatalf("user query title = %q", res.Steps[2].Title)
	}
	if len(res.Warnings) != 2 {
		t.Errorf("warnings for a loopback http URL = %q", res.Warnings)
	}

	// On the wire: exactly what Entra sends.
	reqs := e.cap.reqs
	if len(reqs) != 3 {
		t.Fatalf("requests = %+v", reqs)
	}
	tr := reqs[0]
	wantBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte(checkClientID+":"+"Sx8-check-secret%2B%2F%3D%25value-9f3a"))
	if tr.method != "POST" || tr.path != "/oauth/token" || tr.rawQuery != "audience="+e.ep.BaseURL+"/api" ||
		tr.auth != wantBasic || tr.contentType != "application/x-www-form-urlencoded" || tr.body != "grant_type=client_credentials" {
		t.Errorf("token request = %+v", tr)
	}
	bearer := "Bearer " + e.cap.tokens[0]
	if reqs[1].method != "GET" || reqs[1].path != "/api/scim/v2/ServiceProviderConfig" || reqs[1].auth != bearer {
		t.Errorf("SPC request = %+v", reqs[1])
	}
	if reqs[2].path != "/api/scim/v2/Users" || reqs[2].rawQuery != "filter=userName%20eq%20%22"+m[1]+"%22" || reqs[2].auth != bearer {
		t.Errorf("user query = %+v", reqs[2])
	}
	assertClean(t, res, e.cap.tokens...)
	for _, r := range e.srv.Requests() {
		if r.ClientID != checkClientID {
			t.Errorf("emulator log = %+v", r)
		}
	}
}

func TestCheckStrictAudienceMode(t *testing.T) {
	e := newEmu(t, scimtest.Options{})
	e.srv.SetMode(scimtest.ModeStrictAudience)
	if res := testChecker().Check(context.Background(), e.ep, goodCred); !res.OK {
		t.Fatalf("strict audience: %+v", res.Problem())
	}
}

func TestCheckUsesFakeClock(t *testing.T) {
	e := newEmu(t, scimtest.Options{})
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	c := testChecker()
	c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Second); return now }
	res := c.Check(context.Background(), e.ep, goodCred)
	for _, st := range res.Steps {
		if st.Duration != time.Second {
			t.Errorf("%s duration = %v", st.Name, st.Duration)
		}
	}
}

// failCase is one failure scenario of the check.
type failCase struct {
	name     string
	setup    func(t *testing.T) (*Checker, Endpoints, Credentials)
	step     int
	kind     ProblemKind
	status   int
	contains []string // in Message or Fix
}

func emuCase(opts scimtest.Options, prep func(e *emu) (Endpoints, Credentials)) func(t *testing.T) (*Checker, Endpoints, Credentials) {
	return func(t *testing.T) (*Checker, Endpoints, Credentials) {
		e := newEmu(t, opts)
		ep, cred := e.ep, goodCred
		if prep != nil {
			ep, cred = prep(e)
		}
		return testChecker(), ep, cred
	}
}

func modeCase(m scimtest.Mode) func(t *testing.T) (*Checker, Endpoints, Credentials) {
	return emuCase(scimtest.Options{}, func(e *emu) (Endpoints, Credentials) {
		e.srv.SetMode(m)
		return e.ep, goodCred
	})
}

// handlerCase serves h on a loopback listener; it can use the emulator
// for the parts it does not override.
func handlerCase(h func(e *emu) http.Handler) func(t *testing.T) (*Checker, Endpoints, Credentials) {
	return func(t *testing.T) (*Checker, Endpoints, Credentials) {
		e := newEmu(t, scimtest.Options{})
		ts := httptest.NewServer(h(e))
		t.Cleanup(ts.Close)
		e.srv.SetBaseURL(ts.URL)
		return testChecker(), EndpointsFor(ts.URL), goodCred
	}
}

func overrideSCIM(fn func(w http.ResponseWriter, r *http.Request) bool) func(e *emu) http.Handler {
	return func(e *emu) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/scim/v2") && fn(w, r) {
				return
			}
			e.srv.Handler().ServeHTTP(w, r)
		})
	}
}

func TestCheckFailures(t *testing.T) {
	cases := []failCase{
		{"bad secret", emuCase(scimtest.Options{}, func(e *emu) (Endpoints, Credentials) {
			return e.ep, Credentials{ClientID: checkClientID, ClientSecret: "wrong-secret-value"}
		}), 0, ProblemInvalidClient, 401, []string{"Invicti rejected this client id/secret", "Re-create the client registration", "this is http://127.0.0.1"}},
		{"unknown client", emuCase(scimtest.Options{}, func(e *emu) (Endpoints, Credentials) {
			return e.ep, Credentials{ClientID: "nobody", ClientSecret: checkSecret}
		}), 0, ProblemInvalidClient, 401, nil},
		{"rotated secret", emuCase(scimtest.Options{}, func(e *emu) (Endpoints, Credentials) {
			e.srv.RotateSecret(checkClientID, "the-new-secret")
			return e.ep, goodCred
		}), 0, ProblemInvalidClient, 401, nil},
		{"removed client", emuCase(scimtest.Options{}, func(e *emu) (Endpoints, Credentials) {
			e.srv.RemoveClient(checkClientID)
			return e.ep, goodCred
		}), 0, ProblemInvalidClient, 401, nil},
		{"wrong audience", emuCase(scimtest.Options{}, func(e *emu) (Endpoints, Credentials) {
			ep := e.ep
			ep.TokenURL = ep.BaseURL + "/oauth/token?audience=https://platform.invicti.com/api"
			return ep, goodCred
		}), 0, ProblemAudience, 400, []string{"audience", "the expected audience is http://127.0.0.1", "this request sent https://platform.invicti.com/api"}},
		{"missing audience", emuCase(scimtest.Options{}, func(e *emu) (Endpoints, Credentials) {
			ep := e.ep
			ep.TokenURL = ep.BaseURL + "/oauth/token"
			return ep, goodCred
		}), 0, ProblemAudience, 400, []string{"this request sent no audience"}},
		{"token endpoint 404", emuCase(scimtest.Options{}, func(e *emu) (Endpoints, Credentials) {
			return EndpointsFor(e.ep.BaseURL + "/wrong"), goodCred
		}), 0, ProblemNotFound, 404, []string{"no OAuth token endpoint at http://127.0.0.1", "/wrong/oauth/token (HTTP 404)", "Invicti Platform base URL"}},
		{"SCIM 404", modeCase(scimtest.ModeNoSCIM), 1, ProblemNotFound, 404, []string{"no SCIM endpoint at http://127.0.0.1", "/api/scim/v2/ServiceProviderConfig (HTTP 404)", "base URL"}},
		{"not SCIM", modeCase(scimtest.ModeNotSCIM), 1, ProblemNotSCIM, 200, []string{"the server answered but not with SCIM", `text/html: an HTML page titled "Sign in - Invicti Platform"`}},
		{"SCIM 500", modeCase(scimtest.ModeServerError), 1, ProblemServer, 500, []string{"HTTP 500 Internal Server Error", "Try again"}},
		{"SCIM 429", modeCase(scimtest.ModeRateLimited), 1, ProblemRateLimited, 429, []string{"rate-limiting", "Retry-After: 1 s"}},
		{"SCIM 403", modeCase(scimtest.ModeSCIMForbidden), 1, ProblemUnauthorized, 403, []string{"refused it for SCIM", "not authorized for SCIM", "Authorize the client registration"}},
		{"SCIM 401 with a fresh token", handlerCase(func(e *emu) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/api/scim/v2") {
					e.srv.RevokeTokens()
				}
				e.srv.Handler().ServeHTTP(w, r)
			})
		}), 1, ProblemUnauthorized, 401, []string{"invalid access token"}},
		{"DNS failure", func(t *testing.T) (*Checker, Endpoints, Credentials) {
			return testChecker(), EndpointsFor("https://platform.invalid"), goodCred
		}, 0, ProblemDNS, 0, []string{"cannot resolve platform.invalid", "Check the region or URL"}},
		{"connection refused", func(t *testing.T) (*Checker, Endpoints, Credentials) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			return testChecker(), EndpointsFor("http://" + addr), goodCred
		}, 0, ProblemConnection, 0, []string{"refused the connection", "listening"}},
		{"timeout", func(t *testing.T) (*Checker, Endpoints, Credentials) {
			e := newEmu(t, scimtest.Options{Latency: 2 * time.Second})
			return &Checker{HTTP: &http.Client{Timeout: 150 * time.Millisecond}}, e.ep, goodCred
		}, 0, ProblemTimeout, 0, []string{"no answer from 127.0.0.1 (after", "Restrict access to IP address"}},
		{"TLS untrusted certificate", func(t *testing.T) (*Checker, Endpoints, Credentials) {
			ts := httptest.NewUnstartedServer(http.NotFoundHandler())
			ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the expected handshake failure
			ts.StartTLS()
			t.Cleanup(ts.Close)
			return testChecker(), EndpointsFor(ts.URL), goodCred
		}, 0, ProblemTLS, 0, []string{"TLS certificate problem with 127.0.0.1", "not signed by a trusted authority", "publicly trusted"}},
		{"TLS spoken to a plain HTTP server", func(t *testing.T) (*Checker, Endpoints, Credentials) {
			e := newEmu(t, scimtest.Options{})
			return testChecker(), EndpointsFor(strings.Replace(e.ep.BaseURL, "http://", "https://", 1)), goodCred
		}, 0, ProblemTLS, 0, []string{"did not answer with TLS"}},
		{"token endpoint 500", handlerCase(func(e *emu) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "upstream exploded", http.StatusBadGateway)
			})
		}), 0, ProblemServer, 502, []string{"HTTP 502 Bad Gateway at the token endpoint"}},
		{"token endpoint 429", handlerCase(func(e *emu) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(http.StatusTooManyRequests)
			})
		}), 0, ProblemRateLimited, 429, []string{"Retry-After: 30 s"}},
		{"token endpoint answers HTML", handlerCase(func(e *emu) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<html><title>Welcome</title></html>")
			})
		}), 0, ProblemUnexpected, 200, []string{"not with an OAuth token"}},
		{"token endpoint redirects", handlerCase(func(e *emu) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/login?next=secret-ish", http.StatusFound)
			})
		}), 0, ProblemNotFound, 302, []string{"redirected (HTTP 302 to /login)"}},
		{"token endpoint forbids the client", handlerCase(func(e *emu) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"unauthorized_client","error_description":"client not authorized"}`)
			})
		}), 0, ProblemUnauthorized, 400, []string{"will not issue it a token", "Authorize the client registration"}},
		{"unsupported grant", handlerCase(func(e *emu) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"unsupported_grant_type"}`)
			})
		}), 0, ProblemUnexpected, 400, []string{"refused the client-credentials grant"}},
		{"non-bearer token", handlerCase(func(e *emu) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"access_token":"abcdefgh12345678","token_type":"mac","expires_in":60}`)
			})
		}), 0, ProblemUnexpected, 200, []string{`issued a "mac" token`}},
		{"SCIM redirect to login", handlerCase(overrideSCIM(func(w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, "https://login.example.com/sso?token=abc", http.StatusFound)
			return true
		})), 1, ProblemNotSCIM, 302, []string{"HTTP 302 redirect to https://login.example.com/sso, usually to a login page"}},
		{"SCIM JSON without schema", handlerCase(overrideSCIM(func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"ok"}`)
			return true
		})), 1, ProblemNotSCIM, 200, []string{"without the ServiceProviderConfig schema"}},
		{"SCIM body not JSON", handlerCase(overrideSCIM(func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/scim+json")
			_, _ = io.WriteString(w, `not json`)
			return true
		})), 1, ProblemNotSCIM, 200, []string{"not a JSON object"}},
		{"user query ignores the filter", handlerCase(overrideSCIM(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/api/scim/v2/Users" {
				return false
			}
			w.Header().Set("Content-Type", "application/scim+json")
			_, _ = io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":3,"Resources":[{"id":"1"}]}`)
			return true
		})), 2, ProblemUnexpected, 200, []string{"matched 3 user(s)"}},
		{"user query is not a ListResponse", handlerCase(overrideSCIM(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/api/scim/v2/Users" {
				return false
			}
			w.Header().Set("Content-Type", "application/scim+json")
			_, _ = io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"]}`)
			return true
		})), 2, ProblemNotSCIM, 200, []string{"without totalResults"}},
		{"user filter refused", handlerCase(overrideSCIM(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/api/scim/v2/Users" {
				return false
			}
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"bad filter"}`)
			return true
		})), 2, ProblemUnexpected, 400, []string{"refused the userName filter", "invalidFilter bad filter"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checker, ep, cred := c.setup(t)
			res := checker.Check(context.Background(), ep, cred)
			if res.OK {
				t.Fatalf("check passed: %+v", res)
			}
			for i, st := range res.Steps {
				switch {
				case i < c.step && (!st.OK || st.Problem != nil):
					t.Errorf("step %d should have passed: %+v", i, st)
				case i == c.step && (st.OK || st.Skipped || st.Problem == nil):
					t.Fatalf("step %d should have failed: %+v", i, st)
				case i > c.step && (!st.Skipped || st.OK || st.Problem != nil):
					t.Errorf("step %d should be skipped: %+v", i, st)
				}
			}
			p := res.Steps[c.step].Problem
			if p != res.Problem() {
				t.Error("Result.Problem() is not the failed step's")
			}
			if p.Kind != c.kind || p.Status != c.status || p.Message == "" || p.Fix == "" {
				t.Errorf("problem = %+v; want kind %s status %d", p, c.kind, c.status)
			}
			text := p.Message + " | " + p.Fix
			for _, s := range c.contains {
				if !strings.Contains(text, s) {
					t.Errorf("problem text lacks %q:\n%s", s, text)
				}
			}
			if res.Steps[c.step].Detail == "" {
				t.Errorf("no detail")
			}
			assertClean(t, res, "wrong-secret-value", "the-new-secret")
		})
	}
}

// A hostile or careless server that echoes credentials must not make the
// check repeat them.
func TestCheckRedactsEchoedSecrets(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ"
	var seenToken string
	var mu sync.Mutex
	steps := []struct {
		name string
		h    func(e *emu) http.Handler
		step int
	}{
		{"token error echoes the secret", func(e *emu) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				fmt.Fprintf(w, `{"error":"invalid_request","error_description":"audience wrong for %s with %s, access_token=%s"}`, checkSecret, r.Header.Get("Authorization"), jwt)
			})
		}, 0},
		{"token error body is not JSON", func(e *emu) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(418)
				fmt.Fprintf(w, `client_secret=%s&access_token=%s %s`, checkSecret, jwt, r.Header.Get("Authorization"))
			})
		}, 0},
		{"SCIM error echoes the token", overrideSCIM(func(w http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			seenToken = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			mu.Unlock()
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(403)
			fmt.Fprintf(w, `{"schemas":["%s"],"status":"403","detail":"token %s (%s) is not allowed; {\"access_token\":\"%s\"}"}`, SchemaError, seenToken, r.Header.Get("Authorization"), jwt)
			return true
		}), 1},
		{"SCIM 500 page echoes everything", overrideSCIM(func(w http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			seenToken = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			mu.Unlock()
			w.WriteHeader(418)
			fmt.Fprintf(w, "debug: Authorization: %s\nsecret %s token %s jwt %s", r.Header.Get("Authorization"), checkSecret, seenToken, jwt)
			return true
		}), 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			checker, ep, cred := handlerCase(s.h)(t)
			res := checker.Check(context.Background(), ep, cred)
			if res.OK || res.Steps[s.step].Problem == nil {
				t.Fatalf("expected failure at step %d: %+v", s.step, res)
			}
			mu.Lock()
			tok := seenToken
			mu.Unlock()
			assertClean(t, res, tok, jwt, strings.TrimSuffix(base64.StdEncoding.EncodeToString([]byte(checkClientID+":"+checkSecret)), "="))
			if !strings.Contains(res.Steps[s.step].Problem.Message+res.Steps[s.step].Detail, "[REDACTED]") {
				t.Errorf("nothing redacted? %+v", res.Steps[s.step])
			}
		})
	}
}

func TestCheckWithoutEndpoints(t *testing.T) {
	res := (*Checker)(nil).Check(context.Background(), Endpoints{}, goodCred)
	if p := res.Problem(); res.OK || p == nil || p.Kind != ProblemUnexpected || !res.Steps[1].Skipped {
		t.Errorf("result = %+v", res)
	}
}

func TestCheckCanceled(t *testing.T) {
	e := newEmu(t, scimtest.Options{Latency: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	res := testChecker().Check(ctx, e.ep, goodCred)
	if p := res.Problem(); p == nil || p.Kind != ProblemCanceled {
		t.Errorf("problem = %+v", p)
	}
}

func TestWarnings(t *testing.T) {
	for base, n := range map[string]int{
		"https://platform.invicti.com": 0,
		"https://10.1.2.3":             1,
		"http://127.0.0.1:8080":        2,
		"https://localhost":            1,
	} {
		if w := warningsFor(EndpointsFor(base)); len(w) != n {
			t.Errorf("%s: %q", base, w)
		}
	}
}

func TestRedactor(t *testing.T) {
	r := newRedactor("abc", "longer-secret")
	for in, want := range map[string]string{
		`{"access_token":"xyz","token_type":"Bearer"}`: `{"access_token":"[REDACTED]","token_type":"Bearer"}`,
		`Authorization: Bearer abc.def-ghi`:            `Authorization: Bearer [REDACTED]`,
		`Basic dXNlcjpwYXNz`:                           `Basic [REDACTED]`,
		`a=1&client_secret=zzz&b=2`:                    `a=1&client_secret=[REDACTED]&b=2`,
		`x longer-secret y`:                            `x [REDACTED] y`,
		`abc is too short to replace`:                  `abc is too short to replace`,
		`eyJhbGciOi.eyJzdWIiOi.sig`:                    `[REDACTED]`,
	} {
		if got := r.clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("a", 500)
	if s := r.snippet([]byte(long)); len(s) > maxSnippet+3 {
		t.Errorf("snippet length %d", len(s))
	}
	if s := r.snippet([]byte("<html><head><title>\n Log in \n</title>")); s != `an HTML page titled "Log in"` {
		t.Errorf("snippet = %q", s)
	}
}

// Fault 3: a secret the RFC 6749 §2.3.1 encoding changes. invalid_client to the RFC form sends
// the check on to the raw-Basic and body variants before the secret is blamed.
func TestCheckClientAuthVariants(t *testing.T) {
	const odd = "Ab+c/d=e:f%g"
	cred := Credentials{ClientID: "odd-client", ClientSecret: odd}
	tests := []struct {
		mode     scimtest.Mode
		cred     Credentials
		ok       bool
		auth     ClientAuth
		says     string
		variants int // token requests beyond the first
	}{
		{scimtest.ModeNormal, cred, true, ClientAuthBasic, "", 0},
		{scimtest.ModeRawBasic, cred, true, ClientAuthBasicRaw, "", 1},
		{scimtest.ModeBodyOnly, cred, false, ClientAuthBody, "Entra's provisioning will fail", 2},
		{scimtest.ModeNormal, Credentials{ClientID: "odd-client", ClientSecret: "Wrong+secret="}, false, "", "refused too", 2},
		{scimtest.ModeNormal, Credentials{ClientID: "odd-client", ClientSecret: "plainwrong"}, false, "", "rejected this client id/secret", 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"/"+tt.cred.ClientSecret, func(t *testing.T) {
			e := newEmu(t, scimtest.Options{})
			e.srv.AddClient("odd-client", odd)
			e.srv.SetMode(tt.mode)
			res := testChecker().Check(context.Background(), e.ep, tt.cred)
			if res.OK != tt.ok || res.ClientAuth != tt.auth {
				t.Fatalf("ok %v auth %q: %+v", res.OK, res.ClientAuth, res.Problem())
			}
			if p := res.Problem(); tt.says != "" && (p == nil || !strings.Contains(p.Message, tt.says)) {
				t.Errorf("problem %+v lacks %q", p, tt.says)
			}
			if tt.auth == ClientAuthBasicRaw && !slices.Contains(res.Warnings, RawBasicWarning) {
				t.Errorf("warnings %q", res.Warnings)
			}
			tokens := 0
			e.cap.mu.Lock()
			reqs := append([]capturedReq{}, e.cap.reqs...)
			e.cap.mu.Unlock()
			for _, r := range reqs {
				if strings.HasPrefix(r.path, "/oauth/token") {
					tokens++
				}
			}
			if tokens != 1+tt.variants {
				t.Errorf("token requests %d, want %d", tokens, 1+tt.variants)
			}
			assertClean(t, res, odd, tt.cred.ClientSecret)
		})
	}
}
