package metrics

import (
	"io"
	"net/http/httptest"
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
	} {
		if !strings.Contains(string(body), "\n"+s) {
			t.Errorf("/metrics has no %s", s)
		}
	}
}
