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
	prov, err := e.startTracing(ctx)
	if err != nil {
		return err
	}
	defer e.stopTracing(ctx, prov, o.shutdownTimeout)
	m := metrics.New()
	rt, err := e.setup(ctx, m)
	if err != nil {
		return err
	}
	log, reg, st := rt.log, rt.reg, rt.st
	defer st.Close()

	cfg := e.opts.gateway
	cfg.Metrics = m
	cfg.Tracer = prov.Tracer()
	if prov != nil {
		log.Info("tracing on", "exporters", prov.Exporters)
	}
	if o.production {
		cfg.Playground, cfg.Introspection, cfg.Suggestions = false, false, false
	}
	cfg.Catalog = o.catalog.value || (!o.catalog.set && !o.production)
	cfg.CatalogPeers = splitList(o.catalogPeers)
	g, err := gateway.New(cfg, reg, st, st, log)
	if err != nil {
		return err
	}
	m.Degraded([]string{"redis", "dynamodb"}, g.Degraded, g.Rejected)
	m.RedisPending(st.Pending)
	if demo := o.demo.value || (!o.demo.set && st.kind == kindMemory); demo {
		if err := loadDemo(ctx, reg, rt.regFS, st, featureObserver(reg, m), log, o.demo.set); err != nil {
			return err
		}
	}
	closeIngest := func(context.Context) error { return nil }
	if push := o.push.value || (!o.push.set && !o.production); push {
		c, err := mountIngest(g, reg, st, m, log)
		if err != nil {
			return err
		}
		closeIngest = c
		// On an early return; the shutdown below closes it first (Close is idempotent).
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
			defer cancel()
			_ = c(cctx)
		}()
	}

	stopAdmin, err := e.startAdmin(log)
	if err != nil {
		return err
	}
	defer stopAdmin()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	srv := newHTTPServer(g, cfg, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "store", st.kind, "playground", cfg.Playground, "catalog", cfg.Catalog,
		"entities", len(reg.Entities), "graphql", "/graphql")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown(g, srv, closeIngest, o.shutdownTimeout, o.shutdownDrain, log)
	return nil
}

// Server-side limits of a connection. A request may take --request-timeout (GraphQL) or the push
// endpoint's store wait; its answer must be written within writeGrace after that, so a client
// that does not read its answer holds its goroutine, buffers and admission slot no longer.
const (
	pushTimeout = 10 * time.Second // push.DefaultConfig().Timeout
	idleTimeout = 60 * time.Second
)

func newHTTPServer(h http.Handler, cfg gateway.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.RequestTimeout + 10*time.Second,
		// The GraphQL handler sets its own, shorter, write deadline per request.
		WriteTimeout: max(cfg.RequestTimeout, pushTimeout) + cfg.WriteGrace,
		IdleTimeout:  idleTimeout,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// shutdown stops the server within timeout: /readyz fails for the drain period (at most half
// the timeout) so that load balancers stop sending requests, then the listener closes and
// in-flight requests finish; pushed events still waiting for the store when time runs out are
// answered 503 with Retry-After (the writer is closed, their tickets fail), and what is left of
// the connections is closed.
func shutdown(g *gateway.Gateway, srv *http.Server, closeIngest func(context.Context) error, timeout, drain time.Duration, log *slog.Logger) {
	start := time.Now()
	deadline := start.Add(timeout)
	drain = min(drain, timeout/2)
	log.Info("shutting down: draining", "drain", drain, "timeout", timeout)
	g.SetDraining(true)
	time.Sleep(drain)
	// Keep a reserve to answer and flush what is still waiting on the store.
	reserve := min(time.Second, timeout/5)
	sctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-reserve))
	err := srv.Shutdown(sctx)
	cancel()
	ictx, cancel := context.WithDeadline(context.Background(), deadline.Add(-reserve/4))
	if ierr := closeIngest(ictx); ierr != nil {
		log.Error("pushed events not stored at shutdown (their requests were answered 503)", "err", ierr)
	}
	cancel()
	if err != nil {
		// Handlers still running: give them the last of the reserve to write their answers.
		cctx, cancel := context.WithDeadline(context.Background(), deadline)
		if err := srv.Shutdown(cctx); err != nil {
			log.Warn("shutdown: closing connections still busy", "err", err)
		}
		cancel()
		_ = srv.Close()
	}
	log.Info("stopped", "elapsed", time.Since(start).Round(time.Millisecond))
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
