package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/featuregraph/featuregraph/store"
)

// batchGetLimit is the most keys one BatchGetItem may carry.
const batchGetLimit = 100

// ReadStatic implements store.StaticReader: the distinct keys go out in BatchGetItem calls of at
// most 100 keys, run concurrently (at most Config.Concurrency at once). Keys DynamoDB returns
// as UnprocessedKeys are retried with exponential backoff and jitter, within the context's
// deadline and Config.UnprocessedRetries rounds; keys still unprocessed then fail the call with
// an error wrapping store.ErrIncomplete, so "not fetched" never reads as "missing".
func (s *Store) ReadStatic(ctx context.Context, keys []store.Key) (map[store.Key]store.StaticValue, error) {
	byPK := make(map[string]store.Key, len(keys))
	var pks []string
	for _, k := range keys {
		pk := k.String()
		if _, dup := byPK[pk]; !dup {
			byPK[pk] = k
			pks = append(pks, pk)
		}
	}
	out := make(map[store.Key]store.StaticValue, len(pks))
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
				k, ok := byPK[pk]
				if !ok {
					continue
				}
				v, err := fromAttr(item["v"])
				if err != nil {
					return &store.BackendError{Backend: backend, Op: "BatchGetItem", Err: fmt.Errorf("%w: item %s: %v", store.ErrInvalid, pk, err)}
				}
				ts, _ := intAttr(item, "ts")
				out[k] = store.StaticValue{Value: v, TS: ts}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// batchGet fetches the static items of pks (at most 100), retrying UnprocessedKeys.
func (s *Store) batchGet(ctx context.Context, pks []string) ([]map[string]types.AttributeValue, error) {
	keys := make([]map[string]types.AttributeValue, len(pks))
	for i, pk := range pks {
		keys[i] = staticKey(pk)
	}
	request := map[string]types.KeysAndAttributes{s.cfg.Table: {
		Keys:                     keys,
		ProjectionExpression:     aws.String("pk, #v, #ts"),
		ExpressionAttributeNames: map[string]string{"#v": "v", "#ts": "ts"},
		ConsistentRead:           aws.Bool(s.cfg.ConsistentRead),
	}}
	var items []map[string]types.AttributeValue
	for attempt := 0; ; attempt++ {
		n := len(request[s.cfg.Table].Keys)
		out, err := call(s, "BatchGetItem", n, func() (*dynamodb.BatchGetItemOutput, error) {
			return s.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		})
		if err != nil {
			if attempt > 0 { // keys were left over when the retry failed
				return nil, incomplete("BatchGetItem", fmt.Sprintf("%s: %d of %d keys still unprocessed", s.cfg.Table, n, len(pks)), err)
			}
			return nil, err
		}
		items = append(items, out.Responses[s.cfg.Table]...)
		left := out.UnprocessedKeys[s.cfg.Table]
		if len(left.Keys) == 0 {
			return items, nil
		}
		if attempt >= s.cfg.UnprocessedRetries || !s.sleepBackoff(ctx, attempt) {
			return nil, incomplete("BatchGetItem", fmt.Sprintf("%s: %d of %d keys still unprocessed after %d attempts%s",
				s.cfg.Table, len(left.Keys), len(pks), attempt+1, ctxNote(ctx)), nil)
		}
		request = map[string]types.KeysAndAttributes{s.cfg.Table: left}
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
	items := make([]map[string]types.AttributeValue, len(writes))
	for i, w := range writes {
		v, err := toAttr(w.Value)
		if err != nil {
			return &store.BackendError{Backend: backend, Op: "PutItem", Err: fmt.Errorf("%w: key %s: %v", store.ErrInvalid, w.Key, err)}
		}
		items[i] = staticKey(w.Key.String())
		items[i]["v"], items[i]["ts"] = v, attrN(w.TS)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for _, item := range items {
		g.Go(func() error {
			_, err := call(s, "PutItem", 1, func() (*dynamodb.PutItemOutput, error) {
				return s.api.PutItem(gctx, &dynamodb.PutItemInput{
					TableName:                 aws.String(s.cfg.Table),
					Item:                      item,
					ConditionExpression:       aws.String("attribute_not_exists(pk) OR #ts <= :ts"),
					ExpressionAttributeNames:  map[string]string{"#ts": "ts"},
					ExpressionAttributeValues: map[string]types.AttributeValue{":ts": item["ts"]},
				})
			})
			var cond *types.ConditionalCheckFailedException
			if errors.As(err, &cond) {
				return nil
			}
			return err
		})
	}
	return g.Wait()
}
