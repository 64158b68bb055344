package redis_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/storetest"
)

func TestMain(m *testing.M) {
	goredis.SetLogger(quiet{}) // dial failures are expected in TestUnavailable
	testenv.Main(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// calls counts backend calls by op.
type calls struct {
	mu    sync.Mutex
	ops   map[string]int
	items map[string]int
}

func (c *calls) BackendCall(_, op string, items int, _ time.Duration, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ops == nil {
		c.ops, c.items = map[string]int{}, map[string]int{}
	}
	c.ops[op]++
	c.items[op] += items
}
func (c *calls) Cache(string, bool) {}
func (c *calls) get(op string) (n, items int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op], c.items[op]
}

func newStore(t *testing.T, addr string, obs store.Observer) *redis.Store {
	t.Helper()
	s, err := redis.New(redis.Config{Addrs: []string{addr}, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var seq int

func key(t *testing.T, feature string) store.Key {
	seq++
	return store.Key{Prefix: "rt", ID: fmt.Sprintf("%s-%d", t.Name(), seq), Feature: feature}
}

// The contract holds however static reads are sent: as the store decides, always by HMGET,
// always by HGETALL.
func TestContract(t *testing.T) {
	for _, mode := range []string{"auto", "hmget", "hgetall"} {
		t.Run(mode, func(t *testing.T) {
			s := newStore(t, testenv.Redis(t), nil)
			redis.SetStaticRead(s, mode)
			storetest.Run(t, s)
		})
	}
}

// TestFilterContract: Redis alone answers filters on the series it holds (point-in-time reads
// need DynamoDB, which the tiered suite checks).
func TestFilterContract(t *testing.T) {
	storetest.RunFilter(t, newStore(t, testenv.Redis(t), nil), storetest.Options{})
}

func TestReadActionsCachedTellsAbsentFromEmptyWindow(t *testing.T) {
	ctx := context.Background()
	obs := &calls{}
	s := newStore(t, testenv.Redis(t), obs)
	present, absent := key(t, "clicks"), key(t, "clicks")
	if err := s.WriteActions(ctx, []store.ActionWrite{{Key: present, TS: 1000, Member: `{"a":1}`, MaxCount: 10}}); err != nil {
		t.Fatal(err)
	}
	qs := []store.ActionQuery{
		{Key: present, Count: 5, MinTS: 0, Dedupe: true, MaxCount: 10},    // events
		{Key: present, Count: 5, MinTS: 5000, Dedupe: true, MaxCount: 10}, // present, empty window
		{Key: absent, Count: 5, Dedupe: true, MaxCount: 10},               // absent
		{Key: absent, Count: 0, Dedupe: true, MaxCount: 10},               // count 0: empty, no lookup
		{Key: present, Count: 5, MinTS: 0, Dedupe: true, MaxCount: 10},    // repeated query
	}
	before, _ := obs.get("pipeline")
	found, missing, err := s.ReadActionsCached(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := obs.get("pipeline"); n-before != 1 {
		t.Fatalf("want one pipeline round trip, got %d", n-before)
	}
	tests := []struct {
		name        string
		q           store.ActionQuery
		wantFound   bool
		wantMissing bool
		wantEvents  []store.ActionEvent
	}{
		{"events", qs[0], true, false, []store.ActionEvent{{TS: 1000, Member: `{"a":1}`}}},
		{"empty_window", qs[1], true, false, []store.ActionEvent{}},
		{"absent", qs[2], false, true, nil},
		{"count_zero", qs[3], true, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, ok := found[tt.q]
			if ok != tt.wantFound {
				t.Fatalf("found: want %v, got %v", tt.wantFound, ok)
			}
			isMissing := false
			for _, m := range missing {
				if m == tt.q {
					isMissing = true
				}
			}
			if isMissing != tt.wantMissing {
				t.Fatalf("missing: want %v, got %v (%v)", tt.wantMissing, isMissing, missing)
			}
			if ok && !reflect.DeepEqual(evs, tt.wantEvents) {
				t.Fatalf("events: want %#v, got %#v", tt.wantEvents, evs)
			}
		})
	}
	if len(missing) != 1 {
		t.Fatalf("want exactly one missing query, got %v", missing)
	}
}

func TestWriteActionsIfPresent(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testenv.Redis(t), nil)
	present, absent := key(t, "clicks"), key(t, "clicks")
	now := time.Now().UnixMilli()
	w := func(k store.Key, ts int64, m string) store.ActionWrite {
		return store.ActionWrite{Key: k, TS: ts, Member: m, MaxCount: 3, TTL: time.Duration(now-ts)*time.Millisecond + time.Hour}
	}
	wantExp := (now + time.Hour.Milliseconds()) / 1000 // every write expires at the same second
	if err := s.WriteActions(ctx, []store.ActionWrite{w(present, 1000, `{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	err := s.WriteActionsIfPresent(ctx, []store.ActionWrite{
		w(present, 2000, `{"a":2}`), w(present, 3000, `{"a":3}`), w(present, 4000, `{"a":4}`),
		w(present, 500, `{"a":2}`), // an older repeat does not move back
		w(absent, 1000, `{"a":1}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadActions(ctx, []store.ActionQuery{{Key: present, Count: 10, MaxCount: 3, Dedupe: true}, {Key: absent, Count: 10, MaxCount: 3, Dedupe: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ActionEvent{{TS: 4000, Member: `{"a":4}`}, {TS: 3000, Member: `{"a":3}`}, {TS: 2000, Member: `{"a":2}`}}
	if g := got[store.ActionQuery{Key: present, Count: 10, MaxCount: 3, Dedupe: true}]; !reflect.DeepEqual(g, want) {
		t.Fatalf("present key: want %v, got %v", want, g)
	}
	if n := s.Client().Exists(ctx, absent.String()).Val(); n != 0 {
		t.Fatal("WriteActionsIfPresent created an absent key")
	}
	if got := int64(s.Client().ExpireTime(ctx, present.String()).Val() / time.Second); got != wantExp {
		t.Fatalf("key expiry: want %d, got %d", wantExp, got)
	}
}

func TestKeyExpiryOnlyExtended(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testenv.Redis(t), nil)
	now := time.Now().UnixMilli()
	tests := []struct {
		name    string
		writeIf bool
	}{{"multi", false}, {"if_present", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := key(t, "clicks")
			write := func(ts int64, ttl time.Duration) {
				t.Helper()
				ws := []store.ActionWrite{{Key: k, TS: ts, Member: fmt.Sprint(ts), MaxCount: 10, TTL: ttl}}
				var err error
				if tt.writeIf {
					err = s.WriteActionsIfPresent(ctx, ws)
				} else {
					err = s.WriteActions(ctx, ws)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if tt.writeIf { // create the key first
				if err := s.WriteActions(ctx, []store.ActionWrite{{Key: k, TS: now, Member: "first", MaxCount: 10}}); err != nil {
					t.Fatal(err)
				}
			}
			write(now, 2*time.Hour)
			wantExp := (now + (2 * time.Hour).Milliseconds()) / 1000
			write(now-time.Hour.Milliseconds(), 2*time.Hour) // an older event: expiry unchanged
			if got := int64(s.Client().ExpireTime(ctx, k.String()).Val() / time.Second); got != wantExp {
				t.Fatalf("after older event: want expiry %d, got %d", wantExp, got)
			}
			write(now+time.Hour.Milliseconds(), 2*time.Hour) // a newer event extends
			wantExp = (now + (3 * time.Hour).Milliseconds()) / 1000
			if got := int64(s.Client().ExpireTime(ctx, k.String()).Val() / time.Second); got != wantExp {
				t.Fatalf("after newer event: want expiry %d, got %d", wantExp, got)
			}
		})
	}
}

func TestWritesAreOnePipeline(t *testing.T) {
	ctx := context.Background()
	obs := &calls{}
	s := newStore(t, testenv.Redis(t), obs)
	var ws []store.ActionWrite
	for i := range 20 {
		ws = append(ws, store.ActionWrite{Key: key(t, "clicks"), TS: int64(1000 + i), Member: "m", MaxCount: 5, TTL: time.Hour})
	}
	if err := s.WriteActions(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if n, _ := obs.get("pipeline"); n != 1 {
		t.Fatalf("want 1 pipeline for 20 keys, got %d", n)
	}
}

func TestUnavailable(t *testing.T) {
	srv := testenv.NewRedis(t)
	s := newStore(t, srv.Addr(), nil)
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	k := key(t, "clicks")
	ops := []struct {
		name string
		call func() error
	}{
		{"ping", func() error { return s.Ping(ctx) }},
		{"read_actions", func() error { _, err := s.ReadActions(ctx, []store.ActionQuery{{Key: k, Count: 1}}); return err }},
		{"write_actions", func() error { return s.WriteActions(ctx, []store.ActionWrite{{Key: k, TS: 1, Member: "m"}}) }},
		{"read_static", func() error { _, err := store.ReadKey(ctx, s, k); return err }},
		{"write_static", func() error {
			return s.WriteStatic(ctx, []store.StaticWrite{{Key: k, Value: store.StringValue("x"), TS: 1}})
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			err := op.call()
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("want ErrUnavailable, got %v", err)
			}
			if store.BackendOf(err) != "redis" {
				t.Fatalf("want a redis BackendError, got %v", err)
			}
		})
	}
	srv.Start()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
}

func TestWrongTypeIsInvalid(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testenv.Redis(t), nil)
	k := key(t, "os")
	// The static hash of entity (k.Prefix#k.ID, k.Feature) is at the key of action feature k.
	if err := s.WriteStatic(ctx, []store.StaticWrite{{Key: store.Key{Prefix: k.Prefix + "#" + k.ID, ID: k.Feature, Feature: "os"}, Value: store.StringValue("ios"), TS: 1}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.ReadActions(ctx, []store.ActionQuery{{Key: k, Count: 1}})
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("want ErrInvalid naming WRONGTYPE, got %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     redis.Config
		wantErr []string
	}{
		{"zero_is_defaults", redis.Config{}, nil},
		{"defaults", redis.DefaultConfig(), nil},
		{"cluster_many_addrs", redis.Config{Addrs: []string{"a:1", "b:1"}, Cluster: true}, nil},
		{"many_addrs_without_cluster", redis.Config{Addrs: []string{"a:1", "b:1"}}, []string{"Addrs"}},
		{"empty_addr", redis.Config{Addrs: []string{""}}, []string{"Addrs[0]"}},
		{"negatives", redis.Config{ReadTimeout: -1, PoolSize: -1, MaxRetries: -2}, []string{"ReadTimeout", "PoolSize", "MaxRetries"}},
		{"cluster_db", redis.Config{Cluster: true, DB: 1}, []string{"DB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != (len(tt.wantErr) > 0) {
				t.Fatalf("want errors %v, got %v", tt.wantErr, err)
			}
			for _, f := range tt.wantErr {
				if !strings.Contains(err.Error(), f+":") {
					t.Fatalf("error does not name field %s: %v", f, err)
				}
			}
		})
	}
}

// TestSeriesBeingRefilledIsMissing: while a refill of a series is under way (its marker set),
// events written meanwhile create the key, but it holds only those events, not the series; a
// read must not take it for the series (it is missing, so the tiered store asks DynamoDB). Once
// the refill ends the key is read again. Before, a read in that window answered the partial
// series (seen as lost events in the Cluster failover test under load).
func TestSeriesBeingRefilledIsMissing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testenv.Redis(t), nil)
	k := key(t, "clicks")
	q := store.ActionQuery{Key: k, Count: 10, MaxCount: 10}
	if err := s.MarkRefill(ctx, []store.Key{k}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteActionsIfPresent(ctx, []store.ActionWrite{{Key: k, TS: 5000, Member: `{"a":5}`, MaxCount: 10}}); err != nil {
		t.Fatal(err)
	}
	if n := s.Client().ZCard(ctx, k.String()).Val(); n != 1 {
		t.Fatalf("the write during the refill was not kept: %d events", n)
	}
	found, missing, err := s.ReadActionsCached(ctx, []store.ActionQuery{q})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || found[q] != nil {
		t.Fatalf("a series being refilled was read from Redis: found %v, missing %v", found, missing)
	}
	// The refill lands (the older events of the series) and ends: Redis answers the whole series.
	if err := s.WriteActions(ctx, []store.ActionWrite{{Key: k, TS: 1000, Member: `{"a":1}`, MaxCount: 10}}); err != nil {
		t.Fatal(err)
	}
	if err := s.EndRefill(ctx, []store.Key{k}, false); err != nil {
		t.Fatal(err)
	}
	found, missing, err = s.ReadActionsCached(ctx, []store.ActionQuery{q})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ActionEvent{{TS: 5000, Member: `{"a":5}`}, {TS: 1000, Member: `{"a":1}`}}
	if len(missing) != 0 || !reflect.DeepEqual(found[q], want) {
		t.Fatalf("after the refill: found %v, missing %v; want %v", found[q], missing, want)
	}
	// An existing series with no event in the window is still found (empty), not missing.
	qw := store.ActionQuery{Key: k, Count: 10, MaxCount: 10, MinTS: 9000}
	found, missing, err = s.ReadActionsCached(ctx, []store.ActionQuery{qw})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 0 || len(found[qw]) != 0 {
		t.Fatalf("empty window: found %v, missing %v", found, missing)
	}
	if _, ok := found[qw]; !ok {
		t.Fatal("empty window of an existing series not in found")
	}
}
