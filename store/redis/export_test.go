package redis

// For the tests of package redis_test.
var (
	Slot         = slot
	RefillMarker = refillMarker
)

// SetStaticRead forces static reads to HMGET ("hmget"), HGETALL ("hgetall") or lets the store
// decide ("auto").
func SetStaticRead(s *Store, mode string) {
	s.readMode.Store(int32(map[string]staticReadMode{"auto": readAuto, "hmget": readHMGET, "hgetall": readHGETALL}[mode]))
}

// HashFields is what the store has learnt of the hashes of prefix: mean fields per hash.
func HashFields(s *Store, prefix string) int64 { return s.sizes.stat(prefix).fields.Load() }
