// Package tiered composes Redis and DynamoDB into the production store: DynamoDB is the source
// of truth, Redis serves action reads and may cache static values.
//
// Action reads: every query goes to Redis in one pipeline. A query whose key Redis does not
// hold (never cached, evicted, flushed), and every query when Redis fails or failed within
// Config.RedisRetryAfter, falls back to DynamoDB, which answers exactly as Redis would (dedupe
// and MaxCount included). For a feature with 0 < MaxCount <= Config.RefillMaxEvents the
// fallback reads the newest MaxCount events of the key, answers the query from them and — when
// Redis answered this read — refills Redis with them in the background (bounded, skipped when
// busy), so the next read is a Redis hit. A key DynamoDB holds no events for is remembered for
// Config.NegativeTTL and answered empty without a DynamoDB call. An error is returned only when
// DynamoDB fails; a Redis failure alone never fails a read. A point-in-time query (MaxTS) that
// Redis cannot answer as the series was then (see store/redis pointintime.go) is asked of
// DynamoDB as itself, never refilled and never negative-cached; a filtered query is answered
// from the refilled series with the filter applied, or by DynamoDB with a filter expression.
// Static history (ReadStaticAsOf) is read from DynamoDB.
//
// Static reads: Redis holds the online copy of static features, one hash per entity. A read
// asks the optional in-process cache (Config.StaticCacheTTL, Config.StaticCacheSize), then
// Redis for the rest in one pipeline of one HMGET per entity, then DynamoDB for what Redis
// does not know, and refills Redis with what DynamoDB answered (values, and negative entries
// for features DynamoDB holds no value for, valid Config.StaticNegativeTTL ± 10%). When Redis
// fails the read answers from DynamoDB; when the caller's context is done, it stops without
// asking DynamoDB and returns the context's error.
//
// Writes go to DynamoDB first, then to Redis; if DynamoDB fails nothing reaches Redis. The
// Redis update waits at most Config.RedisWriteBudget (a third of the deadline at most), and is
// not tried while the Redis breaker is open: a slow or hung Redis never holds a write, it makes
// what the write touched pending as a failed one does. DynamoDB
// is the commit point, for action and static writes alike: if a write's Redis update fails,
// the write still succeeds and what it touched is pending (pending.go) — read from DynamoDB in
// this process, never from Redis or the in-process cache, and brought up to date in Redis in
// the background: action series are dropped (refilled whole on their next read), static
// features are re-read from DynamoDB and written through (order-safe). The keys written to
// Redis in the 10 s before a failure are pending too (a failover loses unreplicated writes).
// Only when the bounded pending sets are full does the write return the Redis error, so
// ingestion retries (writes are idempotent). Reads give Redis a bounded budget and skip it
// while it fails (breaker.go). Action writes update only keys Redis already holds: a key Redis
// lost is refilled whole from DynamoDB on its next read, never recreated holding only the
// newest events. Static writes are written through to Redis (a script per entity keeps the
// newer event) and forgotten by the in-process cache.
package tiered

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// Cache is the Redis side, implemented by *redis.Store.
type Cache interface {
	// ReadActionsCached answers the queries whose key Redis holds; the others are missing.
	ReadActionsCached(ctx context.Context, queries []store.ActionQuery) (found map[store.ActionQuery][]store.ActionEvent, missing []store.ActionQuery, err error)
	// WriteActions writes events, creating keys (the refill).
	store.ActionWriter
	// WriteActionsIfPresent writes events to keys Redis holds or is refilling (MarkRefill) and
	// drops the others.
	WriteActionsIfPresent(ctx context.Context, writes []store.ActionWrite) error
	// MarkRefill says the series of keys are about to be refilled; EndRefill ends that, and with
	// drop deletes the series (a refill that did not complete leaves no partial series).
	MarkRefill(ctx context.Context, keys []store.Key, ttl time.Duration) error
	EndRefill(ctx context.Context, keys []store.Key, drop bool) error
	// ReadStaticCached reads q and appends to missing the indexes of out Redis knows nothing
	// about (a value known to be absent, a negative entry, is Absent and not missing).
	ReadStaticCached(ctx context.Context, q store.StaticQuery, out []store.StaticValue, missing []int) ([]int, error)
	// WriteStatic writes values through, never over newer ones.
	store.StaticWriter
	// FillStatic writes values (never over newer ones) and negative entries for absent (never
	// over a value), valid until negativeUntil (Unix ms): the refill after a DynamoDB read.
	FillStatic(ctx context.Context, writes []store.StaticWrite, absent []store.Key, negativeUntil int64) error
	store.Pinger
	Close() error
}

