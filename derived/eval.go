package derived

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/featuregraph/featuregraph/store"
)

// Events are the events of one action feature of one entity, newest first (what the executor
// read for the Program's window).
type Events interface {
	Len() int
	TS(i int) int64                 // Unix ms
	Value(i, field int) store.Value // Absent: the event has no value of the field
}

// Input is what one evaluation reads, in the order of the Program's lists.
type Input struct {
	Now     int64         // Unix ms: the instant the entity is answered for (asOf, else now)
	Statics []store.Value // per Program.Statics; Absent: no value (and no default)
	Actions []Events      // per Program.Actions
	Args    []store.Value // per Program.Args
}

// Eval evaluates the program for one entity. A read of a missing value makes the result Absent
// (null) with no error; any other failure (a division by zero, a non-finite number, the cost
// limit) is an error naming the expression's problem.
func (p *Program) Eval(in *Input) (store.Value, error) {
	act := activation{p: p, in: in}
	out, _, err := p.prg.Eval(&act)
	if err != nil {
		if errors.Is(err, ErrNoValue) {
			return store.Value{}, nil
		}
		return store.Value{}, fmt.Errorf("derived feature: %w", err)
	}
	v, err := toValue(out, p.Type)
	if err != nil {
		if errors.Is(err, ErrNoValue) {
			return store.Value{}, nil
		}
		return store.Value{}, fmt.Errorf("derived feature: %w", err)
	}
	return v, nil
}

type activation struct {
	p  *Program
	in *Input
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) Parent() interpreter.Activation { return nil }

func (a *activation) ResolveName(name string) (any, bool) {
	s, ok := a.p.slots[name]
	if !ok {
		return nil, false
	}
	switch s.kind {
	case sNow:
		return types.Timestamp{Time: time.UnixMilli(a.in.Now).UTC()}, true
	case sStatic:
		return celValue(a.in.Statics[s.i], s.typ), true
	case sArg:
		return celValue(a.in.Args[s.i], s.typ), true
	case sEvents:
		return &eventsVal{ev: a.in.Actions[s.i], now: a.in.Now}, true
	case sColumn:
		return &columnVal{ev: a.in.Actions[s.i], field: s.j, typ: s.typ, now: a.in.Now}, true
	}
	return nil, false
}

// celValue converts a store value of type t to CEL (Absent: noValue).
func celValue(v store.Value, t Type) ref.Val {
	switch v.Kind {
	case store.Absent:
		return noValue
	case store.Int:
		return types.Int(v.Num)
	case store.Float:
		return types.Double(v.Float)
	case store.String:
		return types.String(v.Str)
	case store.Bool:
		return types.Bool(v.Bool())
	case store.Time:
		return types.Timestamp{Time: v.Time()}
	case store.JSON:
		var x any
		if err := json.Unmarshal([]byte(v.Str), &x); err != nil {
			return types.NewErr("bad JSON value: %v", err)
		}
		if t.Scalar == "Time" { // event fields of type Time are JSON text (a quoted RFC 3339 time)
			if s, ok := x.(string); ok {
				if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
					return types.Timestamp{Time: tm.UTC()}
				}
			}
		}
		return types.DefaultTypeAdapter.NativeToValue(x)
	case store.List:
		items := make([]ref.Val, len(v.Items))
		for i, it := range v.Items {
			items[i] = celValue(it, Type{Scalar: t.Scalar})
		}
		return types.NewRefValList(types.DefaultTypeAdapter, items)
	case store.Map:
		m := make(map[ref.Val]ref.Val, len(v.Keys))
		for i, k := range v.Keys {
			m[types.String(k)] = celValue(v.Items[i], Type{Scalar: t.Scalar})
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, m)
	}
	return types.NewErr("unknown value kind %d", v.Kind)
}

var jsonValueType = reflect.TypeOf(&structpb.Value{})

