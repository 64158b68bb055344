package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/features"
	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// options are the flag values of all commands; each command registers the groups it uses.
type options struct {
	features  string
	logLevel  string
	logFormat string
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

// logger builds the structured logger the flags ask for.
func (e *cmdEnv) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(e.opts.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", e.opts.logLevel)
	}
	o := &slog.HandlerOptions{Level: level}
	switch e.opts.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", e.opts.logFormat)
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
	return &runtime{log: log, reg: reg, regFS: regFS, st: st}, nil
}

func serveFlags(fs *flag.FlagSet, e *cmdEnv) {
	featuresFlag(fs, e)
	logFlags(fs, e)
	storeFlags(fs, e)
	o := &e.opts.serve
	g := &e.opts.gateway
	*g = gateway.DefaultConfig()
	fs.StringVar(&o.addr, "addr", ":8080", "address to listen on")
	fs.Var(&o.demo, "demo", "load the example registry's demo events into the store at start (default: on for the in-memory store only)")
	fs.Var(&o.push, "push", "serve POST /v1/events, which writes features (default: on, off with --production)")
	fs.Var(&o.catalog, "catalog", "serve the feature catalog at /catalog (default: on, off with --production)")
	fs.StringVar(&o.catalogPeers, "catalog-peers", "", "comma-separated /metrics URLs of other featuregraph processes (ingest workers, replicas) whose live figures the catalog adds")
	fs.BoolVar(&o.production, "production", false, "production mode: no playground, no introspection, no field suggestions, no push endpoint unless --push, no catalog unless --catalog")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight requests may finish after SIGTERM")
	fs.DurationVar(&g.RequestTimeout, "request-timeout", g.RequestTimeout, "deadline of one GraphQL request, backend calls included")
	fs.Int64Var(&g.MaxBodyBytes, "max-body-bytes", g.MaxBodyBytes, "largest request body accepted")
	fs.IntVar(&g.ParserTokenLimit, "max-tokens", g.ParserTokenLimit, "most tokens a query may have")
	fs.IntVar(&g.MaxDepth, "max-depth", g.MaxDepth, "deepest selection nesting a query may have")
	fs.IntVar(&g.MaxComplexity, "max-complexity", g.MaxComplexity, "most values a query may return (fields × ids × count)")
	fs.IntVar(&g.QueryCacheSize, "query-cache-size", g.QueryCacheSize, "parsed queries kept in the cache (and APQ entries)")
	fs.IntVar(&g.Resolvers.MaxIDs, "max-ids", g.Resolvers.MaxIDs, "most ids one batch field (users(ids:)) accepts")
	fs.IntVar(&g.Resolvers.MaxCount, "max-count", g.Resolvers.MaxCount, "largest count an action field returns (on top of each feature's maxCount)")
	fs.DurationVar(&g.Loader.Wait, "batch-wait", g.Loader.Wait, "how long the dataloaders collect keys before one batched store call")
	fs.IntVar(&g.Loader.StaticBatch, "static-batch", g.Loader.StaticBatch, "most entities (each with its selected static features) in one batched store call")
	fs.IntVar(&g.Loader.ActionBatch, "action-batch", g.Loader.ActionBatch, "most action lookups in one Redis pipeline")
}

func validateFlags(fs *flag.FlagSet, e *cmdEnv) { featuresFlag(fs, e) }

func generateFlags(fs *flag.FlagSet, e *cmdEnv) { featuresFlag(fs, e) }
