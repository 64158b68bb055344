package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/internal/app"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/offline/dataset"
	"github.com/featuregraph/featuregraph/registry"
)

// Online to offline (package offline): the flags serve, ingest and load share, and the dataset
// command. The logic lives in the offline packages.

type offlineOptions struct {
	sink, spool string
	flush       time.Duration
	s3          load.S3Config
}

func (o *offlineOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.sink, "offline-sink", "", "where downsynced writes and served-feature logs go: a directory, s3://bucket/prefix/ or kafka://topic (needed when the registry enables downsync or servedLog)")
	fs.StringVar(&o.spool, "offline-spool", "", "local spool directory that survives restarts (default <sink>/_spool for a directory sink; required for S3 and Kafka)")
	fs.DurationVar(&o.flush, "offline-flush", time.Minute, "longest wait of a row before it is written to the sink")
	fs.StringVar(&o.s3.Endpoint, "offline-s3-endpoint", "", "S3 endpoint URL of the offline sink, for S3-compatible stores (default: AWS's)")
	fs.StringVar(&o.s3.Region, "offline-s3-region", "", "region of the offline sink's bucket (default: from the AWS environment)")
	fs.BoolVar(&o.s3.PathStyle, "offline-s3-path-style", false, "path-style bucket addressing for the offline sink")
}

// open opens the offline pipeline the registry and flags ask for (nil when none) and exports
// its figures on m. Ingestion (serving false) downsyncs only.
func (o *offlineOptions) open(ctx context.Context, reg *registry.Registry, log *slog.Logger, m *metrics.Metrics, brokers []string, serving bool) (*offline.Pipeline, error) {
	cfg := offline.Config{Sink: o.sink, SpoolDir: o.spool, KafkaBrokers: brokers, Logger: log, NoServedLog: !serving}
	cfg.Spool = offline.DefaultSpoolConfig()
	cfg.Spool.FlushInterval = o.flush
	if load.IsS3(o.sink) {
		c, err := load.NewS3Client(ctx, o.s3)
		if err != nil {
			return nil, fmt.Errorf("--offline-sink: %w", err)
		}
		cfg.S3 = c
	}
	p, err := offline.Open(ctx, reg, cfg)
	if err != nil || p == nil {
		return nil, err
	}
	if m != nil {
		m.Offline(p.Counts)
	}
	sl := p.ServedLog()
	log.Info("offline sink", "sink", o.sink, "downsynced", reg.DownsyncedFeatures(), "served_log", sl != nil && sl.Enabled())
	return p, nil
}

// closeOffline flushes the pipeline within 30 s; what is left stays spooled.
func closeOffline(ctx context.Context, p *offline.Pipeline, log *slog.Logger) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		log.Warn("offline rows not yet in the sink stay in the spool for the next start", "err", err)
	}
}

// datasetCmd is `featuregraph dataset`: a point-in-time training set from a spine.
type datasetCmd struct {
	features string
	log      app.LogOptions
	store    app.StoreOptions

	spine, operation, operationName, out string
	columns                              dataset.SpineConfig
	batch, concurrency                   int
	noProgress                           bool
}

func (c *datasetCmd) flags(fs *flag.FlagSet) {
	app.FeaturesFlag(fs, &c.features)
	c.log.Flags(fs)
	c.store.Flags(fs)
	fs.StringVar(&c.spine, "spine", "", "CSV (with a header) or Parquet file of entity ids and times, optionally a label (required)")
	fs.StringVar(&c.operation, "operation", "", "file holding the GraphQL operation the model is served with, e.g. ranker.graphql (required)")
	fs.StringVar(&c.operationName, "operation-name", "", "the operation to use when the file holds several")
	fs.StringVar(&c.out, "out", "", "the training set to write, a Parquet file (required)")
	fs.StringVar(&c.columns.IDColumn, "id-column", "", "spine column of entity ids (default entity_id, id or <entity>_id)")
	fs.StringVar(&c.columns.TimeColumn, "time-column", "", "spine column of times (default timestamp, event_timestamp or time)")
	fs.StringVar(&c.columns.LabelColumn, "label-column", "", "spine column carried into the training set (default label, when present)")
	fs.IntVar(&c.batch, "batch", 100, "spine rows answered per request")
	fs.IntVar(&c.concurrency, "concurrency", 4, "requests in flight")
	fs.BoolVar(&c.noProgress, "no-progress", false, "no progress line")
}

// run writes the training set and prints its summary.
func (c *datasetCmd) run(ctx context.Context, e *env) error {
	if c.spine == "" || c.operation == "" || c.out == "" {
		return errors.New("dataset: --spine, --operation and --out are required")
	}
	doc, err := os.ReadFile(c.operation)
	if err != nil {
		return fmt.Errorf("--operation: %w", err)
	}
	log, err := e.logger(c.log)
	if err != nil {
		return err
	}
	rt, err := app.Setup(ctx, log, c.features, &c.store, nil)
	if err != nil {
		return err
	}
	defer rt.Store.Close()
	if rt.Store.Kind == app.KindMemory {
		log.Warn("dataset over the in-memory store: it holds nothing; give --dynamodb-* and --redis-addr")
	}
	gcfg := gateway.DefaultConfig()
	gcfg.RequestTimeout, gcfg.MaxComplexity, gcfg.MaxInFlightValues = time.Minute, 1<<30, 1<<30
	gcfg.Playground, gcfg.Catalog = false, false
	g, err := gateway.New(gcfg, rt.Reg, rt.Store, rt.Store, log)
	if err != nil {
		return err
	}
	cfg := dataset.Config{Document: string(doc), OperationName: c.operationName, Batch: c.batch, Concurrency: c.concurrency}
	if !c.noProgress {
		cfg.Progress = e.stderr
	}
	b, err := dataset.New(rt.Reg, g, cfg)
	if err != nil {
		return err
	}
	c.columns.Entity = b.Entity().Name
	spine, err := dataset.ReadSpine(c.spine, c.columns)
	if err != nil {
		return err
	}
	rows, sum, err := b.Build(ctx, spine)
	if err != nil {
		return err
	}
	f, err := os.Create(c.out)
	if err != nil {
		return err
	}
	withLabel := false
	for _, r := range spine {
		withLabel = withLabel || r.Label != nil
	}
	if err := b.WriteParquet(f, rows, withLabel); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", c.out, sum)
	return nil
}
