package store

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// AppendFloat writes what strconv's shortest 'g' form writes (gqlgen's Float), on its fast path
// (at most three decimals, 0.001 ≤ |f| < 1e6) and off it.
func TestAppendFloatMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(f float64) {
		t.Helper()
		want := strconv.FormatFloat(f, 'g', -1, 64)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			want = "null"
		}
		if got := string(AppendFloat(nil, f)); got != want {
			t.Fatalf("AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.001, -0.001, 0.0009, 0.0015, 999999.999, 1e6, 999999, 123456, 1234567,
		0.1, 0.2, 0.3, 1.5, 2.25, 10.125, 100.1, 1e-4, 1e-5, 1e21, 5e-324, math.MaxFloat64, math.Inf(1), math.NaN(), 0.1 + 0.2, 1.0 / 3} {
		check(f)
		check(-f)
	}
	for range 200000 {
		m := rng.Int64N(2_000_000_000) - 1_000_000_000
		check(float64(m) / 1000) // three decimals, every magnitude of the fast path
		check(float64(m) / 100)
		check(float64(m) / 10000) // four decimals: the slow path, unless fewer
		check(rng.Float64() * math.Pow(10, float64(rng.IntN(16)-6)))
		check(math.Float64frombits(rng.Uint64()))
	}
}

func BenchmarkAppendFloat(b *testing.B) {
	buf := make([]byte, 0, 64)
	for i := range b.N {
		buf = AppendFloat(buf[:0], float64(i%1_000_000)/1000)
	}
}
