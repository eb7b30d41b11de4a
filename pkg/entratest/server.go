package entratest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

const (
	jsonContentType  = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
	errorContentType = "application/json"
	maxBody          = 16 << 20
	maxBatchItems    = 20
)

// request is one Graph call: a top-level HTTP request or a $batch sub-request.
type request struct {
	ctx             context.Context
	method          string
	segs            []string // decoded path segments, segs[0] is the version ("v1.0")
	path            string   // decoded path, e.g. /v1.0/users/x
	rawQuery        string
	query           url.Values
	header          http.Header
	body            []byte
	principal       *principal
	inBatch         bool
	baseURL         string // scheme://host, for @odata.nextLink
	requestID       string
	clientRequestID string
}

// response is what a handler produces.
type response struct {
	status int
	header http.Header
	body   []byte
}

// apiError is a Graph OData error.
type apiError struct {
	status     int
	code       string
	message    string
	retryAfter int
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func newErr(status int, code, format string, args ...any) *apiError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &apiError{status: status, code: code, message: msg}
}

func badRequest(format string, args ...any) *apiError {
	return newErr(http.StatusBadRequest, "BadRequest", format, args...)
}

func notFound(id string) *apiError {
	return newErr(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

func invalidObjectID(id string) *apiError {
	return newErr(http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier '%s'.", id)
}

func insufficientPrivileges() *apiError {
	return newErr(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// defaultCode maps an HTTP status to the Graph error code used when a Fault names none.
func defaultCode(status int) string {
	switch status {
	case 400:
		return "BadRequest"
	case 401:
		return "InvalidAuthenticationToken"
	case 403:
		return "Authorization_RequestDenied"
	case 404:
		return "Request_ResourceNotFound"
	case 405:
		return "Request_BadRequest"
	case 409:
		return "Conflict"
	case 412:
		return "PreconditionFailed"
	case 423:
		return "ResourceLocked"
	case 424:
		return "FailedDependency"
	case 429:
		return "TooManyRequests"
	case 500:
		return "InternalServerError"
	case 502:
		return "BadGateway"
	case 503:
		return "ServiceUnavailable"
	case 504:
		return "GatewayTimeout"
	}
	return "UnknownError"
}

func (t *Tenant) errorResponse(req *request, e *apiError) *response {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code":    e.code,
		"message": e.message,
		"innerError": map[string]any{
			"date":              t.now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        req.requestID,
			"client-request-id": req.clientRequestID,
		},
	}})
	h := http.Header{}
	h.Set("Content-Type", errorContentType)
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	return &response{status: e.status, header: h, body: body}
}

func jsonResponse(status int, v any) *response {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("entratest: marshal response: %v", err))
	}
	h := http.Header{}
	h.Set("Content-Type", jsonContentType)
	return &response{status: status, header: h, body: body}
}

func noContent() *response { return &response{status: http.StatusNoContent, header: http.Header{}} }

// sleep waits for d, the request's cancellation or Close, whichever comes first.
func (t *Tenant) sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-t.closed:
		return false
	}
}

// splitPath turns an escaped URL path into decoded segments and the decoded path.
func splitPath(escaped string) ([]string, string) {
	escaped = strings.TrimPrefix(escaped, "/")
	escaped = strings.TrimSuffix(escaped, "/")
	if escaped == "" {
		return []string{""}, "/"
	}
	parts := strings.Split(escaped, "/")
	for i, p := range parts {
		if d, err := url.PathUnescape(p); err == nil {
			parts[i] = d
		}
	}
	return parts, "/" + strings.Join(parts, "/")
}

func (t *Tenant) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if t.opts.Latency > 0 && !t.sleep(r.Context(), t.opts.Latency) {
		w.Header().Set("request-id", uuid.NewString())
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	raw, readErr := io.ReadAll(io.LimitReader(r.Body, maxBody))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	req := &request{
		ctx:       r.Context(),
		method:    r.Method,
		rawQuery:  r.URL.RawQuery,
		header:    r.Header,
		baseURL:   scheme + "://" + r.Host,
		requestID: uuid.NewString(),
	}
	req.clientRequestID = r.Header.Get("client-request-id")
	if req.clientRequestID == "" {
		req.clientRequestID = uuid.NewString()
	}
	req.segs, req.path = splitPath(r.URL.EscapedPath())
	entry := t.logStart(req)

	var resp *response
	p, authErr := t.authenticate(r.Header)
	switch {
	case authErr != nil:
		resp = t.errorResponse(req, authErr)
	case readErr != nil:
		resp = t.errorResponse(req, badRequest("Unable to read the request body: %v", readErr))
	default:
		req.principal = p
		body, err := decodeContentEncoding(raw, r.Header.Get("Content-Encoding"))
		if err != nil {
			resp = t.errorResponse(req, err)
		} else {
			req.body = body
			resp = t.process(req)
		}
	}
	t.logEnd(entry, req, resp.status)

	for k, vs := range resp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("request-id", req.requestID)
	w.Header().Set("client-request-id", req.clientRequestID)
	w.WriteHeader(resp.status)
	if len(resp.body) > 0 && r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}

