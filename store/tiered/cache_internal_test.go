package tiered

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

func TestStaticCacheDropsAFillThatRacedWithAWrite(t *testing.T) {
	c := newStaticCache(time.Minute, 1<<20, time.Now)
	defer c.close()
	row := []store.StaticValue{{Value: store.StringValue("old"), TS: 1}}
	all := func(int) bool { return true }
	epoch := c.epoch("u", "1")                                   // a read begins
	c.forget([]store.Key{{Prefix: "u", ID: "1", Feature: "os"}}) // a write lands meanwhile
	c.put("u", "1", epoch, []string{"os"}, row, all)             // the read's fill
	if e := c.get("u", "1"); e != nil {
		t.Fatalf("a fill read before a write was cached: %v", e.features)
	}
	c.put("u", "1", c.epoch("u", "1"), []string{"os"}, row, all)
	if v, ok := c.get("u", "1").value(0, "os", time.Now().UnixNano()); !ok || v.Str != "old" {
		t.Fatalf("a fill after the write must be cached, got %v %v", v, ok)
	}
}

func TestStaticCacheValuesExpireWithJitter(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newStaticCache(10*time.Second, 1<<20, func() time.Time { return now })
	defer c.close()
	c.put("u", "1", c.epoch("u", "1"), []string{"os"}, []store.StaticValue{{Value: store.StringValue("ios"), TS: 1}}, func(int) bool { return true })
	e := c.get("u", "1")
	if _, ok := e.value(0, "os", now.Add(8999*time.Millisecond).UnixNano()); !ok {
		t.Fatal("a value must live at least TTL - 10%")
	}
	if _, ok := e.value(0, "os", now.Add(11001*time.Millisecond).UnixNano()); ok {
		t.Fatal("a value must be gone after TTL + 10%")
	}
}

// TestStaticCacheWeightMatchesHeap checks the bound's accounting against the heap: the weight
// otter sums for 20,000 entities of 50 Int and Float values (one a string) is within -20%..+15%
// of the heap they take, measured after a full collection.
func TestStaticCacheWeightMatchesHeap(t *testing.T) {
	const entities, nf = 20000, 50
	features := make([]string, nf)
	for j := range features {
		features[j] = fmt.Sprintf("feature_%02d", j)
	}
	row := make([]store.StaticValue, nf)
	for j := range row {
		switch {
		case j == 0:
			row[j] = store.StaticValue{Value: store.StringValue("a string value"), TS: 1}
		case j%2 == 0:
			row[j] = store.StaticValue{Value: store.IntValue(int64(j)), TS: 1}
		default:
			row[j] = store.StaticValue{Value: store.FloatValue(float64(j) / 3), TS: 1}
		}
	}
	all := func(int) bool { return true }
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	c := newStaticCache(time.Hour, 1<<30, time.Now)
	defer c.close()
	before := heap()
	for i := range entities {
		id := strconv.Itoa(1_000_000 + i)
		c.put("u", id, c.epoch("u", id), features, row, all)
	}
	c.c.CleanUp()
	grown := float64(heap() - before)
	weight := float64(c.c.WeightedSize())
	t.Logf("heap %.0f bytes per entity, weight %.0f (%.0f and %.0f per value)", grown/entities, weight/entities, grown/entities/nf, weight/entities/nf)
	if c.c.EstimatedSize() != entities {
		t.Fatalf("%d entries cached, want %d", c.c.EstimatedSize(), entities)
	}
	if r := grown / weight; r > 1.15 || r < 0.8 {
		t.Errorf("the cache takes %.2f× the bytes its weigher counts, want 0.8–1.15×", r)
	}
	if v, ok := c.get("u", "1000007").value(3, "feature_03", time.Now().UnixNano()); !ok || v.Float != 1 {
		t.Errorf("read back %+v %v", v, ok)
	}
	runtime.KeepAlive(c)
}
