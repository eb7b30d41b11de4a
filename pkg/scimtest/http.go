package scimtest

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// reqInfo collects what the log needs while a request is served.
type reqInfo struct {
	clientID string
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	received := s.opts.Now()
	sw := &statusWriter{ResponseWriter: w}
	info := &reqInfo{}
	defer func() {
		st := sw.status
		if st == 0 {
			st = http.StatusOK
		}
		s.record(Request{
			Method:   r.Method,
			Path:     r.URL.Path,
			Query:    redactQuery(r.URL.RawQuery),
			Status:   st,
			ClientID: info.clientID,
			Time:     received,
		})
	}()

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			sw.status = 499 // client went away; nothing is written
			return
		case <-s.done:
			t.Stop()
			http.Error(sw, "server closed", http.StatusServiceUnavailable)
			return
		}
	}

	switch p := r.URL.Path; {
	case p == tokenPath:
		s.handleToken(sw, r, info)
	case p == scimPrefix || strings.HasPrefix(p, scimPrefix+"/"):
		s.handleSCIM(sw, r, info)
	default:
		scimError(sw, http.StatusNotFound, "", "no such endpoint: "+r.Method+" "+p)
	}
}

var sensitiveParams = map[string]bool{
	"client_secret": true, "clientsecret": true, "access_token": true, "refresh_token": true,
	"id_token": true, "token": true, "password": true, "assertion": true, "code": true,
}

// redactQuery hides the values of parameters that could carry a secret.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, hasV := strings.Cut(p, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			dk = k
		}
		if hasV && sensitiveParams[strings.ToLower(dk)] {
			parts[i] = k + "=REDACTED"
		}
	}
	return strings.Join(parts, "&")
}

// readBody reads a request body of at most MaxBodyBytes. ok is false when
// an error answer was written (413 via tooLarge, or 400).
func readBody(w http.ResponseWriter, r *http.Request, tooLarge func()) ([]byte, bool) {
	if r.ContentLength > MaxBodyBytes {
		tooLarge()
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			tooLarge()
			return nil, false
		}
		return nil, false
	}
	return body, true
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// ---- OAuth token endpoint ----

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="Invicti Platform", charset="UTF-8"`)
	}
	writeJSON(w, status, "application/json", map[string]string{"error": code, "error_description": desc})
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, info *reqInfo) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint only accepts POST")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	body, ok := readBody(w, r, func() {
		oauthError(w, http.StatusRequestEntityTooLarge, "invalid_request", "request body too large")
	})
	if !ok {
		if w.(*statusWriter).status == 0 {
			oauthError(w, http.StatusBadRequest, "invalid_request", "cannot read the request body")
		}
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	for k, v := range form {
		if len(v) > 1 {
			oauthError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" is repeated")
			return
		}
	}

	// Audience: in the query string, as Invicti documents the token URL.
	base := s.baseURL()
	want := base + audiencePath
	q, qerr := url.ParseQuery(r.URL.RawQuery)
	aud := q["audience"]
	switch {
	case s.Mode() == ModeStrictAudience && r.URL.RawQuery != "audience="+want:
		oauthError(w, http.StatusBadRequest, "invalid_request", "invalid audience: the token URL must end with ?audience="+want+" exactly")
		return
	case qerr != nil || len(aud) == 0:
		oauthError(w, http.StatusBadRequest, "invalid_request", "invalid audience: missing audience; expected ?audience="+want)
		return
	case len(aud) > 1 || aud[0] != want:
		oauthError(w, http.StatusBadRequest, "invalid_request", "invalid audience "+strconv.Quote(strings.Join(aud, ","))+"; expected "+strconv.Quote(want))
		return
	case form.Has("audience") && form.Get("audience") != want:
		oauthError(w, http.StatusBadRequest, "invalid_request", "invalid audience: the form audience differs from the query audience")
		return
	}

	// Client authentication: client_secret_basic or client_secret_post.
	var id, secret string
	var basic, post bool
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Basic") {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed: use HTTP Basic or client_secret_post")
			return
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "malformed HTTP Basic credentials")
			return
		}
		ui, us, found := strings.Cut(string(raw), ":")
		if !found {
			oauthError(w, http.StatusBadRequest, "invalid_request", "malformed HTTP Basic credentials")
			return
		}
		if s.Mode() == ModeBodyOnly {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
			return
		}
		// RFC 6749 §2.3.1: id and secret are form-url-encoded inside Basic.
		di, err1 := url.QueryUnescape(ui)
		ds, err2 := url.QueryUnescape(us)
		if s.Mode() == ModeRawBasic {
			di, ds, err1, err2 = ui, us, nil, nil
		}
		if err1 != nil || err2 != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "malformed HTTP Basic credentials")
			return
		}
		id, secret, basic = di, ds, true
	}
	if form.Has("client_id") || form.Has("client_secret") {
		fi, fs := form.Get("client_id"), form.Get("client_secret")
		if basic {
			if (form.Has("client_id") && fi != id) || (form.Has("client_secret") && fs != secret) {
				oauthError(w, http.StatusBadRequest, "invalid_request", "more than one client authentication method with different values")
				return
			}
		} else {
			id, secret, post = fi, fs, true
		}
	}
	info.clientID = id
	if !basic && !post {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	s.mu.Lock()
	known, exists := s.clients[id]
	accepted := append([]string{known}, s.extra[id]...)
	s.mu.Unlock()
	match := false
	for _, k := range accepted {
		match = match || subtle.ConstantTimeCompare([]byte(k), []byte(secret)) == 1
	}
	if !exists || id == "" || !match {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}

	switch gt := form.Get("grant_type"); {
	case gt == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	case gt != "client_credentials":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only the client_credentials grant is supported")
		return
	}

	s.mu.Lock()
	tok := s.issueLocked(id)
	ttl := s.opts.TokenTTL
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int64(ttl / time.Second),
	})
}
