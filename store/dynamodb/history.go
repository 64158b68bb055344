package dynamodb

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/featuregraph/featuregraph/store"
)

var _ store.StaticHistoryReader = (*Store)(nil)

// writeVersions stores the versions of writes that keep history: one item per version under the
// static feature's pk with sk = the event time in ms (the current value is sk 0), `v`, `ts` and,
// with a history TTL, `exp`. Versions are written unconditionally in BatchWriteItem calls: a
// version is identified by its time, so a redelivery overwrites itself and a late, older event
// still becomes the version of its time.
func (s *Store) writeVersions(ctx context.Context, writes []store.StaticWrite) error {
	var reqs []item
	index := map[[2]any]int{}
	for _, w := range writes {
		if !w.History || w.TS <= 0 {
			continue
		}
		v, err := valueAttr(w.Value)
		if err != nil {
			continue // WriteStatic reports it
		}
		it := item{{"pk", attrS(w.Key.String())}, {"sk", attrN(w.TS)}, {"v", v}, {"ts", attrN(w.TS)}}
		if w.HistoryTTL > 0 {
			it = append(it, field{"exp", attrN((w.TS + w.HistoryTTL.Milliseconds()) / 1000)})
		}
		k := [2]any{w.Key, w.TS}
		if i, dup := index[k]; dup { // BatchWriteItem refuses two writes of one item
			reqs[i] = it
			continue
		}
		index[k] = len(reqs)
		reqs = append(reqs, it)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for start := 0; start < len(reqs); start += batchWriteLimit {
		batch := reqs[start:min(start+batchWriteLimit, len(reqs))]
		g.Go(func() error { return s.batchWrite(gctx, batch) })
	}
	return g.Wait()
}

// ReadStaticAsOf implements store.StaticHistoryReader: per key one Query
// (`pk = :pk AND sk BETWEEN 1 AND asOf`, newest first), the keys concurrently, skipping versions
// whose history TTL has passed (DynamoDB deletes them lazily).
func (s *Store) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	out := make(map[store.Key]store.StaticValue, len(keys))
	if asOf < 1 {
		return out, nil
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	seen := map[store.Key]bool{}
	nowSec := s.now().Unix()
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		g.Go(func() error {
			in := &queryInput{
				key: condition{
					expr:   "pk = :pk AND sk BETWEEN :one AND :asof",
					values: map[string]attrValue{":pk": attrS(k.String()), ":one": attrN(1), ":asof": attrN(asOf)},
				},
				consistent: s.cfg.ConsistentRead,
				limit:      4,
			}
			for page := 0; page < 25; page++ {
				res, err := call(s, "Query", 1, func() (queryOutput, error) { return s.db.query(gctx, s.cfg.Table, in) })
				if err != nil {
					return err
				}
				for _, item := range res.items {
					if exp, ok := intAttr(item, "exp"); ok && exp > 0 && exp <= nowSec {
						continue
					}
					ts, _ := intAttr(item, "ts")
					raw, err := fromAttr(item.get("v"))
					var v store.Value
					if err == nil {
						v, err = s.cfg.Values.DecodeStatic(k.Prefix, k.Feature, raw)
					}
					if err != nil {
						return &store.BackendError{Backend: backend, Op: "Query", Err: fmt.Errorf("%w: version %d of %s: %v", store.ErrInvalid, ts, k, err)}
					}
					mu.Lock()
					out[k] = store.StaticValue{Value: v, TS: ts}
					mu.Unlock()
					return nil
				}
				if len(res.lastKey) == 0 {
					return nil
				}
				in.startKey = res.lastKey
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
