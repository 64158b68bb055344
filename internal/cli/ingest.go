package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/kafka"
	"github.com/featuregraph/featuregraph/internal/app"
	"github.com/featuregraph/featuregraph/metrics"
)

// ingestCmd is `featuregraph ingest`, the Kafka ingestion worker.
type ingestCmd struct {
	features  string
	log       app.LogOptions
	store     app.StoreOptions
	adminAddr string

	brokers     string
	group       string
	topics      string
	streams     string
	dlqTopic    string
	clientID    string
	resetOffset string
	metricsAddr string
	writer      ingest.WriterConfig
	offline     offlineOptions
	live        app.LiveOptions
}

// writerFlags registers the batching writer's flags (ingest and load).
func writerFlags(fs *flag.FlagSet, w *ingest.WriterConfig) {
	*w = ingest.DefaultWriterConfig()
	fs.IntVar(&w.BatchSize, "write-batch", w.BatchSize, "feature writes per store call")
	fs.DurationVar(&w.Linger, "write-linger", w.Linger, "how long writes wait to fill a batch")
	fs.IntVar(&w.Concurrency, "write-concurrency", w.Concurrency, "store write calls in flight")
}

func (c *ingestCmd) flags(fs *flag.FlagSet) {
	app.FeaturesFlag(fs, &c.features)
	c.log.Flags(fs)
	c.store.Flags(fs)
	app.AdminFlag(fs, &c.adminAddr)
	fs.StringVar(&c.brokers, "kafka-brokers", "", "Kafka seed brokers, host:port,... (required)")
	fs.StringVar(&c.group, "kafka-group", "featuregraph-ingest", "Kafka consumer group; run more processes in the group to scale out")
	fs.StringVar(&c.topics, "kafka-topics", "", "topics to consume and the registry stream each carries: topic=stream,... (a bare topic takes the stream the registry uses for it; default: every topic the registry reads)")
	fs.StringVar(&c.streams, "kafka-streams", "", "with no --kafka-topics: only the topics of these registry streams (comma-separated)")
	fs.StringVar(&c.dlqTopic, "kafka-dlq-topic", "", "dead-letter topic for malformed events and failed conversions (default <group>.dlq; must exist)")
	fs.StringVar(&c.clientID, "kafka-client-id", "featuregraph-ingest", "client id shown to the brokers")
	fs.StringVar(&c.resetOffset, "kafka-reset-offset", "earliest", "where a group with no committed offset starts: earliest or latest")
	fs.StringVar(&c.metricsAddr, "metrics-addr", ":9091", "address of /metrics and /healthz of the worker (empty: off)")
	writerFlags(fs, &c.writer)
	c.offline.flags(fs)
	c.live.Flags(fs)
}

// run consumes the registry's topics from Kafka into the stores until SIGTERM, then flushes,
// commits and leaves the group.
func (c *ingestCmd) run(ctx context.Context, e *env) error {
	if c.brokers == "" {
		return errors.New("--kafka-brokers is required (FEATUREGRAPH_KAFKA_BROKERS)")
	}
	log, stop, err := e.startStoreCommand(ctx, &c.store, c.log, 10*time.Second)
	if err != nil {
		return err
	}
	defer stop()
	m := metrics.New()
	rt, err := app.SetupLive(ctx, log, c.features, c.live, &c.store, m)
	if err != nil {
		return err
	}
	reg, st := rt.Reg, rt.Store
	defer st.Close()
	if st.Kind == app.KindMemory {
		log.Warn("ingesting into the in-memory store: nothing is kept when this process exits; give --dynamodb-* and --redis-addr")
	}
	cfg := kafka.Config{
		Brokers:     app.SplitList(c.brokers),
		Group:       c.group,
		Streams:     app.SplitList(c.streams),
		DLQTopic:    c.dlqTopic,
		ClientID:    c.clientID,
		ResetOffset: c.resetOffset,
		Writer:      c.writer,
		Logger:      log,
	}
	if c.topics != "" {
		if cfg.TopicStreams, err = kafka.ParseTopicStreams(c.topics); err != nil {
			return fmt.Errorf("--kafka-topics: %w", err)
		}
	}
	router := app.NewLiveRouter(rt.Live, m)
	cfg.Writer.Observer = router.Observer
	off, err := c.offline.open(ctx, reg, log, m, cfg.Brokers, false)
	if err != nil {
		return err
	}
	defer closeOffline(ctx, off, log)
	cfg.Writer.Tap = off.Tap()
	k, err := kafka.New(router, st, cfg)
	if err != nil {
		return err
	}
	rt.Live.Add(app.OfflinePart(off, false))
	rt.Live.Add(app.KafkaTopicsPart(k, c.topics != "", cfg.Streams, log))
	go rt.Live.Run(ctx)
	m.IngestSource("kafka", func() metrics.IngestCounts {
		s := k.Stats()
		// What was finally stored, as push counts it: an event is "written" once its writes
		// were stored (partially failed events included), "rejected" when nothing was.
		return metrics.IngestCounts{Events: s.Stored, Unrouted: s.Unrouted, Rejected: s.Rejected,
			DeadLetters: s.DeadLetters, Writes: s.Writes, Lag: s.Lag}
	})
	m.RedisPending(st.Pending) // the ingestion worker is where Redis writes fail
	stopAdmin, err := app.StartAdmin(c.adminAddr, log)
	if err != nil {
		return err
	}
	defer stopAdmin()
	if c.metricsAddr != "" {
		stop, err := app.ServeMetrics(c.metricsAddr, m, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	log.Info("ingesting", "brokers", cfg.Brokers, "group", cfg.Group, "topics", k.Topics(), "dlq", k.DLQTopic(), "store", st.Kind)
	err = k.Run(ctx)
	s := k.Stats()
	log.Info("ingestion stopped", "records", s.Records, "events", s.Events, "stored", s.Stored, "rejected", s.Rejected, "writes", s.Writes, "unrouted", s.Unrouted,
		"dead_letters", s.DeadLetters, "commits", s.Commits)
	return err
}
