package tiered_test

import (
	"context"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

// ingestDuringRead is a DynamoDB source whose fallback read is followed, before the answer
// reaches the tiered store (and so before the refill), by a write from another ingestion process.
type ingestDuringRead struct {
	*dynamodb.Store
	other *tiered.Store // another process's tiered store over the same Redis and table
	write store.ActionWrite
	done  bool
}

func (s *ingestDuringRead) ReadEvents(ctx context.Context, qs []store.ActionQuery) (map[store.ActionQuery][]dynamodb.Event, error) {
	got, err := s.Store.ReadEvents(ctx, qs)
	if err == nil && !s.done {
		s.done = true
		err = s.other.WriteActions(ctx, []store.ActionWrite{s.write})
	}
	return got, err
}

// An event ingested between a fallback's DynamoDB read and its refill of Redis is not lost from
// Redis: the refill marker lets ingestion write it, and the refill merges with it.
func TestEventIngestedDuringRefillReachesRedis(t *testing.T) {
	ctx := context.Background()
	addr := testenv.Redis(t)
	newRedis := func() *redis.Store {
		r, err := redis.New(redis.Config{Addrs: []string{addr}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ddb := newTable(t, nil)
	other, err := tiered.New(newRedis(), ddb, tiered.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	k := newKey("clicks")
	now := time.Now().UnixMilli()
	old := store.ActionWrite{Key: k, TS: now - 2000, Member: `{"a":1}`, MaxCount: 10, TTL: time.Hour}
	mustWrite(t, other, old) // in DynamoDB only: Redis does not hold the series
	src := &ingestDuringRead{Store: ddb, other: other,
		write: store.ActionWrite{Key: k, TS: now - 1000, Member: `{"a":2}`, MaxCount: 10, TTL: time.Hour}}
	ts, err := tiered.New(newRedis(), src, tiered.Config{NegativeTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()

	q := store.ActionQuery{Key: k, Count: 10, Dedupe: true, MaxCount: 10}
	mustRead(t, ts, q) // fallback: reads [a:1], then a:2 is ingested, then the refill
	ts.WaitBackground()

	r := newRedis()
	defer r.Close()
	found, missing, err := r.ReadActionsCached(ctx, []store.ActionQuery{q})
	if err != nil || len(missing) != 0 {
		t.Fatalf("Redis should hold the refilled series: missing %v, err %v", missing, err)
	}
	want := []store.ActionEvent{{TS: now - 1000, Member: `{"a":2}`}, {TS: now - 2000, Member: `{"a":1}`}}
	if got := found[q]; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Redis holds %v, want %v (the event ingested during the refill is lost)", got, want)
	}
}
