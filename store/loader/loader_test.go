package loader

import (
	"context"
	"errors"
	"testing"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

type keyCounter struct {
	store.StaticReader
	keys [][]store.Key
	err  error
}

func (k *keyCounter) ReadStatic(ctx context.Context, keys []store.Key) (map[store.Key]store.StaticValue, error) {
	k.keys = append(k.keys, keys)
	if k.err != nil {
		return nil, k.err
	}
	return k.StaticReader.ReadStatic(ctx, keys)
}

func TestReadEntitiesExpandsDedupesAndAligns(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	_ = mem.WriteStatic(ctx, []store.StaticWrite{
		{Key: store.Key{Prefix: "u", ID: "1", Feature: "os"}, Value: "ios", TS: 1},
		{Key: store.Key{Prefix: "u", ID: "2", Feature: "region_id"}, Value: int64(7), TS: 1},
	})
	kc := &keyCounter{StaticReader: mem}
	a := &Features{Names: []string{"os", "region_id"}}
	b := &Features{Names: []string{"region_id"}}
	keys := []EntityKey{{"u", "1", a}, {"u", "2", a}, {"u", "2", b}}
	got, err := readEntities(ctx, kc, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(kc.keys) != 1 || len(kc.keys[0]) != 4 {
		t.Fatalf("want one read of 4 distinct store keys, got %v", kc.keys)
	}
	check := func(k EntityKey, want ...any) {
		t.Helper()
		vs := got[k]
		if len(vs) != len(want) {
			t.Fatalf("%v: want %d values, got %d", k, len(want), len(vs))
		}
		for i, w := range want {
			if (vs[i] == nil) != (w == nil) || (vs[i] != nil && vs[i].Value != w) {
				t.Fatalf("%v[%d]: want %v, got %v", k, i, w, vs[i])
			}
		}
	}
	check(keys[0], "ios", nil)
	check(keys[1], nil, int64(7))
	check(keys[2], int64(7))

	kc.err = errors.New("down")
	if _, err := readEntities(ctx, kc, keys); err == nil {
		t.Fatal("a store error must be returned")
	}
}
