package offline

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/store"
)

// Appender takes rows durably (a Spool).
type Appender[T Record] interface {
	Append(ctx context.Context, rows []T) error
}

// Downsync is the ingestion writer's Tap that copies online writes to the offline store: each
// write of a feature with `downsync: {enabled: true}` that the feature's sampling keeps
// becomes a Row, appended to the spool before the write's ticket is done (so a Kafka offset is
// committed only once its rows are durable). It is safe for concurrent use.
type Downsync struct {
	app Appender[Row]
	now func() time.Time
	gen atomic.Pointer[downsyncGen] // the registry's downsync settings (SetRegistry swaps them)

	mu       sync.Mutex
	last     map[store.Key]int64 // minIntervalByKey: event time of the latest row kept per key
	maxKeys  int
	kept     atomic.Int64
	sampled  atomic.Int64
	throttle atomic.Int64
}

type featureKey struct{ prefix, feature string }

var _ ingest.Tap = (*Downsync)(nil)

// maxIntervalKeys bounds the keys whose latest row minIntervalByKey remembers; beyond it the
// memory is cleared, so a few more rows than the interval allows are kept, never fewer.
const maxIntervalKeys = 1 << 20

// downsyncGen is what the tap takes from one registry: its downsynced features and the schema
// fingerprint its rows carry.
type downsyncGen struct {
	fingerprint string
	features    map[featureKey]*registry.Feature // downsynced features only
}

// NewDownsync builds the tap for reg, appending to app.
func NewDownsync(reg *registry.Registry, app Appender[Row]) *Downsync {
	d := &Downsync{app: app, now: time.Now, last: map[store.Key]int64{}, maxKeys: maxIntervalKeys}
	d.SetRegistry(reg)
	return d
}

// SetRegistry makes the tap follow a reloaded registry: the writes stored from now on are
// sampled by its downsync blocks and their rows carry its fingerprint. The spool, the sink and
// what minIntervalByKey remembers are kept.
func (d *Downsync) SetRegistry(reg *registry.Registry) {
	g := &downsyncGen{fingerprint: schema.Fingerprint(reg), features: map[featureKey]*registry.Feature{}}
	for _, e := range reg.Entities {
		for _, f := range e.Features() {
			if f.Downsync.Enabled && f.Downsync.SamplingRatio > 0 {
				g.features[featureKey{e.Prefix, f.Name}] = f
			}
		}
	}
	d.gen.Store(g)
}

// Enabled reports whether any feature is downsynced.
func (d *Downsync) Enabled() bool { return len(d.gen.Load().features) > 0 }

// DownsyncStats are counters since the tap was built.
type DownsyncStats struct {
	Kept       int64 // rows appended
	SampledOut int64 // writes of downsynced features the sampling left out
	Throttled  int64 // writes left out by minIntervalByKey
}

// Stats returns the counters.
func (d *Downsync) Stats() DownsyncStats {
	return DownsyncStats{Kept: d.kept.Load(), SampledOut: d.sampled.Load(), Throttled: d.throttle.Load()}
}

// Stored turns the writes the sampling keeps into rows and appends them. The memory of
// minIntervalByKey is updated only once the rows are appended, so a retried call keeps what a
// failed one would have.
func (d *Downsync) Stored(ctx context.Context, writes []ingest.Stored) error {
	g := d.gen.Load()
	if len(g.features) == 0 {
		return nil
	}
	now := d.now().UTC()
	var rows []Row
	kept := map[store.Key]int64{} // minIntervalByKey: the rows of this call
	var sampled, throttled int64
	for _, w := range writes {
		for _, sw := range w.Static {
			if f := d.keep(g, sw.Key, sw.TS, kept, &sampled, &throttled); f != nil {
				rows = append(rows, g.finish(staticRow(f, sw), now, w.Source))
			}
		}
		for _, aw := range w.Actions {
			if f := d.keep(g, aw.Key, aw.TS, kept, &sampled, &throttled); f != nil {
				rows = append(rows, g.finish(actionRow(f, aw), now, w.Source))
			}
		}
	}
	if err := d.app.Append(ctx, rows); err != nil {
		return err
	}
	if len(kept) > 0 {
		d.mu.Lock()
		if len(d.last)+len(kept) > d.maxKeys {
			clear(d.last)
		}
		for k, ts := range kept {
			d.last[k] = ts
		}
		d.mu.Unlock()
	}
	d.kept.Add(int64(len(rows)))
	d.sampled.Add(sampled)
	d.throttle.Add(throttled)
	return nil
}

func (g *downsyncGen) finish(r Row, now time.Time, source string) Row {
	r.IngestTime, r.Source, r.Fingerprint = now, source, g.fingerprint
	return r
}

// keep returns the feature of k when its write at ts is to be downsynced; kept holds the
// latest kept time per key of the call (minIntervalByKey), on top of d.last.
func (d *Downsync) keep(g *downsyncGen, k store.Key, ts int64, kept map[store.Key]int64, sampled, throttled *int64) *registry.Feature {
	f := g.features[featureKey{k.Prefix, k.Feature}]
	if f == nil {
		return nil
	}
	if !Sampled(k.Prefix, k.ID, f.Downsync.SamplingRatio) {
		*sampled++
		return nil
	}
	if iv := f.Downsync.MinIntervalByKey.Milliseconds(); iv > 0 {
		last, seen := kept[k]
		if !seen {
			d.mu.Lock()
			last, seen = d.last[k]
			d.mu.Unlock()
		}
		if seen && ts < last+iv && ts > last-iv {
			*throttled++
			return nil
		}
		kept[k] = ts
	}
	return f
}

// Sampled reports whether the entity (key prefix and id) is in the sample of the given ratio.
// It hashes the entity only, so it answers alike on every run and for every feature, and the
// entities of a ratio are a subset of those of any higher ratio.
func Sampled(prefix, id string, ratio float64) bool {
	if ratio >= 1 {
		return true
	}
	if ratio <= 0 {
		return false
	}
	return unitHash(prefix, id) < ratio
}

// unitHash maps an entity to [0, 1): FNV-1a over "prefix#id", then the splitmix64 finalizer
// (FNV alone is poorly mixed in its high bits for short keys).
func unitHash(prefix, id string) float64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(prefix); i++ {
		h = (h ^ uint64(prefix[i])) * 1099511628211
	}
	h = (h ^ '#') * 1099511628211
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11) / math.Exp2(53)
}
