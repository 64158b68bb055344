package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

// countingReader counts the batched store calls a request makes.
type countingReader struct {
	store.Reader
	mu           sync.Mutex
	static, acts int
	staticKeys   []int
	failStatic   error
	failActions  error
}

func (c *countingReader) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	c.mu.Lock()
	c.static++
	c.staticKeys = append(c.staticKeys, q.Len())
	c.mu.Unlock()
	if c.failStatic != nil {
		return c.failStatic
	}
	return c.Reader.ReadStatic(ctx, q, out)
}

func (c *countingReader) ReadActions(ctx context.Context, qs []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	c.mu.Lock()
	c.acts++
	c.mu.Unlock()
	if c.failActions != nil {
		return nil, c.failActions
	}
	return c.Reader.ReadActions(ctx, qs)
}

type env struct {
	t   *testing.T
	srv *httptest.Server
	mem *memory.Store
	rd  *countingReader
	reg *registry.Registry
	gw  *gateway.Gateway
}

func newEnv(t *testing.T, mutate ...func(*gateway.Config)) *env {
	t.Helper()
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.New()
	rd := &countingReader{Reader: mem}
	cfg := gateway.DefaultConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	g, err := gateway.New(cfg, reg, rd, mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, mem: mem, rd: rd, reg: reg, gw: g}
}

