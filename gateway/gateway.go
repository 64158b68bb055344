// Package gateway assembles the HTTP server of featuregraph: the GraphQL endpoint (gqlgen
// handler with explicit transports, query cache, APQ and limits), the GraphiQL playground, the
// feature catalog, health and readiness checks, and the per-request dataloaders. server.go builds one from flags.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/auth"
	"github.com/featuregraph/featuregraph/catalog"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/plan"
	"github.com/featuregraph/featuregraph/playground"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers/loader"
	"github.com/featuregraph/featuregraph/serving"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/tracing"
)

// Config holds the serving options. Every field documents its default.
type Config struct {
	// Resolvers holds the serving limits (ids per batch field, count cap) and the read counter.
	Resolvers serving.Config
	// Loader configures the per-request dataloaders of a Schema given below (the generated
	// executor); the run-time executor needs none.
	Loader loader.Config
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
	// QueryCacheSize is how many parsed and validated queries are kept (and APQ entries).
	// Default 1000.
	QueryCacheSize int
	// QueryCacheBytes bounds the memory of each of those caches (estimated: the query text plus
	// about 300 bytes per selection). Default 32 MiB.
	QueryCacheBytes int64
	// MaxInputList bounds every list in the arguments of a query (a filter's `in` list, ...),
	// variables included; ids lists are bounded by Resolvers.MaxIDs instead. Every list element
	// and input-object field also counts one value in the query's cost (MaxComplexity and
	// admission). 0: the default, 1000.
	MaxInputList int
	// MaxSelections, MaxSetFields and MaxRepeats bound the shape of a query before it is
	// validated: selections in all (fields, fragment spreads, inline fragments), fields of one
	// selection set with its fragments flattened, and repeats of one response name in a set.
	// Defaults 2000, 500 and 20.
	MaxSelections, MaxSetFields, MaxRepeats int
	// MaxInFlight bounds the GraphQL requests being served at once; up to MaxQueue more wait at
	// most QueueWait for a slot, and the others are answered 503 with Retry-After at once.
	// Defaults 64, 256, 250ms.
	MaxInFlight, MaxQueue int
	QueueWait             time.Duration
	// MaxInFlightValues bounds the values (the cost of MaxComplexity) of the requests being
	// executed at once, and so the memory of the answers being built; a request that does not
	// get its share within QueueWait is answered 503. At least MaxComplexity. Default 400,000
	// (measured: about 700 bytes of heap per value in flight).
	MaxInFlightValues int64
	// CheapCost is the cost (values) up to which an operation is cheap: it is admitted at once,
	// without cost units; heavier ones take a place in the heavy lane (MaxHeavyInFlight) or are
	// answered 503 at once, then their cost units (MaxInFlightValues). During a flood of heavy
	// queries cheap ones keep being served. Default 256; 0: the default.
	CheapCost int
	// MaxHeavyInFlight bounds the heavy operations executed at once (the heavy lane). Default
	// 0: three quarters of MaxInFlight (at least 1), so a quarter of the slots stay for cheap
	// operations.
	MaxHeavyInFlight int
	// WriteGrace is how long after RequestTimeout the answer may take to be written (a client
	// that does not read it is cut off then). Default 2s.
	WriteGrace time.Duration
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
	// Executor, when set, builds the executable schema served instead of the registry's
	// run-time one (plan.ExecutableSchema): resolvers.NewExecutableSchema, the generated
	// reference executor, for the differential tests and the benchmarks. It is given the
	// registry and Resolvers, and its requests get the per-request dataloaders (Loader).
	// Default nil: the run-time executor, built from the registry when the gateway starts.
	Executor func(*registry.Registry, serving.Config) (graphql.ExecutableSchema, error)
	// PlanObserver is told about every store read step of a plan (the tracing hook, see package
	// plan). Default nil: none.
	PlanObserver plan.StepObserver
	// Services fetches the service features of the registry (plan.ServiceFetcher). Default:
	// service.New with the default options, reporting to Metrics when set (services.go).
	Services plan.ServiceFetcher
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
	// Tracer, when on, makes a span of every request (honouring the caller's W3C trace
	// context), of its GraphQL operation and of each resolver-backed field; see tracing.go. The
	// store spans come from the store (store/traced). Default off: nothing is installed.
	Tracer tracing.Tracer
	// ServedLog, when set, receives the features read for every sampled request, keyed by its
	// request id (see servedlog.go). Default nil: nothing is logged.
	ServedLog ServedLogger
	// Offline gives the offline sink's status to the catalog (offline.Pipeline.Status). Default
	// nil: none.
	Offline func() offline.Status
	// Access is access control: the clients file's policy, trusted documents, the audit log
	// (access.go). Default: off.
	Access AccessConfig
	// RegistryStatus gives which registry is served and how its latest reload went, for
	// /readyz and the catalog (see generation.go). Default nil: /readyz names the fingerprint of
	// the registry given to New or Build only.
	RegistryStatus func() catalog.RegistryStatus
	// RegistryExtension adds extensions.registry = {"fingerprint": ...} to every GraphQL
	// answer, naming the registry that answered it. Default false.
	RegistryExtension bool
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Resolvers:         serving.DefaultConfig(),
		Loader:            loader.DefaultConfig(),
		RequestTimeout:    2 * time.Second,
		MaxBodyBytes:      1 << 20,
		ParserTokenLimit:  10000,
		MaxDepth:          10,
		MaxComplexity:     200000,
		QueryCacheSize:    1000,
		QueryCacheBytes:   32 << 20,
		MaxSelections:     2000,
		MaxSetFields:      500,
		MaxRepeats:        20,
		MaxInputList:      1000,
		CheapCost:         defaultCheapCost,
		MaxInFlight:       64,
		MaxQueue:          256,
		QueueWait:         250 * time.Millisecond,
		MaxInFlightValues: 400000,
		WriteGrace:        2 * time.Second,
		Introspection:     true,
		Suggestions:       true,
		Playground:        true,
		Catalog:           true,
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
	if c.QueryCacheBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("query cache bytes %d must be at least 1 MiB", c.QueryCacheBytes))
	}
	if c.MaxSelections < 10 || c.MaxSetFields < 10 || c.MaxRepeats < 1 {
		errs = append(errs, fmt.Errorf("max selections %d, max set fields %d and max repeats %d must be at least 10, 10 and 1",
			c.MaxSelections, c.MaxSetFields, c.MaxRepeats))
	}
	if c.MaxInFlight < 1 || c.MaxQueue < 0 || c.QueueWait < 0 {
		errs = append(errs, fmt.Errorf("max in flight %d must be positive, max queue %d and queue wait %s not negative",
			c.MaxInFlight, c.MaxQueue, c.QueueWait))
	}
	if c.CheapCost < 0 || c.MaxHeavyInFlight < 0 {
		errs = append(errs, fmt.Errorf("cheap cost %d and max heavy in flight %d must not be negative (0: the default)", c.CheapCost, c.MaxHeavyInFlight))
	}
	if c.MaxInputList < 0 {
		errs = append(errs, fmt.Errorf("max input list %d must not be negative (0: the default)", c.MaxInputList))
	}
	if c.WriteGrace <= 0 {
		errs = append(errs, fmt.Errorf("write grace %s must be positive", c.WriteGrace))
	}
	if err := c.Access.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxInFlightValues < int64(c.MaxComplexity) {
		errs = append(errs, fmt.Errorf("max in-flight values %d must be at least max complexity %d", c.MaxInFlightValues, c.MaxComplexity))
	}
	return errors.Join(errs...)
}

