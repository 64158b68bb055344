package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/kafka"
	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/ingest/push"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

type ingestOptions struct {
	brokers     string
	group       string
	topics      string
	streams     string
	dlqTopic    string
	clientID    string
	resetOffset string
	metricsAddr string
	writer      ingest.WriterConfig
}

type loadOptions struct {
	file        string
	format      string
	concurrency int
	rejects     string
	noProgress  bool
	maxRejected int64
	parquet     load.ParquetConfig
	columns     string
	s3          load.S3Config
}

func writerFlags(fs *flag.FlagSet, w *ingest.WriterConfig) {
	*w = ingest.DefaultWriterConfig()
	fs.IntVar(&w.BatchSize, "write-batch", w.BatchSize, "feature writes per store call")
	fs.DurationVar(&w.Linger, "write-linger", w.Linger, "how long writes wait to fill a batch")
	fs.IntVar(&w.Concurrency, "write-concurrency", w.Concurrency, "store write calls in flight")
}

func ingestFlags(fs *flag.FlagSet, e *cmdEnv) {
	featuresFlag(fs, e)
	logFlags(fs, e)
	storeFlags(fs, e)
	adminFlag(fs, e)
	o := &e.opts.ingest
	fs.StringVar(&o.brokers, "kafka-brokers", "", "Kafka seed brokers, host:port,... (required)")
	fs.StringVar(&o.group, "kafka-group", "featuregraph-ingest", "Kafka consumer group; run more processes in the group to scale out")
	fs.StringVar(&o.topics, "kafka-topics", "", "topics to consume and the registry stream each carries: topic=stream,... (a bare topic takes the stream the registry uses for it; default: every topic the registry reads)")
	fs.StringVar(&o.streams, "kafka-streams", "", "with no --kafka-topics: only the topics of these registry streams (comma-separated)")
	fs.StringVar(&o.dlqTopic, "kafka-dlq-topic", "", "dead-letter topic for malformed events and failed conversions (default <group>.dlq; must exist)")
	fs.StringVar(&o.clientID, "kafka-client-id", "featuregraph-ingest", "client id shown to the brokers")
	fs.StringVar(&o.resetOffset, "kafka-reset-offset", "earliest", "where a group with no committed offset starts: earliest or latest")
	fs.StringVar(&o.metricsAddr, "metrics-addr", ":9091", "address of /metrics and /healthz of the worker (empty: off)")
	writerFlags(fs, &o.writer)
}

