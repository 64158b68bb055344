package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
