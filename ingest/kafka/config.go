package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/featuregraph/featuregraph/ingest"
)

// Config configures a Consumer. Zero fields take the defaults of DefaultConfig, except Brokers
// and Group, which are required.
type Config struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string
	// Group is the consumer group. Required. Members of one group share the partitions.
	Group string
	// TopicStreams maps each topic to consume to the registry stream its events belong to. A topic
	// mapped to "" takes the stream of the registry specs that read it, when there is exactly
	// one. Empty: every topic the registry's specs read (of Streams, when set).
	TopicStreams map[string]string
	// Streams limits the default topics to those of these registry streams (one Kafka cluster
	// usually carries some streams, not all). Empty: all streams. Ignored with TopicStreams.
	Streams []string
	// DLQTopic receives malformed events and events that failed conversion or were rejected by
	// the store, as the original record with headers saying why. Default "<Group>.dlq". The topic
	// must exist (or the brokers must create topics on first use).
	DLQTopic string
	// ClientID names the client to the brokers. Default "featuregraph-ingest".
	ClientID string
	// MaxPollRecords bounds the records processed (and committed) per cycle. Default 1000.
	MaxPollRecords int
	// ResetOffset says where a group with no committed offset starts: "earliest" (default) or
	// "latest".
	ResetOffset string
	// ShutdownTimeout bounds, once Run's context is done, the wait for the current cycle's
	// writes, dead letters and commit. Default 10s. What is not committed then is consumed again
	// by the next member (writes are idempotent).
	ShutdownTimeout time.Duration
	// Backoff paces retries of dead-letter produces and commits.
	Backoff ingest.Backoff
	// Writer configures the batching writer (store outages are retried there).
	Writer ingest.WriterConfig
	// Logger receives rebalances, retries and dead letters. Default slog.Default().
	Logger *slog.Logger
	// ClientOpts are extra franz-go options (TLS, SASL, timeouts). The consumer's own options
	// (group, topics, manual commits, BlockRebalanceOnPoll) are applied first.
	ClientOpts []kgo.Opt
}

// DefaultConfig returns the documented defaults (Brokers and Group left empty).
func DefaultConfig() Config {
	return Config{
		ClientID:        "featuregraph-ingest",
		MaxPollRecords:  1000,
		ResetOffset:     "earliest",
		ShutdownTimeout: 10 * time.Second,
		Backoff:         ingest.DefaultBackoff(),
		Writer:          ingest.DefaultWriterConfig(),
	}
}

// Validate reports every field that cannot work.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: Brokers: give at least one seed broker (host:port)"))
	}
	for _, b := range c.Brokers {
		if strings.TrimSpace(b) == "" || !strings.Contains(b, ":") {
			errs = append(errs, fmt.Errorf("kafka: Brokers: %q is not host:port", b))
		}
	}
	if c.Group == "" {
		errs = append(errs, errors.New("kafka: Group: give a consumer group name"))
	}
	if c.MaxPollRecords < 0 {
		errs = append(errs, fmt.Errorf("kafka: MaxPollRecords %d must not be negative", c.MaxPollRecords))
	}
	switch c.ResetOffset {
	case "", "earliest", "latest":
	default:
		errs = append(errs, fmt.Errorf("kafka: ResetOffset %q: use earliest or latest", c.ResetOffset))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("kafka: ShutdownTimeout %v must not be negative", c.ShutdownTimeout))
	}
	for t := range c.TopicStreams {
		if t == "" {
			errs = append(errs, errors.New("kafka: TopicStreams: empty topic name"))
		}
	}
	if c.DLQTopic != "" {
		if _, ok := c.TopicStreams[c.DLQTopic]; ok {
			errs = append(errs, fmt.Errorf("kafka: DLQTopic %q is also a consumed topic", c.DLQTopic))
		}
	}
	if err := c.Backoff.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("kafka: %w", err))
	}
	if err := c.Writer.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("kafka: %w", err))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.ClientID == "" {
		c.ClientID = d.ClientID
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = d.MaxPollRecords
	}
	if c.ResetOffset == "" {
		c.ResetOffset = d.ResetOffset
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = d.ShutdownTimeout
	}
	if c.DLQTopic == "" {
		c.DLQTopic = c.Group + ".dlq"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Writer.Logger == nil {
		c.Writer.Logger = c.Logger
	}
	return c
}

// ParseTopicStreams reads the flag form of Config.TopicStreams: "topic=stream,topic2=stream2";
// a bare "topic" (or "topic=") takes the registry's stream for it.
func ParseTopicStreams(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		topic, stream, _ := strings.Cut(part, "=")
		topic, stream = strings.TrimSpace(topic), strings.TrimSpace(stream)
		if topic == "" {
			return nil, fmt.Errorf("kafka topics: %q has no topic name (want topic=stream)", part)
		}
		if prev, dup := out[topic]; dup && prev != stream {
			return nil, fmt.Errorf("kafka topics: topic %q is mapped twice", topic)
		}
		out[topic] = stream
	}
	return out, nil
}

// resolveTopics works out topic → stream from the config and the registry.
func resolveTopics(d ingest.Router, c Config) (map[string]string, error) {
	known := d.Topics()
	streams := d.Registry().Streams
	out := map[string]string{}
	var errs []error
	pick := func(topic string) {
		ss := known[topic]
		switch len(ss) {
		case 0:
			errs = append(errs, fmt.Errorf("kafka: topic %q is read by no feature spec: name its stream (topic=stream)", topic))
		case 1:
			out[topic] = ss[0]
		default:
			errs = append(errs, fmt.Errorf("kafka: topic %q is read from streams %s: say which one this cluster carries (%s=%s)", topic, strings.Join(ss, ", "), topic, ss[0]))
		}
	}
	if len(c.TopicStreams) > 0 {
		for topic, stream := range c.TopicStreams {
			if stream == "" {
				pick(topic)
				continue
			}
			if streams[stream] == nil {
				errs = append(errs, fmt.Errorf("kafka: topic %q: unknown stream %q (registry streams: %s)", topic, stream, strings.Join(sortedKeys(streams), ", ")))
				continue
			}
			out[topic] = stream
		}
		return out, errors.Join(errs...)
	}
	want := map[string]bool{}
	for _, s := range c.Streams {
		if streams[s] == nil {
			errs = append(errs, fmt.Errorf("kafka: Streams: unknown stream %q (registry streams: %s)", s, strings.Join(sortedKeys(streams), ", ")))
		}
		want[s] = true
	}
	for topic, ss := range known {
		if len(want) > 0 {
			var keep []string
			for _, s := range ss {
				if want[s] {
					keep = append(keep, s)
				}
			}
			if len(keep) == 0 {
				continue
			}
			known[topic] = keep
		}
		pick(topic)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("kafka: no topic to consume: the registry's specs read none (of the selected streams)"))
	}
	return out, errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
