// Package loader holds the per-request dataloaders: every static lookup of one GraphQL request
// (including those made by joins) is batched into store.StaticReader calls and every action
// lookup into store.ActionReader calls, with a short, explicit batch wait.
package loader

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/featuregraph/featuregraph/store"
)

// Config tunes the loaders.
type Config struct {
	// Wait is how long a loader collects keys before it fetches them. Default 500µs: long
	// enough for sibling resolvers to join a batch, far below dataloadgen's 16 ms default.
	Wait time.Duration
	// StaticBatch is the most entities one static fetch carries. Default 1000 (the DynamoDB
	// backend splits a fetch into concurrent BatchGetItem calls of 100 feature keys).
	StaticBatch int
	// ActionBatch is the most queries one action fetch (one Redis pipeline) carries. Default 500.
	ActionBatch int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{Wait: 500 * time.Microsecond, StaticBatch: 1000, ActionBatch: 500}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Wait < 0 || c.Wait > time.Second:
		return fmt.Errorf("loader: batch wait %s must be between 0 and 1s", c.Wait)
	case c.StaticBatch < 1:
		return fmt.Errorf("loader: static batch capacity %d must be at least 1", c.StaticBatch)
	case c.ActionBatch < 1:
		return fmt.Errorf("loader: action batch capacity %d must be at least 1", c.ActionBatch)
	}
	return nil
}

// Features is a list of static feature names of one entity. A loadEntities call makes one and
// shares it by pointer among its keys, so the loader keys stay small and comparable.
type Features struct {
	Names []string
}

// EntityKey asks for some static features of one entity: one dataloader key per entity, not
// per feature (a batch of 200 articles × 4 features is 200 keys, not 800).
type EntityKey struct {
	Prefix, ID string
	Features   *Features
}

// EntityValues are the values of an EntityKey's features, in its order; nil where none is stored.
type EntityValues []*store.StaticValue

// Loaders are the dataloaders of one request.
type Loaders struct {
	Static  *dataloadgen.Loader[EntityKey, EntityValues]
	Actions *dataloadgen.Loader[store.ActionQuery, []store.ActionEvent]
	// History reads static features as of a past instant (asOf), see history.go.
	History *dataloadgen.Loader[HistoryKey, *store.StaticValue]
	// Now is the request's time: every time window of the request is computed from it, so equal
	// windows are equal keys and share one lookup.
	Now time.Time
}

// New returns fresh loaders over r.
func New(r store.Reader, cfg Config) *Loaders {
	return &Loaders{
		Static: dataloadgen.NewMappedLoader(func(ctx context.Context, keys []EntityKey) (map[EntityKey]EntityValues, error) {
			return readEntities(ctx, r, keys)
		}, dataloadgen.WithWait(cfg.Wait), dataloadgen.WithBatchCapacity(cfg.StaticBatch)),
		Actions: dataloadgen.NewMappedLoader(r.ReadActions,
			dataloadgen.WithWait(cfg.Wait), dataloadgen.WithBatchCapacity(cfg.ActionBatch)),
		History: newHistory(r, cfg),
		Now:     time.Now(),
	}
}

type ctxKey struct{}

// With returns ctx carrying l.
func With(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// For returns the loaders of the request, or nil when the request has none.
func For(ctx context.Context) *Loaders {
	l, _ := ctx.Value(ctxKey{}).(*Loaders)
	return l
}

// Middleware gives every request its own loaders.
func Middleware(r store.Reader, cfg Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		next.ServeHTTP(w, req.WithContext(With(req.Context(), New(r, cfg))))
	})
}

// readEntities is the static fetch: one ReadStatic with every feature key of the batch (each
// store key once), spread back over the entities.
func readEntities(ctx context.Context, r store.StaticReader, keys []EntityKey) (map[EntityKey]EntityValues, error) {
	n := 0
	for _, k := range keys {
		n += len(k.Features.Names)
	}
	skeys := make([]store.Key, 0, n)
	seen := make(map[store.Key]struct{}, n)
	for _, k := range keys {
		for _, f := range k.Features.Names {
			sk := store.Key{Prefix: k.Prefix, ID: k.ID, Feature: f}
			if _, dup := seen[sk]; !dup {
				seen[sk] = struct{}{}
				skeys = append(skeys, sk)
			}
		}
	}
	vals, err := r.ReadStatic(ctx, skeys)
	if err != nil {
		return nil, err
	}
	out := make(map[EntityKey]EntityValues, len(keys))
	all := make([]store.StaticValue, 0, len(vals))
	for _, k := range keys {
		ev := make(EntityValues, len(k.Features.Names))
		for i, f := range k.Features.Names {
			if v, ok := vals[store.Key{Prefix: k.Prefix, ID: k.ID, Feature: f}]; ok {
				all = append(all, v)
				ev[i] = &all[len(all)-1]
			}
		}
		out[k] = ev
	}
	return out, nil
}
