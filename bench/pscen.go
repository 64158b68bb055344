package main

// P1 and P2 measure the static tier alone, as a feature server is compared with another: their
// own registry (one entity, 50 static features, 25 Int and 25 Float), their own data, and the
// gateway as a separate server process built from a source tree with that registry generated
// in, so its CPU and memory are the server's own (/proc), not the load generator's. P1 asks for
// 1 user × 50 features per request, P2 for 100 users × 50.
//
// Backends: memory (the data loaded at start with --demo), redis (DynamoDB on dynalite + Redis,
// statics served from Redis, warmed by reading every user once), redis+cache (the same with the
// in-process cache). The DynamoDB table is loaded once and shared; Redis is flushed before each
// server so that every server warms it itself. For each run the bench records the server's CPU
// per request (utime+stime from /proc), Redis commands and CPU per request (INFO commandstats
// and INFO cpu deltas), the server's allocations per request (go_memstats_mallocs_total from its
// /metrics), its RSS after the run and its peak RSS, and failed requests as a count.
//
// -servers label=DIR,... builds one server per source tree (e.g. before=/tmp/main,after=.) and
// runs every backend against each, so before and after share the data, the Redis and the box.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/featuregraph/featuregraph/auth"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/memory"
	"github.com/featuregraph/featuregraph/store/redis"
)

const pFeatures = 50 // 25 Int (i00..i24), 25 Float (f00..f24)

func pFeatureNames() []string {
	var out []string
	for i := range pFeatures / 2 {
		out = append(out, fmt.Sprintf("i%02d", i))
	}
	for i := range pFeatures / 2 {
		out = append(out, fmt.Sprintf("f%02d", i))
	}
	return out
}

// pRegistry is the YAML of the P registry.
func pRegistry() string {
	var b strings.Builder
	b.WriteString("entities:\n  user:\n    prefix: u\n    idType: Int\n    description: A user with 50 numeric features.\n\nfeatures:\n  user:\n")
	for _, n := range pFeatureNames() {
		t := "Int"
		if n[0] == 'f' {
			t = "Float"
		}
		fmt.Fprintf(&b, "    %s:\n      featureType: static\n      type: %s\n      description: Generated feature %s.\n", n, t, n)
	}
	return b.String()
}

// pValue is feature j of user id (deterministic).
func pValue(id, j int) store.Value {
	rng := rand.New(rand.NewPCG(uint64(id), uint64(j)))
	if j < pFeatures/2 {
		return store.IntValue(rng.Int64N(1_000_000))
	}
	return store.FloatValue(float64(rng.Int64N(1_000_000)) / 1000)
}

const pTS = 1_700_000_000_000

// pWrites returns the writes of users [from, to).
func pWrites(from, to int) []store.StaticWrite {
	names := pFeatureNames()
	out := make([]store.StaticWrite, 0, (to-from)*len(names))
	for id := from; id < to; id++ {
		sid := strconv.Itoa(id)
		for j, n := range names {
			out = append(out, store.StaticWrite{Key: store.Key{Prefix: "u", ID: sid, Feature: n}, Value: pValue(id, j), TS: pTS})
		}
	}
	return out
}

// pServer is one server binary built from a source tree.
type pServer struct {
	label, bin string
	before     bool     // built from code whose statics are read from DynamoDB (--static-cache-redis)
	env, args  []string // a -p-variants run: more environment variables and serve flags
}

// buildPServer copies the Go source of src (git ls-files), puts the P registry into its
// features/, generates and builds it.
func buildPServer(ctx context.Context, label, src, work string, logf func(string, ...any)) (*pServer, error) {
	dir := filepath.Join(work, "src-"+label)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	files, err := exec.CommandContext(ctx, "git", "-C", src, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return nil, fmt.Errorf("list the files of %s: %w", src, err)
	}
	for _, f := range strings.Split(strings.TrimSpace(string(files)), "\n") {
		if f == "" || strings.HasPrefix(f, "node_modules") || strings.HasPrefix(f, "features/") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // deleted in the working tree
			}
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			return nil, err
		}
	}
	embed, err := os.ReadFile(filepath.Join(src, "features", "embed.go"))
	if err != nil {
		return nil, err
	}
	if err := writePRegistry(filepath.Join(dir, "features"), []byte(`{"entity":"user","id":1,"feature":"i00","value":1,"timestamp":1700000000000}`+"\n")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "features", "embed.go"), embed, 0o644); err != nil {
		return nil, err
	}
	logf("P: building the server from %s (%s)", src, label)
	for _, args := range [][]string{{"run", "./codegen/cmd/generate", "--features", "./features"}, {"build", "-o", "featuregraph", "."}} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), dir, err, out)
		}
	}
	bin := filepath.Join(dir, "featuregraph")
	help, _ := exec.CommandContext(ctx, bin, "serve", "-h").CombinedOutput()
	return &pServer{label: label, bin: bin, before: !bytes.Contains(help, []byte("deprecated, ignored"))}, nil
}

