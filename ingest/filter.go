package ingest

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/featuregraph/featuregraph/registry"
)

// filter is a compiled registry.Filter.
type filter struct {
	path path
	f    *registry.Filter
}

// holds reports whether the filter holds for the event. A value that is absent (or null) holds
// only for not_equal, not_in and exists: false. A value that cannot be read as the filter's type
// does not equal any of the filter's values: the event is simply not the one the filter selects,
// so it is skipped rather than treated as an error.
func (fl *filter) holds(ev map[string]any) bool {
	v, present := fl.path.lookup(ev)
	f := fl.f
	switch f.Op {
	case registry.OpExists:
		want := true
		if len(f.Values) > 0 {
			want, _ = f.Values[0].(bool)
		}
		return present == want
	case registry.OpNotEqual, registry.OpNotIn:
		if !present {
			return true
		}
		return !fl.equalsAny(v)
	case registry.OpEqual, registry.OpIn:
		return present && fl.equalsAny(v)
	case registry.OpContain:
		return present && fl.contains(v)
	case registry.OpGT, registry.OpGTE, registry.OpLT, registry.OpLTE:
		if !present || len(f.Values) == 0 {
			return false
		}
		cv, err := registry.CoerceScalar(f.Type, v)
		if err != nil {
			return false
		}
		c, ok := compare(f.Type, cv, f.Values[0])
		if !ok {
			return false
		}
		switch f.Op {
		case registry.OpGT:
			return c > 0
		case registry.OpGTE:
			return c >= 0
		case registry.OpLT:
			return c < 0
		default:
			return c <= 0
		}
	}
	return false
}

func (fl *filter) equalsAny(v any) bool {
	cv, err := registry.CoerceScalar(fl.f.Type, v)
	if err != nil {
		return false
	}
	for _, want := range fl.f.Values {
		if c, ok := compare(fl.f.Type, cv, want); ok && c == 0 {
			return true
		}
	}
	return false
}

// contains: a string value contains the filter's string; a list value holds an item equal to the
// filter's value; a map value has the filter's value as a key.
func (fl *filter) contains(v any) bool {
	switch x := v.(type) {
	case string:
		for _, want := range fl.f.Values {
			if s, ok := want.(string); ok && strings.Contains(x, s) {
				return true
			}
		}
		return false
	case []any:
		for _, it := range x {
			if it != nil && fl.equalsAny(it) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, want := range fl.f.Values {
			if s, ok := want.(string); ok {
				if _, has := x[s]; has {
					return true
				}
			}
		}
		return false
	}
	return false
}

// compare orders two canonical values of type t. ok is false when they are not comparable
// (booleans and JSON only compare for equality; then c is 0 or 1).
func compare(t registry.Type, a, b any) (c int, ok bool) {
	switch t {
	case registry.Int:
		x, ok1 := a.(int64)
		y, ok2 := b.(int64)
		if !ok1 || !ok2 {
			return 0, false
		}
		return cmp3(x < y, x > y), true
	case registry.Float:
		x, ok1 := a.(float64)
		y, ok2 := b.(float64)
		if !ok1 || !ok2 {
			return 0, false
		}
		return cmp3(x < y, x > y), true
	case registry.String:
		x, ok1 := a.(string)
		y, ok2 := b.(string)
		if !ok1 || !ok2 {
			return 0, false
		}
		return strings.Compare(x, y), true
	case registry.Time:
		x, ok1 := a.(time.Time)
		y, ok2 := b.(time.Time)
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Compare(y), true
	case registry.Boolean:
		x, ok1 := a.(bool)
		y, ok2 := b.(bool)
		if !ok1 || !ok2 {
			return 0, false
		}
		return cmp3(false, x != y), true
	case registry.JSON:
		x, ok1 := a.(json.RawMessage)
		y, ok2 := b.(json.RawMessage)
		if !ok1 || !ok2 {
			return 0, false
		}
		return cmp3(false, !bytes.Equal(x, y)), true
	}
	return 0, false
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}
