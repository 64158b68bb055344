package plan

import (
	"reflect"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/featuregraph/featuregraph/registry"
	gqlschema "github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/serving"
	"github.com/featuregraph/featuregraph/store"
)

// Argument coercion, as gqlgen's generated argument unmarshalers do it: arguments in the order
// the schema declares them, input fields in declaration order, list items in order; the first
// value that does not coerce is the field's error, at the field's path followed by the path to
// the value (["user", "recentSearches", "count"], [..., "filter", "articleId", "in", 2]), with no
// location. Its message is the scalar's (serving.UnmarshalInt, serving.UnmarshalTime).

// argError is a value that does not coerce: where it is under the field, and why.
type argError struct {
	path ast.Path
	err  error
}

// value evaluates an argument (nil when absent or null).
func value(a *ast.Value, vars map[string]any) any {
	if a == nil {
		return nil
	}
	v, err := a.Value(vars)
	if err != nil {
		return nil // an undefined variable: validation reports it, else it is absent
	}
	return v
}

// list coerces v to a list as GraphQL input coercion does: a single value is a list of one.
// Variables coerced by the validator may hold typed slices ([]string).
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out
	}
	return []any{v}
}

// argAt is the path of argument name (the paths are built only for errors: they are per id).
func argAt(name string) ast.Path { return ast.Path{ast.PathName(name)} }

func coerceInt(v any, name string) (*int, *argError) {
	if v == nil {
		return nil, nil
	}
	n, err := serving.UnmarshalInt(v)
	if err != nil {
		return nil, &argError{argAt(name), err}
	}
	return &n, nil
}

func coerceTime(v any, name string) (*time.Time, *argError) {
	if v == nil {
		return nil, nil
	}
	t, err := serving.UnmarshalTime(v)
	if err != nil {
		return nil, &argError{argAt(name), err}
	}
	return &t, nil
}

// coerceID is the canonical id of an id argument, as the gqlgen glue builds it; index is the
// id's position in an ids list (-1: the id argument).
func coerceID(ent *entityInfo, v any, index int) (string, *argError) {
	var err error
	if ent.intID {
		var n int
		if n, err = serving.UnmarshalInt(v); err == nil {
			return itoa(n), nil
		}
	} else {
		var s string
		if s, err = graphql.UnmarshalString(v); err == nil {
			return s, nil
		}
	}
	if index < 0 {
		return "", &argError{argAt("id"), err}
	}
	return "", &argError{ast.Path{ast.PathName("ids"), ast.PathIndex(index)}, err}
}

// scalarValue coerces one filter operand of type t into the value events store.
func scalarValue(t registry.Type, v any, path ast.Path) (store.Value, *argError) {
	var err error
	switch t {
	case registry.Int:
		var n int
		if n, err = serving.UnmarshalInt(v); err == nil {
			return store.IntValue(int64(n)), nil
		}
	case registry.Float:
		var x float64
		if x, err = graphql.UnmarshalFloat(v); err == nil {
			return store.FloatValue(x), nil
		}
	case registry.String:
		var s string
		if s, err = graphql.UnmarshalString(v); err == nil {
			return store.StringValue(s), nil
		}
	case registry.Boolean:
		var b bool
		if b, err = graphql.UnmarshalBoolean(v); err == nil {
			return store.BoolValue(b), nil
		}
	case registry.Time:
		var tm time.Time
		if tm, err = serving.UnmarshalTime(v); err == nil {
			return store.TimeValue(tm), nil
		}
	}
	return store.Value{}, &argError{path, err}
}

// filterOps maps a scalar filter input's operators to store operators, in declaration order.
var filterOps = map[string]store.FilterOp{
	"eq": store.OpEq, "ne": store.OpNe, "in": store.OpIn, "notIn": store.OpNotIn,
	"gt": store.OpGt, "gte": store.OpGte, "lt": store.OpLt, "lte": store.OpLte, "exists": store.OpExists,
}

// coerceFilter turns an action field's filter argument into a store filter (nil: none), as the
// generated filterOf<Event> does: conditions in the order of the event's fields and of each
// type's operators; null or absent means "not given"; an empty `in` matches nothing and an
// empty `notIn` everything.
func coerceFilter(ai *actionInfo, v any) (*store.Filter, *argError) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil
	}
	path := argAt("filter")
	var cs []store.Cond
	for _, fl := range ai.f.Fields {
		name := fl.GraphQLName()
		fv, ok := m[name].(map[string]any)
		if !ok {
			continue
		}
		fpath := append(path[:len(path):len(path)], ast.PathName(name))
		var exists *store.Cond
		for _, op := range gqlschema.FilterOps(fl.Type) {
			ov, given := fv[op[0]]
			if !given || ov == nil {
				continue
			}
			opath := append(fpath[:len(fpath):len(fpath)], ast.PathName(op[0]))
			c := store.Cond{Field: fl.Name, Op: filterOps[op[0]]}
			switch c.Op {
			case store.OpExists:
				b, err := graphql.UnmarshalBoolean(ov)
				if err != nil {
					return nil, &argError{opath, err}
				}
				c.Values = []store.Value{store.BoolValue(b)}
				exists = &c
				continue
			case store.OpIn, store.OpNotIn:
				items := list(ov)
				c.Values = make([]store.Value, len(items))
				for i, it := range items {
					x, aerr := scalarValue(fl.Type, it, append(opath[:len(opath):len(opath)], ast.PathIndex(i)))
					if aerr != nil {
						return nil, aerr
					}
					c.Values[i] = x
				}
			default:
				x, aerr := scalarValue(fl.Type, ov, opath)
				if aerr != nil {
					return nil, aerr
				}
				c.Values = []store.Value{x}
			}
			cs = append(cs, c)
		}
		if exists != nil {
			cs = append(cs, *exists)
		}
	}
	if len(cs) == 0 {
		return nil, nil
	}
	return &store.Filter{Conds: cs}, nil
}
