// Package storetest is the contract every store backend passes: memory, Redis + DynamoDB and the
// tiered store run the same suite, so the GraphQL answers cannot depend on the backend.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

var seq atomic.Int64

// prefix returns a key prefix unique to this run and subtest, so subtests can share one store.
func prefix(t *testing.T) string {
	return fmt.Sprintf("t%d_%d", time.Now().UnixNano()%1e9, seq.Add(1))
}

// Run runs the contract suite against s. The store must be empty of the keys the suite writes;
// every subtest uses its own key prefix.
func Run(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	t.Run("Ping", func(t *testing.T) {
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
	})
	t.Run("StaticRoundTripEveryTypeAndContainer", func(t *testing.T) { testStaticRoundTrip(t, s) })
	t.Run("StaticMissingKeysAreAbsent", func(t *testing.T) {
		p := prefix(t)
		got, err := s.ReadStatic(ctx, []store.Key{{Prefix: p, ID: "1", Feature: "os"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("want no values, got %v", got)
		}
	})
	t.Run("StaticOlderEventNeverOverwritesNewer", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "7", Feature: "os"}
		mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: "ios", TS: 2000})
		mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: "android", TS: 1000})
		assertStatic(t, s, k, registry.String, registry.Single, "ios", 2000)
		mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: "web", TS: 3000})
		assertStatic(t, s, k, registry.String, registry.Single, "web", 3000)
		// A redelivery of the same event is harmless.
		mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: "web", TS: 3000})
		assertStatic(t, s, k, registry.String, registry.Single, "web", 3000)
	})
	t.Run("StaticManyKeys", func(t *testing.T) {
		p := prefix(t)
		const n = 250 // more than one DynamoDB BatchGetItem (100) and BatchWriteItem (25)
		var ws []store.StaticWrite
		var keys []store.Key
		for i := range n {
			k := store.Key{Prefix: p, ID: strconv.Itoa(i), Feature: "region_id"}
			keys = append(keys, k)
			if i%5 != 0 { // every fifth key stays missing
				ws = append(ws, store.StaticWrite{Key: k, Value: int64(i * 10), TS: 1000})
			}
		}
		mustWriteStatic(t, s, ws...)
		got, err := s.ReadStatic(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n-n/5 {
			t.Fatalf("want %d values, got %d", n-n/5, len(got))
		}
		for i, k := range keys {
			v, ok := got[k]
			if i%5 == 0 {
				if ok {
					t.Fatalf("key %s: want missing, got %v", k, v.Value)
				}
				continue
			}
			cv, err := registry.Coerce(registry.Int, registry.Single, v.Value)
			if err != nil || cv != int64(i*10) {
				t.Fatalf("key %s: want %d, got %v (%v)", k, i*10, v.Value, err)
			}
		}
	})
	t.Run("ActionsNewestFirstWithCountAndWindow", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "1", Feature: "clicks"}
		var ws []store.ActionWrite
		for i := 1; i <= 10; i++ {
			ws = append(ws, actionWrite(k, int64(i*1000), fmt.Sprintf(`{"article_id":%d}`, i), 100))
		}
		mustWriteActions(t, s, ws...)
		assertActions(t, s, store.ActionQuery{Key: k, Count: 3, Dedupe: true, MaxCount: 100}, 10000, 9000, 8000)
		assertActions(t, s, store.ActionQuery{Key: k, Count: 50, MinTS: 7000, Dedupe: true, MaxCount: 100}, 10000, 9000, 8000, 7000)
		assertActions(t, s, store.ActionQuery{Key: k, Count: 2, MinTS: 20000, Dedupe: true, MaxCount: 100})
	})
	t.Run("ActionsMissingSeriesIsEmpty", func(t *testing.T) {
		p := prefix(t)
		assertActions(t, s, store.ActionQuery{Key: store.Key{Prefix: p, ID: "1", Feature: "clicks"}, Count: 5, Dedupe: true, MaxCount: 10})
	})
	t.Run("ActionsDedupeKeepsNewestTime", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "1", Feature: "clicks"}
		mustWriteActions(t, s,
			actionWrite(k, 1000, `{"article_id":1}`, 10),
			actionWrite(k, 2000, `{"article_id":2}`, 10),
			actionWrite(k, 3000, `{"article_id":1}`, 10), // repeat moves to newest
			actionWrite(k, 500, `{"article_id":2}`, 10),  // an older repeat does not move back
		)
		got := readActions(t, s, store.ActionQuery{Key: k, Count: 10, Dedupe: true, MaxCount: 10})
		want := []store.ActionEvent{{TS: 3000, Member: `{"article_id":1}`}, {TS: 2000, Member: `{"article_id":2}`}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("want %v, got %v", want, got)
		}
	})
	t.Run("ActionsWithoutDedupeKeepEveryEvent", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "1", Feature: "purchases"}
		var ws []store.ActionWrite
		for _, ts := range []int64{1000, 2000, 3000, 2000} { // the last is a redelivery
			m, err := store.EncodeMember(map[string]any{"article_id": 9}, ts, false)
			if err != nil {
				t.Fatal(err)
			}
			ws = append(ws, actionWrite(k, ts, m, 10))
		}
		mustWriteActions(t, s, ws...)
		assertActions(t, s, store.ActionQuery{Key: k, Count: 10, Dedupe: false, MaxCount: 10}, 3000, 2000, 1000)
	})
	t.Run("ActionsTrimmedToMaxCount", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "1", Feature: "clicks"}
		var ws []store.ActionWrite
		for i := 1; i <= 8; i++ {
			ws = append(ws, actionWrite(k, int64(i*1000), fmt.Sprintf(`{"article_id":%d}`, i), 5))
		}
		mustWriteActions(t, s, ws...)
		assertActions(t, s, store.ActionQuery{Key: k, Count: 100, Dedupe: true, MaxCount: 5}, 8000, 7000, 6000, 5000, 4000)
		// An event older than everything kept does not come back.
		mustWriteActions(t, s, actionWrite(k, 100, `{"article_id":100}`, 5))
		assertActions(t, s, store.ActionQuery{Key: k, Count: 100, Dedupe: true, MaxCount: 5}, 8000, 7000, 6000, 5000, 4000)
	})
	t.Run("ActionsManyQueriesInOneCall", func(t *testing.T) {
		p := prefix(t)
		var qs []store.ActionQuery
		for i := range 30 {
			k := store.Key{Prefix: p, ID: strconv.Itoa(i), Feature: "clicks"}
			var ws []store.ActionWrite
			for j := 0; j < i%4; j++ {
				ws = append(ws, actionWrite(k, int64(1000+j), fmt.Sprintf(`{"n":%d}`, j), 10))
			}
			mustWriteActions(t, s, ws...)
			qs = append(qs, store.ActionQuery{Key: k, Count: 10, Dedupe: true, MaxCount: 10})
		}
		got, err := s.ReadActions(ctx, qs)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range qs {
			evs, ok := got[q]
			if !ok {
				t.Fatalf("query %d has no entry in the result", i)
			}
			if len(evs) != i%4 {
				t.Fatalf("query %d: want %d events, got %d", i, i%4, len(evs))
			}
		}
	})
}

