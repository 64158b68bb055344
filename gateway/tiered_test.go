package gateway_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
	"net/http/httptest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// callLog is a store.Observer that keeps every backend call with its start and end.
type callLog struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	backend, op string
	items       int
	start, end  time.Time
}

func (c *callLog) BackendCall(backend, op string, items int, d time.Duration, _ error) {
	end := time.Now()
	c.mu.Lock()
	c.calls = append(c.calls, call{backend, op, items, end.Add(-d), end})
	c.mu.Unlock()
}
func (c *callLog) Cache(string, bool) {}

func (c *callLog) reset() { c.mu.Lock(); c.calls = nil; c.mu.Unlock() }

func (c *callLog) of(backend, op string) []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []call
	for _, x := range c.calls {
		if x.backend == backend && x.op == op {
			out = append(out, x)
		}
	}
	return out
}

// maxOverlap is the largest number of calls in flight at once.
func maxOverlap(calls []call) int {
	type ev struct {
		t     time.Time
		delta int
	}
	var evs []ev
	for _, c := range calls {
		evs = append(evs, ev{c.start, 1}, ev{c.end, -1})
	}
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].t.Equal(evs[j].t) {
			return evs[i].delta < evs[j].delta
		}
		return evs[i].t.Before(evs[j].t)
	})
	cur, best := 0, 0
	for _, e := range evs {
		cur += e.delta
		best = max(best, cur)
	}
	return best
}

// On DynamoDB + Redis with the in-process cache off, a user with 5 static and 3 action features
// costs two Redis pipelines (statics and actions) and no DynamoDB call; 500 ids × 2 features of
// which one was never written cost one pipeline of 500 HMGETs and, the first time, ⌈500/100⌉ = 5
// BatchGetItem calls run concurrently for the missing feature, remembered as negative entries.
//
// Both executors (batchingExecutors in gateway_test.go), each on its own Redis and table.
func TestTieredStoreCallCounts(t *testing.T) {
	// Parallel: its gqlgen half waits a second per level for batches to form (Loader.Wait),
	// time the other tests of the package can use.
	t.Parallel()
	for _, ex := range batchingExecutors {
		t.Run(ex.name, func(t *testing.T) { testTieredStoreCallCounts(t, ex.config) })
	}
}

