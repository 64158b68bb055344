package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// registryCollectors are the live registry's metrics, registered on first use (processes
// that never load a registry through a reloader do not export them).
type registryCollectors struct {
	once    sync.Once
	mu      sync.Mutex
	info    *prometheus.GaugeVec
	loaded  prometheus.Gauge
	reloads *prometheus.CounterVec
}

func (m *Metrics) registryMetrics() *registryCollectors {
	r := &m.registry
	r.once.Do(func() {
		r.info = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "featuregraph_registry_info",
			Help: "Always 1, for the registry being served; the fingerprint label names it (a hash of its files, as /readyz says).",
		}, []string{"fingerprint"})
		r.loaded = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "featuregraph_registry_loaded_timestamp_seconds",
			Help: "When the registry being served was taken (Unix time).",
		})
		r.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "featuregraph_registry_reloads_total",
			Help: "Registry reloads by outcome: taken, refused (a breaking change not accepted), invalid (the files do not validate), failed (unreadable, or could not be built).",
		}, []string{"outcome"})
		for _, o := range []string{"taken", "refused", "invalid", "failed"} {
			r.reloads.WithLabelValues(o)
		}
		m.reg.MustRegister(r.info, r.loaded, r.reloads)
	})
	return r
}

// RegistryServed records that the registry with fingerprint fp is served since at.
func (m *Metrics) RegistryServed(fp string, at time.Time) {
	r := m.registryMetrics()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info.Reset()
	r.info.WithLabelValues(fp).Set(1)
	r.loaded.Set(float64(at.UnixNano()) / 1e9)
}

// RegistryReloaded counts one reload with its outcome.
func (m *Metrics) RegistryReloaded(outcome string) {
	m.registryMetrics().reloads.WithLabelValues(outcome).Inc()
}

// ForgetFeature drops the figures of a feature a reloaded registry no longer has (its read,
// skip and ingestion series), so that renames and removals do not pile up series.
func (m *Metrics) ForgetFeature(entity, feature string) {
	m.featureReads.DeleteLabelValues(entity, feature)
	m.skipped.DeletePartialMatch(prometheus.Labels{"entity": entity, "feature": feature})
	m.features.mu.Lock()
	delete(m.features.m, [2]string{entity, feature})
	m.features.mu.Unlock()
}
