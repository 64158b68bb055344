package tiered

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// DynamoDB is the commit point of a write. When the Redis update that follows fails, the write
// still succeeds (ingestion is not held up, and in a Cluster the healthy shards are not either):
// what it touched is marked pending, reads of it in this process skip Redis and are answered
// from DynamoDB (without refilling Redis), and in the background Redis is brought up to date —
// retried with backoff on its own, without blocking other writes:
//
//   - Action series are dropped from Redis (stale set), so that their next read refills them
//     whole from DynamoDB. Until the drop succeeds other gateway processes may read a stale
//     series from Redis (missing the events whose Redis update failed).
//   - Static features (pending statics) are re-read from DynamoDB and written through to Redis
//     with the order-safe script: a newer value written meanwhile is never undone (a drop and
//     refill would let an older concurrent refill land). Until that succeeds other gateway
//     processes may read the previous value from Redis (never an older one than it held). A
//     key is done once DynamoDB answers it with an event at least as new as the newest one
//     written (reads are eventually consistent by default and may lag the write for a moment);
//     a key DynamoDB still answers older or absent after pendingPatience is written as
//     DynamoDB has it (nothing, when absent: the gateway never deletes statics, so only a change
//     made outside it can cause that) and dropped from the set.
//
// Every mark bumps the key's generation, and the loop removes a key only when it was not marked
// again since the loop took it: a write that failed while the loop was working on its key is
// not forgotten.
//
// At most maxStale series and maxPendingStatic static features are tracked; beyond that the
// write returns the Redis error, as before, and ingestion retries it. The sets are in memory:
// a process that exits while Redis is down leaves its pending keys stale in Redis.
const (
	maxStale         = 100_000
	maxPendingStatic = 100_000
	pendingPatience  = time.Minute
	pendingBatch     = 1000
	pendingMinDelay  = 20 * time.Millisecond
	pendingMaxDelay  = 2 * time.Second
)

// mark is a key to mark pending and, for a static feature, the event time written (Redis must
// reach at least that).
type mark struct {
	key store.Key
	ts  int64
}

// pendingSet is a bounded set of keys whose Redis copy may be behind DynamoDB, worked off by one
// background loop at a time.
type pendingSet struct {
	mu      sync.Mutex
	keys    map[store.Key]pendingEntry
	gen     uint64
	running bool
	size    atomic.Int64 // len(keys), for the lock-free check of every read
}

type pendingEntry struct {
	gen uint64
	ts  int64 // newest event time marked (statics)
	at  int64 // Unix ns of the last mark
}

// pendingKey is a key as the loop took it.
type pendingKey struct {
	key store.Key
	pendingEntry
}

func (p *pendingSet) len() int { return int(p.size.Load()) }

// in returns which of the n keys keyOf(i) are pending; nil when none is.
func (p *pendingSet) in(n int, keyOf func(int) store.Key) []bool {
	if p.len() == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []bool
	for i := range n {
		if _, ok := p.keys[keyOf(i)]; ok {
			if out == nil {
				out = make([]bool, n)
			}
			out[i] = true
		}
	}
	return out
}

// mark adds marks (at most limit keys in all; false: full, nothing added) and reports whether
// the caller must start the loop.
func (p *pendingSet) mark(marks []mark, limit int, now int64) (ok, start bool) {
	if len(marks) == 0 {
		return true, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	added := 0
	for _, m := range marks {
		if _, ok := p.keys[m.key]; !ok {
			added++ // a key twice in marks is counted twice: the bound stays conservative
		}
	}
	if len(p.keys)+added > limit {
		return false, false
	}
	if p.keys == nil {
		p.keys = map[store.Key]pendingEntry{}
	}
	p.gen++
	for _, m := range marks {
		e := p.keys[m.key]
		e.gen, e.at, e.ts = p.gen, now, max(e.ts, m.ts)
		p.keys[m.key] = e
	}
	p.size.Store(int64(len(p.keys)))
	start = !p.running
	p.running = true
	return true, start
}

// take returns up to n pending keys.
func (p *pendingSet) take(n int) []pendingKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]pendingKey, 0, min(n, len(p.keys)))
	for k, e := range p.keys {
		out = append(out, pendingKey{k, e})
		if len(out) == n {
			break
		}
	}
	return out
}