func writePRegistry(dir string, demo []byte) error {
	if err := os.MkdirAll(filepath.Join(dir, "demo"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "features.yaml"), []byte(pRegistry()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "demo", "events.jsonl"), demo, 0o644)
}

// pDemo is every value as JSONL feature values (the memory server loads them with --demo).
func pDemo(users int) []byte {
	var b bytes.Buffer
	names := pFeatureNames()
	for id := 1; id <= users; id++ {
		for j, n := range names {
			b.WriteString(`{"entity":"user","id":`)
			b.WriteString(strconv.Itoa(id))
			b.WriteString(`,"feature":"`)
			b.WriteString(n)
			b.WriteString(`","value":`)
			b.Write(pValue(id, j).AppendJSON(nil))
			b.WriteString(`,"timestamp":1700000000000}` + "\n")
		}
	}
	return b.Bytes()
}

// pQuery is the GraphQL query of P1 (one user) or P2 (users).
func pQuery(batch bool) string {
	fields := strings.Join(pGraphQLNames(), " ")
	if batch {
		return `query P2($ids: [Int!]!) { users(ids: $ids) { id ` + fields + ` } }`
	}
	return `query P1($id: Int!) { user(id: $id) { id ` + fields + ` } }`
}

func pGraphQLNames() []string {
	var out []string
	for _, n := range pFeatureNames() {
		out = append(out, registry.Camel(n))
	}
	return out
}

// pVars appends one request's variables: 1 or n random users of [1, users].
func pVars(users, n int, batch bool) func(*rand.Rand, []byte) []byte {
	return func(rng *rand.Rand, b []byte) []byte {
		if !batch {
			b = append(b, `{"id":`...)
			b = strconv.AppendInt(b, int64(1+rng.IntN(users)), 10)
			return append(b, '}')
		}
		b = append(b, `{"ids":[`...)
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(1+rng.IntN(users)), 10)
		}
		return append(b, "]}"...)
	}
}

// pDirect answers P1 and P2 straight from a store: one StaticQuery, the JSON written by hand
// from the values (the least a server must do).
type pDirect struct {
	rd    store.StaticReader
	names []string
	gql   []string
}

