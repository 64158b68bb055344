package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/internal/app"
)

// loadCmd is `featuregraph load`: a file, an S3 object or every object under an S3 prefix.
type loadCmd struct {
	features string
	log      app.LogOptions
	store    app.StoreOptions

	file        string
	format      string
	concurrency int
	rejects     string
	noProgress  bool
	maxRejected int64
	parquet     load.ParquetConfig
	columns     string
	s3          load.S3Config
	writer      ingest.WriterConfig
	offline     offlineOptions
}

func (c *loadCmd) flags(fs *flag.FlagSet) {
	app.FeaturesFlag(fs, &c.features)
	c.log.Flags(fs)
	c.store.Flags(fs)
	fs.StringVar(&c.file, "file", "", "what to load: a local path or s3://bucket/key, or s3://bucket/prefix/ for every object under it; JSONL of event envelopes and/or feature values, CSV of feature values (.gz allowed) or Parquet (required)")
	fs.StringVar(&c.format, "format", "", "jsonl, csv or parquet (default: from the file name)")
	fs.StringVar(&c.parquet.Entity, "entity", "", "Parquet with one column per feature: the entity the rows are about (not needed for the long layout entity,id,feature,value[,timestamp])")
	fs.StringVar(&c.parquet.IDColumn, "id-column", "", "Parquet: the column of entity ids (default <entity>_id, else id)")
	fs.StringVar(&c.parquet.TimestampColumn, "timestamp-column", "", "Parquet: the column of event times (default event_timestamp, else timestamp, else the time of the load)")
	fs.StringVar(&c.columns, "columns", "", "Parquet: load only these columns, as column=feature,... (a bare column is the feature of its name); default: every column is named after a feature")
	fs.StringVar(&c.s3.Endpoint, "s3-endpoint", "", "S3 endpoint URL for S3-compatible stores, e.g. http://127.0.0.1:9000 (default: AWS's for the region)")
	fs.StringVar(&c.s3.Region, "s3-region", "", "region of the bucket (default: from the AWS environment; us-east-1 with --s3-endpoint)")
	fs.BoolVar(&c.s3.PathStyle, "s3-path-style", false, "path-style bucket addressing (<endpoint>/<bucket>), which most S3-compatible stores need")
	fs.IntVar(&c.concurrency, "concurrency", 4, "records converted and written in parallel")
	fs.StringVar(&c.rejects, "rejects", "", "where rejected records go, with the reason (default <file>.rejected.jsonl, created only when needed)")
	fs.BoolVar(&c.noProgress, "no-progress", false, "no progress bar (it is shown only on a terminal anyway)")
	fs.Int64Var(&c.maxRejected, "max-rejected", 0, "rejected records allowed before load exits non-zero (negative: any number)")
	writerFlags(fs, &c.writer)
	c.offline.flags(fs)
}

// run loads the file into the stores and prints a summary of each object (and their total).
func (c *loadCmd) run(ctx context.Context, e *env) error {
	if c.file == "" {
		return errors.New("--file is required")
	}
	log, stop, err := e.startStoreCommand(ctx, &c.store, c.log, 10*time.Second)
	if err != nil {
		return err
	}
	defer stop()
	rt, err := app.Setup(ctx, log, c.features, &c.store, nil)
	if err != nil {
		return err
	}
	reg, st := rt.Reg, rt.Store
	defer st.Close()
	if st.Kind == app.KindMemory {
		return errors.New("load needs a store: give --dynamodb-endpoint/--dynamodb-region/--dynamodb-table (and --redis-addr); the in-memory store would be gone when load exits")
	}
	format, err := load.ParseFormat(c.format)
	if err != nil {
		return err
	}
	off, err := c.offline.open(ctx, reg, log, nil, nil, false)
	if err != nil {
		return err
	}
	defer closeOffline(ctx, off, log)
	wcfg := c.writer
	wcfg.Tap = off.Tap()
	w, err := ingest.NewWriter(st, wcfg)
	if err != nil {
		return err
	}
	cols, err := load.ParseColumns(c.columns)
	if err != nil {
		return errors.Join(err, w.Close(ctx))
	}
	cfg := load.Config{Format: format, Concurrency: c.concurrency, RejectsPath: c.rejects, NoProgress: c.noProgress, Parquet: c.parquet}
	cfg.Parquet.Columns = cols
	if load.IsS3(c.file) {
		client, err := load.NewS3Client(ctx, c.s3)
		if err != nil {
			return errors.Join(err, w.Close(ctx))
		}
		cfg.S3 = client
	}
	l, err := load.New(ingest.NewDispatcher(reg), w, cfg)
	if err != nil {
		return errors.Join(err, w.Close(ctx))
	}
	sums, err := l.LoadURL(ctx, c.file)
	// On SIGINT the load stops; what was read is flushed, within a bound (the store may be down).
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if cerr := w.Close(cctx); cerr != nil && err == nil {
		err = cerr
	}
	for _, s := range sums {
		fmt.Fprintln(e.stdout, s.String())
	}
	if len(sums) > 1 {
		fmt.Fprintln(e.stdout, "total:", load.Total(c.file, sums).String())
	}
	if err == nil {
		err = load.CheckRejected(sums, c.maxRejected)
	}
	return err
}
