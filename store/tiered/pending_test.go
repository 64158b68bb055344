package tiered_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

// direct is a Redis client straight to addr (no fault proxy): what other gateway processes see.
func direct(t *testing.T, addr string) *redis.Store {
	t.Helper()
	r, err := redis.New(redis.Config{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// waitNoPending waits (at most 10 s) until the store has no pending static or series left.
func waitNoPending(t *testing.T, s *tiered.Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.PendingStatics()+s.StaleSeries() > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after Redis came back: %d statics, %d series still pending", s.PendingStatics(), s.StaleSeries())
		}
	}
}

func wantStatic(t *testing.T, what string, r store.StaticReader, k store.Key, str string, ts int64) {
	t.Helper()
	got, err := store.ReadKey(context.Background(), r, k)
	if err != nil || got.Kind != store.String || got.Str != str || got.TS != ts {
		t.Fatalf("%s: want %q @%d, got %v @%d (%v)", what, str, ts, got.Value, got.TS, err)
	}
}

// TestFailedStaticWriteSucceedsAndReachesRedisLater: a static write whose Redis write-through
// fails succeeds once DynamoDB has it (ingestion is not held up); this process reads the new
// value, never Redis's old one, not even from its in-process cache, while Redis still holds the
// old one; once Redis takes writes again the background loop brings it to the new value. With
// Redis out of memory it still answers reads (with the old value), which is what this process
// must not believe; with connections reset it answers nothing.
func TestFailedStaticWriteSucceedsAndReachesRedisLater(t *testing.T) {
	for _, fault := range []string{"redis_resets", "redis_out_of_memory"} {
		t.Run(fault, func(t *testing.T) {
			ctx := context.Background()
			srv := testenv.NewRedis(t)
			proxy := testenv.NewFaultProxy(t, srv.Addr())
			e := newEnv(t, proxy.Addr(), tiered.Config{RedisRetryAfter: -1, StaticCacheTTL: time.Minute, StaticCacheSize: 1 << 20})
			other := direct(t, srv.Addr())
			k := newKey("os")
			now := time.Now().UnixMilli()
			mustWriteStatic(t, e.tiered, store.StaticWrite{Key: k, Value: store.StringValue("old"), TS: now - 1000})
			wantStatic(t, "before the fault", e.tiered, k, "old", now-1000) // and in the in-process cache

			on, off := func() { proxy.Set(testenv.Reset, 0) }, func() { proxy.Set(testenv.Pass, 0) }
			if fault == "redis_out_of_memory" {
				on = func() { other.Client().ConfigSet(ctx, "maxmemory", "1") }
				off = func() { other.Client().ConfigSet(ctx, "maxmemory", "0") }
			}
			on()
			if err := e.tiered.WriteStatic(ctx, []store.StaticWrite{{Key: k, Value: store.StringValue("new"), TS: now}}); err != nil {
				t.Fatalf("write with Redis failing: %v (ingestion would be blocked)", err)
			}
			wantStatic(t, "DynamoDB", e.dynamo, k, "new", now)
			wantStatic(t, "Redis, until it takes writes", other, k, "old", now-1000)
			if n := e.tiered.PendingStatics(); n != 1 {
				t.Fatalf("want 1 pending static, got %d", n)
			}
			for range 3 { // the second and third would be in-process cache hits
				wantStatic(t, "this process, while pending", e.tiered, k, "new", now)
			}
			e.tiered.WaitBackground()
			wantStatic(t, "Redis, not refilled by the reads", other, k, "old", now-1000)

			off()
			waitNoPending(t, e.tiered)
			wantStatic(t, "Redis after the background write", other, k, "new", now)
			wantStatic(t, "this process after recovery", e.tiered, k, "new", now)
		})
	}
}

// flakyCache fails Redis writes on demand (reads work: Redis answers what it holds) and runs
// onDrop after the first EndRefill that drops series.
type flakyCache struct {
	*redis.Store
	failWrites atomic.Bool
	onDrop     func()
	dropOnce   sync.Once
}

var errWriteFailed = &store.BackendError{Backend: "redis", Op: "write", Err: store.ErrUnavailable}

func (c *flakyCache) WriteStatic(ctx context.Context, ws []store.StaticWrite) error {
	if c.failWrites.Load() {
		return errWriteFailed
	}
	return c.Store.WriteStatic(ctx, ws)
}

func (c *flakyCache) WriteActionsIfPresent(ctx context.Context, ws []store.ActionWrite) error {
	if c.failWrites.Load() {
		return errWriteFailed
	}
	return c.Store.WriteActionsIfPresent(ctx, ws)
}

func (c *flakyCache) EndRefill(ctx context.Context, keys []store.Key, drop bool) error {
	err := c.Store.EndRefill(ctx, keys, drop)
	if err == nil && drop && c.onDrop != nil {
		c.dropOnce.Do(c.onDrop)
	}
	return err
}

// hookedSource runs onRead once, after the first static read from DynamoDB made after it is set.
type hookedSource struct {
	*dynamodb.Store
	mu     sync.Mutex
	onRead func()
}

func (s *hookedSource) ReadStaticKeys(ctx context.Context, keys []store.Key, out []store.StaticValue) error {
	err := s.Store.ReadStaticKeys(ctx, keys, out)
	s.mu.Lock()
	f := s.onRead
	s.onRead = nil
	s.mu.Unlock()
	if err == nil && f != nil {
		f()
	}
	return err
}

func (s *hookedSource) hook(f func()) {
	s.mu.Lock()
	s.onRead = f
	s.mu.Unlock()
}

// inLoop reports the error of a write made from a hook, on the store's background goroutine
// (where t.Fatal must not be called).
func inLoop(t *testing.T, err error) {
	if err != nil {
		t.Errorf("write from the hook: %v", err)
	}
}

// newFlaky is a tiered store over a flakyCache on addr and a hookedSource.
func newFlaky(t *testing.T, addr string) (*tiered.Store, *flakyCache, *hookedSource) {
	t.Helper()
	r, err := redis.New(redis.Config{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	c := &flakyCache{Store: r}
	src := &hookedSource{Store: newTable(t, nil)}
	s, err := tiered.New(c, src, tiered.Config{RedisRetryAfter: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c, src
}

// The background write-through of a pending static carries what DynamoDB held when it read it;
// a newer value written (and written through) since must not be undone in Redis.
func TestPendingStaticNeverUndoesANewerWrite(t *testing.T) {
	addr := testenv.Redis(t)
	s, cache, src := newFlaky(t, addr)
	k := newKey("os")
	mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("v0"), TS: 1000})
	cache.failWrites.Store(true)
	// The loop's first read answers v1; before it writes v1 through, v2 is written everywhere.
	src.hook(func() {
		cache.failWrites.Store(false)
		inLoop(t, s.WriteStatic(context.Background(), []store.StaticWrite{{Key: k, Value: store.StringValue("v2"), TS: 3000}}))
	})
	mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("v1"), TS: 2000})
	waitNoPending(t, s)
	wantStatic(t, "Redis", direct(t, addr), k, "v2", 3000)
	wantStatic(t, "the tiered store", s, k, "v2", 3000)
}

// A static write that fails while the background loop works on its key keeps the key pending
// (the loop had read the older value): Redis ends with the newer value.
func TestStaticFailingDuringTheLoopStaysPending(t *testing.T) {
	addr := testenv.Redis(t)
	s, cache, src := newFlaky(t, addr)
	k := newKey("os")
	cache.failWrites.Store(true)
	// The loop's first read answers v1; then v2 is written, and fails in Redis again; then
	// Redis takes writes (the loop's write of v1 succeeds).
	src.hook(func() {
		inLoop(t, s.WriteStatic(context.Background(), []store.StaticWrite{{Key: k, Value: store.StringValue("v2"), TS: 3000}}))
		cache.failWrites.Store(false)
	})
	mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("v1"), TS: 2000})
	waitNoPending(t, s)
	wantStatic(t, "Redis", direct(t, addr), k, "v2", 3000)
}

