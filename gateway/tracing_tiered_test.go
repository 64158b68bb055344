package gateway_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
	"github.com/featuregraph/featuregraph/store/traced"
	"github.com/featuregraph/featuregraph/tracing"
)

// On DynamoDB + Redis the store spans show each backend call: the first read of a series Redis
// does not hold is a Redis miss and a DynamoDB fallback (then a background refill, in a trace
// of its own); the second read is a Redis hit with no DynamoDB call.
func TestTracingTieredBackends(t *testing.T) {
	ctx := context.Background()
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tr := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	dcfg := dynamodb.DefaultConfig()
	dcfg.Endpoint, dcfg.Table = testenv.DynamoDB(t), fmt.Sprintf("fg_trace_%d", time.Now().UnixNano())
	ddb, err := dynamodb.New(ctx, dcfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ddb.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	rcfg := redis.DefaultConfig()
	rcfg.Addrs = []string{testenv.NewRedis(t).Addr()}
	rs, err := redis.New(rcfg)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := tiered.New(traced.Cache(rs, tr), traced.Source(ddb, tr), tiered.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	st := traced.Wrap(ts, tr, "dynamodb+redis")

	user := reg.Entity("user")
	now := time.Now()
	if err := ts.WriteStatic(ctx, []store.StaticWrite{{Key: store.Key{Prefix: "u", ID: "1", Feature: "os"}, Value: store.StringValue("ios"), TS: 1}}); err != nil {
		t.Fatal(err)
	}
	f := user.Feature("recent_searches")
	var writes []store.ActionWrite
	for i := 0; i < 4; i++ {
		m, _ := store.EncodeMember(map[string]any{"query": fmt.Sprint("q", i)}, now.UnixMilli()-int64(i), f.Dedupe)
		writes = append(writes, store.ActionWrite{Key: store.Key{Prefix: "u", ID: "1", Feature: f.Name}, TS: now.UnixMilli() - int64(i), Member: m, MaxCount: f.MaxCount, TTL: f.TTL})
	}
	if err := ts.WriteActions(ctx, writes); err != nil { // DynamoDB only: Redis holds no series yet
		t.Fatal(err)
	}

	cfg := gateway.DefaultConfig()
	cfg.Tracer = tr
	g, err := gateway.New(cfg, reg, st, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	e := &env{t: t, srv: srv, reg: reg}
	const q = `{ user(id: 1) { os recentSearches(count: 2) { query } } }`

	// requestTree queries and returns the span tree of the request's trace.
	requestTree := func() string {
		t.Helper()
		rec.Reset()
		r, _ := e.query(q, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("errors: %+v", r.Errors)
		}
		jsonEq(t, r.Data, `{"user":{"os":"ios","recentSearches":[{"query":"q0"},{"query":"q1"}]}}`)
		ts.WaitBackground()
		var inRequest []sdktrace.ReadOnlySpan
		var root sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.Name() == "POST /graphql" {
				root = s
			}
		}
		if root == nil {
			t.Fatal("no request span")
		}
		for _, s := range rec.Ended() {
			if s.SpanContext().TraceID() == root.SpanContext().TraceID() {
				inRequest = append(inRequest, s)
			}
		}
		return spanTree(inRequest, treeAttrs...)
	}

	got := requestTree()
	want := `POST /graphql http.response.status_code=200
  query
    graphql.parse
    graphql.validate
    plan.action_read featuregraph.queries=1 featuregraph.plan.level=0
      store.ReadActions featuregraph.store=dynamodb+redis featuregraph.queries=1 featuregraph.hits=1 featuregraph.events=2
        dynamodb.ReadEvents featuregraph.queries=1 featuregraph.hits=1 featuregraph.events=4 featuregraph.fallback=true
        redis.MarkRefill featuregraph.keys=1
        redis.ReadActionsCached featuregraph.queries=1 featuregraph.hits=0 featuregraph.misses=1
    plan.static_read featuregraph.keys=1 featuregraph.plan.level=0
      store.ReadStatic featuregraph.store=dynamodb+redis featuregraph.keys=1 featuregraph.hits=1 featuregraph.misses=0
        redis.ReadStaticCached featuregraph.keys=1 featuregraph.hits=1 featuregraph.misses=0
`
	if got != want {
		t.Errorf("first read (Redis miss, DynamoDB fallback):\n%s\nwant:\n%s", got, want)
	}

	got = requestTree()
	want = `POST /graphql http.response.status_code=200
  query
    graphql.parse
    graphql.validate
    plan.action_read featuregraph.queries=1 featuregraph.plan.level=0
      store.ReadActions featuregraph.store=dynamodb+redis featuregraph.queries=1 featuregraph.hits=1 featuregraph.events=2
        redis.ReadActionsCached featuregraph.queries=1 featuregraph.hits=1 featuregraph.misses=0
    plan.static_read featuregraph.keys=1 featuregraph.plan.level=0
      store.ReadStatic featuregraph.store=dynamodb+redis featuregraph.keys=1 featuregraph.hits=1 featuregraph.misses=0
        redis.ReadStaticCached featuregraph.keys=1 featuregraph.hits=1 featuregraph.misses=0
`
	if got != want {
		t.Errorf("second read (Redis hit, no DynamoDB action read):\n%s\nwant:\n%s", got, want)
	}
}