// done removes the keys the loop brought up to date, unless they were marked again since it
// took them; finished is true (and the loop must stop) when none is left.
func (p *pendingSet) done(keys []pendingKey) (finished bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range keys {
		if e, ok := p.keys[d.key]; ok && e.gen == d.gen {
			delete(p.keys, d.key)
		}
	}
	p.size.Store(int64(len(p.keys)))
	if len(p.keys) == 0 {
		p.running = false
		return true
	}
	return false
}

func (p *pendingSet) stop() {
	p.mu.Lock()
	p.running = false
	p.mu.Unlock()
}

// markPending marks what a failed Redis write may have left behind in Redis: the series and
// static features it wrote, and, best effort, everything written to Redis in the last
// recentWindow (a failover loses the writes the dead master had not replicated, of either
// kind). It starts the background loops and makes the in-process cache forget the statics.
// false: the write's own keys did not fit in their set (nothing of them is marked), and the
// caller returns the error. The recent keys are marked only where they fit, after the write's
// own, so that they never crowd those out.
func (s *Store) markPending(series, statics []mark) bool {
	now := s.now()
	ok1 := s.markIn(&s.stale, series, maxStale, now, "drop stale", s.dropStale)
	ok2 := s.markIn(&s.staticPending, statics, maxPendingStatic, now, "sync static", s.syncStatic)
	s.markIn(&s.stale, s.recentSeries.since(now), maxStale, now, "drop stale", s.dropStale)
	s.markIn(&s.staticPending, s.recentStatic.since(now), maxPendingStatic, now, "sync static", s.syncStatic)
	return ok1 && ok2
}

// markIn marks marks in p (all or none, within limit), starts its loop when it is not running,
// and for static features makes the in-process cache forget them.
func (s *Store) markIn(p *pendingSet, marks []mark, limit int, now time.Time, op string, flush func(ctx context.Context, batch []pendingKey) ([]pendingKey, error)) bool {
	ok, start := p.mark(marks, limit, now.UnixNano())
	if start {
		s.startLoop(p, op, flush)
	}
	if ok && p == &s.staticPending {
		s.forgetStatic(marks)
	}
	return ok
}

// forgetStatic drops marks' keys from the in-process cache (when it is on).
func (s *Store) forgetStatic(marks []mark) {
	if s.static == nil || len(marks) == 0 {
		return
	}
	keys := make([]store.Key, len(marks))
	for i, m := range marks {
		keys[i] = m.key
	}
	s.static.forget(keys)
}

// startLoop runs the loop of p, unless the store is closing.
func (s *Store) startLoop(p *pendingSet, op string, flush func(ctx context.Context, batch []pendingKey) ([]pendingKey, error)) {
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	select {
	case <-s.closing:
		p.stop()
		return
	default:
	}
	s.loops.Add(1)
	go s.workOff(p, op, flush)
}

// workOff brings the keys of p up to date in Redis, pendingBatch at a time, until none is left
// or the store closes; flush returns the keys it brought up to date. A failed round, or one
// that brought none up to date, backs off (20 ms doubling to 2 s).
func (s *Store) workOff(p *pendingSet, op string, flush func(ctx context.Context, batch []pendingKey) ([]pendingKey, error)) {
	defer s.loops.Done()
	delay := pendingMinDelay
	for {
		closing := false
		select {
		case <-s.closing:
			closing = true
		case <-time.After(delay):
		}
		if closing {
			// One last round, bounded: Redis may be back while the loop waited out its
			// back-off, and what is left pending when the process exits stays stale in Redis.
			s.lastRound(p, op, flush)
			p.stop()
			return
		}
		batch := p.take(pendingBatch)
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RefillTimeout)
		start := time.Now()
		done, err := flush(ctx, batch)
		cancel()
		s.cfg.Observer.BackendCall(observerName, op, len(batch), time.Since(start), err)
		if err != nil || len(done) == 0 {
			delay = min(2*delay, pendingMaxDelay)
		} else {
			delay = pendingMinDelay
		}
		if err == nil && p.done(done) {
			return
		}
	}
}

// lastRound is the loop's round at Close: the pending keys, pendingBatch at a time, within
// closeBudget in all, stopping at the first failure.
func (s *Store) lastRound(p *pendingSet, op string, flush func(ctx context.Context, batch []pendingKey) ([]pendingKey, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), min(s.cfg.RefillTimeout, closeBudget))
	defer cancel()
	for ctx.Err() == nil {
		batch := p.take(pendingBatch)
		if len(batch) == 0 {
			return
		}
		start := time.Now()
		done, err := flush(ctx, batch)
		s.cfg.Observer.BackendCall(observerName, op, len(batch), time.Since(start), err)
		if err != nil || len(done) == 0 || p.done(done) {
			return
		}
	}
}

