package main

// What explains the tail of a P run: the server's own runtime/metrics (its /metrics: GC cycles,
// GC CPU and mark assists, GC pauses, scheduler latency, the heap's live set against its goal),
// p99.9, server variants (the same binary with other GOGC/GOMEMLIMIT or flags), and the
// min/median/max summary over the alternating rounds.

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pVariant runs the binary of a -servers entry under another label with more environment
// variables and serve flags (-p-variants).
type pVariant struct {
	label, base string
	env, args   []string
}

// parseVariants parses "label=server:WORD ...;..." where NAME=VALUE words are environment
// variables and the others serve flags.
func parseVariants(spec string, servers []string) ([]pVariant, error) {
	var out []pVariant
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		label, rest, ok := strings.Cut(part, "=")
		base, settings, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || label == "" || base == "" {
			return nil, fmt.Errorf("-p-variants: want label=server:settings, got %q", part)
		}
		if !slices.ContainsFunc(servers, func(s string) bool { return strings.HasPrefix(s, base+"=") }) {
			return nil, fmt.Errorf("-p-variants: %q: no -servers entry labelled %q", part, base)
		}
		v := pVariant{label: label, base: base}
		for _, w := range strings.Fields(settings) {
			if k, _, isEnv := strings.Cut(w, "="); isEnv && !strings.HasPrefix(k, "-") {
				v.env = append(v.env, w)
			} else {
				v.args = append(v.args, w)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// promSample reads every sample of a server's /metrics, keyed by name and labels as written.
func promSample(url string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if f, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = f
		}
	}
	return out
}

// runtimeDelta fills r's runtime columns from the /metrics samples before and after the
// measured phase (n requests, cpu of the process over it). A server without the runtime series
// (built before they were exported) leaves them at -1.
func (r *pRecord) runtimeDelta(before, after map[string]float64, n float64, cpu time.Duration) {
	r.GCPer1k, r.GCCPUPct, r.AssistPct, r.PauseMeanUs, r.SchedMeanUs, r.SchedOver1msPct, r.SchedOver10msPct = -1, -1, -1, -1, -1, -1, -1
	r.SchedP99Ms, r.SchedP999Ms, r.PauseP99Ms, r.PauseMaxMs = -1, -1, -1, -1
	if _, ok := after["go_cpu_classes_gc_total_cpu_seconds_total"]; !ok || n <= 0 {
		return
	}
	d := func(k string) float64 { return after[k] - before[k] }
	r.GCPer1k = round(d("go_gc_cycles_total_gc_cycles_total")*1000/n, 2)
	if s := cpu.Seconds(); s > 0 {
		r.GCCPUPct = round(d("go_cpu_classes_gc_total_cpu_seconds_total")/s*100, 1)
		r.AssistPct = round(d("go_cpu_classes_gc_mark_assist_cpu_seconds_total")/s*100, 1)
	}
	if c := d("go_gc_pauses_seconds_count"); c > 0 {
		r.PauseMeanUs = round(d("go_gc_pauses_seconds_sum")/c*1e6, 1)
	} else {
		r.PauseMeanUs = 0
	}
	if c := d("go_sched_latencies_seconds_count"); c > 0 {
		r.SchedMeanUs = round(d("go_sched_latencies_seconds_sum")/c*1e6, 1)
		// The exported buckets are coarse (×11); the ones ending at 0.92 ms and 10.5 ms say how
		// often a runnable goroutine waited longer than about 1 ms and 10 ms.
		r.SchedOver1msPct = round((c-histBelow(before, after, "go_sched_latencies_seconds", 0.001))/c*100, 2)
		r.SchedOver10msPct = round((c-histBelow(before, after, "go_sched_latencies_seconds", 0.011))/c*100, 3)
	} else {
		r.SchedMeanUs, r.SchedOver1msPct, r.SchedOver10msPct = 0, 0, 0
	}
	r.SchedP99Ms, r.SchedP999Ms = histQuantile(before, after, "featuregraph_runtime_sched_latency_seconds", 0.99), histQuantile(before, after, "featuregraph_runtime_sched_latency_seconds", 0.999)
	r.PauseP99Ms, r.PauseMaxMs = histQuantile(before, after, "featuregraph_runtime_gc_pause_seconds", 0.99), histQuantile(before, after, "featuregraph_runtime_gc_pause_seconds", 1)
	r.HeapLiveMiB = round(after["go_gc_heap_live_bytes"]/(1<<20), 1)
	r.HeapGoalMiB = round(after["go_gc_heap_goal_bytes"]/(1<<20), 1)
}

// histQuantile is quantile q (ms) of the delta of histogram name between two samples: the upper
// bound of the bucket it falls in (featuregraph_runtime_* bounds: 5 µs … 1 s; +Inf above), 0
// with no observation, -1 when the server does not export name. q = 1 is the bucket of the
// largest observation.
func histQuantile(before, after map[string]float64, name string, q float64) float64 {
	n, ok := after[name+"_count"]
	if !ok {
		return -1
	}
	n -= before[name+"_count"]
	if n <= 0 {
		return 0
	}
	type bucket struct{ le, cum float64 }
	var bs []bucket
	prefix := name + `_bucket{le="`
	for k, v := range after {
		le, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if b, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64); err == nil && !math.IsInf(b, 1) {
			bs = append(bs, bucket{b, v - before[k]})
		}
	}
	slices.SortFunc(bs, func(a, b bucket) int { return cmp.Compare(a.le, b.le) })
	want := math.Ceil(q * n)
	for _, b := range bs {
		if b.cum >= want {
			return b.le * 1000
		}
	}
	return math.Inf(1)
}

