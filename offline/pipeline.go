package offline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/registry"
)

// Config configures a Pipeline: where rows go and how they wait.
type Config struct {
	// Sink is where rows go: a local directory (a path, or file:///path), s3://bucket/prefix/
	// (S3 must be set), or kafka://topic (KafkaBrokers must be set). "" turns offline copies off.
	Sink string
	// SpoolDir holds the downsync spool (SpoolDir/downsync). Default
	// <sink dir>/_spool for a local sink; required for the others.
	SpoolDir string
	// Spool configures both spools (Dir is set from SpoolDir).
	Spool SpoolConfig
	// S3 is the client of s3:// sinks.
	S3 S3API
	// KafkaBrokers and KafkaOpts configure the client of kafka:// sinks.
	KafkaBrokers []string
	KafkaOpts    []kgo.Opt
	// Served configures served-feature logging (when the registry enables it).
	Served ServedConfig
	// NoServedLog leaves served-feature logging out (ingestion serves nothing). Default false.
	NoServedLog bool
	// Logger receives sink retries. Default slog.Default().
	Logger *slog.Logger
}

// Pipeline is the offline side of one process: the downsync tap of ingestion and its spool,
// the served-feature log of the gateway, and their sink.
type Pipeline struct {
	sinkName string
	downsync *Downsync
	down     *Spool[Row]
	served   *ServedLog
	kafka    *kgo.Client
	closeMu  sync.Once
}

// Open builds the pipeline for reg. With no Sink it returns (nil, nil) unless the registry
// enables downsync or served logging, which is then an error naming the flag.
func Open(ctx context.Context, reg *registry.Registry, cfg Config) (*Pipeline, error) {
	if cfg.Sink == "" {
		return nil, NeedsSink(reg, !cfg.NoServedLog)
	}
	// With a sink the pipeline opens even when the registry enables nothing yet: a reloaded
	// registry may (SetRegistry). Ingestion never serves, so it has no served log.
	wantServed := !cfg.NoServedLog
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Pipeline{sinkName: cfg.Sink}
	down, served, spoolDir, err := p.sinks(cfg)
	if err != nil {
		return nil, err
	}
	sc := cfg.Spool
	sc.Logger = cfg.Logger
	sc.Dir = filepath.Join(spoolDir, "downsync")
	if p.down, err = OpenSpool(sc, down); err != nil {
		return nil, errors.Join(err, p.Close(ctx))
	}
	p.downsync = NewDownsync(reg, p.down)
	if wantServed {
		if cfg.Served.Logger == nil {
			cfg.Served.Logger = cfg.Logger
		}
		if cfg.Served.FlushInterval == 0 {
			cfg.Served.FlushInterval = sc.FlushInterval
		}
		p.served = NewServedLog(reg, served, cfg.Served)
	}
	return p, nil
}

// sinks builds the sinks that cfg.Sink names, and the spool directory.
func (p *Pipeline) sinks(cfg Config) (Sink[Row], ServedSink, string, error) {
	u := cfg.Sink
	switch {
	case strings.HasPrefix(u, "s3://"):
		if cfg.S3 == nil {
			return nil, nil, "", errors.New("offline: an s3:// sink needs an S3 client")
		}
		rest := strings.TrimPrefix(u, "s3://")
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, nil, "", fmt.Errorf("offline: sink %q has no bucket: want s3://bucket/prefix/", u)
		}
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if cfg.SpoolDir == "" {
			return nil, nil, "", fmt.Errorf("offline: sink %s: give a spool directory (--offline-spool) that survives a restart", u)
		}
		st := S3Store{API: cfg.S3, Bucket: bucket, Prefix: prefix}
		return NewParquetSink[Row](st), servedSink(st), cfg.SpoolDir, nil
	case strings.HasPrefix(u, "kafka://"):
		topic := strings.TrimPrefix(u, "kafka://")
		if topic == "" || strings.Contains(topic, "/") {
			return nil, nil, "", fmt.Errorf("offline: sink %q: want kafka://topic", u)
		}
		if len(cfg.KafkaBrokers) == 0 {
			return nil, nil, "", fmt.Errorf("offline: sink %s: give the Kafka brokers (--kafka-brokers)", u)
		}
		if cfg.SpoolDir == "" {
			return nil, nil, "", fmt.Errorf("offline: sink %s: give a spool directory (--offline-spool) that survives a restart", u)
		}
		opts := append([]kgo.Opt{kgo.SeedBrokers(cfg.KafkaBrokers...), kgo.ClientID("featuregraph-offline"),
			kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(5 * time.Millisecond)}, cfg.KafkaOpts...)
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return nil, nil, "", fmt.Errorf("offline: kafka client: %w", err)
		}
		p.kafka = cl
		return &KafkaSink[Row]{Client: cl, Topic: topic}, &ServedKafkaSink{Client: cl, Topic: topic}, cfg.SpoolDir, nil
	case strings.Contains(u, "://") && !strings.HasPrefix(u, "file://"):
		return nil, nil, "", fmt.Errorf("offline: sink %q: use a directory, file:///dir, s3://bucket/prefix/ or kafka://topic", u)
	}
	dir := strings.TrimPrefix(u, "file://")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, "", fmt.Errorf("offline: sink: %w", err)
	}
	spool := cfg.SpoolDir
	if spool == "" {
		spool = filepath.Join(dir, "_spool")
	}
	st := DirStore{Dir: dir}
	return NewParquetSink[Row](st), servedSink(st), spool, nil
}

