package tiered_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

func mustWriteStatic(t *testing.T, s store.StaticWriter, ws ...store.StaticWrite) {
	t.Helper()
	if err := s.WriteStatic(context.Background(), ws); err != nil {
		t.Fatalf("write static: %v", err)
	}
}

func readStatic(t *testing.T, s store.StaticReader, q store.StaticQuery) []store.StaticValue {
	t.Helper()
	out := make([]store.StaticValue, q.Len())
	if err := s.ReadStatic(context.Background(), q, out); err != nil {
		t.Fatalf("read static: %v", err)
	}
	return out
}

// staticQuery is region_id and os of n new entities; the first n/2 have a region_id.
func staticQuery(t *testing.T, e *env, n int) store.StaticQuery {
	t.Helper()
	q := store.StaticQuery{Prefix: "ts", Features: []string{"region_id", "os"}}
	var ws []store.StaticWrite
	for i := range n {
		k := newKey("region_id")
		q.Prefix, q.IDs = k.Prefix, append(q.IDs, k.ID)
		if i < n/2 {
			ws = append(ws, store.StaticWrite{Key: k, Value: store.IntValue(int64(i)), TS: 100})
		}
	}
	mustWriteStatic(t, e.tiered, ws...)
	return q
}

func checkStatic(t *testing.T, q store.StaticQuery, out []store.StaticValue) {
	t.Helper()
	for i := range q.IDs {
		region, os := out[2*i], out[2*i+1]
		if i < len(q.IDs)/2 && (region.Kind != store.Int || region.Num != int64(i) || region.TS != 100) || i >= len(q.IDs)/2 && region.Kind != store.Absent {
			t.Fatalf("entity %d region_id: got %v @%d", i, region.Value, region.TS)
		}
		if os.Kind != store.Absent {
			t.Fatalf("entity %d os: want absent, got %v", i, os.Value)
		}
	}
}

func TestStaticReadsServedByRedisWithNegativeEntries(t *testing.T) {
	e := newEnv(t, testenv.Redis(t), tiered.Config{})
	q := staticQuery(t, e, 10)
	steps := []struct {
		name     string
		wantKeys int // keys read from DynamoDB
	}{
		// Written values are in Redis (write-through); the absent ones are asked of DynamoDB
		// once and remembered as negative entries.
		{"first_read_asks_dynamodb_for_the_absent_features_only", 15},
		{"second_read_is_redis_only", 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := e.outcomes.items("static fallback")
			checkStatic(t, q, readStatic(t, e.tiered, q))
			if got := e.outcomes.items("static fallback") - before; got != st.wantKeys {
				t.Fatalf("want %d keys read from DynamoDB, got %d", st.wantKeys, got)
			}
			e.tiered.WaitBackground()
		})
	}
	// A write replaces a negative entry at once.
	k := store.Key{Prefix: q.Prefix, ID: q.IDs[9], Feature: "os"}
	mustWriteStatic(t, e.tiered, store.StaticWrite{Key: k, Value: store.StringValue("ios"), TS: 1})
	if got := readStatic(t, e.tiered, q)[19]; got.Str != "ios" {
		t.Fatalf("after a write over a negative entry: got %v", got.Value)
	}
}

func TestStaticRefillAfterFlushAll(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testenv.NewRedis(t).Addr(), tiered.Config{})
	q := staticQuery(t, e, 10)
	if err := e.redis.Client().FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	before := e.outcomes.items("static fallback")
	checkStatic(t, q, readStatic(t, e.tiered, q))
	if got := e.outcomes.items("static fallback") - before; got != 20 {
		t.Fatalf("after FLUSHALL: want all 20 keys read from DynamoDB, got %d", got)
	}
	e.tiered.WaitBackground()
	if n := e.redis.Client().Exists(ctx, redis.EntityKey(q.Prefix, q.IDs[0])).Val(); n != 1 {
		t.Fatal("the read did not refill Redis")
	}
	before = e.outcomes.items("static fallback")
	checkStatic(t, q, readStatic(t, e.tiered, q))
	if got := e.outcomes.items("static fallback") - before; got != 0 {
		t.Fatalf("after the refill: want no DynamoDB read, got %d keys", got)
	}
}

// writeDuringRead is a DynamoDB source whose static read is followed, before the answer reaches
// the tiered store (and so before the refill), by a newer write from another process.
type writeDuringRead struct {
	*dynamodb.Store
	other *tiered.Store
	write store.StaticWrite
	done  bool
}

func (s *writeDuringRead) ReadStaticKeys(ctx context.Context, keys []store.Key, out []store.StaticValue) error {
	err := s.Store.ReadStaticKeys(ctx, keys, out)
	if err == nil && !s.done {
		s.done = true
		err = s.other.WriteStatic(ctx, []store.StaticWrite{s.write})
	}
	return err
}

