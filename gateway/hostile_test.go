package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
)

func gqlBody(q string, extra ...string) string {
	b, _ := json.Marshal(q)
	return `{"query":` + string(b) + strings.Join(extra, "") + `}`
}

func repeated(prefix, item string, n int, suffix string) string {
	return prefix + strings.Repeat(item, n) + suffix
}

func aliases(n int) string {
	var b strings.Builder
	b.WriteString("{ user(id: 1) { ")
	for i := range n {
		fmt.Fprintf(&b, "a%d: os ", i)
	}
	b.WriteString("} }")
	return b.String()
}

func unknownFields(n int) string {
	var b strings.Builder
	b.WriteString("{ user(id: 1) { ")
	for i := range n {
		fmt.Fprintf(&b, "nope%d ", i)
	}
	b.WriteString("} }")
	return b.String()
}

// TestHostileQueries sends each hostile request of the hardening issue to the gateway and checks
// that it is refused as the client's fault (4xx, never 5xx) with a short answer (at most 2 KB,
// whatever the request quotes), and that refusing it is cheap: the heap allocations of the whole
// round trip (client and server are in this process) stay under a bound that validating or
// executing the query would exceed many times over. Work is bounded by allocation counts, not
// wall-clock.
func TestHostileQueries(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("x", 900_000)
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string // extensions.code of the first error ("" = any)
		allocs uint64 // bound on mallocs for the round trip
	}{
		{"repeated field ×9990", gqlBody(repeated("{ user(id: 1) { ", "os ", 9990, "} }")), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 300_000},
		{"repeated __typename ×9990", gqlBody(repeated("{ user(id: 1) { ", "__typename ", 9990, "} }")), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 300_000},
		{"repeated inline fragment ×1400", gqlBody(repeated("{ user(id: 1) { ", "... on User { os } ", 1400, "} }")), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 300_000},
		{"repeated fragment spread ×4000", gqlBody(repeated("{ user(id: 1) { ", "...F ", 4000, "} } fragment F on User { os }")), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 300_000},
		{"3000 distinct aliases", gqlBody(aliases(3000)), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 300_000},
		{"1000 distinct aliases in one set", gqlBody(aliases(1000)), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 300_000},
		{"600 roots", gqlBody(repeated("{ ", "user(id: 1) { os } ", 600, "}")), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 300_000},
		{"400 unknown fields", gqlBody(unknownFields(400)), 200, "GRAPHQL_VALIDATION_FAILED", 600_000},
		{"10 MB body", `{"query":"` + strings.Repeat("y", 10<<20) + `"}`, 413, "REQUEST_TOO_LARGE", 200_000},
		{"900 KB unknown field", gqlBody("{ user(id: 1) { " + big + " } }"), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 200_000},
		{"900 KB unknown argument", gqlBody("{ user(id: 1, " + big + ": 1) { os } }"), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 200_000},
		{"900 KB alias", gqlBody("{ user(id: 1) { " + big + ": os } }"), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 200_000},
		{"900 KB fragment name", gqlBody("{ user(id: 1) { ..." + big + " } }"), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 200_000},
		{"900 KB type condition", gqlBody("{ user(id: 1) { ... on " + big + " { os } } }"), 200, "QUERY_SHAPE_LIMIT_EXCEEDED", 200_000},
		{"900 KB operation name", gqlBody("query Q { user(id: 1) { os } }", `,"operationName":"`+big+`"`), 200, "GRAPHQL_VALIDATION_FAILED", 200_000},
		{"900 KB string for an Int variable", gqlBody("query Q($id: Int!) { user(id: $id) { os } }", `,"variables":{"id":"`+big+`"}`), 200, "GRAPHQL_VALIDATION_FAILED", 200_000},
		{"100,000-deep variables", gqlBody("query Q($ids: [Int!]!) { users(ids: $ids) { os } }", `,"variables":{"ids":`+deep+`}`), 400, "BAD_REQUEST", 400_000},
		{"malformed JSON quoting 900 KB", `{"query":"` + big, 400, "BAD_REQUEST", 200_000},
		{"not a request object", `[1,2,3]`, 400, "BAD_REQUEST", 200_000},
		{"syntax error after 900 KB", gqlBody("{ user(id: 1) { os } } # " + big + "\n }"), 200, "GRAPHQL_PARSE_FAILED", 200_000},
		{"too many tokens", gqlBody(repeated("{ user(id: 1) { ", "os ", 20000, "} }")), 200, "GRAPHQL_PARSE_FAILED", 300_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			res, err := http.Post(e.srv.URL+"/graphql", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			runtime.ReadMemStats(&m1)
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %.300s", res.StatusCode, tc.status, b)
			}
			if len(b) > 2048 {
				t.Errorf("answer is %d bytes (at most 2 KB): %.300s", len(b), b)
			}
			var r response
			if err := json.Unmarshal(b, &r); err != nil || len(r.Errors) == 0 {
				t.Fatalf("want GraphQL errors, got %.300s", b)
			}
			if code := r.Errors[0].Extensions["code"]; tc.code != "" && code != tc.code {
				t.Errorf("code %v, want %s: %.300s", code, tc.code, b)
			}
			if n := m1.Mallocs - m0.Mallocs; n > tc.allocs {
				t.Errorf("%d allocations, want at most %d", n, tc.allocs)
			} else {
				t.Logf("%d allocations, %d bytes answered", n, len(b))
			}
		})
	}
}

// TestShapeLimitsAllowOrdinaryQueries: fragments shared by several selections, a field asked
// in a few fragments, and many distinct features stay under the limits.
func TestShapeLimitsAllowOrdinaryQueries(t *testing.T) {
	e := newEnv(t)
	q := `query { a: user(id: 1) { ...U os } b: user(id: 2) { ...U ... on User { os regionId } } }
	      fragment U on User { os regionId recentClickedArticles(count: 2) { articleId article { ...A } } }
	      fragment A on Article { id title price }`
	r, code := e.query(q, nil)
	if code != http.StatusOK || len(r.Errors) != 0 {
		t.Fatalf("%d %+v", code, r.Errors)
	}
}

// TestQueryCacheIsBoundedInBytes: distinct large queries do not pile up in the parsed-query
// cache (1,000 distinct 900 KB queries took 2.7 GB before).
func TestQueryCacheIsBoundedInBytes(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.QueryCacheBytes = 4 << 20
		// What is checked is memory, not time: parsing 200 KB queries under the race detector
		// on a loaded machine can take longer than the default 2 s request timeout.
		c.RequestTimeout = time.Minute
	})
	pad := strings.Repeat("z", 200_000)
	var m runtime.MemStats
	var peak uint64
	for i := range 60 {
		r, code := e.query(fmt.Sprintf("{ user(id: %d) { os } } # %s", i, pad), nil)
		if code != 200 || len(r.Errors) != 0 {
			t.Fatalf("%d %+v", code, r.Errors)
		}
		if i%10 == 9 {
			runtime.GC()
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
	}
	// 60 × 200 KB = 12 MB of query text if every query were kept; the cache holds at most 4 MiB.
	runtime.GC()
	runtime.ReadMemStats(&m)
	t.Logf("heap in use %d MB (peak %d MB)", m.HeapInuse>>20, peak>>20)
	if m.HeapInuse > 64<<20 {
		t.Fatalf("heap in use %d MB after 60 distinct 200 KB queries", m.HeapInuse>>20)
	}
}
