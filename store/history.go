package store

import "context"

// StaticHistoryReader reads static features as they were at a past instant. Only features that
// keep history (`history: true`, StaticWrite.History) have versions to read; for a key with no
// version at or before asOf the key is absent from the result.
type StaticHistoryReader interface {
	// ReadStaticAsOf returns, per key, the newest version with TS <= asOf (Unix ms) that has
	// not outlived its history TTL.
	ReadStaticAsOf(ctx context.Context, keys []Key, asOf int64) (map[Key]StaticValue, error)
}
