package plan_test

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/redis"
)

// BenchmarkP2Redis is P2 (100 users × 50 static features) through the gateway over the Redis
// store (no cache): the gateway's own CPU per request (cpu-ms/op, from getrusage; redis-server
// is another process) and allocations, the figures the P2 redis row of the bench reads.
// -script=true: with Config.StaticScript. Run: go test ./plan -run '^$' -bench P2Redis -benchmem -cpu 1
func BenchmarkP2Redis(b *testing.B) {
	addr, stop, err := testenv.StartRedis()
	if err != nil {
		b.Skip(err)
	}
	defer stop()
	for _, script := range []bool{false, true} {
		name := "hmget"
		if script {
			name = "script"
		}
		b.Run(name, func(b *testing.B) {
			st, err := redis.New(redis.Config{Addrs: []string{addr}, StaticScript: script})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			mem := benchStore(b, 100).(store.StaticReader)
			out := make([]store.StaticValue, 100*50)
			q := store.StaticQuery{Prefix: "u", IDs: stringIDs(100), Features: benchFeatures()}
			if err := mem.ReadStatic(b.Context(), q, out); err != nil {
				b.Fatal(err)
			}
			ws := make([]store.StaticWrite, 0, len(out))
			for i, sv := range out {
				ws = append(ws, store.StaticWrite{Key: q.Key(i), Value: sv.Value, TS: sv.TS})
			}
			if err := st.WriteStatic(b.Context(), ws); err != nil {
				b.Fatal(err)
			}
			c0 := ownCPU()
			benchServe(b, benchRegistry(""), st, benchQuery(true, 0, false), map[string]any{"ids": benchIDs(100)})
			b.StopTimer()
			b.ReportMetric((ownCPU()-c0)*1000/float64(b.N), "cpu-ms/op")
		})
	}
}

func ownCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func stringIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	return ids
}

func benchFeatures() []string {
	var fs []string
	for j := range 25 {
		fs = append(fs, fmt.Sprintf("i%02d", j), fmt.Sprintf("f%02d", j))
	}
	return fs
}
