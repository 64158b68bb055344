package resolvers

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers/loader"
	"github.com/featuregraph/featuregraph/serving"
	"github.com/featuregraph/featuregraph/store"
)

var (
	pointInTime    = serving.PointInTime
	checkAsOf      = serving.CheckAsOf
	noHistoryError = serving.NoHistoryError
)

// loadHistory sets the static features of objs as of at: those that keep history from their
// versions (one batched lookup, shared with the request's other point-in-time lookups), the
// others an error at their field naming the feature.
func loadHistory[T any](ctx context.Context, r *Resolver, b *binding[T], e *registry.Entity, ids []string, objs []T,
	features []wanted, pathOf func(i int) ast.Path, at *time.Time) {
	var keys []loader.HistoryKey
	var kept []wanted
	for _, w := range features {
		if !w.f.History {
			err := noHistoryError(w.f)
			for i := range ids {
				for _, a := range w.aliases {
					graphql.AddError(ctx, fieldError(pathOf(i), a, err))
				}
			}
			continue
		}
		kept = append(kept, w)
		r.cfg.Recorder.FeatureRead(e.Name, w.f.Name, len(ids))
		for _, id := range ids {
			keys = append(keys, loader.HistoryKey{Key: store.Key{Prefix: e.Prefix, ID: id, Feature: w.f.Name}, AsOf: at.UnixMilli()})
		}
	}
	if len(keys) == 0 {
		return
	}
	values, err := loader.For(ctx).History.LoadAll(ctx, keys)
	perKey := keyErrors(err, len(keys))
	for j, w := range kept {
		for i := range ids {
			n := j*len(ids) + i
			if perKey[n] != nil {
				for _, a := range w.aliases {
					graphql.AddError(ctx, fieldError(pathOf(i), a, perKey[n]))
				}
				continue
			}
			var sv store.StaticValue // Absent when no version
			if values[n] != nil {
				sv = *values[n]
			}
			setStatic(ctx, b, e, objs[i], w.f, w.aliases, pathOf(i), sv)
		}
	}
}
