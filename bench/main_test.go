package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
)

// TestSmoke runs every scenario briefly on the memory backend with little data: the bench
// must verify the gateway against the direct baseline, measure both and write its JSON.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the bench for a few seconds")
	}
	testenv.Slow(t, "runs every bench scenario for a few seconds")
	out := filepath.Join(t.TempDir(), "bench.json")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{
		"-backends", "memory", "-scenarios", "S1,S2,S3,S4",
		"-users", "200", "-articles", "1000", "-s2-ids", "50", "-s4-events", "2000",
		"-concurrency", "4", "-duration", "200ms", "-warmup", "50ms", "-rounds", "2", "-verify", "5",
		"-floor", "-quiet", "-json", out,
	}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Records) != 4 {
		t.Fatalf("%d records, want 4:\n%s", len(rep.Records), b)
	}
	for _, r := range rep.Records {
		if r.Requests == 0 || r.RPS <= 0 || r.Direct == nil || r.Direct.Requests == 0 || r.Ratio <= 0 {
			t.Errorf("%s on %s: empty measurement: %+v", r.Scenario, r.Backend, r)
		}
		if r.Errors != 0 || r.Direct.Errors != 0 {
			t.Errorf("%s on %s: errors: %s %s", r.Scenario, r.Backend, r.FirstError, r.Direct.FirstError)
		}
		if r.Scenario != "S4" && (r.StoreCallsPerOp < 1 || r.Floor == nil) {
			t.Errorf("%s: %.2f store calls per request, floor %v", r.Scenario, r.StoreCallsPerOp, r.Floor)
		}
		if r.Scenario != "S4" && (r.Rounds == nil || len(r.Rounds.Ratio) != 2 || len(r.Rounds.GatewayUs) != 2 || len(r.Rounds.LoadAvg) != 2) {
			t.Errorf("%s: per-round figures %+v, want 2 rounds", r.Scenario, r.Rounds)
		}
	}
}

// The wrk script's summary line is read back; output without one is an error naming it.
func TestParseWrk(t *testing.T) {
	f, err := parseWrk("Running 10s test @ http://x\nWRK requests=120 failed=2 duration_us=10000000 p50_us=800 p99_us=9000 p999_us=15000\n")
	if err != nil || f["requests"] != 120 || f["failed"] != 2 || f["p999_us"] != 15000 {
		t.Fatalf("%v, %v", f, err)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1\n"); err == nil {
		t.Fatal("no summary line: no error")
	}
	if _, err := parseWrk("WRK requests=x\n"); err == nil {
		t.Fatal("bad number: no error")
	}
}

// Quantiles come from the deltas of a histogram's buckets between two samples: the upper bound
// of the bucket the quantile falls in, +Inf beyond the last finite bound, -1 when not exported.
func TestHistQuantile(t *testing.T) {
	const n = "featuregraph_runtime_sched_latency_seconds"
	b := func(le string) string { return n + `_bucket{le="` + le + `"}` }
	before := map[string]float64{n + "_count": 100, b("0.001"): 90, b("0.01"): 100, b("+Inf"): 100}
	after := map[string]float64{n + "_count": 1100, b("0.001"): 1080, b("0.01"): 1098, b("+Inf"): 1100}
	// 1,000 observations: 990 ≤ 1 ms, 8 in (1, 10] ms, 2 above.
	for _, c := range []struct{ q, want float64 }{{0.5, 1}, {0.99, 1}, {0.995, 10}, {0.998, 10}, {0.999, math.Inf(1)}} {
		if got := histQuantile(before, after, n, c.q); got != c.want {
			t.Errorf("q %v: %v ms, want %v", c.q, got, c.want)
		}
	}
	if got := histQuantile(before, before, n, 0.99); got != 0 {
		t.Errorf("no observation: %v, want 0", got)
	}
	if got := histQuantile(nil, map[string]float64{}, n, 0.99); got != -1 {
		t.Errorf("not exported: %v, want -1", got)
	}
}

// An open-loop run counts a request that could not start on time from when it should have
// started (no coordinated omission): a server stalling once for 200 ms makes every request
// scheduled during the stall slow, where a closed loop would record one slow request.
func TestOpenLoopCountsLateStarts(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 20 {
			time.Sleep(200 * time.Millisecond)
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	res := runLoad(context.Background(), newClient(1), httpTarget{url: srv.URL, body: func(_ *rand.Rand, b []byte) []byte { return b }},
		loadOptions{concurrency: 1, duration: 600 * time.Millisecond, rate: 500})
	slow := 0
	for _, l := range res.latencies {
		if l >= 50*time.Millisecond {
			slow++
		}
	}
	// 500 req/s for the 200 ms stall: about 100 requests were due; those due in its first
	// 150 ms waited at least 50 ms.
	if slow < 20 {
		t.Fatalf("%d of %d requests took ≥ 50 ms, want ≥ 20 (the stall's waits counted)", slow, len(res.latencies))
	}
}