func decodeContentEncoding(raw []byte, enc string) ([]byte, *apiError) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		if len(raw) == 0 {
			return raw, nil
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, badRequest("The request body is not valid gzip data (Content-Encoding: gzip): %v", err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxBody))
		if err != nil {
			return nil, badRequest("The request body is not valid gzip data (Content-Encoding: gzip): %v", err)
		}
		return out, nil
	default:
		return nil, newErr(http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			"Content-Encoding '%s' is not supported.", enc)
	}
}

// logStart appends a log entry for the request; logEnd fills in the outcome.
func (t *Tenant) logStart(req *request) *Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := &Request{Method: req.method, Path: req.path, Query: req.rawQuery, InBatch: req.inBatch, Time: t.now()}
	t.requests = append(t.requests, e)
	return e
}

func (t *Tenant) logEnd(e *Request, req *request, status int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.Status = status
	e.Body = string(req.body)
}

// takeFault returns the first matching fault and consumes one of its uses.
func (t *Tenant) takeFault(req *request) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, req.method) {
			continue
		}
		if f.Path != nil && !f.Path.MatchString(req.path) {
			continue
		}
		if f.Times > 0 && f.used >= f.Times {
			continue
		}
		f.used++
		return f.Fault, true
	}
	return Fault{}, false
}

// process applies faults, then serves $batch or routes the request.
func (t *Tenant) process(req *request) *response {
	if f, ok := t.takeFault(req); ok {
		if f.Delay > 0 && !t.sleep(req.ctx, f.Delay) {
			return t.errorResponse(req, newErr(http.StatusGatewayTimeout, "GatewayTimeout", "The request was canceled."))
		}
		if f.Status != 0 {
			code, msg := f.Code, f.Message
			if code == "" {
				code = defaultCode(f.Status)
			}
			if msg == "" {
				msg = http.StatusText(f.Status)
				if f.Status == http.StatusTooManyRequests {
					msg = "Too many requests. Please retry after the time specified in the Retry-After header."
				}
			}
			return t.errorResponse(req, &apiError{status: f.Status, code: code, message: msg, retryAfter: f.RetryAfter})
		}
	}
	q, err := url.ParseQuery(req.rawQuery)
	if err != nil {
		return t.errorResponse(req, badRequest("The query specified in the URI is not valid. %v", err))
	}
	req.query = q
	if len(req.segs) == 2 && strings.EqualFold(req.segs[0], "v1.0") && req.segs[1] == "$batch" {
		if req.inBatch {
			return t.errorResponse(req, badRequest("Nested $batch requests are not supported."))
		}
		return t.handleBatch(req)
	}
	return t.dispatch(req)
}

// bodyObject decodes the request body as one JSON object (Content-Type application/json required),
// drops OData annotations and rejects properties that are not allowed.
func (req *request) bodyObject(typeName string, allowed ...string) (map[string]json.RawMessage, *apiError) {
	if len(bytes.TrimSpace(req.body)) == 0 {
		return nil, badRequest("Empty Payload. JSON content expected.")
	}
	if e := req.requireJSON(); e != nil {
		return nil, e
	}
	return decodeObject(req.body, typeName, allowed...)
}

func (req *request) requireJSON() *apiError {
	ct := req.header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !strings.EqualFold(mt, "application/json") {
		return newErr(http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			"The content type '%s' is not supported. Use 'application/json'.", ct)
	}
	return nil
}

var errMalformed = badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")

// decodeObject parses a JSON object strictly.
func decodeObject(raw []byte, typeName string, allowed ...string) (map[string]json.RawMessage, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errMalformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errMalformed
	}
	out := map[string]json.RawMessage{}
	for k, v := range m {
		if strings.Contains(k, "@") {
			continue // OData annotations such as @odata.type
		}
		ok := false
		for _, a := range allowed {
			if a == k {
				ok = true
				break
			}
		}
		if !ok {
			return nil, badRequest("The property '%s' does not exist on type 'microsoft.graph.%s'. Make sure to only use property names that are defined by the type.", k, typeName)
		}
		out[k] = v
	}
	return out, nil
}

// prop decodes one property into dst; a missing or null property leaves dst unchanged and
// returns false.
func prop(m map[string]json.RawMessage, key string, dst any) (bool, *apiError) {
	raw, ok := m[key]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return false, badRequest("Invalid value for property '%s': %v", key, err)
	}
	return true, nil
}

// --- $batch -------------------------------------------------------------------------------------

type batchItem struct {
	ID        string
	Method    string
	URL       string
	Headers   map[string]string
	Body      json.RawMessage
	DependsOn []string
}

