package main

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A pair series alternates the order of its slices, takes the on/off ratios per pair from
// each server's own CPU and requests, waits for the log to write what it took before going
// on (and counts that wait to the on slice) and sums the rows dropped.
func TestServedPairs(t *testing.T) {
	type fake struct {
		srv        *httptest.Server
		reqs       atomic.Int64
		cpuPerReq  time.Duration
		taken      atomic.Int64
		drainPolls atomic.Int64
	}
	var order []string
	newFake := func(sleep, cpu time.Duration) *fake {
		f := &fake{cpuPerReq: cpu}
		f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			time.Sleep(sleep)
			f.reqs.Add(1)
			_, _ = w.Write([]byte(`{"data":{}}`))
		}))
		t.Cleanup(f.srv.Close)
		return f
	}
	off := newFake(time.Millisecond, time.Millisecond)
	on := newFake(3*time.Millisecond, 1200*time.Microsecond)
	body := func(_ *rand.Rand, b []byte) []byte { return append(b, `{}`...) }
	var drainCPU atomic.Int64 // CPU the on server spends while the bench waits for its log
	side := func(f *fake, name string) servedSide {
		return servedSide{target: httpTarget{url: f.srv.URL, body: body}, cpu: func() time.Duration {
			if len(order) == 0 || order[len(order)-1] != name {
				order = append(order, name)
			}
			return time.Duration(f.reqs.Load())*f.cpuPerReq + time.Duration(drainCPU.Load())
		}}
	}
	offSide, onSide := side(off, "off"), side(on, "on")
	// The on server's log: every request taken, written two polls after the load stops, 3
	// rows dropped per slice; 50 values per request.
	var shipped, dropped atomic.Int64
	onSide.served = func() [5]float64 {
		n := on.reqs.Load()
		if shipped.Load() < n {
			if on.drainPolls.Add(1)%3 == 0 {
				shipped.Store(n)
				drainCPU.Add(int64(10 * time.Millisecond))
			}
		}
		return [5]float64{float64(n), float64(shipped.Load()), float64(dropped.Load()), float64(50 * shipped.Load()), 0}
	}
	served := onSide.served
	onSide.served = func() [5]float64 {
		s := served()
		if s[1] == s[0] {
			dropped.Add(3) // counted between the slices' first and last scrape
		}
		return served()
	}
	e := &pEnv{o: &options{concurrency: 2}, client: newClient(2)}
	const pairs = 4
	var out strings.Builder
	r, err := runServedPairs(context.Background(), e, offSide, onSide, pairs, 150*time.Millisecond, &out, "P1 memory after")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Pairs) != pairs || strings.Count(out.String(), "pair") != pairs {
		t.Fatalf("%d pairs, output:\n%s", len(r.Pairs), out.String())
	}
	// off, on | on, off | off, on | on, off: the servers' CPU is read in runs of that order
	// (the same order each pair would be "off on" 4 times).
	if got, want := strings.Join(order, " "), "off on off on off"; got != want {
		t.Errorf("slice order %q, want %q", got, want)
	}
	for i, p := range r.Pairs {
		if p.OnFirst != (i%2 == 1) {
			t.Errorf("pair %d: on first %v", p.Pair, p.OnFirst)
		}
		if p.OffRPS <= 0 || p.OnRPS <= 0 || p.OffCPUMs <= 0 {
			t.Fatalf("pair %d: empty: %+v", p.Pair, p)
		}
		// off: 1 ms per request exactly; on: 1.2 ms plus the drain's 10 ms over its requests.
		if math.Abs(p.OffCPUMs-1) > 1e-9 {
			t.Errorf("pair %d: off cpu %.4f ms/r, want 1", p.Pair, p.OffCPUMs)
		}
		if wantOn := 1.2 + 10/float64(p.OnReqs); math.Abs(p.OnCPUMs-wantOn) > 1e-9 {
			t.Errorf("pair %d: on cpu %.4f ms/r, want about %.4f (the drain counted)", p.Pair, p.OnCPUMs, wantOn)
		}
		if p.DrainMs <= 0 || p.DrainLate {
			t.Errorf("pair %d: drain %v ms, late %v", p.Pair, p.DrainMs, p.DrainLate)
		}
		if p.Dropped < 3 {
			t.Errorf("pair %d: %v dropped, want ≥ 3", p.Pair, p.Dropped)
		}
	}
	if r.CPURatioMed <= 1.2 || r.CPURatioMin > r.CPURatioMed || r.CPURatioMax < r.CPURatioMed || r.CPUOver10 != pairs {
		t.Errorf("cpu ratio %.3f (%.3f–%.3f), %d over 10%%; want > 1.2 in every pair", r.CPURatioMed, r.CPURatioMin, r.CPURatioMax, r.CPUOver10)
	}
	// 3 ms against 1 ms per request in a closed loop: the on server answers at about a third
	// of the rate (the median: a stall of the shared box can slow one slice of the off server).
	if r.RPSRatioMed >= 0.9 || r.RPSUnder10 < pairs/2 {
		t.Errorf("req/s ratio %.3f pooled %.3f, %d under −10%%; want < 0.9", r.RPSRatioMed, r.RPSRatioPooled, r.RPSUnder10)
	}
	if r.Dropped < 3*pairs || r.ValuesPerSec <= 0 {
		t.Errorf("%v dropped, %v values/s", r.Dropped, r.ValuesPerSec)
	}
	var sum strings.Builder
	printServedLog(&sum, []*servedLogResult{r})
	if !strings.Contains(sum.String(), "does not meet") {
		t.Errorf("summary of a log costing > 10%% with rows dropped:\n%s", sum.String())
	}
}

