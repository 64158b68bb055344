package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// measurement is what one run of one target (gateway or direct) gave.
type measurement struct {
	Requests int64   `json:"requests"` // requests (S4: events) completed in the measured phase
	Errors   int64   `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"requests_per_sec"` // S4: events per second
	P50Ms    float64 `json:"p50_ms"`           // S4: latency of one store write call
	P95Ms    float64 `json:"p95_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	// Process-wide runtime.MemStats deltas over the measured phase divided by Requests; they
	// include the load generator's own HTTP client, which is the same for gateway and direct.
	AllocsPerOp float64 `json:"allocs_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	// GoroutinesPerOp is /sched/goroutines-created over the phase divided by Requests.
	GoroutinesPerOp float64 `json:"goroutines_per_op"`
	// CPUPerOpUs is the process's user+system CPU time per request in µs (load generator
	// included; redis-server and dynalite not).
	CPUPerOpUs float64 `json:"cpu_us_per_op"`
	// Store calls seen by the counting store.Reader (S4: store.Writer) wrapper, per request.
	StoreCallsPerOp    float64 `json:"store_calls_per_op"`
	StaticKeysPerOp    float64 `json:"static_keys_per_op"`
	ActionQueriesPerOp float64 `json:"action_queries_per_op"`
	// BackendCallsPerOp counts round trips to Redis and DynamoDB (store.Observer) per request;
	// for the memory backend it equals StoreCallsPerOp.
	BackendCallsPerOp float64 `json:"backend_calls_per_op"`
	// TieredOpsPerOp counts the tiered store's own work per request: DynamoDB fallbacks after a
	// Redis miss, refills, static cache fills (0 when Redis holds every series read).
	TieredOpsPerOp float64 `json:"tiered_ops_per_op,omitempty"`
	RespBytes      float64 `json:"response_bytes"` // mean response body size
	FirstError     string  `json:"first_error,omitempty"`
}

// httpTarget is one endpoint and how to build its request bodies.
type httpTarget struct {
	url  string
	body func(rng *rand.Rand, b []byte) []byte
}

// loadOptions bound one load run.
type loadOptions struct {
	concurrency int
	duration    time.Duration // used when requests == 0
	// rate > 0 is open-loop: the workers together start rate requests per second on a fixed
	// schedule, and a request that could not start on time (its worker was still waiting for the
	// previous answer) counts its latency from when it should have started.
	requests int64
	seed     uint64
	rate     float64
}

// loadResult is the raw outcome of one load phase.
type loadResult struct {
	requests, errors int64
	respBytes        int64
	elapsed          time.Duration
	latencies        []time.Duration
	firstErr         string
}

// runLoad sends requests from o.concurrency workers over keep-alive connections until the
// duration is over or o.requests were sent.
func runLoad(ctx context.Context, client *http.Client, t httpTarget, o loadOptions) *loadResult {
	var issued atomic.Int64
	deadline := time.Now().Add(o.duration)
	if o.requests > 0 {
		// a request-count run still ends: at most ten minutes
		deadline = time.Now().Add(10 * time.Minute)
	}
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(30*time.Second))
	defer cancel()
	res := &loadResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(o.seed, uint64(w)))
			lat := make([]time.Duration, 0, 4096)
			var body []byte
			var buf bytes.Buffer
			var n, errs, size int64
			var firstErr string
			var interval time.Duration
			var next time.Time
			if o.rate > 0 {
				interval = time.Duration(float64(o.concurrency) / o.rate * float64(time.Second))
				next = start.Add(interval * time.Duration(w) / time.Duration(o.concurrency))
			}
			for ctx.Err() == nil {
				if o.requests > 0 {
					if issued.Add(1) > o.requests {
						break
					}
				} else if !time.Now().Before(deadline) {
					break
				}
				body = t.body(rng, body[:0])
				t0 := time.Now()
				if interval > 0 {
					if d := next.Sub(t0); d > 0 {
						time.Sleep(d)
						t0 = time.Now() // a late wake-up is the timer's, not the server's
						if o.requests == 0 && !t0.Before(deadline) {
							break
						}
					} else {
						t0 = next // behind schedule: the wait for the previous answer counts
					}
					next = next.Add(interval)
				}
				err := post(ctx, client, t.url, body, &buf)
				lat = append(lat, time.Since(t0))
				n++
				size += int64(buf.Len())
				if err == nil && bytes.Contains(buf.Bytes(), []byte(`"errors"`)) {
					err = fmt.Errorf("response has errors: %.300s", buf.String())
				}
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
				}
			}
			mu.Lock()
			res.requests += n
			res.errors += errs
			res.respBytes += size
			res.latencies = append(res.latencies, lat...)
			if res.firstErr == "" {
				res.firstErr = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// benchAPIKey, when set, is sent with every request (-p-auth: the server runs with --clients);
// set only while one server is measured, before its load starts.
var benchAPIKey string

const benchKey = "bench-key-0123456789"

// post sends one request and reads the whole response into buf.
func post(ctx context.Context, client *http.Client, url string, body []byte, buf *bytes.Buffer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if benchAPIKey != "" {
		req.Header.Set("X-Api-Key", benchAPIKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, buf.String())
	}
	return nil
}

func newClient(concurrency int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        concurrency * 2,
		MaxIdleConnsPerHost: concurrency * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}

// phase measures what the process uses during a measured phase and writes its profiles.
type phase struct {
	ms0     runtime.MemStats
	gor0    uint64
	cpu0    time.Duration
	cpuFile *os.File
	memFile string
}

// usage is what the whole process used during one or more phases.
type usage struct {
	mallocs, bytes, goroutines uint64
	cpu                        time.Duration
}

func (u *usage) add(v usage) {
	u.mallocs += v.mallocs
	u.bytes += v.bytes
	u.goroutines += v.goroutines
	u.cpu += v.cpu
}

var goroutinesCreated = []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}

