package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

// TestReadActionsAnswersAsRedis writes the same random events (repeats, out-of-order times,
// several events in one millisecond, more than MaxCount members) to DynamoDB and to the memory
// store, which keeps Redis sorted-set semantics, and compares many queries.
func TestReadActionsAnswersAsRedis(t *testing.T) {
	ctx := context.Background()
	s := newTableStore(t, nil)
	tests := []struct {
		name     string
		dedupe   bool
		maxCount int
		members  int
		events   int
	}{
		{"dedupe_many_repeats", true, 10, 15, 200},
		{"dedupe_few_members", true, 10, 4, 60},
		{"dedupe_maxcount_1", true, 1, 5, 30},
		{"no_dedupe", false, 10, 6, 40},
		{"unbounded", true, 0, 20, 80},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			mem := memory.New()
			k := store.Key{Prefix: "oracle", ID: fmt.Sprint(i), Feature: "clicks"}
			var ws []store.ActionWrite
			for range tt.events {
				ts := 1_000_000 + rng.Int64N(30)*2000 // many events share a millisecond
				m, err := store.EncodeMember(map[string]any{"article_id": rng.IntN(tt.members)}, ts, tt.dedupe)
				if err != nil {
					t.Fatal(err)
				}
				ws = append(ws, store.ActionWrite{Key: k, TS: ts, Member: m, MaxCount: tt.maxCount, TTL: 100 * 365 * 24 * time.Hour})
			}
			for start := 0; start < len(ws); start += 7 { // several calls, as ingestion makes them
				part := ws[start:min(start+7, len(ws))]
				if err := s.WriteActions(ctx, part); err != nil {
					t.Fatal(err)
				}
				if err := mem.WriteActions(ctx, part); err != nil {
					t.Fatal(err)
				}
			}
			var qs []store.ActionQuery
			for _, count := range []int{1, 3, 10, 100} {
				for _, minTS := range []int64{0, 1_020_000, 1_059_001, 2_000_000} {
					qs = append(qs, store.ActionQuery{Key: k, Count: count, MinTS: minTS, Dedupe: tt.dedupe, MaxCount: tt.maxCount})
				}
			}
			got, err := s.ReadActions(ctx, qs)
			if err != nil {
				t.Fatal(err)
			}
			want, err := mem.ReadActions(ctx, qs)
			if err != nil {
				t.Fatal(err)
			}
			nonEmpty := 0
			for _, q := range qs {
				if len(got[q]) == 0 && len(want[q]) == 0 {
					continue
				}
				nonEmpty++
				if !reflect.DeepEqual(got[q], want[q]) {
					t.Errorf("count %d min %d:\n got %v\nwant %v", q.Count, q.MinTS, got[q], want[q])
				}
			}
			if nonEmpty < len(qs)/2 {
				t.Fatalf("only %d of %d queries found events: the comparison proves little", nonEmpty, len(qs))
			}
		})
	}
}

func TestReadActionsStorage(t *testing.T) {
	ctx := context.Background()
	s := newTableStore(t, nil)
	now := time.Now().UnixMilli()
	q := func(k store.Key, count int) store.ActionQuery {
		return store.ActionQuery{Key: k, Count: count, Dedupe: true, MaxCount: 100}
	}
	tests := []struct {
		name   string
		writes func(k store.Key) []store.ActionWrite
		static bool // also a static value at the same pk
		want   func(k store.Key) []store.ActionEvent
	}{
		{
			name: "same_millisecond_events_are_both_kept",
			writes: func(k store.Key) []store.ActionWrite {
				return []store.ActionWrite{{Key: k, TS: now, Member: `{"a":1}`}, {Key: k, TS: now, Member: `{"a":2}`}}
			},
			want: func(store.Key) []store.ActionEvent {
				return []store.ActionEvent{{TS: now, Member: `{"a":2}`}, {TS: now, Member: `{"a":1}`}}
			},
		},
		{
			name: "expired_events_are_skipped",
			writes: func(k store.Key) []store.ActionWrite {
				return []store.ActionWrite{
					{Key: k, TS: now - 10_000, Member: "old", TTL: time.Second}, // expired 9 s ago
					{Key: k, TS: now, Member: "new", TTL: time.Hour},
				}
			},
			want: func(store.Key) []store.ActionEvent { return []store.ActionEvent{{TS: now, Member: "new"}} },
		},
		{
			name: "static_item_is_not_an_event",
			writes: func(k store.Key) []store.ActionWrite {
				return []store.ActionWrite{{Key: k, TS: 0, Member: "epoch"}}
			},
			static: true,
			want:   func(store.Key) []store.ActionEvent { return []store.ActionEvent{{TS: 0, Member: "epoch"}} },
		},
		{
			name: "member_is_byte_exact",
			writes: func(k store.Key) []store.ActionWrite {
				return []store.ActionWrite{{Key: k, TS: now, Member: `{"b":1.50,"a":"<é>"}`}, {Key: k, TS: now - 1, Member: "not json"}}
			},
			want: func(store.Key) []store.ActionEvent {
				return []store.ActionEvent{{TS: now, Member: `{"b":1.50,"a":"<é>"}`}, {TS: now - 1, Member: "not json"}}
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := store.Key{Prefix: "st", ID: fmt.Sprint(i), Feature: "f"}
			if tt.static {
				if err := s.WriteStatic(ctx, []store.StaticWrite{{Key: k, Value: store.StringValue("s"), TS: 5}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.WriteActions(ctx, tt.writes(k)); err != nil {
				t.Fatal(err)
			}
			got, err := s.ReadActions(ctx, []store.ActionQuery{q(k, 10)})
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.want(k); !reflect.DeepEqual(got[q(k, 10)], want) {
				t.Fatalf("want %v, got %v", want, got[q(k, 10)])
			}
			if tt.static {
				sv, err := store.ReadKey(ctx, s, k)
				if err != nil || sv.Str != "s" {
					t.Fatalf("static value beside events: got %v, %v", sv, err)
				}
			}
		})
	}
}

func TestReadEventsCarriesExpiry(t *testing.T) {
	ctx := context.Background()
	s := newTableStore(t, nil)
	k := store.Key{Prefix: "exp", ID: "1", Feature: "f"}
	w := store.ActionWrite{Key: k, TS: time.Now().UnixMilli(), Member: "m", TTL: time.Hour}
	// The same event twice in one call, the second with a longer TTL: one item, later expiry.
	w2 := w
	w2.TTL = 2 * time.Hour
	if err := s.WriteActions(ctx, []store.ActionWrite{w, w2, {Key: k, TS: w.TS - 1, Member: "forever"}}); err != nil {
		t.Fatal(err)
	}
	q := store.ActionQuery{Key: k, Count: 10, Dedupe: true}
	got, err := s.ReadEvents(ctx, []store.ActionQuery{q})
	if err != nil {
		t.Fatal(err)
	}
	evs := got[q]
	if len(evs) != 2 || evs[0].ExpireAt != w2.ExpireAt() || evs[1].ExpireAt != 0 {
		t.Fatalf("want expiries [%d 0], got %+v", w2.ExpireAt(), evs)
	}
}

func TestNegativeEventTimeIsInvalid(t *testing.T) {
	s := newTableStore(t, nil)
	err := s.WriteActions(context.Background(), []store.ActionWrite{{Key: store.Key{Prefix: "n", ID: "1", Feature: "f"}, TS: -1, Member: "m"}})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
}

func TestCreateTableIsIdempotent(t *testing.T) {
	s := newTableStore(t, nil) // created once
	if err := s.CreateTable(context.Background()); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
}
