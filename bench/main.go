// Command bench measures what the featuregraph gateway costs: it generates users, articles and
// their events, loads them into each backend, serves the GraphQL gateway and a hand-written
// "direct" baseline (the minimal store calls, encoding/json, same JSON answer) over real HTTP
// servers on 127.0.0.1, checks that both answer alike, drives both with a keep-alive client and
// prints one row per scenario, backend and target. Everything it starts (HTTP servers,
// redis-server, dynalite) stops when it ends.
//
// Usage, from the repository root:
//
//	go run ./bench                          # S1..S4 on memory and redis+dynamodb, 16 clients, 5s each
//	go run ./bench -backends memory -scenarios S1,S3 -duration 10s -json out.json
//	go run ./bench -backends memory -concurrency 1 -loader-wait 0s    # latency of one client
//	go run ./bench -backends memory -rate 500  # open loop: 500 req/s in total instead of closed loop
//	go run ./bench -backends memory -scenarios S1 -rounds 1 -cpuprofile /tmp/p   # /tmp/p-S1-memory-gateway.pprof, ...
//	go tool pprof -top /tmp/p-S1-memory-gateway.pprof
//	go run ./bench -overload -concurrency 500 -duration 20s   # featuregraph serve under overload (overload.go)
//
// Scenarios: S1 user vector (5 static + 3 action features, count -s1-count, lastNSec 7 days);
// S2 candidate scoring, articles(ids:) with -s2-ids ids x 4 static features; S3 join, a user's
// -s3-count clicked articles with 3 static features each; S4 ingest of -s4-events events
// (decode, dispatch, batching writer: "pipeline") against writing the same store writes
// directly. Backends: memory (store/memory) and redis+dynamodb (store/tiered over redis-server
// and dynalite, which the bench starts on free ports; needs the redis-server package and `npm ci`).
//
// Each measurement is split into -rounds rounds that alternate gateway, direct and (-floor) a
// handler returning a recorded response, so a noisy neighbour slows them alike. cpu µs/op,
// allocs/op and bytes/op are deltas of the whole process over the measured phases per request:
// they include the load generator's HTTP client, the same for every target (see the floor).
// -memprofile writes the allocs profile before (NAME.base) and after each phase, for
// `go tool pprof -sample_index=alloc_space -diff_base NAME.base NAME`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/featuregraph/featuregraph/features"
	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers"
	"github.com/featuregraph/featuregraph/resolvers/loader"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	scenarios      []string
	backends       []string
	concurrency    int
	duration       time.Duration
	requests       int64
	warmup         time.Duration
	data           dataConfig
	s1Count        int
	s2IDs          int
	s3Count        int
	s4Events       int
	jsonFile       string
	cpuProfile     string
	memProfile     string
	loaderWait     time.Duration
	plans          bool
	metrics        bool
	verify         int
	direct         bool
	timeout        time.Duration
	staticCacheTTL time.Duration
	quiet          bool
	rounds         int
	floor          bool
	rate           float64
	pUsers         int
	pBackends      []string
	pServers       []string
	pVariants      []pVariant
	reg            *registry.Registry // the example registry (types DynamoDB's static values)
	overload       bool
	overloadBin    string
	overloadIDs    int
	overloadSelect string
	overloadArgs   string
	pServedLog     bool
	// -p-served-log's pairs of slices (0: a +log server per round instead) and their length.
	pServedLogPairs int
	pServedLogSlice time.Duration
	pWrk            time.Duration
	pAuth           bool
}

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarios := fs.String("scenarios", "S1,S2,S3,S4", "comma-separated scenarios to run")
	backends := fs.String("backends", backendMemory+","+backendTiered, "comma-separated backends: memory, redis+dynamodb")
	fs.IntVar(&o.concurrency, "concurrency", 16, "concurrent clients (S4: dispatching goroutines)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per scenario, backend and target")
	fs.Int64Var(&o.requests, "requests", 0, "measure this many requests instead of -duration")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each measurement")
	fs.IntVar(&o.data.Users, "users", 10000, "generated users")
	fs.IntVar(&o.data.Articles, "articles", 50000, "generated articles")
	fs.IntVar(&o.data.Events, "events", 60, "generated events per user and action feature (within the last 7 days)")
	fs.Uint64Var(&o.data.Seed, "seed", 1, "seed of the data and request generators")
	fs.IntVar(&o.s1Count, "s1-count", 50, "S1: count of each action feature")
	fs.IntVar(&o.s2IDs, "s2-ids", 200, "S2: ids per articles(ids:) request")
	fs.IntVar(&o.s3Count, "s3-count", 50, "S3: clicked articles joined per request")
	fs.IntVar(&o.s4Events, "s4-events", 100000, "S4: events ingested per run")
	fs.StringVar(&o.jsonFile, "json", "", "write the results as JSON to this file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each measured phase to PREFIX-<scenario>-<backend>-<target>.pprof")
	fs.StringVar(&o.memProfile, "memprofile", "", "write the allocs profile before and after each measured phase to PREFIX-<scenario>-<backend>-<target>.pprof[.base]")
	fs.DurationVar(&o.loaderWait, "loader-wait", loader.DefaultConfig().Wait, "gateway dataloader batch wait (gateway.Config.Loader.Wait)")
	fs.BoolVar(&o.plans, "plans", true, "serve with the run-time executor (compiled plans); false: gqlgen's generated reference executor (resolvers.NewExecutableSchema)")
	fs.BoolVar(&o.metrics, "metrics", false, "serve the gateway with Prometheus metrics on (as production does)")
	fs.IntVar(&o.verify, "verify", 20, "requests per read scenario whose gateway and direct answers must be equal before measuring")
	fs.BoolVar(&o.direct, "direct", true, "also measure the direct baseline")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long in total")
	fs.DurationVar(&o.staticCacheTTL, "static-cache-ttl", 0, "redis+dynamodb: tiered.Config.StaticCacheTTL (0: no static cache, the default)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress messages on stderr")
	fs.IntVar(&o.rounds, "rounds", 3, "split each measurement into this many rounds, alternating gateway, direct and floor")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: start this many requests per second in total (0: closed loop, each client sends its next request when the answer arrives)")
	fs.BoolVar(&o.floor, "floor", false, "also measure the floor: a handler that returns a recorded gateway response (HTTP and client cost only)")
	fs.IntVar(&o.pUsers, "p-users", 10000, "P1/P2: generated users (50 static features each)")
	pBackends := fs.String("p-backends", "memory,redis,redis+cache", "P1/P2: comma-separated backends: memory, redis (statics served from Redis, warmed), redis+cache (and the in-process cache)")
	pServers := fs.String("servers", "after=.", "P1/P2: comma-separated label=source-tree servers to build with the P registry and measure (e.g. before=/tmp/main,after=.)")
	fs.BoolVar(&o.pAuth, "p-auth", false, "P1/P2: also run each server with access control on (--clients granting every entity; requests carry an API key), as <label>+auth")
	pVariants := fs.String("p-variants", "", "P1/P2: semicolon-separated label=server:settings runs of a -servers binary with other settings: NAME=VALUE words are environment variables (GOGC, GOMEMLIMIT, GODEBUG), the other words are more serve flags (e.g. \"gogc400=after:GOGC=400;small=after:--static-cache-size 64MiB\")")
	fs.DurationVar(&o.pWrk, "p-wrk", 0, "P1/P2: also drive each server with wrk (2 threads, 16 connections) for this long per scenario, after its closed-loop runs, as <label>/wrk (0: off)")
	fs.BoolVar(&o.pServedLog, "p-served-log", false, "P1/P2: also measure each server with served-feature logging at 100% (servedLog: {samplingRatio: 1}) into a local --offline-sink: after the rounds, the server without and with the log side by side in -p-served-log-pairs pairs of alternating slices (pservedlog.go)")
	fs.IntVar(&o.pServedLogPairs, "p-served-log-pairs", 20, "P1/P2 with -p-served-log: pairs of alternating slices (off, on; on, off; ...) per scenario, backend and server; 0: a <label>+log server in every round instead")
	fs.DurationVar(&o.pServedLogSlice, "p-served-log-slice", 2*time.Second, "P1/P2 with -p-served-log: the measured length of each slice")
	fs.BoolVar(&o.overload, "overload", false, "overload mode: drive `featuregraph serve` (memory store, demo data) with -concurrency clients of one users(ids:) query for -duration (see overload.go)")
	fs.StringVar(&o.overloadBin, "overload-bin", "", "overload: the featuregraph binary to serve (default: built from the working tree)")
	fs.IntVar(&o.overloadIDs, "overload-ids", 1000, "overload: ids of the users(ids:) query")
	fs.StringVar(&o.overloadArgs, "overload-args", "", "overload: more `featuregraph serve` flags, space-separated (e.g. \"--max-in-flight 256\")")
	fs.StringVar(&o.overloadSelect, "overload-select", overloadSelect, "overload: the selection of each user in the query")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.pBackends, o.pServers = splitList(*pBackends), splitList(*pServers)
	var errs []error
	variants, err := parseVariants(*pVariants, o.pServers)
	if err != nil {
		errs = append(errs, err)
	}
	o.pVariants = variants
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.scenarios = splitList(*scenarios)
	o.backends = splitList(*backends)
	for _, s := range o.scenarios {
		if !slices.Contains([]string{"S1", "S2", "S3", "S4", "S5", "S6", "P1", "P2"}, s) {
			errs = append(errs, fmt.Errorf("-scenarios: unknown scenario %q (want S1, S2, S3, S4, S5, S6, P1, P2)", s))
		}
	}
	for _, b := range o.pBackends {
		if !slices.Contains([]string{"memory", "redis", "redis+cache"}, b) {
			errs = append(errs, fmt.Errorf("-p-backends: unknown backend %q (want memory, redis, redis+cache)", b))
		}
	}
	for _, s := range o.pServers {
		if l, d, ok := strings.Cut(s, "="); !ok || l == "" || d == "" {
			errs = append(errs, fmt.Errorf("-servers: want label=directory, got %q", s))
		}
	}
	for _, b := range o.backends {
		if b != backendMemory && b != backendTiered {
			errs = append(errs, fmt.Errorf("-backends: unknown backend %q (want %s, %s)", b, backendMemory, backendTiered))
		}
	}
	positive := []struct {
		name string
		v    int
	}{{"concurrency", o.concurrency}, {"users", o.data.Users}, {"articles", o.data.Articles}, {"events", o.data.Events},
		{"rounds", o.rounds}, {"s1-count", o.s1Count}, {"s2-ids", o.s2IDs}, {"s3-count", o.s3Count}, {"s4-events", o.s4Events}}
	for _, p := range positive {
		if p.v < 1 {
			errs = append(errs, fmt.Errorf("-%s must be at least 1, got %d", p.name, p.v))
		}
	}
	if o.concurrency > 1024 {
		errs = append(errs, fmt.Errorf("-concurrency %d: at most 1024", o.concurrency))
	}
	if o.requests <= 0 && (o.duration <= 0 || o.duration > time.Hour) {
		errs = append(errs, fmt.Errorf("-duration %s must be between 0 and 1h", o.duration))
	}
	if o.warmup < 0 || o.warmup > 10*time.Minute {
		errs = append(errs, fmt.Errorf("-warmup %s must be between 0 and 10m", o.warmup))
	}
	if o.rate < 0 || math.IsNaN(o.rate) || math.IsInf(o.rate, 0) {
		errs = append(errs, fmt.Errorf("-rate %v must be 0 (closed loop) or a positive number of requests per second", o.rate))
	}
	if o.pServedLogPairs < 0 || o.pServedLogPairs > 1000 {
		errs = append(errs, fmt.Errorf("-p-served-log-pairs %d must be between 0 and 1000", o.pServedLogPairs))
	}
	if o.pServedLogSlice < 100*time.Millisecond || o.pServedLogSlice > time.Hour {
		errs = append(errs, fmt.Errorf("-p-served-log-slice %s must be between 100ms and 1h", o.pServedLogSlice))
	}
	if o.timeout <= 0 {
		errs = append(errs, fmt.Errorf("-timeout %s must be positive", o.timeout))
	}
	return o, errors.Join(errs...)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// record is one scenario on one backend: the gateway's measurement (flattened), the direct
