package tiered

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// ReadStatic implements store.StaticReader: the in-process cache (when on), then Redis (one
// HMGET per entity, one pipeline), then DynamoDB for what Redis does not know; what DynamoDB
// answers refills Redis in the background, absences as negative entries. A Redis failure sends
// the read to DynamoDB; a caller whose context is done gets its context's error, and DynamoDB
// is not asked. Features pending after a failed Redis write (pending.go) skip the in-process
// cache and Redis: they are read from DynamoDB, and neither cache is filled with them.
func (s *Store) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	if err := q.Check(out); err != nil {
		return err
	}
	if len(out) == 0 {
		return nil
	}
	start := time.Now()
	nf := len(q.Features)
	pend := s.staticPending.in(len(out), q.Key) // nil: none is pending
	pending := func(i int) bool { return pend != nil && pend[i] }
	// need[i] says out[i] is still unanswered; nil: every one is.
	var need []bool
	var epochs []uint64 // of the in-process cache, per entity, taken before the backends are asked
	if s.static != nil {
		need = make([]bool, len(out))
		epochs = make([]uint64, len(q.IDs))
		nowNs := s.now().UnixNano()
		hits := 0
		for e, id := range q.IDs {
			epochs[e] = s.static.epoch(q.Prefix, id)
			ent := s.static.get(q.Prefix, id)
			for j, f := range q.Features {
				i := e*nf + j
				if pending(i) {
					need[i] = true
				} else if v, ok := ent.value(j, f, nowNs); ok {
					out[i] = v
					hits++
				} else {
					need[i] = true
				}
			}
		}
		store.ReportCache(s.cfg.Observer, "static", hits, len(out)-hits)
		if hits == len(out) {
			return nil
		}
	}
	needs := func(i int) bool { return need == nil || need[i] }

	// Redis, for the entities with anything left to answer that is not pending.
	sub, subOut, subAt := q, out, []int(nil) // subAt[e] is the entity of q behind entity e of sub
	if need != nil || pend != nil {
		var ids []string
		for e := range q.IDs {
			for j := range nf {
				if i := e*nf + j; needs(i) && !pending(i) {
					ids = append(ids, q.IDs[e])
					subAt = append(subAt, e)
					break
				}
			}
		}
		if len(ids) < len(q.IDs) {
			sub = store.StaticQuery{Prefix: q.Prefix, IDs: ids, Features: q.Features}
			subOut = make([]store.StaticValue, sub.Len())
		} else {
			subAt = nil
		}
	}
	toOut := func(i int) int { // index in out of answer i of sub
		if subAt == nil {
			return i
		}
		return subAt[i/nf]*nf + i%nf
	}
	var missing []int // indexes of out for DynamoDB
	redisOK := false
	if len(sub.IDs) > 0 && s.redisUsable() {
		rctx, cancel := s.redisContext(ctx)
		miss, err := s.cache.ReadStaticCached(rctx, sub, subOut, nil)
		switch {
		case err == nil:
			s.redisWorked()
			redisOK = true
			mi := 0 // miss is ascending
			for i := range subOut {
				o := toOut(i)
				isMiss := mi < len(miss) && miss[mi] == i
				if isMiss {
					mi++
				}
				if !needs(o) || pending(o) {
					continue
				}
				if isMiss {
					missing = append(missing, o)
					continue
				}
				if subAt != nil {
					out[o] = subOut[i]
				}
			}
			store.ReportCache(s.cfg.Observer, "static_redis", sub.Len()-len(miss), len(miss))
		case ctx.Err() != nil:
			cancel()
			return s.cancelled(ctx, start, len(out))
		default:
			s.redisReadFailed(ctx, rctx, err)
		}
		cancel()
	}
	if !redisOK {
		for i := range out {
			if needs(i) {
				missing = append(missing, i)
			}
		}
	} else {
		for i, p := range pend {
			if p {
				missing = append(missing, i)
			}
		}
	}
	if len(missing) > 0 {
		if err := s.readSource(ctx, start, q, out, missing, redisOK, pend); err != nil {
			return err
		}
	}
	if s.static != nil {
		for e, id := range q.IDs {
			row := e * nf
			s.static.put(q.Prefix, id, epochs[e], q.Features, out[row:row+nf], func(j int) bool { return need[row+j] && !pending(row+j) })
		}
	}
	return nil
}

