package tiered

import (
	"context"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// ReadStatic implements store.StaticReader: the in-process layer, then the Redis layer, then
// DynamoDB, each asked only for what the one before did not have; what DynamoDB answers fills
// the layers (the Redis layer in the background). Without a static cache it is DynamoDB's
// ReadStatic. Only a DynamoDB failure is an error.
func (s *Store) ReadStatic(ctx context.Context, keys []store.Key) (map[store.Key]store.StaticValue, error) {
	if s.cfg.StaticCacheTTL <= 0 {
		return s.source.ReadStatic(ctx, keys)
	}
	now := s.now()
	out := make(map[store.Key]store.StaticValue, len(keys))
	missed := keys
	if s.static != nil {
		missed = missed[:0:0]
		for _, k := range keys {
			v, found, ok := s.static.get(k, now)
			s.cfg.Observer.Cache("static", ok)
			switch {
			case !ok:
				missed = append(missed, k)
			case found:
				out[k] = v
			}
		}
	}
	if len(missed) > 0 && s.cfg.StaticCacheRedis && s.redisUsable() {
		rctx, cancel := s.redisContext(ctx)
		cached, err := s.cache.ReadStatic(rctx, missed)
		cancel()
		if err != nil {
			s.redisFailed(ctx, err)
		} else {
			s.redisWorked()
			rest := missed[:0:0]
			for _, k := range missed {
				v, ok := cached[k]
				s.cfg.Observer.Cache("static_redis", ok)
				if !ok {
					rest = append(rest, k)
					continue
				}
				out[k] = v
				if s.static != nil {
					s.static.put(k, v, true, now)
				}
			}
			missed = rest
		}
	}
	if len(missed) == 0 {
		return out, nil
	}
	got, err := s.source.ReadStatic(ctx, missed)
	if err != nil {
		return nil, err
	}
	var fills []store.StaticWrite
	for _, k := range missed {
		v, ok := got[k]
		if ok {
			out[k] = v
			fills = append(fills, store.StaticWrite{Key: k, Value: v.Value, TS: v.TS})
		}
		if s.static != nil {
			s.static.put(k, v, ok, now)
		}
	}
	if len(fills) > 0 && s.cfg.StaticCacheRedis && s.redisUsable() {
		s.background(func(ctx context.Context) {
			start := time.Now()
			err := s.cache.WriteStaticTTL(ctx, fills, s.cfg.StaticCacheTTL)
			s.cfg.Observer.BackendCall(observerName, "static fill", len(fills), time.Since(start), err)
			if err != nil {
				s.redisFailed(ctx, err)
			}
		})
	}
	return out, nil
}

// WriteStatic implements store.StaticWriter: DynamoDB first, then the cached values of the
// written keys are dropped (in process, and in Redis when it is a cache layer).
func (s *Store) WriteStatic(ctx context.Context, writes []store.StaticWrite) error {
	if len(writes) == 0 {
		return nil
	}
	if err := s.source.WriteStatic(ctx, writes); err != nil {
		return err
	}
	if s.cfg.StaticCacheTTL <= 0 {
		return nil
	}
	keys := make([]store.Key, len(writes))
	for i, w := range writes {
		keys[i] = w.Key
	}
	if s.static != nil {
		s.static.forget(keys)
	}
	if s.cfg.StaticCacheRedis {
		if err := s.cache.DeleteStatic(ctx, keys); err != nil {
			s.redisFailed(ctx, err)
			return err
		}
	}
	return nil
}
