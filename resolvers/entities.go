package resolvers

import (
	"context"
	"fmt"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vikstrous/dataloadgen"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers/loader"
	"github.com/featuregraph/featuregraph/serving"
	"github.com/featuregraph/featuregraph/store"
)

// binding is what the generated glue tells the generic code about one entity: how to make its
// model object and how to set one static feature on it.
type binding[T any] struct {
	entity string
	new    func(id string) T
	at     func(o T, t *time.Time) // sets the asOf the object is answered for
	set    func(o T, feature string, v store.Value)
}

// wanted is one selected static feature and every alias it is selected under (errors go to each).
type wanted struct {
	f       *registry.Feature
	aliases []string
}

// one answers <entity>(id:).
func one[T any](ctx context.Context, r *Resolver, b *binding[T], id string, asOf *time.Time) (T, error) {
	if err := checkAsOf(asOf); err != nil {
		var zero T
		return zero, err
	}
	path := graphql.GetFieldContext(ctx).Path()
	sel := graphql.CollectFieldsCtx(ctx, nil)
	objs, err := loadEntities(ctx, r, b, []string{id}, sel, func(int) ast.Path { return path }, asOf)
	if err != nil {
		var zero T
		return zero, err
	}
	return objs[0], nil
}

// many answers <entities>(ids:): one object per id, in order.
func many[T any](ctx context.Context, r *Resolver, b *binding[T], ids []string, asOf *time.Time) ([]T, error) {
	if len(ids) > r.cfg.MaxIDs {
		return nil, serving.TooManyIDs(len(ids), r.cfg.MaxIDs)
	}
	if err := checkAsOf(asOf); err != nil {
		return nil, err
	}
	path := graphql.GetFieldContext(ctx).Path()
	sel := graphql.CollectFieldsCtx(ctx, nil)
	return loadEntities(ctx, r, b, ids, sel, func(i int) ast.Path { return append(path[:len(path):len(path)], ast.PathIndex(i)) }, asOf)
}

// loadEntities builds one object per id with the static features selected in sel, all read in
// one batched lookup (shared with every other lookup of the request). A failed lookup leaves
// the selected features null and reports an error at each of them (pathOf(i) + field alias), so
// the rest of the response, action features included, is still answered. With at (asOf), the
// objects are answered as of then: static features from their history (a feature without
// history is an error at its field), action features inherit it.
//
// Once the request's context has ended (deadline, client gone) it reads nothing and builds
// nothing: the error is the context's, the field's answer is an error (and the gateway's answer
// a TIMEOUT), so a request past its end stops costing the CPU that others need. The action
// resolvers (actions) and joins stop the same way.
func loadEntities[T any](ctx context.Context, r *Resolver, b *binding[T], ids []string, sel []graphql.CollectedField, pathOf func(i int) ast.Path, at *time.Time) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	objs := make([]T, len(ids))
	for i, id := range ids {
		objs[i] = b.new(id)
		if at != nil {
			b.at(objs[i], at)
		}
	}
	e := r.reg.Entity(b.entity)
	prefetched := r.prefetchActions(ctx, e, ids, sel, at)
	byField := r.staticByField[b.entity]
	var features []wanted
	index := map[string]int{}
	for _, cf := range sel {
		f := byField[cf.Name]
		if f == nil {
			continue
		}
		if j, seen := index[f.Name]; seen {
			features[j].aliases = append(features[j].aliases, cf.Alias)
			continue
		}
		index[f.Name] = len(features)
		features = append(features, wanted{f, []string{cf.Alias}})
	}
	if len(features) == 0 || len(ids) == 0 {
		return objs, nil
	}
	if at != nil {
		loadHistory(ctx, r, b, e, ids, objs, features, pathOf, at)
		return objs, ctx.Err()
	}
	names := &loader.Features{Names: make([]string, len(features))}
	for j, w := range features {
		names.Names[j] = w.f.Name
		r.cfg.Recorder.FeatureRead(e.Name, w.f.Name, len(ids))
	}
	keys := make([]loader.EntityKey, len(ids))
	for i, id := range ids {
		keys[i] = loader.EntityKey{Prefix: e.Prefix, ID: id, Features: names}
	}
	values, err := loader.For(ctx).Static.LoadAll(ctx, keys)
	perKey := keyErrors(err, len(keys))
	if cerr := ctx.Err(); cerr != nil {
		// Not an error per key and field: nobody is waiting for them. The action reads started
		// with this one are counted here, as their resolvers will not run. The read's own error
		// names the backend it cut short.
		for _, f := range prefetched {
			r.cfg.Recorder.FeatureRead(e.Name, f.Name, len(ids))
		}
		for _, kerr := range perKey {
			if kerr != nil {
				return nil, kerr
			}
		}
		return nil, cerr
	}
	for i := range ids {
		for j, w := range features {
			if perKey[i] != nil {
				for _, a := range w.aliases {
					graphql.AddError(ctx, fieldError(pathOf(i), a, perKey[i]))
				}
				continue
			}
			setStatic(ctx, b, e, objs[i], w.f, w.aliases, pathOf(i), values[i][j])
		}
	}
	return objs, nil
}