func testTieredStoreCallCounts(t *testing.T, config func(*gateway.Config)) {
	ctx := context.Background()
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	log := &callLog{}
	dcfg := dynamodb.DefaultConfig()
	dcfg.Endpoint, dcfg.Table, dcfg.Observer, dcfg.Values = testenv.DynamoDB(t), fmt.Sprintf("fg_gw_%d", time.Now().UnixNano()), log, reg
	ddb, err := dynamodb.New(ctx, dcfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ddb.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	rcfg := redis.DefaultConfig()
	rcfg.Addrs, rcfg.Observer = []string{testenv.NewRedis(t).Addr()}, log
	rs, err := redis.New(rcfg)
	if err != nil {
		t.Fatal(err)
	}
	tcfg := tiered.DefaultConfig()
	tcfg.Observer = log
	ts, err := tiered.New(rs, ddb, tcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()

	now := time.Now()
	user := reg.Entity("user")
	var statics []store.StaticWrite
	for _, f := range []string{"os", "region_id", "is_verified", "manner_temperature", "last_active_at"} {
		v, _ := registry.ToValue(user.Feature(f).Type, registry.Single, map[string]any{"os": "ios", "region_id": 6, "is_verified": true, "manner_temperature": 40.0, "last_active_at": "2026-10-01T00:00:00Z"}[f])
		statics = append(statics, store.StaticWrite{Key: store.Key{Prefix: "u", ID: "1", Feature: f}, Value: v, TS: 1})
	}
	for i := 0; i < 500; i++ {
		statics = append(statics, store.StaticWrite{Key: store.Key{Prefix: "c:flea", ID: fmt.Sprint(i), Feature: "price"}, Value: store.IntValue(int64(i)), TS: 1})
	}
	if err := ts.WriteStatic(ctx, statics); err != nil {
		t.Fatal(err)
	}
	var actions []store.ActionWrite
	for _, f := range []string{"recent_clicked_articles", "recent_purchases", "recent_searches"} {
		feat := user.Feature(f)
		for i := 0; i < 3; i++ {
			v, _ := registry.CoerceScalar(feat.Fields[0].Type, i) // an Int id or a String query
			m, _ := store.EncodeMember(map[string]any{feat.Fields[0].Name: v}, now.UnixMilli()-int64(i*1000), feat.Dedupe)
			actions = append(actions, store.ActionWrite{Key: store.Key{Prefix: "u", ID: "1", Feature: f}, TS: now.UnixMilli() - int64(i*1000), Member: m, MaxCount: feat.MaxCount, TTL: feat.TTL})
		}
	}
	if err := ts.WriteActions(ctx, actions); err != nil {
		t.Fatal(err)
	}

	gcfg := gateway.DefaultConfig()
	config(&gcfg)
	g, err := gateway.New(gcfg, reg, ts, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	e := &env{t: t, srv: srv, reg: reg}

	userQuery := `{ user(id: 1) { os regionId isVerified mannerTemperature lastActiveAt
		recentClickedArticles { articleId } recentPurchases { price } recentSearches { query } } }`
	// The first read finds no series in Redis (ingestion writes Redis only for series it holds),
	// falls back to DynamoDB and refills Redis; from then on reads are Redis hits.
	if r, _ := e.query(userQuery, nil); len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	ts.WaitBackground()
	log.reset()
	r, _ := e.query(userQuery, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	if !strings.Contains(string(r.Data), `"os":"ios"`) || !strings.Contains(string(r.Data), `{"articleId":2}`) {
		t.Fatalf("unexpected answer %s", r.Data)
	}
	if n := len(log.of("dynamodb", "BatchGetItem")); n != 0 {
		t.Errorf("one user, 5 static features held by Redis: want no BatchGetItem, got %d", n)
	}
	if p := log.of("redis", "pipeline"); len(p) != 2 || min(p[0].items, p[1].items) != 1 {
		t.Errorf("one user, 5 static and 3 action features: want 2 Redis pipelines (one of 1 HMGET, one of action commands), got %+v", p)
	}
	if n := len(log.of("dynamodb", "Query")); n != 0 {
		t.Errorf("action features held by Redis: want no DynamoDB Query, got %d", n)
	}

	ids := make([]string, 500)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	log.reset()
	r, _ = e.query(`{ articles(ids: [`+strings.Join(ids, ",")+`]) { price category } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	if !strings.Contains(string(r.Data), `{"price":499,"category":null}`) {
		t.Fatalf("unexpected answer %.200s", r.Data)
	}
	gets := log.of("dynamodb", "BatchGetItem")
	if len(gets) != 5 {
		t.Fatalf("500 ids × 1 feature Redis does not hold = 500 keys: want 5 BatchGetItem calls, got %d", len(gets))
	}
	for _, c := range gets {
		if c.items != 100 {
			t.Fatalf("want 100 keys per BatchGetItem, got %d", c.items)
		}
	}
	if o := maxOverlap(gets); o < 2 {
		t.Errorf("BatchGetItem calls should run concurrently; at most %d ran at once", o)
	}
	ts.WaitBackground() // the negative entries
	log.reset()
	if r, _ = e.query(`{ articles(ids: [`+strings.Join(ids, ",")+`]) { price category } }`, nil); len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	if n := len(log.of("dynamodb", "BatchGetItem")); n != 0 {
		t.Errorf("absent features are negative entries in Redis: want no BatchGetItem, got %d", n)
	}
	if p := log.of("redis", "pipeline"); len(p) != 1 || p[0].items != 500 {
		t.Errorf("500 ids: want one pipeline of 500 HMGETs, got %+v", p)
	}
}
