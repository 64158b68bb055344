package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/redis"
)

// The HMGET read decodes each reply from its raw RESP bytes: RESP2 and RESP3 (their nulls
// differ: "$-1" and "_") answer alike, with values, missing fields, strings and negative
// entries in one row.
// Read by HMGET and by HGETALL alike.
func TestStaticReadRawReplyRESP2AndRESP3(t *testing.T) {
	addr := testenv.Redis(t)
	ctx := context.Background()
	for _, mode := range []string{"hmget", "hgetall"} {
		for _, protocol := range []int{2, 3} {
			c := goredis.NewClient(&goredis.Options{Addr: addr, Protocol: protocol})
			t.Cleanup(func() { c.Close() })
			s, err := redis.NewFromClient(c, redis.Config{})
			if err != nil {
				t.Fatal(err)
			}
			redis.SetStaticRead(s, mode)
			t.Logf("%s, RESP%d", mode, protocol)
			k := key(t, "os")
			id := k.ID
			other := store.Key{Prefix: k.Prefix, ID: id + "-other", Feature: "os"}
			if err := s.WriteStatic(ctx, []store.StaticWrite{
				{Key: k, Value: store.StringValue("ios: 17\r\n$3"), TS: 1700000000000},
				{Key: store.Key{Prefix: k.Prefix, ID: id, Feature: "score"}, Value: store.FloatValue(-0.25), TS: 1700000000001},
				{Key: other, Value: store.IntValue(7), TS: 5},
			}); err != nil {
				t.Fatal(err)
			}
			if err := s.FillStatic(ctx, nil, []store.Key{{Prefix: k.Prefix, ID: id, Feature: "gone"}}, 1<<62); err != nil {
				t.Fatal(err)
			}
			q := store.StaticQuery{Prefix: k.Prefix, IDs: []string{id, other.ID, id + "-none"}, Features: []string{"os", "score", "gone", "never"}}
			out := make([]store.StaticValue, q.Len())
			missing, err := s.ReadStaticCached(ctx, q, out, nil)
			if err != nil {
				t.Fatalf("RESP%d: %v", protocol, err)
			}
			want := []store.StaticValue{
				{Value: store.StringValue("ios: 17\r\n$3"), TS: 1700000000000}, {Value: store.FloatValue(-0.25), TS: 1700000000001}, {}, {},
				{Value: store.IntValue(7), TS: 5}, {}, {}, {},
				{}, {}, {}, {},
			}
			for i := range want {
				if out[i].Kind != want[i].Kind || out[i].Num != want[i].Num || out[i].Float != want[i].Float || out[i].Str != want[i].Str || out[i].TS != want[i].TS {
					t.Errorf("RESP%d: value %d (%s): want %+v, got %+v", protocol, i, q.Key(i), want[i], out[i])
				}
			}
			// "gone" of the first entity is a live negative entry: known, so not missing.
			wantMissing := []int{3, 5, 6, 7, 8, 9, 10, 11}
			if len(missing) != len(wantMissing) {
				t.Fatalf("RESP%d: missing %v, want %v", protocol, missing, wantMissing)
			}
			for i := range missing {
				if missing[i] != wantMissing[i] {
					t.Fatalf("RESP%d: missing %v, want %v", protocol, missing, wantMissing)
				}
			}
		}
	}
}

// An error reply to one HMGET (a key that is not a hash) fails the read with ErrInvalid naming
// Redis's error, not with a parse error.
func TestStaticReadRawReplyErrorReply(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, testenv.Redis(t), nil)
	k := key(t, "os")
	if err := s.Client().Set(ctx, redis.EntityKey(k.Prefix, k.ID), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	out := make([]store.StaticValue, 1)
	err := s.ReadStatic(ctx, store.StaticQuery{Prefix: k.Prefix, IDs: []string{k.ID}, Features: []string{"os"}}, out)
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("want ErrInvalid with WRONGTYPE, got %v", err)
	}
}
