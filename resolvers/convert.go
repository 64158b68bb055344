package resolvers

import (
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/graph/model"
	"github.com/featuregraph/featuregraph/store"
)

// Converters from typed values (registry.Conform made them the feature's type) to model field
// types. A value of another kind gives nil.

func asInt(v store.Value) *int {
	if v.Kind == store.Int {
		x := int(v.Num)
		return &x
	}
	return nil
}

func asFloat(v store.Value) *float64 {
	if v.Kind == store.Float {
		return &v.Float
	}
	return nil
}

func asString(v store.Value) *string {
	if v.Kind == store.String {
		return &v.Str
	}
	return nil
}

func asBoolean(v store.Value) *bool {
	if v.Kind == store.Bool {
		b := v.Bool()
		return &b
	}
	return nil
}

func asTime(v store.Value) *time.Time {
	if v.Kind == store.Time {
		t := v.Time()
		return &t
	}
	return nil
}

func asJSON(v store.Value) *model.JSON {
	if v.Kind == store.JSON {
		j := model.JSON(v.Str)
		return &j
	}
	return nil
}

func asList[T any](v store.Value, conv func(store.Value) *T) []T {
	if v.Kind != store.List {
		return nil
	}
	out := make([]T, 0, len(v.Items))
	for _, it := range v.Items {
		if x := conv(it); x != nil {
			out = append(out, *x)
		}
	}
	return out
}

func asIntList(v store.Value) []int         { return asList(v, asInt) }
func asFloatList(v store.Value) []float64   { return asList(v, asFloat) }
func asStringList(v store.Value) []string   { return asList(v, asString) }
func asBooleanList(v store.Value) []bool    { return asList(v, asBoolean) }
func asTimeList(v store.Value) []time.Time  { return asList(v, asTime) }
func asJSONList(v store.Value) []model.JSON { return asList(v, asJSON) }

// asMap builds the entries of a map value (keys sorted, as the value keeps them).
func asMap[E any, T any](v store.Value, conv func(store.Value) *T, entry func(k string, x T) E) []E {
	if v.Kind != store.Map {
		return nil
	}
	out := make([]E, 0, len(v.Keys))
	for i, k := range v.Keys {
		if x := conv(v.Items[i]); x != nil {
			out = append(out, entry(k, *x))
		}
	}
	return out
}

func intIDs(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.Itoa(id)
	}
	return out
}
