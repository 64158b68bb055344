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

// staticLRU is the in-process cache of static values and absences, each for a TTL, the least
// recently used dropped when it holds more than size bytes.
type staticLRU struct {
	mu    sync.Mutex
	ttl   time.Duration
	size  int
	bytes int
	now   func() time.Time
	ll    *list.List // front = most recently used
	items map[store.Key]*list.Element
}

type staticEntry struct {
	key   store.Key
	value store.StaticValue
	until time.Time
	size  int
}

func newStaticLRU(ttl time.Duration, size int, now func() time.Time) *staticLRU {
	return &staticLRU{ttl: ttl, size: size, now: now, ll: list.New(), items: make(map[store.Key]*list.Element)}
}

// get returns the cached value of k (Kind Absent for a cached absence); ok is false on a miss.
func (c *staticLRU) get(k store.Key) (v store.StaticValue, ok bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, hit := c.items[k]
	if !hit {
		return store.StaticValue{}, false
	}
	e := el.Value.(*staticEntry)
	if !now.Before(e.until) {
		c.remove(el)
		return store.StaticValue{}, false
	}
	c.ll.MoveToFront(el)
	return e.value, true
}

func (c *staticLRU) remove(el *list.Element) {
	e := el.Value.(*staticEntry)
	c.ll.Remove(el)
	delete(c.items, e.key)
	c.bytes -= e.size
}

func (c *staticLRU) put(k store.Key, v store.StaticValue) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &staticEntry{key: k, value: v, until: now.Add(c.ttl), size: v.Size() + len(k.Prefix) + len(k.ID) + len(k.Feature) + 64}
	if el, hit := c.items[k]; hit {
		c.remove(el)
	}
	c.items[k] = c.ll.PushFront(e)
	c.bytes += e.size
	for c.bytes > c.size && c.ll.Len() > 0 {
		c.remove(c.ll.Back())
	}
}

func (c *staticLRU) forget(keys []store.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if el, hit := c.items[k]; hit {
			c.remove(el)
		}
	}
}
