package redis_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/redis"
)

// BenchmarkReadStatic100x50 is P2's Redis read: 100 entities × 50 features (25 Int, 25 Float),
// the client's CPU and allocations per read.
func BenchmarkReadStatic100x50(b *testing.B) {
	addr, stop, err := testenv.StartRedis()
	if err != nil {
		b.Skip(err)
	}
	defer stop()
	b.Run("hmget", func(b *testing.B) { benchReadStatic(b, redis.Config{Addrs: []string{addr}}) })
	b.Run("script", func(b *testing.B) { benchReadStatic(b, redis.Config{Addrs: []string{addr}, StaticScript: true}) })
}

func benchReadStatic(b *testing.B, cfg redis.Config) {
	s, err := redis.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	features := make([]string, 50)
	for j := range features {
		features[j] = fmt.Sprintf("f%02d", j)
	}
	var writes []store.StaticWrite
	q := store.StaticQuery{Prefix: "u", Features: features}
	for id := range 100 {
		q.IDs = append(q.IDs, strconv.Itoa(id))
		for j, f := range features {
			v := store.IntValue(int64(id * j * 7919 % 1_000_000))
			if j%2 == 1 {
				v = store.FloatValue(float64(id*j*7919%1_000_000) / 1000)
			}
			writes = append(writes, store.StaticWrite{Key: store.Key{Prefix: "u", ID: strconv.Itoa(id), Feature: f}, Value: v, TS: 1700000000000})
		}
	}
	if err := s.WriteStatic(ctx, writes); err != nil {
		b.Fatal(err)
	}
	out := make([]store.StaticValue, q.Len())
	if err := s.ReadStatic(ctx, q, out); err != nil { // loads the script
		b.Fatal(err)
	}
	b.ReportAllocs()
	redisCPU := func() float64 {
		info := s.Client().Info(ctx, "cpu").Val()
		var sum float64
		for _, line := range strings.Split(info, "\n") {
			for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), k); ok {
					f, _ := strconv.ParseFloat(v, 64)
					sum += f
				}
			}
		}
		return sum
	}
	ownCPU := func() float64 {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	r0, c0 := redisCPU(), ownCPU()
	b.ResetTimer()
	for range b.N {
		if err := s.ReadStatic(ctx, q, out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric((redisCPU()-r0)*1000/float64(b.N), "redis-cpu-ms/op")
	b.ReportMetric((ownCPU()-c0)*1000/float64(b.N), "client-cpu-ms/op")
	if out[3].Kind != store.Float || out[2].Kind != store.Int {
		b.Fatalf("read %+v %+v", out[2], out[3])
	}
}
