package metrics

import (
	"regexp"

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
