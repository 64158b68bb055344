package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/metrics"
)

// Server-side limits of a connection. A request may take --request-timeout (GraphQL) or the push
// endpoint's store wait; its answer must be written within writeGrace after that, so a client
// that does not read its answer holds its goroutine, buffers and admission slot no longer.
const (
	PushTimeout = 10 * time.Second // push.DefaultConfig().Timeout
	idleTimeout = 60 * time.Second
)

// NewHTTPServer is the HTTP server of the gateway h, with the connection limits cfg implies.
func NewHTTPServer(h http.Handler, cfg gateway.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.RequestTimeout + 10*time.Second,
		// The GraphQL handler sets its own, shorter, write deadline per request.
		WriteTimeout: max(cfg.RequestTimeout, PushTimeout) + cfg.WriteGrace,
		IdleTimeout:  idleTimeout,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Shutdown stops the server within timeout: /readyz fails for the drain period (at most half
// the timeout) so that load balancers stop sending requests, then the listener closes and
// in-flight requests finish; pushed events still waiting for the store when time runs out are
// answered 503 with Retry-After (the writer is closed, their tickets fail), and what is left of
// the connections is closed.
func Shutdown(g *gateway.Gateway, srv *http.Server, closeIngest func(context.Context) error, timeout, drain time.Duration, log *slog.Logger) {
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

// ServeMetrics serves /metrics and /healthz of a worker on addr.
func ServeMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, `{"status":"ok"}`) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	return func() { _ = srv.Close() }, nil
}
