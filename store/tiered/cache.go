package tiered

import (
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"

	"github.com/featuregraph/featuregraph/store"
)

// staticCache is the in-process cache of static values: one entry per entity holding the
// features read so far, each a store.Value ready to marshal (never re-parsed) with its own
// expiry (Config.StaticCacheTTL ± 10%). It is an otter v2 cache (concurrent, no global lock,
// bounded in bytes by a weigher), chosen over ristretto v2 because it takes the struct key
// without building a string per lookup and applies writes and invalidations synchronously.
//
// An entry is laid out for the bound and the GC: its feature names are one shared, interned
// slice (the features of a query, the same for every entity it reads), its values pointer-free
// 32-byte cells (a scalar in the cell, other values in refs by index), so the weigher counts
// what the entry holds (entryOverhead is otter's node and table slot, measured by
// TestStaticCacheWeightMatchesHeap) and the GC marks a few pointers per entity, not per value.
//
// A fill that raced with a write of the same entity is dropped: the write bumps the entity's
// epoch shard, and put skips entries whose read began before that.
type staticCache struct {
	c      *otter.Cache[entityKey, *cachedEntity]
	ttl    time.Duration
	now    func() time.Time
	seed   maphash.Seed
	epochs [256]atomic.Uint64
	sets   featureSets
}

type entityKey struct{ prefix, id string }

// cachedEntity is immutable once cached; put replaces it with a merged copy.
type cachedEntity struct {
	features []string // interned (featureSets): shared by the entries read by the same query
	cells    []cachedCell
	refs     []store.Value // the values of the cells that are not inline
	size     uint32
}

// cachedCell is one cached value or absence; until 0: not cached.
type cachedCell struct {
	ts    int64
	bits  uint64 // Int, Bool, Time: the int64; Float: its IEEE 754 bits; others: index in refs
	until int64  // Unix ns
	kind  store.Kind
}

// entryOverhead is what otter holds per entry besides the entity (its node with the key,
// expiry and weight, and its hash table's slot), plus the entity's own headers; measured.
const entryOverhead = 200

func inlineKind(k store.Kind) bool {
	return k == store.Absent || k == store.Int || k == store.Float || k == store.Bool || k == store.Time
}

func newStaticCache(ttl time.Duration, bytes int, now func() time.Time) *staticCache {
	c := &staticCache{ttl: ttl, now: now, seed: maphash.MakeSeed()}
	c.c = otter.Must(&otter.Options[entityKey, *cachedEntity]{
		MaximumWeight: uint64(bytes),
		Weigher:       func(_ entityKey, e *cachedEntity) uint32 { return e.size },
		// Memory reclamation only: every value carries its own expiry, checked on read.
		ExpiryCalculator: otter.ExpiryWriting[entityKey, *cachedEntity](ttl + ttl/5 + time.Second),
	})
	return c
}

func (c *staticCache) shard(k entityKey) *atomic.Uint64 {
	return &c.epochs[maphash.Comparable(c.seed, k)%uint64(len(c.epochs))]
}

// epoch is read before the backends are asked; put with it drops the fill if the entity was
// written since.
func (c *staticCache) epoch(prefix, id string) uint64 {
	return c.shard(entityKey{prefix, id}).Load()
}

// get returns the cached entity (nil on a miss) for lookups with value.
func (c *staticCache) get(prefix, id string) *cachedEntity {
	e, _ := c.c.GetIfPresent(entityKey{prefix, id})
	return e
}

// value returns the cached value of feature f (Kind Absent for a cached absence); j is where
// f is likely to be (its index in the query, the order the entry was filled in).
func (e *cachedEntity) value(j int, f string, nowNs int64) (store.StaticValue, bool) {
	if e == nil {
		return store.StaticValue{}, false
	}
	if j >= len(e.features) || e.features[j] != f {
		if j = slices.Index(e.features, f); j < 0 {
			return store.StaticValue{}, false
		}
	}
	cl := &e.cells[j]
	if nowNs >= cl.until {
		return store.StaticValue{}, false
	}
	v := store.StaticValue{TS: cl.ts}
	switch {
	case cl.kind == store.Float:
		v.Value = store.Value{Kind: store.Float, Float: math.Float64frombits(cl.bits)}
	case inlineKind(cl.kind):
		v.Value = store.Value{Kind: cl.kind, Num: int64(cl.bits)}
	default:
		v.Value = e.refs[cl.bits]
	}
	return v, true
}

