// Package memory is an in-process store with the same semantics as the Redis + DynamoDB pair:
// static values guarded by event time, action series with sorted-set semantics (a repeated
// member keeps its newest time), maxCount trimming and TTL. It backs the embedded default
// (`go run .` with no store flags) and fast unit tests; it keeps nothing across restarts.
package memory

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// Store is the in-memory backend. The zero value is not usable; call New.
type Store struct {
	mu      sync.RWMutex
	static  map[string]*staticTable // by key prefix (static.go)
	actions map[store.Key]*series
	history map[store.Key]*eventLog // every event ever written, for point-in-time reads (history.go)
	statics map[store.Key][]version // versions of statics that keep history (history.go)
	now     func() time.Time
}

var _ store.Store = (*Store)(nil)

// series is one action feature of one entity, newest first.
type series struct {
	events   []store.ActionEvent // sorted by TS descending, then member descending (as ZRANGE REV)
	expireAt int64               // Unix seconds; 0 = never
}

// New returns an empty store.
func New() *Store {
	return &Store{
		static:  make(map[string]*staticTable),
		actions: make(map[store.Key]*series),
		history: make(map[store.Key]*eventLog),
		statics: make(map[store.Key][]version),
		now:     time.Now,
	}
}

// SetClock replaces the clock used for key expiry (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// ReadStatic implements store.StaticReader.
func (s *Store) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	if err := ctx.Err(); err != nil {
		return &store.BackendError{Backend: "memory", Op: "read static", Err: err}
	}
	if err := q.Check(out); err != nil {
		return &store.BackendError{Backend: "memory", Op: "read static", Err: err}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.static[q.Prefix]
	if t == nil {
		t = &noStatics
	}
	var colsBuf [64]int32
	cols := colsBuf[:0]
	for _, f := range q.Features {
		c, ok := t.cols[f]
		if !ok {
			c = -1
		}
		cols = append(cols, c)
	}
	nf := len(q.Features)
	for e, id := range q.IDs {
		if e > 0 && (e*nf)/checkEvery != ((e-1)*nf)/checkEvery { // about every checkEvery keys
			if err := ctx.Err(); err != nil {
				return &store.BackendError{Backend: "memory", Op: "read static", Err: err}
			}
		}
		dst := out[e*nf : (e+1)*nf]
		r, ok := t.rows[id]
		if !ok {
			clear(dst) // the zero StaticValue is Absent
			continue
		}
		row := t.vals[r]
		for j, c := range cols {
			dst[j] = t.get(t.cell(row, c))
		}
	}
	return nil
}

// checkEvery is how many keys (static) or queries (actions) a read handles between two looks at
// its context: like a real backend, a read stops when its request's context ends, but checking
// each key would cost more than the lookup.
const checkEvery = 256

// ReadActions implements store.ActionReader.
func (s *Store) ReadActions(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, &store.BackendError{Backend: "memory", Op: "read actions", Err: err}
	}
	nowSec := s.now().Unix()
	out := make(map[store.ActionQuery][]store.ActionEvent, len(queries))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, q := range queries {
		if i&(checkEvery-1) == checkEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, &store.BackendError{Backend: "memory", Op: "read actions", Err: err}
			}
		}
		if q.MaxTS > 0 {
			out[q] = s.pointInTime(q, nowSec)
			continue
		}
		sr := s.actions[q.Key]
		if sr == nil || (sr.expireAt != 0 && sr.expireAt <= nowSec) || q.Count <= 0 {
			out[q] = nil
			continue
		}
		n := q.Count
		if q.Filter != nil {
			n = len(sr.events) // the filter picks among the whole series
		}
		var evs []store.ActionEvent
		for _, e := range sr.events {
			if e.TS < q.MinTS || len(evs) == n {
				break
			}
			evs = append(evs, e)
		}
		if q.Filter != nil {
			evs = q.Filter.Apply(evs, q.Count)
		}
		out[q] = evs
	}
	return out, nil
}

// WriteStatic implements store.StaticWriter.
func (s *Store) WriteStatic(ctx context.Context, writes []store.StaticWrite) error {
	if err := ctx.Err(); err != nil {
		return &store.BackendError{Backend: "memory", Op: "write static", Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range writes {
		if w.Value.Kind == store.Absent {
			continue // never written (StaticWrite says so); storing it would read as absent anyway
		}
		t := s.static[w.Key.Prefix]
		if t == nil {
			t = newStaticTable()
			s.static[strings.Clone(w.Key.Prefix)] = t
		}
		t.put(w)
	}
	s.keepVersions(writes)
	return nil
}

// WriteActions implements store.ActionWriter.
func (s *Store) WriteActions(ctx context.Context, writes []store.ActionWrite) error {
	if err := ctx.Err(); err != nil {
		return &store.BackendError{Backend: "memory", Op: "write actions", Err: err}
	}
	nowSec := s.now().Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range writes {
		sr := s.actions[w.Key]
		if sr == nil || (sr.expireAt != 0 && sr.expireAt <= nowSec) {
			sr = &series{}
			s.actions[w.Key] = sr
		}
		sr.add(w)
		s.logEvent(w)
	}
	return nil
}

// add applies ZADD GT + ZREMRANGEBYRANK + EXPIREAT NX/GT, as the Redis backend does.
func (sr *series) add(w store.ActionWrite) {
	found := false
	for i, e := range sr.events {
		if e.Member == w.Member {
			found = true
			if w.TS > e.TS {
				sr.events[i].TS = w.TS
			}
			break
		}
	}
	if !found {
		sr.events = append(sr.events, store.ActionEvent{TS: w.TS, Member: w.Member})
	}
	sort.Slice(sr.events, func(i, j int) bool {
		a, b := sr.events[i], sr.events[j]
		if a.TS != b.TS {
			return a.TS > b.TS
		}
		return a.Member > b.Member // ZRANGE ... REV orders equal scores by member descending
	})
	if w.MaxCount > 0 && len(sr.events) > w.MaxCount {
		sr.events = sr.events[:w.MaxCount]
	}
	if exp := w.ExpireAt(); exp > sr.expireAt {
		sr.expireAt = exp
	}
}

// Ping implements store.Pinger.
func (s *Store) Ping(context.Context) error { return nil }

// Close implements store.Store.
func (s *Store) Close() error { return nil }
