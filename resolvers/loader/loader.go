// Package loader holds the per-request dataloaders: every static lookup of one GraphQL request
// (including those made by joins) is batched into store.StaticReader calls and every action
// lookup into store.ActionReader calls, with a short, explicit batch wait.
package loader

import (
	"context"
	"fmt"
	"net/http"
	"sync"
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

// EntityValues are the values of an EntityKey's features, in its order; Kind Absent where none
// is stored.
type EntityValues []store.StaticValue

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

// lazy makes a request's loaders on first use: a request that never reaches gqlgen's resolvers
// (one served by a compiled plan) allocates none.
type lazy struct {
	once sync.Once
	l    *Loaders
	new  func() *Loaders
}

func (z *lazy) get() *Loaders {
	z.once.Do(func() { z.l = z.new() })
	return z.l
}

// With returns ctx carrying l.
func With(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, ctxKey{}, &lazy{l: l, new: func() *Loaders { return l }})
}

// For returns the loaders of the request, or nil when the request has none.
func For(ctx context.Context) *Loaders {
	z, _ := ctx.Value(ctxKey{}).(*lazy)
	if z == nil {
		return nil
	}
	return z.get()
}

// Middleware gives every request its own loaders, made when a resolver first asks for them.
func Middleware(r store.Reader, cfg Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		z := &lazy{new: func() *Loaders { return New(r, cfg) }}
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), ctxKey{}, z)))
	})
}

// readEntities is the static fetch: one ReadStatic per entity kind (prefix) of the batch, for
// each entity once and the union of the features its keys ask for, spread back over the keys.
func readEntities(ctx context.Context, r store.StaticReader, keys []EntityKey) (map[EntityKey]EntityValues, error) {
	type group struct {
		q       store.StaticQuery
		entity  map[string]int // id -> index in q.IDs
		feature map[string]int // name -> index in q.Features
	}
	var groups []*group
	byPrefix := make(map[string]*group, 1)
	for _, k := range keys {
		g := byPrefix[k.Prefix]
		if g == nil {
			g = &group{q: store.StaticQuery{Prefix: k.Prefix}, entity: map[string]int{}, feature: map[string]int{}}
			byPrefix[k.Prefix] = g
			groups = append(groups, g)
		}
		if _, seen := g.entity[k.ID]; !seen {
			g.entity[k.ID] = len(g.q.IDs)
			g.q.IDs = append(g.q.IDs, k.ID)
		}
		for _, f := range k.Features.Names {
			if _, seen := g.feature[f]; !seen {
				g.feature[f] = len(g.q.Features)
				g.q.Features = append(g.q.Features, f)
			}
		}
	}
	vals := make(map[*group][]store.StaticValue, len(groups))
	for _, g := range groups {
		v := make([]store.StaticValue, g.q.Len())
		if err := r.ReadStatic(ctx, g.q, v); err != nil {
			return nil, err
		}
		vals[g] = v
	}
	out := make(map[EntityKey]EntityValues, len(keys))
	for _, k := range keys {
		g := byPrefix[k.Prefix]
		nf := len(g.q.Features)
		row := vals[g][g.entity[k.ID]*nf : (g.entity[k.ID]+1)*nf : (g.entity[k.ID]+1)*nf]
		if len(k.Features.Names) == nf {
			same := true
			for j, f := range k.Features.Names {
				if g.q.Features[j] != f {
					same = false
					break
				}
			}
			if same { // the common case: every key asks for the same features
				out[k] = row
				continue
			}
		}
		ev := make(EntityValues, len(k.Features.Names))
		for j, f := range k.Features.Names {
			ev[j] = row[g.feature[f]]
		}
		out[k] = ev
	}
	return out, nil
}
