package tiered

import (
	"context"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

const observerName = "tiered"

// ReadActions implements store.ActionReader; the package comment says what happens on a miss
// and on an error.
func (s *Store) ReadActions(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	out := make(map[store.ActionQuery][]store.ActionEvent, len(queries))
	queries, stale := s.splitStale(queries)
	if len(stale) > 0 {
		// Series whose Redis update failed: from DynamoDB, without refill (pending.go).
		if err := s.fallback(ctx, stale, false, out); err != nil {
			return nil, err
		}
	}
	if len(queries) == 0 {
		return out, nil
	}
	fallback := queries
	redisOK := false
	if s.redisUsable() {
		rctx, cancel := s.redisContext(ctx)
		found, missing, err := s.cache.ReadActionsCached(rctx, queries)
		if err == nil {
			s.redisWorked()
			redisOK = true
			for q, evs := range found {
				out[q] = evs
				s.cfg.Observer.Cache("actions", true)
			}
			fallback = missing
		} else {
			s.redisReadFailed(ctx, rctx, err)
		}
		cancel()
	}
	if len(fallback) == 0 {
		return out, nil
	}
	for range fallback {
		s.cfg.Observer.Cache("actions", false)
	}
	if err := s.fallback(ctx, fallback, redisOK, out); err != nil {
		return nil, err
	}
	return out, nil
}

// seriesQuery is what the fallback asks DynamoDB for q: the newest MaxCount events of the key
// (the whole series Redis would hold) when the series is small enough to refill, else q itself.
// A point-in-time query (MaxTS) is always asked as itself: the series of now cannot answer it.
func (s *Store) seriesQuery(q store.ActionQuery) (sq store.ActionQuery, refill bool) {
	if q.MaxTS <= 0 && q.MaxCount > 0 && q.MaxCount <= s.cfg.RefillMaxEvents {
		return store.ActionQuery{Key: q.Key, Count: q.MaxCount, Dedupe: q.Dedupe, MaxCount: q.MaxCount}, true
	}
	return q, false
}

// fallback answers queries from DynamoDB into out, through the negative cache, and starts the
// refill of the series it read when refill is true.
func (s *Store) fallback(ctx context.Context, queries []store.ActionQuery, refill bool, out map[store.ActionQuery][]store.ActionEvent) error {
	now := s.now()
	var series []store.ActionQuery
	bySeries := make(map[store.ActionQuery][]store.ActionQuery)
	refillable := make(map[store.ActionQuery]bool)
	for _, q := range queries {
		if _, done := out[q]; done {
			continue
		}
		if q.Count <= 0 {
			out[q] = nil
			continue
		}
		if s.negative.enabled() {
			hit := s.negative.has(q.Key, now)
			s.cfg.Observer.Cache("negative", hit)
			if hit {
				out[q] = nil
				continue
			}
		}
		sq, whole := s.seriesQuery(q)
		if _, seen := bySeries[sq]; !seen {
			series = append(series, sq)
			refillable[sq] = whole
		}
		bySeries[sq] = append(bySeries[sq], q)
	}
	if len(series) == 0 {
		return nil
	}
	// Mark the series to refill before reading them: an event ingested after the read then still
	// reaches Redis (ingestion writes marked series too) and merges with the refill.
	var marked []store.Key
	if refill {
		for _, sq := range series {
			if refillable[sq] {
				marked = append(marked, sq.Key)
			}
		}
		if err := s.cache.MarkRefill(ctx, marked, s.cfg.RefillTimeout+markerSlack); err != nil {
			s.redisFailed(ctx, err)
			refill, marked = false, nil
		}
	}
	start := time.Now()
	var got map[store.ActionQuery][]store.StoredEvent
	err := s.dynamoRead(ctx, "fallback", func(ctx context.Context) (err error) {
		got, err = s.source.ReadEvents(ctx, series)
		return err
	})
	s.cfg.Observer.BackendCall(observerName, "fallback", len(series), time.Since(start), err)
	if err != nil {
		s.endRefill(marked, true)
		return err
	}
	var refills []store.ActionQuery
	var empty []store.Key
	for _, sq := range series {
		evs := got[sq]
		for _, q := range bySeries[sq] {
			out[q] = answer(evs, q)
		}
		switch {
		case len(evs) == 0 && (refillable[sq] || (sq.MinTS <= 0 && sq.MaxTS <= 0 && sq.Filter == nil)):
			// The key holds no (unexpired) events at all: nothing to refill. An event ingested
			// since the read went to Redis through the marker, and is the whole series.
			if s.negative.enabled() {
				s.negative.add(sq.Key, now)
			}
			if refillable[sq] && refill {
				empty = append(empty, sq.Key)
			}
		case refillable[sq] && refill:
			refills = append(refills, sq)
		}
	}
	s.endRefill(empty, false)
	for _, sq := range refills {
		s.startRefill(sq, got[sq])
	}
	return nil
}

// markerSlack is how much longer than a refill a refill marker lives, covering the DynamoDB read
// that comes before the refill (bounded by the request deadline).
const markerSlack = 10 * time.Second

// endRefill removes refill markers in the background (best effort: a marker left behind
// expires), dropping the series when the refill did not complete.
func (s *Store) endRefill(keys []store.Key, drop bool) {
	if len(keys) == 0 {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RefillTimeout)
		defer cancel()
		if err := s.cache.EndRefill(ctx, keys, drop); err != nil {
			s.redisFailed(ctx, err)
		}
	}()
}

