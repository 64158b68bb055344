package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/graph/model"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers/loader"
	"github.com/featuregraph/featuregraph/serving"
	"github.com/featuregraph/featuregraph/store"
)

// actions reads one action feature of one entity: the newest count events (default
// defaultCount, clamped to maxCount and the server's MaxCount) of the last lastNSec seconds
// (default: all) that have not outlived the feature's TTL. Lookups of the whole request share
// one batched read; when the entity was loaded by this request, the read was already started
// then (prefetchActions) and this only waits for it. filter (nil: none) keeps the matching
// events; at (nil: now) answers as of that instant.
func (r *Resolver) actions(ctx context.Context, entity, feature, id string, count, lastNSec *int, filter *store.Filter, at *time.Time) ([]store.ActionEvent, error) {
	f := r.reg.Entity(entity).Feature(feature)
	l := loader.For(ctx)
	if err := checkAsOf(at); err != nil {
		return nil, err
	}
	q, err := r.actionQuery(f, id, count, lastNSec, l.Now, at)
	if err != nil {
		return nil, err
	}
	q.Filter = filter
	r.cfg.Recorder.FeatureRead(entity, feature, 1) // counted as the plans count it: asked for (and prefetched)
	if err := ctx.Err(); err != nil {
		return nil, err // the request ended: wait for nothing (see loadEntities)
	}
	return l.Actions.Load(ctx, q)
}

// actionQuery validates the arguments of an action field and builds its store query.
func (r *Resolver) actionQuery(f *registry.Feature, id string, count, lastNSec *int, now time.Time, at *time.Time) (store.ActionQuery, error) {
	return ActionQuery(f, id, count, lastNSec, now, at, r.cfg.MaxCount)
}

// ActionQuery is serving.ActionQuery: both executors build their store queries with it.
func ActionQuery(f *registry.Feature, id string, count, lastNSec *int, now time.Time, at *time.Time, maxCount int) (store.ActionQuery, error) {
	return serving.ActionQuery(f, id, count, lastNSec, now, at, maxCount)
}

// prefetchActions starts the reads of the action fields selected on entities that are being
// loaded, so they join the same batch round as the entities' static features instead of waiting
// for a second one. The action resolvers then find the read in the loader's cache. Fields whose
// arguments are invalid are left to their resolver, which reports the error.
// A field with a filter is not prefetched (its query is built by its resolver).
//
// It returns the features it started reads of (for every id), which the action resolvers count
// as they are answered (or loadEntities, when the request ends before they are).
func (r *Resolver) prefetchActions(ctx context.Context, e *registry.Entity, ids []string, sel []graphql.CollectedField, inherited *time.Time) (started []*registry.Feature) {
	l := loader.For(ctx)
	var vars map[string]any
	for _, cf := range sel {
		f := e.Feature(r.actionByField[e.Name][cf.Name])
		if f == nil {
			continue
		}
		if vars == nil {
			vars = graphql.GetOperationContext(ctx).Variables
		}
		args := cf.ArgumentMap(vars)
		count, ok1 := intArg(args["count"])
		lastNSec, ok2 := intArg(args["lastNSec"])
		own, ok3 := timeArg(args["asOf"])
		if !ok1 || !ok2 || !ok3 || args["filter"] != nil {
			continue
		}
		at := pointInTime(inherited, own)
		if checkAsOf(at) != nil {
			continue
		}
		for _, id := range ids {
			if q, err := r.actionQuery(f, id, count, lastNSec, l.Now, at); err == nil {
				l.Actions.LoadThunk(ctx, q)
			}
		}
		started = append(started, f)
	}
	return started
}

// timeArg reads an optional Time argument as the resolvers receive it.
func timeArg(v any) (*time.Time, bool) {
	if v == nil {
		return nil, true
	}
	t, err := model.UnmarshalTime(v)
	if err != nil {
		return nil, false
	}
	return &t, true
}

// EffectiveCount is serving.EffectiveCount.
func EffectiveCount(f *registry.Feature, count *int, serverMax int) int {
	return serving.EffectiveCount(f, count, serverMax)
}

// intArg reads an optional Int argument as the resolvers receive it.
func intArg(v any) (*int, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case int64:
		n := int(x)
		return &n, true
	case int:
		return &x, true
	case json.Number:
		if n, err := x.Int64(); err == nil {
			m := int(n)
			return &m, true
		}
	}
	return nil, false
}

// decodeEvents turns stored events into model objects: each member field into the struct (set
// is generated per event type) and the score into the timestamp. Objects are allocated in one
// slice. Unknown member keys (a field removed from the registry, the no-dedupe time) are ignored.
func decodeEvents[T any](evs []store.ActionEvent, setTS func(*T, time.Time), set func(o *T, key string, raw []byte) error) ([]*T, error) {
	objs := make([]T, len(evs))
	out := make([]*T, len(evs))
	for i, e := range evs {
		o := &objs[i]
		err := store.MemberFields([]byte(e.Member), func(key string, raw []byte) error { return set(o, key, raw) })
		if err != nil {
			return nil, fmt.Errorf("%w: stored event %q: %v", errBadStoredValue, e.Member, err)
		}
		setTS(o, time.UnixMilli(e.TS).UTC())
		out[i] = o
	}
	return out, nil
}
