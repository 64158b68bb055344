package main

import (
	"context"
	"flag"
	"path/filepath"
	"time"

	"github.com/featuregraph/featuregraph/dev"
)

type devOptions struct {
	dir      string
	addr     string
	debounce time.Duration
	events   string
}

func devFlags(fs *flag.FlagSet, e *cmdEnv) {
	featuresFlag(fs, e)
	logFlags(fs, e)
	o := &e.opts.dev
	fs.StringVar(&o.dir, "dir", ".", "the featuregraph module root (go.mod, gqlgen.yml): where the code is regenerated and built")
	fs.StringVar(&o.addr, "addr", ":8080", "listen address (the server restarts behind it)")
	fs.DurationVar(&o.debounce, "debounce", 300*time.Millisecond, "quiet time after a registry change before rebuilding")
	fs.StringVar(&o.events, "events-log", "", "JSONL file the pushed events are appended to and replayed from at start (default: kept in memory while dev runs)")
}

// runDev is `featuregraph dev [flags] [-- serve flags]`: flags after -- go to every
// `featuregraph serve` it starts (e.g. store flags).
func runDev(ctx context.Context, e *cmdEnv) error {
	log, err := e.logger()
	if err != nil {
		return err
	}
	o := e.opts.dev
	features := e.opts.features
	if features == defaultFeatures {
		features = filepath.Join(o.dir, "features")
	}
	return dev.Run(ctx, dev.Config{
		Root:      o.dir,
		Features:  features,
		Addr:      o.addr,
		ServeArgs: e.args,
		Debounce:  o.debounce,
		EventsLog: o.events,
		Output:    e.stderr,
		Logger:    log,
	})
}
