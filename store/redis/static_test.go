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

// commandCalls returns the calls of each command Redis has served (INFO commandstats).
func commandCalls(t *testing.T, s *redis.Store) map[string]int {
	t.Helper()
	info, err := s.Client().Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(rest[:strings.IndexByte(rest+",", ',')])
		out[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return out
}

func TestStaticLayoutIsOneHashPerEntity(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testenv.Redis(t), nil)
	k := key(t, "os")
	r := store.Key{Prefix: k.Prefix, ID: k.ID, Feature: "region_id"}
	if err := s.WriteStatic(ctx, []store.StaticWrite{
		{Key: k, Value: store.StringValue("ios"), TS: 1700000000000},
		{Key: r, Value: store.IntValue(6), TS: 1700000000001},
	}); err != nil {
		t.Fatal(err)
	}
	h, err := s.Client().HGetAll(ctx, redis.EntityKey(k.Prefix, k.ID)).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"os":        "1700000000000:" + string(store.StringValue("ios").AppendBinary(nil)),
		"region_id": "1700000000001:" + string(store.IntValue(6).AppendBinary(nil)),
	}
	if len(h) != 2 || h["os"] != want["os"] || h["region_id"] != want["region_id"] {
		t.Fatalf("hash %s: want %q, got %q", redis.EntityKey(k.Prefix, k.ID), want, h)
	}
	if n := s.Client().Exists(ctx, k.String()).Val(); n != 0 {
		t.Fatal("a per-feature key was written")
	}
}

// A read of 100 entities × 50 features is one pipeline of one command per entity and nothing
// else: HGETALL when it asks for at least two thirds of the fields the hashes hold, HMGET of the
// fields asked for when it asks for fewer; how many fields the hashes hold, the store learns
// from the HGETALL replies (a prefix it has not read yet is read whole).
func TestStaticReadOfHundredEntitiesIsOneCommandPerEntity(t *testing.T) {
	ctx := context.Background()
	obs := &calls{}
	s := newStore(t, testenv.NewRedis(t).Addr(), obs) // a server of its own: exact counts
	var features []string
	for i := range 50 {
		features = append(features, "f"+strconv.Itoa(i))
	}
	q := store.StaticQuery{Prefix: "p"}
	var ws []store.StaticWrite
	for i := range 100 {
		id := strconv.Itoa(i)
		q.IDs = append(q.IDs, id)
		for j, f := range features {
			ws = append(ws, store.StaticWrite{Key: store.Key{Prefix: "p", ID: id, Feature: f}, Value: store.FloatValue(float64(i*100 + j)), TS: 1})
		}
	}
	if err := s.WriteStatic(ctx, ws); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		asked int
		want  string
	}{{50, "hgetall"}, {10, "hmget"}, {33, "hmget"}, {34, "hgetall"}, {50, "hgetall"}, {1, "hmget"}} {
		// the last ones first: a read in another order than the hash's
		q.Features = features[50-tt.asked:]
		before := commandCalls(t, s)
		pipes, _ := obs.get("pipeline")
		out := make([]store.StaticValue, q.Len())
		missing, err := s.ReadStaticCached(ctx, q, out, nil)
		if err != nil || len(missing) != 0 {
			t.Fatalf("%d features: missing %v, %v", tt.asked, missing, err)
		}
		after := commandCalls(t, s)
		for name, n := range after {
			d := n - before[name]
			switch {
			case name == "info":
			case name == tt.want && d != 100:
				t.Fatalf("%d features: want 100 %s, got %d", tt.asked, tt.want, d)
			case name != tt.want && d != 0:
				t.Fatalf("%d features: want only %s, got %d %s", tt.asked, tt.want, d, name)
			}
		}
		if n, _ := obs.get("pipeline"); n != pipes+1 {
			t.Fatalf("want one pipeline, got %d", n-pipes)
		}
		for i, v := range out {
			if want := float64(i/tt.asked*100 + 50 - tt.asked + i%tt.asked); v.Kind != store.Float || v.Float != want || v.TS != 1 {
				t.Fatalf("%d features: value %d: want %v, got %v", tt.asked, i, want, v.Value)
			}
		}
		if n := redis.HashFields(s, "p"); n != 50 {
			t.Fatalf("learnt %d fields per hash, want 50", n)
		}
	}
}

