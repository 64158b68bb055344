package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/features"
	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/internal/admin"
	"github.com/featuregraph/featuregraph/internal/buildinfo"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// options are the flag values of all commands; each command registers the groups it uses.
type options struct {
	features  string
	logLevel  string
	logFormat string
	adminAddr string
	store     storeOptions
	serve     serveOptions
	gateway   gateway.Config
	ingest    ingestOptions
	load      loadOptions
	diff      diffOptions // diff_cmd.go
	dev       devOptions  // dev_cmd.go
}

type serveOptions struct {
	addr            string
	demo            optionalBool
	push            optionalBool
	catalog         optionalBool
	catalogPeers    string
	production      bool
	shutdownTimeout time.Duration
	shutdownDrain   time.Duration
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

const defaultFeatures = "./features"

func featuresFlag(fs *flag.FlagSet, e *cmdEnv) {
	fs.StringVar(&e.opts.features, "features", defaultFeatures, "directory of the feature registry (*.yaml, merged); when the default is absent the built-in example registry is used")
}

func logFlags(fs *flag.FlagSet, e *cmdEnv) {
	fs.StringVar(&e.opts.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&e.opts.logFormat, "log-format", "text", "log format: text or json")
}

func adminFlag(fs *flag.FlagSet, e *cmdEnv) {
	fs.StringVar(&e.opts.adminAddr, "admin-addr", "", "address of the admin endpoints, /debug/pprof/ and /buildinfo, e.g. 127.0.0.1:6060 (empty: off; keep it private)")
}

// startAdmin serves the admin endpoints when --admin-addr is given; stop is never nil.
func (e *cmdEnv) startAdmin(log *slog.Logger) (stop func(), err error) {
	if e.opts.adminAddr == "" {
		return func() {}, nil
	}
	_, stop, err = admin.Serve(e.opts.adminAddr, buildinfo.Read(), log)
	return stop, err
}

// logger builds the structured logger the flags ask for.
func (e *cmdEnv) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(e.opts.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", e.opts.logLevel)
	}
	o := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	switch e.opts.logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(e.stderr, o))
	case "json":
		log = slog.New(slog.NewJSONHandler(e.stderr, o))
	default:
		return nil, fmt.Errorf("--log-format %q: use text or json", e.opts.logFormat)
	}
	if e.routeLibraryLogs {
		routeLibraryLogs(log)
	}
	return log, nil
}

// loadRegistry loads --features, or the built-in example registry when --features is the
// default and there is no such directory (a binary run outside the repository).
func (e *cmdEnv) loadRegistry(log *slog.Logger) (*registry.Registry, fs.FS, error) {
	if e.opts.features == defaultFeatures {
		if _, err := os.Stat(defaultFeatures); os.IsNotExist(err) {
			if log != nil {
				log.Info("no ./features directory: serving the built-in example registry")
			}
			reg, err := registry.LoadFS(features.FS, "features(built-in)")
			return reg, features.FS, err
		}
	}
	reg, err := registry.Load(e.opts.features)
	return reg, os.DirFS(e.opts.features), err
}

// runtime is what serve, ingest and load start from.
type runtime struct {
	log   *slog.Logger
	reg   *registry.Registry
	regFS fs.FS // the registry's files (demo events)
	st    *openedStore
}

// setup builds the logger, loads the registry and opens the store; the caller closes rt.st.
func (e *cmdEnv) setup(ctx context.Context, obs store.Observer) (*runtime, error) {
	log, err := e.logger()
	if err != nil {
		return nil, err
	}
	reg, regFS, err := e.loadRegistry(log)
	if err != nil {
		return nil, err
	}
	st, err := e.openStore(ctx, log, obs, reg)
	if err != nil {
		return nil, err
	}
	if err := st.checkAtStart(ctx, log); err != nil {
		return nil, errors.Join(err, st.Close())
	}
	return &runtime{log: log, reg: reg, regFS: regFS, st: st}, nil
}

func serveFlags(fs *flag.FlagSet, e *cmdEnv) {
	featuresFlag(fs, e)
	logFlags(fs, e)
	storeFlags(fs, e)
	adminFlag(fs, e)
	o := &e.opts.serve
	g := &e.opts.gateway
	*g = gateway.DefaultConfig()
	fs.StringVar(&o.addr, "addr", ":8080", "address to listen on")
	fs.Var(&o.demo, "demo", "load the example registry's demo events into the store at start (default: on for the in-memory store only)")
	fs.Var(&o.push, "push", "serve POST /v1/events, which writes features (default: on, off with --production)")
	fs.Var(&o.catalog, "catalog", "serve the feature catalog at /catalog (default: on, off with --production)")
	fs.StringVar(&o.catalogPeers, "catalog-peers", "", "comma-separated /metrics URLs of other featuregraph processes (ingest workers, replicas) whose live figures the catalog adds")
	fs.BoolVar(&o.production, "production", false, "production mode: no playground, no introspection, no field suggestions, no push endpoint unless --push, no catalog unless --catalog")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "the whole shutdown after SIGTERM: drain, in-flight requests, flushing pushed events")
	fs.DurationVar(&o.shutdownDrain, "shutdown-drain", 5*time.Second, "after SIGTERM, how long /readyz fails before the listener closes (at most half of --shutdown-timeout)")
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
	fs.BoolVar(&g.Plans, "plans", g.Plans, "serve the operations the schema covers with compiled plans (false: every operation through gqlgen's executor)")
	fs.DurationVar(&g.Loader.Wait, "batch-wait", g.Loader.Wait, "how long the dataloaders collect keys before one batched store call (gqlgen's executor only)")
	fs.IntVar(&g.Loader.StaticBatch, "static-batch", g.Loader.StaticBatch, "most entities (each with its selected static features) in one batched store call")
	fs.IntVar(&g.Loader.ActionBatch, "action-batch", g.Loader.ActionBatch, "most action lookups in one Redis pipeline")
}

// runVersion prints the build information (the admin endpoint's /buildinfo, in one line).
func runVersion(_ context.Context, e *cmdEnv) error {
	fmt.Fprintln(e.stdout, "featuregraph", buildinfo.Read().Short())
	return nil
}

func validateFlags(fs *flag.FlagSet, e *cmdEnv) { featuresFlag(fs, e) }

func generateFlags(fs *flag.FlagSet, e *cmdEnv) { featuresFlag(fs, e) }
