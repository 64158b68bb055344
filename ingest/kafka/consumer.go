// Package kafka consumes events from Kafka topics with a consumer group (franz-go), routes them
// through an ingest.Dispatcher into the stores, and commits offsets only after the writes they
// cover are stored (at-least-once; store writes are idempotent). Malformed events and events that
// fail conversion go to a dead-letter topic with the reason; a store outage pauses the consumer.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/store"
)

// Dead-letter record headers. The record's key and value are the original record's.
const (
	HeaderReason    = "featuregraph.reason"    // malformed | conversion | store
	HeaderError     = "featuregraph.error"     // what went wrong, naming feature and path
	HeaderTopic     = "featuregraph.topic"     // the original record's topic
	HeaderPartition = "featuregraph.partition" // ... partition
	HeaderOffset    = "featuregraph.offset"    // ... offset
	HeaderStream    = "featuregraph.stream"    // the stream the topic was read as
	HeaderTime      = "featuregraph.time"      // when it was dead-lettered, RFC 3339
)

// maxErrorHeader bounds the error header; a record failing many specs keeps the first ones.
const maxErrorHeader = 4096

// Consumer is one member of a consumer group. Run it once.
type Consumer struct {
	cfg    Config
	d      ingest.Router
	w      *ingest.Writer
	topics atomic.Pointer[map[string]string] // topic → stream; Consume adds to it
	client atomic.Pointer[kgo.Client]        // while Run runs

	mu          sync.Mutex
	lag         map[topicPartition]int64
	uncommitted []*kgo.Record // stored and dead-lettered, but the commit failed

	stats counters
}

type topicPartition struct {
	topic     string
	partition int32
}

type counters struct {
	records, events, stored, rejected, writes, unrouted, malformed, conversion, storeErrs, deadLetters,
	commits, commitErrors, fetchErrors, rebalances, partitions atomic.Int64
}

// Stats are counters since the Consumer was created; Lag is a gauge.
type Stats struct {
	Records int64 // records polled
	Events  int64 // records that matched at least one feature spec (counted when polled)
	// Stored counts the records that fed at least one feature and whose writes the store
	// accepted, once the cycle's flush stored them (never while the writes are queued or
	// retried): an event that also failed some specs (dead-lettered for them) counts here, as a
	// push answered "partial" does. A record consumed again after a stop is counted again.
	Stored int64
	// Rejected counts the records of which nothing was stored: malformed, every matching spec
	// failed conversion, or the store rejected the writes for good.
	Rejected         int64
	Writes           int64 // store writes made from them (stored)
	Unrouted         int64 // records that matched no spec (committed, not dead-lettered)
	Malformed        int64 // records that were not a JSON object event
	ConversionErrors int64 // records with at least one spec that failed conversion
	StoreErrors      int64 // records with writes the store rejected for good
	DeadLetters      int64 // records produced to the dead-letter topic
	Commits          int64 // offset commits
	CommitErrors     int64 // offset commits that failed (the records are consumed again)
	FetchErrors      int64 // fetch errors reported by the client
	Rebalances       int64 // partition revocations and losses
	Lag              int64 // records behind the high watermarks, as of the latest fetch of each partition
	Partitions       int64 // partitions assigned to this member now
	StoreRetrying    bool  // the store is down and writes are being retried
}

