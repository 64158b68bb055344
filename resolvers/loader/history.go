package loader

import (
	"context"

	"github.com/vikstrous/dataloadgen"

	"github.com/featuregraph/featuregraph/store"
)

// HistoryKey asks for one static feature of one entity as of AsOf (Unix ms).
type HistoryKey struct {
	Key  store.Key
	AsOf int64
}

// ErrNoHistory is the error of a history lookup when the store keeps no static history.
var ErrNoHistory = store.ErrNoHistory

// newHistory is the loader of point-in-time static lookups: one ReadStaticAsOf per distinct
// asOf of a batch. A key with no version is absent from the result map (a nil value).
func newHistory(r store.Reader, cfg Config) *dataloadgen.Loader[HistoryKey, *store.StaticValue] {
	h, _ := store.As[store.StaticHistoryReader](r) // through decorators (tracing)
	return dataloadgen.NewMappedLoader(func(ctx context.Context, keys []HistoryKey) (map[HistoryKey]*store.StaticValue, error) {
		if h == nil {
			return nil, ErrNoHistory
		}
		byAsOf := map[int64][]store.Key{}
		var order []int64
		for _, k := range keys {
			if _, ok := byAsOf[k.AsOf]; !ok {
				order = append(order, k.AsOf)
			}
			byAsOf[k.AsOf] = append(byAsOf[k.AsOf], k.Key)
		}
		out := make(map[HistoryKey]*store.StaticValue, len(keys))
		for _, at := range order {
			vals, err := h.ReadStaticAsOf(ctx, byAsOf[at], at)
			if err != nil {
				return nil, err
			}
			for k, v := range vals {
				out[HistoryKey{Key: k, AsOf: at}] = &v
			}
		}
		for _, k := range keys {
			if _, ok := out[k]; !ok {
				out[k] = nil
			}
		}
		return out, nil
	}, dataloadgen.WithWait(cfg.Wait), dataloadgen.WithBatchCapacity(cfg.StaticBatch))
}