// runIngest consumes the registry's topics from Kafka into the stores until SIGTERM, then
// flushes, commits and leaves the group.
func runIngest(ctx context.Context, e *cmdEnv) error {
	o := e.opts.ingest
	if o.brokers == "" {
		return errors.New("--kafka-brokers is required (FEATUREGRAPH_KAFKA_BROKERS)")
	}
	prov, err := e.startTracing(ctx)
	if err != nil {
		return err
	}
	defer e.stopTracing(ctx, prov, 10*time.Second)
	m := metrics.New()
	rt, err := e.setup(ctx, m)
	if err != nil {
		return err
	}
	log, reg, st := rt.log, rt.reg, rt.st
	defer st.Close()
	if st.kind == kindMemory {
		log.Warn("ingesting into the in-memory store: nothing is kept when this process exits; give --dynamodb-* and --redis-addr")
	}
	cfg := kafka.Config{
		Brokers:     splitList(o.brokers),
		Group:       o.group,
		Streams:     splitList(o.streams),
		DLQTopic:    o.dlqTopic,
		ClientID:    o.clientID,
		ResetOffset: o.resetOffset,
		Writer:      o.writer,
		Logger:      log,
	}
	if o.topics != "" {
		if cfg.TopicStreams, err = kafka.ParseTopicStreams(o.topics); err != nil {
			return fmt.Errorf("--kafka-topics: %w", err)
		}
	}
	obs := featureObserver(reg, m)
	cfg.Writer.Observer = obs
	c, err := kafka.New(ingest.NewDispatcher(reg, ingest.WithSkipRecorder(m), ingest.WithFeatureObserver(obs)), st, cfg)
	if err != nil {
		return err
	}
	m.IngestSource("kafka", func() metrics.IngestCounts {
		s := c.Stats()
		// What was finally stored, as push counts it: an event is "written" once its writes
		// were stored (partially failed events included), "rejected" when nothing was.
		return metrics.IngestCounts{Events: s.Stored, Unrouted: s.Unrouted, Rejected: s.Rejected,
			DeadLetters: s.DeadLetters, Writes: s.Writes, Lag: s.Lag}
	})
	m.RedisPending(st.Pending) // the ingestion worker is where Redis writes fail
	stopAdmin, err := e.startAdmin(log)
	if err != nil {
		return err
	}
	defer stopAdmin()
	if o.metricsAddr != "" {
		stop, err := serveMetrics(o.metricsAddr, m, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	log.Info("ingesting", "brokers", cfg.Brokers, "group", cfg.Group, "topics", c.Topics(), "dlq", c.DLQTopic(), "store", st.kind)
	err = c.Run(ctx)
	s := c.Stats()
	log.Info("ingestion stopped", "records", s.Records, "events", s.Events, "stored", s.Stored, "rejected", s.Rejected, "writes", s.Writes, "unrouted", s.Unrouted,
		"dead_letters", s.DeadLetters, "commits", s.Commits)
	return err
}

// serveMetrics serves /metrics and /healthz of a worker on addr.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
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

func loadFlags(fs *flag.FlagSet, e *cmdEnv) {
	featuresFlag(fs, e)
	logFlags(fs, e)
	storeFlags(fs, e)
	o := &e.opts.load
	fs.StringVar(&o.file, "file", "", "what to load: a local path or s3://bucket/key, or s3://bucket/prefix/ for every object under it; JSONL of event envelopes and/or feature values, CSV of feature values (.gz allowed) or Parquet (required)")
	fs.StringVar(&o.format, "format", "", "jsonl, csv or parquet (default: from the file name)")
	fs.StringVar(&o.parquet.Entity, "entity", "", "Parquet with one column per feature: the entity the rows are about (not needed for the long layout entity,id,feature,value[,timestamp])")
	fs.StringVar(&o.parquet.IDColumn, "id-column", "", "Parquet: the column of entity ids (default <entity>_id, else id)")
	fs.StringVar(&o.parquet.TimestampColumn, "timestamp-column", "", "Parquet: the column of event times (default event_timestamp, else timestamp, else the time of the load)")
	fs.StringVar(&o.columns, "columns", "", "Parquet: load only these columns, as column=feature,... (a bare column is the feature of its name); default: every column is named after a feature")
	fs.StringVar(&o.s3.Endpoint, "s3-endpoint", "", "S3 endpoint URL for S3-compatible stores, e.g. http://127.0.0.1:9000 (default: AWS's for the region)")
	fs.StringVar(&o.s3.Region, "s3-region", "", "region of the bucket (default: from the AWS environment; us-east-1 with --s3-endpoint)")
	fs.BoolVar(&o.s3.PathStyle, "s3-path-style", false, "path-style bucket addressing (<endpoint>/<bucket>), which most S3-compatible stores need")
	fs.IntVar(&o.concurrency, "concurrency", 4, "records converted and written in parallel")
	fs.StringVar(&o.rejects, "rejects", "", "where rejected records go, with the reason (default <file>.rejected.jsonl, created only when needed)")
	fs.BoolVar(&o.noProgress, "no-progress", false, "no progress bar (it is shown only on a terminal anyway)")
	fs.Int64Var(&o.maxRejected, "max-rejected", 0, "rejected records allowed before load exits non-zero (negative: any number)")
	writerFlags(fs, &e.opts.ingest.writer)
}

// runLoad loads a file, an S3 object or every object under an S3 prefix into the stores and
// prints a summary of each (and their total).
func runLoad(ctx context.Context, e *cmdEnv) error {
	o := e.opts.load
	if o.file == "" {
		return errors.New("--file is required")
	}
	prov, err := e.startTracing(ctx)
	if err != nil {
		return err
	}
	defer e.stopTracing(ctx, prov, 10*time.Second)
	rt, err := e.setup(ctx, nil)
	if err != nil {
		return err
	}
	reg, st := rt.reg, rt.st
	defer st.Close()
	if st.kind == kindMemory {
		return errors.New("load needs a store: give --dynamodb-endpoint/--dynamodb-region/--dynamodb-table (and --redis-addr); the in-memory store would be gone when load exits")
	}
	format, err := load.ParseFormat(o.format)
	if err != nil {
		return err
	}
	w, err := ingest.NewWriter(st, e.opts.ingest.writer)
	if err != nil {
		return err
	}
	cols, err := load.ParseColumns(o.columns)
	if err != nil {
		return errors.Join(err, w.Close(ctx))
	}
	cfg := load.Config{Format: format, Concurrency: o.concurrency, RejectsPath: o.rejects, NoProgress: o.noProgress, Parquet: o.parquet}
	cfg.Parquet.Columns = cols
	if load.IsS3(o.file) {
		client, err := load.NewS3Client(ctx, o.s3)
		if err != nil {
			return errors.Join(err, w.Close(ctx))
		}
		cfg.S3 = client
	}
	l, err := load.New(ingest.NewDispatcher(reg), w, cfg)
	if err != nil {
		return errors.Join(err, w.Close(ctx))
	}
	sums, err := l.LoadURL(ctx, o.file)
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
		fmt.Fprintln(e.stdout, "total:", load.Total(o.file, sums).String())
	}
	if err == nil {
		err = load.CheckRejected(sums, o.maxRejected)
	}
	return err
}

// mountIngest serves POST /v1/events on the gateway, writing through a batching writer. The
// returned function flushes and closes the writer (at shutdown).
func mountIngest(g *gateway.Gateway, reg *registry.Registry, st store.Writer, m *metrics.Metrics, log *slog.Logger) (func(context.Context) error, error) {
	cfg := ingest.DefaultWriterConfig()
	cfg.Linger = time.Millisecond // pushes wait for their writes: keep the batch wait short
	cfg.Logger = log
	obs := featureObserver(reg, m)
	cfg.Observer = obs
	w, err := ingest.NewWriter(st, cfg)
	if err != nil {
		return nil, err
	}
	opts := []ingest.DispatcherOption{ingest.WithFeatureObserver(obs)}
	if m != nil {
		opts = append(opts, ingest.WithSkipRecorder(m))
	}
	h, err := push.New(ingest.NewDispatcher(reg, opts...), w, push.Config{Logger: log, Timeout: pushTimeout})
	if err != nil {
		return nil, errors.Join(err, w.Close(context.Background()))
	}
	g.Handle(push.Path, h)
	if m != nil {
		m.IngestSource("push", func() metrics.IngestCounts {
			s := h.Stats()
			return metrics.IngestCounts{Events: s.Accepted - s.Unrouted, Unrouted: s.Unrouted, Rejected: s.Rejected, Writes: s.Writes}
		})
	}
	return w.Close, nil
}

// featureObserver counts ingestion per feature into m (nil when m is nil).
func featureObserver(reg *registry.Registry, m *metrics.Metrics) *ingest.FeatureObserver {
	if m == nil {
		return nil
	}
	return ingest.NewFeatureObserver(reg, m)
}
