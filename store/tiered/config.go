package tiered

import (
	"errors"
	"fmt"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// Config configures the tiered store. A zero field takes the default named in its comment;
// DefaultConfig returns them all filled in.
type Config struct {
	// NegativeTTL is how long this process remembers that DynamoDB holds no events for a key,
	// so reads of entities without events do not query DynamoDB every time. Writes through this
	// store forget the key at once; writes by other processes show after at most NegativeTTL.
	// Default 5s; negative disables the negative cache.
	NegativeTTL time.Duration
	// NegativeCacheSize bounds the keys the negative cache holds (oldest dropped first).
	// Default 100000.
	NegativeCacheSize int
	// RefillMaxEvents is the largest MaxCount whose series is refilled into Redis after a
	// fallback (the refill reads and writes MaxCount events). Features with a larger or no
	// MaxCount are read from DynamoDB as asked and never refilled. Default 1000.
	RefillMaxEvents int
	// RefillConcurrency bounds action refills running in the background; when
	// all are busy a refill is skipped and a later read tries again. Default 4.
	RefillConcurrency int
	// StaticRefillConcurrency bounds the background refills of static values (one pipeline of
	// one script per entity each); when all are busy a refill is skipped and a later read tries
	// again. Default 64.
	StaticRefillConcurrency int
	// RefillTimeout bounds one background refill. Default 2s.
	RefillTimeout time.Duration
	// RedisRetryAfter is how long reads skip Redis after a Redis error and go straight to
	// DynamoDB, and writes mark what they touched pending without trying Redis; then one read or
	// write probes Redis (breaker.go). Default 1s; negative never skips.
	RedisRetryAfter time.Duration
	// RedisReadBudget is the longest a read waits for Redis before falling back to DynamoDB (and
	// never more than a third of what is left of the read's deadline). Default 150ms.
	RedisReadBudget time.Duration
	// RedisWriteBudget is the longest a write waits for its Redis update once DynamoDB took it
	// (and never more than a third of what is left of its deadline); then the write succeeds and
	// what it touched is pending (pending.go). Default 150ms.
	RedisWriteBudget time.Duration
	// DynamoDBRetryAfter is how long reads that need DynamoDB fail fast once its breaker opened
	// (dynamo.go); then one read probes DynamoDB. Default 500ms; negative: no breaker.
	DynamoDBRetryAfter time.Duration
	// DynamoDBBreakerFailures is how many DynamoDB reads in a row must fail (unavailable, or out
	// of their budget while the caller had time) to open the breaker. Default 3.
	DynamoDBBreakerFailures int
	// DynamoDBMaxWaiting bounds the reads waiting on DynamoDB at once (the bulkhead); another
	// waits at most DynamoDBQueueWait for a place and then fails naming dynamodb; lifted while
	// Redis's breaker is open (every read needs DynamoDB then). Default 48, three quarters of the
	// gateway's default MaxInFlight.
	DynamoDBMaxWaiting int
	// DynamoDBQueueWait is how long a read waits for a place in the bulkhead. Default 50ms.
	DynamoDBQueueWait time.Duration
	// StaticNegativeTTL is how long Redis remembers that DynamoDB holds no value for a static
	// feature of an entity (a negative entry, ± 10% jitter), so absent features do not send
	// every read to DynamoDB. Writes replace a negative entry at once. Default 1m; negative:
	// no negative entries.
	StaticNegativeTTL time.Duration
	// StaticCacheTTL enables the in-process cache of static values (each value, or absence,
	// is served for StaticCacheTTL ± 10% without asking Redis). Writes through this process
	// invalidate it at once; writes by other processes (other gateways, ingestion) show after
	// at most StaticCacheTTL. Default 0: off.
	StaticCacheTTL time.Duration
	// StaticCacheSize bounds the in-process cache in bytes. 0 turns it off. DefaultConfig: 64 MiB.
	StaticCacheSize int
	// Observer is told about cache outcomes — Cache("actions", hit) per action query Redis
	// answered or not, Cache("negative", hit) per query that fell back, Cache("static", hit)
	// per static value looked up in process and Cache("static_redis", hit) per static value
	// Redis knew or not — and about the store's own work: BackendCall("tiered", op, ...) with
	// op "fallback" per DynamoDB action fallback, "refill" per background refill, "static
	// fallback" per DynamoDB static read, "static refill" per Redis static refill, and "read
	// static" with the caller's context error when a read was abandoned (cancelled).
	// Default store.NopObserver.
	Observer store.Observer
}

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		NegativeTTL:             5 * time.Second,
		NegativeCacheSize:       100_000,
		RefillMaxEvents:         1000,
		RefillConcurrency:       4,
		StaticRefillConcurrency: 64,
		RefillTimeout:           2 * time.Second,
		RedisRetryAfter:         time.Second,
		RedisReadBudget:         150 * time.Millisecond,
		RedisWriteBudget:        150 * time.Millisecond,
		DynamoDBRetryAfter:      500 * time.Millisecond,
		DynamoDBBreakerFailures: 3,
		DynamoDBMaxWaiting:      48,
		DynamoDBQueueWait:       50 * time.Millisecond,
		StaticNegativeTTL:       time.Minute,
		StaticCacheSize:         64 << 20,
		Observer:                store.NopObserver{},
	}
}