// set stores v as the value of cell j.
func (e *cachedEntity) set(j int, v store.StaticValue, until int64) {
	cl := cachedCell{ts: v.TS, until: until, kind: v.Kind}
	switch {
	case v.Kind == store.Float:
		cl.bits = math.Float64bits(v.Float)
	case inlineKind(v.Kind):
		cl.bits = uint64(v.Num)
	default:
		cl.bits = uint64(len(e.refs))
		e.refs = append(e.refs, v.Value)
	}
	e.cells[j] = cl
}

// put merges the values of features (a row of a read; fresh(j) says which to keep) into the
// entity's entry, unless the entity was written since epoch was read. The check and the merge
// run under the entry's lock (Compute), and forget bumps the epoch before it invalidates, so a
// value read before a write never lands after it.
func (c *staticCache) put(prefix, id string, epoch uint64, features []string, row []store.StaticValue, fresh func(j int) bool) {
	k := entityKey{prefix, id}
	shard := c.shard(k)
	if shard.Load() != epoch {
		return
	}
	now := c.now()
	nowNs := now.UnixNano()
	until := now.Add(jitter(c.ttl)).UnixNano()
	c.c.Compute(k, func(old *cachedEntity, found bool) (*cachedEntity, otter.ComputeOp) {
		if shard.Load() != epoch {
			return old, otter.CancelOp
		}
		// The features of the query first (the order lookups try first), then the old entry's
		// others that are still fresh.
		names := features
		var kept []int // cells of old kept after the query's features
		if found {
			for j, f := range old.features {
				if old.cells[j].until > nowNs && !slices.Contains(features, f) {
					kept = append(kept, j)
				}
			}
			if len(kept) > 0 {
				names = slices.Clip(slices.Clone(features))
				for _, j := range kept {
					names = append(names, old.features[j])
				}
			}
		}
		// Grown, not made: the capacity is then the allocation's size class, which size counts.
		e := &cachedEntity{features: c.sets.intern(names), cells: slices.Grow([]cachedCell(nil), len(names))[:len(names)]}
		if found {
			for j, f := range features {
				if oj := slices.Index(old.features, f); oj >= 0 && old.cells[oj].until > nowNs {
					v, _ := old.value(oj, f, math.MinInt64)
					e.set(j, v, old.cells[oj].until)
				}
			}
			for n, oj := range kept {
				v, _ := old.value(oj, old.features[oj], math.MinInt64)
				e.set(len(features)+n, v, old.cells[oj].until)
			}
		}
		for j := range features {
			if fresh(j) {
				e.set(j, row[j], until)
			}
		}
		size := entryOverhead + len(prefix) + len(id) + cap(e.cells)*int(unsafe.Sizeof(cachedCell{}))
		for _, v := range e.refs {
			size += v.Size()
		}
		e.size = uint32(min(size, math.MaxUint32))
		return e, otter.WriteOp
	})
}

// featureSets interns the feature lists of entries: the entries filled by one query share one
// slice of names (the GC and the bound see it once, not per entity).
type featureSets struct {
	last atomic.Pointer[[]string]
	mu   sync.Mutex
	m    map[string][]string
}

// maxFeatureSets bounds the interned lists; past it a list is the entry's own.
const maxFeatureSets = 4096

func (s *featureSets) intern(names []string) []string {
	if p := s.last.Load(); p != nil && slices.Equal(*p, names) {
		return *p
	}
	key := strings.Join(names, "\x00")
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := s.m[key]
	if !ok {
		set = slices.Clip(slices.Clone(names))
		if s.m == nil {
			s.m = map[string][]string{}
		}
		if len(s.m) < maxFeatureSets {
			s.m[key] = set
		}
	}
	s.last.Store(&set)
	return set
}

// forget drops the entities of keys (a write), and makes fills that began before drop too.
func (c *staticCache) forget(keys []store.Key) {
	for _, key := range keys {
		k := entityKey{key.Prefix, key.ID}
		c.shard(k).Add(1)
		c.c.Invalidate(k)
	}
}

// close stops the cache's goroutines.
func (c *staticCache) close() { c.c.StopAllGoroutines() }