// SetRegistry makes the pipeline follow a reloaded registry (a live registry's part, see
// internal/app): downsync samples by its blocks, the served log by its servedLog block. The
// sink, the spool and what is buffered stay.
func (p *Pipeline) SetRegistry(reg *registry.Registry) {
	if p == nil {
		return
	}
	if p.downsync != nil {
		p.downsync.SetRegistry(reg)
	}
	if p.served != nil {
		p.served.SetRegistry(reg)
	}
}

// NeedsSink says why a process without an offline sink cannot serve reg (nil: it can): the
// registry enables downsync, or served-feature logging in a process that serves (serving).
// Open says it at start; a live registry's part refuses such a reload with it.
func NeedsSink(reg *registry.Registry, serving bool) error {
	var what []string
	if d := reg.DownsyncedFeatures(); len(d) > 0 {
		what = append(what, "downsync of "+strings.Join(d, ", "))
	}
	if serving && reg.ServedLog.Enabled {
		what = append(what, "servedLog")
	}
	if len(what) == 0 {
		return nil
	}
	return fmt.Errorf("offline: the registry enables %s but no sink is given: set --offline-sink (a directory, s3://bucket/prefix/ or kafka://topic)", strings.Join(what, " and "))
}

// Tap is the ingestion writer's tap (WriterConfig.Tap), or nil when there is no sink.
func (p *Pipeline) Tap() ingest.Tap {
	if p == nil || p.downsync == nil {
		return nil
	}
	return p.downsync
}

// Downsync is the tap, or nil.
func (p *Pipeline) Downsync() *Downsync {
	if p == nil {
		return nil
	}
	return p.downsync
}

// ServedLog is the gateway's served-feature log (it samples nothing while the registry does
// not enable it), or nil in a process that serves nothing.
func (p *Pipeline) ServedLog() *ServedLog {
	if p == nil {
		return nil
	}
	return p.served
}

// Flush ships everything appended so far (tests, shutdown).
func (p *Pipeline) Flush(ctx context.Context) error {
	if p == nil {
		return nil
	}
	var errs []error
	if p.served != nil {
		errs = append(errs, p.served.Flush(ctx))
	}
	if p.down != nil {
		errs = append(errs, p.down.Flush(ctx))
	}
	return errors.Join(errs...)
}

// Close flushes what it can by ctx and stops; the rest stays spooled for the next start.
func (p *Pipeline) Close(ctx context.Context) error {
	if p == nil {
		return nil
	}
	var errs []error
	p.closeMu.Do(func() {
		if p.served != nil {
			errs = append(errs, p.served.Close(ctx))
		}
		if p.down != nil {
			errs = append(errs, p.down.Close(ctx))
		}
		if p.kafka != nil {
			p.kafka.Close()
		}
	})
	return errors.Join(errs...)
}

// Status is what the catalog shows of the pipeline.
type Status struct {
	Sink       string
	Downsync   *SpoolStats // nil: nothing downsynced
	Served     *SpoolStats // nil: served logging off
	ServedDrop int64       // served rows dropped because the buffer was full
	// ServedValues is how many feature values the served rows written held.
	ServedValues int64
}

// Status returns the sink and the spools' counters.
func (p *Pipeline) Status() Status {
	if p == nil {
		return Status{}
	}
	s := Status{Sink: p.sinkName}
	if p.down != nil && (p.downsync.Enabled() || p.down.Stats().Appended > 0) {
		st := p.down.Stats()
		s.Downsync = &st
	}
	if p.served != nil && (p.served.Enabled() || p.served.Stats().Appended > 0) {
		st := p.served.Stats()
		s.Served = &st
		s.ServedDrop = p.served.Dropped()
		s.ServedValues = p.served.ShippedValues()
	}
	return s
}

// Counts are the pipeline's figures for metrics.Offline.
func (p *Pipeline) Counts() []metrics.OfflineCounts {
	st := p.Status()
	var out []metrics.OfflineCounts
	add := func(kind string, s *SpoolStats, dropped, values int64) {
		if s == nil {
			return
		}
		c := metrics.OfflineCounts{Kind: kind, Spooled: s.Appended, Shipped: s.Shipped, Pending: s.Pending, SinkErrors: s.SinkErrors, Dropped: dropped, Values: values}
		if !s.LastWrite.IsZero() {
			c.LastWrite = float64(s.LastWrite.UnixNano()) / 1e9
		}
		out = append(out, c)
	}
	add("downsync", st.Downsync, 0, 0)
	add("served", st.Served, st.ServedDrop, st.ServedValues)
	return out
}

// servedSink writes the served log's Parquet files (Snappy).
func servedSink(st ObjectStore) *ServedParquetSink { return NewServedParquetSink(st) }
