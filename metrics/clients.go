package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// clientMetrics are the per-client counters of access control, registered on first use. The
// client label is bounded: the names of the clients file, "unauthenticated" (refused
// credentials) and "anonymous".
type clientMetrics struct {
	once     sync.Once
	requests *prometheus.CounterVec
}

func (m *Metrics) clientMetrics() *clientMetrics {
	c := &m.clients
	c.once.Do(func() {
		c.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "featuregraph_client_requests_total",
			Help: "Requests by client (a name of the clients file, or unauthenticated), endpoint (graphql, events, metrics, catalog, playground, other) and status code.",
		}, []string{"client", "endpoint", "code"})
		m.reg.MustRegister(c.requests)
	})
	return c
}

// ClientRequest counts one request of client to endpoint answered with status code.
func (m *Metrics) ClientRequest(client, endpoint string, code int) {
	m.clientMetrics().requests.WithLabelValues(client, endpoint, strconv.Itoa(code)).Inc()
}
