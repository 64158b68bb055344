package metrics

import (
	"github.com/prometheus/client_golang/prometheus/testutil"

	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A call that ended because its caller's context did is "cancelled", not a backend error.
func TestBackendCallOutcome(t *testing.T) {
	m := New()
	for _, err := range []error{nil, errors.New("boom"), context.Canceled, fmt.Errorf("read: %w", context.DeadlineExceeded)} {
		m.BackendCall("tiered", "read static", 1, time.Millisecond, err)
	}
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "featuregraph_backend_call_duration_seconds" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "outcome" {
					got[l.GetValue()] = s.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	if want := map[string]uint64{"ok": 1, "error": 1, "cancelled": 2}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("want outcomes %v, got %v", want, got)
	}
}

func TestBuildInfoMetric(t *testing.T) {
	m := New()
	n, err := testutil.GatherAndCount(m.Registry(), "featuregraph_build_info")
	if err != nil || n != 1 {
		t.Fatalf("featuregraph_build_info: %d series, %v", n, err)
	}
}

func TestRedisPendingGauge(t *testing.T) {
	m := New()
	series, statics := 2, 5
	m.RedisPending(func() (int, int) { return series, statics })
	want := `
# HELP featuregraph_redis_pending Keys whose Redis update failed after DynamoDB took the write, not yet caught up (series: action series to drop; static: features to write through).
# TYPE featuregraph_redis_pending gauge
featuregraph_redis_pending{kind="series"} 2
featuregraph_redis_pending{kind="static"} 5
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "featuregraph_redis_pending"); err != nil {
		t.Fatal(err)
	}
}
