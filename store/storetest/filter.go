package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// Options adapt the filter and point-in-time suites to a backend.
type Options struct {
	// BeforeRead, when set, runs before every read (the tiered suite flushes Redis with it, so
	// every read takes the DynamoDB fallback).
	BeforeRead func(t *testing.T)
}

func (o Options) read(t *testing.T, s store.Store, q store.ActionQuery) []int64 {
	t.Helper()
	if o.BeforeRead != nil {
		o.BeforeRead(t)
	}
	evs := readActions(t, s, q)
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.TS
	}
	return out
}

func (o Options) expect(t *testing.T, s store.Store, name string, q store.ActionQuery, want ...int64) {
	t.Helper()
	got := o.read(t, s, q)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: want times %v, got %v", name, want, got)
	}
}

func cond(field string, op store.FilterOp, vs ...store.Value) store.Cond {
	return store.Cond{Field: field, Op: op, Values: vs}
}

func filter(cs ...store.Cond) *store.Filter { return &store.Filter{Conds: cs} }

// clickMember is an event of a feature with fields article_id (Int), source (String, absent
// when ""), price (Float), at (Time) and ad (Boolean).
func clickMember(t *testing.T, ts int64, article int, source string, dedupe bool) string {
	t.Helper()
	f := map[string]any{
		"article_id": article,
		"price":      float64(article) * 1.5,
		"at":         time.UnixMilli(ts).UTC().Format(time.RFC3339Nano),
		"ad":         article%2 == 0,
	}
	if source != "" {
		f["source"] = source
	}
	if dedupe {
		delete(f, "at") // repeats of the same fields are one member
	}
	m, err := store.EncodeMember(f, ts, dedupe)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// RunFilter checks query filters: every operator on every type, AND, the newest Count matches
// counted among the newest MaxCount events of the window, dedupe, and windows.
func RunFilter(t *testing.T, s store.Store, o Options) {
	t.Run("FilterEveryOperator", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "1", Feature: "clicks"}
		sources := []string{"feed", "push", "", "search", "push", "feed", "push", "", "feed", "push"}
		var ws []store.ActionWrite
		for i := 1; i <= 10; i++ {
			ws = append(ws, actionWrite(k, int64(i*1000), clickMember(t, int64(i*1000), i, sources[i-1], false), 100))
		}
		mustWriteActions(t, s, ws...)
		q := func(count int, f *store.Filter) store.ActionQuery {
			return store.ActionQuery{Key: k, Count: count, MaxCount: 100, Filter: f}
		}
		o.expect(t, s, "eq", q(10, filter(cond("source", store.OpEq, store.StringValue("push")))), 10000, 7000, 5000, 2000)
		o.expect(t, s, "eq count", q(2, filter(cond("source", store.OpEq, store.StringValue("push")))), 10000, 7000)
		o.expect(t, s, "ne (absent matches)", q(10, filter(cond("source", store.OpNe, store.StringValue("push")))), 9000, 8000, 6000, 4000, 3000, 1000)
		o.expect(t, s, "in", q(10, filter(cond("source", store.OpIn, store.StringValue("search"), store.StringValue("feed")))), 9000, 6000, 4000, 1000)
		o.expect(t, s, "notIn", q(10, filter(cond("source", store.OpNotIn, store.StringValue("push"), store.StringValue("feed")))), 8000, 4000, 3000)
		o.expect(t, s, "exists false", q(10, filter(cond("source", store.OpExists, store.BoolValue(false)))), 8000, 3000)
		o.expect(t, s, "exists true", q(3, filter(cond("source", store.OpExists, store.BoolValue(true)))), 10000, 9000, 7000)
		o.expect(t, s, "int gt lte", q(10, filter(cond("article_id", store.OpGt, store.IntValue(3)), cond("article_id", store.OpLte, store.IntValue(6)))), 6000, 5000, 4000)
		o.expect(t, s, "int in", q(10, filter(cond("article_id", store.OpIn, store.IntValue(2), store.IntValue(9), store.IntValue(42)))), 9000, 2000)
		o.expect(t, s, "float gte lt", q(10, filter(cond("price", store.OpGte, store.FloatValue(4.5)), cond("price", store.OpLt, store.FloatValue(7.5)))), 4000, 3000)
		o.expect(t, s, "time gt", q(10, filter(cond("at", store.OpGt, store.TimeValue(time.UnixMilli(7500))))), 10000, 9000, 8000)
		o.expect(t, s, "time eq", q(10, filter(cond("at", store.OpEq, store.TimeValue(time.UnixMilli(4000))))), 4000)
		o.expect(t, s, "bool eq", q(10, filter(cond("ad", store.OpEq, store.BoolValue(true)))), 10000, 8000, 6000, 4000, 2000)
		o.expect(t, s, "and", q(10, filter(cond("ad", store.OpEq, store.BoolValue(true)), cond("source", store.OpEq, store.StringValue("push")))), 10000, 2000)
		o.expect(t, s, "type mismatch never matches", q(10, filter(cond("source", store.OpEq, store.IntValue(1)))))
		o.expect(t, s, "no match", q(10, filter(cond("source", store.OpEq, store.StringValue("mail")))))
		w := q(10, filter(cond("source", store.OpEq, store.StringValue("push"))))
		w.MinTS = 5000
		o.expect(t, s, "window", w, 10000, 7000, 5000)
	})
	t.Run("FilterCountsAmongTheNewestMaxCount", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "1", Feature: "clicks"}
		var ws []store.ActionWrite
		for i := 1; i <= 40; i++ {
			src := "feed"
			if i <= 3 || i == 36 {
				src = "push" // only one push among the newest 8
			}
			ws = append(ws, actionWrite(k, int64(i*1000), clickMember(t, int64(i*1000), i, src, false), 8))
		}
		mustWriteActions(t, s, ws...)
		push := filter(cond("source", store.OpEq, store.StringValue("push")))
		o.expect(t, s, "trimmed matches are gone", store.ActionQuery{Key: k, Count: 5, MaxCount: 8, Filter: push}, 36000)
		o.expect(t, s, "count beyond maxCount", store.ActionQuery{Key: k, Count: 100, MaxCount: 8, Filter: filter(cond("article_id", store.OpGte, store.IntValue(30)))},
			40000, 39000, 38000, 37000, 36000, 35000, 34000, 33000)
	})
	t.Run("FilterWithDedupe", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "1", Feature: "clicks"}
		var ws []store.ActionWrite
		// Articles 1..6 clicked from the feed, then 1 and 2 again: they move to newest.
		for i := 1; i <= 6; i++ {
			ws = append(ws, actionWrite(k, int64(i*1000), clickMember(t, 0, i, "feed", true), 5))
		}
		ws = append(ws, actionWrite(k, 7000, clickMember(t, 0, 1, "feed", true), 5))
		ws = append(ws, actionWrite(k, 8000, clickMember(t, 0, 2, "feed", true), 5))
		ws = append(ws, actionWrite(k, 9000, clickMember(t, 0, 7, "push", true), 5))
		mustWriteActions(t, s, ws...)
		dq := func(count int, f *store.Filter) store.ActionQuery {
			return store.ActionQuery{Key: k, Count: count, MaxCount: 5, Dedupe: true, Filter: f}
		}
		// The series holds 7 (9000), 2 (8000), 1 (7000), 6 (6000), 5 (5000).
		o.expect(t, s, "feed", dq(10, filter(cond("source", store.OpEq, store.StringValue("feed")))), 8000, 7000, 6000, 5000)
		o.expect(t, s, "low ids", dq(10, filter(cond("article_id", store.OpLte, store.IntValue(4)))), 8000, 7000)
		o.expect(t, s, "push", dq(1, filter(cond("source", store.OpEq, store.StringValue("push")))), 9000)
	})
}
