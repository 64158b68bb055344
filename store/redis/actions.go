package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/store"
)

// ReadActions implements store.ActionReader. A key Redis does not hold reads as an empty
// series; the tiered store uses ReadActionsCached to tell the two apart.
func (s *Store) ReadActions(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	found, missing, err := s.ReadActionsCached(ctx, queries)
	if err != nil {
		return nil, err
	}
	for _, q := range missing {
		found[q] = nil
	}
	return found, nil
}

// ReadActionsCached answers every query in one pipeline: per query `ZRANGE key +inf MinTS
// BYSCORE REV LIMIT 0 Count WITHSCORES` and `EXISTS key key marker` (the key counted twice, so
// that one reply tells both apart). Queries whose key Redis holds are in found (possibly with no
// events in the window); queries whose key Redis does not hold — never written, expired,
// evicted or flushed, Redis cannot tell which — are in missing and not in found, and so are
// queries of a series being refilled (its refill marker is set, MarkRefill): until the refill
// lands, the key holds only the events written since the marker, not the series. A query with a Filter reads the window up to MaxCount events and filters them here; a
// query with MaxTS (asOf) is answered only when Redis still holds what the series held then
// (pointintime.go), else it is in missing. A query with Count <= 0 is answered empty without touching Redis.
func (s *Store) ReadActionsCached(ctx context.Context, queries []store.ActionQuery) (found map[store.ActionQuery][]store.ActionEvent, missing []store.ActionQuery, err error) {
	type pending struct {
		q      store.ActionQuery
		rng    *goredis.ZSliceCmd
		exists *goredis.IntCmd
		cover  *coverage // asOf queries only
	}
	found = make(map[store.ActionQuery][]store.ActionEvent, len(queries))
	pipe := s.client.Pipeline()
	ps := make([]pending, 0, len(queries))
	seen := make(map[store.ActionQuery]bool, len(queries))
	for _, q := range queries {
		if seen[q] {
			continue
		}
		seen[q] = true
		if q.Count <= 0 {
			found[q] = nil
			continue
		}
		key := q.Key.String()
		ps = append(ps, pending{
			q:      q,
			rng:    pipe.ZRangeArgsWithScores(ctx, rangeArgs(key, q)),
			exists: pipe.Exists(ctx, key, key, refillMarker(key)),
			cover:  queueCoverage(ctx, pipe, key, q),
		})
	}
	if err := s.exec(ctx, "read actions", pipe); err != nil {
		return nil, nil, err
	}
	for _, p := range ps {
		zs := p.rng.Val()
		n := p.exists.Val() // 2 × key exists + marker exists
		if n%2 == 1 || len(zs) == 0 && n == 0 {
			missing = append(missing, p.q)
			continue
		}
		if p.cover != nil && !p.cover.covers(p.q, len(zs)) {
			missing = append(missing, p.q) // Redis no longer holds what the series held then
			continue
		}
		evs := make([]store.ActionEvent, len(zs))
		for i, z := range zs {
			m, _ := z.Member.(string)
			evs[i] = store.ActionEvent{TS: int64(z.Score), Member: m}
		}
		if p.q.Filter != nil {
			evs = p.q.Filter.Apply(evs, p.q.Count)
		}
		found[p.q] = evs
	}
	return found, missing, nil
}

// WriteActions implements store.ActionWriter: all writes in one round trip, each key in one
// MULTI with `ZADD key GT score member…` (an older repeat never moves a member back),
// `ZREMRANGEBYRANK key 0 -(maxCount+1)` and `EXPIREAT key exp NX` + `EXPIREAT key exp GT` (the
// key's expiry is set once and only ever extended). On a Cluster each slot gets its own MULTI.
func (s *Store) WriteActions(ctx context.Context, writes []store.ActionWrite) error {
	groups := groupByKey(writes)
	if len(groups) == 0 {
		return nil
	}
	pipe := s.client.TxPipeline()
	for _, g := range groups {
		pipe.ZAddArgs(ctx, g.key, goredis.ZAddArgs{GT: true, Members: g.members})
		if g.maxCount > 0 {
			pipe.ZRemRangeByRank(ctx, g.key, 0, -int64(g.maxCount)-1)
		}
		if g.expireAt > 0 {
			pipe.Do(ctx, "expireat", g.key, g.expireAt, "nx")
			pipe.Do(ctx, "expireat", g.key, g.expireAt, "gt")
		}
	}
	return s.exec(ctx, "write actions", pipe)
}

