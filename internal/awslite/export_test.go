package awslite

import "time"

// NewCacheClock is NewCache with a clock, for tests.
func NewCacheClock(p Provider, now func() time.Time) *Cache {
	c := NewCache(p)
	c.now = now
	return c
}
