package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// Client calls one service.
type Client struct {
	svc     *registry.Service
	backend string
	cfg     Config
	headers http.Header
	sem     chan struct{}
	br      *breaker
	cache   *otter.Cache[cacheKey, cached] // nil: no cache
}

type cacheKey struct{ id, field string }

type cached struct {
	v     store.Value // Absent: the service has no value (a negative entry)
	until int64       // Unix ns
}

func newClient(svc *registry.Service, cfg Config) *Client {
	c := &Client{svc: svc, backend: Backend(svc.Name), cfg: cfg, headers: http.Header{},
		sem: make(chan struct{}, svc.HTTP.Concurrency),
		br:  &breaker{limit: cfg.BreakerFailures, cooldown: cfg.BreakerCooldown, now: cfg.Now}}
	for k, v := range svc.HTTP.Headers {
		c.headers.Set(k, os.Expand(v, cfg.Getenv))
	}
	if ttl := max(svc.HTTP.CacheTTL, svc.HTTP.NegativeCacheTTL); ttl > 0 && cfg.CacheEntries > 0 {
		c.cache = otter.Must(&otter.Options[cacheKey, cached]{
			MaximumSize: cfg.CacheEntries,
			// Memory reclamation only: every entry carries its own expiry, checked on read.
			ExpiryCalculator: otter.ExpiryWriting[cacheKey, cached](ttl + time.Second),
		})
	}
	return c
}

// Fetch answers features of ids (see Set.FetchService). Cached ids are answered from the cache;
// the others are asked in calls of at most BatchSize ids (per-id URLs: one call per id), at
// most Concurrency calls in flight to the service from this process, each within the
// service's timeout and the request's deadline. A failed call fails the cells of its ids only.
func (c *Client) Fetch(ctx context.Context, e *registry.Entity, features []*registry.Feature, ids []string, asOf int64, vals []store.Value, errs []error) {
	nf := len(features)
	var ask []int // indexes in ids
	useCache := c.cache != nil && asOf == 0
	if useCache {
		now := c.cfg.Now().UnixNano()
		hits := 0
		for i, id := range ids {
			hit := true
			for j, f := range features {
				ent, ok := c.cache.GetIfPresent(cacheKey{id, f.SourceField})
				if !ok || now >= ent.until {
					hit = false
					break
				}
				vals[i*nf+j] = ent.v
				if ent.v.Kind == store.Absent {
					vals[i*nf+j] = f.Default
				}
			}
			if hit {
				hits++
			} else {
				ask = append(ask, i)
			}
		}
		store.ReportCache(c.cfg.Observer, c.backend, hits, len(ask))
	} else {
		ask = make([]int, len(ids))
		for i := range ids {
			ask[i] = i
		}
	}
	if len(ask) == 0 {
		return
	}
	var chunks [][]int
	if c.svc.HTTP.PerID() {
		for _, i := range ask {
			chunks = append(chunks, []int{i})
		}
	} else {
		for len(ask) > 0 {
			n := min(len(ask), c.svc.HTTP.BatchSize)
			chunks = append(chunks, ask[:n])
			ask = ask[n:]
		}
	}
	run := func(chunk []int) {
		answers, err := c.call(ctx, e, features, ids, chunk, asOf)
		if err != nil {
			err = &store.BackendError{Backend: c.backend, Op: c.op(), Err: err}
		}
		c.put(features, ids, chunk, answers, err, vals, errs, useCache)
	}
	if len(chunks) == 1 {
		run(chunks[0])
		return
	}
	var wg sync.WaitGroup
	for _, ch := range chunks {
		wg.Add(1)
		go func() { defer wg.Done(); run(ch) }()
	}
	wg.Wait()
}

func (c *Client) op() string {
	if c.svc.HTTP.PerID() {
		return "get"
	}
	return "batch"
}