// toValue converts a result to a store value of type t.
func toValue(v ref.Val, t Type) (store.Value, error) {
	if t.Container == "list" || t.Container == "set" {
		l, ok := v.(traits.Lister)
		if !ok {
			return store.Value{}, fmt.Errorf("the result is %s, not a list", v.Type().TypeName())
		}
		n := int(l.Size().(types.Int))
		items := make([]store.Value, n)
		for i := range n {
			x, err := scalarOf(l.Get(types.Int(i)), t.Scalar)
			if err != nil {
				return store.Value{}, fmt.Errorf("item %d: %w", i, err)
			}
			items[i] = x
		}
		if t.Container == "set" {
			items = setOf(items)
		}
		return store.ListValue(items), nil
	}
	if t.Container == "map" {
		m, ok := v.(traits.Mapper)
		if !ok {
			return store.Value{}, fmt.Errorf("the result is %s, not a map", v.Type().TypeName())
		}
		var keys []string
		it := m.Iterator()
		for it.HasNext() == types.True {
			k, ok := it.Next().(types.String)
			if !ok {
				return store.Value{}, errors.New("the result is a map with a key that is not a string")
			}
			keys = append(keys, string(k))
		}
		sort.Strings(keys)
		items := make([]store.Value, len(keys))
		for i, k := range keys {
			x, err := scalarOf(m.Get(types.String(k)), t.Scalar)
			if err != nil {
				return store.Value{}, fmt.Errorf("key %q: %w", k, err)
			}
			items[i] = x
		}
		return store.MapValue(keys, items), nil
	}
	return scalarOf(v, t.Scalar)
}

func scalarOf(v ref.Val, scalar string) (store.Value, error) {
	if err, ok := v.(*types.Err); ok {
		return store.Value{}, err
	}
	switch scalar {
	case "Int":
		if x, ok := v.ConvertToType(types.IntType).(types.Int); ok {
			return store.IntValue(int64(x)), nil
		}
	case "Float":
		if x, ok := v.ConvertToType(types.DoubleType).(types.Double); ok {
			if !finite(float64(x)) {
				return store.Value{}, fmt.Errorf("the result %v is not a finite number", float64(x))
			}
			return store.FloatValue(float64(x)), nil
		}
	case "String":
		if x, ok := v.(types.String); ok {
			return store.StringValue(string(x)), nil
		}
	case "Boolean":
		if x, ok := v.(types.Bool); ok {
			return store.BoolValue(bool(x)), nil
		}
	case "Time":
		if x, ok := v.(types.Timestamp); ok {
			return store.TimeValue(x.Time), nil
		}
	default: // JSON
		if pb, err := v.ConvertToNative(jsonValueType); err == nil {
			b, err := protojson.Marshal(pb.(*structpb.Value))
			if err == nil {
				var c bytes.Buffer
				if err := json.Compact(&c, b); err == nil {
					return store.JSONValue(c.String()), nil
				}
			}
		}
	}
	return store.Value{}, fmt.Errorf("the result %v (%s) is not a %s", v.Value(), v.Type().TypeName(), scalar)
}

func setOf(items []store.Value) []store.Value {
	sort.SliceStable(items, func(i, j int) bool { return less(items[i], items[j]) })
	out := items[:0]
	for i, it := range items {
		if i == 0 || less(out[len(out)-1], it) {
			out = append(out, it)
		}
	}
	return out
}

func less(a, b store.Value) bool {
	switch a.Kind {
	case store.Float:
		return a.Float < b.Float
	case store.String, store.JSON:
		return a.Str < b.Str
	}
	return a.Num < b.Num
}

// eventsVal is an action feature's events as the CEL value count() reads.
type eventsVal struct {
	ev  Events
	now int64
}

func (v *eventsVal) ConvertToNative(reflect.Type) (any, error) {
	return nil, errors.New("events are read with count()")
}
func (v *eventsVal) ConvertToType(ref.Type) ref.Val {
	return types.NewErr("events are read with count()")
}
func (v *eventsVal) Equal(ref.Val) ref.Val { return types.False }
func (v *eventsVal) Type() ref.Type        { return eventsType }
func (v *eventsVal) Value() any            { return v.ev }

// columnVal is one field of an action feature's events, as the aggregates read it.
type columnVal struct {
	ev    Events
	field int
	typ   Type
	now   int64
}

func (v *columnVal) ConvertToNative(reflect.Type) (any, error) {
	return nil, errors.New("event fields are read with sum, min, max, last or distinct")
}
func (v *columnVal) ConvertToType(ref.Type) ref.Val {
	return types.NewErr("event fields are read with sum, min, max, last or distinct")
}
func (v *columnVal) Equal(ref.Val) ref.Val { return types.False }
func (v *columnVal) Type() ref.Type        { return columnType(celType(Type{Scalar: v.typ.Scalar})) }
func (v *columnVal) Value() any            { return v.ev }

// window is how many of the newest events are in the last w seconds.
func window(ev Events, now int64, w ref.Val) int {
	n, _ := w.(types.Int)
	since := now - int64(n)*1000
	k := 0
	for k < ev.Len() && ev.TS(k) >= since {
		k++
	}
	return k
}