func readGoroutinesCreated() uint64 {
	metrics.Read(goroutinesCreated)
	if goroutinesCreated[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return goroutinesCreated[0].Value.Uint64()
}

// processCPU is the user and system CPU time the process used so far (not its children:
// redis-server and dynalite are not counted).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// beginPhase starts measuring; cpuProfile and memProfile are file names or "".
func beginPhase(cpuProfile, memProfile string) (*phase, error) {
	p := &phase{memFile: memProfile}
	runtime.GC()
	if memProfile != "" {
		if err := writeHeapProfile(memProfile + ".base"); err != nil {
			return nil, err
		}
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		p.cpuFile = f
	}
	runtime.ReadMemStats(&p.ms0)
	p.gor0 = readGoroutinesCreated()
	p.cpu0 = processCPU()
	return p, nil
}

// end stops measuring and returns what the process used since beginPhase.
func (p *phase) end() (usage, error) {
	cpu := processCPU()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u := usage{
		mallocs:    ms.Mallocs - p.ms0.Mallocs,
		bytes:      ms.TotalAlloc - p.ms0.TotalAlloc,
		goroutines: readGoroutinesCreated() - p.gor0,
		cpu:        cpu - p.cpu0,
	}
	var errs []error
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		errs = append(errs, p.cpuFile.Close())
	}
	if p.memFile != "" {
		errs = append(errs, writeHeapProfile(p.memFile))
	}
	return u, errors.Join(errs...)
}

// fillUsage sets the per-op usage of m (m.Requests must be set).
func (m *measurement) fillUsage(u usage) {
	if n := float64(m.Requests); n > 0 {
		m.AllocsPerOp = float64(u.mallocs) / n
		m.BytesPerOp = float64(u.bytes) / n
		m.GoroutinesPerOp = float64(u.goroutines) / n
		m.CPUPerOpUs = float64(u.cpu.Microseconds()) / n
	}
}

func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	return errors.Join(err, f.Close())
}

// merge adds the outcome of another round.
func (r *loadResult) merge(o *loadResult) {
	r.requests += o.requests
	r.errors += o.errors
	r.respBytes += o.respBytes
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
	if r.firstErr == "" {
		r.firstErr = o.firstErr
	}
}

// fillLatency sets the request count, rate and latency percentiles of m from r.
func (m *measurement) fillLatency(r *loadResult) {
	m.Requests = r.requests
	m.Errors = r.errors
	m.Seconds = r.elapsed.Seconds()
	if m.Seconds > 0 {
		m.RPS = float64(r.requests) / m.Seconds
	}
	if r.requests > 0 {
		m.RespBytes = float64(r.respBytes) / float64(r.requests)
	}
	m.FirstError = r.firstErr
	m.P50Ms, m.P95Ms, m.P99Ms, m.MaxMs = percentiles(r.latencies)
}

func percentiles(lat []time.Duration) (p50, p95, p99, maxv float64) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		i := int(q*float64(len(lat))+0.5) - 1
		i = min(max(i, 0), len(lat)-1)
		return float64(lat[i]) / float64(time.Millisecond)
	}
	return at(0.50), at(0.95), at(0.99), float64(lat[len(lat)-1]) / float64(time.Millisecond)
}