func (t *Tenant) handleBatch(req *request) *response {
	if req.method != http.MethodPost {
		return t.errorResponse(req, methodNotAllowed())
	}
	obj, e := req.bodyObject("batchRequest", "requests")
	if e != nil {
		return t.errorResponse(req, e)
	}
	var rawItems []json.RawMessage
	if ok, e := prop(obj, "requests", &rawItems); e != nil || !ok {
		return t.errorResponse(req, badRequest("Invalid batch payload format."))
	}
	if len(rawItems) == 0 {
		return t.errorResponse(req, badRequest("Invalid batch payload format. The batch request must contain at least one request."))
	}
	if len(rawItems) > maxBatchItems {
		return t.errorResponse(req, badRequest("The number of requests in a batch (%d) exceeds the limit of %d.", len(rawItems), maxBatchItems))
	}
	items := make([]batchItem, 0, len(rawItems))
	seen := map[string]bool{}
	for _, raw := range rawItems {
		m, e := decodeObject(raw, "batchRequestStep", "id", "method", "url", "headers", "body", "dependsOn", "atomicityGroup")
		if e != nil {
			return t.errorResponse(req, badRequest("Invalid batch payload format. %s", e.message))
		}
		var it batchItem
		for _, p := range []struct {
			k string
			v any
		}{{"id", &it.ID}, {"method", &it.Method}, {"url", &it.URL}, {"headers", &it.Headers}, {"dependsOn", &it.DependsOn}} {
			if _, e := prop(m, p.k, p.v); e != nil {
				return t.errorResponse(req, badRequest("Invalid batch payload format. %s", e.message))
			}
		}
		if b, ok := m["body"]; ok && string(bytes.TrimSpace(b)) != "null" {
			it.Body = b
		}
		switch {
		case it.ID == "":
			return t.errorResponse(req, badRequest("Invalid batch payload format. Every request must have an 'id'."))
		case seen[it.ID]:
			return t.errorResponse(req, badRequest("Batch request ids must be unique; '%s' is used more than once.", it.ID))
		case it.URL == "":
			return t.errorResponse(req, badRequest("Invalid batch payload format. Request '%s' has no 'url'.", it.ID))
		}
		switch strings.ToUpper(it.Method) {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			it.Method = strings.ToUpper(it.Method)
		default:
			return t.errorResponse(req, badRequest("Invalid batch payload format. Request '%s' has an invalid method '%s'.", it.ID, it.Method))
		}
		u, err := url.Parse(it.URL)
		if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(it.URL, "//") {
			return t.errorResponse(req, badRequest("Invalid request URL '%s'. Batch request URLs must be relative to the version, e.g. '/users'.", it.URL))
		}
		for _, d := range it.DependsOn {
			if !seen[d] {
				return t.errorResponse(req, badRequest("Request '%s' depends on '%s', which is not an earlier request in the batch.", it.ID, d))
			}
		}
		seen[it.ID] = true
		items = append(items, it)
	}

	status := map[string]int{}
	responses := make([]map[string]any, 0, len(items))
	for _, it := range items {
		resp := t.batchStep(req, it, status)
		status[it.ID] = resp.status
		out := map[string]any{"id": it.ID, "status": resp.status}
		h := map[string]string{}
		for k := range resp.header {
			h[k] = resp.header.Get(k)
		}
		out["headers"] = h
		if len(resp.body) > 0 {
			out["body"] = json.RawMessage(resp.body)
		}
		responses = append(responses, out)
	}
	rand.Shuffle(len(responses), func(i, j int) { responses[i], responses[j] = responses[j], responses[i] }) //nolint:gosec // G404: shuffles batch answers, not security
	return jsonResponse(http.StatusOK, map[string]any{"responses": responses})
}

func (t *Tenant) batchStep(outer *request, it batchItem, done map[string]int) *response {
	u, _ := url.Parse(it.URL)
	h := http.Header{}
	for k, v := range it.Headers {
		h.Set(k, v)
	}
	sub := &request{
		ctx:             outer.ctx,
		method:          it.Method,
		rawQuery:        u.RawQuery,
		header:          h,
		principal:       outer.principal,
		inBatch:         true,
		baseURL:         outer.baseURL,
		requestID:       uuid.NewString(),
		clientRequestID: h.Get("client-request-id"),
	}
	if sub.clientRequestID == "" {
		sub.clientRequestID = uuid.NewString()
	}
	sub.segs, sub.path = splitPath("/v1.0/" + strings.TrimPrefix(u.EscapedPath(), "/"))
	sub.body = it.Body
	entry := t.logStart(sub)
	var resp *response
	switch {
	case len(it.Body) > 0 && h.Get("Content-Type") == "" &&
		(it.Method == http.MethodPost || it.Method == http.MethodPut || it.Method == http.MethodPatch):
		resp = t.errorResponse(sub, badRequest("Write request id : %s does not contain Content-Type header or body.", it.ID))
	default:
		for _, d := range it.DependsOn {
			if st := done[d]; st >= 400 || st == 0 {
				resp = t.errorResponse(sub, newErr(http.StatusFailedDependency, "FailedDependency",
					"The request depends on request '%s', which failed.", d))
				break
			}
		}
		if resp == nil {
			resp = t.process(sub)
		}
	}
	t.logEnd(entry, sub, resp.status)
	resp.header.Set("request-id", sub.requestID)
	return resp
}
