package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers"
	"github.com/featuregraph/featuregraph/store/memory"
	"github.com/featuregraph/featuregraph/store/traced"
	"github.com/featuregraph/featuregraph/tracing"
)

// spanTree renders recorded spans as an indented tree, one span a line with the attributes
// named in show, siblings in a canonical order (name, then subtree), so that a tree can be
// compared as text whatever order goroutines ended spans in.
func spanTree(spans []sdktrace.ReadOnlySpan, show ...string) string {
	children := map[string][]sdktrace.ReadOnlySpan{}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanContext().SpanID().String()] = true
	}
	var roots []sdktrace.ReadOnlySpan
	for _, s := range spans {
		p := s.Parent().SpanID().String()
		if !s.Parent().IsValid() || !ids[p] {
			roots = append(roots, s)
			continue
		}
		children[p] = append(children[p], s)
	}
	var render func(s sdktrace.ReadOnlySpan, depth int) string
	render = func(s sdktrace.ReadOnlySpan, depth int) string {
		var b strings.Builder
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(s.Name())
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		for _, k := range show {
			if v, ok := attrs[k]; ok {
				fmt.Fprintf(&b, " %s=%s", k, v)
			}
		}
		b.WriteByte('\n')
		var subs []string
		for _, c := range children[s.SpanContext().SpanID().String()] {
			subs = append(subs, render(c, depth+1))
		}
		sort.Strings(subs)
		b.WriteString(strings.Join(subs, ""))
		return b.String()
	}
	var out []string
	for _, r := range roots {
		out = append(out, render(r, 0))
	}
	sort.Strings(out)
	return strings.Join(out, "")
}

var treeAttrs = []string{
	"http.response.status_code", tracing.OperationName, tracing.FieldPath, tracing.Store,
	tracing.Keys, tracing.Queries, tracing.Hits, tracing.Misses, tracing.Events, tracing.Fallback,
	"featuregraph.plan.level",
}

// One query yields one trace: the request, its operation with gqlgen's parse and validate, and
// the store calls with their batch sizes and hits (the user's static features and action series,
// then the joined articles: 3 keys, one never stored), under the spans of whichever executor ran
// the operation.
func TestTracingSpanTree(t *testing.T) {
	// Parallel: its gqlgen half waits a second per level for batches to form (Loader.Wait),
	// time the other tests of the package can use.
	t.Parallel()
	// gqlgen's executor: a span per resolver-backed field, store calls under the field that
	// started each batch.
	t.Run("gqlgen", func(t *testing.T) {
		testTracingSpanTree(t, false, `POST /graphql http.response.status_code=200
  query UserVector graphql.operation.name=UserVector
    graphql.parse
    graphql.resolve Query.user graphql.field.path=user
      graphql.resolve User.recentClickedArticles graphql.field.path=user.recentClickedArticles
        store.ReadStatic featuregraph.store=memory featuregraph.keys=3 featuregraph.hits=2 featuregraph.misses=1
      store.ReadActions featuregraph.store=memory featuregraph.queries=1 featuregraph.hits=1 featuregraph.events=3
      store.ReadStatic featuregraph.store=memory featuregraph.keys=1 featuregraph.hits=1 featuregraph.misses=0
    graphql.validate
`)
	})
	// A compiled plan: a span per plan step (level 0: the user's statics and its action series;
	// level 1: the joined articles), each the parent of its store call.
	t.Run("plan", func(t *testing.T) {
		testTracingSpanTree(t, true, `POST /graphql http.response.status_code=200
  query UserVector graphql.operation.name=UserVector
    graphql.parse
    graphql.validate
    plan.action_read featuregraph.queries=1 featuregraph.plan.level=0
      store.ReadActions featuregraph.store=memory featuregraph.queries=1 featuregraph.hits=1 featuregraph.events=3
    plan.static_read featuregraph.keys=1 featuregraph.plan.level=0
      store.ReadStatic featuregraph.store=memory featuregraph.keys=1 featuregraph.hits=1 featuregraph.misses=0
    plan.static_read featuregraph.keys=3 featuregraph.plan.level=1
      store.ReadStatic featuregraph.store=memory featuregraph.keys=3 featuregraph.hits=2 featuregraph.misses=1
`)
	})
}

