package tiered

import (
	"hash/maphash"
	"math"
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
// A fill that raced with a write of the same entity is dropped: the write bumps the entity's
// epoch shard, and put skips entries whose read began before that.
type staticCache struct {
	c      *otter.Cache[entityKey, *cachedEntity]
	ttl    time.Duration
	now    func() time.Time
	seed   maphash.Seed
	epochs [256]atomic.Uint64
}

type entityKey struct{ prefix, id string }

// cachedEntity is immutable once cached; put replaces it with a merged copy.
type cachedEntity struct {
	features map[string]cachedValue
	size     uint32
}

type cachedValue struct {
	store.StaticValue
	until int64 // Unix ns
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

// value returns the cached value of feature f (Kind Absent for a cached absence).
func (e *cachedEntity) value(f string, nowNs int64) (store.StaticValue, bool) {
	if e == nil {
		return store.StaticValue{}, false
	}
	v, ok := e.features[f]
	if !ok || nowNs >= v.until {
		return store.StaticValue{}, false
	}
	return v.StaticValue, true
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
		n := len(features)
		if found {
			n += len(old.features)
		}
		e := &cachedEntity{features: make(map[string]cachedValue, n)}
		if found {
			for f, v := range old.features {
				if nowNs < v.until {
					e.features[f] = v
				}
			}
		}
		for j, f := range features {
			if fresh(j) {
				e.features[f] = cachedValue{row[j], until}
			}
		}
		size := int(unsafe.Sizeof(*e)) + len(prefix) + len(id) + 64
		for f, v := range e.features {
			size += len(f) + v.Size() + 40 // map slot overhead
		}
		e.size = uint32(min(size, math.MaxUint32))
		return e, otter.WriteOp
	})
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
