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

// RedisPending exports featuregraph_redis_pending{kind}: what DynamoDB took whose Redis update
// failed and is not yet caught up (kind "series": action series waiting to be dropped from
// Redis; "static": static features waiting to be written through). Reads of them in this
// process go to DynamoDB meanwhile; other processes may read the previous value from Redis.
func (m *Metrics) RedisPending(pending func() (series, statics int)) {
	for _, kind := range []string{"series", "static"} {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "featuregraph_redis_pending",
			Help:        "Keys whose Redis update failed after DynamoDB took the write, not yet caught up (series: action series to drop; static: features to write through).",
			ConstLabels: prometheus.Labels{"kind": kind},
		}, func() float64 {
			series, statics := pending()
			if kind == "series" {
				return float64(series)
			}
			return float64(statics)
		}))
	}
}