const defaultCheapCost = 256

// maxHeavy is the size of the heavy lane.
func (c Config) maxHeavy() int {
	if c.MaxHeavyInFlight > 0 {
		return c.MaxHeavyInFlight
	}
	return max(1, c.MaxInFlight*3/4)
}

// Gateway is the HTTP API.
type Gateway struct {
	cfg    Config
	reader store.Reader
	pinger store.Pinger
	mux    *http.ServeMux
	log    *slog.Logger
	adm    *admission
	audit  *auditor // access.go, audit.go; nil: neither auditing nor access control
	// policy is the access policy served (Config.Access.Policy, then SetPolicy's); nil: off.
	policy atomic.Pointer[auth.Policy]
	// draining makes /readyz fail while the server shuts down (see SetDraining).
	draining atomic.Bool
	// gen is what the registry being served determines (generation.go): a request loads it
	// once and uses only that.
	gen atomic.Pointer[Generation]
}

// SetDraining makes /readyz answer 503 "draining" (or ready again), so that load balancers stop
// sending requests before the listener closes.
func (g *Gateway) SetDraining(on bool) { g.draining.Store(on) }

// Rejected is how many requests admission control refused so far.
func (g *Gateway) Rejected() int64 { return g.adm.rejected.Load() }

// New builds the gateway over a registry and a store: any valid registry, whatever the binary
// was generated from (the schema and its executor are built from it here).
func New(cfg Config, reg *registry.Registry, reader store.Reader, pinger store.Pinger, log *slog.Logger) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Metrics != nil {
		cfg.Resolvers.Recorder = cfg.Metrics
	}
	if cfg.MaxInputList == 0 {
		cfg.MaxInputList = DefaultConfig().MaxInputList
	}
	if cfg.CheapCost == 0 {
		cfg.CheapCost = defaultCheapCost
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.ServedLog != nil {
		reader = newServedReader(reader)
	}
	g := &Gateway{cfg: cfg, reader: reader, pinger: pinger, mux: http.NewServeMux(), log: log,
		adm:   newAdmission(cfg.MaxInFlight, cfg.MaxQueue, cfg.QueueWait, cfg.MaxInFlightValues, cfg.CheapCost, cfg.maxHeavy()),
		audit: newAuditor(cfg.Access)}
	g.policy.Store(cfg.Access.Policy)
	if cfg.Access.Policy != nil && cfg.Executor != nil {
		return nil, errors.New("access control needs the run-time executor (Config.Executor must be nil): it is enforced in the plans")
	}
	gen, err := g.Build(reg, RegistryInfo{})
	if err != nil {
		return nil, err
	}
	g.Publish(gen)
	g.Handle("/graphql", g.graphQL())
	g.Handle("/healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	g.Handle("/readyz", http.HandlerFunc(g.ready))
	if cfg.Metrics != nil {
		g.mux.Handle("/metrics", cfg.Metrics.Handler())
	}
	if cfg.Playground {
		g.mux.Handle("/{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.gen.Load().page.ServeHTTP(w, r) }))
		g.mux.Handle(playground.AssetPrefix, playground.Assets())
	}
	if cfg.Catalog {
		g.Handle("/catalog", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.gen.Load().catalog.ServeHTTP(w, r) }))
	}
	return g, nil
}

