package cli

import (
	"context"
	"flag"
	"path/filepath"
	"time"

	"github.com/featuregraph/featuregraph/dev"
	"github.com/featuregraph/featuregraph/internal/app"
)

// devCmd is `featuregraph dev [flags] [-- serve flags]`: flags after -- go to every
// `featuregraph serve` it starts (e.g. store flags).
type devCmd struct {
	features string
	log      app.LogOptions

	dir      string
	addr     string
	debounce time.Duration
	events   string
}

func (c *devCmd) flags(fs *flag.FlagSet) {
	app.FeaturesFlag(fs, &c.features)
	c.log.Flags(fs)
	fs.StringVar(&c.dir, "dir", ".", "the featuregraph module root (go.mod, gqlgen.yml): where the code is regenerated and built")
	fs.StringVar(&c.addr, "addr", ":8080", "listen address (the server restarts behind it)")
	fs.DurationVar(&c.debounce, "debounce", 300*time.Millisecond, "quiet time after a registry change before rebuilding")
	fs.StringVar(&c.events, "events-log", "", "JSONL file the pushed events are appended to and replayed from at start (default: kept in memory while dev runs)")
}

func (c *devCmd) run(ctx context.Context, e *env) error {
	log, err := e.logger(c.log)
	if err != nil {
		return err
	}
	features := c.features
	if features == app.DefaultFeatures {
		features = filepath.Join(c.dir, "features")
	}
	return dev.Run(ctx, dev.Config{
		Root:      c.dir,
		Features:  features,
		Addr:      c.addr,
		ServeArgs: e.args,
		Debounce:  c.debounce,
		EventsLog: c.events,
		Output:    e.stderr,
		Logger:    log,
	})
}