// A hash read by HMGET is read whole again every 256th read of its prefix, and what that read
// learns decides the next: here the hashes grew, so a read of 2 fields that took HGETALL while
// the hashes held 3 fields takes HMGET once the store has seen 8; the mean counts a missing
// hash as 0 fields.
func TestStaticReadRelearnsHashSize(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testenv.NewRedis(t).Addr(), nil)
	write := func(id string, fields int) {
		t.Helper()
		var ws []store.StaticWrite
		for j := range fields {
			ws = append(ws, store.StaticWrite{Key: store.Key{Prefix: "g", ID: id, Feature: "f" + strconv.Itoa(j)}, Value: store.IntValue(int64(j)), TS: 1})
		}
		if err := s.WriteStatic(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	write("1", 3)
	q := store.StaticQuery{Prefix: "g", IDs: []string{"1", "none"}, Features: []string{"f0", "f1"}}
	wantMissing := 2 // the two fields of "none"
	read := func() map[string]int {
		t.Helper()
		before := commandCalls(t, s)
		out := make([]store.StaticValue, q.Len())
		missing, err := s.ReadStaticCached(ctx, q, out, nil)
		if err != nil || len(missing) != wantMissing || out[1].Kind != store.Int || out[1].Num != 1 {
			t.Fatalf("missing %v, %v, %v", missing, err, out)
		}
		d := map[string]int{}
		for name, n := range commandCalls(t, s) {
			if name != "info" && n != before[name] {
				d[name] = n - before[name]
			}
		}
		return d
	}
	if d := read(); d["hgetall"] != 2 || len(d) != 1 {
		t.Fatalf("first read: %v", d)
	}
	if n := redis.HashFields(s, "g"); n != 2 { // (3 + 0) / 2, rounded up
		t.Fatalf("learnt %d fields per hash, want 2", n)
	}
	write("1", 16)
	if d := read(); d["hgetall"] != 2 || len(d) != 1 {
		t.Fatalf("second read: %v", d)
	}
	if n := redis.HashFields(s, "g"); n != 8 {
		t.Fatalf("learnt %d fields per hash, want 8", n)
	}
	write("none", 16)
	wantMissing = 0
	hmget := 0
	for r := range 256 {
		d := read()
		if d["hgetall"] == 2 {
			if r != 255 {
				t.Fatalf("read %d: HGETALL", r)
			}
			break
		}
		hmget += d["hmget"]
	}
	if hmget != 2*255 {
		t.Fatalf("%d HMGET before the read that takes whole hashes, want %d", hmget, 2*255)
	}
	if n := redis.HashFields(s, "g"); n != 16 {
		t.Fatalf("learnt %d fields per hash, want 16", n)
	}
}

func TestNegativeEntries(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testenv.Redis(t), nil)
	k := key(t, "os")
	q := store.StaticQuery{Prefix: k.Prefix, IDs: []string{k.ID}, Features: []string{"os"}}
	read := func() (store.StaticValue, bool) {
		t.Helper()
		out := make([]store.StaticValue, 1)
		missing, err := s.ReadStaticCached(ctx, q, out, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out[0], len(missing) == 0
	}
	if _, known := read(); known {
		t.Fatal("an unwritten feature must be a miss")
	}
	now := time.Now().UnixMilli()
	if err := s.FillStatic(ctx, nil, []store.Key{k}, now+60_000); err != nil {
		t.Fatal(err)
	}
	if v, known := read(); !known || v.Kind != store.Absent {
		t.Fatalf("a negative entry is a known absence, got %v known=%v", v.Value, known)
	}
	// A value replaces the negative entry; a negative entry never replaces a value.
	if err := s.WriteStatic(ctx, []store.StaticWrite{{Key: k, Value: store.StringValue("ios"), TS: 5}}); err != nil {
		t.Fatal(err)
	}
	if err := s.FillStatic(ctx, nil, []store.Key{k}, now+60_000); err != nil {
		t.Fatal(err)
	}
	if v, known := read(); !known || v.Str != "ios" {
		t.Fatalf("want ios, got %v known=%v", v.Value, known)
	}
	// An expired negative entry is a miss.
	k2 := key(t, "os")
	q.IDs = []string{k2.ID}
	if err := s.FillStatic(ctx, nil, []store.Key{k2}, now-1); err != nil {
		t.Fatal(err)
	}
	if _, known := read(); known {
		t.Fatal("an expired negative entry must be a miss")
	}
}

func TestStaticTTL(t *testing.T) {
	ctx := context.Background()
	addr := testenv.Redis(t)
	for _, tt := range []struct {
		name string
		ttl  time.Duration
	}{{"with_ttl", time.Minute}, {"without_ttl", 0}} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redis.New(redis.Config{Addrs: []string{addr}, StaticTTL: tt.ttl})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			k := key(t, "os")
			if err := s.WriteStatic(ctx, []store.StaticWrite{{Key: k, Value: store.StringValue("ios"), TS: 1000}}); err != nil {
				t.Fatal(err)
			}
			d := s.Client().PTTL(ctx, redis.EntityKey(k.Prefix, k.ID)).Val()
			if (tt.ttl > 0) != (d > 0) {
				t.Fatalf("want ttl %v, got %v", tt.ttl, d)
			}
		})
	}
}

func TestMalformedFieldIsInvalid(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testenv.Redis(t), nil)
	k := key(t, "os")
	s.Client().HSet(ctx, redis.EntityKey(k.Prefix, k.ID), "os", "not a value")
	_, err := store.ReadKey(ctx, s, k)
	if err == nil || !strings.Contains(err.Error(), "os") {
		t.Fatalf("want an error naming the field, got %v", err)
	}
}
