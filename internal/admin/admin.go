// Package admin serves the operator endpoints that must not share the public listener: the
// net/http/pprof profiles under /debug/pprof/ and the build information at /buildinfo. It is off
// unless --admin-addr is given; bind it to loopback or a port the network policy keeps private.
package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/featuregraph/featuregraph/internal/buildinfo"
)

// Handler returns the admin mux: /debug/pprof/ (index, cmdline, profile, symbol, trace and the
// named profiles: heap, goroutine, allocs, block, mutex, threadcreate) and /buildinfo (JSON).
func Handler(info buildinfo.Info) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	body, _ := json.MarshalIndent(info, "", "  ")
	mux.HandleFunc("GET /buildinfo", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(body, '\n'))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "featuregraph admin: /buildinfo, /debug/pprof/")
	})
	return mux
}

// Serve listens on addr and serves Handler until stop is called. A listen error is returned at
// once (a port in use names the flag).
func Serve(addr string, info buildinfo.Info, log *slog.Logger) (bound net.Addr, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--admin-addr %s: %w", addr, err)
	}
	// No write timeout: /debug/pprof/profile and /trace stream for ?seconds=N.
	srv := &http.Server{Handler: Handler(info), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server", "err", err)
		}
	}()
	log.Info("admin endpoints", "addr", ln.Addr().String(), "paths", "/buildinfo /debug/pprof/")
	return ln.Addr(), func() { _ = srv.Close() }, nil
}
