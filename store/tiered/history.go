package tiered

import (
	"context"

	"github.com/featuregraph/featuregraph/store"
)

var _ store.StaticHistoryReader = (*Store)(nil)

// ReadStaticAsOf implements store.StaticHistoryReader from DynamoDB: Redis holds only current
// values.
func (s *Store) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	return s.source.ReadStaticAsOf(ctx, keys, asOf)
}
