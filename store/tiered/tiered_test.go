package tiered_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/storetest"
	"github.com/featuregraph/featuregraph/store/tiered"
)

func TestMain(m *testing.M) {
	goredis.SetLogger(quiet{}) // dial failures are expected while Redis is stopped
	testenv.Main(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// counter counts backend calls and their items by op, errors by op and cause, and cache
// outcomes by cache and hit.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
	nitem map[string]int
	errOf map[string][]error
	cache map[string]int
}

func (c *counter) BackendCall(_, op string, items int, _ time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls, c.nitem, c.errOf = map[string]int{}, map[string]int{}, map[string][]error{}
	}
	c.calls[op]++
	c.nitem[op] += items
	if err != nil {
		c.errOf[op] = append(c.errOf[op], err)
	}
}

// items returns the items carried by the calls of op.
func (c *counter) items(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nitem[op]
}

// errs returns how many calls of op failed with target.
func (c *counter) errs(op string, target error) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, err := range c.errOf[op] {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

func (c *counter) Cache(name string, hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil {
		c.cache = map[string]int{}
	}
	c.cache[fmt.Sprintf("%s:%v", name, hit)]++
}

func (c *counter) call(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

func (c *counter) outcome(name string, hit bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cache[fmt.Sprintf("%s:%v", name, hit)]
}

// env is a tiered store over its own DynamoDB table and the given Redis, with counters on
// every layer.
type env struct {
	tiered     *tiered.Store
	redis      *redis.Store
	dynamo     *dynamodb.Store
	redisCalls *counter // Redis pipelines
	dynCalls   *counter // DynamoDB API calls
	outcomes   *counter // tiered cache outcomes
}

var tableSeq atomic.Int64

func newTable(t *testing.T, obs store.Observer) *dynamodb.Store {
	t.Helper()
	ctx := context.Background()
	d, err := dynamodb.New(ctx, dynamodb.Config{
		Endpoint: testenv.DynamoDB(t), Region: "us-east-1", Observer: obs, Values: storetest.Values,
		Table: fmt.Sprintf("tiered_%d_%d", time.Now().UnixNano()%1e9, tableSeq.Add(1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func newEnv(t *testing.T, redisAddr string, cfg tiered.Config) *env {
	t.Helper()
	e := &env{redisCalls: &counter{}, dynCalls: &counter{}, outcomes: &counter{}}
	var err error
	e.redis, err = redis.New(redis.Config{Addrs: []string{redisAddr}, Observer: e.redisCalls})
	if err != nil {
		t.Fatal(err)
	}
	e.dynamo = newTable(t, e.dynCalls)
	cfg.Observer = e.outcomes
	e.tiered, err = tiered.New(e.redis, e.dynamo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.tiered.Close() })
	return e
}

func TestContract(t *testing.T) {
	configs := []struct {
		name string
		cfg  tiered.Config
	}{
		{"defaults", tiered.Config{}},
		{"in_process_cache", tiered.Config{StaticCacheTTL: time.Minute, StaticCacheSize: 1 << 20}},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, newEnv(t, testenv.Redis(t), c.cfg).tiered)
		})
	}
}

// TestFilterAndPointInTimeContract runs the filter and point-in-time suites with Redis warm
// (answered from Redis where it holds the answer) and with Redis flushed before every read (the
// DynamoDB fallback answers, with its filter expression).
func TestFilterAndPointInTimeContract(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		e := newEnv(t, testenv.Redis(t), tiered.Config{})
		storetest.RunFilter(t, e.tiered, storetest.Options{})
		storetest.RunPointInTime(t, e.tiered, storetest.Options{})
	})
	for _, c := range []struct {
		name string
		cfg  tiered.Config
	}{{"fallback_refill", tiered.Config{}}, {"fallback_query", tiered.Config{RefillMaxEvents: 1}}} {
		t.Run(c.name, func(t *testing.T) {
			addr := testenv.Redis(t)
			e := newEnv(t, addr, c.cfg)
			client := goredis.NewClient(&goredis.Options{Addr: addr})
			t.Cleanup(func() { client.Close() })
			flush := func(t *testing.T) {
				e.tiered.WaitBackground()
				if err := client.FlushDB(context.Background()).Err(); err != nil {
					t.Fatal(err)
				}
			}
			storetest.RunFilter(t, e.tiered, storetest.Options{BeforeRead: flush})
			storetest.RunPointInTime(t, e.tiered, storetest.Options{BeforeRead: flush})
		})
	}
}

var keySeq atomic.Int64

func newKey(feature string) store.Key {
	return store.Key{Prefix: "tt", ID: fmt.Sprint(keySeq.Add(1)), Feature: feature}
}

func mustWrite(t *testing.T, s store.Writer, ws ...store.ActionWrite) {
	t.Helper()
	if err := s.WriteActions(context.Background(), ws); err != nil {
		t.Fatalf("write actions: %v", err)
	}
}

func mustRead(t *testing.T, s store.Reader, qs ...store.ActionQuery) map[store.ActionQuery][]store.ActionEvent {
	t.Helper()
	got, err := s.ReadActions(context.Background(), qs)
	if err != nil {
		t.Fatalf("read actions: %v", err)
	}
	return got
}

// events returns n events of k, one second apart from now-n s, cycling through members
// members (so there are repeats), each expiring in a day.
func events(k store.Key, n, members, maxCount int, dedupe bool) []store.ActionWrite {
	now := time.Now().UnixMilli()
	var ws []store.ActionWrite
	for i := range n {
		ts := now - int64(n-i)*1000
		m, _ := store.EncodeMember(map[string]any{"article_id": i % members}, ts, dedupe)
		ws = append(ws, store.ActionWrite{Key: k, TS: ts, Member: m, MaxCount: maxCount, TTL: 24 * time.Hour})
	}
	return ws
}

// prime puts k into Redis the way production does: a read falls back and refills it.
func prime(t *testing.T, e *env, q store.ActionQuery) {
	t.Helper()
	mustRead(t, e.tiered, q)
	e.tiered.WaitBackground()
	if n := e.redis.Client().Exists(context.Background(), q.Key.String()).Val(); n != 1 {
		t.Fatalf("key %s was not refilled into Redis", q.Key)
	}
}

func TestFallbackAnswersExactlyAsRedis(t *testing.T) {
	ctx := context.Background()
	srv := testenv.NewRedis(t)
	e := newEnv(t, srv.Addr(), tiered.Config{})
	const maxCount = 10
	features := []struct {
		name   string
		dedupe bool
	}{{"dedupe", true}, {"no_dedupe", false}}
	var qs []store.ActionQuery
	for _, f := range features {
		k := newKey(f.name)
		ws := events(k, 2*maxCount+5, 7, maxCount, f.dedupe) // 2×maxCount events, 7 distinct fields
		mustWrite(t, e.tiered, ws[0])
		prime(t, e, store.ActionQuery{Key: k, Count: 1, Dedupe: f.dedupe, MaxCount: maxCount})
		for start := 1; start < len(ws); start += 4 {
			mustWrite(t, e.tiered, ws[start:min(start+4, len(ws))]...)
		}
		mustWrite(t, e.tiered, ws[3]) // a redelivery of an old event
		for _, count := range []int{1, 5, maxCount} {
			for _, minTS := range []int64{0, ws[len(ws)-6].TS, ws[len(ws)-1].TS + 1} {
				qs = append(qs, store.ActionQuery{Key: k, Count: count, MinTS: minTS, Dedupe: f.dedupe, MaxCount: maxCount})
			}
		}
	}
	queriesBefore := e.dynCalls.call("Query")
	fromRedis := mustRead(t, e.tiered, qs...)
	if n := e.dynCalls.call("Query"); n != queriesBefore {
		t.Fatalf("reads with every key in Redis made %d DynamoDB queries", n-queriesBefore)
	}
	if err := e.redis.Client().FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	fromDynamo := mustRead(t, e.tiered, qs...)
	if e.dynCalls.call("Query") == queriesBefore {
		t.Fatal("after FLUSHALL the reads did not fall back to DynamoDB")
	}
	nonEmpty := 0
	for _, q := range qs {
		if len(fromRedis[q]) > 0 {
			nonEmpty++
		}
		if len(fromRedis[q]) == 0 && len(fromDynamo[q]) == 0 {
			continue
		}
		if !reflect.DeepEqual(fromRedis[q], fromDynamo[q]) {
			t.Errorf("%s count %d min %d:\nredis    %v\ndynamodb %v", q.Key.Feature, q.Count, q.MinTS, fromRedis[q], fromDynamo[q])
		}
	}
	if nonEmpty < len(qs)/2 {
		t.Fatalf("only %d of %d queries found events", nonEmpty, len(qs))
	}
}

func TestRefillServesTheNextReadFromRedis(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testenv.Redis(t), tiered.Config{})
	k := newKey("clicks")
	ws := events(k, 8, 8, 5, true)
	mustWrite(t, e.tiered, ws...)
	q := store.ActionQuery{Key: k, Count: 3, Dedupe: true, MaxCount: 5}
	tests := []struct {
		name        string
		wantQueries int // DynamoDB queries this read makes
	}{{"first_read_falls_back", 1}, {"second_read_is_served_by_redis", 0}}
	var answers [][]store.ActionEvent
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.dynCalls.call("Query")
			answers = append(answers, mustRead(t, e.tiered, q)[q])
			if got := e.dynCalls.call("Query") - before; got != tt.wantQueries {
				t.Fatalf("want %d DynamoDB queries, got %d", tt.wantQueries, got)
			}
			e.tiered.WaitBackground()
		})
	}
	if len(answers) != 2 || len(answers[0]) != 3 || !reflect.DeepEqual(answers[0], answers[1]) {
		t.Fatalf("the two reads differ or are short: %v", answers)
	}
	// The refill loaded the whole series Redis would hold (MaxCount), with the events' expiry.
	if n := e.redis.Client().ZCard(ctx, k.String()).Val(); n != 5 {
		t.Fatalf("want 5 events refilled, got %d", n)
	}
	wantExp := ws[len(ws)-1].ExpireAt()
	if got := int64(e.redis.Client().ExpireTime(ctx, k.String()).Val() / time.Second); got != wantExp {
		t.Fatalf("refilled key expires at %d, want %d", got, wantExp)
	}
	if e.outcomes.outcome("actions", true) == 0 || e.outcomes.outcome("actions", false) == 0 {
		t.Fatalf("want both action hits and misses counted, got %v", e.outcomes.cache)
	}
}

