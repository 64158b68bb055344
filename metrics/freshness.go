package metrics

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/featuregraph/featuregraph/store"
)

// freshnessDesc is the freshness of a feature: the event time of the newest event this process
// has written for it. Staleness is time() minus it (max over the processes that ingest).
var freshnessDesc = prometheus.NewDesc("featuregraph_feature_last_event_timestamp_seconds",
	"Event time (Unix seconds) of the newest event written for the feature by this process.",
	[]string{"entity", "feature"}, nil)

type featureKey struct{ entity, feature string }

// freshness tracks the newest event time written per feature.
type freshness struct {
	mu     sync.Mutex
	newest map[featureKey]int64 // Unix ms
}

func (f *freshness) Describe(ch chan<- *prometheus.Desc) { ch <- freshnessDesc }

func (f *freshness) Collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, ms := range f.newest {
		ch <- prometheus.MustNewConstMetric(freshnessDesc, prometheus.GaugeValue, float64(ms)/1000, k.entity, k.feature)
	}
}

func (f *freshness) observe(keys func(yield func(store.Key, int64) bool), entityOf map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, ts := range keys {
		fk := featureKey{entityOf[k.Prefix], k.Feature}
		if fk.entity == "" {
			fk.entity = k.Prefix
		}
		if ts > f.newest[fk] {
			f.newest[fk] = ts
		}
	}
}

// ObserveWrites wraps the store writer of an ingestion path so that every successful write
// advances featuregraph_feature_last_event_timestamp_seconds of its feature. entityOf maps a
// key prefix to its entity's registry name (an unknown prefix is reported as the prefix).
func (m *Metrics) ObserveWrites(w store.Writer, entityOf map[string]string) store.Writer {
	return &observedWriter{w: w, f: m.fresh, entityOf: entityOf}
}

type observedWriter struct {
	w        store.Writer
	f        *freshness
	entityOf map[string]string
}

func (o *observedWriter) WriteStatic(ctx context.Context, writes []store.StaticWrite) error {
	if err := o.w.WriteStatic(ctx, writes); err != nil {
		return err
	}
	o.f.observe(func(yield func(store.Key, int64) bool) {
		for i := range writes {
			if !yield(writes[i].Key, writes[i].TS) {
				return
			}
		}
	}, o.entityOf)
	return nil
}

func (o *observedWriter) WriteActions(ctx context.Context, writes []store.ActionWrite) error {
	if err := o.w.WriteActions(ctx, writes); err != nil {
		return err
	}
	o.f.observe(func(yield func(store.Key, int64) bool) {
		for i := range writes {
			if !yield(writes[i].Key, writes[i].TS) {
				return
			}
		}
	}, o.entityOf)
	return nil
}
