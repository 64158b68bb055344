package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
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

// Server is the gateway's HTTP server and the activity its shutdown drain watches.
type Server struct {
	*http.Server
	activity *activity
}

// NewHTTPServer is the HTTP server of the gateway h, with the connection limits cfg implies.
func NewHTTPServer(h http.Handler, cfg gateway.Config, log *slog.Logger) *Server {
	act := &activity{}
	return &Server{activity: act, Server: &http.Server{
		Handler:           act.wrap(h),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.RequestTimeout + 10*time.Second,
		// The GraphQL handler sets its own, shorter, write deadline per request.
		WriteTimeout: max(cfg.RequestTimeout, PushTimeout) + cfg.WriteGrace,
		IdleTimeout:  idleTimeout,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
}

// The shutdown drain exists for whoever routes requests here: a load balancer or orchestrator
// polling /readyz must see it fail before the listener closes, and requests routed here meanwhile
// (an endpoint list still propagating) must still be served. With nobody polling and nothing
// arriving (a laptop, `featuregraph dev` restarting its server, tests) there is no one to tell,
// and the drain ends at once.
const (
	// lbWatchWindow: a /readyz poll this recent means a load balancer is watching; it gets the
	// whole drain. (Readiness probes poll every few seconds: Kubernetes' default is 10 s, the
	// Helm chart's 5 s, cloud load balancers' 5–30 s.)
	lbWatchWindow = time.Minute
	// trafficQuiet: a request this recent (or one in flight) means traffic is still routed here;
	// the drain goes on until the server has been idle this long.
	trafficQuiet = time.Second
)

// activity is what the drain watches: requests in flight, when the last one (other than a
// /readyz poll) started, and when /readyz was last polled.
type activity struct {
	inFlight    atomic.Int64
	lastRequest atomic.Int64 // Unix ns; 0: none yet
	lastReadyz  atomic.Int64 // Unix ns; 0: never polled
}

func (a *activity) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		if r.URL.Path == "/readyz" {
			a.lastReadyz.Store(now)
			h.ServeHTTP(w, r)
			return
		}
		a.lastRequest.Store(now)
		a.inFlight.Add(1)
		defer a.inFlight.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// unwatched reports whether, at now, no request is in flight, none started within
// trafficQuiet and no load balancer polled /readyz within lbWatchWindow.
func (a *activity) unwatched(now time.Time) bool {
	recent := func(ns int64, within time.Duration) bool { return ns != 0 && now.Sub(time.Unix(0, ns)) < within }
	return a.inFlight.Load() == 0 && !recent(a.lastRequest.Load(), trafficQuiet) && !recent(a.lastReadyz.Load(), lbWatchWindow)
}

// drain makes /readyz fail (the caller did) and waits up to d, ending early once the server is
// unwatched; it reports whether it ended early.
func (a *activity) drain(d time.Duration) (early bool) {
	end := time.Now().Add(d)
	for {
		now := time.Now()
		if !now.Before(end) {
			return false
		}
		if a.unwatched(now) {
			return true
		}
		time.Sleep(min(10*time.Millisecond, end.Sub(now)))
	}
}

// Shutdown stops the server within timeout: /readyz fails for the drain period (at most half
// the timeout) so that load balancers stop sending requests — cut short when no load balancer
// polled /readyz in the last minute, no request is in flight and none came in the last second
// (see lbWatchWindow) — then the listener closes and
// in-flight requests finish; pushed events still waiting for the store when time runs out are
// answered 503 with Retry-After (the writer is closed, their tickets fail), and what is left of
// the connections is closed.
func Shutdown(g *gateway.Gateway, srv *Server, closeIngest func(context.Context) error, timeout, drain time.Duration, log *slog.Logger) {
	start := time.Now()
	deadline := start.Add(timeout)
	drain = min(drain, timeout/2)
	log.Info("shutting down: draining", "drain", drain, "timeout", timeout)
	g.SetDraining(true)
	if srv.activity.drain(drain) {
		log.Info("drain ended early: no load balancer polled /readyz in the last minute and no request is in flight or came in the last second",
			"after", time.Since(start).Round(time.Millisecond))
	}
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