func TestNegativeCache(t *testing.T) {
	e := newEnv(t, testenv.Redis(t), tiered.Config{NegativeTTL: 5 * time.Second})
	now := time.Now()
	var mu sync.Mutex
	e.tiered.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	k := newKey("clicks")
	q := store.ActionQuery{Key: k, Count: 3, MinTS: 1, Dedupe: true, MaxCount: 5}
	steps := []struct {
		name        string
		before      func()
		wantQueries int
		wantEvents  int
	}{
		{"empty_entity_queries_dynamodb", nil, 1, 0},
		{"again_within_ttl_is_answered_from_the_negative_cache", func() { advance(4 * time.Second) }, 0, 0},
		{"after_ttl_queries_dynamodb_again", func() { advance(2 * time.Second) }, 1, 0},
		{"a_write_through_the_store_forgets_the_key", func() {
			mustWrite(t, e.tiered, events(k, 1, 1, 5, true)...)
		}, 1, 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			before := e.dynCalls.call("Query")
			got := mustRead(t, e.tiered, q)
			if n := e.dynCalls.call("Query") - before; n != st.wantQueries {
				t.Fatalf("want %d DynamoDB queries, got %d", st.wantQueries, n)
			}
			if len(got[q]) != st.wantEvents {
				t.Fatalf("want %d events, got %v", st.wantEvents, got[q])
			}
		})
	}
	if e.outcomes.outcome("negative", true) != 1 {
		t.Fatalf("want one negative-cache hit counted, got %v", e.outcomes.cache)
	}
}

