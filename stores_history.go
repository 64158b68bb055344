package main

import (
	"context"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/loader"
)

var _ store.StaticHistoryReader = (*openedStore)(nil)

// ReadStaticAsOf passes point-in-time static reads (asOf, features with `history: true`) to the
// opened store; every store featuregraph opens keeps history.
func (o *openedStore) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	h, ok := o.Store.(store.StaticHistoryReader)
	if !ok {
		return nil, loader.ErrNoHistory
	}
	return h.ReadStaticAsOf(ctx, keys, asOf)
}
