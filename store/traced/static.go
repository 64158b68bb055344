package traced

import (
	"context"

	"go.opentelemetry.io/otel/attribute"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/tracing"
)

// readStatic is the one traced static read, shared by every decorator: the batch size, the
// values found and the keys absent. (It is the only place that knows the StaticReader
// signature, so a change of that interface is a change here.)
func readStatic(ctx context.Context, t tracing.Tracer, name string, system attribute.KeyValue, r store.StaticReader, keys []store.Key) (map[store.Key]store.StaticValue, error) {
	ctx, sp := start(ctx, t, name, "ReadStatic", system)
	sp.Int(tracing.Keys, len(keys))
	got, err := r.ReadStatic(ctx, keys)
	if err == nil {
		sp.Int(tracing.Hits, len(got))
		sp.Int(tracing.Misses, len(keys)-len(got))
	}
	sp.EndErr(err)
	return got, err
}