// The same for an action series: a write that fails in Redis while the loop drops the series
// — after another process refilled it from a DynamoDB read older than that write — keeps the
// series stale, so it is dropped again and the next read through Redis has the event.
func TestSeriesFailingDuringTheDropStaysStale(t *testing.T) {
	ctx := context.Background()
	addr := testenv.Redis(t)
	s, cache, src := newFlaky(t, addr)
	k := newKey("clicks")
	old := events(k, 3, 3, 10, true)
	mustWrite(t, s, old...)
	q := store.ActionQuery{Key: k, Count: 10, MaxCount: 10, Dedupe: true}
	mustRead(t, s, q) // refilled
	s.WaitBackground()
	other := direct(t, addr)
	base := time.Now().UnixMilli()
	w, late := old[0], old[0]
	w.TS, w.Member = base, `{"article_id":66}`
	late.TS, late.Member = base+1, `{"article_id":77}`
	cache.onDrop = func() {
		// Another process refills the series from what it read before the late write...
		if err := other.WriteActions(ctx, old); err != nil {
			t.Error(err)
		}
		// ...and the late write fails in Redis.
		inLoop(t, s.WriteActions(ctx, []store.ActionWrite{late}))
	}
	cache.failWrites.Store(true)
	mustWrite(t, s, w) // fails in Redis: the series is stale, the loop drops it
	waitNoPending(t, s)
	// Another gateway process, reading through Redis (refilled from DynamoDB on a miss).
	ts, err := tiered.New(direct(t, addr), src.Store, tiered.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, ts, q)[q]; len(got) != 5 || got[0].Member != late.Member {
		t.Fatalf("another process misses the late event: %v", got)
	}
}

