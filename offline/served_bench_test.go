package offline_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

type countSink struct{ rows int }

func (c *countSink) Add(r *offline.ServedRows)     { c.rows += r.Values() }
func (c *countSink) Write(_ context.Context) error { return nil }
func (c *countSink) Discard()                      {}
func (*countSink) String() string                  { return "count" }

// BenchmarkServedLogP1 measures the log's own cost of a P1-shaped request (one user × 50
// static features): captured, and written (Parquet on a DirStore on a temporary directory, or
// counted), per request.
func BenchmarkServedLogP1(b *testing.B) {
	reg := exampleWith(b, map[string]string{"offline.yaml": "servedLog: {}\n"})
	q := store.StaticQuery{Prefix: "u", IDs: []string{"12345"}}
	var out []store.StaticValue
	for i := range 50 {
		q.Features = append(q.Features, "os")
		out = append(out, store.StaticValue{Value: store.StringValue("value-" + strconv.Itoa(i)), TS: 1700000000000})
	}
	benchServed(b, reg, q, out)
}

// BenchmarkServedLogP2 is the same for a P2-shaped request (100 users × 50 statics: 25 Int,
// 25 Float, as the bench's P registry), per request and per value.
func BenchmarkServedLogP2(b *testing.B) {
	var yaml strings.Builder
	yaml.WriteString("entities:\n  user: {prefix: u}\nservedLog: {}\nfeatures:\n  user:\n")
	q := store.StaticQuery{Prefix: "u"}
	for i := range 25 {
		for _, typ := range []string{"Int", "Float"} {
			name := fmt.Sprintf("%c%02d", strings.ToLower(typ)[0], i)
			fmt.Fprintf(&yaml, "    %s: {featureType: static, type: %s}\n", name, typ)
			q.Features = append(q.Features, name)
		}
	}
	reg, err := registry.Parse(map[string][]byte{"f.yaml": []byte(yaml.String())})
	if err != nil {
		b.Fatal(err)
	}
	var out []store.StaticValue
	for u := range 100 {
		q.IDs = append(q.IDs, strconv.Itoa(100000+u))
		for j := range 50 {
			v := store.IntValue(int64(u*j + 7))
			if j%2 == 1 {
				v = store.FloatValue(float64(u*j) + 0.25)
			}
			out = append(out, store.StaticValue{Value: v, TS: 1700000000000 + int64(u)})
		}
	}
	benchServed(b, reg, q, out)
}

func benchServed(b *testing.B, reg *registry.Registry, q store.StaticQuery, out []store.StaticValue) {
	for _, sinkName := range []string{"count", "parquet", "parquet-uncompressed"} {
		b.Run(sinkName, func(b *testing.B) {
			var sink offline.ServedSink = &countSink{}
			if sinkName != "count" {
				ps := offline.NewServedParquetSink(offline.DirStore{Dir: b.TempDir()})
				ps.Uncompressed = sinkName == "parquet-uncompressed"
				sink = ps
			}
			l := offline.NewServedLog(reg, sink, offline.ServedConfig{Buffer: 1 << 30, FlushInterval: time.Hour})
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := offline.ProcessCPU()
			for range b.N {
				r := l.Request("0123456789abcdef0123456789abcdef", time.Now())
				r.Operation, r.OperationHash = "P1", "abc"
				r.AppendStatic(q, out, nil)
				l.Log(r)
				// As a server whose writer keeps up: at most 100 000 values
				// wait (else the loop outruns the writer and every request is a new one); the
				// loop sleeps meanwhile (no CPU).
				for l.Stats().Pending > 100000 {
					time.Sleep(100 * time.Microsecond)
				}
			}
			if err := l.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu := float64(offline.ProcessCPU() - cpu0)
			b.ReportMetric(cpu/float64(b.N)/1000, "cpu-µs/op")
			b.ReportMetric(cpu/float64(b.N*len(out)), "cpu-ns/value")
			if l.Dropped() != 0 {
				b.Fatalf("%d dropped", l.Dropped())
			}
			l.Close(context.Background())
		})
	}
}

// BenchmarkGatewayServedLog is the gateway's cost of served-feature logging at 100% sampling,
// in process: a one-user query of 9 statics and a 100-user batch of the same, with the log
// off and on (rows written as Parquet to a temporary directory), -benchtime alike for both.
func BenchmarkGatewayServedLog(b *testing.B) {
	const sel = `id os regionId mannerTemperature isVerified lastActiveAt notificationKeywords recentSearchQueries categoryAffinity { key value } settings`
	queries := map[string]string{
		"P1": `{"query":"query P1 { user(id: 7) { ` + sel + ` } }"}`,
		"P2": `{"query":"query P2($ids: [Int!]!) { users(ids: $ids) { ` + sel + ` } }","variables":{"ids":[` + idList(100) + `]}}`,
	}
	for _, sc := range []string{"P1", "P2"} {
		for _, logged := range []bool{false, true} {
			name := sc + "/off"
			if logged {
				name = sc + "/on"
			}
			b.Run(name, func(b *testing.B) {
				reg := exampleWith(b, map[string]string{"offline.yaml": "servedLog: {samplingRatio: 1}\n"})
				st := memory.New()
				seed(b, reg, st, 100)
				cfg := gateway.DefaultConfig()
				var p *offline.Pipeline
				if logged {
					var err error
					p, err = offline.Open(context.Background(), reg, offline.Config{Sink: b.TempDir(), Logger: quiet()})
					if err != nil {
						b.Fatal(err)
					}
					defer p.Close(context.Background())
					cfg.ServedLog = p.ServedLog()
				}
				g, err := gateway.New(cfg, reg, st, st, nil)
				if err != nil {
					b.Fatal(err)
				}
				body := queries[sc]
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := offline.ProcessCPU()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
						rec := httptest.NewRecorder()
						g.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("%d %s", rec.Code, rec.Body)
						}
					}
				})
				if p != nil { // the rows still buffered are written, and counted
					if err := p.Flush(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(offline.ProcessCPU()-cpu0)/float64(b.N)/1000, "cpu-µs/op")
				if p != nil {
					b.ReportMetric(float64(p.ServedLog().Dropped()), "dropped")
				}
			})
		}
	}
}

func idList(n int) string {
	var s []string
	for i := 1; i <= n; i++ {
		s = append(s, strconv.Itoa(i))
	}
	return strings.Join(s, ",")
}
