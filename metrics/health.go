package metrics

import "github.com/prometheus/client_golang/prometheus"

// Degraded exports featuregraph_degraded{backend} (1 while the store serves without that
// backend: reads of a Redis that is failing go to DynamoDB) and
// featuregraph_requests_rejected_total (requests admission control refused with 503).
func (m *Metrics) Degraded(backends []string, degraded func() []string, rejected func() int64) {
	for _, b := range backends {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "featuregraph_degraded",
			Help:        "1 while the store serves without this backend (its reads fall back).",
			ConstLabels: prometheus.Labels{"backend": b},
		}, func() float64 {
			for _, d := range degraded() {
				if d == b {
					return 1
				}
			}
			return 0
		}))
	}
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "featuregraph_requests_rejected_total",
		Help: "GraphQL requests refused by admission control (503 with Retry-After).",
	}, func() float64 { return float64(rejected()) }))
}