func (e *env) static(entity, id, feature string, v any, ts int64) {
	e.t.Helper()
	f := e.reg.Entity(entity).Feature(feature)
	cv, err := registry.ToValue(f.Type, f.Container, v)
	if err != nil {
		e.t.Fatal(err)
	}
	k := store.Key{Prefix: e.reg.Entity(entity).Prefix, ID: id, Feature: feature}
	if err := e.mem.WriteStatic(context.Background(), []store.StaticWrite{{Key: k, Value: cv, TS: ts}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) action(entity, id, feature string, ts time.Time, fields map[string]any) {
	e.t.Helper()
	f := e.reg.Entity(entity).Feature(feature)
	m, err := store.EncodeMember(fields, ts.UnixMilli(), f.Dedupe)
	if err != nil {
		e.t.Fatal(err)
	}
	w := store.ActionWrite{Key: store.Key{Prefix: e.reg.Entity(entity).Prefix, ID: id, Feature: feature}, TS: ts.UnixMilli(), Member: m, MaxCount: f.MaxCount, TTL: f.TTL}
	if err := e.mem.WriteActions(context.Background(), []store.ActionWrite{w}); err != nil {
		e.t.Fatal(err)
	}
}

type response struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (e *env) query(q string, vars map[string]any) (response, int) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	res, err := http.Post(e.srv.URL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		e.t.Fatalf("decode response: %v", err)
	}
	return r, res.StatusCode
}

// jsonEq compares JSON texts by value.
func jsonEq(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("bad JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON: %v", err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("got  %s\nwant %s", gb, wb)
	}
}

func TestStaticFeaturesEveryTypeAndContainer(t *testing.T) {
	e := newEnv(t)
	e.static("user", "1", "os", "ios", 1)
	e.static("user", "1", "region_id", 6, 1)
	e.static("user", "1", "manner_temperature", 41.5, 1)
	e.static("user", "1", "is_verified", true, 1)
	e.static("user", "1", "last_active_at", "2026-10-15T08:00:00Z", 1)
	e.static("user", "1", "notification_keywords", []any{"lego", "camping", "lego"}, 1)
	e.static("user", "1", "recent_search_queries", []any{"b", "a"}, 1)
	e.static("user", "1", "category_affinity", map[string]any{"toys": 0.3, "digital": 0.8}, 1)
	e.static("user", "1", "settings", map[string]any{"push": true}, 1)
	r, _ := e.query(`{ user(id: 1) { id os regionId mannerTemperature isVerified lastActiveAt notificationKeywords
		recentSearchQueries categoryAffinity { key value } settings } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	jsonEq(t, r.Data, `{"user":{"id":1,"os":"ios","regionId":6,"mannerTemperature":41.5,"isVerified":true,
		"lastActiveAt":"2026-10-15T08:00:00Z","notificationKeywords":["camping","lego"],"recentSearchQueries":["b","a"],
		"categoryAffinity":[{"key":"digital","value":0.8},{"key":"toys","value":0.3}],"settings":{"push":true}}}`)
}

func TestMissingValuesAreDefaultsOrNull(t *testing.T) {
	e := newEnv(t)
	r, _ := e.query(`{ user(id: 42) { id os mannerTemperature isVerified regionId notificationKeywords recentClickedArticles { articleId } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	jsonEq(t, r.Data, `{"user":{"id":42,"os":"unknown","mannerTemperature":36.5,"isVerified":false,"regionId":null,
		"notificationKeywords":null,"recentClickedArticles":[]}}`)
}

func TestBatchFieldKeepsOrderAndRepeats(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"1", "2", "3"} {
		e.static("article", id, "price", 1000*len(id)+int(id[0]-'0'), 1)
	}
	r, _ := e.query(`{ articles(ids: [3, 1, 99, 3]) { id price } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	jsonEq(t, r.Data, `{"articles":[{"id":3,"price":1003},{"id":1,"price":1001},{"id":99,"price":null},{"id":3,"price":1003}]}`)
}

func TestTooManyIDsIsAnError(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.Resolvers.MaxIDs = 3 })
	r, _ := e.query(`{ articles(ids: [1, 2, 3, 4]) { id } }`, nil)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "too many ids: 4 given, at most 3") {
		t.Fatalf("want a too-many-ids error, got %+v", r.Errors)
	}
}

func TestActionFeatureNewestFirstWithCountWindowAndJoin(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := 1; i <= 40; i++ {
		e.action("user", "1", "recent_clicked_articles", now.Add(-time.Duration(41-i)*time.Minute), map[string]any{"article_id": 100 + i, "source": "feed"})
	}
	for i := 1; i <= 40; i++ {
		e.static("article", fmt.Sprint(100+i), "category", fmt.Sprintf("c%d", i), 1)
	}
	t.Run("default count", func(t *testing.T) {
		r, _ := e.query(`{ user(id: 1) { recentClickedArticles { articleId } } }`, nil)
		var d struct {
			User struct{ RecentClickedArticles []struct{ ArticleID int } }
		}
		_ = json.Unmarshal(r.Data, &d)
		if n := len(d.User.RecentClickedArticles); n != 30 {
			t.Fatalf("want defaultCount 30 events, got %d", n)
		}
		if d.User.RecentClickedArticles[0].ArticleID != 140 || d.User.RecentClickedArticles[29].ArticleID != 111 {
			t.Fatalf("want newest first (140..111), got %+v", d.User.RecentClickedArticles)
		}
	})
	t.Run("count window and join", func(t *testing.T) {
		r, _ := e.query(`{ user(id: 1) { recentClickedArticles(count: 3, lastNSec: 150) { timestamp articleId source article { id category } } } }`, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("errors: %+v", r.Errors)
		}
		ts := func(m int) string { return now.Add(-time.Duration(m) * time.Minute).Format(time.RFC3339Nano) }
		jsonEq(t, r.Data, fmt.Sprintf(`{"user":{"recentClickedArticles":[
			{"timestamp":%q,"articleId":140,"source":"feed","article":{"id":140,"category":"c40"}},
			{"timestamp":%q,"articleId":139,"source":"feed","article":{"id":139,"category":"c39"}}]}}`, ts(1), ts(2)))
	})
	t.Run("count is clamped to maxCount", func(t *testing.T) {
		r, _ := e.query(`{ user(id: 1) { recentClickedArticles(count: 100000) { articleId } } }`, nil)
		var d struct {
			User struct{ RecentClickedArticles []any }
		}
		_ = json.Unmarshal(r.Data, &d)
		if len(r.Errors) > 0 || len(d.User.RecentClickedArticles) != 40 {
			t.Fatalf("want all 40 events (maxCount 100), got %d, errors %+v", len(d.User.RecentClickedArticles), r.Errors)
		}
	})
	for _, tc := range []struct{ name, args, want string }{
		{"zero count", "count: 0", "count must be positive, got 0"},
		{"negative count", "count: -5", "count must be positive, got -5"},
		{"negative window", "lastNSec: -1", "lastNSec must not be negative, got -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := e.query(`{ user(id: 1) { os recentClickedArticles(`+tc.args+`) { articleId } } }`, nil)
			if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, tc.want) || r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
				t.Fatalf("want error %q, got %+v", tc.want, r.Errors)
			}
			if fmt.Sprint(r.Errors[0].Path) != "[user recentClickedArticles]" {
				t.Fatalf("want the error on the field, got path %v", r.Errors[0].Path)
			}
		})
	}
}

func TestDedupeAndNoDedupe(t *testing.T) {
	e := newEnv(t)
	base := time.Date(2026, 10, 15, 8, 0, 0, 0, time.UTC)
	e.action("user", "1", "recent_clicked_articles", base, map[string]any{"article_id": 1, "source": "feed"})
	e.action("user", "1", "recent_clicked_articles", base.Add(time.Minute), map[string]any{"article_id": 2, "source": "feed"})
	e.action("user", "1", "recent_clicked_articles", base.Add(2*time.Minute), map[string]any{"article_id": 1, "source": "feed"})
	e.action("user", "1", "recent_purchases", base, map[string]any{"article_id": 7, "price": 100})
	e.action("user", "1", "recent_purchases", base.Add(time.Hour), map[string]any{"article_id": 7, "price": 100})
	r, _ := e.query(`{ user(id: 1) { recentClickedArticles { articleId } recentPurchases { articleId price } } }`, nil)
	jsonEq(t, r.Data, `{"user":{"recentClickedArticles":[{"articleId":1},{"articleId":2}],
		"recentPurchases":[{"articleId":7,"price":100},{"articleId":7,"price":100}]}}`)
}

// batchingExecutors are the two ways a query is executed, each with one batched store call per
// kind and level. Compiled plans (the default) know every read of a level before they run it:
// their count is deterministic. gqlgen's executor batches through the per-request dataloaders,
// whose batch closes a fixed Wait after its first key: the test sets the longest Wait the
// loaders accept (1 s), so that no lookup of a level can miss its batch however slowly the
// machine (or the race detector) schedules the resolver goroutines; the default 500µs can split
// a level under CPU contention. Broken batching (a batch capacity of 1, a loader per field, a
// plan step per entity) still shows as more calls.
var batchingExecutors = []struct {
	name   string
	config func(*gateway.Config)
}{
	// The loaders get a batch capacity of 1: plans do not use them, so an operation that fell
	// through to gqlgen would fail the count instead of passing by a lucky schedule.
	{"plans", func(c *gateway.Config) { c.Loader.StaticBatch, c.Loader.ActionBatch = 1, 1 }},
	// A level costs its Wait: the request deadline leaves room for the three of the deepest query.
	{"gqlgen", func(c *gateway.Config) {
		c.Executor = resolvers.NewExecutableSchema
		c.Loader.Wait, c.RequestTimeout = time.Second, 30*time.Second
	}},
}

// One user with static and action features and a join costs one static read, one action read
// and one static read for the joined articles: one batched call per round, not one per field,
// on both executors.
func TestBatchedStoreCalls(t *testing.T) {
	// Parallel: its gqlgen half waits a second per level for batches to form (Loader.Wait),
	// time the other tests of the package can use.
	t.Parallel()
	for _, ex := range batchingExecutors {
		t.Run(ex.name, func(t *testing.T) { testBatchedStoreCalls(t, ex.config) })
	}
}

func testBatchedStoreCalls(t *testing.T, config func(*gateway.Config)) {
	e := newEnv(t, config)
	base := time.Date(2026, 10, 15, 8, 0, 0, 0, time.UTC)
	for u := 1; u <= 20; u++ {
		for i := 0; i < 5; i++ {
			e.action("user", fmt.Sprint(u), "recent_clicked_articles", base.Add(time.Duration(i)*time.Minute), map[string]any{"article_id": i})
			e.action("user", fmt.Sprint(u), "recent_purchases", base.Add(time.Duration(i)*time.Minute), map[string]any{"article_id": i + 10})
		}
	}
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = fmt.Sprint(i + 1)
	}
	r, _ := e.query(`{ users(ids: [`+strings.Join(ids, ",")+`]) { os regionId isVerified mannerTemperature lastActiveAt
		recentClickedArticles { article { category price title } }
		recentPurchases { article { category } }
		recentSearches { query } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	if e.rd.static != 2 || e.rd.acts != 1 {
		t.Fatalf("20 users × (5 static + 3 action features) + joins: want 2 static reads and 1 action read, got %d static (%v keys) and %d action reads",
			e.rd.static, e.rd.staticKeys, e.rd.acts)
	}
	if e.rd.staticKeys[0] != 100 {
		t.Fatalf("first static read: want 20×5 = 100 keys, got %d", e.rd.staticKeys[0])
	}
}

func TestBackendFailureGivesPartialResults(t *testing.T) {
	e := newEnv(t)
	e.action("user", "1", "recent_clicked_articles", time.Date(2026, 10, 15, 8, 0, 0, 0, time.UTC), map[string]any{"article_id": 5})
	e.rd.failStatic = &store.BackendError{Backend: "dynamodb", Op: "BatchGetItem", Err: store.ErrUnavailable}
	r, code := e.query(`{ user(id: 1) { id os regionId recentClickedArticles { articleId } } }`, nil)
	if code != http.StatusOK {
		t.Fatalf("want 200 with partial data, got %d", code)
	}
	jsonEq(t, r.Data, `{"user":{"id":1,"os":null,"regionId":null,"recentClickedArticles":[{"articleId":5}]}}`)
	if len(r.Errors) != 2 {
		t.Fatalf("want one error per failed field, got %+v", r.Errors)
	}
	for _, er := range r.Errors {
		if er.Extensions["backend"] != "dynamodb" || !strings.Contains(er.Message, "dynamodb") {
			t.Fatalf("error must name the backend: %+v", er)
		}
	}
	// Every alias of a failed field gets its error.
	r, _ = e.query(`{ user(id: 1) { a: os b: os } }`, nil)
	if len(r.Errors) != 2 || fmt.Sprint(r.Errors[0].Path, r.Errors[1].Path) != "[user a] [user b]" {
		t.Fatalf("want an error at each alias, got %+v", r.Errors)
	}
	if !strings.HasPrefix(r.Errors[0].Message, "backend dynamodb failed: dynamodb: BatchGetItem:") {
		t.Fatalf("the message should be the backend's own, got %q", r.Errors[0].Message)
	}
	e.rd.failStatic = nil
	e.rd.failActions = &store.BackendError{Backend: "redis", Op: "pipeline", Err: errors.New("connection refused")}
	r, _ = e.query(`{ user(id: 1) { os recentClickedArticles { articleId } } }`, nil)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["backend"] != "redis" || fmt.Sprint(r.Errors[0].Path) != "[user recentClickedArticles]" {
		t.Fatalf("want a redis error on recentClickedArticles, got %+v", r.Errors)
	}
	// The action list is nullable: the failure is an error on that field, and the static
	// features next to it are still answered.
	jsonEq(t, r.Data, `{"user":{"os":"unknown","recentClickedArticles":null}}`)

	// In a batch, one failing field does not take the other entities' features with it.
	r, _ = e.query(`{ users(ids: [1, 2]) { id os recentClickedArticles { articleId } } }`, nil)
	jsonEq(t, r.Data, `{"users":[{"id":1,"os":"unknown","recentClickedArticles":null},{"id":2,"os":"unknown","recentClickedArticles":null}]}`)
	if len(r.Errors) != 2 {
		t.Fatalf("want one error per failed field, got %+v", r.Errors)
	}
}

func TestMalformedAndOversizedQueries(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.MaxDepth = 4 })
	for _, tc := range []struct{ name, q, want string }{
		{"syntax", `{ user(id: 1) { os `, "Expected Name"},
		{"unknown field", `{ user(id: 1) { oss } }`, `Cannot query field "oss" on type "User"`},
		{"wrong argument type", `{ user(id: "x") { os } }`, "Int"},
		{"too deep", `{ user(id: 1) { recentClickedArticles { article { recentViewers { user { os } } } } } }`, "levels deep, at most 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := e.query(tc.q, nil)
			if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, tc.want) {
				t.Fatalf("want error containing %q, got %+v", tc.want, r.Errors)
			}
		})
	}
}

func TestHealthAndPlayground(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/healthz", "/readyz", "/"} {
		res, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: want 200, got %d", path, res.StatusCode)
		}
	}
}

