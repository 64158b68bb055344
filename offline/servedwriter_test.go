package offline

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// BenchmarkServedWriter is the writer goroutine's own cost per request, without the request
// path: a captured P1-shaped (1 user × 50) or P2-shaped (100 users × 50) request of 25 Int and
// 25 Float features copied into the columns (add), and a file encoded every 500 000 values
// (encode, Snappy or none), per request and per value.
func BenchmarkServedWriter(b *testing.B) {
	var yaml strings.Builder
	yaml.WriteString("entities:\n  user: {prefix: u}\nservedLog: {}\nfeatures:\n  user:\n")
	var feats []string
	for i := range 25 {
		for _, typ := range []string{"Int", "Float"} {
			name := fmt.Sprintf("%c%02d", strings.ToLower(typ)[0], i)
			fmt.Fprintf(&yaml, "    %s: {featureType: static, type: %s}\n", name, typ)
			feats = append(feats, name)
		}
	}
	reg, err := registry.Parse(map[string][]byte{"f.yaml": []byte(yaml.String())})
	if err != nil {
		b.Fatal(err)
	}
	for _, users := range []int{1, 100} {
		q := store.StaticQuery{Prefix: "u", Features: feats}
		var out []store.StaticValue
		for u := range users {
			q.IDs = append(q.IDs, strconv.Itoa(100000+u))
			for j := range feats {
				v := store.IntValue(int64(u*j + 7))
				if j%2 == 1 {
					v = store.FloatValue(float64(u*j) + 0.25)
				}
				out = append(out, store.StaticValue{Value: v, TS: 1700000000000 + int64(u)})
			}
		}
		l := &ServedLog{entities: map[string]*servedEntity{}}
		for _, e := range reg.Entities {
			se := &servedEntity{name: e.Name, features: map[string]*servedFeature{}}
			for _, f := range e.Features() {
				se.features[f.Name] = newServedFeature(e.Name, f)
			}
			l.entities[e.Prefix] = se
		}
		r := &ServedRequest{log: l, ID: "0123456789abcdef0123456789abcdef", Time: time.Now(), Operation: "P", OperationHash: "abc"}
		r.AppendStatic(q, out, nil)
		for _, codec := range []string{"snappy", "none"} {
			b.Run(fmt.Sprintf("P%d/%s", map[int]int{1: 1, 100: 2}[users], codec), func(b *testing.B) {
				e := newServedEncoder()
				e.uncompressed = codec == "none"
				e.reset()
				var size int
				b.ReportAllocs()
				cpu0 := ProcessCPU()
				for range b.N {
					e.add(l, r)
					if e.rows >= 500000 {
						body, err := e.encode()
						if err != nil {
							b.Fatal(err)
						}
						size = len(body)
						e.reset()
					}
				}
				b.ReportMetric(float64(ProcessCPU()-cpu0)/float64(b.N*len(out)), "cpu-ns/value")
				if size > 0 {
					b.ReportMetric(float64(size)/500000, "file-B/value")
				}
			})
		}
	}
}