// New builds a Consumer that routes with d and writes to st. It does not connect; Run does.
func New(d ingest.Router, st store.Writer, cfg Config) (*Consumer, error) {
	if d == nil || st == nil {
		return nil, errors.New("kafka: New needs a dispatcher and a store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	topics, err := resolveTopics(d, cfg)
	if err != nil {
		return nil, err
	}
	if _, clash := topics[cfg.DLQTopic]; clash {
		return nil, fmt.Errorf("kafka: dead-letter topic %q is also a consumed topic", cfg.DLQTopic)
	}
	w, err := ingest.NewWriter(st, cfg.Writer)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	c := &Consumer{cfg: cfg, d: d, w: w, lag: map[topicPartition]int64{}}
	c.topics.Store(&topics)
	return c, nil
}

// checkDLQ warns at start when the dead-letter topic does not exist: the first dead letter would
// then hold the consumer (nothing is committed past a record whose dead letter is not stored)
// until the topic is created.
func (c *Consumer) checkDLQ(ctx context.Context, cl *kgo.Client) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A metadata request for the one topic (kadm's ListTopics, without compiling kadm).
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(c.cfg.DLQTopic)
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = false // asking must not create it
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		c.cfg.Logger.Warn("kafka: could not check the dead-letter topic", "topic", c.cfg.DLQTopic, "err", err)
		return
	}
	for _, t := range resp.Topics {
		if t.Topic != nil && *t.Topic == c.cfg.DLQTopic && t.ErrorCode == 0 {
			return
		}
	}
	c.cfg.Logger.Warn("kafka: the dead-letter topic does not exist: create it, or the first malformed event will hold "+
		"the consumer until it does (unless the brokers create topics on first use)", "topic", c.cfg.DLQTopic)
}

// Topics returns the topics consumed and the stream each is read as.
func (c *Consumer) Topics() map[string]string {
	cur := *c.topics.Load()
	out := make(map[string]string, len(cur))
	for t, s := range cur {
		out[t] = s
	}
	return out
}

// Consume adds topics (topic → stream) to those consumed, at once when Run runs (a reloaded
// registry reading a new topic); topics already consumed are left as they are. It returns the
// topics it added.
func (c *Consumer) Consume(topics map[string]string) []string {
	cur := *c.topics.Load()
	next := make(map[string]string, len(cur)+len(topics))
	for t, s := range cur {
		next[t] = s
	}
	var added []string
	for t, s := range topics {
		if _, ok := next[t]; !ok && t != c.cfg.DLQTopic {
			next[t] = s
			added = append(added, t)
		}
	}
	if len(added) == 0 {
		return nil
	}
	sort.Strings(added)
	c.topics.Store(&next)
	if cl := c.client.Load(); cl != nil {
		cl.AddConsumeTopics(added...)
	}
	return added
}

// newTopics is the topics of m not in had.
func newTopics(had []string, m map[string]string) []string {
	seen := make(map[string]bool, len(had))
	for _, t := range had {
		seen[t] = true
	}
	var out []string
	for t := range m {
		if !seen[t] {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// DLQTopic is the dead-letter topic.
func (c *Consumer) DLQTopic() string { return c.cfg.DLQTopic }

// Stats returns the counters.
func (c *Consumer) Stats() Stats {
	c.mu.Lock()
	var lag int64
	for _, l := range c.lag {
		lag += l
	}
	c.mu.Unlock()
	return Stats{
		Records:          c.stats.records.Load(),
		Events:           c.stats.events.Load(),
		Stored:           c.stats.stored.Load(),
		Rejected:         c.stats.rejected.Load(),
		Writes:           c.stats.writes.Load(),
		Unrouted:         c.stats.unrouted.Load(),
		Malformed:        c.stats.malformed.Load(),
		ConversionErrors: c.stats.conversion.Load(),
		StoreErrors:      c.stats.storeErrs.Load(),
		DeadLetters:      c.stats.deadLetters.Load(),
		Commits:          c.stats.commits.Load(),
		CommitErrors:     c.stats.commitErrors.Load(),
		FetchErrors:      c.stats.fetchErrors.Load(),
		Rebalances:       c.stats.rebalances.Load(),
		Lag:              lag,
		Partitions:       c.stats.partitions.Load(),
		StoreRetrying:    c.w.Stats().Retrying,
	}
}

// Run consumes until ctx is done, then finishes the current cycle (store, dead-letter, commit;
// bounded by ShutdownTimeout), leaves the group and returns nil. Each cycle polls up to
// MaxPollRecords, dispatches them, stores their writes through the batching writer (retrying a
// store outage for as long as it lasts), produces dead letters, and only then commits the
// cycle's offsets. Rebalances wait for the cycle to end (BlockRebalanceOnPoll), so partitions are
// handed over with everything processed committed. It returns an error when the client cannot
// start, or when it stopped with records processed but not committed (they will be consumed
// again).
func (c *Consumer) Run(ctx context.Context) error {
	topics := sortedKeys(*c.topics.Load())
	reset := kgo.NewOffset().AtStart()
	if c.cfg.ResetOffset == "latest" {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.cfg.Brokers...),
		kgo.ClientID(c.cfg.ClientID),
		kgo.ConsumerGroup(c.cfg.Group),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
	}
	cl, err := kgo.NewClient(append(opts, c.cfg.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("kafka: client: %w", err)
	}
	c.client.Store(cl)
	defer c.client.Store(nil)
	if late := newTopics(topics, *c.topics.Load()); len(late) > 0 {
		cl.AddConsumeTopics(late...) // added by Consume while the client was being made
	}
	log := c.cfg.Logger
	log.Info("kafka: consuming", "group", c.cfg.Group, "topics", topics, "dlq", c.cfg.DLQTopic)
	c.checkDLQ(ctx, cl)

	// Once ctx is done the current cycle gets ShutdownTimeout more to finish.
	cycleCtx, cancelCycle := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCycle()
	stopTimer := context.AfterFunc(ctx, func() { time.AfterFunc(c.cfg.ShutdownTimeout, cancelCycle) })
	defer stopTimer()

	var runErr error
	for ctx.Err() == nil {
		fetches := cl.PollRecords(ctx, c.cfg.MaxPollRecords)
		if fetches.IsClientClosed() {
			break
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return
			}
			c.stats.fetchErrors.Add(1)
			log.Warn("kafka: fetch error", "topic", topic, "partition", p, "err", err)
		})
		c.updateLag(fetches)
		if recs := fetches.Records(); len(recs) > 0 {
			if err := c.cycle(cycleCtx, cl, recs); err != nil {
				runErr = err
				break
			}
		}
		cl.AllowRebalance()
	}

	// Leave the group; the final revoke commits anything stored but not yet committed.
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.ShutdownTimeout)
	defer cancel()
	cl.AllowRebalance()
	cl.Close()
	if err := c.w.Close(closeCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("kafka: %w", err)
	}
	log.Info("kafka: stopped", "group", c.cfg.Group)
	return runErr
}

// cycle processes one poll's records: dispatch, store, dead-letter, commit.
func (c *Consumer) cycle(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) error {
	type pending struct {
		rec      *kgo.Record
		ticket   *ingest.Ticket
		errs     []error
		stream   string
		unrouted bool
	}
	items := make([]pending, len(recs))
	for i, r := range recs {
		c.stats.records.Add(1)
		stream := (*c.topics.Load())[r.Topic]
		items[i] = pending{rec: r, stream: stream}
		res, err := c.d.Dispatch(ingest.Envelope{StreamName: stream, Topic: r.Topic, Event: r.Value, ReceivedAt: r.Timestamp})
		switch ingest.Reason(err) {
		case "malformed":
			c.stats.malformed.Add(1)
		case "conversion":
			c.stats.conversion.Add(1)
		}
		if err != nil {
			items[i].errs = append(items[i].errs, err)
		}
		if res.Unrouted() && err == nil {
			c.stats.unrouted.Add(1)
			items[i].unrouted = true
		} else if res.Matched > 0 {
			c.stats.events.Add(1)
		}
		if res.Writes() > 0 {
			src := ingest.WithSource(ctx, "kafka:"+r.Topic+"/"+strconv.Itoa(int(r.Partition))+"/"+strconv.FormatInt(r.Offset, 10))
			t, err := c.w.Enqueue(src, res.Static, res.Actions)
			if err != nil {
				return c.abandon(recs, err)
			}
			items[i].ticket = t
		}
	}
	if err := c.w.Flush(ctx); err != nil && ctx.Err() != nil {
		return c.abandon(recs, err)
	}
	// The flush is over: every ticket has its outcome. Only now are events counted as stored.
	var dead []*kgo.Record
	for i := range items {
		it := &items[i]
		switch {
		case it.ticket != nil:
			if err := it.ticket.Err(); err != nil {
				c.stats.storeErrs.Add(1)
				c.stats.rejected.Add(1)
				it.errs = append(it.errs, err)
			} else {
				c.stats.stored.Add(1)
				c.stats.writes.Add(int64(len(it.ticket.Static()) + len(it.ticket.Actions())))
			}
		case it.unrouted:
		case len(it.errs) > 0:
			c.stats.rejected.Add(1) // malformed, or every matching spec failed
		default:
			c.stats.stored.Add(1) // matched, every value missing (skipped): nothing to write
		}
		if len(it.errs) > 0 {
			dead = append(dead, c.deadLetter(it.rec, it.stream, errors.Join(it.errs...)))
		}
	}
	if len(dead) > 0 {
		if err := c.produceDead(ctx, cl, dead); err != nil {
			return c.abandon(recs, err)
		}
	}
	c.commit(ctx, cl, recs)
	return nil
}

// abandon gives up a cycle at shutdown: nothing is committed, so the records are consumed again.
func (c *Consumer) abandon(recs []*kgo.Record, err error) error {
	c.cfg.Logger.Warn("kafka: stopping before the cycle finished; its records will be consumed again", "records", len(recs), "err", err)
	return fmt.Errorf("kafka: stopped with %d records not committed (they will be consumed again): %w", len(recs), err)
}

func (c *Consumer) deadLetter(r *kgo.Record, stream string, err error) *kgo.Record {
	msg := err.Error()
	if len(msg) > maxErrorHeader {
		msg = msg[:maxErrorHeader] + "…"
	}
	headers := append([]kgo.RecordHeader(nil), r.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(ingest.Reason(err))},
		kgo.RecordHeader{Key: HeaderError, Value: []byte(msg)},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: HeaderOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		kgo.RecordHeader{Key: HeaderStream, Value: []byte(stream)},
		kgo.RecordHeader{Key: HeaderTime, Value: []byte(time.Now().UTC().Format(time.RFC3339))},
	)
	c.cfg.Logger.Debug("kafka: dead letter", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", msg)
	return &kgo.Record{Topic: c.cfg.DLQTopic, Key: r.Key, Value: r.Value, Headers: headers}
}

// produceDead produces the dead letters, retrying until they are all acknowledged or ctx is done:
// a record is only committed once its dead letter is safe.
func (c *Consumer) produceDead(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) error {
	for attempt := 0; ; attempt++ {
		results := cl.ProduceSync(ctx, recs...)
		var failed []*kgo.Record
		var lastErr error
		for _, r := range results {
			if r.Err != nil {
				failed = append(failed, r.Record)
				lastErr = r.Err
			} else {
				c.stats.deadLetters.Add(1)
			}
		}
		if len(failed) == 0 {
			return nil
		}
		c.cfg.Logger.Warn("kafka: producing dead letters failed, retrying", "topic", c.cfg.DLQTopic, "records", len(failed), "err", lastErr)
		if ctx.Err() != nil || !c.cfg.Backoff.Sleep(ctx, attempt) {
			return fmt.Errorf("dead letters to %s: %w", c.cfg.DLQTopic, lastErr)
		}
		recs = failed
	}
}

// commit commits the cycle's offsets, with a few retries. A commit that still fails is not fatal:
// the records were stored, and whoever owns the partitions next consumes them again.
func (c *Consumer) commit(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) {
	c.mu.Lock()
	recs = append(c.uncommitted, recs...)
	c.uncommitted = nil
	c.mu.Unlock()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = cl.CommitRecords(ctx, recs...); err == nil {
			c.stats.commits.Add(1)
			return
		}
		if ctx.Err() != nil || !c.cfg.Backoff.Sleep(ctx, attempt) {
			break
		}
	}
	c.stats.commitErrors.Add(1)
	c.cfg.Logger.Warn("kafka: commit failed; will retry with the next cycle or on revoke", "err", err)
	c.mu.Lock()
	c.uncommitted = recs
	c.mu.Unlock()
}

