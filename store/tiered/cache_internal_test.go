package tiered

import (
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
	if v, ok := c.get("u", "1").value("os", time.Now().UnixNano()); !ok || v.Str != "old" {
		t.Fatalf("a fill after the write must be cached, got %v %v", v, ok)
	}
}

func TestStaticCacheValuesExpireWithJitter(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newStaticCache(10*time.Second, 1<<20, func() time.Time { return now })
	defer c.close()
	c.put("u", "1", c.epoch("u", "1"), []string{"os"}, []store.StaticValue{{Value: store.StringValue("ios"), TS: 1}}, func(int) bool { return true })
	e := c.get("u", "1")
	if _, ok := e.value("os", now.Add(8999*time.Millisecond).UnixNano()); !ok {
		t.Fatal("a value must live at least TTL - 10%")
	}
	if _, ok := e.value("os", now.Add(11001*time.Millisecond).UnixNano()); ok {
		t.Fatal("a value must be gone after TTL + 10%")
	}
}
