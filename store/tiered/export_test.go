package tiered

import "time"

// SetClock replaces the clock of the negative cache, the static cache and the Redis back-off.
func (s *Store) SetClock(now func() time.Time) { s.now = now }
