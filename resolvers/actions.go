package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/loader"
)

// actions reads one action feature of one entity: the newest count events (default
// defaultCount, clamped to maxCount and the server's MaxCount) of the last lastNSec seconds
// (default: all) that have not outlived the feature's TTL. Lookups of the whole request share
// one batched read.
func (r *Resolver) actions(ctx context.Context, entity, feature, id string, count, lastNSec *int) ([]store.ActionEvent, error) {
	e := r.reg.Entity(entity)
	f := e.Feature(feature)
	n := f.DefaultCount
	if count != nil {
		if *count <= 0 {
			return nil, inputError("count must be positive, got %d", *count)
		}
		n = *count
	}
	n = min(n, f.MaxCount, r.cfg.MaxCount)
	r.cfg.Recorder.FeatureRead(entity, feature, 1)
	l := loader.For(ctx)
	nowMS := l.Now.UnixMilli()
	var minTS int64
	if lastNSec != nil {
		if *lastNSec < 0 {
			return nil, inputError("lastNSec must not be negative, got %d", *lastNSec)
		}
		if sec := int64(*lastNSec); sec < math.MaxInt64/1000 {
			minTS = max(nowMS-sec*1000, 0)
		}
	}
	if f.TTL > 0 {
		minTS = max(minTS, nowMS-f.TTL.Milliseconds())
	}
	q := store.ActionQuery{
		Key:      store.Key{Prefix: e.Prefix, ID: id, Feature: f.Name},
		Count:    n,
		MinTS:    minTS,
		Dedupe:   f.Dedupe,
		MaxCount: f.MaxCount,
	}
	evs, err := l.Actions.Load(ctx, q)
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// decodeEvents turns stored events into model objects: the member's JSON into the struct (its
// JSON tags are the registry field names) and the score into the timestamp. Objects are
// allocated in one slice.
func decodeEvents[T any](evs []store.ActionEvent, setTS func(*T, time.Time)) ([]*T, error) {
	objs := make([]T, len(evs))
	out := make([]*T, len(evs))
	for i, e := range evs {
		if err := json.Unmarshal([]byte(e.Member), &objs[i]); err != nil {
			return nil, fmt.Errorf("%w: stored event %q: %v", errBadStoredValue, e.Member, err)
		}
		setTS(&objs[i], time.UnixMilli(e.TS).UTC())
		out[i] = &objs[i]
	}
	return out, nil
}
