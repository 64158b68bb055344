package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/internal/app"
	"github.com/featuregraph/featuregraph/metrics"
)

// serveCmd is `featuregraph serve`, the default command.
type serveCmd struct {
	features  string
	log       app.LogOptions
	store     app.StoreOptions
	adminAddr string
	gateway   gateway.Config

	addr            string
	demo            optionalBool
	push            optionalBool
	catalog         optionalBool
	catalogPeers    string
	production      bool
	shutdownTimeout time.Duration
	shutdownDrain   time.Duration
	offline         offlineOptions
	access          accessOptions // access.go
	live            app.LiveOptions
}

func (c *serveCmd) flags(fs *flag.FlagSet) {
	app.FeaturesFlag(fs, &c.features)
	c.log.Flags(fs)
	c.store.Flags(fs)
	app.AdminFlag(fs, &c.adminAddr)
	c.offline.flags(fs)
	c.access.flags(fs)
	c.live.Flags(fs)
	g := &c.gateway
	*g = gateway.DefaultConfig()
	fs.BoolVar(&g.RegistryExtension, "registry-extension", false, "add extensions.registry {fingerprint} to every GraphQL answer: the registry that answered it")
	fs.StringVar(&c.addr, "addr", ":8080", "address to listen on")
	fs.Var(&c.demo, "demo", "load the example registry's demo events into the store at start (default: on for the in-memory store only)")
	fs.Var(&c.push, "push", "serve POST /v1/events, which writes features (default: on, off with --production)")
	fs.Var(&c.catalog, "catalog", "serve the feature catalog at /catalog (default: on, off with --production)")
	fs.StringVar(&c.catalogPeers, "catalog-peers", "", "comma-separated /metrics URLs of other featuregraph processes (ingest workers, replicas) whose live figures the catalog adds")
	fs.BoolVar(&c.production, "production", false, "production mode: needs --clients (or --auth=none); no playground, no introspection, no field suggestions, no push endpoint unless --push, no catalog unless --catalog")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "the whole shutdown after SIGTERM: drain, in-flight requests, flushing pushed events")
	fs.DurationVar(&c.shutdownDrain, "shutdown-drain", 5*time.Second, "after SIGTERM, how long /readyz fails before the listener closes (at most half of --shutdown-timeout); ends early when no load balancer polled /readyz in the last minute and no request came in the last second")
	fs.IntVar(&g.MaxInFlight, "max-in-flight", g.MaxInFlight, "GraphQL requests served at once; more wait in a short queue, then get 503")
	fs.IntVar(&g.MaxQueue, "max-queue", g.MaxQueue, "GraphQL requests waiting for a slot; more get 503 at once")
	fs.DurationVar(&g.QueueWait, "queue-wait", g.QueueWait, "longest wait for a slot (or for the in-flight values budget) before 503")
	fs.Int64Var(&g.MaxInFlightValues, "max-in-flight-values", g.MaxInFlightValues, "values (query cost) of the requests executed at once: bounds the memory of answers being built")
	fs.IntVar(&g.CheapCost, "cheap-cost", g.CheapCost, "query cost (values) up to which an operation is cheap: admitted at once, never queued behind heavy ones")
	fs.IntVar(&g.MaxHeavyInFlight, "max-heavy-in-flight", g.MaxHeavyInFlight, "heavier operations executed at once; more get 503 at once (0: three quarters of --max-in-flight)")
	fs.Int64Var(&g.QueryCacheBytes, "query-cache-bytes", g.QueryCacheBytes, "memory of the parsed-query cache (and of the APQ cache)")
	fs.DurationVar(&g.RequestTimeout, "request-timeout", g.RequestTimeout, "deadline of one GraphQL request, backend calls included")
	fs.Int64Var(&g.MaxBodyBytes, "max-body-bytes", g.MaxBodyBytes, "largest request body accepted")
	fs.IntVar(&g.ParserTokenLimit, "max-tokens", g.ParserTokenLimit, "most tokens a query may have")
	fs.IntVar(&g.MaxDepth, "max-depth", g.MaxDepth, "deepest selection nesting a query may have")
	fs.IntVar(&g.MaxComplexity, "max-complexity", g.MaxComplexity, "most values a query may return (fields × ids × count)")
	fs.IntVar(&g.MaxInputList, "max-input-list", g.MaxInputList, "longest list in a query's arguments (a filter's in list, ...), variables included; each element counts one value of the query's cost")
	fs.IntVar(&g.QueryCacheSize, "query-cache-size", g.QueryCacheSize, "parsed queries kept in the cache (and APQ entries)")
	fs.IntVar(&g.Resolvers.MaxIDs, "max-ids", g.Resolvers.MaxIDs, "most ids one batch field (users(ids:)) accepts")
	fs.IntVar(&g.Resolvers.MaxCount, "max-count", g.Resolvers.MaxCount, "largest count an action field returns (on top of each feature's maxCount)")
	fs.Bool("plans", true, "deprecated, ignored: every operation runs on the run-time executor (compiled plans)")
	fs.DurationVar(&g.Loader.Wait, "batch-wait", g.Loader.Wait, "how long the dataloaders collect keys before one batched store call (gqlgen's executor only)")
	fs.IntVar(&g.Loader.StaticBatch, "static-batch", g.Loader.StaticBatch, "most entities (each with its selected static features) in one batched store call")
	fs.IntVar(&g.Loader.ActionBatch, "action-batch", g.Loader.ActionBatch, "most action lookups in one Redis pipeline")
}