// Validate reports every invalid field. Zero values are valid: they take the defaults.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("tiered config: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"NegativeCacheSize", c.NegativeCacheSize}, {"RefillMaxEvents", c.RefillMaxEvents}, {"RefillConcurrency", c.RefillConcurrency}, {"StaticRefillConcurrency", c.StaticRefillConcurrency},
		{"DynamoDBBreakerFailures", c.DynamoDBBreakerFailures}, {"DynamoDBMaxWaiting", c.DynamoDBMaxWaiting}} {
		if f.v < 0 {
			bad(f.name, "must not be negative, got %d", f.v)
		}
	}
	if c.DynamoDBQueueWait < 0 {
		bad("DynamoDBQueueWait", "must not be negative, got %s", c.DynamoDBQueueWait)
	}
	if c.RefillTimeout < 0 {
		bad("RefillTimeout", "must not be negative, got %s", c.RefillTimeout)
	}
	if c.StaticCacheTTL < 0 {
		bad("StaticCacheTTL", "must not be negative (0 turns the in-process cache off), got %s", c.StaticCacheTTL)
	}
	if c.StaticCacheTTL > 0 && c.StaticCacheTTL < time.Millisecond {
		bad("StaticCacheTTL", "must be at least 1ms, got %s", c.StaticCacheTTL)
	}
	if c.StaticCacheSize < 0 {
		bad("StaticCacheSize", "must not be negative (0 turns the in-process cache off), got %d", c.StaticCacheSize)
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.NegativeTTL == 0 {
		c.NegativeTTL = d.NegativeTTL
	}
	if c.NegativeCacheSize == 0 {
		c.NegativeCacheSize = d.NegativeCacheSize
	}
	if c.RefillMaxEvents == 0 {
		c.RefillMaxEvents = d.RefillMaxEvents
	}
	if c.RefillConcurrency == 0 {
		c.RefillConcurrency = d.RefillConcurrency
	}
	if c.StaticRefillConcurrency == 0 {
		c.StaticRefillConcurrency = d.StaticRefillConcurrency
	}
	if c.RefillTimeout == 0 {
		c.RefillTimeout = d.RefillTimeout
	}
	if c.RedisRetryAfter == 0 {
		c.RedisRetryAfter = d.RedisRetryAfter
	}
	if c.RedisReadBudget <= 0 {
		c.RedisReadBudget = d.RedisReadBudget
	}
	if c.RedisWriteBudget <= 0 {
		c.RedisWriteBudget = d.RedisWriteBudget
	}
	if c.DynamoDBRetryAfter == 0 {
		c.DynamoDBRetryAfter = d.DynamoDBRetryAfter
	}
	if c.DynamoDBBreakerFailures == 0 {
		c.DynamoDBBreakerFailures = d.DynamoDBBreakerFailures
	}
	if c.DynamoDBMaxWaiting == 0 {
		c.DynamoDBMaxWaiting = d.DynamoDBMaxWaiting
	}
	if c.DynamoDBQueueWait == 0 {
		c.DynamoDBQueueWait = d.DynamoDBQueueWait
	}
	if c.StaticNegativeTTL == 0 {
		c.StaticNegativeTTL = d.StaticNegativeTTL
	}
	if c.Observer == nil {
		c.Observer = d.Observer
	}
	return c
}
