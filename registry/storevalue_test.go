package registry

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

func TestToValueAndBack(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8e6, time.UTC)
	cases := []struct {
		t    Type
		c    Container
		in   any
		kind store.Kind
	}{
		{Int, Single, json.Number("42"), store.Int},
		{Float, Single, "2.5", store.Float},
		{String, Single, "x", store.String},
		{Boolean, Single, "true", store.Bool},
		{Time, Single, "2025-03-04T05:06:07.008Z", store.Time},
		{JSON, Single, map[string]any{"b": 1, "a": []any{true}}, store.JSON},
		{Int, Set, []any{json.Number("3"), int64(1), int64(3)}, store.List},
		{Float, Map, map[string]any{"y": 2, "x": 1.5}, store.Map},
	}
	for _, c := range cases {
		v, err := ToValue(c.t, c.c, c.in)
		if err != nil || v.Kind != c.kind {
			t.Fatalf("%s %s %v: %v (kind %v), %v", c.c, c.t, c.in, v, v.Kind, err)
		}
		want, _ := Coerce(c.t, c.c, c.in)
		if got := CanonicalOf(v); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %s: CanonicalOf = %#v, want %#v", c.c, c.t, got, want)
		}
		if cv, err := Conform(c.t, c.c, v); err != nil || !store.Equal(cv, v) {
			t.Fatalf("%s %s: a value of the feature's type must conform as is: %v, %v", c.c, c.t, cv, err)
		}
	}
	if v, _ := ToValue(Time, Single, at); v.Time() != at {
		t.Fatalf("time: got %v", v.Time())
	}
	if v, _ := ToValue(Float, Map, map[string]any{"y": 2, "x": 1.5}); strings.Join(v.Keys, ",") != "x,y" {
		t.Fatalf("map keys must be sorted, got %v", v.Keys)
	}
}

func TestConform(t *testing.T) {
	if v, err := Conform(Float, Single, store.IntValue(3)); err != nil || v.Kind != store.Float || v.Float != 3 {
		t.Fatalf("an Int stored for a Float feature: %v, %v", v, err)
	}
	if v, err := Conform(Int, List, store.ListValue([]store.Value{store.IntValue(1), store.FloatValue(2)})); err != nil || v.Items[1].Kind != store.Int {
		t.Fatalf("an integral Float item of an Int list: %v, %v", v, err)
	}
	for _, bad := range []struct {
		t Type
		c Container
		v store.Value
	}{
		{Int, Single, store.FloatValue(2.5)},
		{String, Single, store.IntValue(1)},
		{Int, List, store.IntValue(1)},
		{Int, Map, store.ListValue(nil)},
	} {
		if v, err := Conform(bad.t, bad.c, bad.v); err == nil {
			t.Fatalf("%s %s from %v: want an error, got %v", bad.c, bad.t, bad.v, v)
		}
	}
}

func TestDecodeStaticTypesByTheRegistry(t *testing.T) {
	reg, err := Parse(map[string][]byte{"f.yaml": []byte(`entities:
  user: {prefix: u, idType: Int}
features:
  user:
    score: {featureType: static, type: Float}
    seen: {featureType: static, type: Time}
`)})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := reg.DecodeStatic("u", "score", json.Number("3")); err != nil || v.Kind != store.Float {
		t.Fatalf("an N read for a Float feature: %v, %v", v, err)
	}
	if v, err := reg.DecodeStatic("u", "seen", "2025-03-04T05:06:07Z"); err != nil || v.Kind != store.Time {
		t.Fatalf("an S read for a Time feature: %v, %v", v, err)
	}
	if _, err := reg.DecodeStatic("u", "score", "nope"); err == nil || !strings.Contains(err.Error(), "user.score") {
		t.Fatalf("want an error naming the feature, got %v", err)
	}
	if v, err := reg.DecodeStatic("x", "unknown", json.Number("3")); err != nil || v.Kind != store.Int {
		t.Fatalf("an unknown feature is decoded untyped: %v, %v", v, err)
	}
}