func (c *serveCmd) run(ctx context.Context, e *env) error {
	if c.production && !c.store.Configured() {
		return errors.New("--production needs a store: give --dynamodb-endpoint, --dynamodb-region or --dynamodb-table " +
			"(and --redis-addr); the in-memory store is for trying featuregraph out")
	}
	if err := c.access.check(c.production); err != nil {
		return err
	}
	prov, err := app.StartTracing(ctx, e.getenv, e.stderr, &c.store)
	if err != nil {
		return err
	}
	defer app.StopTracing(ctx, prov, c.shutdownTimeout, e.stderr)
	log, err := e.logger(c.log)
	if err != nil {
		return err
	}
	m := metrics.New()
	rt, err := app.SetupLive(ctx, log, c.features, c.live, &c.store, m)
	if err != nil {
		return err
	}
	reg, st := rt.Reg, rt.Store
	defer st.Close()

	cfg := c.gateway
	cfg.Metrics = m
	cfg.Tracer = prov.Tracer()
	if prov != nil {
		log.Info("tracing on", "exporters", prov.Exporters)
	}
	if c.production {
		cfg.Playground, cfg.Introspection, cfg.Suggestions = false, false, false
	}
	cfg.Catalog = c.catalog.value || (!c.catalog.set && !c.production)
	cfg.CatalogPeers = app.SplitList(c.catalogPeers)
	cfg.RegistryStatus = rt.Live.Status
	off, err := c.offline.open(ctx, reg, log, m, nil, true)
	if err != nil {
		return err
	}
	defer closeOffline(ctx, off, log)
	if sl := off.ServedLog(); sl != nil {
		cfg.ServedLog = sl
	}
	if off != nil {
		cfg.Offline = off.Status
	}
	if err := c.access.open(reg, log, &cfg.Access); err != nil {
		return err
	}
	defer c.access.close()
	g, err := gateway.New(cfg, reg, st, st, log)
	if err != nil {
		return err
	}
	if err := app.FirstGeneration(g, rt.Live); err != nil {
		return err
	}
	m.Degraded([]string{"redis", "dynamodb"}, g.Degraded, g.Rejected)
	m.RedisPending(st.Pending)
	if demo := c.demo.value || (!c.demo.set && st.Kind == app.KindMemory); demo {
		if err := app.LoadDemo(ctx, reg, rt.RegFS, st, app.FeatureObserver(reg, m), log, c.demo.set); err != nil {
			return err
		}
	}
	closeIngest := func(context.Context) error { return nil }
	if push := c.push.value || (!c.push.set && !c.production); push {
		router := app.NewLiveRouter(rt.Live, m)
		ci, err := app.MountIngestRouter(g, router, router.Observer, st, m, log, off.Tap())
		if err != nil {
			return err
		}
		closeIngest = ci
		// On an early return; the shutdown below closes it first (Close is idempotent).
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.shutdownTimeout)
			defer cancel()
			_ = ci(cctx)
		}()
	}

	if c.access.clients != "" {
		rt.Live.Add(app.AccessPart(g, c.access.clients)) // grants follow the registry
	}
	rt.Live.Add(app.OfflinePart(off, true))
	rt.Live.Add(app.GatewayPart(g)) // last: the new features are written and decoded before they are queried
	go rt.Live.Run(ctx)

	stopAdmin, err := app.StartAdmin(c.adminAddr, log)
	if err != nil {
		return err
	}
	defer stopAdmin()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	if ln, err = c.access.listener(ln); err != nil {
		return err
	}
	srv := app.NewHTTPServer(g, cfg, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "store", st.Kind, "playground", cfg.Playground, "catalog", cfg.Catalog,
		"entities", len(reg.Entities), "graphql", "/graphql")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	app.Shutdown(g, srv, closeIngest, c.shutdownTimeout, c.shutdownDrain, log)
	return nil
}

// optionalBool is a boolean flag that remembers whether it was set (so --demo can default to
// "on for the in-memory store only").
type optionalBool struct {
	set, value bool
}

func (b *optionalBool) String() string   { return strconv.FormatBool(b.value) }
func (b *optionalBool) IsBoolFlag() bool { return true }
func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.value = true, v
	return nil
}