func TestMetrics(t *testing.T) {
	m := metrics.New()
	e := newEnv(t, func(c *gateway.Config) { c.Metrics = m })
	e.query(`{ users(ids: [1, 2, 3]) { os recentClickedArticles { articleId } } }`, nil)
	res, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, res.Body)
	for _, want := range []string{
		`featuregraph_feature_reads_total{entity="user",feature="os"} 3`,
		`featuregraph_feature_reads_total{entity="user",feature="recent_clicked_articles"} 3`,
		`featuregraph_http_request_duration_seconds_count{code="200",handler="/graphql"} 1`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("/metrics lacks %s in\n%s", want, b.String())
		}
	}
}

func TestFragmentsVariablesAliasesAndGET(t *testing.T) {
	e := newEnv(t)
	e.static("user", "1", "os", "android", 1)
	e.static("user", "1", "region_id", 3, 1)
	r, _ := e.query(`query Q($id: Int!) { a: user(id: $id) { ...F } b: user(id: 2) { ... on User { platform: os } } }
		fragment F on User { platform: os regionId }`, map[string]any{"id": 1})
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	jsonEq(t, r.Data, `{"a":{"platform":"android","regionId":3},"b":{"platform":"unknown"}}`)

	res, err := http.Get(e.srv.URL + "/graphql?query=" + url.QueryEscape(`{ user(id: 1) { os } }`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got response
	_ = json.NewDecoder(res.Body).Decode(&got)
	jsonEq(t, got.Data, `{"user":{"os":"android"}}`)
}

// roundReader blocks the static read until the action read has started: it only completes
// when both are issued in the same batch round.
type roundReader struct {
	store.Reader
	actionsStarted chan struct{}
	once           sync.Once
}

func (r *roundReader) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	select {
	case <-r.actionsStarted:
	case <-time.After(2 * time.Second):
		return errors.New("the action read did not start while the static read was in flight")
	}
	return r.Reader.ReadStatic(ctx, q, out)
}

func (r *roundReader) ReadActions(ctx context.Context, qs []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	r.once.Do(func() { close(r.actionsStarted) })
	return r.Reader.ReadActions(ctx, qs)
}

// The action features selected on an entity are read in the same batch round as its static
// features, not in a second round after them.
func TestActionsPrefetchedWithStatics(t *testing.T) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.New()
	rr := &roundReader{Reader: mem, actionsStarted: make(chan struct{})}
	g, err := gateway.New(gateway.DefaultConfig(), reg, rr, mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	e := &env{t: t, srv: srv, mem: mem, reg: reg}
	e.static("user", "1", "os", "ios", 1)
	e.action("user", "1", "recent_searches", time.Now(), map[string]any{"query": "lego"})
	r, _ := e.query(`query($n: Int) { user(id: 1) { os recentSearches(count: $n, lastNSec: 3600) { query } } }`, map[string]any{"n": 5})
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	jsonEq(t, r.Data, `{"user":{"os":"ios","recentSearches":[{"query":"lego"}]}}`)
}

// Joins nested in joins stay batched: the action features of the articles joined to a user's
// clicks are read in one round for all of them, not one round per article.
func TestNestedJoinsStayBatched(t *testing.T) {
	// Parallel: its gqlgen half waits a second per level for batches to form (Loader.Wait),
	// time the other tests of the package can use.
	t.Parallel()
	for _, ex := range batchingExecutors {
		t.Run(ex.name, func(t *testing.T) { testNestedJoinsStayBatched(t, ex.config) })
	}
}

func testNestedJoinsStayBatched(t *testing.T, config func(*gateway.Config)) {
	e := newEnv(t, config)
	base := time.Date(2026, 10, 15, 8, 0, 0, 0, time.UTC)
	for i := 0; i < 20; i++ {
		e.action("user", "1", "recent_clicked_articles", base.Add(time.Duration(i)*time.Minute), map[string]any{"article_id": 100 + i})
		e.action("article", fmt.Sprint(100+i), "recent_viewers", base, map[string]any{"user_id": 1000 + i})
	}
	r, _ := e.query(`{ user(id: 1) { recentClickedArticles(count: 20) { article { category recentViewers { user { os } } } } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	// The user's clicks (no user static selected: no static read); the 20 articles' category
	// and their viewers; the 20 viewers' os.
	if e.rd.static != 2 || e.rd.acts != 2 || fmt.Sprint(e.rd.staticKeys) != "[20 20]" {
		t.Fatalf("want 2 static reads of 20 keys and 2 action reads, got %d static (%v keys) and %d action reads", e.rd.static, e.rd.staticKeys, e.rd.acts)
	}
}

// The fast POST transport answers exactly as gqlgen's own, which still serves other Accept
// types and every failure.
// POST follows the GraphQL-over-HTTP specification for both response media types: request
// errors are 4xx with a short message that never quotes the body, document and variable errors
// are 200 (application/json) or 400 (application/graphql-response+json) with no data entry,
// and an error-free answer is written as gqlgen would.
func TestPOSTFollowsGraphQLOverHTTP(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.MaxBodyBytes, c.MaxDepth, c.MaxComplexity = 4096, 3, 10 })
	e.static("user", "1", "os", "<ios & co>", 1)
	post := func(body, accept string) (string, string, int) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b), res.Header.Get("Content-Type"), res.StatusCode
	}
	const gr = "application/graphql-response+json"
	big := `{"query":"{ user(id: 1) { os } }","x":"` + strings.Repeat("secret", 2000) + `"}`
	// Over the depth limit (3) and over the cost limit (10 values).
	deep := `{ user(id: 1) { recentClickedArticles { article { recentViewers { user { os } } } } } }`
	costly := strings.TrimSuffix(strings.Repeat("1,", 11), ",")
	for _, tc := range []struct {
		name, body, accept string
		status             int
		media, want        string
	}{
		{"ok", `{"query":"{ user(id: 1) { os regionId } }"}`, "", 200, "application/json", `{"data":{"user":{"os":"<ios & co>","regionId":null}}}`},
		{"ok graphql-response", `{"query":"{ user(id: 1) { os } }"}`, gr, 200, gr, `{"data":{"user":{"os":"<ios & co>"}}}`},
		{"validation json", `{"query":"{ user(id: 1) { oss } }"}`, "", 200, "application/json", `Cannot query field`},
		{"validation graphql-response", `{"query":"{ user(id: 1) { oss } }"}`, gr, 400, gr, `Cannot query field`},
		{"parse json", `{"query":"{"}`, "application/json", 200, "application/json", `Expected Name`},
		{"parse graphql-response", `{"query":"{"}`, gr + ", application/json", 400, gr, `Expected Name`},
		{"variables json", `{"query":"query($id: Int!) { user(id: $id) { os } }","variables":{"id":"x"}}`, "", 200, "application/json", `Int`},
		{"variables graphql-response", `{"query":"query($id: Int!) { user(id: $id) { os } }","variables":{"id":"x"}}`, gr, 400, gr, `Int`},
		{"depth json", `{"query":"` + deep + `"}`, "", 200, "application/json", `DEPTH_LIMIT_EXCEEDED`},
		{"depth graphql-response", `{"query":"` + deep + `"}`, gr, 400, gr, `DEPTH_LIMIT_EXCEEDED`},
		{"cost json", `{"query":"{ users(ids: [` + costly + `]) { os } }"}`, "", 200, "application/json", `COMPLEXITY_LIMIT_EXCEEDED`},
		{"cost graphql-response", `{"query":"{ users(ids: [` + costly + `]) { os } }"}`, gr, 400, gr, `COMPLEXITY_LIMIT_EXCEEDED`},
		{"no query", `{"variables":{}}`, "", 400, "application/json", `no query`},
		{"not JSON", `{"query": "{ user(id: 1) { os } }", oops}`, "", 400, "application/json", `the body is not a GraphQL request`},
		{"too large", big, "", 413, "application/json", `larger than 4096 bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ct, code := post(tc.body, tc.accept)
			var parsed map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &parsed); err != nil {
				t.Fatalf("not JSON: %q", body)
			}
			if code != tc.status || !strings.HasPrefix(ct, tc.media) || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %s %s; want %d %s containing %q", code, ct, body, tc.status, tc.media, tc.want)
			}
			if _, hasData := parsed["data"]; hasData != (tc.status == 200 && parsed["errors"] == nil) {
				t.Fatalf("data entry %v in %s", hasData, body)
			}
			if strings.Contains(body, "secret") || strings.Contains(body, "oops") || len(body) > 1000 {
				t.Fatalf("the answer quotes the body: %.200s", body)
			}
		})
	}
}