// put sets the cells of a chunk's ids from the answers (by id, then by field), coercing each
// value to its feature's type; a value that does not coerce is an error at its cell alone.
func (c *Client) put(features []*registry.Feature, ids []string, chunk []int, answers map[string]map[string]any, err error, vals []store.Value, errs []error, useCache bool) {
	nf := len(features)
	var until, negUntil int64
	if useCache {
		now := c.cfg.Now()
		until, negUntil = now.Add(c.svc.HTTP.CacheTTL).UnixNano(), now.Add(c.svc.HTTP.NegativeCacheTTL).UnixNano()
	}
	for _, i := range chunk {
		if err != nil {
			for j := range features {
				errs[i*nf+j] = err
			}
			continue
		}
		row := answers[ids[i]]
		for j, f := range features {
			raw, ok := row[f.SourceField]
			if !ok || raw == nil {
				vals[i*nf+j] = f.Default // the service has no value
				if useCache && c.svc.HTTP.NegativeCacheTTL > 0 {
					c.cache.Set(cacheKey{ids[i], f.SourceField}, cached{until: negUntil})
				}
				continue
			}
			v, cerr := registry.ToValue(f.Type, f.Container, raw)
			if cerr != nil {
				errs[i*nf+j] = &store.BackendError{Backend: c.backend, Op: c.op(),
					Err: fmt.Errorf("the value of %s for id %s is not a %s %s: %v", f.SourceField, ids[i], f.Container, f.Type, cerr)}
				continue
			}
			vals[i*nf+j] = v
			if useCache && c.svc.HTTP.CacheTTL > 0 {
				c.cache.Set(cacheKey{ids[i], f.SourceField}, cached{v: v, until: until})
			}
		}
	}
}

// batchRequest is the body of a batch call (docs/on-demand.md).
type batchRequest struct {
	Entity   string   `json:"entity"`
	IDs      []any    `json:"ids"`
	Features []string `json:"features"`
	AsOf     string   `json:"asOf,omitempty"`
}

// call makes one call for the ids of chunk and returns the answers by id and field.
func (c *Client) call(ctx context.Context, e *registry.Entity, features []*registry.Feature, ids []string, chunk []int, asOf int64) (map[string]map[string]any, error) {
	if err := c.br.allow(); err != nil {
		return nil, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.svc.HTTP.Timeout)
	defer cancel()
	start := time.Now()
	answers, err := c.roundTrip(ctx, e, features, ids, chunk, asOf)
	switch {
	case err == nil:
	case parent.Err() != nil:
		// The request ended (its deadline, the client gone): not the service's failure.
		err = parent.Err()
		c.cfg.Observer.BackendCall(c.backend, c.op(), len(chunk), time.Since(start), err)
		c.br.release()
		return nil, err
	case ctx.Err() != nil:
		err = fmt.Errorf("no answer within the service's timeout (%s)", c.svc.HTTP.Timeout)
	}
	c.cfg.Observer.BackendCall(c.backend, c.op(), len(chunk), time.Since(start), err)
	c.br.done(err)
	return answers, err
}

func (c *Client) roundTrip(ctx context.Context, e *registry.Entity, features []*registry.Feature, ids []string, chunk []int, asOf int64) (map[string]map[string]any, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	h := c.svc.HTTP
	var req *http.Request
	var err error
	if h.PerID() {
		u := strings.ReplaceAll(h.URL, "{id}", url.PathEscape(ids[chunk[0]]))
		req, err = http.NewRequestWithContext(ctx, h.Method, u, nil)
	} else {
		body := batchRequest{Entity: e.Name, IDs: make([]any, len(chunk))}
		for k, i := range chunk {
			if e.IDType == registry.Int {
				n, _ := strconv.ParseInt(ids[i], 10, 64)
				body.IDs[k] = n
			} else {
				body.IDs[k] = ids[i]
			}
		}
		for _, f := range features {
			body.Features = append(body.Features, f.SourceField)
		}
		if asOf != 0 {
			body.AsOf = time.UnixMilli(asOf).UTC().Format(time.RFC3339Nano)
		}
		b, _ := json.Marshal(body)
		req, err = http.NewRequestWithContext(ctx, h.Method, h.URL, bytes.NewReader(b))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return nil, err
	}
	for k, v := range c.headers {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if h.PerID() && res.StatusCode == http.StatusNotFound {
		io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
		return map[string]map[string]any{}, nil // no value for this id
	}
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
		return nil, fmt.Errorf("HTTP %s", res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, h.MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if int64(len(body)) > h.MaxResponseBytes {
		return nil, fmt.Errorf("the answer is larger than maxResponseBytes (%d bytes)", h.MaxResponseBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if h.PerID() {
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			return nil, fmt.Errorf("the answer is not a JSON object of feature values: %v", err)
		}
		return map[string]map[string]any{ids[chunk[0]]: row}, nil
	}
	var out struct {
		Results map[string]map[string]any `json:"results"`
	}
	if err := dec.Decode(&out); err != nil || out.Results == nil {
		if err == nil {
			err = errors.New(`no "results" object`)
		}
		return nil, fmt.Errorf(`the answer is not {"results": {id: {feature: value}}}: %v`, err)
	}
	return out.Results, nil
}
