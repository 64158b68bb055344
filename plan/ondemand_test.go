package plan_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/plan/querygen"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

// testService is a real HTTP service for service features: a batch endpoint (POST
// /v1/safety, the documented contract) and a per-id one (GET /users/{id}/avatar), with a mode
// that makes the batch endpoint fail, hang, answer garbage or answer too much.
type testService struct {
	mode    atomic.Value // "", "fail", "slow", "garbage", "huge"
	mu      sync.Mutex
	batches [][]int64 // the ids of every batch call
	gets    []string  // the ids of every per-id call
	srv     *httptest.Server
}

func newTestService(t *testing.T) *testService {
	ts := &testService{}
	ts.mode.Store("")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/safety", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Entity   string   `json:"entity"`
			IDs      []int64  `json:"ids"`
			Features []string `json:"features"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Entity != "user" || r.Header.Get("X-Caller") != "featuregraph-test" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		ts.mu.Lock()
		ts.batches = append(ts.batches, req.IDs)
		ts.mu.Unlock()
		switch ts.mode.Load() {
		case "fail":
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		case "slow":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return
		case "garbage":
			w.Write([]byte("<html>oops</html>"))
			return
		case "huge":
			w.Write([]byte(`{"results": {"1": {"blocked_users": [` + strings.Repeat("1,", 5000) + `1]}}}`))
			return
		}
		results := map[string]map[string]any{}
		for _, id := range req.IDs {
			switch {
			case id == 0: // no value: left out
			case id == 13:
				results["13"] = map[string]any{"blocked_users": "everyone", "level": "low"}
			default:
				results[strconv.FormatInt(id, 10)] = map[string]any{"blocked_users": []int64{id * 10, id*10 + 1}, "level": "high"}
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"results": results})
	})
	mux.HandleFunc("GET /users/{id}/avatar", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		ts.mu.Lock()
		ts.gets = append(ts.gets, id)
		ts.mu.Unlock()
		if id == "2" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"avatar": "a" + id + ".png"})
	})
	ts.srv = httptest.NewServer(mux)
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *testService) calls() (batches [][]int64, gets []string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	b, g := ts.batches, ts.gets
	ts.batches, ts.gets = nil, nil
	return b, g
}

const onDemandRegistry = `
entities:
  user: { prefix: u }
  article: { prefix: a }
services:
  trust_safety:
    http:
      url: %[1]s/v1/safety
      timeout: 300ms
      batchSize: 2
      maxResponseBytes: 4096
      headers: { X-Caller: "${TEST_CALLER}" }
  cached_safety:
    http: { url: %[1]s/v1/safety, cacheTTL: 1h, headers: { X-Caller: featuregraph-test } }
features:
  user:
    os: { featureType: static, type: String }
    age: { featureType: static, type: Int }
    blocked_users: { type: Int, containerType: list, source: { service: trust_safety } }
    trust_level: { type: String, defaultValue: unknown, source: { service: trust_safety, field: level } }
    cached_level: { type: String, source: { service: cached_safety, field: level } }
    avatar:
      type: String
      source: { http: { url: "%[1]s/users/{id}/avatar", concurrency: 2 } }
    clicks:
      featureType: action
      maxCount: 50
      fields: [ { name: article_id, type: Int, join: article }, { name: price, type: Float } ]
    impressions:
      featureType: action
      fields: [ { name: article_id, type: Int } ]
    click_through_rate_7d:
      type: Float
      expr: |
        count(impressions, 7 * 86400) == 0 ? 0.0
          : double(count(clicks, 7 * 86400)) / double(count(impressions, 7 * 86400))
    spent_today:
      type: Float
      arguments: [ { name: boost, type: Float, defaultValue: 1.0 } ]
      expr: sum(clicks.price, 86400) * args.boost
    age_next_year: { type: Int, expr: age + 1 }
    per_click: { type: Int, expr: "age / count(clicks, 7200)" }
  article:
    title: { featureType: static, type: String }
    viewers:
      featureType: action
      fields: [ { name: user_id, type: Int, join: user } ]
`

type onDemandEnv struct {
	svc *testService
	srv *httptest.Server
	m   *metrics.Metrics
}

func newOnDemand(t *testing.T) *onDemandEnv {
	t.Setenv("TEST_CALLER", "featuregraph-test")
	svc := newTestService(t)
	reg, err := registry.Parse(map[string][]byte{"ondemand.yaml": fmt.Appendf(nil, onDemandRegistry, svc.srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	ctx := context.Background()
	now := time.Now().UnixMilli()
	hour := int64(time.Hour / time.Millisecond)
	var statics []store.StaticWrite
	for id := 1; id <= 4; id++ {
		k := func(f string) store.Key { return store.Key{Prefix: "u", ID: strconv.Itoa(id), Feature: f} }
		statics = append(statics, store.StaticWrite{Key: k("os"), Value: store.StringValue("ios"), TS: now},
			store.StaticWrite{Key: k("age"), Value: store.IntValue(int64(30 + id)), TS: now})
	}
	statics = append(statics, store.StaticWrite{Key: store.Key{Prefix: "a", ID: "7", Feature: "title"}, Value: store.StringValue("bike"), TS: now})
	if err := st.WriteStatic(ctx, statics); err != nil {
		t.Fatal(err)
	}
	var acts []store.ActionWrite
	// User 1: 2 clicks today (7 and 8), 1 ten days ago; 8 impressions this week.
	for i, c := range []struct {
		ago     int64
		article int
		price   float64
	}{{1, 7, 2.5}, {2, 8, 1.5}, {240, 9, 100}} {
		acts = append(acts, store.ActionWrite{Key: store.Key{Prefix: "u", ID: "1", Feature: "clicks"}, TS: now - c.ago*hour - int64(i),
			Member: fmt.Sprintf(`{"article_id":%d,"price":%g}`, c.article, c.price), MaxCount: 50})
	}
	for i := range 8 {
		acts = append(acts, store.ActionWrite{Key: store.Key{Prefix: "u", ID: "1", Feature: "impressions"}, TS: now - int64(i+1)*hour,
			Member: fmt.Sprintf(`{"article_id":%d}`, i), MaxCount: 100})
	}
	for _, u := range []int{1, 3} {
		acts = append(acts, store.ActionWrite{Key: store.Key{Prefix: "a", ID: "7", Feature: "viewers"}, TS: now - int64(u)*hour,
			Member: fmt.Sprintf(`{"user_id":%d}`, u), MaxCount: 100})
	}
	if err := st.WriteActions(ctx, acts); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	srv := newServer(t, reg, st, true, func(cfg *gateway.Config) { cfg.Metrics = m })
	return &onDemandEnv{svc: svc, srv: srv, m: m}
}

type answer struct {
	Data   map[string]any
	Errors []struct {
		Message    string
		Path       []any
		Extensions map[string]any
	}
}

func (e *onDemandEnv) query(t *testing.T, q string, vars map[string]any) answer {
	t.Helper()
	body := post(t, e.srv.URL, querygen.Query{Text: q, Vars: vars})
	raw := body[:strings.LastIndex(string(body), " (HTTP ")]
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return a
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestServiceFeatures: service features are answered, typed by the registry, joined and
// fragment-able like stored features, with one batch call per service, entity kind and level
// (batchSize splits it) and one per-id call per entity; a service not selected is not called.
func TestServiceFeatures(t *testing.T) {
	e := newOnDemand(t)
	a := e.query(t, `query {
		users(ids: [1, 2, 0]) { id os ...safety avatar b2: blockedUsers }
		user(id: 1) { clicks(count: 1) { article { title viewers { user { id blockedUsers } } } } }
	}
	fragment safety on User { blockedUsers trustLevel }`, nil)
	if len(a.Errors) > 0 {
		t.Fatalf("errors: %s", js(a.Errors))
	}
	want := `{"user":{"clicks":[{"article":{"title":"bike","viewers":[{"user":{"blockedUsers":[10,11],"id":1}},{"user":{"blockedUsers":[30,31],"id":3}}]}}]},` +
		`"users":[{"avatar":"a1.png","b2":[10,11],"blockedUsers":[10,11],"id":1,"os":"ios","trustLevel":"high"},` +
		`{"avatar":null,"b2":[20,21],"blockedUsers":[20,21],"id":2,"os":"ios","trustLevel":"high"},` +
		`{"avatar":"a0.png","b2":null,"blockedUsers":null,"id":0,"os":null,"trustLevel":"unknown"}]}`
	if got := js(a.Data); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	batches, gets := e.svc.calls()
	// Level 0: ids 1, 2, 0 in batches of 2 (user 1 of the user root has no service field);
	// level 2: the viewers 1 and 3.
	if len(batches) != 3 || len(gets) != 3 {
		t.Errorf("batch calls %v and per-id calls %v: want 3 batch calls (2 at level 0, 1 at level 2) and 3 per-id calls", batches, gets)
	}
	if last := batches[len(batches)-1]; js(last) != "[1,3]" {
		t.Errorf("level 2's call carries %v, want [1,3]", last)
	}
	e.query(t, `{ users(ids: [1, 2]) { os age clicks { price } } }`, nil)
	if batches, gets := e.svc.calls(); len(batches)+len(gets) != 0 {
		t.Errorf("a query without service features called the services: %v %v", batches, gets)
	}
	// A garbage value is an error at its cell alone.
	a = e.query(t, `{ users(ids: [13, 1]) { blockedUsers trustLevel } }`, nil)
	if js(a.Data) != `{"users":[{"blockedUsers":null,"trustLevel":"low"},{"blockedUsers":[10,11],"trustLevel":"high"}]}` ||
		len(a.Errors) != 1 || js(a.Errors[0].Path) != `["users",0,"blockedUsers"]` || a.Errors[0].Extensions["backend"] != "service:trust_safety" ||
		!strings.Contains(a.Errors[0].Message, "the value of blocked_users for id 13 is not a list Int") {
		t.Errorf("garbage value: %s %s", js(a.Data), js(a.Errors))
	}
	metricsText := scrape(t, e.m)
	for _, want := range []string{
		`featuregraph_backend_call_duration_seconds_count{backend="service:trust_safety",op="batch",outcome="ok"}`,
		`featuregraph_backend_batch_size_count{backend="service:trust_safety",op="batch"}`,
		`featuregraph_backend_call_duration_seconds_count{backend="service:user.avatar",op="get",outcome="ok"} 3`,
	} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// TestServiceFailuresAreContained: a service that fails, hangs, answers garbage or too much
// is an error on its fields alone (BACKEND_ERROR, backend service:<name>), the rest of the
// answer is returned, and after 5 failed calls in a row the breaker stops calling it.
func TestServiceFailuresAreContained(t *testing.T) {
	e := newOnDemand(t)
	for _, c := range []struct{ mode, msg string }{
		{"fail", "HTTP 503 Service Unavailable"},
		{"slow", "no answer within the service's timeout (300ms)"},
		{"garbage", `the answer is not {"results": {id: {feature: value}}}`},
		{"huge", "the answer is larger than maxResponseBytes (4096 bytes)"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			e.svc.mode.Store(c.mode)
			a := e.query(t, `{ user(id: 1) { os blockedUsers trustLevel ageNextYear avatar } }`, nil)
			if got := js(a.Data); got != `{"user":{"ageNextYear":32,"avatar":"a1.png","blockedUsers":null,"os":"ios","trustLevel":null}}` {
				t.Errorf("data %s", got)
			}
			if len(a.Errors) != 2 {
				t.Fatalf("errors %s, want 2 (blockedUsers, trustLevel)", js(a.Errors))
			}
			for _, er := range a.Errors {
				if er.Extensions["code"] != "BACKEND_ERROR" || er.Extensions["backend"] != "service:trust_safety" || !strings.Contains(er.Message, c.msg) {
					t.Errorf("error %s, want BACKEND_ERROR of service:trust_safety with %q", js(er), c.msg)
				}
			}
		})
	}
	// 4 failed calls so far; one more opens the breaker, and then no call is made.
	e.svc.mode.Store("fail")
	e.query(t, `{ user(id: 1) { blockedUsers } }`, nil)
	e.svc.calls()
	a := e.query(t, `{ user(id: 1) { os blockedUsers } }`, nil)
	if batches, _ := e.svc.calls(); len(batches) != 0 {
		t.Errorf("the open breaker let %d calls through", len(batches))
	}
	if len(a.Errors) != 1 || !strings.Contains(a.Errors[0].Message, "circuit breaker open after 5 failed calls in a row") || js(a.Data) != `{"user":{"blockedUsers":null,"os":"ios"}}` {
		t.Errorf("breaker open: %s %s", js(a.Data), js(a.Errors))
	}
}

// TestServiceCache: a cached service is called once per id within its cacheTTL, for values and
// for ids it has no value for (negative entries).
func TestServiceCache(t *testing.T) {
	e := newOnDemand(t)
	for range 3 {
		a := e.query(t, `{ users(ids: [1, 0]) { cachedLevel } }`, nil)
		if js(a.Data) != `{"users":[{"cachedLevel":"high"},{"cachedLevel":null}]}` {
			t.Fatalf("data %s %s", js(a.Data), js(a.Errors))
		}
	}
	if batches, _ := e.svc.calls(); len(batches) != 1 {
		t.Errorf("%d calls, want 1 (then the cache answers)", len(batches))
	}
	if m := scrape(t, e.m); !strings.Contains(m, `featuregraph_cache_lookups_total{cache="service:cached_safety",result="hit"} 4`) {
		t.Errorf("/metrics lacks the 4 cache hits")
	}
}

// TestDerivedFeatures: derived features read the entity's stored features, windowed aggregates
// of its events, arguments and now, on roots and joined entities, in the level's batch.
func TestDerivedFeatures(t *testing.T) {
	e := newOnDemand(t)
	a := e.query(t, `query($b: Float) {
		user(id: 1) { clickThroughRate7d spentToday double: spentToday(boost: $b) ageNextYear
			clicks(count: 1) { article { viewers { user { id ageNextYear clickThroughRate7d } } } } }
		users(ids: [2]) { clickThroughRate7d spentToday }
	}`, map[string]any{"b": 2})
	want := `{"user":{"ageNextYear":32,"clickThroughRate7d":0.25,"clicks":[{"article":{"viewers":[{"user":{"ageNextYear":32,"clickThroughRate7d":0.25,"id":1}},{"user":{"ageNextYear":34,"clickThroughRate7d":0,"id":3}}]}}],"double":8,"spentToday":4},` +
		`"users":[{"clickThroughRate7d":0,"spentToday":0}]}`
	if got := js(a.Data); got != want || len(a.Errors) > 0 {
		t.Errorf("got  %s %s\nwant %s", got, js(a.Errors), want)
	}
	// An expression that fails for an entity is an error on its field there (EXPRESSION_ERROR).
	a = e.query(t, `{ users(ids: [1, 2]) { perClick os } }`, nil)
	if js(a.Data) != `{"users":[{"os":"ios","perClick":31},{"os":"ios","perClick":null}]}` || len(a.Errors) != 1 ||
		a.Errors[0].Extensions["code"] != "EXPRESSION_ERROR" || js(a.Errors[0].Path) != `["users",1,"perClick"]` ||
		a.Errors[0].Message != "user.per_click: derived feature: division by zero" {
		t.Errorf("failed expression: %s %s", js(a.Data), js(a.Errors))
	}
	a = e.query(t, `{ user(id: 9) { ageNextYear spentToday(boost: "x") os } }`, nil)
	if len(a.Errors) == 0 {
		t.Errorf("a bad argument is no error: %s", js(a.Data))
	}
}