// Resolver errors carry their own text: the location and path are in their own fields, not a
// "input:1:17: user.recentClickedArticles" prefix; an Int beyond 32 bits is a coercion error.
func TestErrorMessagesAndIntRange(t *testing.T) {
	e := newEnv(t)
	r, _ := e.query(`{ user(id: 1) { recentClickedArticles(count: -1) { articleId } } }`, nil)
	if len(r.Errors) != 1 || r.Errors[0].Message != "count must be positive, got -1" {
		t.Fatalf("errors %+v", r.Errors)
	}
	for _, q := range []string{
		`{ user(id: 2147483648) { os } }`,
		`{ user(id: 1) { recentClickedArticles(count: 99999999999) { articleId } } }`,
	} {
		r, _ = e.query(q, nil)
		if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "non 32-bit signed integer") || strings.HasPrefix(r.Errors[0].Message, "input:") {
			t.Fatalf("%s: errors %+v", q, r.Errors)
		}
	}
	r, _ = e.query(`query($n: Int) { user(id: 1) { recentClickedArticles(count: $n) { articleId } } }`, map[string]any{"n": int64(1) << 40})
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "non 32-bit signed integer") {
		t.Fatalf("variable: errors %+v", r.Errors)
	}
	r, _ = e.query(`{ user(id: 2147483647) { id } }`, nil)
	jsonEq(t, r.Data, `{"user":{"id":2147483647}}`)
}
