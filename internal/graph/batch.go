package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/httpx"
)

// MaxBatch is Graph's JSON batching limit per $batch request.
const MaxBatch = 20

// BatchRequest is one request inside a $batch. URL is relative to /v1.0 ("/users/x").
type BatchRequest struct {
	ID     string
	Method string
	URL    string
	Body   any
}

// BatchResponse is one answer inside a $batch.
type BatchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// Err turns a failed item into an *Error, nil when the item succeeded.
func (r BatchResponse) Err() error {
	if r.Status < 400 {
		return nil
	}
	h := http.Header{}
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	return parseErrorBody(r.Status, h, r.Body)
}

// Decode unmarshals the item's body.
func (r BatchResponse) Decode(v any) error { return json.Unmarshal(r.Body, v) }

type batchItem struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

// Batch sends up to MaxBatch requests in one $batch round trip.
func (c *Client) Batch(ctx context.Context, reqs []BatchRequest) ([]BatchResponse, error) {
	if len(reqs) > MaxBatch {
		return nil, fmt.Errorf("batch: %d requests, Graph accepts at most %d", len(reqs), MaxBatch)
	}
	items := make([]batchItem, len(reqs))
	for i, r := range reqs {
		items[i] = batchItem{ID: r.ID, Method: r.Method, URL: r.URL, Body: r.Body}
		if r.Body != nil {
			items[i].Headers = map[string]string{"Content-Type": "application/json"}
		}
	}
	var res struct {
		Responses []BatchResponse `json:"responses"`
	}
	if err := c.raw(ctx, "$batch", http.MethodPost, "/$batch", nil, map[string]any{"requests": items}, &res); err != nil {
		return nil, err
	}
	return res.Responses, nil
}

// BatchStats counts what BatchAll did, for reports and benchmarks.
type BatchStats struct {
	RoundTrips int // $batch HTTP requests sent
	Retried    int // items re-sent after 429/503/504
}

// BatchAll sends any number of requests in $batch round trips of MaxBatch, with at most
// concurrency round trips in flight, and re-sends items that were throttled (per-item 429
// with Retry-After) until maxAttempts. Responses come back in request order.
func (c *Client) BatchAll(ctx context.Context, reqs []BatchRequest, concurrency, maxAttempts int) ([]BatchResponse, BatchStats, error) {
	if concurrency < 1 {
		concurrency = 4
	}
	if maxAttempts < 1 {
		maxAttempts = 6
	}
	out := make([]BatchResponse, len(reqs))
	var stats BatchStats
	var mu sync.Mutex

	pending := make([]int, len(reqs))
	for i := range reqs {
		pending[i] = i
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		var chunks [][]int
		for i := 0; i < len(pending); i += MaxBatch {
			chunks = append(chunks, pending[i:min(i+MaxBatch, len(pending))])
		}
		var retry []int
		var wait time.Duration
		var firstErr error
		sem := make(chan struct{}, concurrency)
		var wg sync.WaitGroup
		for _, chunk := range chunks {
			wg.Add(1)
			sem <- struct{}{}
			go func(chunk []int) {
				defer wg.Done()
				defer func() { <-sem }()
				batch := make([]BatchRequest, len(chunk))
				byID := map[string]int{}
				for j, idx := range chunk {
					batch[j] = reqs[idx]
					batch[j].ID = strconv.Itoa(j + 1)
					byID[batch[j].ID] = idx
				}
				res, err := c.Batch(ctx, batch)
				mu.Lock()
				defer mu.Unlock()
				stats.RoundTrips++
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				for _, r := range res {
					idx, ok := byID[r.ID]
					if !ok {
						continue
					}
					r.ID = reqs[idx].ID
					out[idx] = r
					if httpx.Retryable(r.Status) && attempt < maxAttempts {
						retry = append(retry, idx)
						h := http.Header{}
						for k, v := range r.Headers {
							h.Set(k, v)
						}
						if d := httpx.RetryAfter(h, time.Duration(attempt)*time.Second); d > wait {
							wait = d
						}
					}
				}
			}(chunk)
		}
		wg.Wait()
		if firstErr != nil {
			return out, stats, firstErr
		}
		if len(retry) == 0 {
			break
		}
		stats.Retried += len(retry)
		if err := httpx.Sleep(ctx, min(wait, 60*time.Second)); err != nil {
			return out, stats, err
		}
		pending = retry
	}
	return out, stats, nil
}
