package plan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/plan"
	"github.com/featuregraph/featuregraph/plan/querygen"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers"
	"github.com/featuregraph/featuregraph/store"
)

// The differential test: generated operations go to a gateway serving compiled plans and to
// one serving gqlgen's executor only, over the same deterministic store, and the answers must
// be byte-identical — data, errors (message, path, locations, extensions) and partial results.
// gqlgen reports the errors of concurrent resolvers in the order they happen, so errors are
// compared as a sorted list of their JSON encodings.

// steps counts plan read steps: a plan that read nothing is still byte-compared, but the test
// insists that most generated operations ran on the plan path.
type steps struct{ n atomic.Int64 }

func (s *steps) Step(ctx context.Context, _ plan.Step) (context.Context, func(error)) {
	s.n.Add(1)
	return ctx, func(error) {}
}

// reads counts feature reads (what the Prometheus metrics count) per entity and feature.
type reads struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *reads) FeatureRead(entity, feature string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[entity+"."+feature] += n
}

func (r *reads) take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.n
	r.n = map[string]int{}
	return out
}

type pair struct {
	plans, gqlgen *httptest.Server
	steps         *steps
	store         *querygen.Store
	reads         [2]*reads // plans, gqlgen
}

const maxIDs = 50

// newPair serves both executors; mutate adjusts their configuration.
func newPair(t testing.TB, reg *registry.Registry, seed uint64, mutate ...func(*gateway.Config)) *pair {
	t.Helper()
	p := &pair{steps: &steps{}, store: querygen.NewStore(reg, seed, 0),
		reads: [2]*reads{{n: map[string]int{}}, {n: map[string]int{}}}}
	for i, plans := range []bool{true, false} {
		srv := newServer(t, reg, p.store, plans, append([]func(*gateway.Config){func(cfg *gateway.Config) {
			cfg.Resolvers.Recorder = p.reads[i]
			cfg.PlanObserver = p.steps
		}}, mutate...)...)
		if plans {
			p.plans = srv
		} else {
			p.gqlgen = srv
		}
	}
	return p
}

// newServer serves the gateway over r, with plans or gqlgen's executor only.
func newServer(t testing.TB, reg *registry.Registry, r store.Reader, plans bool, mutate ...func(*gateway.Config)) *httptest.Server {
	t.Helper()
	cfg := gateway.DefaultConfig()
	cfg.Resolvers.MaxIDs = maxIDs
	if !plans {
		cfg.Executor = resolvers.NewExecutableSchema
	}
	// Far from what a request takes even on a loaded machine: a request past its deadline is
	// stopped and answered TIMEOUT by both executors (the timeout test sets a short one).
	cfg.RequestTimeout = 10 * time.Second
	for _, m := range mutate {
		m(&cfg)
	}
	g, err := gateway.New(cfg, reg, r, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv
}

func post(t testing.TB, url string, q querygen.Query) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": q.Text, "variables": q.Vars})
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, fmt.Sprintf(" (HTTP %d)", res.StatusCode)...)
}

