package resolvers

import (
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// conds appends the conditions of one field's filter input (the generated filterOf<Event>
// passes each operator; nil and empty mean "not given", except that an empty `in` matches
// nothing and an empty `notIn` everything, as the words say).
func conds[T any](cs []store.Cond, field string, val func(T) store.Value, eq, ne *T, in, notIn []T, gt, gte, lt, lte *T) []store.Cond {
	one := func(op store.FilterOp, v *T) {
		if v != nil {
			cs = append(cs, store.Cond{Field: field, Op: op, Values: []store.Value{val(*v)}})
		}
	}
	many := func(op store.FilterOp, vs []T) {
		if vs == nil {
			return
		}
		c := store.Cond{Field: field, Op: op, Values: make([]store.Value, len(vs))}
		for i, v := range vs {
			c.Values[i] = val(v)
		}
		cs = append(cs, c)
	}
	one(store.OpEq, eq)
	one(store.OpNe, ne)
	many(store.OpIn, in)
	many(store.OpNotIn, notIn)
	one(store.OpGt, gt)
	one(store.OpGte, gte)
	one(store.OpLt, lt)
	one(store.OpLte, lte)
	return cs
}

// existsCond appends the exists condition when given.
func existsCond(cs []store.Cond, field string, exists *bool) []store.Cond {
	if exists == nil {
		return cs
	}
	return append(cs, store.Cond{Field: field, Op: store.OpExists, Values: []store.Value{store.BoolValue(*exists)}})
}

// The filter values of each scalar type, as events store them.
func valueInt(v int) store.Value        { return store.IntValue(int64(v)) }
func valueFloat(v float64) store.Value  { return store.FloatValue(v) }
func valueString(v string) store.Value  { return store.StringValue(v) }
func valueBoolean(v bool) store.Value   { return store.BoolValue(v) }
func valueTime(v time.Time) store.Value { return store.TimeValue(v) }

var (
	_ = valueInt
	_ = valueFloat
	_ = valueString
	_ = valueBoolean
	_ = valueTime
	_ = conds[int]
	_ = existsCond
)
