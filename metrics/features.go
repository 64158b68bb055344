package metrics

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// FeatureFigures are the live figures of one feature since the process started.
type FeatureFigures struct {
	Reads       int64 // values served (one per entity and request)
	Writes      int64 // writes the store accepted from ingestion
	DeadLetters int64 // events lost to the feature: unconvertible, or rejected by the store
	Skipped     int64 // events that matched the feature's rule but lacked its path (written without it)
	// LastEvent is the newest event time among the writes (zero when none); LastWrite is when
	// the latest write was stored.
	LastEvent, LastWrite time.Time
}

// featureCounters are one feature's ingestion counters.
type featureCounters struct {
	writes, deadLetters  atomic.Int64
	lastEvent, lastWrite atomic.Int64 // Unix ms
}

// featureTable holds the ingestion counters of every feature seen, by entity and feature.
type featureTable struct {
	mu  sync.RWMutex
	m   map[[2]string]*featureCounters
	now func() time.Time
}

func (t *featureTable) get(entity, feature string) *featureCounters {
	k := [2]string{entity, feature}
	t.mu.RLock()
	c := t.m[k]
	t.mu.RUnlock()
	if c != nil {
		return c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c = t.m[k]; c == nil {
		c = &featureCounters{}
		t.m[k] = c
	}
	return c
}

// storeMax raises v to x when x is larger.
func storeMax(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// FeatureWritten implements ingest.FeatureRecorder.
func (m *Metrics) FeatureWritten(entity, feature string, n int, newestTS int64) {
	c := m.features.get(entity, feature)
	c.writes.Add(int64(n))
	storeMax(&c.lastEvent, newestTS)
	storeMax(&c.lastWrite, m.features.now().UnixMilli())
}

// FeatureFailed implements ingest.FeatureRecorder.
func (m *Metrics) FeatureFailed(entity, feature string, n int) {
	m.features.get(entity, feature).deadLetters.Add(int64(n))
}

// Features returns the figures of every feature read or ingested so far, by "entity.feature".
func (m *Metrics) Features() map[string]FeatureFigures {
	out := map[string]FeatureFigures{}
	collectByFeature(m.featureReads, func(k string, v int64) {
		f := out[k]
		f.Reads += v
		out[k] = f
	})
	collectByFeature(m.skipped, func(k string, v int64) { // summed over reasons
		f := out[k]
		f.Skipped += v
		out[k] = f
	})
	m.features.mu.RLock()
	defer m.features.mu.RUnlock()
	for k, c := range m.features.m {
		name := k[0] + "." + k[1]
		f := out[name]
		f.Writes, f.DeadLetters = c.writes.Load(), c.deadLetters.Load()
		f.LastEvent, f.LastWrite = unixMilli(c.lastEvent.Load()), unixMilli(c.lastWrite.Load())
		out[name] = f
	}
	return out
}

// collectByFeature calls f with "entity.feature" and the value of every counter of vec.
func collectByFeature(vec *prometheus.CounterVec, f func(key string, v int64)) {
	ch := make(chan prometheus.Metric, 64)
	go func() { vec.Collect(ch); close(ch) }()
	for metric := range ch {
		var d dto.Metric
		if metric.Write(&d) != nil || d.Counter == nil {
			continue
		}
		var entity, feature string
		for _, l := range d.Label {
			switch l.GetName() {
			case "entity":
				entity = l.GetValue()
			case "feature":
				feature = l.GetValue()
			}
		}
		f(entity+"."+feature, int64(d.Counter.GetValue()))
	}
}

func unixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// IngestTotals returns the counters of every ingestion source, by source name.
func (m *Metrics) IngestTotals() map[string]IngestCounts {
	m.ingest.mu.Lock()
	sources := append([]ingestSource(nil), m.ingest.sources...)
	m.ingest.mu.Unlock()
	out := make(map[string]IngestCounts, len(sources))
	for _, s := range sources {
		out[s.name] = s.counts()
	}
	return out
}

var (
	featureWritesDesc = prometheus.NewDesc("featuregraph_feature_writes_total",
		"Feature writes stored by ingestion, by entity and feature.", []string{"entity", "feature"}, nil)
	featureDeadDesc = prometheus.NewDesc("featuregraph_feature_dead_letters_total",
		"Events lost to a feature (unconvertible, or rejected by the store), by entity and feature.", []string{"entity", "feature"}, nil)
	featureLastEventDesc = prometheus.NewDesc("featuregraph_feature_last_event_timestamp_seconds",
		"Newest event time written to a feature (freshness), by entity and feature.", []string{"entity", "feature"}, nil)
	featureLastWriteDesc = prometheus.NewDesc("featuregraph_feature_last_write_timestamp_seconds",
		"When ingestion last stored a write of a feature, by entity and feature.", []string{"entity", "feature"}, nil)
)

// Describe implements prometheus.Collector.
func (t *featureTable) Describe(ch chan<- *prometheus.Desc) {
	ch <- featureWritesDesc
	ch <- featureDeadDesc
	ch <- featureLastEventDesc
	ch <- featureLastWriteDesc
}

// Collect implements prometheus.Collector.
func (t *featureTable) Collect(ch chan<- prometheus.Metric) {
	t.mu.RLock()
	keys := make([][2]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	t.mu.RUnlock()
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"."+keys[i][1] < keys[j][0]+"."+keys[j][1] })
	for _, k := range keys {
		c := t.get(k[0], k[1])
		ch <- prometheus.MustNewConstMetric(featureWritesDesc, prometheus.CounterValue, float64(c.writes.Load()), k[0], k[1])
		ch <- prometheus.MustNewConstMetric(featureDeadDesc, prometheus.CounterValue, float64(c.deadLetters.Load()), k[0], k[1])
		if ts := c.lastEvent.Load(); ts > 0 {
			ch <- prometheus.MustNewConstMetric(featureLastEventDesc, prometheus.GaugeValue, float64(ts)/1000, k[0], k[1])
		}
		if ts := c.lastWrite.Load(); ts > 0 {
			ch <- prometheus.MustNewConstMetric(featureLastWriteDesc, prometheus.GaugeValue, float64(ts)/1000, k[0], k[1])
		}
	}
}
