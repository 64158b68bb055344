package metrics

import (
	"io"
	"math"
	"net/http/httptest"
	"runtime/metrics"
	"strings"
	"testing"
)

// The runtime series that the bench reads to explain a latency tail are served.
func TestRuntimeSeries(t *testing.T) {
	m := New()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, s := range []string{
		"go_gc_pauses_seconds_bucket", "go_sched_latencies_seconds_bucket", "go_gc_heap_live_bytes",
		"go_gc_heap_goal_bytes", "go_gc_gogc_percent", "go_cpu_classes_gc_total_cpu_seconds_total",
		"go_cpu_classes_gc_mark_assist_cpu_seconds_total", "go_cpu_classes_total_cpu_seconds_total", "go_memstats_mallocs_total",
		"featuregraph_runtime_sched_latency_seconds_bucket{le=\"0.001\"}", "featuregraph_runtime_gc_pause_seconds_bucket{le=\"0.0001\"}",
	} {
		if !strings.Contains(string(body), "\n"+s) {
			t.Errorf("/metrics has no %s", s)
		}
	}
}

// A runtime bucket is counted at the first bound at or above its upper edge, so the exported
// quantiles never understate a wait.
func TestRebucket(t *testing.T) {
	rh := &metrics.Float64Histogram{
		Buckets: []float64{math.Inf(-1), 1e-6, 4e-6, 0.9e-3, 1.1e-3, 0.2, 2, math.Inf(1)},
		Counts:  []uint64{1, 2, 0, 3, 4, 5, 6},
	}
	count, sum, cum := rebucket(rh, latencyBuckets)
	if count != 21 {
		t.Errorf("count %d, want 21", count)
	}
	want := map[float64]uint64{5e-6: 3, 1e-3: 3, 2.5e-3: 6, 0.1: 6, 0.25: 10, 1: 10} // 11 above 1 s: only in count
	for b, n := range want {
		if cum[b] != n {
			t.Errorf("bucket le=%g: %d, want %d", b, cum[b], n)
		}
	}
	if sum <= 0 {
		t.Errorf("sum %g", sum)
	}
}
