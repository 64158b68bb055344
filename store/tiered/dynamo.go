package tiered

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// DynamoDB is the source of truth, but a slow or unreachable DynamoDB must fail only the reads
// that need it — never the reads Redis answers (a gateway's admission slots held by requests
// waiting on DynamoDB would otherwise starve every other request). Three mechanisms see to that,
// on every read of DynamoDB made on behalf of a caller (fallbacks, static reads Redis could not
// answer, static history):
//
// The budget: a DynamoDB read gets at most 90% of what is left of the caller's deadline, so a
// call DynamoDB does not answer in time ends by its own deadline while the caller still has time
// to answer: the read fails naming dynamodb (BACKEND_ERROR), and the failure is DynamoDB's, not
// the caller's.
//
// The bulkhead: at most Config.DynamoDBMaxWaiting reads wait on DynamoDB at once; another waits
// at most Config.DynamoDBQueueWait for one of them to end and otherwise fails at once naming
// dynamodb. The gateway admits Config.MaxInFlight requests (64 by default) and DynamoDBMaxWaiting
// is three quarters of that by default: requests waiting on a sick DynamoDB hold at most 48 of
// the admission slots; the rest serve what Redis holds. While Redis's breaker is open the
// bulkhead is lifted: every read needs DynamoDB then, and admission is the only limit.
//
// The breaker: after Config.DynamoDBBreakerFailures failed reads in a row (an error that says
// DynamoDB is unavailable, or its budget ran out, while the caller's context was alive) reads
// that need DynamoDB fail fast for Config.DynamoDBRetryAfter, with a BackendError naming dynamodb
// that wraps store.ErrUnavailable; then one read — the probe — tries DynamoDB while the others
// still fail fast; its success closes the breaker, its failure opens it again. While it is open
// the store reports itself degraded ("dynamodb", so /readyz and the metrics say so). Writes are
// never refused by the breaker (ingestion retries them itself) and do not move it: a write that
// took 3 s succeeded, but says nothing good about reads with a 2 s deadline.

// errBreakerOpen is wrapped by the error of a read refused while the DynamoDB breaker is open.
var errBreakerOpen = errors.New("circuit breaker open after repeated DynamoDB failures")

// dynamoState is the DynamoDB breaker and bulkhead.
type dynamoState struct {
	down  atomic.Int64 // Unix ns until which reads fail fast; 0: closed
	fails atomic.Int64 // failed reads in a row
	// pingDown is set while the last Ping of DynamoDB failed (Degraded names it).
	pingDown atomic.Bool
	waiting  chan struct{}
}

// dynamoRead runs read, a DynamoDB read made on behalf of ctx, behind the breaker and the
// bulkhead, with the DynamoDB budget.
func (s *Store) dynamoRead(ctx context.Context, op string, read func(ctx context.Context) error) error {
	if !s.dynamoUsable() {
		return &store.BackendError{Backend: "dynamodb", Op: op, Err: fmt.Errorf("%w: %w: reads that need DynamoDB fail fast until a probe read succeeds (every %s)",
			store.ErrUnavailable, errBreakerOpen, s.cfg.DynamoDBRetryAfter)}
	}
	// While Redis's breaker is open every read needs DynamoDB: there is nothing to protect from
	// it, and the gateway's admission is the limit.
	if s.redisDown.Load() == 0 {
		if err := s.dynamoEnter(ctx); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return &store.BackendError{Backend: "dynamodb", Op: op, Err: err}
		}
		defer func() { <-s.dynamo.waiting }()
	}
	dctx, cancel := s.dynamoContext(ctx)
	err := read(dctx)
	cancel()
	switch {
	case err == nil:
		s.dynamoWorked()
	case ctx.Err() == nil && (errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)):
		s.dynamoFailed()
	}
	return err
}

// dynamoEnter takes a place in the bulkhead, waiting at most DynamoDBQueueWait.
func (s *Store) dynamoEnter(ctx context.Context) error {
	select {
	case s.dynamo.waiting <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(s.cfg.DynamoDBQueueWait)
	defer t.Stop()
	select {
	case s.dynamo.waiting <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("%w: %d reads already waiting for DynamoDB (the bulkhead that keeps a slow DynamoDB from holding every request)",
			store.ErrUnavailable, cap(s.dynamo.waiting))
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dynamoContext returns the context of a DynamoDB read made on behalf of ctx: 90% of what is
// left of its deadline.
func (s *Store) dynamoContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	left := time.Until(d)
	return context.WithTimeout(ctx, max(left-left/10, time.Millisecond))
}

// dynamoUsable reports whether a read may ask DynamoDB: the breaker is closed, or this read is
// the probe.
func (s *Store) dynamoUsable() bool {
	if s.cfg.DynamoDBRetryAfter < 0 {
		return true
	}
	until := s.dynamo.down.Load()
	if until == 0 {
		return true
	}
	if s.now().UnixNano() < until {
		return false
	}
	return s.dynamo.down.CompareAndSwap(until, s.now().Add(s.cfg.DynamoDBRetryAfter).UnixNano())
}

func (s *Store) dynamoFailed() {
	if s.cfg.DynamoDBRetryAfter < 0 {
		return
	}
	if s.dynamo.fails.Add(1) >= int64(s.cfg.DynamoDBBreakerFailures) {
		s.dynamo.down.Store(s.now().Add(s.cfg.DynamoDBRetryAfter).UnixNano())
	}
}

func (s *Store) dynamoWorked() {
	if s.dynamo.fails.Load() != 0 {
		s.dynamo.fails.Store(0)
	}
	if s.dynamo.down.Load() != 0 {
		s.dynamo.down.Store(0)
	}
}

// DynamoDBOpen reports whether the DynamoDB breaker is open (reads needing DynamoDB fail fast).
func (s *Store) DynamoDBOpen() bool { return s.dynamo.down.Load() != 0 }
