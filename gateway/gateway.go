// Package gateway assembles the HTTP server of featuregraph: the GraphQL endpoint (gqlgen
// handler with explicit transports, query cache, APQ and limits), the GraphiQL playground, the
// feature catalog, health and readiness checks, and the per-request dataloaders. server.go builds one from flags.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/catalog"
	"github.com/featuregraph/featuregraph/graph"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/playground"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/loader"
)

// Config holds the serving options. Every field documents its default.
type Config struct {
	Resolvers resolvers.Config
	Loader    loader.Config
	// RequestTimeout bounds every GraphQL request, backend calls included. Default 2s.
	RequestTimeout time.Duration
	// MaxBodyBytes limits a request body. Default 1 MiB.
	MaxBodyBytes int64
	// ParserTokenLimit limits the tokens of a query. Default 10000.
	ParserTokenLimit int
	// MaxDepth limits how deeply selections nest. Default 10.
	MaxDepth int
	// MaxComplexity limits the values a query may return: every field counts once per object it
	// is answered for, so a batch field multiplies its selection by its ids and an action field
	// by its effective count (clamped to maxCount and Resolvers.MaxCount). Default 200000
	// (1000 ids × 200 values).
	MaxComplexity int
	// QueryCacheSize is how many parsed and validated queries are kept. Default 1000.
	QueryCacheSize int
	// Introspection allows schema introspection (the playground needs it). Default true;
	// production mode turns it off.
	Introspection bool
	// Suggestions allows "did you mean" hints in validation errors. Default true; production
	// mode turns it off.
	Suggestions bool
	// Playground serves GraphiQL at / (its bundles, embedded in the binary, under /playground/),
	// with the query editor filled with an example from the registry. Default true; production
	// mode turns it off.
	Playground bool
	// Catalog serves the feature catalog at /catalog: every feature with its definition,
	// ingestion rules, an example query and the live figures of Metrics. Default true;
	// production mode turns it off unless asked for.
	Catalog bool
	// CatalogPeers are the /metrics URLs of other featuregraph processes (ingest workers, other
	// replicas) whose figures the catalog adds to this process's. Default none.
	CatalogPeers []string
	// Metrics, when set, instruments the handlers, counts feature reads and serves /metrics.
	// Default nil.
	Metrics *metrics.Metrics
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Resolvers:        resolvers.DefaultConfig(),
		Loader:           loader.DefaultConfig(),
		RequestTimeout:   2 * time.Second,
		MaxBodyBytes:     1 << 20,
		ParserTokenLimit: 10000,
		MaxDepth:         10,
		MaxComplexity:    200000,
		QueryCacheSize:   1000,
		Introspection:    true,
		Suggestions:      true,
		Playground:       true,
		Catalog:          true,
	}
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	if err := c.Resolvers.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Loader.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("request timeout %s must be positive", c.RequestTimeout))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max body bytes %d must be at least 1024", c.MaxBodyBytes))
	}
	if c.ParserTokenLimit < 100 {
		errs = append(errs, fmt.Errorf("parser token limit %d must be at least 100", c.ParserTokenLimit))
	}
	if c.MaxDepth < 2 {
		errs = append(errs, fmt.Errorf("max depth %d must be at least 2", c.MaxDepth))
	}
	if c.MaxComplexity < 10 {
		errs = append(errs, fmt.Errorf("max complexity %d must be at least 10", c.MaxComplexity))
	}
	for _, p := range c.CatalogPeers {
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("catalog peer %q must be an http(s) URL of a /metrics endpoint, like http://ingest-0:9091/metrics", p))
		}
	}
	if c.QueryCacheSize < 1 {
		errs = append(errs, fmt.Errorf("query cache size %d must be at least 1", c.QueryCacheSize))
	}
	return errors.Join(errs...)
}

// Gateway is the HTTP API.
type Gateway struct {
	cfg    Config
	reader store.Reader
	pinger store.Pinger
	mux    *http.ServeMux
	log    *slog.Logger
}

// New builds the gateway over a registry and a store. The registry must match the compiled
// schema (see resolvers.New).
func New(cfg Config, reg *registry.Registry, reader store.Reader, pinger store.Pinger, log *slog.Logger) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Metrics != nil {
		cfg.Resolvers.Recorder = cfg.Metrics
	}
	res, err := resolvers.New(reg, cfg.Resolvers)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	g := &Gateway{cfg: cfg, reader: reader, pinger: pinger, mux: http.NewServeMux(), log: log}
	g.Handle("/graphql", g.graphQL(reg, res))
	g.Handle("/healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	g.Handle("/readyz", http.HandlerFunc(g.ready))
	if cfg.Metrics != nil {
		g.mux.Handle("/metrics", cfg.Metrics.Handler())
	}
	if cfg.Playground {
		g.mux.Handle("/{$}", playground.Page(playground.Config{Endpoint: "/graphql", DefaultQuery: catalog.RegistryExample(reg)}))
		g.mux.Handle(playground.AssetPrefix, playground.Assets())
	}
	if cfg.Catalog {
		cc := catalog.Config{Peers: cfg.CatalogPeers}
		if cfg.Playground {
			cc.Playground = "/"
		}
		if cfg.Metrics != nil {
			cc.Figures = cfg.Metrics
		}
		g.Handle("/catalog", catalog.New(reg, cc))
	}
	return g, nil
}

// Handle mounts a handler, instrumented when metrics are on (ingestion's /v1/events uses it).
func (g *Gateway) Handle(pattern string, h http.Handler) {
	if g.cfg.Metrics != nil {
		h = g.cfg.Metrics.Instrument(pattern, h)
	}
	g.mux.Handle(pattern, h)
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

func (g *Gateway) graphQL(reg *registry.Registry, res *resolvers.Resolver) http.Handler {
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: res}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(fastPOST{}) // POST with a JSON body, both response media types: see transport.go
	srv.SetQueryCache(lru.New[*ast.QueryDocument](g.cfg.QueryCacheSize))
	srv.SetParserTokenLimit(g.cfg.ParserTokenLimit)
	srv.SetDisableSuggestion(!g.cfg.Suggestions)
	if g.cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](g.cfg.QueryCacheSize)})
	srv.Use(newQueryCost(reg, g.cfg.MaxDepth, g.cfg.MaxComplexity, g.cfg.Resolvers.MaxCount))
	srv.SetErrorPresenter(resolvers.ErrorPresenter)
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		g.log.ErrorContext(ctx, "panic in resolver", "panic", v)
		return gqlerror.Errorf("internal error")
	})
	var h http.Handler = srv
	h = loader.Middleware(g.reader, g.cfg.Loader, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
		defer cancel()
		r.Body = http.MaxBytesReader(w, r.Body, g.cfg.MaxBodyBytes)
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ready answers 200 when every backend answers a ping within a second, else 503 naming it.
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if g.pinger != nil {
		if err := g.pinger.Ping(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
