package app

import (
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/featuregraph/featuregraph/store/memory"
	"github.com/featuregraph/featuregraph/store/traced"
	"github.com/featuregraph/featuregraph/tracing"
)

// tieredLike answers what the tiered store adds to store.Store for /readyz and the metrics.
type tieredLike struct{ *memory.Store }

func (tieredLike) Degraded() []string  { return []string{"redis"} }
func (tieredLike) StaleSeries() int    { return 2 }
func (tieredLike) PendingStatics() int { return 3 }

// With tracing on the store is wrapped in spans; /readyz's "degraded" and the pending gauge
// must still see the tiered store underneath.
func TestOpenedStoreSeesThroughTracing(t *testing.T) {
	on := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder())))
	for name, o := range map[string]*Store{
		"plain":  {Store: tieredLike{memory.New()}},
		"traced": {Store: traced.Wrap(tieredLike{memory.New()}, on, KindTiered)},
	} {
		if d := o.Degraded(); len(d) != 1 || d[0] != "redis" {
			t.Errorf("%s: Degraded %v", name, d)
		}
		if s, p := o.Pending(); s != 2 || p != 3 {
			t.Errorf("%s: Pending %d, %d", name, s, p)
		}
	}
}