// baseline's, and gateway/direct throughput.
type record struct {
	Scenario    string `json:"scenario"`
	Backend     string `json:"backend"`
	Concurrency int    `json:"concurrency"`
	measurement
	Direct *measurement `json:"direct,omitempty"`
	Ratio  float64      `json:"gateway_direct_ratio,omitempty"`
	// Floor serves a recorded gateway response from a handler that does nothing else: the cost
	// of the HTTP round trip and the load generator alone (-floor).
	Floor *measurement `json:"floor,omitempty"`
	// Rounds: the gateway/direct ratios of each alternating round (not of the rounds together,
	// as Ratio), each target's CPU µs per request per round, and the load average after each.
	Rounds *roundFigures `json:"rounds,omitempty"`
}

// roundFigures are a read scenario's per-round figures.
type roundFigures struct {
	Ratio     []float64 `json:"gateway_direct_ratio"`
	GatewayUs []float64 `json:"gateway_cpu_us_per_op"`
	DirectUs  []float64 `json:"direct_cpu_us_per_op"`
	LoadAvg   []float64 `json:"load_avg"`
}

// setup describes the machine and the options of a run.
type setup struct {
	GoVersion   string  `json:"go_version"`
	OS          string  `json:"os"`
	CPUs        int     `json:"cpus"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	Concurrency int     `json:"concurrency"`
	DurationS   float64 `json:"duration_s,omitempty"`
	Requests    int64   `json:"requests,omitempty"`
	WarmupS     float64 `json:"warmup_s"`
	Users       int     `json:"users"`
	Articles    int     `json:"articles"`
	Events      int     `json:"events_per_user_feature"`
	S1Count     int     `json:"s1_count"`
	S2IDs       int     `json:"s2_ids"`
	S3Count     int     `json:"s3_count"`
	S4Events    int     `json:"s4_events"`
	RatePerSec  float64 `json:"rate_per_sec,omitempty"` // open loop; 0: closed loop
	LoaderWait  string  `json:"loader_wait"`
	Metrics     bool    `json:"metrics"`
	Started     string  `json:"started"`
	// GitCommit and GitDirty say what code was measured: HEAD and the files changed in the
	// working tree (other engineers may be editing while the bench runs).
	GitCommit string   `json:"git_commit,omitempty"`
	GitDirty  []string `json:"git_dirty,omitempty"`
}

type report struct {
	Setup    setup      `json:"setup"`
	Records  []*record  `json:"records"`
	PRecords []*pRecord `json:"p_records,omitempty"`
	// ServedLog: -p-served-log's pair series (pservedlog.go).
	ServedLog []*servedLogResult `json:"served_log,omitempty"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	logf := func(format string, a ...any) {
		if !o.quiet {
			fmt.Fprintf(stderr, "bench: "+format+"\n", a...)
		}
	}
	if o.overload {
		return runOverload(ctx, o, stdout, logf)
	}
	reg, err := registry.LoadFS(features.FS, "features")
	if err != nil {
		return err
	}
	o.reg = reg
	data, err := newDataset(reg, o.data)
	if err != nil {
		return err
	}
	rep := &report{Setup: setup{
		GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Concurrency: o.concurrency, WarmupS: o.warmup.Seconds(),
		Users: o.data.Users, Articles: o.data.Articles, Events: o.data.Events,
		S1Count: o.s1Count, S2IDs: o.s2IDs, S3Count: o.s3Count, S4Events: o.s4Events,
		LoaderWait: o.loaderWait.String(), Metrics: o.metrics, RatePerSec: o.rate, Started: time.Now().UTC().Format(time.RFC3339),
	}}
	rep.Setup.GitCommit, rep.Setup.GitDirty = gitState(ctx)
	if o.requests > 0 {
		rep.Setup.Requests = o.requests
	} else {
		rep.Setup.DurationS = o.duration.Seconds()
	}
	fmt.Fprintf(stdout, "featuregraph bench: %s %s, %d CPUs (GOMAXPROCS %d); concurrency %d, %s, warmup %s\n",
		rep.Setup.GoVersion, rep.Setup.OS, rep.Setup.CPUs, rep.Setup.GOMAXPROCS, o.concurrency, measureText(o), o.warmup)
	if rep.Setup.GitCommit != "" {
		fmt.Fprintf(stdout, "code: %s, %d files changed in the working tree\n", rep.Setup.GitCommit, len(rep.Setup.GitDirty))
	}
	fmt.Fprintf(stdout, "data: %d users, %d articles, %d events per user and action feature; loader wait %s; metrics %v\n\n",
		o.data.Users, o.data.Articles, o.data.Events, o.loaderWait, o.metrics)
	tw := stdout
	writeJSON := func() error {
		if o.jsonFile == "" {
			return nil
		}
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(o.jsonFile, append(b, '\n'), 0o644)
	}

	var runErrs []error
	if slices.Contains(o.scenarios, "P1") || slices.Contains(o.scenarios, "P2") {
		recs, served, err := runP(ctx, o, stdout, logf)
		rep.PRecords, rep.ServedLog = recs, served
		if err != nil {
			runErrs = append(runErrs, err)
		}
		fmt.Fprint(stdout, pLegend)
		if err := writeJSON(); err != nil {
			return err
		}
		if !slices.ContainsFunc(o.scenarios, func(s string) bool { return s[0] == 'S' }) {
			return errors.Join(runErrs...)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(tw, rowFormat, "scen", "backend", "target", "req/s", "p50 ms", "p95 ms", "p99 ms", "cpu µs/op", "allocs/op", "KB/op",
		"gor/op", "calls/op", "rt/op", "resp KB", "gw/direct")
	var lines [][]byte
	for _, bname := range o.backends {
		logf("%s: starting", bname)
		b, err := openBackend(ctx, bname, o)
		if err != nil {
			runErrs = append(runErrs, fmt.Errorf("%s: %w", bname, err))
			continue
		}
		err = func() error {
			defer b.close()
			if needsReadData(o.scenarios) {
				start := time.Now()
				logf("%s: loading %d users and %d articles", bname, o.data.Users, o.data.Articles)
				if err := data.load(ctx, b.loadInto, func(s string) { logf("%s: loading: %s", bname, s) }); err != nil {
					return fmt.Errorf("load data: %w", err)
				}
				logf("%s: loaded in %s", bname, time.Since(start).Round(time.Millisecond))
			}
			var h *harness
			for _, sname := range o.scenarios {
				var rec *record
				var err error
				if sname == "S4" {
					if lines == nil {
						lines = ingestEvents(data, o.s4Events, o.data.Seed)
					}
					logf("%s: S4: ingesting %d events", bname, len(lines))
					rec, err = runS4(ctx, o, reg, b, lines)
				} else {
					if h == nil {
						if h, err = newHarness(o, reg, data, b); err != nil {
							return err
						}
						defer h.close()
					}
					logf("%s: %s: verifying, warming up and measuring", bname, sname)
					rec, err = h.runRead(ctx, readScenarios(o)[sname])
				}
				if err != nil {
					runErrs = append(runErrs, fmt.Errorf("%s on %s: %w", sname, bname, err))
					if ctx.Err() != nil {
						return ctx.Err()
					}
					continue
				}
				rep.Records = append(rep.Records, rec)
				printRecord(tw, rec)
				if err := writeJSON(); err != nil {
					return err
				}
			}
			return nil
		}()
		if err != nil {
			runErrs = append(runErrs, fmt.Errorf("%s: %w", bname, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Fprint(stdout, legend)
	for _, r := range rep.Records {
		// Failed requests are a figure of the run (also in the JSON), not a reason to stop it.
		if r.Errors > 0 {
			fmt.Fprintf(stdout, "%s on %s: %d of %d gateway requests failed (first: %s)\n", r.Scenario, r.Backend, r.Errors, r.Requests, r.FirstError)
		}
		if r.Direct != nil && r.Direct.Errors > 0 {
			fmt.Fprintf(stdout, "%s on %s: %d of %d direct requests failed (first: %s)\n", r.Scenario, r.Backend, r.Direct.Errors, r.Direct.Requests, r.Direct.FirstError)
		}
	}
	if err := writeJSON(); err != nil {
		runErrs = append(runErrs, err)
	}
	return errors.Join(runErrs...)
}

// gitState returns HEAD and the working tree's changed files, or nothing when git is not at
// hand.
func gitState(ctx context.Context) (string, []string) {
	head, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "", nil
	}
	var dirty []string
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain").Output(); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(st)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				dirty = append(dirty, l)
			}
		}
	}
	return strings.TrimSpace(string(head)), dirty
}

func measureText(o *options) string {
	loop := "closed loop"
	if o.rate > 0 {
		loop = fmt.Sprintf("open loop at %g req/s", o.rate)
	}
	if o.requests > 0 {
		return fmt.Sprintf("%s, %d requests per measurement in %d rounds", loop, o.requests, o.rounds)
	}
	return fmt.Sprintf("%s, %s per measurement in %d rounds", loop, o.duration, o.rounds)
}

func needsReadData(scenarios []string) bool {
	for _, s := range scenarios {
		if s != "S4" {
			return true
		}
	}
	return false
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

const rowFormat = "%-4s  %-14s  %-8s  %9s  %7s  %7s  %7s  %9s  %9s  %7s  %7s  %8s  %6s  %7s  %9s\n"

const legend = `
cpu µs/op: user+system CPU of the bench process per request (load generator included; redis-server and
dynalite not). gor/op: goroutines created per request. calls/op: store.Reader calls per request (S4: store.Writer calls
per event). rt/op: backend round trips per request (Redis pipelines + DynamoDB API calls; memory: = calls/op).
allocs/op and KB/op are process-wide and include the load generator's HTTP client. floor (-floor): a
handler that returns a recorded gateway response, i.e. the HTTP and load-generator share of the costs.
S4 rows: req/s is events/s, the latencies are those of one store write call, "pipeline" is decode +
dispatch + ingest.Writer and "direct" writes the same pre-dispatched writes straight to the store.
`

func printRecord(w io.Writer, r *record) {
	row := func(target string, m *measurement, ratio string) {
		fmt.Fprintf(w, rowFormat, r.Scenario, r.Backend, target, fmt.Sprintf("%.0f", m.RPS),
			fmt.Sprintf("%.3f", m.P50Ms), fmt.Sprintf("%.3f", m.P95Ms), fmt.Sprintf("%.3f", m.P99Ms),
			fmt.Sprintf("%.0f", m.CPUPerOpUs), fmt.Sprintf("%.0f", m.AllocsPerOp), fmt.Sprintf("%.1f", m.BytesPerOp/1024), fmt.Sprintf("%.1f", m.GoroutinesPerOp),
			fmt.Sprintf("%.2f", m.StoreCallsPerOp), fmt.Sprintf("%.2f", m.BackendCallsPerOp), fmt.Sprintf("%.1f", m.RespBytes/1024), ratio)
	}
	gw := "gateway"
	if r.Scenario == "S4" {
		gw = "pipeline"
	}
	ratio := ""
	if r.Direct != nil {
		ratio = fmt.Sprintf("%.2f", r.Ratio)
	}
	row(gw, &r.measurement, ratio)
	if r.Direct != nil {
		row("direct", r.Direct, "")
	}
	if r.Floor != nil {
		row("floor", r.Floor, "")
	}
	if f := r.Rounds; f != nil && len(f.Ratio) > 0 {
		fmt.Fprintf(w, "      %d rounds: gw/direct %s · gateway cpu µs/op %s · direct %s · load average %s\n",
			len(f.Ratio), spread(f.Ratio, 2), spread(f.GatewayUs, 0), spread(f.DirectUs, 0), spread(f.LoadAvg, 1))
	}
}

// spread formats the median (min–max) of xs with prec decimals.
func spread(xs []float64, prec int) string {
	if len(xs) == 0 {
		return "–"
	}
	s := slices.Sorted(slices.Values(xs))
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf("%.*f (%.*f–%.*f)", prec, med, prec, s[0], prec, s[len(s)-1])
}

// profiles are the file names of one measured phase's profiles ("" = none).
type profiles struct{ cpu, mem string }

func (o *options) profilesFor(scenario, backend, target string, round int) profiles {
	var p profiles
	name := fmt.Sprintf("-%s-%s-%s.pprof", scenario, backend, target)
	if round > 0 {
		name = fmt.Sprintf("-%s-%s-%s.r%d.pprof", scenario, backend, target, round+1)
	}
	if o.cpuProfile != "" {
		p.cpu = o.cpuProfile + name
	}
	if o.memProfile != "" {
		p.mem = o.memProfile + name
	}
	return p
}

// harness holds the HTTP servers of one backend: the gateway and the direct baseline, each over
// its own counting reader of the backend's store, and the floor server.
type harness struct {
	o                          *options
	b                          *backend
	gwSrv, directSrv, floorSrv *httptest.Server
	gwRd, directRd             *countingReader
	floorBody                  atomic.Pointer[[]byte]
}

func newHarness(o *options, reg *registry.Registry, data *dataset, b *backend) (*harness, error) {
	cfg := gateway.DefaultConfig()
	cfg.Playground = false
	cfg.Loader.Wait = o.loaderWait
	if !o.plans {
		cfg.Executor = resolvers.NewExecutableSchema
	}
	if o.metrics {
		cfg.Metrics = metrics.New()
	}
	h := &harness{o: o, b: b, gwRd: &countingReader{r: b.reader}, directRd: &countingReader{r: b.reader}}
	g, err := gateway.New(cfg, reg, h.gwRd, b.pinger, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	h.gwSrv = httptest.NewServer(g)
	h.directSrv = httptest.NewServer(newDirect(h.directRd, data, cfg.RequestTimeout))
	h.floorSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*h.floorBody.Load())
	}))
	return h, nil
}

