package redis_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store"
)

// A point-in-time query is answered from Redis only when the sorted set still holds what the
// series held then; otherwise it is missing (the tiered store asks DynamoDB).
func TestPointInTimeCoverage(t *testing.T) {
	s := newStore(t, testenv.Redis(t), nil)
	ctx := context.Background()
	write := func(k store.Key, maxCount int, tsMember ...any) {
		t.Helper()
		var ws []store.ActionWrite
		for i := 0; i < len(tsMember); i += 2 {
			ws = append(ws, store.ActionWrite{Key: k, TS: int64(tsMember[i].(int)), Member: tsMember[i+1].(string), MaxCount: maxCount})
		}
		if err := s.WriteActions(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	dd := key(t, "clicks")
	write(dd, 10, 1000, `{"a":1}`, 2000, `{"a":2}`, 3000, `{"a":1}`) // a:1 repeated at 3 s
	nd := key(t, "purchases")
	for i := 1; i <= 8; i++ {
		write(nd, 5, i*1000, fmt.Sprintf(`{"_t":%d}`, i*1000)) // trimmed to 4..8 s
	}
	for _, c := range []struct {
		name    string
		q       store.ActionQuery
		covered bool
		want    int // events when covered
	}{
		{"dedupe, nothing newer", store.ActionQuery{Key: dd, Count: 5, MaxTS: 3000, Dedupe: true, MaxCount: 10}, true, 2},
		{"dedupe, a member newer", store.ActionQuery{Key: dd, Count: 5, MaxTS: 2500, Dedupe: true, MaxCount: 10}, false, 0},
		{"trimmed, count reached", store.ActionQuery{Key: nd, Count: 2, MaxTS: 6500, MaxCount: 5}, true, 2},
		{"trimmed, window inside the set", store.ActionQuery{Key: nd, Count: 5, MinTS: 4500, MaxTS: 6500, MaxCount: 5}, true, 2},
		{"trimmed, reaches below the set", store.ActionQuery{Key: nd, Count: 5, MaxTS: 6500, MaxCount: 5}, false, 0},
		{"trimmed, filtered", store.ActionQuery{Key: nd, Count: 1, MaxTS: 6500, MaxCount: 5, Filter: &store.Filter{}}, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			found, missing, err := s.ReadActionsCached(ctx, []store.ActionQuery{c.q})
			if err != nil {
				t.Fatal(err)
			}
			evs, ok := found[c.q]
			if ok != c.covered || (len(missing) == 1) == c.covered || len(evs) != c.want {
				t.Fatalf("found %v (%d events), missing %d; want covered %v with %d events", ok, len(evs), len(missing), c.covered, c.want)
			}
		})
	}
}