// readSource answers out[i] for i in missing from DynamoDB and, when Redis answered the rest
// (refill), refills Redis with what DynamoDB holds for the keys not pending: values, and
// negative entries for absences.
func (s *Store) readSource(ctx context.Context, start time.Time, q store.StaticQuery, out []store.StaticValue, missing []int, refill bool, pend []bool) error {
	if ctx.Err() != nil {
		return s.cancelled(ctx, start, len(out))
	}
	keys := make([]store.Key, len(missing))
	for n, i := range missing {
		keys[n] = q.Key(i)
	}
	vals := make([]store.StaticValue, len(keys))
	fstart := time.Now()
	err := s.dynamoRead(ctx, "static fallback", func(ctx context.Context) error { return s.source.ReadStaticKeys(ctx, keys, vals) })
	if err != nil && ctx.Err() != nil {
		return s.cancelled(ctx, start, len(out))
	}
	s.cfg.Observer.BackendCall(observerName, "static fallback", len(keys), time.Since(fstart), err)
	if err != nil {
		return err
	}
	var fills []store.StaticWrite
	var absent []store.Key
	for n, i := range missing {
		out[i] = vals[n]
		switch {
		case pend != nil && pend[i]:
			// the background loop writes it through (pending.go)
		case vals[n].Kind == store.Absent:
			absent = append(absent, keys[n])
		default:
			fills = append(fills, store.StaticWrite{Key: keys[n], Value: vals[n].Value, TS: vals[n].TS})
		}
	}
	if refill {
		s.refillStatic(fills, absent)
	}
	return nil
}

// refillStatic writes what DynamoDB answered into Redis in the background (skipped when every
// background slot is busy: a later read tries again). The script never lets these values win
// over newer ones ingestion wrote meanwhile, and a negative entry never replaces a value.
func (s *Store) refillStatic(fills []store.StaticWrite, absent []store.Key) {
	var until int64
	if s.cfg.StaticNegativeTTL > 0 {
		until = s.now().Add(jitter(s.cfg.StaticNegativeTTL)).UnixMilli()
	} else {
		absent = nil
	}
	if len(fills)+len(absent) == 0 {
		return
	}
	s.backgroundIn(s.staticSlots, func(ctx context.Context) {
		start := time.Now()
		err := s.cache.FillStatic(ctx, fills, absent, until)
		s.cfg.Observer.BackendCall(observerName, "static refill", len(fills)+len(absent), time.Since(start), err)
		if err != nil {
			s.redisFailed(ctx, err)
		}
	})
}

// jitter returns d ± 10%, so entries written together do not all expire together.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}

// cancelled reports a read abandoned by its caller, and returns the caller's context error
// (not a backend error: no backend failed).
func (s *Store) cancelled(ctx context.Context, start time.Time, n int) error {
	err := context.Cause(ctx)
	s.cfg.Observer.BackendCall(observerName, "read static", n, time.Since(start), err)
	return err
}

// WriteStatic implements store.StaticWriter: DynamoDB first, then Redis (written through,
// order-safe), then the in-process cache forgets the written keys. DynamoDB is the commit
// point: when the Redis write fails the keys are marked pending and the write succeeds; this
// process reads them from DynamoDB and writes them through to Redis in the background
// (pending.go). Only when the pending set is full (or the caller's context is done) is the
// Redis error returned, so ingestion retries (writes are idempotent).
func (s *Store) WriteStatic(ctx context.Context, writes []store.StaticWrite) error {
	if len(writes) == 0 {
		return nil
	}
	if err := s.source.WriteStatic(ctx, writes); err != nil {
		return err
	}
	marks := make([]mark, len(writes))
	for i, w := range writes {
		marks[i] = mark{key: w.Key, ts: w.TS}
	}
	err := s.redisWrite(ctx, func(ctx context.Context) error { return s.cache.WriteStatic(ctx, writes) })
	if err != nil {
		// Marked even when the caller gave up (it may not retry).
		if s.markPending(nil, marks) && ctx.Err() == nil {
			err = nil // stored in DynamoDB, the commit point; Redis catches up (pending.go)
		}
	} else {
		s.recentStatic.wrote(marks, s.now())
	}
	if s.static != nil {
		keys := make([]store.Key, len(writes))
		for i, w := range writes {
			keys[i] = w.Key
		}
		s.static.forget(keys)
	}
	return err
}
