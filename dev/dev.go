package dev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/registry/source"
)

// Config configures Run. Zero values take the defaults noted.
type Config struct {
	// Root is the module root: go.mod, gqlgen.yml and the generator are there. Default ".".
	Root string
	// Features is the registry directory that is watched and served. Default Root/features.
	Features string
	// Addr is where the development server listens (the restarts happen behind it).
	// Default ":8080".
	Addr string
	// ServeArgs are extra flags for `featuregraph serve` (store flags, limits, --demo=false).
	ServeArgs []string
	// Debounce is how long the registry must be quiet before a rebuild (an editor's save is
	// often several writes). Default 300ms.
	Debounce time.Duration
	// ReadyTimeout bounds how long a new server may take to answer /healthz. Default 60s.
	ReadyTimeout time.Duration
	// EventsLog, if set, is a JSONL file that every accepted pushed event is appended to; the
	// events already in it are replayed into the first server, so the data also survives a
	// restart of dev itself. Default: the events are kept in memory only.
	EventsLog string
	// Go is the go command. Default "go".
	Go string
	// Output receives the servers' logs and the build output. Default os.Stderr.
	Output io.Writer
	// Logger logs what dev does. Default: text to Output.
	Logger *slog.Logger
	// Listening, if set, is called with the listen address once the first server is ready.
	Listening func(addr string)
}

func (c Config) withDefaults() Config {
	if c.Root == "" {
		c.Root = "."
	}
	if c.Features == "" {
		c.Features = filepath.Join(c.Root, "features")
	}
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.Debounce <= 0 {
		c.Debounce = 300 * time.Millisecond
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = 60 * time.Second
	}
	if c.Go == "" {
		c.Go = "go"
	}
	if c.Output == nil {
		c.Output = os.Stderr
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(c.Output, nil))
	}
	return c
}

// Validate checks that Root is a module with the generator.
func (c Config) Validate() error {
	c = c.withDefaults()
	for _, f := range []string{"go.mod", "gqlgen.yml", filepath.Join("codegen", "cmd", "generate")} {
		if _, err := os.Stat(filepath.Join(c.Root, f)); err != nil {
			return fmt.Errorf("dev: %s is not the featuregraph module root (no %s): run dev from the repository or give --dir", c.Root, f)
		}
	}
	if st, err := os.Stat(c.Features); err != nil || !st.IsDir() {
		return fmt.Errorf("dev: the registry directory %s is not there", c.Features)
	}
	return nil
}

// Run serves until ctx is done. It returns an error only when the first server cannot be
// started (an invalid registry, a failed build, a port in use); later failures are printed and
// the running server stays.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return err
	}
	cfg.Root = root
	if cfg.Features, err = filepath.Abs(cfg.Features); err != nil {
		return err
	}
	binDir, err := os.MkdirTemp("", "featuregraph-dev-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(binDir)

	d := &devServer{cfg: cfg, log: cfg.Logger, binDir: binDir, proxy: newProxy(cfg.Logger)}
	if cfg.EventsLog != "" {
		f, n, err := openEventsLog(cfg.EventsLog, d.proxy)
		if err != nil {
			return err
		}
		defer f.Close()
		d.log.Info("dev: events log", "file", cfg.EventsLog, "events", n)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("dev: listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: d.proxy, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		d.stopCurrent()
	}()

	w, err := newWatcher(cfg.Features, cfg.Debounce, cfg.Logger)
	if err != nil {
		return err
	}
	defer w.close()

	if err := d.rebuild(ctx, true); err != nil {
		return err
	}
	// Go code is watched once the first build regenerated what it generates (its writes are
	// not changes to rebuild for).
	code, err := newCodeWatcher(cfg.Root, cfg.Features, cfg.Debounce, cfg.Logger)
	if err != nil {
		return err
	}
	defer code.close()
	d.log.Info("dev: serving; a registry change is reloaded by the server (no build), a Go change rebuilds it", "addr", ln.Addr().String(), "features", cfg.Features)
	if cfg.Listening != nil {
		cfg.Listening(ln.Addr().String())
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.errs:
			d.log.Warn("dev: watching the registry", "err", err)
		case err := <-code.errs:
			d.log.Warn("dev: watching the Go code", "err", err)
		case <-w.changes:
			if err := d.registryChanged(ctx); err != nil && ctx.Err() == nil {
				fmt.Fprintf(cfg.Output, "\ndev: %v\ndev: still serving the previous version; fix the registry and save again\n\n", err)
			}
		case <-code.changes:
			if err := d.rebuild(ctx, false); err != nil && ctx.Err() == nil {
				fmt.Fprintf(cfg.Output, "\ndev: %v\ndev: still serving the previous version; fix the code and save again\n\n", err)
			}
		}
	}
}

// devServer holds the running server and the generation that built it.
type devServer struct {
	cfg    Config
	log    *slog.Logger
	binDir string
	proxy  *proxy

	mu      sync.Mutex
	current *child
	gen     int
}

