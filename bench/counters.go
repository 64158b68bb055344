package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// countingReader counts the store calls the serving path makes.
type countingReader struct {
	r                                                   store.Reader
	staticCalls, actionCalls, staticKeys, actionQueries atomic.Int64
}

var (
	_ store.Reader              = (*countingReader)(nil)
	_ store.StaticHistoryReader = (*countingReader)(nil)
)

func (c *countingReader) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	c.staticCalls.Add(1)
	c.staticKeys.Add(int64(q.Len()))
	return c.r.ReadStatic(ctx, q, out)
}

func (c *countingReader) ReadActions(ctx context.Context, qs []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	c.actionCalls.Add(1)
	c.actionQueries.Add(int64(len(qs)))
	return c.r.ReadActions(ctx, qs)
}

// ReadStaticAsOf counts a point-in-time static read (S6) as a static read.
func (c *countingReader) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	h, ok := store.As[store.StaticHistoryReader](c.r)
	if !ok {
		return nil, store.ErrNoHistory
	}
	c.staticCalls.Add(1)
	c.staticKeys.Add(int64(len(keys)))
	return h.ReadStaticAsOf(ctx, keys, asOf)
}

type readCounts struct{ calls, staticKeys, actionQueries int64 }

func (c *countingReader) snapshot() readCounts {
	return readCounts{
		calls:         c.staticCalls.Load() + c.actionCalls.Load(),
		staticKeys:    c.staticKeys.Load(),
		actionQueries: c.actionQueries.Load(),
	}
}

// countingWriter counts the store write calls of S4 and times each of them.
type countingWriter struct {
	w     store.Writer
	calls atomic.Int64
	mu    sync.Mutex
	lat   []time.Duration
}

var _ store.Writer = (*countingWriter)(nil)

func (c *countingWriter) record(t0 time.Time) {
	d := time.Since(t0)
	c.calls.Add(1)
	c.mu.Lock()
	c.lat = append(c.lat, d)
	c.mu.Unlock()
}

func (c *countingWriter) WriteStatic(ctx context.Context, ws []store.StaticWrite) error {
	defer c.record(time.Now())
	return c.w.WriteStatic(ctx, ws)
}

func (c *countingWriter) WriteActions(ctx context.Context, ws []store.ActionWrite) error {
	defer c.record(time.Now())
	return c.w.WriteActions(ctx, ws)
}

// countingObserver counts backend round trips (Redis pipelines, DynamoDB API calls), the tiered
// store's own work (fallbacks to DynamoDB, refills) and cache outcomes.
type countingObserver struct {
	redis, dynamodb, tiered atomic.Int64
	cacheHits, cacheMisses  atomic.Int64
}

var _ store.Observer = (*countingObserver)(nil)

func (o *countingObserver) BackendCall(backend, _ string, _ int, _ time.Duration, _ error) {
	switch backend {
	case "redis":
		o.redis.Add(1)
	case "dynamodb":
		o.dynamodb.Add(1)
	default:
		o.tiered.Add(1)
	}
}

func (o *countingObserver) Cache(_ string, hit bool) {
	if hit {
		o.cacheHits.Add(1)
	} else {
		o.cacheMisses.Add(1)
	}
}

func (o *countingObserver) total() int64 {
	if o == nil {
		return 0
	}
	return o.redis.Load() + o.dynamodb.Load()
}

func (o *countingObserver) tieredOps() int64 {
	if o == nil {
		return 0
	}
	return o.tiered.Load()
}
