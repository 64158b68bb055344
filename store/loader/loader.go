// Package loader holds the per-request dataloaders: every static lookup of one GraphQL request
// (including those made by joins) is batched into store.StaticReader calls and every action
// lookup into store.ActionReader calls, with a short, explicit batch wait.
package loader

import (
	"context"
	"errors"
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
	// StaticBatch is the most keys one static fetch carries. Default 1000 (the DynamoDB backend
	// splits a fetch into concurrent BatchGetItem calls of 100).
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

// Loaders are the dataloaders of one request.
type Loaders struct {
	Static  *dataloadgen.Loader[store.Key, store.StaticValue]
	Actions *dataloadgen.Loader[store.ActionQuery, []store.ActionEvent]
	// Now is the request's time: every time window of the request is computed from it, so equal
	// windows are equal keys and share one lookup.
	Now time.Time
}

// New returns fresh loaders over r.
func New(r store.Reader, cfg Config) *Loaders {
	return &Loaders{
		Static: dataloadgen.NewMappedLoader(r.ReadStatic,
			dataloadgen.WithWait(cfg.Wait), dataloadgen.WithBatchCapacity(cfg.StaticBatch)),
		Actions: dataloadgen.NewMappedLoader(r.ReadActions,
			dataloadgen.WithWait(cfg.Wait), dataloadgen.WithBatchCapacity(cfg.ActionBatch)),
		Now: time.Now(),
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

// IsMissing reports whether err only says that a mapped loader found no value for the key.
func IsMissing(err error) bool { return errors.Is(err, dataloadgen.ErrNotFound) }
