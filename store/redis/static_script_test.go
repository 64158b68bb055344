package redis_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/redis"
)

// TestStaticScriptReadsAsHMGET: with StaticScript a read answers exactly what the HMGET read
// answers (values of every kind, missing fields, negative entries live and expired, missing
// entities, more entities than one script call takes), with one EVALSHA per 128 entities.
func TestStaticScriptReadsAsHMGET(t *testing.T) {
	ctx := context.Background()
	addr := testenv.Redis(t)
	plain := newStore(t, addr, nil)
	scripted, err := redis.New(redis.Config{Addrs: []string{addr}, StaticScript: true})
	if err != nil {
		t.Fatal(err)
	}
	defer scripted.Close()
	prefix := "sc" + strconv.Itoa(time.Now().Nanosecond())
	features := []string{"i", "f", "s", "l", "neg", "old_neg", "none", strings.Repeat("long", 20)}
	var ws []store.StaticWrite
	var negs, oldNegs []store.Key
	q := store.StaticQuery{Prefix: prefix, Features: features}
	for e := range 300 {
		id := strconv.Itoa(e)
		q.IDs = append(q.IDs, id)
		if e%7 == 3 {
			continue // an entity Redis knows nothing of
		}
		k := func(f string) store.Key { return store.Key{Prefix: prefix, ID: id, Feature: f} }
		ws = append(ws,
			store.StaticWrite{Key: k("i"), Value: store.IntValue(int64(e * 31)), TS: 1},
			store.StaticWrite{Key: k("f"), Value: store.FloatValue(float64(e) / 8), TS: 2},
			store.StaticWrite{Key: k("s"), Value: store.StringValue(strings.Repeat("x", e)), TS: 3}, // up to str 16
			store.StaticWrite{Key: k("l"), Value: store.ListValue([]store.Value{store.IntValue(1), store.StringValue("b")}), TS: 4},
			store.StaticWrite{Key: k(features[7]), Value: store.BoolValue(e%2 == 0), TS: 5})
		negs = append(negs, k("neg"))
		oldNegs = append(oldNegs, k("old_neg"))
	}
	if err := plain.WriteStatic(ctx, ws); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if err := plain.FillStatic(ctx, nil, negs, now+60_000); err != nil {
		t.Fatal(err)
	}
	if err := plain.FillStatic(ctx, nil, oldNegs, now-1); err != nil {
		t.Fatal(err)
	}
	want := make([]store.StaticValue, q.Len())
	wantMissing, err := plain.ReadStaticCached(ctx, q, want, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]store.StaticValue, q.Len())
	for round := range 2 { // the first loads the script (NOSCRIPT, then EVAL)
		before := commandCalls(t, scripted)
		missing, err := scripted.ReadStaticCached(ctx, q, got, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) != len(wantMissing) {
			t.Fatalf("%d missing, want %d", len(missing), len(wantMissing))
		}
		for i := range missing {
			if missing[i] != wantMissing[i] {
				t.Fatalf("missing[%d] = %d, want %d", i, missing[i], wantMissing[i])
			}
		}
		for i := range got {
			if got[i].TS != want[i].TS || got[i].Kind != want[i].Kind || got[i].String() != want[i].String() {
				t.Fatalf("value %d: got %v (ts %d), want %v (ts %d)", i, got[i].Value, got[i].TS, want[i].Value, want[i].TS)
			}
		}
		if round == 1 {
			after := commandCalls(t, scripted)
			if d := after["evalsha"] - before["evalsha"]; d != 3 {
				t.Errorf("%d EVALSHA for 300 entities, want 3 (128 entities each at most)", d)
			}
			if d := after["hmget"] - before["hmget"]; d != 300 {
				t.Errorf("%d HMGET in the scripts, want 300", d)
			}
		}
	}
	if wantMissing == nil || got[0].Kind != store.Int || got[2].Str != "" || got[q.Len()-8+2].Str != strings.Repeat("x", 299) {
		t.Fatalf("the data set is not what the test means: %v %v", got[0], got[2])
	}
}

// TestStaticScriptMalformedFieldIsInvalid: a field that is not a stored value is an invalid
// read naming the entity and the feature.
func TestStaticScriptMalformedFieldIsInvalid(t *testing.T) {
	ctx := context.Background()
	s, err := redis.New(redis.Config{Addrs: []string{testenv.Redis(t)}, StaticScript: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := key(t, "os")
	s.Client().HSet(ctx, redis.EntityKey(k.Prefix, k.ID), "os", "not a value")
	_, err = store.ReadKey(ctx, s, k)
	if err == nil || !strings.Contains(err.Error(), "field os") || !strings.Contains(err.Error(), redis.EntityKey(k.Prefix, k.ID)) {
		t.Fatalf("want an error naming the entity and the field, got %v", err)
	}
}
