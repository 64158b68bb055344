package plan_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/plan/querygen"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers"
)

// usersQuery is the README query over users 1..n, as a request body.
func usersQuery(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 1)
	}
	return `{"query":"{ users(ids: [` + strings.Join(ids, ",") + `]) { os regionId notificationKeywords ` +
		`recentClickedArticles(count: 3) { timestamp source article { id title category price } } } }"}`
}

// BenchmarkUsers1000 serves a 1000-id query in process (no network) with each executor: the
// cost of the executors' deadline checks shows here.
func BenchmarkUsers1000(b *testing.B) {
	reg, err := registry.Load("../features")
	if err != nil {
		b.Fatal(err)
	}
	body := usersQuery(1000)
	for _, plans := range []bool{true, false} {
		b.Run("plans="+strconv.FormatBool(plans), func(b *testing.B) {
			cfg := gateway.DefaultConfig()
			if !plans {
				cfg.Executor = resolvers.NewExecutableSchema
			}
			g, err := gateway.New(cfg, reg, querygen.NewStore(reg, 1, 1000), nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				g.ServeHTTP(w, r)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"data":{"users":[{`) { // (the store has some bad values: errors)
					b.Fatalf("%d %.300s", w.Code, w.Body.String())
				}
			}
		})
	}
}
