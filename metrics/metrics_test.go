package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/store"
)

// failing is a store writer that is down; accepting one that takes every write.
type failing struct{}
type accepting struct{}

func (accepting) WriteStatic(context.Context, []store.StaticWrite) error  { return nil }
func (accepting) WriteActions(context.Context, []store.ActionWrite) error { return nil }

func (failing) WriteStatic(context.Context, []store.StaticWrite) error  { return errors.New("down") }
func (failing) WriteActions(context.Context, []store.ActionWrite) error { return errors.New("down") }

func TestFreshnessIsTheNewestWrittenEventTime(t *testing.T) {
	m := metrics.New()
	w := m.ObserveWrites(accepting{}, map[string]string{"u": "user"})
	ctx := context.Background()
	key := func(f string) store.Key { return store.Key{Prefix: "u", ID: "1", Feature: f} }
	if err := w.WriteStatic(ctx, []store.StaticWrite{{Key: key("os"), TS: 2_000_500}, {Key: key("os"), TS: 1_000_000}}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteActions(ctx, []store.ActionWrite{{Key: key("recent_clicks"), TS: 5_000, Member: `{"a":1}`}, {Key: store.Key{Prefix: "x", ID: "1", Feature: "f"}, TS: 7_000, Member: "{}"}}); err != nil {
		t.Fatal(err)
	}
	// An older event and a failed write do not move it.
	if err := w.WriteStatic(ctx, []store.StaticWrite{{Key: key("os"), TS: 1}}); err != nil {
		t.Fatal(err)
	}
	down := m.ObserveWrites(failing{}, map[string]string{"u": "user"})
	if err := down.WriteStatic(ctx, []store.StaticWrite{{Key: key("os"), TS: 9_000_000}}); err == nil {
		t.Fatal("the failing store's error must come through")
	}
	want := `
# HELP featuregraph_feature_last_event_timestamp_seconds Event time (Unix seconds) of the newest event written for the feature by this process.
# TYPE featuregraph_feature_last_event_timestamp_seconds gauge
featuregraph_feature_last_event_timestamp_seconds{entity="user",feature="os"} 2000.5
featuregraph_feature_last_event_timestamp_seconds{entity="user",feature="recent_clicks"} 5
featuregraph_feature_last_event_timestamp_seconds{entity="x",feature="f"} 7
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "featuregraph_feature_last_event_timestamp_seconds"); err != nil {
		t.Fatal(err)
	}
}

func TestBuildInfoMetric(t *testing.T) {
	m := metrics.New()
	n, err := testutil.GatherAndCount(m.Registry(), "featuregraph_build_info")
	if err != nil || n != 1 {
		t.Fatalf("featuregraph_build_info: %d series, %v", n, err)
	}
}
