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
	queries []store.StaticQuery
	err     error
}

func (k *keyCounter) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	k.queries = append(k.queries, q)
	if k.err != nil {
		return k.err
	}
	return k.StaticReader.ReadStatic(ctx, q, out)
}

func TestReadEntitiesOneQueryPerPrefixAndAligns(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	_ = mem.WriteStatic(ctx, []store.StaticWrite{
		{Key: store.Key{Prefix: "u", ID: "1", Feature: "os"}, Value: store.StringValue("ios"), TS: 1},
		{Key: store.Key{Prefix: "u", ID: "2", Feature: "region_id"}, Value: store.IntValue(7), TS: 1},
	})
	kc := &keyCounter{StaticReader: mem}
	a := &Features{Names: []string{"os", "region_id"}}
	b := &Features{Names: []string{"region_id"}}
	keys := []EntityKey{{"u", "1", a}, {"u", "2", a}, {"u", "2", b}}
	got, err := readEntities(ctx, kc, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(kc.queries) != 1 || len(kc.queries[0].IDs) != 2 || len(kc.queries[0].Features) != 2 {
		t.Fatalf("want one query of 2 ids × 2 features, got %+v", kc.queries)
	}
	check := func(k EntityKey, want ...store.Value) {
		t.Helper()
		vs := got[k]
		if len(vs) != len(want) {
			t.Fatalf("%v: want %d values, got %d", k, len(want), len(vs))
		}
		for i, w := range want {
			if !store.Equal(vs[i].Value, w) {
				t.Fatalf("%v[%d]: want %v, got %v", k, i, w, vs[i].Value)
			}
		}
	}
	check(keys[0], store.StringValue("ios"), store.Value{})
	check(keys[1], store.Value{}, store.IntValue(7))
	check(keys[2], store.IntValue(7))

	kc.err = errors.New("down")
	if _, err := readEntities(ctx, kc, keys); err == nil {
		t.Fatal("a store error must be returned")
	}
}
