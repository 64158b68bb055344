package offline

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

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
		l := &ServedLog{}
		l.SetRegistry(reg)
		// 16 requests of other users and values (random, as stored values are: compression
		// does not see the same request again and again).
		rng := rand.New(rand.NewPCG(1, uint64(users)))
		var reqs []*ServedRequest
		var n int
		for range 16 {
			q := store.StaticQuery{Prefix: "u", Features: feats}
			var out []store.StaticValue
			for range users {
				q.IDs = append(q.IDs, strconv.Itoa(rng.IntN(10_000_000)))
				for j := range feats {
					v := store.IntValue(rng.Int64N(100000))
					if j%2 == 1 {
						v = store.FloatValue(rng.Float64() * 100)
					}
					out = append(out, store.StaticValue{Value: v, TS: 1700000000000 + rng.Int64N(86_400_000)})
				}
			}
			r := &ServedRequest{log: l, ID: fmt.Sprintf("%032x", rng.Uint64()), Time: time.Now(), Operation: "P", OperationHash: "abc"}
			r.AppendStatic(q, out, nil)
			reqs = append(reqs, r)
			n = len(out)
		}
		for _, codec := range []string{"snappy", "none", "zstd-fastest"} {
			b.Run(fmt.Sprintf("P%d/%s", map[int]int{1: 1, 100: 2}[users], codec), func(b *testing.B) {
				e := newServedEncoder()
				e.uncompressed = codec == "none"
				if codec == "zstd-fastest" {
					z, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
					if err != nil {
						b.Fatal(err)
					}
					e.zstd = z
				}
				e.reset()
				var size int
				b.ReportAllocs()
				cpu0 := ProcessCPU()
				for i := range b.N {
					e.add(l, reqs[i%len(reqs)])
					if e.rows >= 500000 {
						body, err := e.encode()
						if err != nil {
							b.Fatal(err)
						}
						size = len(body)
						e.reset()
					}
				}
				b.ReportMetric(float64(ProcessCPU()-cpu0)/float64(b.N*n), "cpu-ns/value")
				if size > 0 {
					b.ReportMetric(float64(size)/500000, "file-B/value")
				}
			})
		}
	}
}
