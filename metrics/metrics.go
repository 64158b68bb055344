// Package metrics exports featuregraph's Prometheus metrics: HTTP request latency, per-feature
// reads, writes, freshness and dead letters, backend calls and batch sizes, cache outcomes and
// ingestion counters. One *Metrics is shared by the gateway (as store.Observer and
// resolvers.Recorder) and ingestion (as ingest.FeatureRecorder); the feature catalog reads it.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/featuregraph/featuregraph/internal/buildinfo"
	"github.com/featuregraph/featuregraph/store"
)

// Metrics holds every collector on its own registry (nothing global).
type Metrics struct {
	reg          *prometheus.Registry
	httpDuration *prometheus.HistogramVec
	featureReads *prometheus.CounterVec
	backendDur   *prometheus.HistogramVec
	backendItems *prometheus.HistogramVec
	cache        *prometheus.CounterVec
	skipped      *prometheus.CounterVec
	ingest       *ingestCollector
	features     *featureTable
	offline      offlineCollector // offline.go; registered on first use
	offlineOnce  sync.Once
	clients      clientMetrics      // clients.go; registered on first use
	registry     registryCollectors // registry.go; registered on first use
}

var _ store.Observer = (*Metrics)(nil)

// New registers every collector, plus the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "featuregraph_http_request_duration_seconds",
		Help:    "HTTP request latency by handler and status code.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"handler", "code"})
	m.featureReads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "featuregraph_feature_reads_total",
		Help: "Feature values requested, by entity and feature (one per entity and feature).",
	}, []string{"entity", "feature"})
	m.backendDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "featuregraph_backend_call_duration_seconds",
		Help:    "Backend round trips by backend, operation and outcome (ok, error, or cancelled: the caller's context ended first).",
		Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"backend", "op", "outcome"})
	m.backendItems = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "featuregraph_backend_batch_size",
		Help:    "Keys or commands carried by one backend round trip.",
		Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000},
	}, []string{"backend", "op"})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "featuregraph_cache_lookups_total",
		Help: "Cache lookups by cache and result (hit or miss).",
	}, []string{"cache", "result"})
	m.skipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "featuregraph_ingest_skipped_total",
		Help: "Features left out of an event's writes, by entity, feature and reason (missing_path: the event lacks the value's path).",
	}, []string{"entity", "feature", "reason"})
	m.ingest = &ingestCollector{}
	m.features = &featureTable{m: map[[2]string]*featureCounters{}, now: time.Now}
	bi := buildinfo.Read()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "featuregraph_build_info",
		Help:        "Always 1; the labels say what the running binary was built from.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
	})
	buildInfo.Set(1)
	m.reg.MustRegister(m.httpDuration, m.featureReads, m.backendDur, m.backendItems, m.cache, m.skipped,
		m.ingest, m.features, buildInfo,
		newGoCollector(), newRuntimeHistograms(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the Prometheus registry (tests read it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Instrument measures the latency of h under the name handler.
func (m *Metrics) Instrument(handler string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		m.httpDuration.WithLabelValues(handler, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// FeatureRead counts n reads of one feature (resolvers.Recorder).
func (m *Metrics) FeatureRead(entity, feature string, n int) {
	m.featureReads.WithLabelValues(entity, feature).Add(float64(n))
}

// BackendCall implements store.Observer.
func (m *Metrics) BackendCall(backend, op string, items int, d time.Duration, err error) {
	outcome := "ok"
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		outcome = "cancelled" // the caller gave up: not a backend failure
	case err != nil:
		outcome = "error"
	}
	m.backendDur.WithLabelValues(backend, op, outcome).Observe(d.Seconds())
	m.backendItems.WithLabelValues(backend, op).Observe(float64(items))
}

// Cache implements store.Observer.
func (m *Metrics) Cache(cache string, hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.cache.WithLabelValues(cache, result).Inc()
}

// CacheN implements store.CacheCounter.
func (m *Metrics) CacheN(cache string, hits, misses int) {
	if hits > 0 {
		m.cache.WithLabelValues(cache, "hit").Add(float64(hits))
	}
	if misses > 0 {
		m.cache.WithLabelValues(cache, "miss").Add(float64(misses))
	}
}

// FeatureSkipped counts a feature left out of an event's writes (ingest.SkipRecorder).
func (m *Metrics) FeatureSkipped(entity, feature, reason string) {
	m.skipped.WithLabelValues(entity, feature, reason).Inc()
}

// IngestCounts are the cumulative counters of one ingestion source.
type IngestCounts struct {
	Events      int64 // events that fed at least one feature
	Unrouted    int64 // events that matched no feature spec
	Rejected    int64 // malformed events and events that failed conversion or storage
	DeadLetters int64 // events sent to the dead-letter sink
	Writes      int64 // feature writes made
	Lag         int64 // records not yet consumed (Kafka); 0 elsewhere
}

// IngestSource exports the counters of an ingestion source ("kafka", "push", "load"), read
// from counts at every scrape.
func (m *Metrics) IngestSource(source string, counts func() IngestCounts) {
	m.ingest.mu.Lock()
	defer m.ingest.mu.Unlock()
	m.ingest.sources = append(m.ingest.sources, ingestSource{source, counts})
}

type ingestSource struct {
	name   string
	counts func() IngestCounts
}

type ingestCollector struct {
	mu      sync.Mutex
	sources []ingestSource
}

var (
	ingestEventsDesc = prometheus.NewDesc("featuregraph_ingest_events_total",
		"Ingested events by source and outcome (written, unrouted, rejected, dead_letter).", []string{"source", "outcome"}, nil)
	ingestWritesDesc = prometheus.NewDesc("featuregraph_ingest_writes_total",
		"Feature writes made by ingestion, by source.", []string{"source"}, nil)
	ingestLagDesc = prometheus.NewDesc("featuregraph_ingest_lag_records",
		"Kafka records behind the high watermarks, by source.", []string{"source"}, nil)
)

func (c *ingestCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- ingestEventsDesc
	ch <- ingestWritesDesc
	ch <- ingestLagDesc
}

func (c *ingestCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sources := append([]ingestSource(nil), c.sources...)
	c.mu.Unlock()
	for _, s := range sources {
		n := s.counts()
		for outcome, v := range map[string]int64{"written": n.Events, "unrouted": n.Unrouted, "rejected": n.Rejected, "dead_letter": n.DeadLetters} {
			ch <- prometheus.MustNewConstMetric(ingestEventsDesc, prometheus.CounterValue, float64(v), s.name, outcome)
		}
		ch <- prometheus.MustNewConstMetric(ingestWritesDesc, prometheus.CounterValue, float64(n.Writes), s.name)
		ch <- prometheus.MustNewConstMetric(ingestLagDesc, prometheus.GaugeValue, float64(n.Lag), s.name)
	}
}
