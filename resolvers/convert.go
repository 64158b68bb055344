package resolvers

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/graph/model"
)

// Converters from canonical values (registry.Coerce) to model field types. A value of the wrong
// form gives nil: the loader coerced it already, so that only happens for a missing value.

func asInt(v any) *int {
	if n, ok := v.(int64); ok {
		x := int(n)
		return &x
	}
	return nil
}

func asFloat(v any) *float64 {
	if f, ok := v.(float64); ok {
		return &f
	}
	return nil
}

func asString(v any) *string {
	if s, ok := v.(string); ok {
		return &s
	}
	return nil
}

func asBoolean(v any) *bool {
	if b, ok := v.(bool); ok {
		return &b
	}
	return nil
}

func asTime(v any) *time.Time {
	if t, ok := v.(time.Time); ok {
		return &t
	}
	return nil
}

func asJSON(v any) *model.JSON {
	if raw, ok := v.(json.RawMessage); ok {
		j := model.JSON(raw)
		return &j
	}
	return nil
}

func asList[T any](v any, conv func(any) *T) []T {
	items, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		if x := conv(it); x != nil {
			out = append(out, *x)
		}
	}
	return out
}

func asIntList(v any) []int         { return asList(v, asInt) }
func asFloatList(v any) []float64   { return asList(v, asFloat) }
func asStringList(v any) []string   { return asList(v, asString) }
func asBooleanList(v any) []bool    { return asList(v, asBoolean) }
func asTimeList(v any) []time.Time  { return asList(v, asTime) }
func asJSONList(v any) []model.JSON { return asList(v, asJSON) }
func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func intIDs(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.Itoa(id)
	}
	return out
}