// fold calls f with the values of the column in the window, newest first, until it returns false.
func (v *columnVal) each(w ref.Val, f func(store.Value) bool) {
	k := window(v.ev, v.now, w)
	for i := range k {
		x := v.ev.Value(i, v.field)
		if x.Kind == store.Absent {
			continue
		}
		if !f(x) {
			return
		}
	}
}

func functions() []cel.EnvOption {
	col := func(t *cel.Type) []*cel.Type { return []*cel.Type{columnType(t), cel.IntType} }
	colArg := func(a ref.Val) (*columnVal, bool) { c, ok := a.(*columnVal); return c, ok }
	sum := func(a, w ref.Val) ref.Val {
		c, ok := colArg(a)
		if !ok {
			return types.NewErr("sum: not an event field")
		}
		var acc ref.Val
		c.each(w, func(x store.Value) bool {
			cv := celValue(x, c.typ)
			if acc == nil {
				acc = cv
			} else {
				acc = acc.(traits.Adder).Add(cv)
			}
			return !types.IsError(acc)
		})
		if acc == nil {
			if c.typ.Scalar == "Int" {
				return types.Int(0)
			}
			return types.Double(0)
		}
		return acc
	}
	extreme := func(wantLess bool) func(a, w ref.Val) ref.Val {
		return func(a, w ref.Val) ref.Val {
			c, ok := colArg(a)
			if !ok {
				return types.NewErr("min/max: not an event field")
			}
			var best ref.Val
			c.each(w, func(x store.Value) bool {
				cv := celValue(x, c.typ)
				if best == nil {
					best = cv
					return true
				}
				cmp, ok := cv.(traits.Comparer)
				if !ok {
					return true
				}
				if r, ok := cmp.Compare(best).(types.Int); ok && (wantLess && r < 0 || !wantLess && r > 0) {
					best = cv
				}
				return true
			})
			if best == nil {
				return noValue
			}
			return best
		}
	}
	last := func(a, w ref.Val) ref.Val {
		c, ok := colArg(a)
		if !ok {
			return types.NewErr("last: not an event field")
		}
		var out ref.Val = noValue
		c.each(w, func(x store.Value) bool {
			out = celValue(x, c.typ)
			return false
		})
		return out
	}
	distinct := func(a, w ref.Val) ref.Val {
		c, ok := colArg(a)
		if !ok {
			return types.NewErr("distinct: not an event field")
		}
		var out []ref.Val
		seen := map[any]bool{}
		c.each(w, func(x store.Value) bool {
			cv := celValue(x, c.typ)
			key := cv.Value()
			if _, hashable := key.(map[string]any); hashable {
				key = fmt.Sprint(key)
			}
			if _, list := key.([]any); list {
				key = fmt.Sprint(key)
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, cv)
			}
			return true
		})
		return types.NewRefValList(types.DefaultTypeAdapter, out)
	}
	count := func(a, w ref.Val) ref.Val {
		e, ok := a.(*eventsVal)
		if !ok {
			return types.NewErr("count: not an action feature")
		}
		return types.Int(window(e.ev, e.now, w))
	}
	ordered := []*cel.Type{cel.IntType, cel.DoubleType, cel.StringType, cel.TimestampType}
	var minO, maxO []cel.FunctionOpt
	for _, t := range ordered {
		minO = append(minO, cel.Overload("min_column_"+t.String(), col(t), t, cel.BinaryBinding(extreme(true))))
		maxO = append(maxO, cel.Overload("max_column_"+t.String(), col(t), t, cel.BinaryBinding(extreme(false))))
	}
	return []cel.EnvOption{
		cel.Function("count", cel.Overload("count_events", []*cel.Type{eventsType, cel.IntType}, cel.IntType, cel.BinaryBinding(count))),
		cel.Function("sum",
			cel.Overload("sum_column_int", col(cel.IntType), cel.IntType, cel.BinaryBinding(sum)),
			cel.Overload("sum_column_double", col(cel.DoubleType), cel.DoubleType, cel.BinaryBinding(sum))),
		cel.Function("min", minO...),
		cel.Function("max", maxO...),
		cel.Function("last", cel.Overload("last_column", col(tParam), tParam, cel.BinaryBinding(last))),
		cel.Function("distinct", cel.Overload("distinct_column", col(tParam), cel.ListType(tParam), cel.BinaryBinding(distinct))),
	}
}
