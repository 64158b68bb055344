package traced

import (
	"context"

	"go.opentelemetry.io/otel/attribute"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/tracing"
)

// readActions is the traced action read: queries asked for, queries that found events (hits)
// and events returned.
func readActions(ctx context.Context, t tracing.Tracer, name string, system attribute.KeyValue, r store.ActionReader, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	ctx, sp := start(ctx, t, name, "ReadActions", system)
	sp.Int(tracing.Queries, len(queries))
	got, err := r.ReadActions(ctx, queries)
	if err == nil {
		setFound(sp, got)
	}
	sp.EndErr(err)
	return got, err
}
