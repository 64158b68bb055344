package registry

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// ToValue converts v to the typed store.Value of a feature of type t in container c, accepting
// every form Coerce accepts (a set comes out sorted and without repeats, a map with sorted keys).
func ToValue(t Type, c Container, v any) (store.Value, error) {
	cv, err := Coerce(t, c, v)
	if err != nil {
		return store.Value{}, err
	}
	return CanonicalValue(cv)
}

// CanonicalValue converts a canonical Go form (Coerce's result: int64, float64, string, bool,
// time.Time, json.RawMessage, []any, map[string]any) to a store.Value.
func CanonicalValue(v any) (store.Value, error) {
	switch x := v.(type) {
	case int64:
		return store.IntValue(x), nil
	case float64:
		return store.FloatValue(x), nil
	case string:
		return store.StringValue(x), nil
	case bool:
		return store.BoolValue(x), nil
	case time.Time:
		return store.TimeValue(x), nil
	case json.RawMessage:
		return store.JSONValue(string(x)), nil
	case []any:
		items := make([]store.Value, len(x))
		for i, it := range x {
			iv, err := CanonicalValue(it)
			if err != nil {
				return store.Value{}, err
			}
			items[i] = iv
		}
		return store.ListValue(items), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		items := make([]store.Value, len(keys))
		for i, k := range keys {
			iv, err := CanonicalValue(x[k])
			if err != nil {
				return store.Value{}, err
			}
			items[i] = iv
		}
		return store.MapValue(keys, items), nil
	}
	return store.Value{}, fmt.Errorf("no value form for %T", v)
}

// CanonicalOf is the canonical Go form of v (Coerce's form; nil for Absent): the inverse of
// CanonicalValue.
func CanonicalOf(v store.Value) any {
	switch v.Kind {
	case store.Int:
		return v.Num
	case store.Float:
		return v.Float
	case store.String:
		return v.Str
	case store.Bool:
		return v.Bool()
	case store.Time:
		return v.Time()
	case store.JSON:
		return json.RawMessage(v.Str)
	case store.List:
		out := make([]any, len(v.Items))
		for i, it := range v.Items {
			out[i] = CanonicalOf(it)
		}
		return out
	case store.Map:
		out := make(map[string]any, len(v.Keys))
		for i, k := range v.Keys {
			out[k] = CanonicalOf(v.Items[i])
		}
		return out
	}
	return nil
}

// EntityByPrefix returns the entity with the given key prefix, or nil.
func (r *Registry) EntityByPrefix(prefix string) *Entity {
	for _, e := range r.Entities {
		if e.Prefix == prefix {
			return e
		}
	}
	return nil
}

// DecodeStatic implements store.ValueDecoder: v, as a backend read it, typed as the feature's
// value. A feature the registry does not know is decoded untyped.
func (r *Registry) DecodeStatic(prefix, feature string, v any) (store.Value, error) {
	var f *Feature
	if r == nil {
		return store.UntypedDecoder{}.DecodeStatic(prefix, feature, v)
	}
	if e := r.EntityByPrefix(prefix); e != nil {
		f = e.Feature(feature)
	}
	if f == nil || f.FeatureType != Static {
		return store.UntypedDecoder{}.DecodeStatic(prefix, feature, v)
	}
	sv, err := ToValue(f.Type, f.Container, v)
	if err != nil {
		return store.Value{}, fmt.Errorf("stored value of %s.%s is not a %s %s: %w", f.Entity.Name, f.Name, f.Container, f.Type, err)
	}
	return sv, nil
}

var _ store.ValueDecoder = (*Registry)(nil)

// SingleKind is the store.Kind of a value of type t in container c that Conform returns
// unchanged without looking further: the kind of t for a single value, Absent for a container
// (its items are checked one by one).
func SingleKind(t Type, c Container) store.Kind {
	if c != Single {
		return store.Absent
	}
	return kindOf(t)
}

// kindOf is the store.Kind of a single value of type t.
func kindOf(t Type) store.Kind {
	switch t {
	case Int:
		return store.Int
	case Float:
		return store.Float
	case String:
		return store.String
	case Boolean:
		return store.Bool
	case Time:
		return store.Time
	case JSON:
		return store.JSON
	}
	return store.Absent
}

// Conform returns v as a value of type t in container c: v itself when it has that form (the
// common case, no allocation), an Int as a Float or an integral Float as an Int (a feature
// whose type changed between Int and Float), else an error naming what v is.
func Conform(t Type, c Container, v store.Value) (store.Value, error) {
	want := kindOf(t)
	switch c {
	case List, Set, Map:
		wantC := store.List
		if c == Map {
			wantC = store.Map
		}
		if v.Kind != wantC {
			return store.Value{}, fmt.Errorf("want a %s of %s, got %s", c, t, v.Kind)
		}
		for i, it := range v.Items {
			if it.Kind == want {
				continue
			}
			items := append([]store.Value(nil), v.Items...)
			for j := i; j < len(items); j++ {
				cv, err := conformScalar(want, items[j])
				if err != nil {
					return store.Value{}, fmt.Errorf("item %d: %w", j, err)
				}
				items[j] = cv
			}
			v.Items = items
			break
		}
		return v, nil
	}
	if v.Kind == want {
		return v, nil
	}
	return conformScalar(want, v)
}

func conformScalar(want store.Kind, v store.Value) (store.Value, error) {
	switch {
	case v.Kind == want:
		return v, nil
	case want == store.Float && v.Kind == store.Int:
		return store.FloatValue(float64(v.Num)), nil
	case want == store.Int && v.Kind == store.Float && v.Float == math.Trunc(v.Float) && math.Abs(v.Float) < 1<<53:
		return store.IntValue(int64(v.Float)), nil
	}
	return store.Value{}, fmt.Errorf("want %s, got %s %s", want, v.Kind, v)
}