func TestWritesNeverRecreateAnEvictedKey(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testenv.Redis(t), tiered.Config{})
	k := newKey("clicks")
	ws := events(k, 6, 6, 10, true)
	mustWrite(t, e.tiered, ws[:5]...)
	q := store.ActionQuery{Key: k, Count: 10, Dedupe: true, MaxCount: 10}
	prime(t, e, q)
	e.redis.Client().Del(ctx, k.String()) // evicted
	mustWrite(t, e.tiered, ws[5])
	if n := e.redis.Client().Exists(ctx, k.String()).Val(); n != 0 {
		t.Fatal("a write recreated the evicted key holding only the newest event")
	}
	if got := mustRead(t, e.tiered, q)[q]; len(got) != 6 {
		t.Fatalf("want all 6 events after the fallback, got %v", got)
	}
}

func TestRedisStoppedMidTest(t *testing.T) {
	ctx := context.Background()
	srv := testenv.NewRedis(t)
	e := newEnv(t, srv.Addr(), tiered.Config{RedisRetryAfter: -1})
	k, sk := newKey("clicks"), newKey("os")
	mustWrite(t, e.tiered, events(k, 4, 4, 10, true)...)
	if err := e.tiered.WriteStatic(ctx, []store.StaticWrite{{Key: sk, Value: store.StringValue("ios"), TS: 1}}); err != nil {
		t.Fatal(err)
	}
	q := store.ActionQuery{Key: k, Count: 10, Dedupe: true, MaxCount: 10}
	prime(t, e, q)
	want := mustRead(t, e.tiered, q)[q]
	if len(want) != 4 {
		t.Fatalf("want 4 events, got %v", want)
	}
	srv.Stop()
	t.Run("action_reads_answer_from_dynamodb", func(t *testing.T) {
		before := e.dynCalls.call("Query")
		if got := mustRead(t, e.tiered, q)[q]; !reflect.DeepEqual(got, want) {
			t.Fatalf("want %v, got %v", want, got)
		}
		if e.dynCalls.call("Query") == before {
			t.Fatal("the read did not fall back to DynamoDB")
		}
	})
	t.Run("static_reads_answer_from_dynamodb", func(t *testing.T) {
		before := e.dynCalls.call("BatchGetItem")
		got, err := store.ReadKey(ctx, e.tiered, sk)
		if err != nil || got.Str != "ios" {
			t.Fatalf("want ios, got %v, %v", got.Value, err)
		}
		if e.dynCalls.call("BatchGetItem") != before+1 {
			t.Fatal("the static read did not go to DynamoDB")
		}
	})
	t.Run("writes_succeed_once_dynamodb_has_them", func(t *testing.T) {
		// DynamoDB is the commit point: the write succeeds, the series is marked stale and read
		// from DynamoDB until Redis has dropped it (pending.go).
		w := events(k, 1, 1, 10, true)[0]
		w.Member = `{"article_id":99}`
		if err := e.tiered.WriteActions(ctx, []store.ActionWrite{w}); err != nil {
			t.Fatalf("write with Redis down: %v", err)
		}
		got := mustRead(t, e.dynamo, q)[q] // DynamoDB took the write first
		if len(got) == 0 || got[0].Member != w.Member {
			t.Fatalf("DynamoDB does not hold the write: %v", got)
		}
		if n := e.tiered.StaleSeries(); n != 1 {
			t.Fatalf("want 1 stale series, got %d", n)
		}
		if got := mustRead(t, e.tiered, q)[q]; len(got) != 5 || got[0].Member != w.Member {
			t.Fatalf("the stale series is not read from DynamoDB: %v", got)
		}
	})
	srv.Start() // empty: every key falls back and is refilled
	t.Run("after_restart_reads_refill_redis", func(t *testing.T) {
		for deadline := time.Now().Add(10 * time.Second); e.tiered.StaleSeries() > 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the stale series was not dropped from Redis 10 s after it came back")
			}
		}
		got := mustRead(t, e.tiered, q)[q]
		if len(got) != 5 {
			t.Fatalf("want 5 events, got %v", got)
		}
		e.tiered.WaitBackground()
		if n := e.redis.Client().ZCard(ctx, k.String()).Val(); n != 5 {
			t.Fatalf("want the series refilled, Redis holds %d events", n)
		}
	})
}

