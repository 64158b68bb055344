package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/featuregraph/featuregraph/store"
)

// batchGetLimit is the most keys one BatchGetItem may carry.
const batchGetLimit = 100

// ReadStatic implements store.StaticReader: the distinct keys go out in BatchGetItem calls of at
// most 100 keys, run concurrently (at most Config.Concurrency at once). Keys DynamoDB returns
// as UnprocessedKeys are retried with exponential backoff and jitter, within the context's
// deadline and Config.UnprocessedRetries rounds; keys still unprocessed then fail the call with
// an error wrapping store.ErrIncomplete, so "not fetched" never reads as "missing". Values are
// typed by Config.Values.
func (s *Store) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	if err := q.Check(out); err != nil {
		return &store.BackendError{Backend: backend, Op: "BatchGetItem", Err: err}
	}
	return s.readStatic(ctx, q.Key, out)
}

// ReadStaticKeys is ReadStatic for any keys: out[i] is the value of keys[i].
func (s *Store) ReadStaticKeys(ctx context.Context, keys []store.Key, out []store.StaticValue) error {
	if len(out) != len(keys) {
		return &store.BackendError{Backend: backend, Op: "BatchGetItem", Err: fmt.Errorf("%w: %d values for %d keys", store.ErrInvalid, len(out), len(keys))}
	}
	return s.readStatic(ctx, func(i int) store.Key { return keys[i] }, out)
}

// readStatic fills out[i] with the value of keyOf(i).
func (s *Store) readStatic(ctx context.Context, keyOf func(int) store.Key, out []store.StaticValue) error {
	clear(out)
	at := make(map[string][]int32, len(out)) // pk -> indexes of out
	pks := make([]string, 0, len(out))
	for i := range out {
		pk := keyOf(i).String()
		if _, dup := at[pk]; !dup {
			pks = append(pks, pk)
		}
		at[pk] = append(at[pk], int32(i))
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for start := 0; start < len(pks); start += batchGetLimit {
		chunk := pks[start:min(start+batchGetLimit, len(pks))]
		g.Go(func() error {
			items, err := s.batchGet(gctx, chunk)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, item := range items {
				pk, _ := stringAttr(item, "pk")
				idx, ok := at[pk]
				if !ok {
					continue
				}
				k := keyOf(int(idx[0]))
				raw, err := fromAttr(item.get("v"))
				if err == nil {
					var v store.Value
					if v, err = s.cfg.Values.DecodeStatic(k.Prefix, k.Feature, raw); err == nil {
						ts, _ := intAttr(item, "ts")
						for _, i := range idx {
							out[i] = store.StaticValue{Value: v, TS: ts}
						}
						continue
					}
				}
				return &store.BackendError{Backend: backend, Op: "BatchGetItem", Err: fmt.Errorf("%w: item %s: %v", store.ErrInvalid, pk, err)}
			}
			return nil
		})
	}
	return g.Wait()
}

// batchGet fetches the static items of pks (at most 100), retrying UnprocessedKeys.
func (s *Store) batchGet(ctx context.Context, pks []string) ([]item, error) {
	keys := make([]item, len(pks))
	for i, pk := range pks {
		keys[i] = staticKey(pk)
	}
	request := batchGet{
		keys:       keys,
		projection: "pk, #v, #ts",
		names:      map[string]string{"#v": "v", "#ts": "ts"},
		consistent: s.cfg.ConsistentRead,
	}
	var items []item
	for attempt := 0; ; attempt++ {
		n := len(request.keys)
		type result struct{ found, left []item }
		out, err := call(s, "BatchGetItem", n, func() (result, error) {
			f, l, err := s.db.batchGetItem(ctx, s.cfg.Table, request)
			return result{f, l}, err
		})
		if err != nil {
			if attempt > 0 { // keys were left over when the retry failed
				return nil, incomplete("BatchGetItem", fmt.Sprintf("%s: %d of %d keys still unprocessed", s.cfg.Table, n, len(pks)), err)
			}
			return nil, err
		}
		if items == nil {
			items = out.found
		} else {
			items = append(items, out.found...)
		}
		if len(out.left) == 0 {
			return items, nil
		}
		if attempt >= s.cfg.UnprocessedRetries || !s.sleepBackoff(ctx, attempt) {
			return nil, incomplete("BatchGetItem", fmt.Sprintf("%s: %d of %d keys still unprocessed after %d attempts%s",
				s.cfg.Table, len(out.left), len(pks), attempt+1, ctxNote(ctx)), nil)
		}
		request.keys = out.left
	}
}

// incomplete is the error of a batch call that gave up with items left unprocessed. cause is
// the error of the retry that failed, if one did.
func incomplete(op, what string, cause error) error {
	if cause == nil {
		return &store.BackendError{Backend: backend, Op: op, Err: fmt.Errorf("%w: %s", store.ErrIncomplete, what)}
	}
	var be *store.BackendError
	if errors.As(cause, &be) {
		cause = be.Err
	}
	return &store.BackendError{Backend: backend, Op: op, Err: fmt.Errorf("%w: %s: retry failed: %w", store.ErrIncomplete, what, cause)}
}

// ctxNote says why retrying stopped early, if the context is the reason.
func ctxNote(ctx context.Context) string {
	if err := ctx.Err(); err != nil {
		return " (" + err.Error() + ")"
	}
	if _, ok := ctx.Deadline(); ok {
		return " (the next retry would pass the request deadline)"
	}
	return ""
}

// WriteStatic implements store.StaticWriter with one conditional PutItem per write
// (`attribute_not_exists(pk) OR ts <= :ts`), run concurrently; BatchWriteItem cannot carry
// conditions. A write that loses the condition holds an older event and is dropped silently.
func (s *Store) WriteStatic(ctx context.Context, writes []store.StaticWrite) error {
	if err := s.writeVersions(ctx, writes); err != nil { // history.go
		return err
	}
	items := make([]item, len(writes))
	for i, w := range writes {
		v, err := valueAttr(w.Value)
		if err != nil {
			return &store.BackendError{Backend: backend, Op: "PutItem", Err: fmt.Errorf("%w: key %s: %v", store.ErrInvalid, w.Key, err)}
		}
		items[i] = append(staticKey(w.Key.String()), field{"v", v}, field{"ts", attrN(w.TS)})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for _, it := range items {
		g.Go(func() error {
			_, err := call(s, "PutItem", 1, func() (struct{}, error) {
				return struct{}{}, s.db.putItem(gctx, s.cfg.Table, it, condition{
					expr:   "attribute_not_exists(pk) OR #ts <= :ts",
					names:  map[string]string{"#ts": "ts"},
					values: map[string]attrValue{":ts": *it.get("ts")},
				})
			})
			if errorCode(err) == "ConditionalCheckFailedException" {
				return nil
			}
			return err
		})
	}
	return g.Wait()
}
