package tiered

import (
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