// closeBudget bounds the last round of the pending loops at Close.
const closeBudget = 2 * time.Second

// dropStale deletes stale series from Redis.
func (s *Store) dropStale(ctx context.Context, batch []pendingKey) ([]pendingKey, error) {
	keys := make([]store.Key, len(batch))
	for i, b := range batch {
		keys[i] = b.key
	}
	if err := s.cache.EndRefill(ctx, keys, true); err != nil {
		return nil, err
	}
	return batch, nil
}

// syncStatic writes the values DynamoDB holds for pending static features through to Redis
// (order-safe), and returns those now up to date: DynamoDB answered an event at least as new as
// the newest marked, or it has been pendingPatience.
func (s *Store) syncStatic(ctx context.Context, batch []pendingKey) ([]pendingKey, error) {
	keys := make([]store.Key, len(batch))
	for i, b := range batch {
		keys[i] = b.key
	}
	vals := make([]store.StaticValue, len(keys))
	if err := s.source.ReadStaticKeys(ctx, keys, vals); err != nil {
		return nil, err
	}
	var writes []store.StaticWrite
	var done []pendingKey
	now := s.now().UnixNano()
	for i, b := range batch {
		v := vals[i]
		if v.Kind != store.Absent {
			writes = append(writes, store.StaticWrite{Key: keys[i], Value: v.Value, TS: v.TS})
		}
		if v.Kind != store.Absent && v.TS >= b.ts || now-b.at > int64(pendingPatience) {
			done = append(done, b)
		}
	}
	if err := s.cache.WriteStatic(ctx, writes); err != nil {
		return nil, err
	}
	// A read that did not see these keys pending (it began before they were marked) may have
	// put Redis's older value into the in-process cache since: forget it now that Redis is
	// up to date.
	marks := make([]mark, len(done))
	for i, d := range done {
		marks[i] = mark{key: d.key}
	}
	s.forgetStatic(marks)
	return done, nil
}

// splitStale moves the queries of stale series out of queries (they are read from DynamoDB).
func (s *Store) splitStale(queries []store.ActionQuery) (fresh, stale []store.ActionQuery) {
	pend := s.stale.in(len(queries), func(i int) store.Key { return queries[i].Key })
	if pend == nil {
		return queries, nil
	}
	fresh = make([]store.ActionQuery, 0, len(queries))
	for i, q := range queries {
		if pend[i] {
			stale = append(stale, q)
		} else {
			fresh = append(fresh, q)
		}
	}
	return fresh, stale
}

// StaleSeries is how many action series wait to be dropped from Redis (for tests and metrics).
func (s *Store) StaleSeries() int { return s.stale.len() }

// PendingStatics is how many static features wait to be written through to Redis (for tests
// and metrics).
func (s *Store) PendingStatics() int { return s.staticPending.len() }

// Redis replicates asynchronously: when a Cluster master dies, the writes it acknowledged but had
// not yet sent to its replica are lost with it, and the promoted replica serves those keys
// without them. So when a Redis write fails, the series and static features written in the last
// recentWindow are marked pending too, not only the keys of the failed write.
const (
	recentWindow = 10 * time.Second
	maxRecent    = 50_000
)

type recentWrites struct {
	mu      sync.Mutex
	entries []recentWrite // oldest first
}

type recentWrite struct {
	mark
	at int64 // Unix ns
}

// wrote records marks written to Redis at now; beyond maxRecent the oldest are forgotten.
func (r *recentWrites) wrote(marks []mark, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
	if len(r.entries)+len(marks) > maxRecent {
		drop := min(len(r.entries), len(r.entries)+len(marks)-maxRecent)
		r.entries = append(r.entries[:0], r.entries[drop:]...)
	}
	at := now.UnixNano()
	for _, m := range marks[max(0, len(marks)-maxRecent):] {
		r.entries = append(r.entries, recentWrite{m, at})
	}
}

// since returns the keys written within the window, each with the newest event time written.
func (r *recentWrites) since(now time.Time) []mark {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
	at := make(map[store.Key]int, len(r.entries))
	var out []mark
	for _, e := range r.entries {
		if i, seen := at[e.key]; seen {
			out[i].ts = max(out[i].ts, e.ts)
			continue
		}
		at[e.key] = len(out)
		out = append(out, e.mark)
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
