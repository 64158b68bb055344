package plan_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

// The P1 variant with derived features: P1's registry (one user, 25 Int and 25 Float static
// features) plus 5 derived features over them, and the query of P1 with and without those 5.
// (P1 - P1+5 derived) / 5 is the cost of one derived value: compile, read its inputs (already
// in the batch), evaluate, write. Run: go test ./plan -run '^$' -bench 'P1' -benchmem -cpu 1

var pDerived = []string{
	"double(i00) * f00",
	"i01 + i02 > 500000 ? 1.0 : 0.0",
	"f03 / (f04 + 1.0)",
	"double(i05 - i06) * 0.5 + f05",
	"f07 > f08 ? f07 : f08",
}

func benchRegistry(service string) *registry.Registry {
	var b strings.Builder
	b.WriteString("entities:\n  user: { prefix: u }\n")
	if service != "" {
		fmt.Fprintf(&b, "services:\n  safety:\n    http: { url: %q, batchSize: 1000 }\n", service+"/v1/safety")
	}
	b.WriteString("features:\n  user:\n")
	for i := range 25 {
		fmt.Fprintf(&b, "    i%02d: { featureType: static, type: Int }\n    f%02d: { featureType: static, type: Float }\n", i, i)
	}
	for i, e := range pDerived {
		fmt.Fprintf(&b, "    d%d: { type: Float, expr: %q }\n", i, e)
	}
	if service != "" {
		b.WriteString("    blocked_users: { type: Int, containerType: list, source: { service: safety } }\n")
	}
	reg, err := registry.Parse(map[string][]byte{"p.yaml": []byte(b.String())})
	if err != nil {
		panic(err)
	}
	return reg
}

func benchStore(b *testing.B, users int) store.Reader {
	st := memory.New()
	var ws []store.StaticWrite
	for id := range users {
		for j := range 25 {
			k := func(f string) store.Key { return store.Key{Prefix: "u", ID: strconv.Itoa(id), Feature: f} }
			ws = append(ws, store.StaticWrite{Key: k(fmt.Sprintf("i%02d", j)), Value: store.IntValue(int64(id*1000 + j)), TS: 1},
				store.StaticWrite{Key: k(fmt.Sprintf("f%02d", j)), Value: store.FloatValue(float64(id) + float64(j)/10), TS: 1})
		}
	}
	if err := st.WriteStatic(b.Context(), ws); err != nil {
		b.Fatal(err)
	}
	return st
}

func benchQuery(batch bool, derived int, service bool) string {
	var fields []string
	for j := range 25 {
		fields = append(fields, fmt.Sprintf("i%02d", j), fmt.Sprintf("f%02d", j))
	}
	for i := range derived {
		fields = append(fields, fmt.Sprintf("d%d", i))
	}
	if service {
		fields = append(fields, "blockedUsers")
	}
	if batch {
		return `query P2($ids: [Int!]!) { users(ids: $ids) { id ` + strings.Join(fields, " ") + ` } }`
	}
	return `query P1($id: Int!) { user(id: $id) { id ` + strings.Join(fields, " ") + ` } }`
}

func benchServe(b *testing.B, reg *registry.Registry, st store.Reader, query string, vars map[string]any) {
	cfg := gateway.DefaultConfig()
	cfg.Resolvers.MaxIDs = 1000
	g, err := gateway.New(cfg, reg, st, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	do := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		return rec
	}
	if rec := do(); rec.Code != 200 || strings.Contains(rec.Body.String(), `"errors"`) {
		b.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		do()
	}
}

func BenchmarkP1(b *testing.B) {
	benchServe(b, benchRegistry(""), benchStore(b, 10), benchQuery(false, 0, false), map[string]any{"id": 3})
}

func BenchmarkP1Derived5(b *testing.B) {
	benchServe(b, benchRegistry(""), benchStore(b, 10), benchQuery(false, 5, false), map[string]any{"id": 3})
}

// P2 (100 users × 50 features) with and without 5 derived features: 500 derived values.
func BenchmarkP2(b *testing.B) {
	benchServe(b, benchRegistry(""), benchStore(b, 100), benchQuery(true, 0, false), map[string]any{"ids": benchIDs(100)})
}

func BenchmarkP2Derived5(b *testing.B) {
	benchServe(b, benchRegistry(""), benchStore(b, 100), benchQuery(true, 5, false), map[string]any{"ids": benchIDs(100)})
}

// BenchmarkP2Service: P2 plus a service feature served by a local HTTP service: one round
// trip per request for the 100 users (reported as calls/op).
func BenchmarkP2Service(b *testing.B) {
	var calls atomic.Int64
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct{ IDs []int64 }
		json.NewDecoder(r.Body).Decode(&req)
		res := map[string]any{}
		for _, id := range req.IDs {
			res[strconv.FormatInt(id, 10)] = map[string]any{"blocked_users": []int64{id, id + 1}}
		}
		json.NewEncoder(w).Encode(map[string]any{"results": res})
	}))
	defer svc.Close()
	benchServe(b, benchRegistry(svc.URL), benchStore(b, 100), benchQuery(true, 0, true), map[string]any{"ids": benchIDs(100)})
	b.ReportMetric(float64(calls.Load())/float64(b.N+1), "calls/op")
}

func benchIDs(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	return ids
}
