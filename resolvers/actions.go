package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/loader"
)

// actions reads one action feature of one entity: the newest count events (default
// defaultCount, clamped to maxCount and the server's MaxCount) of the last lastNSec seconds
// (default: all) that have not outlived the feature's TTL. Lookups of the whole request share
// one batched read; when the entity was loaded by this request, the read was already started
// then (prefetchActions) and this only waits for it.
func (r *Resolver) actions(ctx context.Context, entity, feature, id string, count, lastNSec *int) ([]store.ActionEvent, error) {
	f := r.reg.Entity(entity).Feature(feature)
	l := loader.For(ctx)
	q, err := r.actionQuery(f, id, count, lastNSec, l.Now)
	if err != nil {
		return nil, err
	}
	r.cfg.Recorder.FeatureRead(entity, feature, 1)
	return l.Actions.Load(ctx, q)
}

// actionQuery validates the arguments of an action field and builds its store query.
func (r *Resolver) actionQuery(f *registry.Feature, id string, count, lastNSec *int, now time.Time) (store.ActionQuery, error) {
	return ActionQuery(f, id, count, lastNSec, now, r.cfg.MaxCount)
}

// ActionQuery validates the arguments of an action field (count positive, lastNSec not
// negative) and builds its store query: count defaults to the feature's defaultCount and is
// clamped to its maxCount and to maxCount (the server's limit); the window starts at
// now-lastNSec and never before now-TTL. Both executors (these resolvers and the compiled
// plans) use it, so their arguments mean the same.
func ActionQuery(f *registry.Feature, id string, count, lastNSec *int, now time.Time, maxCount int) (store.ActionQuery, error) {
	n := f.DefaultCount
	if count != nil {
		if *count <= 0 {
			return store.ActionQuery{}, inputError("count must be positive, got %d", *count)
		}
		n = *count
	}
	n = min(n, f.MaxCount, maxCount)
	nowMS := now.UnixMilli()
	var minTS int64
	if lastNSec != nil {
		if *lastNSec < 0 {
			return store.ActionQuery{}, inputError("lastNSec must not be negative, got %d", *lastNSec)
		}
		if sec := int64(*lastNSec); sec < math.MaxInt64/1000 {
			minTS = max(nowMS-sec*1000, 0)
		}
	}
	if f.TTL > 0 {
		minTS = max(minTS, nowMS-f.TTL.Milliseconds())
	}
	return store.ActionQuery{
		Key:      store.Key{Prefix: f.Entity.Prefix, ID: id, Feature: f.Name},
		Count:    n,
		MinTS:    minTS,
		Dedupe:   f.Dedupe,
		MaxCount: f.MaxCount,
	}, nil
}

// prefetchActions starts the reads of the action fields selected on entities that are being
// loaded, so they join the same batch round as the entities' static features instead of waiting
// for a second one. The action resolvers then find the read in the loader's cache. Fields whose
// arguments are invalid are left to their resolver, which reports the error.
func (r *Resolver) prefetchActions(ctx context.Context, e *registry.Entity, ids []string, sel []graphql.CollectedField) {
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
		if !ok1 || !ok2 {
			continue
		}
		for _, id := range ids {
			if q, err := r.actionQuery(f, id, count, lastNSec, l.Now); err == nil {
				l.Actions.LoadThunk(ctx, q)
			}
		}
	}
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