// Handle mounts a handler, instrumented when metrics are on and traced when tracing is on (but
// the probes), as ingestion's /v1/events is.
func (g *Gateway) Handle(pattern string, h http.Handler) {
	if g.cfg.Tracer.Enabled() && pattern != "/healthz" && pattern != "/readyz" {
		h = traceHTTP(g.cfg.Tracer, pattern, h)
	}
	if g.cfg.Metrics != nil {
		h = g.cfg.Metrics.Instrument(pattern, h)
	}
	g.mux.Handle(pattern, h)
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.serve(w, r) }

// present is the error presenter of every GraphQL answer.
func present(ctx context.Context, err error) *gqlerror.Error {
	return shortError(deadlineError(ctx, err, serving.ErrorPresenter(ctx, err)))
}

// buildGraphQL is the GraphQL server of one registry: its executor and compiled plans, its
// parsed-query and APQ caches, its cost table. graphQL serves it behind the limits that do not
// depend on the registry.
func (g *Gateway) buildGraphQL(reg *registry.Registry, info RegistryInfo) (http.Handler, error) {
	var es graphql.ExecutableSchema
	var ex *plan.Executor
	if g.cfg.Executor != nil {
		var err error
		if es, err = g.cfg.Executor(reg, g.cfg.Resolvers); err != nil {
			return nil, err
		}
	} else {
		// The run-time executor: plans over the registry's schema. Plans bypass gqlgen's field
		// middleware (so no graphql.resolve spans); when tracing is on, their steps are traced
		// instead (plan.static_read, plan.action_read; planSteps), under the operation span.
		observer := g.cfg.PlanObserver
		if observer == nil && g.cfg.Tracer.Enabled() {
			observer = planSteps{g.cfg.Tracer}
		}
		var err error
		ex, err = plan.New(reg, g.reader, plan.Config{
			MaxIDs: g.cfg.Resolvers.MaxIDs, MaxCount: g.cfg.Resolvers.MaxCount, Recorder: g.cfg.Resolvers.Recorder,
			Presenter: present, CacheSize: g.cfg.QueryCacheSize, Observer: observer,
			Services: g.services(reg),
		})
		if err != nil {
			return nil, err
		}
		es = ex.ExecutableSchema()
	}
	srv := handler.New(es)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(fastPOST{})       // the common case, see transport.go
	srv.AddTransport(transport.POST{}) // other Accept types
	srv.AddTransport(unsupported{})    // last: says what is accepted instead of "transport not supported"
	queries := newByteLRU(g.cfg.QueryCacheSize, g.cfg.QueryCacheBytes, docWeight)
	srv.SetQueryCache(queries)
	srv.SetParserTokenLimit(g.cfg.ParserTokenLimit)
	srv.SetDisableSuggestion(!g.cfg.Suggestions)
	if g.cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	var apq graphql.Cache[string] = newByteLRU(g.cfg.QueryCacheSize, g.cfg.QueryCacheBytes,
		func(k, v string) int64 { return int64(len(k)+len(v)) + 128 })
	if t := g.cfg.Access.TrustedDocuments; t != nil {
		apq = trustedAPQ{t: t, next: apq}
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: apq})
	// After APQ, so that the query text is known; for every transport.
	srv.Use(intVariables{cache: queries})
	// After APQ, so that the query text is known; it converts the Int variables of the texts
	// intVariables did not find in the cache.
	srv.Use(&shapeLimits{cache: queries, tokenLimit: g.cfg.ParserTokenLimit,
		maxSelections: g.cfg.MaxSelections, maxSetFields: g.cfg.MaxSetFields, maxRepeats: g.cfg.MaxRepeats})
	if g.cfg.Access.Policy != nil || g.cfg.Access.TrustedDocuments != nil || g.audit != nil {
		// Before the cost: a refused operation takes no cost units.
		srv.Use(&accessCheck{ex: ex, trusted: g.cfg.Access.TrustedDocuments, mode: g.cfg.Access.TrustedMode, log: g.log})
	}
	srv.Use(newQueryCost(reg, g.cfg.MaxDepth, g.cfg.MaxComplexity, g.cfg.Resolvers.MaxCount, g.cfg.MaxInputList))
	if g.cfg.Tracer.Enabled() {
		srv.Use(tracingExtension{t: g.cfg.Tracer})
	}
	srv.Use(errorCap{})
	if g.cfg.ServedLog != nil {
		srv.Use(servedOperation{log: g.cfg.ServedLog, fingerprint: info.Fingerprint}) // this generation's registry
	}
	// It answers, for either executor, a request whose context ended (plan.Answer names the
	// backend a plan was cut short on).
	srv.Use(endedStop{})
	if g.cfg.RegistryExtension {
		srv.Use(registryExtension{fingerprint: info.Fingerprint})
	}
	srv.SetErrorPresenter(present)
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		g.log.ErrorContext(ctx, "panic in resolver", "panic", v)
		return gqlerror.Errorf("internal error")
	})
	var h http.Handler = srv
	if g.cfg.Executor != nil {
		h = loader.Middleware(g.reader, g.cfg.Loader, h) // the generated executor's dataloaders
	}
	return h, nil
}

