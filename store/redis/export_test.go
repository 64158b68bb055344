package redis

// For the tests of package redis_test.
var (
	Slot         = slot
	RefillMarker = refillMarker
)
