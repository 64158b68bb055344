package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/redis"
)

// TestRefillMarkerSharesTheSeriesSlot: on a real Redis Cluster, a series and its refill marker
// are read and written together (one EXISTS, one script), so they must be in one slot — also
// for ids with braces, which a String id may hold (before, `{user#a}b#clicks}:refill` hashed
// "user#a" and every read and write of that series failed with CROSSSLOT). The slot computed
// here is the server's own (CLUSTER KEYSLOT), and a whole refill runs without an error.
func TestRefillMarkerSharesTheSeriesSlot(t *testing.T) {
	ctx := context.Background()
	cluster := testenv.NewRedisCluster(t)
	s, err := redis.New(redis.Config{Addrs: cluster.Addrs(), Cluster: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ids := []string{"1", "a}b", "{x}y", "{}z", "p{q", "}{", "{{a}}", "é{ü}"}
	for n := range 20 {
		ids = append(ids, fmt.Sprintf("id-%d-{%d}", n, n*7919))
	}
	for _, id := range ids {
		k := store.Key{Prefix: "rt", ID: id, Feature: "clicks"}
		key, marker := k.String(), redis.RefillMarker(k.String())
		for _, name := range []string{key, marker} {
			want, err := s.Client().Do(ctx, "cluster", "keyslot", name).Int64()
			if err != nil {
				t.Fatal(err)
			}
			if got := redis.Slot(name); int64(got) != want {
				t.Fatalf("slot of %q: computed %d, Redis says %d", name, got, want)
			}
		}
		if redis.Slot(key) != redis.Slot(marker) {
			t.Fatalf("id %q: series %q in slot %d, marker %q in slot %d", id, key, redis.Slot(key), marker, redis.Slot(marker))
		}

		q := store.ActionQuery{Key: k, Count: 10, MaxCount: 10}
		if err := s.MarkRefill(ctx, []store.Key{k}, time.Minute); err != nil {
			t.Fatalf("id %q: mark refill: %v", id, err)
		}
		if err := s.WriteActionsIfPresent(ctx, []store.ActionWrite{{Key: k, TS: 5000, Member: `{"a":5}`, MaxCount: 10}}); err != nil {
			t.Fatalf("id %q: write during the refill: %v", id, err)
		}
		found, missing, err := s.ReadActionsCached(ctx, []store.ActionQuery{q})
		if err != nil || len(missing) != 1 {
			t.Fatalf("id %q: read during the refill: found %v, missing %v, %v", id, found, missing, err)
		}
		if err := s.EndRefill(ctx, []store.Key{k}, false); err != nil {
			t.Fatalf("id %q: end refill: %v", id, err)
		}
		found, _, err = s.ReadActionsCached(ctx, []store.ActionQuery{q})
		if err != nil || len(found[q]) != 1 {
			t.Fatalf("id %q: read after the refill: %v, %v", id, found[q], err)
		}
	}
}
