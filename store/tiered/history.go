package tiered

import (
	"context"

	"github.com/featuregraph/featuregraph/store"
)

var _ store.StaticHistoryReader = (*Store)(nil)

// ReadStaticAsOf implements store.StaticHistoryReader from DynamoDB: Redis holds only current
// values.
func (s *Store) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	var out map[store.Key]store.StaticValue
	err := s.dynamoRead(ctx, "read static as of", func(ctx context.Context) (err error) {
		out, err = s.source.ReadStaticAsOf(ctx, keys, asOf)
		return err
	})
	return out, err
}