// writeIfPresent is WriteActions for one key, done only when the key exists or a refill of it
// is under way (KEYS[2], its marker): an event written during a refill then merges with the
// refilled series (ZADD GT) instead of being lost from it.
var writeIfPresent = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
for i = 3, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'GT', ARGV[i], ARGV[i+1])
end
local maxCount = tonumber(ARGV[1])
if maxCount > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -maxCount-1) end
local exp = tonumber(ARGV[2])
if exp > 0 then
  redis.call('EXPIREAT', KEYS[1], exp, 'NX')
  redis.call('EXPIREAT', KEYS[1], exp, 'GT')
end
return 1
`)

// WriteActionsIfPresent is WriteActions restricted to keys Redis already holds; writes to other
// keys are dropped. The tiered store writes through it so that an evicted or flushed series is
// never recreated holding only the newest events: a missing key is refilled whole from DynamoDB
// on the next read instead. Each key is one script run (atomic), all in one round trip.
func (s *Store) WriteActionsIfPresent(ctx context.Context, writes []store.ActionWrite) error {
	groups := groupByKey(writes)
	if len(groups) == 0 {
		return nil
	}
	pipe := s.client.Pipeline()
	for _, g := range groups {
		args := make([]any, 0, 2+2*len(g.members))
		args = append(args, g.maxCount, g.expireAt)
		for _, m := range g.members {
			args = append(args, int64(m.Score), m.Member)
		}
		writeIfPresent.Eval(ctx, pipe, []string{g.key, refillMarker(g.key)}, args...)
	}
	return s.exec(ctx, "write actions", pipe)
}

// MarkRefill records that the series of keys are about to be refilled: until EndRefill (or ttl),
// WriteActionsIfPresent writes to them even though Redis does not hold them yet.
func (s *Store) MarkRefill(ctx context.Context, keys []store.Key, ttl time.Duration) error {
	if len(keys) == 0 {
		return nil
	}
	pipe := s.client.Pipeline()
	for _, k := range keys {
		pipe.Set(ctx, refillMarker(k.String()), 1, ttl)
	}
	return s.exec(ctx, "mark refill", pipe)
}

// EndRefill removes the refill markers of keys and, with drop, the series themselves: a refill
// that did not complete may have left a series holding only events written meanwhile, and an
// absent series is refilled whole on its next read.
func (s *Store) EndRefill(ctx context.Context, keys []store.Key, drop bool) error {
	if len(keys) == 0 {
		return nil
	}
	pipe := s.client.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, refillMarker(k.String()))
		if drop {
			pipe.Del(ctx, k.String())
		}
	}
	return s.exec(ctx, "end refill", pipe)
}

// keyWrites are the writes of one call to one key.
type keyWrites struct {
	key      string
	members  []goredis.Z
	maxCount int   // the smallest positive MaxCount of the writes; 0 = unbounded
	expireAt int64 // the latest expiry in Unix seconds; 0 = none
}

func groupByKey(writes []store.ActionWrite) []*keyWrites {
	var groups []*keyWrites
	byKey := make(map[store.Key]*keyWrites)
	for _, w := range writes {
		g := byKey[w.Key]
		if g == nil {
			g = &keyWrites{key: w.Key.String()}
			byKey[w.Key] = g
			groups = append(groups, g)
		}
		g.members = append(g.members, goredis.Z{Score: float64(w.TS), Member: w.Member})
		if w.MaxCount > 0 && (g.maxCount == 0 || w.MaxCount < g.maxCount) {
			g.maxCount = w.MaxCount
		}
		if exp := w.ExpireAt(); exp > g.expireAt {
			g.expireAt = exp
		}
	}
	return groups
}
