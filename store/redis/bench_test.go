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
	for _, mode := range []string{"hmget", "hgetall"} {
		b.Run(mode, func(b *testing.B) { benchReadStatic(b, redis.Config{Addrs: []string{addr}}, mode, 50) })
	}
	b.Run("script", func(b *testing.B) {
		benchReadStatic(b, redis.Config{Addrs: []string{addr}, StaticScript: true}, "hmget", 50)
	})
}

// BenchmarkReadStatic100xK reads K of the 50 fields of 100 entity hashes by HMGET and by
// HGETALL: where one overtakes the other (wholeHashWins).
func BenchmarkReadStatic100xK(b *testing.B) {
	addr, stop, err := testenv.StartRedis()
	if err != nil {
		b.Skip(err)
	}
	defer stop()
	for _, k := range []int{10, 20, 25, 30} {
		for _, mode := range []string{"hmget", "hgetall"} {
			b.Run(fmt.Sprintf("%d/%s", k, mode), func(b *testing.B) { benchReadStatic(b, redis.Config{Addrs: []string{addr}}, mode, k) })
		}
	}
}

// benchReadStatic reads asked of the 50 features of 100 entities, by mode.
func benchReadStatic(b *testing.B, cfg redis.Config, mode string, asked int) {
	s, err := redis.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	redis.SetStaticRead(s, mode)
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
	// every other feature first, so that the fields asked for are spread over the hash
	q.Features = nil
	for j := 0; j < 50; j += 2 {
		q.Features = append(q.Features, features[j])
	}
	for j := 1; j < 50; j += 2 {
		q.Features = append(q.Features, features[j])
	}
	q.Features = q.Features[:asked]
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
	if out[len(q.Features)+1].Kind != store.Int || out[len(q.Features)-1].Kind != store.Float && asked == 50 {
		b.Fatalf("read %+v %+v", out[len(q.Features)+1], out[len(q.Features)-1])
	}
}
