package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// OfflineCounts are the counters of one offline stream (package offline): "downsync" or
// "served".
type OfflineCounts struct {
	Kind       string
	Spooled    int64   // rows made durable in the spool
	Shipped    int64   // rows written to the sink
	Pending    int64   // rows spooled and not yet shipped
	SinkErrors int64   // failed sink writes (retried)
	LastWrite  float64 // Unix seconds of the latest sink write; 0 = none yet
	Dropped    int64   // rows dropped because the buffer was full (served only)
	Values     int64   // feature values in the rows shipped (served only)
}

// Offline exports the offline streams' counters, read from counts at every scrape.
func (m *Metrics) Offline(counts func() []OfflineCounts) {
	m.offlineOnce.Do(func() { m.reg.MustRegister(&m.offline) })
	m.offline.mu.Lock()
	defer m.offline.mu.Unlock()
	m.offline.sources = append(m.offline.sources, counts)
}

type offlineCollector struct {
	mu      sync.Mutex
	sources []func() []OfflineCounts
}

var (
	offlineRowsDesc = prometheus.NewDesc("featuregraph_offline_rows_total",
		"Offline rows by stream (downsync, served: requests) and stage (spooled: durable locally, or for served taken by the log; shipped: in the sink).", []string{"stream", "stage"}, nil)
	offlinePendingDesc = prometheus.NewDesc("featuregraph_offline_pending_rows",
		"Offline rows spooled and not yet in the sink.", []string{"stream"}, nil)
	offlineErrorsDesc = prometheus.NewDesc("featuregraph_offline_sink_errors_total",
		"Failed offline sink writes (retried until they succeed).", []string{"stream"}, nil)
	offlineLastDesc = prometheus.NewDesc("featuregraph_offline_last_write_timestamp_seconds",
		"Time of the latest successful offline sink write.", []string{"stream"}, nil)
	servedDroppedDesc = prometheus.NewDesc("featuregraph_served_log_dropped_total",
		"Served-feature log requests dropped, all their rows, because the buffer was full or the sink kept failing (the request is never held up).", nil, nil)
	servedValuesDesc = prometheus.NewDesc("featuregraph_served_log_values_total",
		"Rows of the served-feature log written to the sink: one per feature value a logged request read.", nil, nil)
)

func (c *offlineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{offlineRowsDesc, offlinePendingDesc, offlineErrorsDesc, offlineLastDesc, servedDroppedDesc, servedValuesDesc} {
		ch <- d
	}
}

func (c *offlineCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sources := append([]func() []OfflineCounts(nil), c.sources...)
	c.mu.Unlock()
	for _, src := range sources {
		for _, n := range src() {
			ch <- prometheus.MustNewConstMetric(offlineRowsDesc, prometheus.CounterValue, float64(n.Spooled), n.Kind, "spooled")
			ch <- prometheus.MustNewConstMetric(offlineRowsDesc, prometheus.CounterValue, float64(n.Shipped), n.Kind, "shipped")
			ch <- prometheus.MustNewConstMetric(offlinePendingDesc, prometheus.GaugeValue, float64(n.Pending), n.Kind)
			ch <- prometheus.MustNewConstMetric(offlineErrorsDesc, prometheus.CounterValue, float64(n.SinkErrors), n.Kind)
			ch <- prometheus.MustNewConstMetric(offlineLastDesc, prometheus.GaugeValue, n.LastWrite, n.Kind)
			if n.Kind == "served" {
				ch <- prometheus.MustNewConstMetric(servedDroppedDesc, prometheus.CounterValue, float64(n.Dropped))
				ch <- prometheus.MustNewConstMetric(servedValuesDesc, prometheus.CounterValue, float64(n.Values))
			}
		}
	}
}
