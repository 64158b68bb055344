package gateway

import (
	"context"

	"github.com/featuregraph/featuregraph/plan"
	"github.com/featuregraph/featuregraph/tracing"
)

// planSteps is the compiled plans' step hook when tracing is on: a span per batched store read
// of a plan level ("plan.static_read", "plan.action_read"), parent of the store spans.
type planSteps struct {
	t tracing.Tracer
}

var _ plan.StepObserver = planSteps{}

func (p planSteps) Step(ctx context.Context, s plan.Step) (context.Context, func(error)) {
	ctx, sp := p.t.Start(ctx, s.Kind.String())
	sp.Int("featuregraph.plan.level", s.Level)
	switch s.Kind {
	case plan.StaticRead:
		sp.Int(tracing.Keys, s.Keys)
	case plan.ServiceCall:
		sp.Int(tracing.Keys, s.Keys)
		sp.String("featuregraph.service", s.Service)
	default:
		sp.Int(tracing.Queries, s.Queries)
	}
	return ctx, sp.EndErr
}
