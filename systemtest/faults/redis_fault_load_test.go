package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// loadFigures are the outcome of one open-loop load phase.
type loadFigures struct {
	sent, failed  int
	p50, p99, max time.Duration
	// steadyP99 is the p99 of the requests started at least a second into the phase (after the
	// switch from Redis to DynamoDB); steadyFailed counts their failures.
	steadyP99    time.Duration
	steadyFailed int
	firstFailure string
}

func (f loadFigures) errorRate() float64 { return float64(f.failed) / float64(max(f.sent, 1)) }

// openLoop starts rate requests per second for d (each in its own goroutine, whatever the
// answers' latency) and waits for every answer. A request fails unless it is a 200 with the
// healthy answer.
func openLoop(client *http.Client, url, body, healthy string, rate int, d time.Duration) loadFigures {
	var mu sync.Mutex
	var f loadFigures
	var lat, steady []time.Duration
	var wg sync.WaitGroup
	phaseStart := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			res, err := client.Post(url, "application/json", strings.NewReader(body))
			var got string
			code := 0
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				got, code = string(b), res.StatusCode
			}
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			f.sent++
			lat = append(lat, took)
			late := start.Sub(phaseStart) >= time.Second
			if late {
				steady = append(steady, took)
			}
			if err != nil || code != http.StatusOK || got != healthy {
				f.failed++
				if late {
					f.steadyFailed++
				}
				if f.firstFailure == "" {
					f.firstFailure = fmt.Sprintf("%d %s %v", code, got, err)
				}
			}
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if n := len(lat); n > 0 {
		f.p50, f.p99, f.max = lat[n/2], lat[min(n-1, n*99/100)], lat[n-1]
	}
	sort.Slice(steady, func(i, j int) bool { return steady[i] < steady[j] })
	if n := len(steady); n > 0 {
		f.steadyP99 = steady[min(n-1, n*99/100)]
	}
	return f
}

// TestRedisSlowAndHungUnderLoad: the gateway over the tiered store (real redis-server behind the
// fault proxy, real dynalite) serves about 100 req/s (20 under -race) of the README query while
// every Redis round trip takes 600 ms more (300 ms each way), then while Redis is hung
// (blackhole): fewer than 1 % of the requests fail (any answer but a 200 with the healthy data
// counts as failed), and /readyz stays 200 and says "degraded: redis". The error rate and p99 of
// each phase are logged (figures of the hardening issue: FEATUREGRAPH_INTEGRATION=1 go test -run
// TestRedisSlowAndHungUnderLoad -v ./systemtest/faults), with how much of each phase /readyz said degraded and how
// many Redis calls succeeded meanwhile.
func TestRedisSlowAndHungUnderLoad(t *testing.T) {
	testenv.Slow(t, "three 10 s phases of load")
	t.Parallel()
	const phase = 10 * time.Second
	rate := 100
	if harness.RaceDetector {
		rate = 20 // the race detector's slowdown alone would overload the gateway at 100 req/s
	}
	endpoint := testenv.DynamoDB(t)
	proxy := testenv.NewFaultProxy(t, testenv.Redis(t))
	table := fmt.Sprintf("fg_fault_load_%d", time.Now().UnixNano())
	storeArgs := []string{"--dynamodb-endpoint", endpoint, "--dynamodb-table", table}
	var out bytes.Buffer
	if err := cli.Run(context.Background(), append([]string{"init-table"}, storeArgs...), &out, &out, harness.NoEnv); err != nil {
		t.Fatalf("init-table: %v\n%s", err, out.String())
	}
	addr, _ := harness.StartServe(t, append([]string{"--demo", "--redis-addr", proxy.Addr(), "--shutdown-drain", "0"}, storeArgs...)...)
	body, _ := json.Marshal(map[string]string{"query": harness.ReadmeQuery})
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4 * rate}}
	url := "http://" + addr + "/graphql"
	res, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	healthy := string(b)
	if res.StatusCode != http.StatusOK || strings.Contains(healthy, `"errors"`) {
		t.Fatalf("healthy answer: %d %s", res.StatusCode, healthy)
	}
	readyz := func() (int, string) {
		res, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatalf("readyz: %v", err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	redisOK := func() float64 {
		res, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatalf("metrics: %v", err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return harness.MetricValue(string(b), "featuregraph_backend_call_duration_seconds_count", `backend="redis",op="pipeline",outcome="ok"`)
	}
	base := openLoop(client, url, string(body), healthy, rate, time.Second)
	t.Logf("healthy: %d requests, %d failed, p50 %s, p99 %s, max %s", base.sent, base.failed,
		base.p50.Round(time.Millisecond), base.p99.Round(time.Millisecond), base.max.Round(time.Millisecond))

	// Warm-up, not measured: dynalite (a Node.js emulator) answers its first seconds of load
	// slowly (the healthy phase sends it nothing), which is not what a fault costs against
	// DynamoDB. Two seconds with Redis hung send it the fallback load first.
	proxy.Set(testenv.Blackhole, 0)
	warm := openLoop(client, url, string(body), healthy, rate, 2*time.Second)
	t.Logf("warm-up (Redis hung, not asserted): %d requests, %d failed, p99 %s", warm.sent, warm.failed, warm.p99.Round(time.Millisecond))

	for _, m := range []struct {
		name    string
		mode    testenv.Fault
		latency time.Duration
	}{
		{"Redis +600 ms", testenv.Pass, 300 * time.Millisecond}, // the proxy delays each direction
		{"Redis hung", testenv.Blackhole, 0},
	} {
		// Each fault starts from a healthy Redis (breaker closed, reads served by Redis).
		proxy.Set(testenv.Pass, 0)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if code, ready := readyz(); code == http.StatusOK && !strings.Contains(ready, "degraded") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("before %s: Redis not healthy again after 10 s", m.name)
			}
			openLoop(client, url, string(body), healthy, 20, 50*time.Millisecond)
		}
		okBefore := redisOK()
		proxy.Set(m.mode, m.latency)
		// /readyz sampled every 100 ms during the phase: how much of it Redis was skipped.
		var samples, degraded int
		stopSampling := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				select {
				case <-stopSampling:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if code, ready := readyz(); code == http.StatusOK {
					samples++
					if strings.Contains(ready, `"degraded":"redis"`) {
						degraded++
					}
				}
			}
		}()
		f := openLoop(client, url, string(body), healthy, rate, phase)
		close(stopSampling)
		<-sampled
		code, ready := readyz()
		t.Logf("%s at %d req/s for %s: %d requests, %d failed (%.2f %%), p50 %s, p99 %s, max %s; from 1 s in: %d failed, p99 %s; "+
			"/readyz %d %s, degraded in %d of %d samples; Redis calls that succeeded meanwhile: %v",
			m.name, rate, phase, f.sent, f.failed, 100*f.errorRate(), f.p50.Round(time.Millisecond), f.p99.Round(time.Millisecond),
			f.max.Round(time.Millisecond), f.steadyFailed, f.steadyP99.Round(time.Millisecond), code, ready, degraded, samples, redisOK()-okBefore)
		if f.errorRate() >= 0.01 {
			t.Errorf("%s: %d of %d requests failed (%.2f %%, want < 1 %%); first: %s", m.name, f.failed, f.sent, 100*f.errorRate(), f.firstFailure)
		}
		if code != http.StatusOK || !strings.Contains(ready, `"degraded":"redis"`) {
			t.Errorf("%s: /readyz %d %s, want 200 degraded: redis", m.name, code, ready)
		}
	}
	proxy.Set(testenv.Pass, 0)
}