// The figures of a series: medians of an even count, pooled ratios weighted by requests, the
// off server's pair-to-pair noise, the pairs past 10%.
func TestServedLogSummary(t *testing.T) {
	r := &servedLogResult{Pairs: []*servedPair{
		{OffCPUMs: 1, OnCPUMs: 1.05, OffRPS: 100, OnRPS: 95, LoadAvg: 2},
		{OffCPUMs: 1.2, OnCPUMs: 1.5, OffRPS: 200, OnRPS: 150, LoadAvg: 3},
		{OffCPUMs: 1, OnCPUMs: 1.02, OffRPS: 100, OnRPS: 100, LoadAvg: 1},
		{OffCPUMs: 1.2, OnCPUMs: 1.26, OffRPS: 100, OnRPS: 99, LoadAvg: 4},
	}}
	for _, p := range r.Pairs {
		p.CPURatio, p.RPSRatio = ratio(p.OnCPUMs, p.OffCPUMs), ratio(p.OnRPS, p.OffRPS)
	}
	r.summarize()
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("cpu median", r.CPURatioMed, (1.05+1.05)/2) // 1.02, 1.05, 1.05, 1.25
	near("cpu min", r.CPURatioMin, 1.02)
	near("cpu max", r.CPURatioMax, 1.25)
	// Pooled: (1.05·95 + 1.5·150 + 1.02·100 + 1.26·99)/444 against (100 + 240 + 100 + 120)/500.
	near("cpu pooled", r.CPURatioPooled, ((1.05*95+1.5*150+1.02*100+1.26*99)/444)/(560.0/500))
	near("req/s pooled", r.RPSRatioPooled, 444.0/500)
	near("off noise cpu", r.OffNoiseCPU, 0.2) // |1.2/1−1|, |1/1.2−1|, |1.2/1−1|: 0.2, 1/6, 0.2
	if r.CPUOver10 != 1 || r.RPSUnder10 != 1 || r.LoadMin != 1 || r.LoadMax != 4 {
		t.Errorf("%d over, %d under, load %v–%v", r.CPUOver10, r.RPSUnder10, r.LoadMin, r.LoadMax)
	}
}

// Two servers at once: the log's server gets the next admin port.
func TestNextAdminPort(t *testing.T) {
	got := strings.Join(nextAdminPort([]string{"--features", "x", "--admin-addr", "127.0.0.1:6071"}), " ")
	if got != "--features x --admin-addr 127.0.0.1:6072" {
		t.Fatal(got)
	}
}