func testStaticRoundTrip(t *testing.T, s store.Store) {
	p := prefix(t)
	at := time.Date(2025, 3, 4, 5, 6, 7, 8e6, time.UTC)
	cases := []struct {
		name string
		t    registry.Type
		c    registry.Container
		in   any
	}{
		{"int", registry.Int, registry.Single, int64(-42)},
		{"bigint", registry.Int, registry.Single, int64(1) << 53},
		{"float", registry.Float, registry.Single, 3.25},
		{"integral_float", registry.Float, registry.Single, 3.0},
		{"string", registry.String, registry.Single, "héllo, 세계"},
		{"empty_string", registry.String, registry.Single, ""},
		{"bool", registry.Boolean, registry.Single, false},
		{"time", registry.Time, registry.Single, at},
		{"json_object", registry.JSON, registry.Single, json.RawMessage(`{"a":[1,2.5,"x",null,true],"b":{}}`)},
		{"json_string", registry.JSON, registry.Single, json.RawMessage(`"plain"`)},
		{"int_list", registry.Int, registry.List, []any{int64(3), int64(1), int64(3)}},
		{"string_list", registry.String, registry.List, []any{"b", "a"}},
		{"empty_list", registry.String, registry.List, []any{}},
		{"string_set", registry.String, registry.Set, []any{"b", "a", "c"}},
		{"int_set", registry.Int, registry.Set, []any{int64(5), int64(-1)}},
		{"empty_set", registry.String, registry.Set, []any{}},
		{"float_map", registry.Float, registry.Map, map[string]any{"x": 1.5, "y": 2.0}},
		{"string_map", registry.String, registry.Map, map[string]any{"k": "v"}},
		{"empty_map", registry.Int, registry.Map, map[string]any{}},
	}
	var ws []store.StaticWrite
	for i, c := range cases {
		v, err := registry.Coerce(c.t, c.c, c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ws = append(ws, store.StaticWrite{Key: store.Key{Prefix: p, ID: "1", Feature: c.name}, Value: v, TS: int64(1000 + i)})
	}
	mustWriteStatic(t, s, ws...)
	for i, c := range cases {
		want, _ := registry.Coerce(c.t, c.c, c.in)
		t.Run(c.name, func(t *testing.T) { assertStatic(t, s, ws[i].Key, c.t, c.c, want, int64(1000+i)) })
	}
}

func actionWrite(k store.Key, ts int64, member string, maxCount int) store.ActionWrite {
	return store.ActionWrite{Key: k, TS: ts, Member: member, MaxCount: maxCount, TTL: 100 * 365 * 24 * time.Hour}
}

func mustWriteStatic(t *testing.T, s store.Store, ws ...store.StaticWrite) {
	t.Helper()
	if err := s.WriteStatic(context.Background(), ws); err != nil {
		t.Fatalf("write static: %v", err)
	}
}

func mustWriteActions(t *testing.T, s store.Store, ws ...store.ActionWrite) {
	t.Helper()
	if err := s.WriteActions(context.Background(), ws); err != nil {
		t.Fatalf("write actions: %v", err)
	}
}

func assertStatic(t *testing.T, s store.Store, k store.Key, typ registry.Type, c registry.Container, want any, wantTS int64) {
	t.Helper()
	got, err := s.ReadStatic(context.Background(), []store.Key{k})
	if err != nil {
		t.Fatalf("read %s: %v", k, err)
	}
	v, ok := got[k]
	if !ok {
		t.Fatalf("read %s: missing", k)
	}
	cv, err := registry.Coerce(typ, c, v.Value)
	if err != nil {
		t.Fatalf("read %s: stored value %#v does not coerce to %s %s: %v", k, v.Value, c, typ, err)
	}
	if !equalValues(cv, want) {
		t.Fatalf("read %s: want %#v, got %#v", k, want, cv)
	}
	if v.TS != wantTS {
		t.Fatalf("read %s: want ts %d, got %d", k, wantTS, v.TS)
	}
}

func equalValues(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb) && reflect.TypeOf(a) == reflect.TypeOf(b)
}

func readActions(t *testing.T, s store.Store, q store.ActionQuery) []store.ActionEvent {
	t.Helper()
	got, err := s.ReadActions(context.Background(), []store.ActionQuery{q})
	if err != nil {
		t.Fatalf("read actions %s: %v", q.Key, err)
	}
	evs, ok := got[q]
	if !ok {
		t.Fatalf("read actions %s: query has no entry in the result", q.Key)
	}
	return evs
}

func assertActions(t *testing.T, s store.Store, q store.ActionQuery, wantTS ...int64) {
	t.Helper()
	evs := readActions(t, s, q)
	got := make([]int64, len(evs))
	for i, e := range evs {
		got[i] = e.TS
	}
	if len(got) != len(wantTS) || (len(got) > 0 && !reflect.DeepEqual(got, wantTS)) {
		t.Fatalf("read actions %s (count %d, min %d): want times %v, got %v", q.Key, q.Count, q.MinTS, wantTS, got)
	}
}