func (h *harness) close() {
	h.gwSrv.Close()
	h.directSrv.Close()
	h.floorSrv.Close()
}

// targetRun accumulates the rounds of one target.
type targetRun struct {
	name  string
	t     httpTarget
	rd    *countingReader // nil: the floor, which reads nothing
	res   loadResult
	use   usage
	reads readCounts
	obs   int64
	tier  int64 // tiered store's own operations (fallbacks, refills)
	// per round: requests/s and CPU µs per request
	roundRPS, roundCPU []float64
}

// runRead verifies that gateway and direct answer alike, then measures them (and the floor) in
// alternating rounds, so that a noisy neighbour slows all of them alike.
func (h *harness) runRead(ctx context.Context, s *readScenario) (*record, error) {
	o := h.o
	client := newClient(o.concurrency)
	defer client.CloseIdleConnections()
	gw := &targetRun{name: "gateway", t: httpTarget{url: h.gwSrv.URL + "/graphql", body: graphQLBody(s)}, rd: h.gwRd}
	dt := &targetRun{name: "direct", t: httpTarget{url: h.directSrv.URL + "/direct/" + s.name, body: s.vars}, rd: h.directRd}
	sample, err := verify(ctx, client, s, gw.t, dt.t, o.verify, o.data.Seed)
	if err != nil {
		return nil, err
	}
	h.floorBody.Store(&sample)
	targets := []*targetRun{gw}
	if o.direct {
		targets = append(targets, dt)
	}
	if o.floor {
		targets = append(targets, &targetRun{name: "floor", t: httpTarget{url: h.floorSrv.URL, body: graphQLBody(s)}})
	}
	for _, t := range targets {
		if o.warmup > 0 {
			runLoad(ctx, client, t.t, loadOptions{concurrency: o.concurrency, duration: o.warmup, seed: o.data.Seed + 1000, rate: o.rate})
		}
	}
	var loads []float64
	for round := range o.rounds {
		for _, t := range targets {
			lo := loadOptions{concurrency: o.concurrency, duration: o.duration / time.Duration(o.rounds),
				seed: o.data.Seed + 2000 + uint64(round), rate: o.rate}
			if o.requests > 0 {
				lo.requests = max(o.requests/int64(o.rounds), 1)
			}
			if err := h.round(ctx, client, t, lo, o.profilesFor(s.name, h.b.name, t.name, round)); err != nil {
				return nil, err
			}
		}
		loads = append(loads, loadAverage())
	}
	rec := &record{Scenario: s.name, Backend: h.b.name, Concurrency: o.concurrency}
	rec.measurement = *h.result(gw)
	for _, t := range targets[1:] {
		m := h.result(t)
		switch t.name {
		case "direct":
			rec.Direct = m
			if m.RPS > 0 {
				rec.Ratio = round(rec.RPS/m.RPS, 3)
			}
			rf := &roundFigures{GatewayUs: gw.roundCPU, DirectUs: t.roundCPU, LoadAvg: loads}
			for i := range min(len(gw.roundRPS), len(t.roundRPS)) {
				if t.roundRPS[i] > 0 {
					rf.Ratio = append(rf.Ratio, round(gw.roundRPS[i]/t.roundRPS[i], 3))
				}
			}
			rec.Rounds = rf
		case "floor":
			rec.Floor = m
		}
	}
	return rec, nil
}