// rebuild validates, regenerates (at the start only: the server builds its schema from the
// registry at run time), builds and starts a new server, replays the pushed events into it and
// then puts it behind the proxy, stopping the previous one.
func (d *devServer) rebuild(ctx context.Context, regenerate bool) error {
	start := time.Now()
	if _, err := registry.Load(d.cfg.Features); err != nil {
		return fmt.Errorf("the registry is invalid:\n%v", indent(err.Error()))
	}
	// -trimpath: the packages' cache keys then do not include the module's directory, so a
	// rebuild shares the build cache with every other checkout (only changed packages compile).
	if regenerate {
		if out, err := d.goCmd(ctx, "run", "-trimpath", "./codegen/cmd/generate", "--features", d.cfg.Features); err != nil {
			return fmt.Errorf("regenerating failed: %v\n%s", err, indent(out))
		}
	}
	d.gen++
	bin := filepath.Join(d.binDir, fmt.Sprintf("featuregraph-%d", d.gen))
	if out, err := d.goCmd(ctx, "build", "-trimpath", "-o", bin, "."); err != nil {
		return fmt.Errorf("building failed: %v\n%s", err, indent(out))
	}
	built := time.Since(start)
	return d.start(ctx, bin, start, built)
}

// start starts bin behind the proxy, replaying the pushed events into it, and stops the
// previous server (removing its binary when it is another).
func (d *devServer) start(ctx context.Context, bin string, start time.Time, built time.Duration) error {
	c, err := startChild(ctx, bin, d.cfg.Features, d.cfg.ServeArgs, d.cfg.Output)
	if err != nil {
		return err
	}
	if err := c.waitReady(ctx, d.cfg.ReadyTimeout); err != nil {
		c.stop()
		return fmt.Errorf("the new server did not start: %w", err)
	}
	replayed, rejected, err := d.proxy.switchTo(ctx, c.url)
	if err != nil {
		c.stop()
		return fmt.Errorf("replaying the pushed events into the new server: %w", err)
	}
	d.mu.Lock()
	old := d.current
	d.current = c
	d.mu.Unlock()
	if old != nil {
		old.stop()
		if old.bin != bin {
			os.Remove(old.bin)
		}
	}
	d.log.Info("dev: server ready", "generation", d.gen, "build", built.Round(time.Millisecond),
		"total", time.Since(start).Round(time.Millisecond), "replayed_events", replayed, "replay_rejected", rejected)
	return nil
}

// registryChanged follows the server's own reload of a saved registry (serve watches
// --features): once it is taken, the pushed events are replayed so that a new feature also
// holds what was pushed before it existed. A change the server refuses as breaking (dev
// accepts them: nothing is stored for good) restarts the server on the same binary, without a
// build, with the events replayed; an invalid registry is printed and the server keeps the
// previous one.
func (d *devServer) registryChanged(ctx context.Context) error {
	start := time.Now()
	if _, err := registry.Load(d.cfg.Features); err != nil {
		return fmt.Errorf("the registry is invalid:\n%v", indent(err.Error()))
	}
	snap, err := source.NewDir(d.cfg.Features, 0).Read(ctx)
	if err != nil {
		return err
	}
	d.mu.Lock()
	c := d.current
	d.mu.Unlock()
	if c == nil {
		return errNoServer
	}
	outcome, problems, err := waitReload(ctx, c.url, snap.Version, 10*time.Second)
	if err != nil {
		return err
	}
	switch outcome {
	case "taken":
		replayed, rejected, err := d.proxy.switchTo(ctx, c.url)
		if err != nil {
			return fmt.Errorf("replaying the pushed events after the reload: %w", err)
		}
		d.log.Info("dev: registry reloaded by the server, no build", "fingerprint", snap.Version,
			"total", time.Since(start).Round(time.Millisecond), "replayed_events", replayed, "replay_rejected", rejected)
		return nil
	case "refused":
		d.log.Info("dev: a breaking registry change; restarting the server on it (no build)", "problems", strings.Join(problems, "; "))
		return d.start(ctx, c.bin, start, 0)
	default:
		return fmt.Errorf("the server did not take the registry (%s):\n%s", outcome, indent(strings.Join(problems, "\n")))
	}
}

// waitReload polls the server's /readyz until it serves the registry of fingerprint want
// ("taken"), or reports its latest reload of those files was not taken (the outcome and
// problems).
func waitReload(ctx context.Context, u *url.URL, want string, timeout time.Duration) (string, []string, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		var ready struct {
			Registry struct {
				Fingerprint string
				LastReload  *struct {
					Outcome, Fingerprint string
					Problems             []string
				}
			}
		}
		if res, err := client.Get(u.String() + "/readyz"); err == nil {
			err = json.NewDecoder(res.Body).Decode(&ready)
			res.Body.Close()
			if err == nil {
				if ready.Registry.Fingerprint == want {
					return "taken", nil, nil
				}
				if l := ready.Registry.LastReload; l != nil && l.Fingerprint == want && l.Outcome != "taken" {
					return l.Outcome, l.Problems, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return "", nil, fmt.Errorf("the server did not reload the registry within %s (its output is above)", timeout)
		}
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (d *devServer) stopCurrent() {
	d.mu.Lock()
	c := d.current
	d.current = nil
	d.mu.Unlock()
	if c != nil {
		c.stop()
	}
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

var errNoServer = errors.New("no server is running yet")
