package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// RunPointInTime checks point-in-time reads (ActionQuery.MaxTS) against the definition in
// store.PointInTime — events up to MaxTS, dedupe, maxCount and the window as of then, with and
// without a filter — and, when s keeps static history, StaticHistoryReader.
func RunPointInTime(t *testing.T, s store.Store, o Options) {
	t.Run("AsOfWithoutDedupe", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "1", Feature: "purchases"}
		var ws []store.ActionWrite
		for i := 1; i <= 12; i++ {
			ws = append(ws, actionWrite(k, int64(i*1000), clickMember(t, int64(i*1000), i, []string{"feed", "push"}[i%2], false), 5))
		}
		mustWriteActions(t, s, ws...)
		q := func(count int, minTS, maxTS int64, f *store.Filter) store.ActionQuery {
			return store.ActionQuery{Key: k, Count: count, MinTS: minTS, MaxTS: maxTS, MaxCount: 5, Filter: f}
		}
		o.expect(t, s, "now", q(3, 0, 0, nil), 12000, 11000, 10000)
		o.expect(t, s, "as of 11.5s", q(3, 0, 11500, nil), 11000, 10000, 9000)
		o.expect(t, s, "as of an event's own time", q(2, 0, 9000, nil), 9000, 8000)
		o.expect(t, s, "as of, maxCount then", q(100, 0, 6000, nil), 6000, 5000, 4000, 3000, 2000)
		o.expect(t, s, "as of, window then", q(100, 3000, 6000, nil), 6000, 5000, 4000, 3000)
		o.expect(t, s, "as of before everything", q(10, 0, 500, nil))
		push := filter(cond("source", store.OpEq, store.StringValue("push")))
		o.expect(t, s, "as of with filter", q(10, 0, 7000, push), 7000, 5000, 3000)
		o.expect(t, s, "as of with filter and window", q(10, 4000, 7000, push), 7000, 5000)
		o.expect(t, s, "as of after everything", q(2, 0, 99000, nil), 12000, 11000)
	})
	t.Run("AsOfWithDedupe", func(t *testing.T) {
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "1", Feature: "clicks"}
		mustWriteActions(t, s,
			actionWrite(k, 1000, clickMember(t, 0, 1, "feed", true), 3),
			actionWrite(k, 2000, clickMember(t, 0, 2, "feed", true), 3),
			actionWrite(k, 3000, clickMember(t, 0, 3, "push", true), 3),
			actionWrite(k, 4000, clickMember(t, 0, 4, "feed", true), 3),
			actionWrite(k, 5000, clickMember(t, 0, 2, "feed", true), 3), // repeat: 2 moves to newest
			actionWrite(k, 6000, clickMember(t, 0, 5, "feed", true), 3),
		)
		q := func(count int, minTS, maxTS int64) store.ActionQuery {
			return store.ActionQuery{Key: k, Count: count, MinTS: minTS, MaxTS: maxTS, MaxCount: 3, Dedupe: true}
		}
		o.expect(t, s, "now", q(10, 0, 0), 6000, 5000, 4000)
		// At 4.5 s article 2 had been clicked at 2 s only: the repeat at 5 s is not yet known.
		o.expect(t, s, "as of before a repeat", q(10, 0, 4500), 4000, 3000, 2000)
		o.expect(t, s, "as of after the repeat", q(10, 0, 5000), 5000, 4000, 3000)
		o.expect(t, s, "as of, window", q(10, 2500, 4500), 4000, 3000)
		o.expect(t, s, "as of, filter", store.ActionQuery{Key: k, Count: 10, MaxTS: 3500, MaxCount: 3, Dedupe: true,
			Filter: filter(cond("source", store.OpEq, store.StringValue("feed")))}, 2000, 1000)
	})
	t.Run("StaticHistory", func(t *testing.T) {
		h, ok := store.As[store.StaticHistoryReader](s)
		if !ok {
			t.Fatalf("%T keeps no static history", s)
		}
		p := prefix(t)
		k := store.Key{Prefix: p, ID: "1", Feature: "os"}
		other := store.Key{Prefix: p, ID: "2", Feature: "os"}
		plain := store.Key{Prefix: p, ID: "3", Feature: "os"}
		hist := func(v string, ts int64) store.StaticWrite {
			return store.StaticWrite{Key: k, Value: store.StringValue(v), TS: ts, History: true, HistoryTTL: 24 * time.Hour * 365 * 100}
		}
		mustWriteStatic(t, s, hist("ios", 2000), hist("android", 5000))
		mustWriteStatic(t, s, hist("web", 3000)) // late: an older event, a version of its time
		mustWriteStatic(t, s, hist("android", 5000))
		mustWriteStatic(t, s, store.StaticWrite{Key: other, Value: store.StringValue("ios"), TS: 1000, History: true},
			store.StaticWrite{Key: plain, Value: store.StringValue("ios"), TS: 1000})
		assertStatic(t, s, k, store.StringValue("android"), 5000) // the current value
		for _, c := range []struct {
			asOf int64
			want string // "" = absent
		}{{1000, ""}, {2000, "ios"}, {2999, "ios"}, {3000, "web"}, {4999, "web"}, {5000, "android"}, {99000, "android"}} {
			got, err := h.ReadStaticAsOf(context.Background(), []store.Key{k, other, plain}, c.asOf)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := got[k]
			gotS := ""
			if ok {
				if v.Kind != store.String {
					t.Fatalf("as of %d: a %v, want a String", c.asOf, v.Kind)
				}
				gotS = v.Str
			}
			if gotS != c.want {
				t.Errorf("as of %d: want %q, got %q", c.asOf, c.want, gotS)
			}
			if _, ok := got[other]; ok != (c.asOf >= 1000) {
				t.Errorf("as of %d: other entity present %v", c.asOf, ok)
			}
			if _, ok := got[plain]; ok {
				t.Errorf("as of %d: a feature without history has a version", c.asOf)
			}
		}
	})
}