// histBelow is the delta count of the largest bucket of histogram name whose bound is < limit.
func histBelow(before, after map[string]float64, name string, limit float64) float64 {
	best, count := -1.0, 0.0
	prefix := name + `_bucket{le="`
	for k, v := range after {
		le, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		b, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64)
		if err != nil || b >= limit || b <= best {
			continue
		}
		best, count = b, v-before[k]
	}
	return count
}

// quantile is latency quantile q (ms) of sorted latencies.
func quantile(lat []time.Duration, q float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	i := min(max(int(math.Ceil(q*float64(len(lat))))-1, 0), len(lat)-1)
	return float64(lat[i]) / float64(time.Millisecond)
}

// pColumn is one column of the round summary.
type pColumn struct {
	name string
	f    func(*pRecord) float64
	prec int
}

var pSummaryColumns = []pColumn{
	{"req/s", func(r *pRecord) float64 { return r.RPS }, 0},
	{"p50 ms", func(r *pRecord) float64 { return r.P50Ms }, 2},
	{"p99 ms", func(r *pRecord) float64 { return r.P99Ms }, 2},
	{"p99.9 ms", func(r *pRecord) float64 { return r.P999Ms }, 2},
	{"cpu ms/r", func(r *pRecord) float64 { return r.ServerCPUMs }, 3},
	{"allocs/r", func(r *pRecord) float64 { return r.AllocsPerReq }, 0},
	{"redis c/r", func(r *pRecord) float64 { return r.RedisCmds }, 1},
	{"RSS MiB", func(r *pRecord) float64 { return r.RSSMiB }, 0},
	{"heap live", func(r *pRecord) float64 { return r.HeapLiveMiB }, 0},
	{"GC/1k r", func(r *pRecord) float64 { return r.GCPer1k }, 2},
	{"GC cpu%", func(r *pRecord) float64 { return r.GCCPUPct }, 1},
	{"assist%", func(r *pRecord) float64 { return r.AssistPct }, 1},
	{"sched>1ms%", func(r *pRecord) float64 { return r.SchedOver1msPct }, 2},
	{"sched p99 ms", func(r *pRecord) float64 { return r.SchedP99Ms }, 3},
	{"sched p99.9 ms", func(r *pRecord) float64 { return r.SchedP999Ms }, 3},
	{"GC pause p99 ms", func(r *pRecord) float64 { return r.PauseP99Ms }, 3},
	{"GC pause max ms", func(r *pRecord) float64 { return r.PauseMaxMs }, 3},
	{"load", func(r *pRecord) float64 { return r.LoadAvg }, 1},
}

// printPSummary prints, per scenario, backend and server, min/median/max of the rounds, the
// failed requests summed, and the median CPU per request against the direct baseline's.
func printPSummary(w io.Writer, recs []*pRecord, loads []float64) {
	type group struct {
		sc, backend, server string
		rs                  []*pRecord
	}
	var groups []*group
	find := func(sc, backend, server string) *group {
		for _, g := range groups {
			if g.sc == sc && g.backend == backend && g.server == server {
				return g
			}
		}
		return nil
	}
	for _, r := range recs {
		g := find(r.Scenario, r.Backend, r.Server)
		if g == nil {
			g = &group{sc: r.Scenario, backend: r.Backend, server: r.Server}
			groups = append(groups, g)
		}
		g.rs = append(g.rs, r)
	}
	med := func(rs []*pRecord, f func(*pRecord) float64) (lo, mid, hi float64) {
		vs := make([]float64, len(rs))
		for i, r := range rs {
			vs[i] = f(r)
		}
		slices.Sort(vs)
		return vs[0], vs[len(vs)/2], vs[len(vs)-1]
	}
	fmt.Fprintf(w, "\nP summary: median (min–max) over %d rounds; 1-minute load average %s\n", len(groups[0].rs), loadRange(loads))
	for _, g := range groups {
		var failed int64
		for _, r := range g.rs {
			failed += r.Failed
		}
		fmt.Fprintf(w, "%s %s %s: failed %d", g.sc, g.backend, g.server, failed)
		if d := find(g.sc, directBackend(g.backend), "direct"); d != nil && g.server != "direct" {
			_, gc, _ := med(g.rs, pSummaryColumns[4].f)
			_, dc, _ := med(d.rs, pSummaryColumns[4].f)
			if dc > 0 {
				fmt.Fprintf(w, ", cpu/direct %.2f", gc/dc)
			}
		}
		fmt.Fprintln(w)
		var parts []string
		for _, c := range pSummaryColumns {
			lo, mid, hi := med(g.rs, c.f)
			if mid < 0 {
				continue // not measured (a server without the runtime series, or direct)
			}
			if g.server == "direct" && (c.name == "allocs/r" || c.name == "RSS MiB" || c.name == "heap live") {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %.*f (%.*f–%.*f)", c.name, c.prec, mid, c.prec, lo, c.prec, hi))
		}
		fmt.Fprintf(w, "    %s\n", strings.Join(parts, " · "))
	}
}

// directBackend is the backend whose direct baseline a backend is compared with.
func directBackend(b string) string {
	if b == "redis+cache" {
		return "redis"
	}
	return b
}

func loadRange(loads []float64) string {
	if len(loads) == 0 {
		return "unknown"
	}
	lo, hi := slices.Min(loads), slices.Max(loads)
	return fmt.Sprintf("%.1f–%.1f", lo, hi)
}

// loadAverage is the 1-minute load average (/proc/loadavg), or -1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	if err != nil {
		return -1
	}
	return f
}
