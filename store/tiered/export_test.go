package tiered

import "time"

// SetClock replaces the clock of the negative cache, the static cache and the Redis back-off.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// StaticCacheBytes is the weighted size of the in-process static cache (0 when it is off).
func (s *Store) StaticCacheBytes() uint64 {
	if s.static == nil {
		return 0
	}
	s.static.c.CleanUp()
	return s.static.c.WeightedSize()
}
