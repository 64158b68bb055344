package kafka_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/ingest/kafka"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

// rec is a record to produce: the topic and the event JSON.
type rec struct {
	topic, value string
}

func cluster(t *testing.T, reg *registry.Registry, extra ...string) *kfake.Cluster {
	t.Helper()
	topics := append([]string{}, extra...)
	for topic := range ingest.NewDispatcher(reg).Topics() {
		topics = append(topics, topic)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func produce(t *testing.T, c *kfake.Cluster, recs []rec) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var krs []*kgo.Record
	for _, r := range recs {
		krs = append(krs, &kgo.Record{Topic: r.topic, Key: keyOf(r.value), Value: []byte(r.value)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// keyOf keys records by user (as a CDC producer would), so one user's events share a partition
// but the records spread over both partitions.
func keyOf(v string) []byte {
	var m map[string]any
	if json.Unmarshal([]byte(v), &m) == nil {
		for _, k := range []string{"user_id", "buyer_id", "article_id"} {
			if id, ok := m[k]; ok {
				return []byte(fmt.Sprint(id))
			}
		}
	}
	return nil
}

func demoRecords(t *testing.T) []rec {
	f, err := os.Open(ingesttest.DemoEventsPath())
	if err != nil {
		t.Skip("features/demo/events.jsonl not there yet")
	}
	defer f.Close()
	var out []rec
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		env, err := ingest.DecodeEnvelope(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec{env.Topic, string(env.Event)})
	}
	return out
}

func config(c *kfake.Cluster, group string) kafka.Config {
	cfg := kafka.DefaultConfig()
	cfg.Brokers = c.ListenAddrs()
	cfg.Group = group
	cfg.MaxPollRecords = 7 // many cycles
	cfg.ShutdownTimeout = 2 * time.Second
	cfg.Backoff = ingest.Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond}
	cfg.Writer.Backoff = cfg.Backoff
	cfg.Writer.Linger = time.Millisecond
	cfg.ClientOpts = []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond), kgo.HeartbeatInterval(50 * time.Millisecond)}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Writer.Logger = cfg.Logger
	return cfg
}

// start runs a consumer in the background and returns a stop function that cancels it and
// returns Run's error.
func start(t *testing.T, d *ingest.Dispatcher, st store.Writer, cfg kafka.Config) (*kafka.Consumer, func() error) {
	t.Helper()
	cons, err := kafka.New(d, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	var once atomic.Bool
	stop := func() error {
		if !once.CompareAndSwap(false, true) {
			return nil
		}
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("consumer did not stop")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return cons, stop
}

// reference stores the records straight through the dispatcher, in order, into a fresh memory
// store: what any correct consumer must end up with, whatever the delivery order and repeats.
func reference(t *testing.T, d *ingest.Dispatcher, recs []rec) *memory.Store {
	t.Helper()
	mem := memory.New()
	ctx := context.Background()
	for _, r := range recs {
		res, _ := d.Dispatch(ingest.Envelope{Topic: r.topic, Event: json.RawMessage(r.value)})
		if err := mem.WriteStatic(ctx, res.Static); err != nil {
			t.Fatal(err)
		}
		if err := mem.WriteActions(ctx, res.Actions); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

var ids = map[string][]string{
	"user":    {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"},
	"article": {"101", "102", "103", "104", "105", "106", "107", "108"},
}

// deadLetters reads n records from the DLQ topic.
func deadLetters(t *testing.T, c *kfake.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d dead letters, want %d", len(out), n)
		}
		out = append(out, fs.Records()...)
	}
	// Nothing more should arrive.
	short, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	out = append(out, cl.PollFetches(short).Records()...)
	sort.Slice(out, func(i, j int) bool { return string(out[i].Value) < string(out[j].Value) })
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestConsumerEndToEnd(t *testing.T) {
	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	c := cluster(t, reg, "g.dlq")

	recs := demoRecords(t)
	recs = append(recs, recs[len(recs)-10:]...) // duplicates: redelivered or re-produced events
	recs = append(recs,
		// An older update of user 2 after the newer one: must not overwrite.
		rec{"user_cdc", `{"event_name":"user_updated","user_id":2,"device":{"os":"web"},"region":{"id":1},"verified":true,"updated_at":"2026-01-01T00:00:00Z"}`},
		// Unknown sub-topic: unrouted, committed, no dead letter.
		rec{"client_event_cleansed", `{"event_name":"scroll","user_id":1,"event_time":1}`},
		// Poison: not JSON.
		rec{"user_cdc", `not json at all`},
		// Not an object.
		rec{"order_cdc", `[1,2,3]`},
		// One spec fails conversion; the event's other specs still write.
		rec{"user_cdc", `{"event_name":"user_updated","user_id":4,"device":{"os":"ios"},"region":{"id":"six"},"verified":true,"updated_at":"2026-10-20T00:00:00Z"}`},
	)
	produce(t, c, recs)

	mem := memory.New()
	cfg := config(c, "g")
	var logged syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	cons, stop := start(t, d, mem, cfg)
	defer func() {
		if strings.Contains(logged.String(), "dead-letter topic") {
			t.Errorf("a warning about the dead-letter topic, which exists:\n%s", logged.String())
		}
	}()
	ingesttest.Eventually(t, 20*time.Second, "every record committed", func() bool {
		s := cons.Stats()
		return s.Records >= int64(len(recs)) && s.Lag == 0 && s.DeadLetters == 3
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	got := ingesttest.Dump(t, mem, reg, ids)
	want := ingesttest.Dump(t, reference(t, d, recs), reg, ids)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("store contents\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	// Spot checks against hand-written values, so the reference is not the only judge.
	for _, line := range []string{
		`u#1#os = "ios" @2026-10-10T12:01:00Z`, // the older android update arrived later and lost
		`u#2#os = "android" @2026-10-10T12:02:00Z`,
		`u#4#os = "ios" @2026-10-20T00:00:00Z`, // region_id failed, os still written
		`u#1#notification_keywords = ["bicycle","camping","lego"] @2026-10-11T11:00:00Z`,
	} {
		if !containsLine(got, line) {
			t.Errorf("store lacks %s", line)
		}
	}
	if containsPrefix(got, "u#4#region_id") {
		t.Error("u#4#region_id written from a bad value")
	}

	dl := deadLetters(t, c, "g.dlq", 3)
	if len(dl) != 3 {
		t.Fatalf("%d dead letters, want 3", len(dl))
	}
	wantDL := []struct{ value, reason, err string }{
		{`[1,2,3]`, "malformed", "event must be a JSON object"},
		{`not json at all`, "malformed", "event is not JSON"},
		{`{"event_name":"user_updated","user_id":4`, "conversion", `user.region_id: field "region.id": want Int, got "six"`},
	}
	for i, w := range wantDL {
		r := dl[i]
		if !strings.HasPrefix(string(r.Value), w.value) || header(r, kafka.HeaderReason) != w.reason || !strings.Contains(header(r, kafka.HeaderError), w.err) {
			t.Errorf("dead letter %d: value %q reason %q error %q; want %q %q %q", i, r.Value, header(r, kafka.HeaderReason), header(r, kafka.HeaderError), w.value, w.reason, w.err)
		}
		if header(r, kafka.HeaderTopic) == "" || header(r, kafka.HeaderOffset) == "" || header(r, kafka.HeaderPartition) == "" {
			t.Errorf("dead letter %d lacks its origin headers: %v", i, r.Headers)
		}
	}
	unrouted := 0
	for _, r := range recs {
		if res, err := d.Dispatch(ingest.Envelope{Topic: r.topic, Event: json.RawMessage(r.value)}); err == nil && res.Unrouted() {
			unrouted++
		}
	}
	s := cons.Stats()
	if s.Unrouted != int64(unrouted) || s.Malformed != 2 || s.ConversionErrors != 1 || s.Commits == 0 || s.Records != int64(len(recs)) {
		t.Errorf("stats %+v", s)
	}
}

func containsLine(lines []string, l string) bool {
	for _, x := range lines {
		if x == l {
			return true
		}
	}
	return false
}

func containsPrefix(lines []string, p string) bool {
	for _, x := range lines {
		if strings.HasPrefix(x, p) {
			return true
		}
	}
	return false
}

// streamRecords makes n events over 10 users: clicks (dedupe), purchases (no dedupe, some
// repeats of the same fields), searches and static updates in no particular time order.
func streamRecords(n int) []rec {
	var out []rec
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range n {
		user := i%10 + 1
		ts := base + int64((i*7919)%100000)*1000 // scrambled times
		switch i % 4 {
		case 0:
			out = append(out, rec{"client_event_cleansed", fmt.Sprintf(`{"event_name":"view_article_v1","user_id":%d,"event_time":%d,"country_code":"kr","params":{"article_id_v1":%d,"source":"feed"}}`, user, ts, 101+i%8)})
		case 1:
			out = append(out, rec{"order_cdc", fmt.Sprintf(`{"event_name":"order_completed","buyer_id":%d,"article_id":%d,"amount":1000,"status":"completed","completed_at":%d}`, user, 101+i%3, ts)})
		case 2:
			out = append(out, rec{"client_event_cleansed", fmt.Sprintf(`{"event_name":"search_v2","user_id":%d,"event_time":%d,"params":{"query":"q%d","result_count":%d}}`, user, ts, i%13, i%5)})
		default:
			out = append(out, rec{"user_cdc", fmt.Sprintf(`{"event_name":"user_updated","user_id":%d,"device":{"os":"os%d"},"region":{"id":%d},"verified":%v,"updated_at":%d}`, user, i, i, i%2 == 0, ts)})
		}
	}
	return out
}

// stopAfter wraps a store: the call that would take it past n writes finds it down (it hangs
// until its deadline) and stops the worker, as a worker killed mid-stream while the store is in
// trouble: that cycle cannot finish, so its records are not committed.
type stopAfter struct {
	*ingesttest.Flaky
	n      int64
	writes atomic.Int64
	stop   func()
}

func (s *stopAfter) gate(n int) {
	if s.writes.Add(int64(n)) >= s.n && s.Flaky.Down.CompareAndSwap(false, true) {
		go s.stop()
	}
}

func (s *stopAfter) WriteStatic(ctx context.Context, ws []store.StaticWrite) error {
	s.gate(len(ws))
	return s.Flaky.WriteStatic(ctx, ws)
}

func (s *stopAfter) WriteActions(ctx context.Context, ws []store.ActionWrite) error {
	s.gate(len(ws))
	return s.Flaky.WriteActions(ctx, ws)
}

// slow delays every store call, so that a cycle is in progress when the group rebalances.
type slow struct{ store.Writer }

func (s slow) WriteStatic(ctx context.Context, ws []store.StaticWrite) error {
	time.Sleep(5 * time.Millisecond)
	return s.Writer.WriteStatic(ctx, ws)
}

func (s slow) WriteActions(ctx context.Context, ws []store.ActionWrite) error {
	time.Sleep(5 * time.Millisecond)
	return s.Writer.WriteActions(ctx, ws)
}

func TestConsumerStopMidStreamAndRestart(t *testing.T) {
	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	c := cluster(t, reg, "restart.dlq")
	recs := streamRecords(400)
	produce(t, c, recs)

	mem := memory.New()
	cfg := config(c, "restart")
	cfg.ShutdownTimeout = 100 * time.Millisecond
	cfg.Writer.CallTimeout = 20 * time.Millisecond

	// First worker: dies mid-stream with a cycle stored in part and not committed.
	stopFn := make(chan func() error, 1)
	stopped := make(chan struct{})
	sa := &stopAfter{Flaky: &ingesttest.Flaky{Writer: mem}, n: 150}
	sa.stop = func() { stop := <-stopFn; stop(); close(stopped) }
	cons1, stop1 := start(t, d, sa, cfg)
	stopFn <- stop1
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("first worker never reached its stop point")
	}
	first := cons1.Stats()
	if first.Records >= int64(len(recs)) {
		t.Fatalf("first worker consumed everything (%d records) before stopping", first.Records)
	}

	// Second worker, same group, healthy store: picks up from the last commit.
	cons2, stop2 := start(t, d, mem, config(c, "restart"))
	ingesttest.Eventually(t, 20*time.Second, "the rest consumed", func() bool {
		s := cons2.Stats()
		return first.Records+s.Records >= int64(len(recs)) && s.Lag == 0 && s.Commits > 0
	})
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	second := cons2.Stats()
	if second.Records == int64(len(recs)) {
		t.Errorf("second worker re-read everything: the first committed nothing")
	}
	if first.Records+second.Records == int64(len(recs)) {
		t.Errorf("nothing was consumed twice: the first worker's last cycle was committed after all")
	}
	t.Logf("first worker: %d records, %d commits; second: %d records (%d redelivered)", first.Records, first.Commits, second.Records, first.Records+second.Records-int64(len(recs)))

	got := ingesttest.Dump(t, mem, reg, ids)
	want := ingesttest.Dump(t, reference(t, d, recs), reg, ids)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("store contents after restart\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if first.DeadLetters+second.DeadLetters != 0 {
		t.Errorf("dead letters: %d", first.DeadLetters+second.DeadLetters)
	}
}

func TestConsumerRidesOutStoreOutage(t *testing.T) {
	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	c := cluster(t, reg, "outage.dlq")
	recs := streamRecords(100)

	mem := memory.New()
	fl := &ingesttest.Flaky{Writer: mem}
	fl.Down.Store(true)
	cfg := config(c, "outage")
	cfg.Writer.CallTimeout = 10 * time.Millisecond
	cons, stop := start(t, d, fl, cfg)
	produce(t, c, recs)

	ingesttest.Eventually(t, 20*time.Second, "the consumer retrying", func() bool {
		return cons.Stats().StoreRetrying && fl.Failed.Load() >= 5
	})
	if s := cons.Stats(); s.Commits != 0 {
		t.Fatalf("committed %d times while the store was down", s.Commits)
	}
	fl.Down.Store(false)
	fl.FailNext.Store(7) // and a few more failures on the way back
	ingesttest.Eventually(t, 20*time.Second, "everything stored and committed", func() bool {
		s := cons.Stats()
		return s.Records == int64(len(recs)) && s.Lag == 0 && !s.StoreRetrying && s.Commits > 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := ingesttest.Dump(t, mem, reg, ids)
	want := ingesttest.Dump(t, reference(t, d, recs), reg, ids)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("store contents after the outage differ\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestConsumerRebalanceHandOff(t *testing.T) {
	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	c := cluster(t, reg, "rb.dlq")
	recs := streamRecords(600)
	produce(t, c, recs)
	mem := memory.New()

	consA, stopA := start(t, d, slow{mem}, config(c, "rb"))
	ingesttest.Eventually(t, 20*time.Second, "the first member consuming", func() bool { return consA.Stats().Records > 50 })
	consB, stopB := start(t, d, slow{mem}, config(c, "rb")) // joins while A is mid-stream
	ingesttest.Eventually(t, 30*time.Second, "both members done", func() bool {
		a, b := consA.Stats(), consB.Stats()
		return a.Records+b.Records >= int64(len(recs)) && a.Lag == 0 && b.Lag == 0 && b.Partitions > 0
	})
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	a, b := consA.Stats(), consB.Stats()
	t.Logf("member A %d records, B %d records, rebalances %d/%d", a.Records, b.Records, a.Rebalances, b.Rebalances)
	if b.Records == 0 || a.Rebalances == 0 {
		t.Fatalf("no hand-off happened: A %+v B %+v", a, b)
	}
	// Everything A processed before giving partitions up was committed: nothing is read twice.
	if a.Records+b.Records != int64(len(recs)) {
		t.Errorf("records consumed %d + %d, want exactly %d", a.Records, b.Records, len(recs))
	}
	got := ingesttest.Dump(t, mem, reg, ids)
	want := ingesttest.Dump(t, reference(t, d, recs), reg, ids)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("store contents after the hand-off differ")
	}
}

func TestConfig(t *testing.T) {
	m, err := kafka.ParseTopicStreams("client_event_cleansed=client_event, user_cdc=app_events,order_cdc")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, map[string]string{"client_event_cleansed": "client_event", "user_cdc": "app_events", "order_cdc": ""}) {
		t.Errorf("ParseTopicStreams: %v", m)
	}
	if _, err := kafka.ParseTopicStreams("=x"); err == nil {
		t.Error("accepted an empty topic")
	}
	err = kafka.Config{MaxPollRecords: -1, ResetOffset: "middle"}.Validate()
	for _, want := range []string{"Brokers", "Group", "MaxPollRecords", "ResetOffset"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v does not name %s", err, want)
		}
	}

	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	cfg := kafka.DefaultConfig()
	cfg.Brokers, cfg.Group = []string{"localhost:9092"}, "g"
	cons, err := kafka.New(d, memory.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cons.DLQTopic() != "g.dlq" || cons.Topics()["client_event_cleansed"] != "client_event" || cons.Topics()["user_cdc"] != "app_events" {
		t.Errorf("defaults: dlq %q topics %v", cons.DLQTopic(), cons.Topics())
	}
	cfg.Streams = []string{"client_event"}
	cons, err = kafka.New(d, memory.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cons.Topics(), map[string]string{"client_event_cleansed": "client_event"}) {
		t.Errorf("Streams filter: %v", cons.Topics())
	}
	cfg.Streams = nil
	cfg.TopicStreams = map[string]string{"raw_clicks": "nope"}
	if _, err := kafka.New(d, memory.New(), cfg); err == nil || !strings.Contains(err.Error(), `unknown stream "nope"`) {
		t.Errorf("unknown stream: %v", err)
	}
	cfg.TopicStreams = map[string]string{"raw_clicks": ""}
	if _, err := kafka.New(d, memory.New(), cfg); err == nil || !strings.Contains(err.Error(), "read by no feature spec") {
		t.Errorf("unknown topic: %v", err)
	}
}

// BenchmarkConsumer measures the whole stream path through a broker: kfake → consumer →
// dispatcher → writer → memory store, with commits per poll of 1000 records. It reports events/s.
func BenchmarkConsumer(b *testing.B) {
	reg := ingesttest.Registry(b)
	d := ingest.NewDispatcher(reg)
	const n = 20000
	recs := streamRecords(n)
	b.ResetTimer()
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		topics := []string{}
		for topic := range d.Topics() {
			topics = append(topics, topic)
		}
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, append(topics, "bench.dlq")...))
		if err != nil {
			b.Fatal(err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerBatchMaxBytes(1<<20))
		if err != nil {
			b.Fatal(err)
		}
		var krs []*kgo.Record
		for _, r := range recs {
			krs = append(krs, &kgo.Record{Topic: r.topic, Key: keyOf(r.value), Value: []byte(r.value)})
		}
		if err := cl.ProduceSync(context.Background(), krs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
		cl.Close()
		cfg := kafka.DefaultConfig()
		cfg.Brokers, cfg.Group = c.ListenAddrs(), "bench"
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		cons, err := kafka.New(d, memory.New(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- cons.Run(ctx) }()
		for cons.Stats().Records < n || cons.Stats().Lag != 0 {
			time.Sleep(time.Millisecond)
		}
		total += time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "events/s")
}

// TestConsumerWaitsForDeadLetterTopic: a record is committed only once its dead letter is safe.
// With the DLQ topic missing the consumer retries and commits nothing; once the topic exists
// it goes on.
func TestConsumerWaitsForDeadLetterTopic(t *testing.T) {
	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	c := cluster(t, reg) // no DLQ topic
	produce(t, c, []rec{
		{"user_cdc", `{"event_name":"manner_updated","user_id":1,"temperature":40,"updated_at":1760000000}`},
		{"user_cdc", `poison`},
	})
	cfg := config(c, "late-dlq")
	cfg.ClientOpts = append(cfg.ClientOpts, kgo.UnknownTopicRetries(1))
	var logged syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	cons, stop := start(t, d, memory.New(), cfg)
	ingesttest.Eventually(t, 10*time.Second, "a warning that the dead-letter topic is missing", func() bool {
		return strings.Contains(logged.String(), "the dead-letter topic does not exist") && strings.Contains(logged.String(), "topic=late-dlq.dlq")
	})
	ingesttest.Eventually(t, 20*time.Second, "the poison record dispatched", func() bool { return cons.Stats().Malformed == 1 })
	time.Sleep(300 * time.Millisecond) // give a wrong commit the chance to happen
	if s := cons.Stats(); s.Commits != 0 || s.DeadLetters != 0 {
		t.Fatalf("committed without the dead letter: %+v", s)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "late-dlq.dlq", 1, 1
	req.Topics = append(req.Topics, rt)
	if _, err := req.RequestWith(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	ingesttest.Eventually(t, 20*time.Second, "the dead letter produced and the records committed", func() bool {
		s := cons.Stats()
		return s.DeadLetters == 1 && s.Commits > 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if dl := deadLetters(t, c, "late-dlq.dlq", 1); len(dl) != 1 || string(dl[0].Value) != "poison" {
		t.Errorf("dead letters %v", dl)
	}
}

// syncBuffer is a bytes.Buffer a logger and a test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConsumerCountsWhatWasStored: an event counts as stored only once the writer's flush stored
// its writes: never while the store is down and the writes are retried. After the outage the
// counters equal what the store holds: every event with writes stored (one that failed a spec
// but wrote the others included, as a push answered "partial"), rejected the malformed one and
// the one whose writes the store refused for good, unrouted the one that matched nothing; the
// dead-letter counter stays its own.
func TestConsumerCountsWhatWasStored(t *testing.T) {
	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	c := cluster(t, reg, "count.dlq")
	recs := streamRecords(40)
	recs = append(recs,
		// Partial: region_id fails conversion, os and verified are written.
		rec{"user_cdc", `{"event_name":"user_updated","user_id":4,"device":{"os":"ios"},"region":{"id":"six"},"verified":true,"updated_at":"2026-10-20T00:00:00Z"}`},
		// The store refuses user 77's writes for good.
		rec{"user_cdc", `{"event_name":"user_updated","user_id":77,"device":{"os":"ios"},"region":{"id":1},"verified":true,"updated_at":"2026-10-20T00:00:00Z"}`},
		rec{"user_cdc", `not json at all`},
		rec{"client_event_cleansed", `{"event_name":"scroll","user_id":1,"event_time":1}`},
	)
	wantWrites := 0
	for _, r := range recs[:41] {
		res, _ := d.Dispatch(ingest.Envelope{Topic: r.topic, Event: json.RawMessage(r.value)})
		if res.Writes() == 0 {
			t.Fatalf("record %s makes no writes", r.value)
		}
		wantWrites += res.Writes()
	}

	mem := memory.New()
	fl := &ingesttest.Flaky{Writer: mem}
	fl.Reject("77")
	fl.Down.Store(true)
	cfg := config(c, "count")
	cfg.Writer.CallTimeout = 10 * time.Millisecond
	cons, stop := start(t, d, fl, cfg)
	produce(t, c, recs)

	ingesttest.Eventually(t, 20*time.Second, "the consumer retrying", func() bool {
		s := cons.Stats()
		return s.StoreRetrying && fl.Failed.Load() >= 5 && s.Events > 0
	})
	if s := cons.Stats(); s.Stored != 0 || s.Writes != 0 {
		t.Fatalf("with the store down, %d events and %d writes counted as stored: %+v", s.Stored, s.Writes, s)
	}
	fl.Down.Store(false)
	ingesttest.Eventually(t, 20*time.Second, "everything stored and committed", func() bool {
		s := cons.Stats()
		return s.Records == int64(len(recs)) && s.Lag == 0 && !s.StoreRetrying && s.DeadLetters == 3
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	s := cons.Stats()
	if s.Stored != 41 || s.Rejected != 2 || s.Unrouted != 1 || s.DeadLetters != 3 || s.StoreErrors != 1 {
		t.Errorf("stored %d (want 41), rejected %d (want 2), unrouted %d (want 1), dead letters %d (want 3), store errors %d (want 1)",
			s.Stored, s.Rejected, s.Unrouted, s.DeadLetters, s.StoreErrors)
	}
	// The partial event's os and verified were stored, its region_id not (2 of its 3 writes).
	if s.Writes != int64(wantWrites) {
		t.Errorf("writes %d, want %d", s.Writes, wantWrites)
	}
	got := ingesttest.Dump(t, mem, reg, ids)
	want := ingesttest.Dump(t, reference(t, d, recs[:41]), reg, ids)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("store contents\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// Consume adds a topic to a running consumer (a reloaded registry reading a new topic): its
// records are consumed and stored from then on.
func TestConsumerConsumeAddsTopic(t *testing.T) {
	reg := ingesttest.Registry(t)
	c := cluster(t, reg, "add.dlq")
	cfg := config(c, "add")
	cfg.DLQTopic = "add.dlq"
	cfg.TopicStreams = map[string]string{"client_event_cleansed": "client_event"}
	cons, stop := start(t, ingest.NewDispatcher(reg), memory.New(), cfg)
	if _, ok := cons.Topics()["user_cdc"]; ok {
		t.Fatal("user_cdc consumed before it was added")
	}
	if added := cons.Consume(map[string]string{"user_cdc": "app_events", "client_event_cleansed": "client_event"}); len(added) != 1 || added[0] != "user_cdc" {
		t.Fatalf("added %v", added)
	}
	produce(t, c, []rec{{"user_cdc", `{"event_name":"user_updated","user_id":1,"device":{"os":"ios"},"region":{"id":3},"verified":true,"updated_at":1700000000000}`}})
	ingesttest.Eventually(t, 20*time.Second, "the added topic's record stored", func() bool { return cons.Stats().Stored == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
