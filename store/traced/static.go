package traced

import (
	"context"

	"go.opentelemetry.io/otel/attribute"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/tracing"
)

// readStatic is the one traced static read, shared by every decorator: the batch size (feature
// keys: entities × features), the values found and the keys absent. (It is the only place that
// knows the StaticReader signature, so a change of that interface is a change here.)
func readStatic(ctx context.Context, t tracing.Tracer, name string, system attribute.KeyValue, r store.StaticReader, q store.StaticQuery, out []store.StaticValue) error {
	ctx, sp := start(ctx, t, name, "ReadStatic", system)
	sp.Int(tracing.Keys, q.Len())
	err := r.ReadStatic(ctx, q, out)
	if err == nil {
		setStaticFound(sp, out)
	}
	sp.EndErr(err)
	return err
}

// setStaticFound sets the hits (values stored) and misses (absent) of a static read.
func setStaticFound(sp tracing.Span, out []store.StaticValue) {
	hits := 0
	for i := range out {
		if out[i].Kind != store.Absent {
			hits++
		}
	}
	sp.Int(tracing.Hits, hits)
	sp.Int(tracing.Misses, len(out)-hits)
}
