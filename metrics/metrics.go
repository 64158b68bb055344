// Package metrics exports featuregraph's Prometheus metrics: HTTP request latency, per-feature
// reads, backend calls and batch sizes, cache outcomes and ingestion counters. One *Metrics is
// shared by the gateway (as store.Observer and resolvers.Recorder) and ingestion.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
	ingestEvents *prometheus.CounterVec
	ingestWrites *prometheus.CounterVec
	ingestLag    *prometheus.GaugeVec
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
		Help:    "Backend round trips by backend, operation and outcome.",
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
	m.ingestEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "featuregraph_ingest_events_total",
		Help: "Ingested events by source and outcome (written, unrouted, dead_letter).",
	}, []string{"source", "outcome"})
	m.ingestWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "featuregraph_ingest_writes_total",
		Help: "Feature writes by kind (static, action).",
	}, []string{"kind"})
	m.ingestLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "featuregraph_ingest_lag_records",
		Help: "Records not yet consumed, by Kafka topic.",
	}, []string{"topic"})
	m.reg.MustRegister(m.httpDuration, m.featureReads, m.backendDur, m.backendItems, m.cache,
		m.ingestEvents, m.ingestWrites, m.ingestLag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
	if err != nil {
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

// IngestEvents counts n events of a source with an outcome: written, unrouted or dead_letter.
func (m *Metrics) IngestEvents(source, outcome string, n int) {
	m.ingestEvents.WithLabelValues(source, outcome).Add(float64(n))
}

// IngestWrites counts feature writes of a kind: static or action.
func (m *Metrics) IngestWrites(kind string, n int) {
	m.ingestWrites.WithLabelValues(kind).Add(float64(n))
}

// IngestLag sets the records not yet consumed of a topic.
func (m *Metrics) IngestLag(topic string, lag int64) {
	m.ingestLag.WithLabelValues(topic).Set(float64(lag))
}