func (d *pDirect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID  *int  `json:"id"`
		IDs []int `json:"ids"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	batch := req.ID == nil
	ids := req.IDs
	if !batch {
		ids = []int{*req.ID}
	}
	q := store.StaticQuery{Prefix: "u", IDs: make([]string, len(ids)), Features: d.names}
	for i, id := range ids {
		q.IDs[i] = strconv.Itoa(id)
	}
	out := make([]store.StaticValue, q.Len())
	if err := d.rd.ReadStatic(r.Context(), q, out); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b := make([]byte, 0, 64+len(out)*24)
	if batch {
		b = append(b, `{"data":{"users":[`...)
	} else {
		b = append(b, `{"data":{"user":`...)
	}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(id), 10)
		for j, n := range d.gql {
			b = append(b, `,"`...)
			b = append(b, n...)
			b = append(b, `":`...)
			b = out[i*len(d.names)+j].AppendJSON(b)
		}
		b = append(b, '}')
	}
	if batch {
		b = append(b, "]}}"...)
	} else {
		b = append(b, "}}"...)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// pProc is a running server process.
type pProc struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func startPServer(ctx context.Context, env []string, bin string, args ...string) (*pProc, error) {
	port, err := testenv.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := &pProc{url: "http://" + addr, logs: &bytes.Buffer{}}
	p.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr, "--log-level", "warn"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(3 * time.Minute) // the memory server loads its data first
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil || p.cmd.ProcessState != nil {
			p.stop()
			return nil, fmt.Errorf("server did not become ready: %v\n%s", err, p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *pProc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// procCPU returns the process's user+system CPU time (/proc/<pid>/stat, clock ticks of 10 ms).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

// procMem returns VmRSS and VmHWM in MiB.
func procMem(pid int) (rss, peak float64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// mallocs scrapes go_memstats_mallocs_total from a server's /metrics.
func mallocs(url string) float64 {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_mallocs_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// servedMetrics are the served-log series of a server's /metrics: requests taken by the log,
// requests written, requests dropped, values (rows of the files) written.
var servedMetrics = []string{
	`featuregraph_offline_rows_total{stage="spooled",stream="served"} `,
	`featuregraph_offline_rows_total{stage="shipped",stream="served"} `,
	`featuregraph_served_log_dropped_total `,
	`featuregraph_served_log_values_total `,
}

// scrape reads the values of the given series (each a line prefix) from a server's /metrics.
func scrape(url string, series ...string) []float64 {
	out := make([]float64, len(series))
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		for i, s := range series {
			if v, ok := strings.CutPrefix(sc.Text(), s); ok {
				out[i], _ = strconv.ParseFloat(v, 64)
			}
		}
	}
	return out
}

// servedLogArgs turns a server's flags into the same with served-feature logging at 100%: a
// copy of its --features directory with servedLog on, and a local --offline-sink.
func (e *pEnv) servedLogArgs(args []string, name string) ([]string, error) {
	out := append([]string(nil), args...)
	for i := 0; i+1 < len(out); i++ {
		if out[i] != "--features" {
			continue
		}
		dir := filepath.Join(e.work, "features-"+name)
		if err := os.RemoveAll(dir); err != nil { // an earlier round's copy
			return nil, err
		}
		if err := os.CopyFS(dir, os.DirFS(out[i+1])); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "offline.yaml"), []byte("servedLog: {samplingRatio: 1}\n"), 0o644); err != nil {
			return nil, err
		}
		out[i+1] = dir
	}
	return append(out, "--offline-sink", filepath.Join(e.work, "lake-"+name), "--offline-flush", "1s"), nil
}

// redisStats are the counters of INFO commandstats and INFO cpu.
type redisStats struct {
	calls int64
	cpu   float64 // seconds, user+sys of the main thread and children
}

func readRedisStats(ctx context.Context, c *goredis.Client) (redisStats, error) {
	var st redisStats
	info, err := c.Info(ctx, "commandstats", "cpu").Result()
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if name, rest, ok := strings.Cut(line, ":calls="); ok && strings.HasPrefix(name, "cmdstat_") && name != "cmdstat_info" {
			n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest+",", ',')], 10, 64)
			st.calls += n
		}
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				f, _ := strconv.ParseFloat(v, 64)
				st.cpu += f
			}
		}
	}
	return st, nil
}

// pRecord is one scenario on one backend and server.
type pRecord struct {
	Scenario     string  `json:"scenario"`
	Round        int     `json:"round"`
	Backend      string  `json:"backend"`
	Server       string  `json:"server"` // a -servers label, or "direct"
	Requests     int64   `json:"requests"`
	Failed       int64   `json:"failed"`
	FirstError   string  `json:"first_error,omitempty"`
	RPS          float64 `json:"requests_per_sec"`
	P50Ms        float64 `json:"p50_ms"`
	P99Ms        float64 `json:"p99_ms"`
	P999Ms       float64 `json:"p999_ms"`
	ServerCPUMs  float64 `json:"server_cpu_ms_per_req"` // direct: bench process CPU minus the floor's
	RedisCmds    float64 `json:"redis_commands_per_req"`
	RedisCPUMs   float64 `json:"redis_cpu_ms_per_req"`
	AllocsPerReq float64 `json:"server_allocs_per_req,omitempty"`
	RSSMiB       float64 `json:"rss_mib_after,omitempty"`
	PeakRSSMiB   float64 `json:"peak_rss_mib,omitempty"`
	LoadAvg      float64 `json:"load_average_1m"`
	// The server's runtime/metrics over the measured phase (-1: not exported by that server;
	// see ptail.go): GC cycles per 1,000 requests, GC CPU and mark-assist CPU as a share of
	// the process's CPU, mean GC pause, mean scheduler latency and the share of scheduling
	// waits over ~1 ms and ~10 ms, and the heap's live set and goal after the run.
	GCPer1k          float64 `json:"gc_per_1k_req"`
	GCCPUPct         float64 `json:"gc_cpu_pct"`
	AssistPct        float64 `json:"gc_assist_cpu_pct"`
	PauseMeanUs      float64 `json:"gc_pause_mean_us"`
	SchedMeanUs      float64 `json:"sched_latency_mean_us"`
	SchedOver1msPct  float64 `json:"sched_latency_over_1ms_pct"`
	SchedOver10msPct float64 `json:"sched_latency_over_10ms_pct"`
	// Quantiles (ms, the upper bound of their bucket) of the scheduler latency and of the GC
	// pauses over the phase, from the server's featuregraph_runtime_* histograms.
	SchedP99Ms  float64 `json:"sched_latency_p99_ms"`
	SchedP999Ms float64 `json:"sched_latency_p999_ms"`
	PauseP99Ms  float64 `json:"gc_pause_p99_ms"`
	PauseMaxMs  float64 `json:"gc_pause_max_ms"`
	HeapLiveMiB float64 `json:"heap_live_mib,omitempty"`
	HeapGoalMiB float64 `json:"heap_goal_mib,omitempty"`
	// Served-feature logging (-p-served-log): requests taken by the log per second of the
	// measurement, requests written to the sink, requests dropped because the buffer was
	// full, and values written per second at the measured request rate (the sink's rows/s:
	// one row per value).
	ServedRowsPerSec   float64 `json:"served_rows_per_sec,omitempty"`
	ServedShipped      float64 `json:"served_rows_shipped,omitempty"`
	ServedDropped      float64 `json:"served_rows_dropped,omitempty"`
	ServedValuesPerSec float64 `json:"served_values_per_sec,omitempty"`
}

const pRowFormat = "%-2s %-3s  %-12s  %-10s  %8s  %6s  %7s  %7s  %8s  %8s  %9s  %9s  %8s  %7s  %5s  %9s  %7s  %6s  %7s  %6s  %7s  %8s  %8s  %8s  %5s\n"

func printPHeader(w io.Writer) {
	fmt.Fprintf(w, pRowFormat, "r", "sc", "backend", "server", "req/s", "failed", "p50 ms", "p99 ms", "p99.9 ms", "cpu ms/r", "redis c/r", "redis ms/r", "allocs/r", "RSS MiB", "peak",
		"heap live", "GC/1k r", "GC cpu", "assist", "sch>1ms", "sch p99", "sch p99.9", "pause99", "pausemax", "load")
}

func printPRecord(w io.Writer, r *pRecord) {
	opt := func(v float64, format string) string {
		if v < 0 {
			return "–"
		}
		return fmt.Sprintf(format, v)
	}
	fmt.Fprintf(w, pRowFormat, strconv.Itoa(r.Round), r.Scenario, r.Backend, r.Server, fmt.Sprintf("%.0f", r.RPS), strconv.FormatInt(r.Failed, 10),
		fmt.Sprintf("%.2f", r.P50Ms), fmt.Sprintf("%.2f", r.P99Ms), fmt.Sprintf("%.2f", r.P999Ms), fmt.Sprintf("%.3f", r.ServerCPUMs),
		fmt.Sprintf("%.1f", r.RedisCmds), fmt.Sprintf("%.3f", r.RedisCPUMs), fmt.Sprintf("%.0f", r.AllocsPerReq),
		fmt.Sprintf("%.0f", r.RSSMiB), fmt.Sprintf("%.0f", r.PeakRSSMiB), opt(r.HeapLiveMiB, "%.0f"), opt(r.GCPer1k, "%.2f"),
		opt(r.GCCPUPct, "%.1f%%"), opt(r.AssistPct, "%.1f%%"), opt(r.SchedOver1msPct, "%.2f%%"),
		optMs(r.SchedP99Ms), optMs(r.SchedP999Ms), optMs(r.PauseP99Ms), optMs(r.PauseMaxMs), fmt.Sprintf("%.1f", r.LoadAvg))
}

// optMs formats a histogram quantile in ms: "–" not exported, ">1000" above the last bound.
func optMs(v float64) string {
	switch {
	case v < 0:
		return "–"
	case math.IsInf(v, 1):
		return ">1000"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// pEnv is what every P run shares: the data, dynalite with the table loaded, Redis.
type pEnv struct {
	o           *options
	users       int
	work        string
	regDir      string // the registry with every value as demo events (memory server)
	redisAddr   string
	endpoint    string
	table       string
	rc          *goredis.Client
	closers     []func()
	client      *http.Client
	logf        func(string, ...any)
	directMem   *memory.Store
	directRedis *redis.Store
}

func (e *pEnv) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// runP runs P1 and P2 (those in o.scenarios) on every P backend and server.
func runP(ctx context.Context, o *options, stdout io.Writer, logf func(string, ...any)) (recs []*pRecord, served []*servedLogResult, err error) {
	e := &pEnv{o: o, users: o.pUsers, logf: logf, table: "featuregraph_p", client: newClient(o.concurrency)}
	defer e.close()
	if e.work, err = os.MkdirTemp("", "featuregraph-bench-p-"); err != nil {
		return nil, nil, err
	}
	e.closers = append(e.closers, func() { _ = os.RemoveAll(e.work) })
	var servers []*pServer
	for _, s := range o.pServers {
		label, src, _ := strings.Cut(s, "=")
		srv, err := buildPServer(ctx, label, src, e.work, logf)
		if err != nil {
			return nil, nil, err
		}
		servers = append(servers, srv)
	}
	for _, v := range o.pVariants {
		for _, srv := range servers[:len(o.pServers)] {
			if srv.label == v.base {
				servers = append(servers, &pServer{label: v.label, bin: srv.bin, before: srv.before, env: v.env, args: v.args})
			}
		}
	}
	e.regDir = filepath.Join(e.work, "registry")
	if err := writePRegistry(e.regDir, pDemo(e.users)); err != nil {
		return nil, nil, err
	}
	if err := e.startBackends(ctx); err != nil {
		return nil, nil, err
	}
	var loads []float64
	printPHeader(stdout)
	defer func() {
		if len(recs) > 0 {
			printPSummary(stdout, recs, loads)
		}
		printServedLog(stdout, served)
	}()
	pairs := o.pServedLog && o.pServedLogPairs > 0
	// Rounds alternate: every backend, direct and every server once per round.
	for round := 1; round <= max(o.rounds, 1); round++ {
		for _, backend := range o.pBackends {
			for _, sc := range o.scenarios {
				if sc != "P1" && sc != "P2" {
					continue
				}
				r, err := e.runDirect(ctx, backend, sc)
				if err != nil {
					return recs, nil, fmt.Errorf("%s on %s, direct: %w", sc, backend, err)
				}
				if r != nil {
					r.Round = round
					loads = append(loads, r.LoadAvg)
					recs = append(recs, r)
					printPRecord(stdout, r)
				}
			}
			for _, srv := range servers {
				for _, variant := range []string{"", "log", "auth"} {
					logged := variant == "log"
					if logged && (!o.pServedLog || pairs) || variant == "auth" && !o.pAuth {
						continue
					}
					rs, err := e.runServer(ctx, srv, backend, logged, variant == "auth")
					if err != nil {
						return recs, nil, fmt.Errorf("%s on %s: %w", srv.label, backend, err)
					}
					for _, r := range rs {
						r.Round = round
						loads = append(loads, r.LoadAvg)
						recs = append(recs, r)
						printPRecord(stdout, r)
						if logged {
							fmt.Fprintf(stdout, "     served log: %.0f requests/s logged, %.0f requests in the sink, %.0f dropped; %.0f values/s written\n", r.ServedRowsPerSec, r.ServedShipped, r.ServedDropped, r.ServedValuesPerSec)
						}
					}
				}
			}
		}
	}
	if pairs {
		fmt.Fprintf(stdout, "\nServed log: each server without and with the log side by side, %d pairs of %s slices per scenario\n", o.pServedLogPairs, o.pServedLogSlice)
		for _, backend := range o.pBackends {
			for _, srv := range servers {
				rs, err := e.runServedLog(ctx, srv, backend, stdout)
				served = append(served, rs...)
				if err != nil {
					return recs, served, fmt.Errorf("%s on %s, served log: %w", srv.label, backend, err)
				}
			}
		}
	}
	return recs, served, nil
}

func (e *pEnv) startBackends(ctx context.Context) error {
	addr, stopRedis, err := testenv.StartRedis()
	if err != nil {
		return err
	}
	e.closers = append(e.closers, stopRedis)
	e.redisAddr = addr
	e.rc = goredis.NewClient(&goredis.Options{Addr: addr})
	e.closers = append(e.closers, func() { _ = e.rc.Close() })
	e.directMem = memory.New()
	if err := e.directMem.WriteStatic(ctx, pWrites(1, e.users+1)); err != nil {
		return err
	}
	if !slices.ContainsFunc(e.o.pBackends, func(b string) bool { return b != "memory" }) {
		return nil // memory only: no DynamoDB to load (it takes minutes on dynalite)
	}
	endpoint, stopDynamo, err := testenv.StartDynamoDB()
	if err != nil {
		return err
	}
	e.closers = append(e.closers, stopDynamo)
	e.endpoint = endpoint
	reg, err := registry.Parse(map[string][]byte{"features.yaml": []byte(pRegistry())})
	if err != nil {
		return err
	}
	d, err := dynamodb.New(ctx, dynamodb.Config{Endpoint: endpoint, Table: e.table, Values: reg, Concurrency: 32})
	if err != nil {
		return err
	}
	if err := d.CreateTable(ctx); err != nil {
		return err
	}
	start := time.Now()
	e.logf("P: loading %d users × %d features into DynamoDB", e.users, pFeatures)
	const chunk = 200
	for from := 1; from <= e.users; from += chunk {
		if err := d.WriteStatic(ctx, pWrites(from, min(from+chunk, e.users+1))); err != nil {
			return err
		}
	}
	e.logf("P: loaded in %s", time.Since(start).Round(time.Second))
	// The direct baseline over Redis reads the Redis store itself (one pipeline of one HMGET
	// per user, the keys the gateway reads), not the tiered store: behind the tiered store's
	// read budget a stall of the bench process (it also runs the load) sent whole requests to
	// DynamoDB, 5,000 keys from dynalite taking seconds, and its breaker sent the next
	// second's reads there too.
	if e.directRedis, err = redis.New(redis.Config{Addrs: []string{addr}}); err != nil {
		return err
	}
	e.closers = append(e.closers, func() { _ = e.directRedis.Close() })
	return nil
}

// serverArgs are the flags of backend for srv.
func (e *pEnv) serverArgs(srv *pServer, backend string) (args []string) {
	defer func() { args = append(args, srv.args...) }()
	if backend == "memory" {
		return []string{"--features", e.regDir, "--demo"}
	}
	args = []string{"--features", filepath.Join(filepath.Dir(srv.bin), "features"), "--dynamodb-endpoint", e.endpoint, "--dynamodb-region", "us-east-1",
		"--dynamodb-table", e.table, "--redis-addr", e.redisAddr}
	switch {
	case srv.before && backend == "redis": // main: statics from DynamoDB, cached in Redis only
		args = append(args, "--static-cache-ttl", "1h", "--static-cache-redis", "--static-cache-size", "-1")
	case srv.before: // + its in-process LRU, in entries
		args = append(args, "--static-cache-ttl", "1h", "--static-cache-redis", "--static-cache-size", strconv.Itoa(e.users*pFeatures))
	case backend == "redis+cache":
		args = append(args, "--static-cache-ttl", "1h", "--static-cache-size", "256MiB")
	}
	return args
}

// warm reads every user once in P2-sized batches, so Redis (and the caches) hold them all.
func (e *pEnv) warm(ctx context.Context, url string) error {
	q, _ := json.Marshal(pQuery(true))
	var buf bytes.Buffer
	failed, lastErr := 0, error(nil)
	for from := 1; from <= e.users; from += 100 {
		vars := []byte(`{"ids":[`)
		for id := from; id < min(from+100, e.users+1); id++ {
			if id > from {
				vars = append(vars, ',')
			}
			vars = strconv.AppendInt(vars, int64(id), 10)
		}
		vars = append(vars, "]}"...)
		body := append(append(append([]byte(`{"query":`), q...), `,"variables":`...), append(vars, '}')...)
		// A busy box can answer a batch 503 (overload) or time it out: retry it, then go on.
		// A batch that never succeeds leaves its users cold, which the run's figures show
		// (its failed requests and backend commands); it does not stop the run.
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if err = post(ctx, e.client, url, body, &buf); err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("warm-up: %w", ctx.Err())
		}
		if err != nil {
			failed++
			lastErr = err
		}
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "bench: warm-up: %d batches of 100 users failed after 5 attempts (last: %v); measuring anyway\n", failed, lastErr)
	}
	return nil
}

func (e *pEnv) target(url string, sc string, direct bool) httpTarget {
	batch := sc == "P2"
	vars := pVars(e.users, 100, batch)
	if direct {
		return httpTarget{url: url, body: vars}
	}
	q, _ := json.Marshal(pQuery(batch))
	prefix := append(append([]byte(`{"query":`), q...), `,"variables":`...)
	return httpTarget{url: url + "/graphql", body: func(rng *rand.Rand, b []byte) []byte {
		b = append(b, prefix...)
		b = vars(rng, b)
		return append(b, '}')
	}}
}

// measure runs the load on t and fills r with the latencies and the Redis deltas; cpu is read
// before and after.
func (e *pEnv) measure(ctx context.Context, r *pRecord, t httpTarget, cpu func() time.Duration, allocs func() float64, serverURL string) error {
	if e.o.warmup > 0 {
		runLoad(ctx, e.client, t, loadOptions{concurrency: e.o.concurrency, duration: e.o.warmup, seed: e.o.data.Seed + 1000, rate: e.o.rate})
	}
	rs0, err := readRedisStats(ctx, e.rc)
	if err != nil {
		return err
	}
	var rt0 map[string]float64
	if serverURL != "" {
		rt0 = promSample(serverURL)
	}
	c0, a0 := cpu(), allocs()
	res := runLoad(ctx, e.client, t, loadOptions{concurrency: e.o.concurrency, duration: e.o.duration, requests: e.o.requests, seed: e.o.data.Seed + 2000, rate: e.o.rate})
	c1, a1 := cpu(), allocs()
	r.LoadAvg = loadAverage()
	if serverURL != "" {
		r.runtimeDelta(rt0, promSample(serverURL), float64(res.requests), c1-c0)
	} else {
		r.runtimeDelta(nil, nil, 0, 0)
	}
	rs1, err := readRedisStats(ctx, e.rc)
	if err != nil {
		return err
	}
	var m measurement
	m.fillLatency(res)
	r.Requests, r.Failed, r.FirstError = m.Requests, m.Errors, m.FirstError
	r.RPS, r.P50Ms, r.P99Ms = round(m.RPS, 1), m.P50Ms, m.P99Ms
	r.P999Ms = round(quantile(res.latencies, 0.999), 3) // sorted by fillLatency
	if n := float64(m.Requests); n > 0 {
		r.ServerCPUMs = round((c1-c0).Seconds()*1000/n, 4)
		r.RedisCmds = round(float64(rs1.calls-rs0.calls)/n, 2)
		r.RedisCPUMs = round((rs1.cpu-rs0.cpu)*1000/n, 4)
		r.AllocsPerReq = round((a1-a0)/n, 0)
	}
	return ctx.Err()
}

func (e *pEnv) runServer(ctx context.Context, srv *pServer, backend string, logged, withAuth bool) ([]*pRecord, error) {
	if err := e.rc.FlushAll(ctx).Err(); err != nil {
		return nil, err
	}
	label := srv.label
	args := e.serverArgs(srv, backend)
	if withAuth {
		// Access control on: a clients file granting every entity, the load's requests with
		// an API key (benchAPIKey) — what a grant and the identity of each request cost.
		label += "+auth"
		f := filepath.Join(os.TempDir(), fmt.Sprintf("bench-clients-%d.yaml", os.Getpid()))
		if err := os.WriteFile(f, []byte("clients:\n  bench:\n    apiKeys: ["+auth.HashKey(benchKey)+"]\n    read: {entities: [\"*\"]}\n    metrics: true\n"), 0o600); err != nil {
			return nil, err
		}
		defer os.Remove(f)
		args = append(args, "--clients", f)
		benchAPIKey = benchKey
		defer func() { benchAPIKey = "" }()
	}
	if logged {
		label += "+log"
		var err error
		if args, err = e.servedLogArgs(args, label+"-"+backend); err != nil {
			return nil, err
		}
	}
	e.logf("P: %s server on %s: starting", label, backend)
	p, err := startPServer(ctx, srv.env, srv.bin, args...)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	pid := p.cmd.Process.Pid
	if backend != "memory" {
		// Warm until Redis holds every user (a refill skipped while its slots were busy is
		// retried by a later read), at most five passes.
		for pass := 0; pass < 5; pass++ {
			if err := e.warm(ctx, p.url+"/graphql"); err != nil {
				return nil, err
			}
			time.Sleep(500 * time.Millisecond) // background refills
			if n, err := e.rc.DBSize(ctx).Result(); err != nil || n >= int64(e.users) {
				break
			}
		}
	}
	var out []*pRecord
	for _, sc := range e.o.scenarios {
		if sc != "P1" && sc != "P2" {
			continue
		}
		e.logf("P: %s server on %s: %s", label, backend, sc)
		r := &pRecord{Scenario: sc, Backend: backend, Server: label}
		cpu := func() time.Duration { d, _ := procCPU(pid); return d }
		before := scrape(p.url, servedMetrics...)
		start := time.Now()
		if err := e.measure(ctx, r, e.target(p.url, sc, false), cpu, func() float64 { return mallocs(p.url) }, p.url); err != nil {
			return out, err
		}
		if logged {
			time.Sleep(1500 * time.Millisecond) // --offline-flush 1s: the sink catches up
			after := scrape(p.url, servedMetrics...)
			r.ServedRowsPerSec = (after[0] - before[0]) / time.Since(start).Seconds()
			r.ServedShipped, r.ServedDropped = after[1]-before[1], after[2]-before[2]
			// At the measured request rate: values per logged request × requests/s.
			r.ServedValuesPerSec = r.RPS * (after[3] - before[3]) / max(after[0]-before[0], 1)
		}
		r.RSSMiB, r.PeakRSSMiB = procMem(pid)
		out = append(out, r)
	}
	if e.o.pWrk > 0 {
		for _, sc := range e.o.scenarios {
			if sc != "P1" && sc != "P2" {
				continue
			}
			e.logf("P: %s server on %s: %s with wrk", label, backend, sc)
			r := &pRecord{Scenario: sc, Backend: backend, Server: label + "/wrk"}
			if err := e.runWrk(ctx, r, p.url, e.o.pWrk, func() time.Duration { d, _ := procCPU(pid); return d }); err != nil {
				return out, err
			}
			r.RSSMiB, r.PeakRSSMiB = procMem(pid)
			out = append(out, r)
		}
	}
	return out, nil
}

// runDirect measures the direct baseline of sc on backend (none for redis+cache): the bench
// process's CPU per request minus that of a handler returning a recorded response.
func (e *pEnv) runDirect(ctx context.Context, backend, sc string) (*pRecord, error) {
	if !e.o.direct {
		return nil, nil // -direct=false
	}
	var rd store.StaticReader
	switch backend {
	case "memory":
		rd = e.directMem
	case "redis":
		// Redis holds every user, written as the gateway's refills write them.
		if err := e.rc.FlushAll(ctx).Err(); err != nil {
			return nil, err
		}
		const chunk = 200
		for from := 1; from <= e.users; from += chunk {
			if err := e.directRedis.WriteStatic(ctx, pWrites(from, min(from+chunk, e.users+1))); err != nil {
				return nil, err
			}
		}
		rd = e.directRedis
	default:
		return nil, nil
	}
	d := &pDirect{rd: rd, names: pFeatureNames(), gql: pGraphQLNames()}
	srv := httptest.NewServer(d)
	defer srv.Close()
	t := e.target(srv.URL, sc, true)
	var sample bytes.Buffer
	if err := post(ctx, e.client, srv.URL, t.body(rand.New(rand.NewPCG(1, 2)), nil), &sample); err != nil {
		return nil, err
	}
	body := bytes.Clone(sample.Bytes())
	floor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer floor.Close()
	fr := &pRecord{}
	if err := e.measure(ctx, fr, httpTarget{url: floor.URL, body: t.body}, processCPU, func() float64 { return 0 }, ""); err != nil {
		return nil, err
	}
	r := &pRecord{Scenario: sc, Backend: backend, Server: "direct"}
	if err := e.measure(ctx, r, t, processCPU, func() float64 { return 0 }, ""); err != nil {
		return nil, err
	}
	r.ServerCPUMs = round(r.ServerCPUMs-fr.ServerCPUMs, 4)
	return r, nil
}

const pLegend = `
P rows: server = the gateway process built from that source tree with the P registry (cpu ms/r from its /proc
utime+stime, allocs/r from its go_memstats_mallocs_total, RSS after the runs and peak), or "direct": a
hand-written handler in the bench process over the same store (cpu ms/r = bench process CPU minus that
of a handler returning a recorded response, i.e. without the load generator and HTTP). redis c/r and
redis ms/r are INFO commandstats and INFO cpu deltas per request. failed = requests that failed.
`
