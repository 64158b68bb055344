package tiered

import (
	"context"
	"sync"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// DynamoDB is the commit point of a write. When the Redis update that follows fails, the write
// still succeeds (ingestion is not held up, and in a Cluster the healthy shards are not either):
// the series it touched are marked stale, reads of them in this process skip Redis and are
// answered from DynamoDB, and in the background the stale series are dropped from Redis —
// retried with backoff on their own, without blocking other writes — so that their next read
// refills them whole from DynamoDB. Until the drop succeeds other gateway processes may read a
// stale series from Redis (missing the events whose Redis update failed).
//
// At most maxStale series are tracked; beyond that the write returns the Redis error, as before,
// and ingestion retries it.
const maxStale = 100_000

type staleSet struct {
	mu      sync.Mutex
	keys    map[store.Key]struct{}
	running bool
}

// has reports whether k is stale.
func (p *staleSet) has(k store.Key) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.keys[k]
	return ok
}

func (p *staleSet) empty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.keys) == 0
}

// markStale records keys whose Redis update failed and starts the background drop; false means
// the set is full (the caller reports the error).
func (s *Store) markStale(keys []store.Key) bool {
	p := &s.stale
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.keys)+len(keys) > maxStale {
		return false
	}
	if p.keys == nil {
		p.keys = map[store.Key]struct{}{}
	}
	for _, k := range keys {
		p.keys[k] = struct{}{}
	}
	if !p.running {
		p.running = true
		s.bg.Add(1)
		go s.dropStale()
	}
	return true
}

// dropStale deletes the stale series from Redis until none is left or the store closes.
func (s *Store) dropStale() {
	defer s.bg.Done()
	delay := 20 * time.Millisecond
	for {
		select {
		case <-s.closing:
			s.stale.mu.Lock()
			s.stale.running = false
			s.stale.mu.Unlock()
			return
		case <-time.After(delay):
		}
		s.stale.mu.Lock()
		keys := make([]store.Key, 0, len(s.stale.keys))
		for k := range s.stale.keys {
			keys = append(keys, k)
			if len(keys) == 1000 {
				break
			}
		}
		s.stale.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RefillTimeout)
		start := time.Now()
		err := s.cache.EndRefill(ctx, keys, true)
		cancel()
		s.cfg.Observer.BackendCall(observerName, "drop stale", len(keys), time.Since(start), err)
		if err != nil {
			delay = min(2*delay, 2*time.Second)
			continue
		}
		delay = 20 * time.Millisecond
		s.stale.mu.Lock()
		for _, k := range keys {
			delete(s.stale.keys, k)
		}
		done := len(s.stale.keys) == 0
		if done {
			s.stale.running = false
		}
		s.stale.mu.Unlock()
		if done {
			return
		}
	}
}

// splitStale moves the queries of stale series out of queries (they are read from DynamoDB).
func (s *Store) splitStale(queries []store.ActionQuery) (fresh, stale []store.ActionQuery) {
	if s.stale.empty() {
		return queries, nil
	}
	fresh = make([]store.ActionQuery, 0, len(queries))
	for _, q := range queries {
		if s.stale.has(q.Key) {
			stale = append(stale, q)
		} else {
			fresh = append(fresh, q)
		}
	}
	return fresh, stale
}

// StaleSeries is how many series wait to be dropped from Redis (for tests and metrics).
func (s *Store) StaleSeries() int {
	s.stale.mu.Lock()
	defer s.stale.mu.Unlock()
	return len(s.stale.keys)
}

// Redis replicates asynchronously: when a Cluster master dies, the writes it acknowledged but had
// not yet sent to its replica are lost with it, and the promoted replica serves those series
// without them. So when a Redis write fails, the series written in the last recentWindow are
// marked stale too (dropped from Redis once it answers, refilled from DynamoDB), not only the
// series of the failed write.
const (
	recentWindow = 10 * time.Second
	maxRecent    = 50_000
)

type recentWrites struct {
	mu      sync.Mutex
	entries []recentWrite // oldest first
}

type recentWrite struct {
	key store.Key
	at  int64 // Unix ns
}

// wrote records keys written to Redis at now.
func (r *recentWrites) wrote(keys []store.Key, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
	if len(r.entries)+len(keys) > maxRecent {
		drop := min(len(r.entries), len(r.entries)+len(keys)-maxRecent)
		r.entries = append(r.entries[:0], r.entries[drop:]...)
	}
	at := now.UnixNano()
	for _, k := range keys {
		r.entries = append(r.entries, recentWrite{k, at})
	}
}

// since returns the keys written within the window.
func (r *recentWrites) since(now time.Time) []store.Key {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
	seen := make(map[store.Key]bool, len(r.entries))
	var out []store.Key
	for _, e := range r.entries {
		if !seen[e.key] {
			seen[e.key] = true
			out = append(out, e.key)
		}
	}
	return out
}

func (r *recentWrites) pruneLocked(now time.Time) {
	cut := now.Add(-recentWindow).UnixNano()
	i := 0
	for i < len(r.entries) && r.entries[i].at < cut {
		i++
	}
	if i > 0 {
		r.entries = append(r.entries[:0], r.entries[i:]...)
	}
}
