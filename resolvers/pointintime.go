package resolvers

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers/loader"
	"github.com/featuregraph/featuregraph/store"
)

// pointInTime is the instant a field is answered for: its own asOf argument, else the asOf of
// the object it belongs to (its entity root, or the event query it was joined from), else nil
// (now).
func pointInTime(inherited, own *time.Time) *time.Time {
	if own != nil {
		return own
	}
	return inherited
}

// checkAsOf validates an asOf argument.
func checkAsOf(at *time.Time) error {
	if at != nil && at.UnixMilli() < 1 {
		return inputError("asOf %s is before 1970-01-01T00:00:00.001Z", at.Format(time.RFC3339Nano))
	}
	return nil
}

// noHistoryError is the error of a static feature read as of a time when it keeps no history.
func noHistoryError(f *registry.Feature) error {
	return inputError("asOf: static feature %s.%s keeps no history, so it has no value as of a past time "+
		"(add `history: true` to its definition to keep one, or leave it out of point-in-time queries)", f.Entity.Name, f.Name)
}

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
