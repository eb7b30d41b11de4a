package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Retry is a RoundTripper that retries throttled and briefly-unavailable answers (429, 503,
// 504), honouring Retry-After. It retries only requests whose body can be replayed, and after
// a 503 or 504 only requests that are safe to send twice (Resend): a create such as
// instantiate is never sent twice by the transport. Kiota's
// own retry handler is not used: its ordering against compression re-sent gzip headers with
// a plain body (kiota-http-go#183), which Graph rejects.
type Retry struct {
	Next       http.RoundTripper
	MaxRetries int           // default 12
	BaseDelay  time.Duration // used when there is no Retry-After; default 1 s, doubling
	MaxDelay   time.Duration // cap for one wait; default 60 s
	Sleep      func(ctx context.Context, d time.Duration) error
	OnWait     func(req *http.Request, status int, wait time.Duration) // progress hook, may be nil
	// Resend reports whether a request may be sent again after a 503 or 504, when the server
	// may have applied it before failing (a 429 was refused unapplied and is always resent).
	// Default: SafeToResend.
	Resend func(*http.Request) bool
	// AttemptTimeout bounds one attempt. A timed-out GET is retried (it changes nothing);
	// a timed-out write is not, because Graph may have applied it: the caller's idempotent
	// flow finds out on the next read.
	AttemptTimeout time.Duration
}

// TimeoutError is one attempt that took longer than AttemptTimeout.
type TimeoutError struct {
	Method, URL string
	After       time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s %s: no answer within %s (--request-timeout)", e.Method, e.URL, e.After)
}

// Timeout marks the error as a timeout for net.Error-style checks.
func (e *TimeoutError) Timeout() bool { return true }

type minAttemptKey struct{}

// WithMinAttemptTimeout raises the per-attempt timeout (--request-timeout) to at least d for
// the requests sent with ctx. Some calls are known to be slow: Entra's provisionOnDemand
// runs the whole import, match and export before it answers, and third parties report that
// 30 s is often not enough for it (docs/setup.md, "Timeouts").
func WithMinAttemptTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, minAttemptKey{}, d)
}

func (r *Retry) attemptTimeout(req *http.Request) time.Duration {
	d := r.AttemptTimeout
	if d <= 0 {
		return 0
	}
	if m, ok := req.Context().Value(minAttemptKey{}).(time.Duration); ok && m > d {
		d = m
	}
	return d
}

func (r *Retry) attempt(next http.RoundTripper, req *http.Request) (*http.Response, error) {
	limit := r.attemptTimeout(req)
	if limit <= 0 {
		return next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), limit)
	resp, err := next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && req.Context().Err() == nil {
			return nil, &TimeoutError{Method: req.Method, URL: req.URL.Redacted(), After: limit}
		}
		return nil, err
	}
	// The body is read after RoundTrip returns: cancel when it is closed.
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// RoundTrip implements http.RoundTripper.
func (r *Retry) RoundTrip(req *http.Request) (*http.Response, error) {
	next := r.Next
	if next == nil {
		next = http.DefaultTransport
	}
	maxRetries := r.MaxRetries
	if maxRetries == 0 {
		maxRetries = 12
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// Kiota hands over bodies without GetBody; buffer them (they are small JSON) so a
		// throttled write can be replayed byte for byte.
		data, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	}
	for attempt := 0; ; attempt++ {
		resp, err := r.attempt(next, req)
		var te *TimeoutError
		if errors.As(err, &te) && req.Method == http.MethodGet && attempt < maxRetries {
			if r.OnWait != nil {
				r.OnWait(req, 0, 0)
			}
			continue
		}
		if err != nil || !Retryable(resp.StatusCode) || attempt >= maxRetries {
			return resp, err
		}
		if req.Body != nil && req.GetBody == nil {
			return resp, nil
		}
		if resp.StatusCode != http.StatusTooManyRequests && !r.resend(req) {
			// The write may have happened: the caller's flow looks before it sends again.
			return resp, nil
		}
		wait := RetryAfter(resp.Header, r.backoff(attempt))
		if m := r.maxDelay(); wait > m {
			wait = m
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if r.OnWait != nil {
			r.OnWait(req, resp.StatusCode, wait)
		}
		if err := r.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}

func (r *Retry) resend(req *http.Request) bool {
	if r.Resend != nil {
		return r.Resend(req)
	}
	return SafeToResend(req)
}

// SafeToResend reports whether sending req twice has the effect of sending it once: reads, and
// the idempotent methods of RFC 9110 §9.2.2 (PUT, DELETE), plus PATCH, which this tool only
// uses to set whole values (tags). A POST creates or triggers something and is not resent.
func SafeToResend(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}

func (r *Retry) backoff(attempt int) time.Duration {
	base := r.BaseDelay
	if base == 0 {
		base = time.Second
	}
	return base << attempt
}

func (r *Retry) maxDelay() time.Duration {
	if r.MaxDelay == 0 {
		return 60 * time.Second
	}
	return r.MaxDelay
}

func (r *Retry) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Retryable reports whether a status is worth retrying unchanged after a wait.
func Retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date), falling back to def.
func RetryAfter(h http.Header, def time.Duration) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return def
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		// A day is far beyond any sane Retry-After; cap before the multiplication overflows.
		return time.Duration(min(secs, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
		return 0
	}
	return def
}

// Sleep waits for d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