// A failover loses the writes the dead master had not replicated: when a Redis write fails, the
// statics written in the 10 s before it are pending too, and brought back to DynamoDB's value.
// The promoted replica is played by Redis itself, set back to the value before the last write.
func TestFailedWriteMarksRecentStaticsPending(t *testing.T) {
	ctx := context.Background()
	for _, failed := range []string{"static", "action"} {
		t.Run("after_a_failed_"+failed+"_write", func(t *testing.T) {
			addr := testenv.Redis(t)
			s, cache, _ := newFlaky(t, addr)
			other := direct(t, addr)
			k := newKey("os")
			mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("v1"), TS: 1000})
			mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("v2"), TS: 2000})
			// The failover: the replica never got v2.
			if err := other.DeleteStatic(ctx, []store.Key{k}); err != nil {
				t.Fatal(err)
			}
			if err := other.WriteStatic(ctx, []store.StaticWrite{{Key: k, Value: store.StringValue("v1"), TS: 1000}}); err != nil {
				t.Fatal(err)
			}
			cache.failWrites.Store(true)
			if failed == "static" {
				mustWriteStatic(t, s, store.StaticWrite{Key: newKey("os"), Value: store.StringValue("x"), TS: 1})
			} else {
				mustWrite(t, s, events(newKey("clicks"), 1, 1, 10, true)...)
			}
			if n := s.PendingStatics(); n < 1 {
				t.Fatalf("the static written just before the failure is not pending")
			}
			wantStatic(t, "this process, while pending", s, k, "v2", 2000)
			cache.failWrites.Store(false)
			waitNoPending(t, s)
			wantStatic(t, "Redis after the background write", other, k, "v2", 2000)
		})
	}
}

// TestCloseWritesPendingThrough: Redis is back while the loop waits out its back-off and the
// process stops (the ingest worker after its last Kafka commit): Close brings Redis up to date
// before it returns instead of leaving the static stale in Redis for every other gateway.
func TestCloseWritesPendingThrough(t *testing.T) {
	srv := testenv.NewRedis(t)
	r, err := redis.New(redis.Config{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	c := &flakyCache{Store: r}
	s, err := tiered.New(c, newTable(t, nil), tiered.Config{RedisRetryAfter: -1})
	if err != nil {
		t.Fatal(err)
	}
	other := direct(t, srv.Addr())
	k := newKey("os")
	now := time.Now().UnixMilli()
	mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("old"), TS: now - 1000})
	c.failWrites.Store(true)
	mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("new"), TS: now})
	// Let the loop fail a few rounds so that it waits in its back-off (up to 2 s).
	time.Sleep(300 * time.Millisecond)
	if n := s.PendingStatics(); n != 1 {
		t.Fatalf("want 1 pending static before Close, got %d", n)
	}
	c.failWrites.Store(false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.PendingStatics(); n != 0 {
		t.Errorf("%d statics still pending after Close with Redis up", n)
	}
	wantStatic(t, "Redis after Close", other, k, "new", now)
}