// graphQL is the /graphql handler: deadline, request id, body limit and admission, then the
// GraphQL server of the generation being served when the request is admitted.
func (g *Gateway) graphQL() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
		defer cancel()
		id := requestID(r)
		w.Header().Set(RequestIDHeader, id)
		if g.cfg.ServedLog != nil {
			c := &capture{log: g.cfg.ServedLog, id: id, time: time.Now().UTC()}
			ctx = context.WithValue(ctx, captureKey{}, c)
			defer c.finish()
		}
		// A client that does not read its answer holds this request (its slot, its buffers) at
		// most WriteGrace past the deadline. (Ignored where the writer cannot, as in tests.)
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(g.cfg.RequestTimeout + g.cfg.WriteGrace))
		if r.Body != nil && r.Body != http.NoBody {
			// Read whole (bounded) before any work, so that an oversized body is a short 413
			// whatever the transport.
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.cfg.MaxBodyBytes))
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					writeGraphQLError(w, http.StatusRequestEntityTooLarge, codeTooLarge,
						fmt.Sprintf("the request body is larger than %d bytes (--max-body-bytes)", g.cfg.MaxBodyBytes))
					return
				}
				writeGraphQLError(w, http.StatusBadRequest, codeBadRequest, "reading the request body: "+excerpt(err.Error(), 200))
				return
			}
			r.Body = bufferedBody{bytes.NewReader(b), b}
		}
		ctx, releaseBuffers := plan.WithBuffers(ctx)
		defer releaseBuffers()
		req := &request{adm: g.adm}
		release, ok := g.adm.enterFor(ctx, fairKey(ctx), req)
		if !ok {
			writeGraphQLError(w, http.StatusServiceUnavailable, codeOverloaded, overloadMessage(g.adm))
			return
		}
		defer release()
		defer req.release()
		// One load: the whole request runs on this generation, whatever is published meanwhile.
		g.gen.Load().gql.ServeHTTP(&overloadWriter{ResponseWriter: w, req: req}, r.WithContext(context.WithValue(ctx, requestKey{}, req)))
	})
}

