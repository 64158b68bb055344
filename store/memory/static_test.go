package memory_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestStaticBytesPerValue: the store holds a stored scalar value in at most 150 bytes of heap
// (the README's bound for the embedded default), measured, not computed: 100,000 Int and Float
// values of 2,000 entities, the heap before and after.
func TestStaticBytesPerValue(t *testing.T) {
	const users, features = 2000, 50
	names := make([]string, features)
	for j := range names {
		names[j] = "feature_" + strconv.Itoa(j)
	}
	writes := make([]store.StaticWrite, 0, users*features)
	for id := range users {
		for j, n := range names {
			v := store.IntValue(int64(id * j))
			if j%2 == 1 {
				v = store.FloatValue(float64(id) / 7)
			}
			writes = append(writes, store.StaticWrite{Key: store.Key{Prefix: "u", ID: strconv.Itoa(id), Feature: n}, Value: v, TS: 1})
		}
	}
	before := heapInUse()
	s := memory.New()
	for from := 0; from < len(writes); from += 500 {
		if err := s.WriteStatic(context.Background(), writes[from:from+500]); err != nil {
			t.Fatal(err)
		}
	}
	after := heapInUse()
	per := float64(int64(after)-int64(before)) / float64(len(writes))
	t.Logf("%.1f bytes of heap per stored value", per)
	if per > 150 {
		t.Errorf("%.1f bytes of heap per stored scalar value, want at most 150", per)
	}
	// The values are all there.
	q := store.StaticQuery{Prefix: "u", IDs: []string{"1999"}, Features: names}
	out := make([]store.StaticValue, q.Len())
	if err := s.ReadStatic(context.Background(), q, out); err != nil {
		t.Fatal(err)
	}
	if out[2].Kind != store.Int || out[2].Num != 1999*2 || out[3].Kind != store.Float || out[3].Float != 1999.0/7 {
		t.Errorf("read back %+v %+v", out[2], out[3])
	}
	runtime.KeepAlive(s)
	runtime.KeepAlive(writes)
}

// TestStaticKindChanges: a feature whose values change kind between writes (a registry change)
// reads back the last value written, inline or not, and an older write never wins.
func TestStaticKindChanges(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	k := store.Key{Prefix: "u", ID: "7", Feature: "f"}
	other := store.Key{Prefix: "u", ID: "8", Feature: "f"}
	steps := []struct {
		v    store.Value
		ts   int64
		want store.Value
	}{
		{store.IntValue(1), 10, store.IntValue(1)},
		{store.StringValue("a"), 20, store.StringValue("a")},
		{store.ListValue([]store.Value{store.IntValue(2)}), 30, store.ListValue([]store.Value{store.IntValue(2)})},
		{store.FloatValue(2.5), 40, store.FloatValue(2.5)},
		{store.StringValue("old"), 39, store.FloatValue(2.5)},
		{store.BoolValue(true), 40, store.BoolValue(true)},
		{store.JSONValue(`{"a":1}`), 50, store.JSONValue(`{"a":1}`)},
	}
	for i, st := range steps {
		if err := s.WriteStatic(ctx, []store.StaticWrite{{Key: k, Value: st.v, TS: st.ts}, {Key: other, Value: store.StringValue("x" + strconv.Itoa(i)), TS: int64(i)}}); err != nil {
			t.Fatal(err)
		}
		q := store.StaticQuery{Prefix: "u", IDs: []string{"7", "8", "9"}, Features: []string{"f", "g"}}
		out := make([]store.StaticValue, q.Len())
		if err := s.ReadStatic(ctx, q, out); err != nil {
			t.Fatal(err)
		}
		if string(out[0].AppendJSON(nil)) != string(st.want.AppendJSON(nil)) || out[0].Kind != st.want.Kind {
			t.Errorf("step %d: read %+v, want %+v", i, out[0].Value, st.want)
		}
		if out[2].Str != "x"+strconv.Itoa(i) {
			t.Errorf("step %d: the other entity reads %+v", i, out[2].Value)
		}
		for _, j := range []int{1, 3, 4, 5} {
			if out[j].Kind != store.Absent {
				t.Errorf("step %d: value %d is %+v, want absent", i, j, out[j])
			}
		}
	}
}