// Source is the DynamoDB side, implemented by *dynamodb.Store (tiered composes the two
// through these interfaces only).
type Source interface {
	store.Store
	store.StaticHistoryReader
	// ReadStaticKeys is ReadStatic for any keys: out[i] is the value of keys[i].
	ReadStaticKeys(ctx context.Context, keys []store.Key, out []store.StaticValue) error
	// ReadEvents is ReadActions with each event's expiry, which the refill carries to Redis.
	ReadEvents(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.StoredEvent, error)
}

// Store is the tiered store. It is safe for concurrent use.
type Store struct {
	cache  Cache
	source Source
	cfg    Config
	now    func() time.Time

	negative  *negativeCache
	static    *staticCache // nil: no in-process static cache
	redisDown atomic.Int64
	// redisChecking is set while a PING checks Redis after a read overran its budget; slowReads
	// counts those checks (breaker.go).
	redisChecking atomic.Bool
	slowReads     atomic.Int64
	dynamo        dynamoState // the DynamoDB breaker and bulkhead (dynamo.go)
	// background refills and cache fills
	slots chan struct{}
	// static refills have slots of their own: one is a single cheap pipeline, and after a
	// FLUSHALL every read needs one, so sharing the action refills' few slots would drop most.
	staticSlots chan struct{}
	inflight    sync.Map // series key -> struct{}: a refill of that key is running
	bg          sync.WaitGroup
	loops       sync.WaitGroup // the loops bringing pending keys up to date (pending.go)
	loopsMu     sync.Mutex     // orders starting a loop (loops.Add) before Close's loops.Wait
	closeOnce   sync.Once
	closing     chan struct{} // closed by Close: background retries stop
	// What Redis may hold behind DynamoDB after a failed Redis write, and what was written to
	// Redis lately (pending.go).
	stale         pendingSet // action series, dropped from Redis in the background
	staticPending pendingSet // static features, written through again in the background
	recentSeries  recentWrites
	recentStatic  recentWrites
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Degrader = (*Store)(nil)
	_ store.Backlog  = (*Store)(nil)
)

// New composes cache (Redis) and source (DynamoDB). Close closes both.
func New(cache Cache, source Source, cfg Config) (*Store, error) {
	if cache == nil || source == nil {
		return nil, errors.New("tiered: New needs both a cache (Redis) and a source (DynamoDB)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Store{
		cache:       cache,
		source:      source,
		cfg:         cfg,
		now:         time.Now,
		negative:    newNegativeCache(cfg.NegativeTTL, cfg.NegativeCacheSize),
		slots:       make(chan struct{}, cfg.RefillConcurrency),
		staticSlots: make(chan struct{}, cfg.StaticRefillConcurrency),
		closing:     make(chan struct{}),
	}
	s.dynamo.waiting = make(chan struct{}, cfg.DynamoDBMaxWaiting)
	if cfg.StaticCacheTTL > 0 && cfg.StaticCacheSize > 0 {
		s.static = newStaticCache(cfg.StaticCacheTTL, cfg.StaticCacheSize, s.clock)
	}
	return s, nil
}

// Ping implements store.Pinger: it checks DynamoDB and Redis, each within 90% of ctx's
// deadline. The store serves with either backend down (only what needs the sick one fails), so
// Ping fails only when both do; a failed backend is named by Degraded until it answers again.
func (s *Store) Ping(ctx context.Context) error {
	pctx, cancel := s.dynamoContext(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.cache.Ping(pctx) }()
	derr := s.source.Ping(pctx)
	rerr := <-errc
	s.dynamo.pingDown.Store(derr != nil && ctx.Err() == nil)
	if rerr != nil {
		s.redisFailed(ctx, rerr)
	}
	if derr != nil && rerr != nil {
		return errors.Join(derr, rerr)
	}
	return nil
}

// PingCache checks Redis.
func (s *Store) PingCache(ctx context.Context) error { return s.cache.Ping(ctx) }

// WaitBackground waits for the background refills and cache fills started so far (not for the
// loops that bring pending keys up to date: PendingStatics and StaleSeries count those keys).
func (s *Store) WaitBackground() { s.bg.Wait() }

// Close waits for background work and closes Redis and DynamoDB.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.loopsMu.Lock()
		close(s.closing)
		s.loopsMu.Unlock()
		s.bg.Wait()
		s.loops.Wait()
		if s.static != nil {
			s.static.close()
		}
		err = errors.Join(s.cache.Close(), s.source.Close())
	})
	return err
}

func (s *Store) clock() time.Time { return s.now() }

// background runs f with its own deadline unless RefillConcurrency jobs are running already,
// and reports whether it started.
func (s *Store) background(f func(ctx context.Context)) bool {
	return s.backgroundIn(s.slots, f)
}

// backgroundIn is background with the slots given.
func (s *Store) backgroundIn(slots chan struct{}, f func(ctx context.Context)) bool {
	select {
	case slots <- struct{}{}:
	default:
		return false
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer func() { <-slots }()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RefillTimeout)
		defer cancel()
		f(ctx)
	}()
	return true
}
