package plan

import (
	"sync"

	"github.com/featuregraph/featuregraph/store"
)

// The value slabs of a run (the answers of its static reads, the values of its batches) come
// from pools and go back when the run's answer is written (release): a 100-entity × 50-feature
// read is ~1 MB of them, which allocating per request made the GC's main work. A slab goes back
// cleared, so the pool keeps no request's strings alive, and comes out zeroed.

// maxPooledValues is the largest slab pooled (~5.6 MB of store.Value); bigger ones are garbage.
const maxPooledValues = 64 << 10

var staticSlabs sync.Pool // *[]store.StaticValue

// values returns a zeroed slab of n values that the run gives back in release.
func (r *run) values(n int) []store.StaticValue {
	if n > maxPooledValues {
		return make([]store.StaticValue, n)
	}
	s := staticValues(n)
	r.slabs = append(r.slabs, s)
	return s
}

// staticValues returns a zeroed slab of n static values; the caller gives it back with
// putStaticValues once it has copied what it needs.
func staticValues(n int) []store.StaticValue {
	if n <= maxPooledValues {
		if p, ok := staticSlabs.Get().(*[]store.StaticValue); ok && cap(*p) >= n {
			return (*p)[:n]
		}
	}
	return make([]store.StaticValue, n, max(n, 256))
}

func putStaticValues(s []store.StaticValue) {
	if cap(s) <= maxPooledValues {
		clear(s)
		s = s[:0]
		staticSlabs.Put(&s)
	}
}

// release gives the run's slabs back; nothing of the run may be read after it.
func (r *run) release() {
	for _, s := range r.slabs {
		putStaticValues(s)
	}
	r.slabs = nil
}
