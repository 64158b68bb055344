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
// DynamoDB, real servers) and restarts Redis mid-stream: the tiered store fails the static writes
// that reach DynamoDB but not Redis (write-through; action series are isolated instead, see
// store/tiered/pending.go), the consumer retries them, and the stores end up holding exactly what
// the events say.
func TestConsumerRealStores(t *testing.T) {
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
	ingesttest.Eventually(t, 30*time.Second, "the consumer retrying while Redis is down", func() bool {
		return cons.Stats().StoreRetrying
	})
	if s := cons.Stats(); s.Records >= int64(len(recs)) && s.Lag == 0 && !s.StoreRetrying {
		t.Fatalf("consumer finished with Redis down: %+v", s)
	}
	rsrv.Start()
	ingesttest.Eventually(t, 30*time.Second, "everything stored", func() bool {
		s := cons.Stats()
		return s.Records >= int64(len(recs)) && s.Lag == 0 && !s.StoreRetrying
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := ingesttest.Dump(t, st, reg, ids)
	want := ingesttest.Dump(t, reference(t, d, recs), reg, ids)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("real stores\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if s := cons.Stats(); s.DeadLetters != 0 {
		t.Errorf("dead letters: %+v", s)
	}
}