func testTracingSpanTree(t *testing.T, plans bool, want string) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tr := tracing.New(tp)
	mem := memory.New()
	cfg := gateway.DefaultConfig()
	cfg.Tracer = tr
	if !plans {
		cfg.Executor = resolvers.NewExecutableSchema
	}
	// Every join of the query in one batch, even on a busy machine under -race: a batch closes
	// a second after its first key (gqlgen's path; plans batch per level without a timer).
	cfg.Loader.Wait = time.Second
	cfg.RequestTimeout = 30 * time.Second
	st := traced.Wrap(mem, tr, "memory")
	g, err := gateway.New(cfg, reg, st, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	e := &env{t: t, srv: srv, mem: mem, reg: reg}
	now := time.Now()
	e.static("user", "1", "os", "ios", 1)
	e.static("article", "7", "category", "toys", 1)
	e.static("article", "8", "category", "books", 1)
	e.action("user", "1", "recent_clicked_articles", now.Add(-time.Minute), map[string]any{"article_id": int64(7)})
	e.action("user", "1", "recent_clicked_articles", now.Add(-2*time.Minute), map[string]any{"article_id": int64(8)})
	e.action("user", "1", "recent_clicked_articles", now.Add(-3*time.Minute), map[string]any{"article_id": int64(9)})

	// The caller's trace context is honoured: the request span is a child of the remote span.
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	body, _ := json.Marshal(map[string]any{"query": `query UserVector { user(id: 1) { os
		recentClickedArticles(count: 5) { articleId article { category } } } }`})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	jsonEq(t, r.Data, `{"user":{"os":"ios","recentClickedArticles":[
		{"articleId":7,"article":{"category":"toys"}},{"articleId":8,"article":{"category":"books"}},
		{"articleId":9,"article":{"category":null}}]}}`)

	spans := rec.Ended()
	got := spanTree(spans, treeAttrs...)
	if got != want {
		t.Errorf("span tree:\n%s\nwant:\n%s", got, want)
	}
	for _, s := range spans {
		if s.SpanContext().TraceID().String() != traceID {
			t.Errorf("span %s is in trace %s, want the caller's %s", s.Name(), s.SpanContext().TraceID(), traceID)
		}
		if s.Name() == "POST /graphql" && s.Parent().SpanID().String() != parentID {
			t.Errorf("request span's parent is %s, want the caller's span %s", s.Parent().SpanID(), parentID)
		}
	}
}

// BenchmarkTracing measures one user-vector request through the handler (in-memory store, no
// network) with tracing off — nothing installed — and on, recording every span.
func BenchmarkTracing(b *testing.B) {
	reg, err := registry.Load("../features")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"query": `{ user(id: 1) { os recentClickedArticles(count: 5) { articleId article { category } } } }`})
	for _, mode := range []string{"off", "on"} {
		b.Run(mode, func(b *testing.B) {
			var tr tracing.Tracer
			if mode == "on" {
				tr = tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder())))
			}
			mem := memory.New()
			cfg := gateway.DefaultConfig()
			cfg.Tracer = tr
			cfg.Loader.Wait = 0
			st := traced.Wrap(mem, tr, "memory")
			g, err := gateway.New(cfg, reg, st, st, nil)
			if err != nil {
				b.Fatal(err)
			}
			e := &env{t: &testing.T{}, mem: mem, reg: reg}
			e.static("user", "1", "os", "ios", 1)
			e.static("article", "7", "category", "toys", 1)
			e.action("user", "1", "recent_clicked_articles", time.Now(), map[string]any{"article_id": int64(7)})
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				g.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Body.String())
				}
			}
		})
	}
}