// round runs one measured phase of t.
func (h *harness) round(ctx context.Context, client *http.Client, t *targetRun, lo loadOptions, prof profiles) error {
	var rc0 readCounts
	if t.rd != nil {
		rc0 = t.rd.snapshot()
	}
	obs0, tier0 := h.b.obs.total(), h.b.obs.tieredOps()
	ph, err := beginPhase(prof.cpu, prof.mem)
	if err != nil {
		return err
	}
	res := runLoad(ctx, client, t.t, lo)
	u, err := ph.end()
	if err != nil {
		return err
	}
	t.res.merge(res)
	t.use.add(u)
	if res.requests > 0 && res.elapsed > 0 {
		t.roundRPS = append(t.roundRPS, float64(res.requests)/res.elapsed.Seconds())
		t.roundCPU = append(t.roundCPU, round(float64(u.cpu.Microseconds())/float64(res.requests), 0))
	}
	if t.rd != nil {
		rc1 := t.rd.snapshot()
		t.reads.calls += rc1.calls - rc0.calls
		t.reads.staticKeys += rc1.staticKeys - rc0.staticKeys
		t.reads.actionQueries += rc1.actionQueries - rc0.actionQueries
	}
	t.obs += h.b.obs.total() - obs0
	t.tier += h.b.obs.tieredOps() - tier0
	return ctx.Err()
}

