package metrics

import (
	"math"
	"regexp"
	"runtime/metrics"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// newGoCollector is the Go runtime collector with, besides the classic go_memstats_* series,
// the runtime/metrics that explain a latency tail: GC pauses (go_gc_pauses_seconds, a
// histogram), scheduler latency (go_sched_latencies_seconds: how long runnable goroutines
// waited for a thread), the heap's live set and goal (go_gc_heap_live_bytes,
// go_gc_heap_goal_bytes), GOGC and GOMEMLIMIT as the process runs with them, and the CPU spent
// by the GC (go_cpu_classes_gc_*_cpu_seconds_total: mark assists taken from request goroutines,
// dedicated and idle marking, pauses).
func newGoCollector() prometheus.Collector {
	return collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.MetricsGC,
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sched/(latencies|pauses/total/gc|gomaxprocs)`)},
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/cpu/classes/(gc/.*|total)`)},
	))
}

// latencyBuckets are the bounds (seconds) of the fine runtime histograms: the Go collector's
// own go_sched_latencies_seconds and go_gc_pauses_seconds buckets are ×11 apart (0.9 ms, 10.5 ms,
// 126 ms), too coarse to say whether a p99 scheduling wait is 1 or 9 ms.
var latencyBuckets = []float64{5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1}

// runtimeHistograms exports /sched/latencies:seconds (how long a runnable goroutine waited for
// a thread) and /sched/pauses/total/gc:seconds (stop-the-world GC pauses) with latencyBuckets,
// as featuregraph_runtime_sched_latency_seconds and featuregraph_runtime_gc_pause_seconds. A
// runtime bucket is counted in the first bound at or above its upper edge (never below its
// true value); the sum is estimated from the runtime buckets' midpoints (the runtime keeps none).
type runtimeHistograms struct {
	samples []metrics.Sample
	descs   []*prometheus.Desc
}

func newRuntimeHistograms() *runtimeHistograms {
	return &runtimeHistograms{
		samples: []metrics.Sample{{Name: "/sched/latencies:seconds"}, {Name: "/sched/pauses/total/gc:seconds"}},
		descs: []*prometheus.Desc{
			prometheus.NewDesc("featuregraph_runtime_sched_latency_seconds", "Time runnable goroutines waited for a thread (runtime/metrics /sched/latencies:seconds), in finer buckets than go_sched_latencies_seconds.", nil, nil),
			prometheus.NewDesc("featuregraph_runtime_gc_pause_seconds", "Stop-the-world GC pauses (runtime/metrics /sched/pauses/total/gc:seconds), in finer buckets than go_gc_pauses_seconds.", nil, nil),
		},
	}
}

func (h *runtimeHistograms) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range h.descs {
		ch <- d
	}
}

func (h *runtimeHistograms) Collect(ch chan<- prometheus.Metric) {
	s := make([]metrics.Sample, len(h.samples))
	copy(s, h.samples)
	metrics.Read(s)
	for i, sample := range s {
		if sample.Value.Kind() != metrics.KindFloat64Histogram {
			continue
		}
		count, sum, buckets := rebucket(sample.Value.Float64Histogram(), latencyBuckets)
		ch <- prometheus.MustNewConstHistogram(h.descs[i], count, sum, buckets)
	}
}

// rebucket folds a runtime histogram into cumulative counts at bounds.
func rebucket(rh *metrics.Float64Histogram, bounds []float64) (count uint64, sum float64, cum map[float64]uint64) {
	per := make([]uint64, len(bounds))
	for i, c := range rh.Counts {
		if c == 0 {
			continue
		}
		lo, hi := rh.Buckets[i], rh.Buckets[i+1]
		count += c
		mid := hi
		switch {
		case math.IsInf(hi, 1):
			mid = lo
		case !math.IsInf(lo, -1):
			mid = (lo + hi) / 2
		}
		sum += mid * float64(c)
		if j := sort.SearchFloat64s(bounds, hi); j < len(bounds) {
			per[j] += c
		}
	}
	cum = make(map[float64]uint64, len(bounds))
	var run uint64
	for j, b := range bounds {
		run += per[j]
		cum[b] = run
	}
	return count, sum, cum
}
