package tiered

import (
	"container/list"
	"sync"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// negativeCache remembers keys DynamoDB holds no events for, for a fixed TTL. Entries are
// dropped oldest first when it is full; since every entry lives equally long, that is also
// expiry order.
type negativeCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	size  int
	until map[store.Key]time.Time
	order []negEntry // insertion order; may hold entries already forgotten or re-added
}

type negEntry struct {
	key   store.Key
	until time.Time
}

func newNegativeCache(ttl time.Duration, size int) *negativeCache {
	return &negativeCache{ttl: ttl, size: size, until: make(map[store.Key]time.Time)}
}

func (c *negativeCache) enabled() bool { return c.ttl > 0 && c.size > 0 }

func (c *negativeCache) has(k store.Key, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.until[k]
	return ok && now.Before(u)
}

func (c *negativeCache) add(k store.Key, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := now.Add(c.ttl)
	c.until[k] = u
	c.order = append(c.order, negEntry{k, u})
	for len(c.order) > 0 && (len(c.until) > c.size || !now.Before(c.order[0].until) || len(c.order) > 2*c.size) {
		e := c.order[0]
		c.order[0] = negEntry{}
		c.order = c.order[1:]
		if c.until[e.key] == e.until {
			delete(c.until, e.key)
		}
	}
}

func (c *negativeCache) forget(keys []store.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.until, k)
	}
}

// staticLRU is the in-process layer of the static cache: values and absences, each for a TTL,
// the least recently used dropped when it is full.
type staticLRU struct {
	mu    sync.Mutex
	ttl   time.Duration
	size  int
	ll    *list.List // front = most recently used
	items map[store.Key]*list.Element
}

type staticEntry struct {
	key   store.Key
	value store.StaticValue
	found bool
	until time.Time
}

func newStaticLRU(ttl time.Duration, size int) *staticLRU {
	return &staticLRU{ttl: ttl, size: size, ll: list.New(), items: make(map[store.Key]*list.Element)}
}

// get returns the cached value of k; ok is false on a miss, found is false for a cached absence.
func (c *staticLRU) get(k store.Key, now time.Time) (v store.StaticValue, found, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, hit := c.items[k]
	if !hit {
		return store.StaticValue{}, false, false
	}
	e := el.Value.(*staticEntry)
	if !now.Before(e.until) {
		c.ll.Remove(el)
		delete(c.items, k)
		return store.StaticValue{}, false, false
	}
	c.ll.MoveToFront(el)
	return e.value, e.found, true
}

func (c *staticLRU) put(k store.Key, v store.StaticValue, found bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &staticEntry{key: k, value: v, found: found, until: now.Add(c.ttl)}
	if el, hit := c.items[k]; hit {
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.items[k] = c.ll.PushFront(e)
	for c.ll.Len() > c.size {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*staticEntry).key)
	}
}

func (c *staticLRU) forget(keys []store.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if el, hit := c.items[k]; hit {
			c.ll.Remove(el)
			delete(c.items, k)
		}
	}
}
