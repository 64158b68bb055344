package tiered

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// Redis is a cache: it must never make a read fail or miss its deadline. Two mechanisms see to
// that.
//
// The budget: a read gives Redis at most a third of what is left of its deadline, and at most
// Config.RedisReadBudget, so a slow or hung Redis is abandoned in time for the DynamoDB fallback
// to run within the same request deadline (before, the fallback started with an expired
// deadline and the read failed naming DynamoDB).
//
// The breaker: after a Redis failure (not caused by the caller's own deadline) reads skip Redis
// for Config.RedisRetryAfter. A read that only overran its budget is not such a failure by
// itself: on a CPU-starved gateway a large read (a P2 request's 5,000 values) is late because
// its reply waits for a core, not because Redis is sick, and opening the breaker then sent
// every read to DynamoDB for RetryAfter — more work for the starved box, at the worst time (a
// fallback storm). So an overrun is checked: one PING at a time, within the read budget, opens
// the breaker when it fails or is late too (Redis hung, slow, backlogged or gone); when it
// answers in time the breaker stays closed and only the late read fell back. Then one read — the probe — tries Redis while the others still
// skip it; the probe's success closes the breaker, its failure opens it again. While it is open
// the store reports itself degraded (Degraded, and so /readyz and the metrics).

// redisContext returns the context of a Redis read made on behalf of ctx.
func (s *Store) redisContext(ctx context.Context) (context.Context, context.CancelFunc) {
	budget := s.cfg.RedisReadBudget
	if d, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(d)/3)
	}
	return context.WithTimeout(ctx, max(budget, time.Millisecond))
}

// redisWrite runs write, the Redis update of a write DynamoDB has taken, within the write
// budget: at most Config.RedisWriteBudget and a third of what is left of ctx's deadline, so that
// a slow or hung Redis never holds a push, a Kafka batch or a load (the caller marks the keys
// pending when it fails, pending.go). While the breaker is open the update is not tried at all
// (ErrUnavailable), unless this write is the probe: its success closes the breaker, which
// matters for processes that only write (ingest workers, load).
func (s *Store) redisWrite(ctx context.Context, write func(ctx context.Context) error) error {
	if !s.redisUsable() {
		return &store.BackendError{Backend: "redis", Op: "write", Err: fmt.Errorf("%w: skipped while the Redis breaker is open", store.ErrUnavailable)}
	}
	budget := s.cfg.RedisWriteBudget
	if d, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(d)/3)
	}
	wctx, cancel := context.WithTimeout(ctx, max(budget, time.Millisecond))
	err := write(wctx)
	cancel()
	if err != nil {
		s.redisFailed(ctx, err)
		return err
	}
	s.redisWorked()
	return nil
}

// redisUsable reports whether a read should try Redis: the breaker is closed, or this read is
// the probe.
func (s *Store) redisUsable() bool {
	if s.cfg.RedisRetryAfter < 0 || s.dynamo.down.Load() != 0 {
		// With DynamoDB's breaker open too, Redis is the only backend left: try it anyway.
		return true
	}
	until := s.redisDown.Load()
	if until == 0 {
		return true
	}
	now := s.now().UnixNano()
	if now < until {
		return false
	}
	// The first read past the back-off probes; the others keep skipping Redis while it runs.
	return s.redisDown.CompareAndSwap(until, s.now().Add(s.cfg.RedisRetryAfter).UnixNano())
}

// redisReadFailed handles the error of a Redis read made with rctx (from redisContext) on behalf
// of ctx: a read cut short by its own budget (ctx still alive) is checked with a PING (above);
// any other failure goes to redisFailed.
func (s *Store) redisReadFailed(ctx, rctx context.Context, err error) {
	if ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) && s.cfg.RedisRetryAfter > 0 {
		s.checkRedis()
		return
	}
	s.redisFailed(ctx, err)
}

// checkRedis PINGs Redis in the background, one check at a time, within the read budget, and
// opens the breaker when the PING fails or is late.
func (s *Store) checkRedis() {
	if !s.redisChecking.CompareAndSwap(false, true) {
		return
	}
	s.slowReads.Add(1)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer s.redisChecking.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RedisReadBudget)
		defer cancel()
		if err := s.cache.Ping(ctx); err != nil {
			s.redisFailed(context.Background(), fmt.Errorf("%w: a read overran its %s budget and PING did too: %w", store.ErrUnavailable, s.cfg.RedisReadBudget, err))
		}
	}()
}

// SlowRedisChecks counts the reads that overran their Redis budget and started a PING check
// (at most one runs at a time; the others only fell back).
func (s *Store) SlowRedisChecks() int64 { return s.slowReads.Load() }

// redisFailed opens the breaker when err says Redis is unavailable and the caller's context was
// not the cause (a request out of time says nothing about Redis; a Redis call cut short by its
// own budget does).
func (s *Store) redisFailed(ctx context.Context, err error) {
	if s.cfg.RedisRetryAfter > 0 && ctx.Err() == nil && (errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)) {
		s.redisDown.Store(s.now().Add(s.cfg.RedisRetryAfter).UnixNano())
	}
}

// redisWorked closes the breaker.
func (s *Store) redisWorked() {
	if s.redisDown.Load() != 0 {
		s.redisDown.Store(0)
	}
}

// Degraded names the backends the store is serving without: "redis" while its breaker is open
// (reads go to DynamoDB), "dynamodb" while its breaker is open or its last Ping failed (reads
// that need DynamoDB fail fast, dynamo.go).
func (s *Store) Degraded() []string {
	var out []string
	if s.redisDown.Load() != 0 {
		out = append(out, "redis")
	}
	if s.dynamo.down.Load() != 0 || s.dynamo.pingDown.Load() {
		out = append(out, "dynamodb")
	}
	return out
}