// setStatic sets one static feature of an object from its stored value (Kind Absent: none, the
// default).
func setStatic[T any](ctx context.Context, b *binding[T], e *registry.Entity, obj T, f *registry.Feature, aliases []string, path ast.Path, sv store.StaticValue) {
	v := f.Default
	if sv.Kind != store.Absent {
		cv, cerr := registry.Conform(f.Type, f.Container, sv.Value)
		if cerr != nil {
			err := fmt.Errorf("%w: stored value of %s.%s is not a %s %s: %v", errBadStoredValue, e.Name, f.Name, f.Container, f.Type, cerr)
			for _, a := range aliases {
				graphql.AddError(ctx, fieldError(path, a, err))
			}
			return
		}
		v = cv
	}
	if v.Kind != store.Absent {
		b.set(obj, f.Name, v)
	}
}

// keyErrors spreads the error of a LoadAll call over its keys.
func keyErrors(err error, n int) []error {
	out := make([]error, n)
	if err == nil {
		return out
	}
	if es, ok := err.(dataloadgen.ErrorSlice); ok && len(es) == n {
		return es
	}
	for i := range out {
		out[i] = err
	}
	return out
}

// join fills the joined entity of every event that has an id, when the query selects the join
// field. All ids of the list are read in one batched lookup.
func join[E any, T any](ctx context.Context, r *Resolver, field string, b *binding[T], at *time.Time, events []*E, idOf func(*E) (string, bool), set func(*E, T)) {
	if len(events) == 0 {
		return
	}
	fc := graphql.GetFieldContext(ctx)
	opCtx := graphql.GetOperationContext(ctx)
	var sel []graphql.CollectedField
	alias := ""
	for _, cf := range graphql.CollectFieldsCtx(ctx, nil) {
		if cf.Name != field {
			continue
		}
		if alias == "" {
			alias = cf.Alias
		}
		sel = append(sel, graphql.CollectFields(opCtx, cf.Selections, nil)...)
	}
	if alias == "" {
		return // the join is not selected
	}
	var ids []string
	var idx []int
	for i, ev := range events {
		if id, ok := idOf(ev); ok {
			ids = append(ids, id)
			idx = append(idx, i)
		}
	}
	path := fc.Path()
	objs, err := loadEntities(ctx, r, b, ids, sel, func(i int) ast.Path {
		return append(path[:len(path):len(path)], ast.PathIndex(idx[i]), ast.PathName(alias))
	}, at)
	if err != nil {
		graphql.AddError(ctx, err) // the context ended: the joined objects are not read
		return
	}
	for i, o := range objs {
		set(events[idx[i]], o)
	}
}