// normalize sorts the errors of a response and returns it re-encoded with data kept as raw
// bytes; a body that is not a JSON response is returned as is.
func normalize(body []byte) string {
	i := bytes.LastIndex(body, []byte(" (HTTP "))
	raw, status := body[:i], body[i:]
	var r struct {
		Errors     []json.RawMessage `json:"errors"`
		Data       json.RawMessage   `json:"data"`
		Extensions json.RawMessage   `json:"extensions"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return string(body)
	}
	errs := make([]string, len(r.Errors))
	for i, e := range r.Errors {
		errs[i] = string(e)
	}
	slices.Sort(errs)
	return fmt.Sprintf("data=%s\nerrors=%v\nextensions=%s%s", r.Data, errs, r.Extensions, status)
}

// check runs one operation through both gateways and reports whether the plan path ran it.
func (p *pair) check(t testing.TB, q querygen.Query, fault querygen.Fault) bool {
	t.Helper()
	p.store.SetFault(fault)
	before := p.steps.n.Load()
	got := post(t, p.plans.URL, q)
	ran := p.steps.n.Load() > before
	want := post(t, p.gqlgen.URL, q)
	if g, w := normalize(got), normalize(want); g != w {
		vars, _ := json.Marshal(q.Vars)
		t.Fatalf("plan and gqlgen differ (fault %d)\nquery: %s\nvariables: %s\nplan:\n%s\ngqlgen:\n%s", fault, q.Text, vars, g, w)
	}
	if g, w := p.reads[0].take(), p.reads[1].take(); !maps.Equal(g, w) {
		t.Fatalf("plan and gqlgen count different feature reads\nquery: %s\nplan:   %v\ngqlgen: %v", q.Text, g, w)
	}
	return ran
}

func faultFor(i int) querygen.Fault {
	switch i % 10 {
	case 3:
		return querygen.StaticFault
	case 7:
		return querygen.ActionFault
	}
	return querygen.NoFault
}

// queries is the number of operations TestPlanMatchesGqlgen generates: 800, or
// $FEATUREGRAPH_DIFF_QUERIES (the golden-registry runs use fewer).
func queries(t *testing.T) int {
	if v := os.Getenv("FEATUREGRAPH_DIFF_QUERIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("FEATUREGRAPH_DIFF_QUERIES=%q: want a positive number", v)
		}
		return n
	}
	return 800
}

func TestPlanMatchesGqlgen(t *testing.T) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	p := newPair(t, reg, 1)
	gen := querygen.New(reg, 1, querygen.Options{BadArgs: 0.1, MaxIDs: maxIDs, PointInTime: 0.15, Filters: 0.3, Base: p.store.Base()})
	n := queries(t)
	ran := 0
	for i := range n {
		q := gen.Next()
		if p.check(t, q, faultFor(i)) {
			ran++
		}
	}
	// Introspection too (this test runs on every golden registry): GraphiQL's query.
	graphiql, err := os.ReadFile("../gateway/testdata/graphiql-introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	p.check(t, querygen.Query{Text: string(graphiql)}, querygen.NoFault)
	t.Logf("%d of %d generated operations ran on the plan path", ran, n)
	if ran < n/2 {
		t.Errorf("only %d of %d generated operations ran on the plan path, want at least %d", ran, n, n/2)
	}
}

func TestPlanMatchesGqlgenOnTimeout(t *testing.T) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	p := newPair(t, reg, 2, func(c *gateway.Config) { c.RequestTimeout = 300 * time.Millisecond })
	q := querygen.Query{Text: `{ users(ids: [1, 2]) { os recentSearches(count: 2) { query } } }`}
	if !p.check(t, q, querygen.TimeoutFault) {
		t.Error("the plan path did not run")
	}
}

// FuzzPlanMatchesGqlgen runs generated operations for fuzzed generator seeds:
// go test -fuzz FuzzPlanMatchesGqlgen ./plan
func FuzzPlanMatchesGqlgen(f *testing.F) {
	reg, err := registry.Load("../features")
	if err != nil {
		f.Fatal(err)
	}
	p := newPair(f, reg, 3)
	for _, s := range []uint64{0, 1, 42} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, seed uint64, fault uint8) {
		gen := querygen.New(reg, seed, querygen.Options{BadArgs: 0.1, MaxIDs: maxIDs, PointInTime: 0.15, Filters: 0.3, Base: p.store.Base()})
		p.check(t, gen.Next(), querygen.Fault(fault%3))
	})
}

// TestPlanMatchesGqlgenOnArgumentErrors: every argument error, literal and in variables — Ints
// beyond 32 bits (ids, counts, filter operands), asOf that is not a time or before 1970, count
// ≤ 0, negative lastNSec, too many ids (a non-null root: no data) — and filter/asOf reads,
// answered alike (message, path, locations, code, partial data).
func TestPlanMatchesGqlgenOnArgumentErrors(t *testing.T) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	p := newPair(t, reg, 4)
	var many []string
	for i := range maxIDs + 1 {
		many = append(many, strconv.Itoa(i+1))
	}
	for _, q := range []querygen.Query{
		{Text: `{ user(id: 1) { recentSearches(count: 3000000000) { query } } }`},
		{Text: `query($n: Int) { user(id: 1) { recentSearches(count: $n) { query } } }`, Vars: map[string]any{"n": 3000000000}},
		{Text: `{ user(id: 4294967297) { os } }`},
		{Text: `{ users(ids: [1, 4294967297]) { os } }`},
		{Text: `{ a: user(id: 1) { os } users(ids: [` + strings.Join(many, ", ") + `]) { os } }`},
		{Text: `{ user(id: 1, asOf: "garbage") { os } }`},
		{Text: `{ user(id: 1, asOf: "1969-01-01T00:00:00Z") { os } }`},
		{Text: `{ users(ids: [1, 2]) { recentSearches(asOf: "1969-01-01T00:00:00Z") { query } } }`},
		{Text: `{ users(ids: [1, 2]) { recentSearches(count: 0) { query } recentPurchases(lastNSec: -1) { price } } }`},
		{Text: `{ user(id: 1, asOf: "2026-10-01T00:00:00Z") { os regionId recentSearches(count: 2) { query } } }`},
		{Text: `{ user(id: 1) { recentClickedArticles(filter: {articleId: {in: 5}}) { articleId } } }`},
		{Text: `{ user(id: 1) { recentClickedArticles(filter: {articleId: {in: [1, 3000000000]}}) { articleId } } }`},
		{Text: `{ users(ids: [1, 3]) { recentClickedArticles(count: 5, filter: { source: { in: ["push", "feed"] } }) { articleId source article { price } } } }`},
		{Text: `query($f: UserRecentClickedArticlesEventFilter) { user(id: 1) { recentClickedArticles(filter: $f) { articleId } } }`,
			Vars: map[string]any{"f": map[string]any{"articleId": map[string]any{"notIn": 3000000000}}}},
		{Text: `{ user(id: 1, asOf: "2026-10-01T00:00:00Z") { recentSearches(count: 2) { query } } }`},
		// @defer: answered inline on the POST transport, by both.
		{Text: `{ user(id: 1) { id ... @defer { os } ...F @defer(if: false, label: "f") } } fragment F on User { regionId recentSearches(count: 1) { query } }`},
		{Text: `query($d: Boolean!) { users(ids: [1, 2]) { ... @defer(if: $d) { os } } }`, Vars: map[string]any{"d": true}},
	} {
		p.check(t, q, querygen.NoFault)
	}
}

// TestPlanMatchesGqlgenOnIntrospection: GraphiQL's introspection query, __type with fragments,
// aliases, directives, variables and unknown names, and __schema with introspection turned off
// (an error at the field) are answered byte for byte as gqlgen's executor answers them.
func TestPlanMatchesGqlgenOnIntrospection(t *testing.T) {
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	graphiql, err := os.ReadFile("../gateway/testdata/graphiql-introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	queries := []querygen.Query{
		{Text: string(graphiql)},
		{Text: `{ __schema { queryType { name } mutationType { name } subscriptionType { name } description __typename } }`},
		{Text: `query($n: String!, $d: Boolean!) { t: __type(name: $n) { name kind ...F fields(includeDeprecated: $d) { name isDeprecated deprecationReason args { name defaultValue type { kind name ofType { kind name ofType { name } } } } } } }
fragment F on __Type { description specifiedByURL isOneOf inputFields { name } enumValues(includeDeprecated: true) { name isDeprecated } interfaces { name } possibleTypes { name } }`,
			Vars: map[string]any{"n": "User", "d": true}},
		{Text: `{ a: __type(name: "UserRecentClickedArticlesEventFilter") { inputFields { name description type { name kind } defaultValue } } b: __type(name: "Nope") { name } c: __type(name: "__TypeKind") { enumValues { name } } }`},
		{Text: `{ __schema { directives { name description locations isRepeatable args(includeDeprecated: true) { name } } types { name @skip(if: false) kind } } user(id: 1) { os __typename } }`},
	}
	p := newPair(t, reg, 5)
	for _, q := range queries {
		p.check(t, q, querygen.NoFault)
	}
	off := newPair(t, reg, 5, func(c *gateway.Config) { c.Introspection = false })
	for _, q := range []querygen.Query{
		{Text: `{ __schema { queryType { name } } user(id: 1) { os } }`},
		{Text: `{ t: __type(name: "User") { name } __typename }`},
	} {
		off.check(t, q, querygen.NoFault)
	}
}