func (c *Consumer) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	c.stats.partitions.Add(int64(count(assigned)))
	c.cfg.Logger.Info("kafka: partitions assigned", "partitions", describe(assigned))
}

// onRevoked runs between cycles (BlockRebalanceOnPoll): everything polled was stored and
// committed, except a failed commit, which gets one more try before the partitions go.
func (c *Consumer) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	c.stats.rebalances.Add(1)
	c.stats.partitions.Add(-int64(count(revoked)))
	c.mu.Lock()
	recs := c.uncommitted
	c.uncommitted = nil
	for t, ps := range revoked {
		for _, p := range ps {
			delete(c.lag, topicPartition{t, p})
		}
	}
	c.mu.Unlock()
	if len(recs) > 0 {
		if err := cl.CommitRecords(ctx, recs...); err != nil {
			c.stats.commitErrors.Add(1)
			c.cfg.Logger.Warn("kafka: commit on revoke failed; the records will be consumed again", "err", err)
		} else {
			c.stats.commits.Add(1)
		}
	}
	if len(revoked) > 0 {
		c.cfg.Logger.Info("kafka: partitions revoked", "partitions", describe(revoked))
	}
}

// onLost: the group is gone (session expired, fenced); commits would fail, nothing to do but
// forget what we owned.
func (c *Consumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.stats.rebalances.Add(1)
	c.stats.partitions.Add(-int64(count(lost)))
	c.mu.Lock()
	c.uncommitted = nil
	for t, ps := range lost {
		for _, p := range ps {
			delete(c.lag, topicPartition{t, p})
		}
	}
	c.mu.Unlock()
	c.cfg.Logger.Warn("kafka: partitions lost", "partitions", describe(lost))
}

func (c *Consumer) updateLag(fetches kgo.Fetches) {
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		last := p.Records[len(p.Records)-1].Offset
		c.mu.Lock()
		c.lag[topicPartition{p.Topic, p.Partition}] = max(0, p.HighWatermark-last-1)
		c.mu.Unlock()
	})
}

func describe(m map[string][]int32) []string {
	var out []string
	for t, ps := range m {
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%s/%d", t, p))
		}
	}
	sort.Strings(out)
	return out
}

func count(m map[string][]int32) int {
	n := 0
	for _, ps := range m {
		n += len(ps)
	}
	return n
}
