package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/featuregraph/featuregraph/features"
	"github.com/featuregraph/featuregraph/internal/admin"
	"github.com/featuregraph/featuregraph/internal/buildinfo"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/tracing"
)

// DefaultFeatures is the default of --features.
const DefaultFeatures = "./features"

// FeaturesFlag registers --features on fs, into dir.
func FeaturesFlag(fs *flag.FlagSet, dir *string) {
	fs.StringVar(dir, "features", DefaultFeatures, "directory of the feature registry (*.yaml, merged); when the default is absent the built-in example registry is used")
}

// LoadRegistry loads the registry in dir, or the built-in example registry when dir is the
// default and there is no such directory (a binary run outside the repository). log, when not
// nil, says so.
func LoadRegistry(dir string, log *slog.Logger) (*registry.Registry, fs.FS, error) {
	if dir == DefaultFeatures {
		if _, err := os.Stat(DefaultFeatures); os.IsNotExist(err) {
			if log != nil {
				log.Info("no ./features directory: serving the built-in example registry")
			}
			reg, err := registry.LoadFS(features.FS, "features(built-in)")
			return reg, features.FS, err
		}
	}
	reg, err := registry.Load(dir)
	return reg, os.DirFS(dir), err
}

// LogOptions are --log-level and --log-format.
type LogOptions struct {
	Level, Format string
}

// Flags registers --log-level and --log-format on fs.
func (o *LogOptions) Flags(fs *flag.FlagSet) {
	fs.StringVar(&o.Level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.Format, "log-format", "text", "log format: text or json")
}

// Logger builds the structured logger the options ask for, writing to w. routeLibraries sends
// the process-wide loggers (go-redis, slog.Default) through it too: main asks for it, tests
// (which run several commands in one process, each with its own writer) do not.
func (o LogOptions) Logger(w io.Writer, routeLibraries bool) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.Level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", o.Level)
	}
	ho := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	switch o.Format {
	case "text":
		log = slog.New(slog.NewTextHandler(w, ho))
	case "json":
		log = slog.New(slog.NewJSONHandler(w, ho))
	default:
		return nil, fmt.Errorf("--log-format %q: use text or json", o.Format)
	}
	if routeLibraries {
		routeLibraryLogs(log)
	}
	return log, nil
}

// AdminFlag registers --admin-addr on fs, into addr.
func AdminFlag(fs *flag.FlagSet, addr *string) {
	fs.StringVar(addr, "admin-addr", "", "address of the admin endpoints, /debug/pprof/ and /buildinfo, e.g. 127.0.0.1:6060 (empty: off; keep it private)")
}

// StartAdmin serves the admin endpoints on addr, when it is not empty; stop is never nil.
func StartAdmin(addr string, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	_, stop, err = admin.Serve(addr, buildinfo.Read(), log)
	return stop, err
}

// Runtime is what serve, ingest and load start from.
type Runtime struct {
	Log   *slog.Logger
	Reg   *registry.Registry
	RegFS fs.FS // the registry's files (demo events)
	Store *Store
	// Live is the live registry (SetupLive; nil from Setup): Reg is its first generation's.
	Live *LiveRegistry
}

// Setup loads the registry in features and opens the store; the caller closes rt.Store.
func Setup(ctx context.Context, log *slog.Logger, features string, so *StoreOptions, obs store.Observer) (*Runtime, error) {
	reg, regFS, err := LoadRegistry(features, log)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, so, log, obs, reg)
	if err != nil {
		return nil, err
	}
	if err := st.CheckAtStart(ctx, log); err != nil {
		return nil, errors.Join(err, st.Close())
	}
	return &Runtime{Log: log, Reg: reg, RegFS: regFS, Store: st}, nil
}

// StartTracing builds the tracer provider the standard OTEL_* variables ask for (nil: tracing
// off) and has the stores opened after it (with so) traced. serve, ingest and load call it
// before Setup.
func StartTracing(ctx context.Context, getenv func(string) string, stderr io.Writer, so *StoreOptions) (*tracing.Provider, error) {
	prov, err := tracing.FromEnv(ctx, getenv, stderr)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	so.tracer = prov.Tracer()
	return prov, nil
}

// StopTracing flushes the spans still buffered, within grace.
func StopTracing(ctx context.Context, prov *tracing.Provider, grace time.Duration, stderr io.Writer) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := prov.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "featuregraph: flushing traces:", err)
	}
}
