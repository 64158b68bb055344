// Package storetest is the contract every store backend passes: memory, Redis + DynamoDB and the
// tiered store run the same suite, so the GraphQL answers cannot depend on the backend.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
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
		out := readStatic(t, s, store.StaticQuery{Prefix: p, IDs: []string{"1", "2"}, Features: []string{"os", "region_id"}})
		for i, v := range out {
			if v.Kind != store.Absent {
				t.Fatalf("value %d: want absent, got %v", i, v.Value)
			}
		}
	})
	t.Run("StaticOlderEventNeverOverwritesNewer", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "7", Feature: "os"}
		mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("ios"), TS: 2000})
		mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("android"), TS: 1000})
		assertStatic(t, s, k, store.StringValue("ios"), 2000)
		mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("web"), TS: 3000})
		assertStatic(t, s, k, store.StringValue("web"), 3000)
		// A redelivery of the same event is harmless.
		mustWriteStatic(t, s, store.StaticWrite{Key: k, Value: store.StringValue("web"), TS: 3000})
		assertStatic(t, s, k, store.StringValue("web"), 3000)
		// Within one call too, and a newer value of another feature of the entity still lands.
		r := store.Key{Prefix: p, ID: "7", Feature: "region_id"}
		mustWriteStatic(t, s,
			store.StaticWrite{Key: r, Value: store.IntValue(5), TS: 5000},
			store.StaticWrite{Key: k, Value: store.StringValue("old"), TS: 2500},
			store.StaticWrite{Key: r, Value: store.IntValue(4), TS: 4000},
		)
		assertStatic(t, s, k, store.StringValue("web"), 3000)
		assertStatic(t, s, r, store.IntValue(5), 5000)
	})
	t.Run("StaticManyEntitiesInOneRead", func(t *testing.T) {
		p := prefix(t)
		const n = 250 // more than one DynamoDB BatchGetItem (100 keys)
		q := store.StaticQuery{Prefix: p, Features: []string{"region_id", "os"}}
		var ws []store.StaticWrite
		for i := range n {
			id := strconv.Itoa(i)
			q.IDs = append(q.IDs, id)
			if i%5 != 0 { // every fifth region_id stays missing
				ws = append(ws, store.StaticWrite{Key: store.Key{Prefix: p, ID: id, Feature: "region_id"}, Value: store.IntValue(int64(i * 10)), TS: 1000})
			}
			if i%2 == 0 {
				ws = append(ws, store.StaticWrite{Key: store.Key{Prefix: p, ID: id, Feature: "os"}, Value: store.StringValue("os" + id), TS: 1000})
			}
		}
		mustWriteStatic(t, s, ws...)
		out := readStatic(t, s, q)
		for i := range n {
			region, os := out[2*i], out[2*i+1]
			if want := store.IntValue(int64(i * 10)); i%5 != 0 && !store.Equal(region.Value, want) || i%5 == 0 && region.Kind != store.Absent {
				t.Fatalf("entity %d region_id: got %v", i, region.Value)
			}
			if want := store.StringValue("os" + strconv.Itoa(i)); i%2 == 0 && !store.Equal(os.Value, want) || i%2 != 0 && os.Kind != store.Absent {
				t.Fatalf("entity %d os: got %v", i, os.Value)
			}
		}
	})
	t.Run("StaticWrongOutputLengthIsInvalid", func(t *testing.T) {
		err := s.ReadStatic(ctx, store.StaticQuery{Prefix: prefix(t), IDs: []string{"1"}, Features: []string{"os"}}, make([]store.StaticValue, 2))
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("want ErrInvalid, got %v", err)
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

// roundTrip are the values of every type and container the suite writes and reads back; Values
// types them for backends that need it (DynamoDB).
var roundTrip = func() []roundTripCase {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8e6, time.UTC)
	return []roundTripCase{
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
}()

type roundTripCase struct {
	name string
	t    registry.Type
	c    registry.Container
	in   any
}

// Values is the store.ValueDecoder of the features the suite writes: backends that do not keep
// types (DynamoDB) are opened with it, as the gateway opens them with the registry.
var Values store.ValueDecoder = valuesDecoder{}

type valuesDecoder struct{}

func (valuesDecoder) DecodeStatic(prefix, feature string, v any) (store.Value, error) {
	switch feature {
	case "os":
		return registry.ToValue(registry.String, registry.Single, v)
	case "region_id":
		return registry.ToValue(registry.Int, registry.Single, v)
	}
	for _, c := range roundTrip {
		if c.name == feature {
			return registry.ToValue(c.t, c.c, v)
		}
	}
	return store.UntypedDecoder{}.DecodeStatic(prefix, feature, v)
}

func testStaticRoundTrip(t *testing.T, s store.Store) {
	p := prefix(t)
	var ws []store.StaticWrite
	for i, c := range roundTrip {
		v, err := registry.ToValue(c.t, c.c, c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ws = append(ws, store.StaticWrite{Key: store.Key{Prefix: p, ID: "1", Feature: c.name}, Value: v, TS: int64(1000 + i)})
	}
	mustWriteStatic(t, s, ws...)
	for i, c := range roundTrip {
		t.Run(c.name, func(t *testing.T) { assertStatic(t, s, ws[i].Key, ws[i].Value, int64(1000+i)) })
	}
	// All at once, as one entity read.
	q := store.StaticQuery{Prefix: p, IDs: []string{"1"}}
	for _, c := range roundTrip {
		q.Features = append(q.Features, c.name)
	}
	for i, v := range readStatic(t, s, q) {
		if !store.Equal(v.Value, ws[i].Value) || v.TS != ws[i].TS {
			t.Fatalf("%s: want %v at %d, got %v at %d", q.Features[i], ws[i].Value, ws[i].TS, v.Value, v.TS)
		}
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

// ReadStatic reads q from s, failing the test on an error.
func readStatic(t *testing.T, s store.StaticReader, q store.StaticQuery) []store.StaticValue {
	t.Helper()
	out := make([]store.StaticValue, q.Len())
	if err := s.ReadStatic(context.Background(), q, out); err != nil {
		t.Fatalf("read static %s %v %v: %v", q.Prefix, q.IDs, q.Features, err)
	}
	return out
}

func assertStatic(t *testing.T, s store.Store, k store.Key, want store.Value, wantTS int64) {
	t.Helper()
	got := readStatic(t, s, store.StaticQuery{Prefix: k.Prefix, IDs: []string{k.ID}, Features: []string{k.Feature}})[0]
	if got.Kind == store.Absent {
		t.Fatalf("read %s: missing", k)
	}
	if !store.Equal(got.Value, want) {
		t.Fatalf("read %s: want %v (kind %d), got %v (kind %d)", k, want, want.Kind, got.Value, got.Kind)
	}
	if got.TS != wantTS {
		t.Fatalf("read %s: want ts %d, got %d", k, wantTS, got.TS)
	}
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