func (h *harness) result(t *targetRun) *measurement {
	m := &measurement{}
	m.fillLatency(&t.res)
	m.fillUsage(t.use)
	if n := float64(m.Requests); n > 0 {
		m.StoreCallsPerOp = float64(t.reads.calls) / n
		m.StaticKeysPerOp = float64(t.reads.staticKeys) / n
		m.ActionQueriesPerOp = float64(t.reads.actionQueries) / n
		if h.b.obs != nil {
			m.BackendCallsPerOp = float64(t.obs) / n
			m.TieredOpsPerOp = float64(t.tier) / n
		} else {
			m.BackendCallsPerOp = m.StoreCallsPerOp
		}
	}
	roundMeasurement(m)
	return m
}

// runS4 ingests the events through the pipeline and writes the same writes directly, each into
// a fresh store.
func runS4(ctx context.Context, o *options, reg *registry.Registry, b *backend, lines [][]byte) (*record, error) {
	d := ingest.NewDispatcher(reg)
	rec := &record{Scenario: "S4", Backend: b.name, Concurrency: o.concurrency}
	st, err := b.freshStore(ctx, "pipeline")
	if err != nil {
		return nil, err
	}
	obs0 := b.obs.total()
	m, writes, err := runIngestPipeline(ctx, d, lines, st.w, o.concurrency, o.profilesFor("S4", b.name, "pipeline", 0))
	st.cleanup()
	if err != nil {
		return nil, err
	}
	m.BackendCallsPerOp = backendCalls(b, obs0, m)
	roundMeasurement(m)
	rec.measurement = *m
	if !o.direct {
		return rec, nil
	}
	static, actions, err := dispatchAll(d, lines)
	if err != nil {
		return nil, err
	}
	if got := int64(len(static) + len(actions)); got != writes {
		return nil, fmt.Errorf("the pipeline made %d writes, dispatching alone %d", writes, got)
	}
	if st, err = b.freshStore(ctx, "direct"); err != nil {
		return nil, err
	}
	obs0 = b.obs.total()
	dm, err := runIngestDirect(ctx, static, actions, len(lines), st.w, o.concurrency, ingest.DefaultWriterConfig().BatchSize, o.profilesFor("S4", b.name, "direct", 0))
	st.cleanup()
	if err != nil {
		return nil, err
	}
	dm.BackendCallsPerOp = backendCalls(b, obs0, dm)
	roundMeasurement(dm)
	rec.Direct = dm
	if dm.RPS > 0 {
		rec.Ratio = round(m.RPS/dm.RPS, 3)
	}
	return rec, nil
}

func backendCalls(b *backend, obs0 int64, m *measurement) float64 {
	if b.obs == nil {
		return m.StoreCallsPerOp
	}
	return float64(b.obs.total()-obs0) / float64(m.Requests)
}

func roundMeasurement(m *measurement) {
	for _, p := range []*float64{&m.Seconds, &m.RPS, &m.P50Ms, &m.P95Ms, &m.P99Ms, &m.MaxMs, &m.AllocsPerOp, &m.BytesPerOp,
		&m.GoroutinesPerOp, &m.CPUPerOpUs, &m.StoreCallsPerOp, &m.StaticKeysPerOp, &m.ActionQueriesPerOp, &m.BackendCallsPerOp, &m.RespBytes} {
		*p = round(*p, 3)
	}
}

func round(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}