func TestRedisFailureSkipsRedisForAWhile(t *testing.T) {
	srv := testenv.NewRedis(t)
	e := newEnv(t, srv.Addr(), tiered.Config{RedisRetryAfter: time.Second})
	now := time.Now()
	var mu sync.Mutex
	e.tiered.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	q := store.ActionQuery{Key: newKey("clicks"), Count: 1, MinTS: 1, MaxCount: 5}
	srv.Stop()
	steps := []struct {
		name      string
		advance   time.Duration
		wantRedis int // Redis round trips the read attempts
	}{
		{"first_read_tries_redis", 0, 1},
		{"within_retry_after_skips_redis", 500 * time.Millisecond, 0},
		{"after_retry_after_tries_again", time.Second, 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			mu.Lock()
			now = now.Add(st.advance)
			mu.Unlock()
			before := e.redisCalls.call("pipeline")
			mustRead(t, e.tiered, q)
			if n := e.redisCalls.call("pipeline") - before; n != st.wantRedis {
				t.Fatalf("want %d Redis round trips, got %d", st.wantRedis, n)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     tiered.Config
		wantErr []string
	}{
		{"zero_is_defaults", tiered.Config{}, nil},
		{"defaults", tiered.DefaultConfig(), nil},
		{"negatives", tiered.Config{RefillConcurrency: -1, StaticCacheTTL: -1, StaticCacheSize: -1}, []string{"RefillConcurrency", "StaticCacheTTL", "StaticCacheSize"}},
		{"tiny_cache_ttl", tiered.Config{StaticCacheTTL: time.Microsecond}, []string{"StaticCacheTTL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != (len(tt.wantErr) > 0) {
				t.Fatalf("want errors %v, got %v", tt.wantErr, err)
			}
			for _, f := range tt.wantErr {
				if !strings.Contains(err.Error(), f+":") {
					t.Fatalf("error does not name field %s: %v", f, err)
				}
			}
		})
	}
}