// answer picks q's events out of a newest-first series (the whole series, or q's own answer):
// the newest Count events of the window that match q's filter.
func answer(series []store.StoredEvent, q store.ActionQuery) []store.ActionEvent {
	var out []store.ActionEvent
	for _, e := range series {
		if e.TS < q.MinTS || len(out) == q.Count {
			break
		}
		if q.MaxTS > 0 && e.TS > q.MaxTS || !q.Filter.Match(e.Member) {
			continue
		}
		out = append(out, e.ActionEvent)
	}
	return out
}

// startRefill writes a series read from DynamoDB into Redis in the background, unless a refill
// of the same series is running or every refill slot is busy.
func (s *Store) startRefill(sq store.ActionQuery, evs []store.StoredEvent) {
	if !s.redisUsable() {
		s.endRefill([]store.Key{sq.Key}, true)
		return
	}
	if _, running := s.inflight.LoadOrStore(sq, struct{}{}); running {
		return // that refill merges what it read with what is written meanwhile, and ends the marker
	}
	writes := make([]store.ActionWrite, 0, len(evs))
	for _, e := range evs {
		w := store.ActionWrite{Key: sq.Key, TS: e.TS, Member: e.Member, MaxCount: sq.MaxCount}
		if e.ExpireAt > 0 {
			// ExpireAt() = (TS + TTL in ms) / 1000 gives back exactly e.ExpireAt.
			w.TTL = time.Duration(e.ExpireAt*1000-e.TS) * time.Millisecond
			if w.TTL <= 0 {
				continue // expired meanwhile
			}
		}
		writes = append(writes, w)
	}
	started := s.background(func(ctx context.Context) {
		defer s.inflight.Delete(sq)
		start := time.Now()
		err := s.cache.WriteActions(ctx, writes)
		s.cfg.Observer.BackendCall(observerName, "refill", len(writes), time.Since(start), err)
		if err != nil {
			s.redisFailed(ctx, err)
		}
		if eerr := s.cache.EndRefill(ctx, []store.Key{sq.Key}, err != nil); eerr != nil {
			s.redisFailed(ctx, eerr)
		}
	})
	if !started {
		s.inflight.Delete(sq)
		s.endRefill([]store.Key{sq.Key}, true)
	}
}

// WriteActions implements store.ActionWriter: DynamoDB first, then the keys Redis holds, within
// the Redis write budget (breaker.go redisWrite); when that fails the series are pending.
func (s *Store) WriteActions(ctx context.Context, writes []store.ActionWrite) error {
	if len(writes) == 0 {
		return nil
	}
	if err := s.source.WriteActions(ctx, writes); err != nil {
		return err
	}
	keys := make([]store.Key, len(writes))
	marks := make([]mark, len(writes))
	for i, w := range writes {
		keys[i] = w.Key
		marks[i] = mark{key: w.Key}
	}
	s.negative.forget(keys)
	if err := s.redisWrite(ctx, func(ctx context.Context) error { return s.cache.WriteActionsIfPresent(ctx, writes) }); err != nil {
		// Marked even when the caller gave up (it may not retry). With the context done the
		// error is returned all the same: the caller decides.
		if s.markPending(marks, nil) && ctx.Err() == nil {
			return nil // stored in DynamoDB, the commit point; Redis catches up (pending.go)
		}
		return err
	}
	s.recentSeries.wrote(marks, s.now())
	return nil
}
