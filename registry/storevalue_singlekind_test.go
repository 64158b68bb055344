package registry

import (
	"testing"

	"github.com/featuregraph/featuregraph/store"
)

// SingleKind names exactly the values Conform answers unchanged: for every type and container,
// a value of that kind conforms to itself, and containers have no such kind.
func TestSingleKindAgreesWithConform(t *testing.T) {
	samples := map[store.Kind]store.Value{
		store.Int: store.IntValue(3), store.Float: store.FloatValue(2.5), store.String: store.StringValue("x"),
		store.Bool: store.BoolValue(true), store.Time: store.Value{Kind: store.Time, Num: 5}, store.JSON: store.JSONValue(`{}`),
	}
	for _, typ := range []Type{Int, Float, String, Boolean, Time, JSON} {
		for _, c := range []Container{Single, List, Set, Map} {
			k := SingleKind(typ, c)
			if c != Single {
				if k != store.Absent {
					t.Errorf("%s %s: kind %v, want Absent", c, typ, k)
				}
				continue
			}
			v, ok := samples[k]
			if !ok {
				t.Fatalf("%s %s: kind %v has no sample", c, typ, k)
			}
			got, err := Conform(typ, c, v)
			if err != nil || got.Kind != v.Kind || got.Num != v.Num || got.Float != v.Float || got.Str != v.Str {
				t.Errorf("%s %s: Conform(%+v) = %+v, %v", c, typ, v, got, err)
			}
		}
	}
}
