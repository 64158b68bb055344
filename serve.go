package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/featuregraph/featuregraph/features"
	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

func runServe(ctx context.Context, e *cmdEnv) error {
	o := e.opts.serve
	if o.production && !e.opts.store.configured() {
		return errors.New("--production needs a store: give --dynamodb-endpoint, --dynamodb-region or --dynamodb-table " +
			"(and --redis-addr); the in-memory store is for trying featuregraph out")
	}
	m := metrics.New()
	rt, err := e.setup(ctx, m)
	if err != nil {
		return err
	}
	log, reg, st := rt.log, rt.reg, rt.st
	defer st.Close()

	cfg := e.opts.gateway
	cfg.Metrics = m
	if o.production {
		cfg.Playground, cfg.Introspection, cfg.Suggestions = false, false, false
	}
	cfg.Catalog = o.catalog.value || (!o.catalog.set && !o.production)
	cfg.CatalogPeers = splitList(o.catalogPeers)
	g, err := gateway.New(cfg, reg, st, st, log)
	if err != nil {
		return err
	}
	if demo := o.demo.value || (!o.demo.set && st.kind == kindMemory); demo {
		if err := loadDemo(ctx, reg, rt.regFS, st, featureObserver(reg, m), log, o.demo.set); err != nil {
			return err
		}
	}
	if push := o.push.value || (!o.push.set && !o.production); push {
		closeIngest, err := mountIngest(g, reg, st, m)
		if err != nil {
			return err
		}
		defer func() {
			// Bounded: with the store down the writer would retry forever.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
			defer cancel()
			if err := closeIngest(cctx); err != nil {
				log.Error("flushing pushed events", "err", err)
			}
		}()
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: cfg.RequestTimeout + 10*time.Second,
		IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "store", st.kind, "playground", cfg.Playground, "catalog", cfg.Catalog,
		"entities", len(reg.Entities), "graphql", "/graphql")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", o.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// loadDemo ingests the registry's demo/events.jsonl into the store. A missing file is an error
// only when --demo was asked for explicitly.
func loadDemo(ctx context.Context, reg *registry.Registry, regFS fs.FS, w store.Writer, obs *ingest.FeatureObserver, log *slog.Logger, explicit bool) error {
	f, err := regFS.Open(features.DemoEvents)
	if err != nil {
		if explicit {
			return fmt.Errorf("--demo: the registry has no %s: %w", features.DemoEvents, err)
		}
		log.Info("no demo events in the registry; starting empty")
		return nil
	}
	defer f.Close()
	var skips skipTally
	sum, err := ingestDemo(ctx, reg, f, w, &skips, obs)
	if err != nil {
		return fmt.Errorf("--demo: %w", err)
	}
	log.Info("loaded demo events", "events", sum.Records, "writes", sum.Written, "elapsed", sum.Elapsed)
	if s := skips.counts(); s != "" {
		log.Info("demo events lack the path of some features; those features were skipped for them", "skipped", s)
	}
	return nil
}

func runValidate(_ context.Context, e *cmdEnv) error {
	reg, _, err := e.loadRegistry(nil)
	if err != nil {
		return err
	}
	n := 0
	for _, en := range reg.Entities {
		n += len(en.Static) + len(en.Actions)
	}
	fmt.Fprintf(e.stdout, "%s: valid: %d entities, %d features, %d streams\n", e.opts.features, len(reg.Entities), n, len(reg.Streams))
	return nil
}