// A refill carries what DynamoDB answered; a newer value ingested meanwhile must win in Redis.
func TestStaticRefillNeverOverwritesNewerValue(t *testing.T) {
	ctx := context.Background()
	addr := testenv.NewRedis(t).Addr()
	e := newEnv(t, addr, tiered.Config{})
	k := newKey("os")
	mustWriteStatic(t, e.tiered, store.StaticWrite{Key: k, Value: store.StringValue("old"), TS: 1000})
	if err := e.redis.Client().FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	r2, err := redis.New(redis.Config{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := tiered.New(r2, e.dynamo, tiered.Config{})
	if err != nil {
		t.Fatal(err)
	}
	src := &writeDuringRead{Store: e.dynamo, other: other, write: store.StaticWrite{Key: k, Value: store.StringValue("new"), TS: 2000}}
	r1, err := redis.New(redis.Config{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tiered.New(r1, src, tiered.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.ReadKey(ctx, s, k); err != nil || got.Str != "old" {
		t.Fatalf("the read answers what DynamoDB held when read: got %v, %v", got.Value, err)
	}
	s.WaitBackground()
	if got, err := store.ReadKey(ctx, r1, k); err != nil || got.Str != "new" || got.TS != 2000 {
		t.Fatalf("Redis must keep the newer value, got %v @%d, %v", got.Value, got.TS, err)
	}
}

func TestStaticReadDuringRedisOutageAnswersFromDynamoDB(t *testing.T) {
	srv := testenv.NewRedis(t)
	e := newEnv(t, srv.Addr(), tiered.Config{RedisRetryAfter: -1})
	q := staticQuery(t, e, 6)
	srv.Stop()
	before := e.outcomes.items("static fallback")
	checkStatic(t, q, readStatic(t, e.tiered, q))
	if got := e.outcomes.items("static fallback") - before; got != 12 {
		t.Fatalf("want all 12 keys read from DynamoDB, got %d", got)
	}
}

func TestCancelledStaticReadDoesNotAskDynamoDB(t *testing.T) {
	srv := testenv.NewRedis(t)
	e := newEnv(t, srv.Addr(), tiered.Config{RedisRetryAfter: -1})
	q := staticQuery(t, e, 4)
	cases := []struct {
		name   string
		before func()
	}{
		{"redis_up", func() {}},
		{"redis_down", srv.Stop},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.before()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			gets, cancelled := e.dynCalls.call("BatchGetItem"), e.outcomes.errs("read static", context.Canceled)
			err := e.tiered.ReadStatic(ctx, q, make([]store.StaticValue, q.Len()))
			if !errors.Is(err, context.Canceled) || store.BackendOf(err) != "" {
				t.Fatalf("want the context's error and no backend error, got %v", err)
			}
			if n := e.dynCalls.call("BatchGetItem") - gets; n != 0 {
				t.Fatalf("a cancelled read made %d DynamoDB calls", n)
			}
			if n := e.outcomes.errs("read static", context.Canceled) - cancelled; n != 1 {
				t.Fatalf("want the read counted once as cancelled, got %d", n)
			}
		})
	}
}

func TestInProcessStaticCache(t *testing.T) {
	addr := testenv.Redis(t)
	t.Run("hits_skip_redis_and_writes_invalidate", func(t *testing.T) {
		e := newEnv(t, addr, tiered.Config{StaticCacheTTL: time.Minute, StaticCacheSize: 1 << 20})
		q := staticQuery(t, e, 4)
		readStatic(t, e.tiered, q) // fills the cache (and the negative entries)
		e.tiered.WaitBackground()
		pipes := e.redisCalls.call("pipeline")
		checkStatic(t, q, readStatic(t, e.tiered, q))
		if n := e.redisCalls.call("pipeline") - pipes; n != 0 {
			t.Fatalf("a cached read made %d Redis round trips", n)
		}
		if e.outcomes.outcome("static", true) != q.Len() {
			t.Fatalf("want %d in-process hits counted, got %v", q.Len(), e.outcomes.cache)
		}
		k := store.Key{Prefix: q.Prefix, ID: q.IDs[0], Feature: "region_id"}
		mustWriteStatic(t, e.tiered, store.StaticWrite{Key: k, Value: store.IntValue(99), TS: 200})
		if got := readStatic(t, e.tiered, q)[0]; got.Num != 99 {
			t.Fatalf("a write through the store must be visible at once, got %v", got.Value)
		}
	})
	t.Run("expires_after_ttl", func(t *testing.T) {
		e := newEnv(t, addr, tiered.Config{StaticCacheTTL: 10 * time.Second, StaticCacheSize: 1 << 20})
		now := time.Now()
		var mu sync.Mutex
		e.tiered.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
		q := staticQuery(t, e, 2)
		readStatic(t, e.tiered, q)
		e.tiered.WaitBackground()
		mu.Lock()
		now = now.Add(12 * time.Second)
		mu.Unlock()
		pipes := e.redisCalls.call("pipeline")
		readStatic(t, e.tiered, q)
		if n := e.redisCalls.call("pipeline") - pipes; n != 1 {
			t.Fatalf("after the TTL the read must ask Redis again, made %d round trips", n)
		}
	})
	t.Run("size_0_is_off", func(t *testing.T) {
		e := newEnv(t, addr, tiered.Config{StaticCacheTTL: time.Minute, StaticCacheSize: 0})
		q := staticQuery(t, e, 2)
		readStatic(t, e.tiered, q)
		e.tiered.WaitBackground()
		pipes := e.redisCalls.call("pipeline")
		readStatic(t, e.tiered, q)
		if n := e.redisCalls.call("pipeline") - pipes; n != 1 {
			t.Fatalf("with size 0 every read asks Redis, made %d round trips", n)
		}
	})
	t.Run("bounded_in_bytes", func(t *testing.T) {
		const limit = 64 << 10
		e := newEnv(t, addr, tiered.Config{StaticCacheTTL: time.Minute, StaticCacheSize: limit})
		for range 10 {
			readStatic(t, e.tiered, staticQuery(t, e, 100)) // 1000 entities, far more than 64 KiB
		}
		if n := e.tiered.StaticCacheBytes(); n == 0 || n > limit {
			t.Fatalf("want the cache filled up to %d bytes, holds %d", limit, n)
		}
	})
}
