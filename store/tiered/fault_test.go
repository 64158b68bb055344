package tiered_test

import (
	"context"
	"reflect"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

// TestSlowOrHungRedisNeverFailsReads puts a TCP fault proxy between the store and a real Redis:
// with Redis 600 ms slow, hung (blackhole) or resetting connections, every read with a 1 s
// deadline is still answered, exactly, from DynamoDB (the Redis call is abandoned within its
// budget); the store says it is degraded; once Redis is healthy again a probe closes the breaker
// and reads are served by Redis again.
func TestSlowOrHungRedisNeverFailsReads(t *testing.T) {
	proxy := testenv.NewFaultProxy(t, testenv.Redis(t))
	e := newEnv(t, proxy.Addr(), tiered.Config{RedisRetryAfter: 200 * time.Millisecond})
	k := newKey("clicks")
	mustWrite(t, e.tiered, events(k, 20, 20, 50, true)...)
	q := store.ActionQuery{Key: k, Count: 10, MaxCount: 50, Dedupe: true}
	prime(t, e, q)
	want := mustRead(t, e.tiered, q)[q]
	if len(want) != 10 {
		t.Fatalf("want 10 events, got %d", len(want))
	}
	read := func() ([]store.ActionEvent, time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		got, err := e.tiered.ReadActions(ctx, []store.ActionQuery{q})
		return got[q], time.Since(start), err
	}
	for _, fault := range []struct {
		name    string
		mode    testenv.Fault
		latency time.Duration
	}{
		{"redis_600ms_slow", testenv.Pass, 600 * time.Millisecond},
		{"redis_hung", testenv.Blackhole, 0},
		{"redis_resets", testenv.Reset, 0},
	} {
		t.Run(fault.name, func(t *testing.T) {
			proxy.Set(fault.mode, fault.latency)
			var lat []time.Duration
			failed := 0
			for range 30 {
				got, d, err := read()
				if err != nil {
					failed++
					t.Errorf("read failed: %v", err)
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("wrong answer under fault: %v", got)
				}
				lat = append(lat, d)
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			t.Logf("%d/30 failed; p50 %s, max %s", failed, lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
			if d := e.tiered.Degraded(); len(d) != 1 || d[0] != "redis" {
				t.Fatalf("under fault the store should be degraded, got %v", d)
			}
			// Healthy again: within a few back-offs a probe closes the breaker.
			proxy.Set(testenv.Pass, 0)
			deadline := time.Now().Add(5 * time.Second)
			for len(e.tiered.Degraded()) > 0 && time.Now().Before(deadline) {
				if _, _, err := read(); err != nil {
					t.Fatalf("read after recovery: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if d := e.tiered.Degraded(); len(d) != 0 {
				t.Fatalf("still degraded 5 s after Redis recovered: %v", d)
			}
			hits := e.outcomes.outcome("actions", true)
			if got, _, err := read(); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("after recovery: %v %v", got, err)
			}
			if e.outcomes.outcome("actions", true) != hits+1 {
				t.Fatalf("after recovery the read should be a Redis hit")
			}
		})
	}
}

// TestFailedRedisWriteDoesNotBlockIngestion: a write whose Redis update fails (connections reset)
// succeeds once DynamoDB has it; this process reads that series from DynamoDB meanwhile, and once
// Redis is back the stale series is dropped from it, so another process reading through Redis
// (refilled from DynamoDB) sees the event too. Nothing is lost.
func TestFailedRedisWriteDoesNotBlockIngestion(t *testing.T) {
	redisAddr := testenv.Redis(t)
	proxy := testenv.NewFaultProxy(t, redisAddr)
	e := newEnv(t, proxy.Addr(), tiered.Config{RedisRetryAfter: -1})
	k := newKey("clicks")
	mustWrite(t, e.tiered, events(k, 5, 5, 50, true)...)
	q := store.ActionQuery{Key: k, Count: 10, MaxCount: 50, Dedupe: true}
	prime(t, e, q)

	proxy.Set(testenv.Reset, 0)
	w := events(k, 1, 1, 50, true)[0]
	w.TS = time.Now().UnixMilli()
	w.Member = `{"article_id":77}`
	if err := e.tiered.WriteActions(context.Background(), []store.ActionWrite{w}); err != nil {
		t.Fatalf("write with Redis resetting: %v (ingestion would be blocked)", err)
	}
	if got := mustRead(t, e.tiered, q)[q]; len(got) != 6 || got[0].Member != w.Member {
		t.Fatalf("this process should read the stale series from DynamoDB: %v", got)
	}
	proxy.Set(testenv.Pass, 0)
	for deadline := time.Now().Add(10 * time.Second); e.tiered.StaleSeries() > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("stale series not dropped 10 s after Redis came back")
		}
	}
	// Another gateway process, straight to Redis, on the same table.
	other, err := redis.New(redis.Config{Addrs: []string{redisAddr}})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := tiered.New(other, e.dynamo, tiered.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if got := mustRead(t, ts, q)[q]; len(got) != 6 || got[0].Member != w.Member {
		t.Fatalf("another process misses the event: %v", got)
	}
}

// Ping answers for the store as a whole: with Redis refusing connections it succeeds (the store
// serves from DynamoDB) and the store says degraded: redis, so /readyz names Redis at start
// and while it is down, before any read found out.
func TestPingNamesRedisDown(t *testing.T) {
	proxy := testenv.NewFaultProxy(t, testenv.Redis(t))
	e := newEnv(t, proxy.Addr(), tiered.Config{})
	ctx := context.Background()
	if err := e.tiered.Ping(ctx); err != nil || len(e.tiered.Degraded()) != 0 {
		t.Fatalf("healthy: %v, degraded %v", err, e.tiered.Degraded())
	}
	proxy.Set(testenv.Reset, 0)
	if err := e.tiered.Ping(ctx); err != nil {
		t.Fatalf("Redis down: Ping %v, want nil (DynamoDB serves)", err)
	}
	if d := e.tiered.Degraded(); len(d) != 1 || d[0] != "redis" {
		t.Fatalf("Redis down: degraded %v, want [redis]", d)
	}
}

// lateCache is a Redis whose next `late` static reads are late on the gateway's side — as when
// the reply of a large read waits for a core on a CPU-starved box: they return only when their
// budget has run out. PING and everything else go to Redis as they are.
type lateCache struct {
	*redis.Store
	late atomic.Int32
}

func (c *lateCache) ReadStaticCached(ctx context.Context, q store.StaticQuery, out []store.StaticValue, missing []int) ([]int, error) {
	if c.late.Add(-1) >= 0 {
		<-ctx.Done()
		return missing, ctx.Err()
	}
	return c.Store.ReadStaticCached(ctx, q, out, missing)
}

// TestLateReadOfAHealthyRedisKeepsTheBreakerClosed: a read that overruns its Redis budget falls
// back to DynamoDB and is answered exactly; whether the breaker opens is decided by a PING. A
// Redis that answers the PING in time stays in use (no fallback storm: the next reads are
// Redis's again); a hung Redis fails the PING too and the breaker opens.
func TestLateReadOfAHealthyRedisKeepsTheBreakerClosed(t *testing.T) {
	proxy := testenv.NewFaultProxy(t, testenv.Redis(t))
	r, err := redis.New(redis.Config{Addrs: []string{proxy.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	cache := &lateCache{Store: r}
	outcomes := &counter{}
	s, err := tiered.New(cache, newTable(t, &counter{}), tiered.Config{Observer: outcomes, RedisReadBudget: 50 * time.Millisecond, RedisRetryAfter: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	q := staticQuery(t, &env{tiered: s}, 10)
	read := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out := make([]store.StaticValue, q.Len())
		if err := s.ReadStatic(ctx, q, out); err != nil {
			t.Fatalf("read static: %v", err)
		}
		checkStatic(t, q, out)
	}
	read() // Redis learns the absent features (negative entries)
	s.WaitBackground()

	t.Run("healthy_redis_stays_in_use", func(t *testing.T) {
		cache.late.Store(1)
		before := outcomes.items("static fallback")
		read()
		if got := outcomes.items("static fallback") - before; got != q.Len() {
			t.Fatalf("the late read: want all %d values from DynamoDB, got %d", q.Len(), got)
		}
		s.WaitBackground() // the PING check
		if d := s.Degraded(); len(d) != 0 {
			t.Fatalf("Redis answered the PING: the breaker should stay closed, degraded %v", d)
		}
		if n := s.SlowRedisChecks(); n != 1 {
			t.Fatalf("want 1 PING check, got %d", n)
		}
		before = outcomes.items("static fallback")
		read()
		if got := outcomes.items("static fallback") - before; got != 0 {
			t.Fatalf("the next read should be Redis's, %d values came from DynamoDB", got)
		}
	})
	t.Run("hung_redis_opens_the_breaker", func(t *testing.T) {
		proxy.Set(testenv.Blackhole, 0)
		read()
		s.WaitBackground()
		if d := s.Degraded(); len(d) != 1 || d[0] != "redis" {
			t.Fatalf("Redis hung: the PING check should open the breaker, degraded %v", d)
		}
		if n := s.SlowRedisChecks(); n != 2 {
			t.Fatalf("want 2 PING checks, got %d", n)
		}
		before := outcomes.items("static fallback")
		read()
		if got := outcomes.items("static fallback") - before; got != q.Len() {
			t.Fatalf("with the breaker open: want all %d values from DynamoDB, got %d", q.Len(), got)
		}
	})
}
