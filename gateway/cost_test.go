package gateway_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
)

// 40 chained fragments, each spreading the next twice, expand to 2^40 fields. The check must
// measure each fragment once and reject the query at once, not walk its expansion. (The shape
// limits reject such a query before, as a repeated field: they are lifted here to test the cost
// walk on its own; TestHostileQueries covers them.)
func TestChainedFragmentsAreRejectedCheaply(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.MaxRepeats, c.MaxSetFields = 1<<62, 1<<62 })
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	const n = 40
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Query { user(id: 1) { os } }\n", n)
	start := time.Now()
	r, _ := e.query(b.String(), nil)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Fatalf("want a complexity error, got %+v", r.Errors)
	}
	// Generous bound: the rejection is linear in the query; the expansion would take hours.
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("rejecting took %s", d)
	}
}

func TestCostMultipliesByIDsAndCount(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.MaxComplexity = 1000 })
	ids := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprint(i + 1)
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	for _, tc := range []struct {
		name, q string
		vars    map[string]any
		ok      bool
	}{
		// 1 + 400 × (1 os + 1 region) = 801
		{"ids within", `{ articles(ids: ` + ids(400) + `) { category price } }`, nil, true},
		// 1 + 600 × 2 = 1201
		{"ids over", `{ articles(ids: ` + ids(600) + `) { category price } }`, nil, false},
		// ids from a variable count the same
		{"ids variable over", `query($ids: [Int!]!) { articles(ids: $ids) { category price } }`, map[string]any{"ids": make([]int, 600)}, false},
		// 1 + 1 × (1 + 300 × 3) would be 902, but maxCount 100 caps the count: 302
		{"count within", `{ user(id: 1) { recentClickedArticles(count: 300) { articleId source timestamp } } }`, nil, true},
		// count 250000 is answered with at most maxCount (100) events: 1 + 1 + 100 × 3 = 302
		{"huge count capped", `{ user(id: 1) { recentClickedArticles(count: 250000) { articleId source timestamp } } }`, nil, true},
		{"huge count variable capped", `query($n: Int) { user(id: 1) { recentClickedArticles(count: $n) { articleId source timestamp } } }`, map[string]any{"n": 250000}, true},
		// 1 + 3 × (1 + 100 × 3) = 904: three users at the cap
		{"ids × capped count within", `{ users(ids: [1, 2, 3]) { recentClickedArticles(count: 1000) { articleId source timestamp } } }`, nil, true},
		// 1 + 4 × (1 + 100 × 3) = 1205
		{"ids × capped count over", `{ users(ids: [1, 2, 3, 4]) { recentClickedArticles(count: 1000) { articleId source timestamp } } }`, nil, false},
		// 1 + 1 × (1 + 40 × (1 + 10 (recentViewers' defaultCount) × 2)) = 842
		{"nested default count within", `{ user(id: 1) { recentClickedArticles(count: 40) { article { recentViewers { userId timestamp } } } } }`, nil, true},
		// 1 + 1 × (1 + 50 × (1 + 10 × 2)) = 1052
		{"nested default count over", `{ user(id: 1) { recentClickedArticles(count: 50) { article { recentViewers { userId timestamp } } } } }`, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := e.query(tc.q, tc.vars)
			rejected := len(r.Errors) > 0 && r.Errors[0].Extensions["code"] == "COMPLEXITY_LIMIT_EXCEEDED"
			if rejected == tc.ok {
				t.Fatalf("ok=%v, got errors %+v", tc.ok, r.Errors)
			}
		})
	}
}

// A count beyond maxCount is answered with at most maxCount events, and 200 users × count 1000
// are measured as 200 × maxCount (and --max-count), not rejected.
func TestLimitsCapNotReject(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.Resolvers.MaxCount = 20 })
	now := time.Now().Add(-time.Hour)
	for i := range 30 {
		e.action("user", "1", "recent_clicked_articles", now.Add(time.Duration(i)*time.Second), map[string]any{"article_id": i, "source": "feed"})
	}
	r, _ := e.query(`{ user(id: 1) { recentClickedArticles(count: 250000) { articleId } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	var got struct {
		User struct{ RecentClickedArticles []struct{ ArticleID int } }
	}
	_ = json.Unmarshal(r.Data, &got)
	if n := len(got.User.RecentClickedArticles); n != 20 {
		t.Fatalf("count 250000 with --max-count 20: %d events", n)
	}
	ids := make([]int, 200)
	for i := range ids {
		ids[i] = i + 1
	}
	// 1 + 200 × (1 + 20 × 2) = 8201 values, within the default limit of 200000.
	r, _ = e.query(`query($ids: [Int!]!) { users(ids: $ids) { recentClickedArticles(count: 1000) { articleId timestamp } } }`, map[string]any{"ids": ids})
	if len(r.Errors) > 0 {
		t.Fatalf("200 users × count 1000: %v", r.Errors)
	}
}

// List arguments count and are bounded, variables included: a filter's 50,000-string `in` list
// passed in variables used to cost 0.24 CPU-s a request and pass every limit (variables were
// not counted); it is now refused before it runs, naming the argument, and a list within the
// bound counts one value per element in the query's cost.
func TestInputListsCountAndAreBounded(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.MaxComplexity = 1000 })
	q := `query($in: [String!]) { user(id: 1) { recentClickedArticles(count: 5, filter: { source: { in: $in } }) { articleId } } }`
	strs := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint("s", i)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    string
		vars map[string]any
		code string // "": answered
	}{
		{"small list", q, map[string]any{"in": strs(3)}, ""},
		// 1 + 1 × (1 + 900 (the list) + 5 × 1) = 907
		{"900 values within the cost", q, map[string]any{"in": strs(900)}, ""},
		// 1 + 1 × (1 + 1000 + 5) = 1007 > 1000
		{"1000 values over the cost", q, map[string]any{"in": strs(1000)}, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"50,000 values in variables", q, map[string]any{"in": strs(50_000)}, "INPUT_LIMIT_EXCEEDED"},
		{"1001 values inline", `{ user(id: 1) { recentClickedArticles(filter: { source: { in: ["` + strings.Join(strs(1001), `","`) + `"] } }) { articleId } } }`, nil, "INPUT_LIMIT_EXCEEDED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := e.query(tc.q, tc.vars)
			switch {
			case tc.code == "" && len(r.Errors) > 0:
				t.Fatalf("errors %+v", r.Errors)
			case tc.code != "" && (len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != tc.code):
				t.Fatalf("want %s, got %+v", tc.code, r.Errors)
			case tc.code == "INPUT_LIMIT_EXCEEDED" && !strings.Contains(r.Errors[0].Message, "argument recentClickedArticles(filter.source.in) holds a list of"):
				t.Fatalf("message %q does not name the argument", r.Errors[0].Message)
			}
		})
	}
}
