package kafka_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestConsumerRealStores runs the consumer into the production store (Redis in front of
// DynamoDB, real servers) and stops Redis mid-stream: DynamoDB is the commit point, so the
// consumer is not held up (statics and action series whose Redis write fails are pending, see
// store/tiered/pending.go) and stores the second half with Redis down; nothing is lost:
// DynamoDB holds exactly what the events say at once, and once Redis is back (empty) the
// statics written during the outage are written through to it in the background.
func TestConsumerRealStores(t *testing.T) {
	testenv.Slow(t, "consumes a stream with Redis stopped halfway, then waits for the write-through")
	rsrv := testenv.NewRedis(t)
	endpoint := testenv.DynamoDB(t)
	ctx := context.Background()
	dyn, err := dynamodb.New(ctx, dynamodb.Config{Endpoint: endpoint, Region: "us-east-1", Table: fmt.Sprintf("ingest_%d", time.Now().UnixNano()%1e9)})
	if err != nil {
		t.Fatal(err)
	}
	if err := dyn.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	rds, err := redis.New(redis.Config{Addrs: []string{rsrv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := tiered.New(rds, dyn, tiered.Config{NegativeTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	c := cluster(t, reg, "real.dlq")
	recs := streamRecords(300)
	produce(t, c, recs[:150])

	cfg := config(c, "real")
	cfg.MaxPollRecords = 50
	cons, stop := start(t, d, st, cfg)
	ingesttest.Eventually(t, 30*time.Second, "the first half stored", func() bool {
		s := cons.Stats()
		return s.Records >= 150 && s.Lag == 0
	})
	rsrv.Stop()
	produce(t, c, recs[150:])
	want := ingesttest.Dump(t, reference(t, d, recs), reg, ids)
	ingesttest.Eventually(t, 30*time.Second, "everything stored in DynamoDB with Redis down", func() bool {
		s := cons.Stats()
		return s.Records >= int64(len(recs)) && s.Lag == 0 && !s.StoreRetrying && reflect.DeepEqual(ingesttest.Dump(t, dyn, reg, ids), want)
	})
	if err := stop(); err != nil { // nothing left to retry: the consumer stops with Redis down
		t.Fatal(err)
	}
	if st.PendingStatics() == 0 {
		t.Errorf("no static pending while Redis is down")
	}
	if got := ingesttest.Dump(t, st, reg, ids); !reflect.DeepEqual(got, want) {
		t.Errorf("tiered store with Redis down\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	rsrv.Start()
	ingesttest.Eventually(t, 30*time.Second, "Redis brought up to date", func() bool {
		return st.PendingStatics() == 0 && st.StaleSeries() == 0
	})
	// Redis restarted empty: every static whose final value came with the second half is
	// there (written through by the background loop, not by reads), and nothing there is stale.
	inRedis := statics(ingesttest.Dump(t, rds, reg, ids))
	first := map[string]bool{}
	for _, l := range statics(ingesttest.Dump(t, reference(t, d, recs[:150]), reg, ids)) {
		first[l] = true
	}
	wantRedis := map[string]bool{}
	for _, l := range statics(want) {
		wantRedis[l] = true
	}
	held := map[string]bool{}
	for _, l := range inRedis {
		held[l] = true
		if !wantRedis[l] {
			t.Errorf("Redis holds a stale static: %s", l)
		}
	}
	late := 0
	for _, l := range statics(want) {
		if !first[l] {
			late++
			if !held[l] {
				t.Errorf("Redis lacks a static written during the outage: %s", l)
			}
		}
	}
	if late == 0 {
		t.Fatal("no static final value came with the second half: the test proves nothing")
	}
	if got := ingesttest.Dump(t, st, reg, ids); !reflect.DeepEqual(got, want) {
		t.Errorf("real stores\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if s := cons.Stats(); s.DeadLetters != 0 {
		t.Errorf("dead letters: %+v", s)
	}
}

// statics keeps the static lines of a Dump ("key = value @time"; action lines end with "]").
func statics(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasSuffix(l, "]") {
			out = append(out, l)
		}
	}
	return out
}

// TestConsumerNeverWaitsOnHungRedis: with Redis hung (the fault proxy holds every byte) the
// consumer is not held up: DynamoDB took each batch, the Redis update gave up within its budget
// and the keys went pending, so the writer never retried (before, every batch waited for its
// 10 s call timeout and was retried); DynamoDB holds exactly what the records say, and Redis is
// brought up to date once it answers again.
func TestConsumerNeverWaitsOnHungRedis(t *testing.T) {
	proxy := testenv.NewFaultProxy(t, testenv.NewRedis(t).Addr())
	ctx := context.Background()
	dyn, err := dynamodb.New(ctx, dynamodb.Config{Endpoint: testenv.DynamoDB(t), Region: "us-east-1", Table: fmt.Sprintf("ingest_hung_%d", time.Now().UnixNano()%1e9)})
	if err != nil {
		t.Fatal(err)
	}
	if err := dyn.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	rds, err := redis.New(redis.Config{Addrs: []string{proxy.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := tiered.New(rds, dyn, tiered.Config{NegativeTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	c := cluster(t, reg, "hung.dlq")
	recs := streamRecords(200)
	proxy.Set(testenv.Blackhole, 0)
	produce(t, c, recs)
	cfg := config(c, "hung")
	cfg.MaxPollRecords = 50
	cons, stop := start(t, d, st, cfg)
	retried := false
	ingesttest.Eventually(t, 60*time.Second, "every record stored with Redis hung", func() bool {
		s := cons.Stats()
		retried = retried || s.StoreRetrying
		return s.Stored >= int64(len(recs)) && s.Lag == 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if retried {
		t.Errorf("the writer retried: a hung Redis held the consumer up")
	}
	want := ingesttest.Dump(t, reference(t, d, recs), reg, ids)
	if got := ingesttest.Dump(t, dyn, reg, ids); !reflect.DeepEqual(got, want) {
		t.Errorf("DynamoDB\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	proxy.Set(testenv.Pass, 0)
	ingesttest.Eventually(t, 30*time.Second, "Redis brought up to date", func() bool {
		return st.PendingStatics() == 0 && st.StaleSeries() == 0
	})
	if got := ingesttest.Dump(t, st, reg, ids); !reflect.DeepEqual(got, want) {
		t.Errorf("tiered store after healing\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}