// deadlineError reports a backend error caused by the request's own deadline as the gateway's
// timeout (code TIMEOUT, the backend still named), not as a failure of the backend.
func deadlineError(ctx context.Context, err error, e *gqlerror.Error) *gqlerror.Error {
	if e == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) || e.Extensions["code"] != "BACKEND_ERROR" ||
		!(errors.Is(err, context.DeadlineExceeded) || errors.Is(e, context.DeadlineExceeded)) {
		return e
	}
	e.Message = fmt.Sprintf("the request deadline passed before %v answered (the gateway is overloaded or the backend slow)", e.Extensions["backend"])
	e.Extensions["code"] = codeTimeout
	return e
}

// ready answers 200 when every backend answers a ping within a second, else 503 naming it. The
// answer names the registry served and its latest reload (registry).
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	ans := map[string]any{"registry": g.registryStatus()}
	if g.draining.Load() {
		ans["status"] = "draining"
		writeJSON(w, http.StatusServiceUnavailable, ans)
		return
	}
	if g.pinger != nil {
		if err := g.pinger.Ping(ctx); err != nil {
			ans["status"], ans["error"] = "unavailable", err.Error()
			writeJSON(w, http.StatusServiceUnavailable, ans)
			return
		}
	}
	ans["status"] = "ready"
	if d, ok := store.As[store.Degrader](g.pinger); ok {
		if names := d.Degraded(); len(names) > 0 {
			// Still ready: reads fall back to the source of truth.
			ans["degraded"] = strings.Join(names, ",")
		}
	}
	writeJSON(w, http.StatusOK, ans)
}

// Degraded names the backends the store serves without (see tiered.Store.Degraded).
func (g *Gateway) Degraded() []string {
	if d, ok := store.As[store.Degrader](g.pinger); ok {
		return d.Degraded()
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
