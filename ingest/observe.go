package ingest

import (
	"sync/atomic"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// FeatureRecorder receives ingestion figures per feature (metrics.Metrics implements it; the
// feature catalog shows them).
type FeatureRecorder interface {
	// FeatureWritten counts n writes of a feature that the store accepted; newestTS is the
	// newest event time among them (Unix ms).
	FeatureWritten(entity, feature string, n int, newestTS int64)
	// FeatureFailed counts n events lost to a feature: its spec matched but the event could
	// not be converted, or the store rejected the write for good. The event goes to the dead
	// letters (Kafka), is answered as an error (push) or is written to the rejects file (load).
	FeatureFailed(entity, feature string, n int)
}

// FeatureObserver turns a Writer's outcomes and a Dispatcher's conversion failures into
// per-feature figures for a FeatureRecorder. Give it to both: WriterConfig.Observer and
// WithFeatureObserver.
type FeatureObserver struct {
	rec FeatureRecorder
	// prefix maps key prefixes to entities; Update replaces it (the live registry).
	prefix atomic.Pointer[map[string]*registry.Entity]
}

// NewFeatureObserver maps the store keys of reg's entities to their features.
func NewFeatureObserver(reg *registry.Registry, rec FeatureRecorder) *FeatureObserver {
	o := &FeatureObserver{rec: rec}
	o.Update(reg)
	return o
}

// Update maps the keys of reg's entities from now on (a reloaded registry).
func (o *FeatureObserver) Update(reg *registry.Registry) {
	m := make(map[string]*registry.Entity, len(reg.Entities))
	for _, e := range reg.Entities {
		m[e.Prefix] = e
	}
	o.prefix.Store(&m)
}

// WithFeatureObserver makes the Dispatcher count each conversion failure on its feature.
func WithFeatureObserver(o *FeatureObserver) DispatcherOption {
	return func(d *Dispatcher) { d.obs = o }
}

func (o *FeatureObserver) conversionFailed(f *registry.Feature) {
	o.rec.FeatureFailed(f.Entity.Name, f.Name, 1)
}

type featureKey struct{ prefix, feature string }

type featureTally struct {
	n      int
	newest int64
}

// writesDone records the outcome of one ticket's writes (err nil: stored).
func (o *FeatureObserver) writesDone(static []store.StaticWrite, actions []store.ActionWrite, err error) {
	tally := make(map[featureKey]featureTally, 2)
	add := func(k store.Key, ts int64) {
		fk := featureKey{k.Prefix, k.Feature}
		t := tally[fk]
		t.n++
		t.newest = max(t.newest, ts)
		tally[fk] = t
	}
	for i := range static {
		add(static[i].Key, static[i].TS)
	}
	for i := range actions {
		add(actions[i].Key, actions[i].TS)
	}
	prefix := *o.prefix.Load()
	for k, t := range tally {
		e := prefix[k.prefix]
		if e == nil {
			continue // not a key of this registry
		}
		if err != nil {
			o.rec.FeatureFailed(e.Name, k.feature, t.n)
		} else {
			o.rec.FeatureWritten(e.Name, k.feature, t.n, t.newest)
		}
	}
}
