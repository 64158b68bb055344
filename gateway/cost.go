package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/serving"
)

// queryCost rejects an operation before it runs when it nests deeper than maxDepth or would
// return more than maxCost values. The cost counts every field once per object it is answered
// for: a batch field multiplies its selection by its number of ids, an action field by the
// count it is answered with (serving.EffectiveCount: the count argument, or the feature's
// defaultCount, clamped to its maxCount and --max-count), so a large count is capped, never
// rejected for more values than it can return. Fragments are measured once each and
// reused, so a query of chained fragment spreads costs its size to check, not the size of its
// expansion (gqlgen's own complexity walk re-expands every spread).
//
// Introspection (__schema, __type) is measured apart: its answer is the schema, not data, and
// GraphiQL's own introspection query is 15 levels deep (ofType chains). What could make it
// large is nesting the introspection lists that lead back to types (fields, inputFields,
// interfaces, possibleTypes): gqlparser's validation (MaxIntrospectionDepth, as graphql-js)
// rejects three of them nested. An ofType chain grows the answer only as much as the query
// (bounded by the token limit).
type queryCost struct {
	maxDepth int
	maxCost  float64
	maxCount int // the server's --max-count
	// maxList bounds every list in an argument (a filter's `in` list, ...), variables included;
	// ids lists are bounded by --max-ids instead.
	maxList int
	// actions maps "Type.field" of every action field to its feature.
	actions map[string]*registry.Feature
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*queryCost)(nil)

func newQueryCost(reg *registry.Registry, maxDepth, maxCost, maxCount, maxList int) *queryCost {
	q := &queryCost{maxDepth: maxDepth, maxCost: float64(maxCost), maxCount: maxCount, maxList: maxList, actions: map[string]*registry.Feature{}}
	for _, e := range reg.Entities {
		for _, f := range e.Actions {
			q.actions[e.TypeName()+"."+f.GraphQLName()] = f
		}
	}
	return q
}

func (q *queryCost) ExtensionName() string                   { return "QueryCost" }
func (q *queryCost) Validate(graphql.ExecutableSchema) error { return nil }

func (q *queryCost) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil {
		return nil
	}
	w := &costWalk{q: q, frags: rc.Doc.Fragments, vars: rc.Variables, memo: map[string]measure{}}
	m := w.set(rc.Operation.SelectionSet, 0)
	switch {
	case w.tooLong != "":
		return &gqlerror.Error{Message: w.tooLong, Extensions: map[string]any{"code": codeInputLimit}}
	case m.depth > q.maxDepth:
		return &gqlerror.Error{
			Message:    fmt.Sprintf("query is %d levels deep, at most %d allowed", m.depth, q.maxDepth),
			Extensions: map[string]any{"code": codeDepthLimit},
		}
	case m.cost > q.maxCost:
		return &gqlerror.Error{
			Message: fmt.Sprintf("query would return about %.0f values, at most %.0f allowed (lower ids or count, or split the query)",
				m.cost, q.maxCost),
			Extensions: map[string]any{"code": codeCostLimit},
		}
	}
	if req := requestFrom(ctx); req != nil && !req.admitCost(ctx, m.cost) {
		return overloadError("too many values being built")
	}
	return nil
}

type measure struct {
	depth int
	cost  float64
}

type costWalk struct {
	q     *queryCost
	frags ast.FragmentDefinitionList
	vars  map[string]any
	memo  map[string]measure // by fragment name
	stack map[string]bool    // fragments being measured (cycles are rejected by validation)
	// tooLong says which argument holds a list longer than maxList ("": none).
	tooLong string
}

func (w *costWalk) set(set ast.SelectionSet, depth int) measure {
	var m measure
	for _, s := range set {
		var sm measure
		switch s := s.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				continue // introspection: not data (see queryCost)
			}
			sub := w.set(s.SelectionSet, 0)
			sm = measure{depth: 1 + sub.depth, cost: 1 + w.inputs(s) + w.multiplier(s)*sub.cost}
		case *ast.InlineFragment:
			sm = w.set(s.SelectionSet, 0)
		case *ast.FragmentSpread:
			sm = w.fragment(s.Name)
		}
		m.depth = max(m.depth, sm.depth)
		m.cost = math.Min(m.cost+sm.cost, math.MaxFloat64/2)
	}
	return m
}

func (w *costWalk) fragment(name string) measure {
	if m, ok := w.memo[name]; ok {
		return m
	}
	if w.stack == nil {
		w.stack = map[string]bool{}
	}
	f := w.frags.ForName(name)
	if f == nil || w.stack[name] {
		return measure{}
	}
	w.stack[name] = true
	m := w.set(f.SelectionSet, 0)
	delete(w.stack, name)
	w.memo[name] = m
	return m
}

// inputs is what a field's arguments cost to read and apply, variables included: one per list
// element and input-object field, at any depth (a filter's `in` list of 50,000 strings costs
// 50,000; before, variables were not counted at all). A list longer than maxList is recorded in
// tooLong and rejects the operation. ids are not counted here: the multiplier counts them, and
// --max-ids bounds them.
func (w *costWalk) inputs(f *ast.Field) float64 {
	n := 0.0
	for _, a := range f.Arguments {
		if a.Name == "ids" {
			continue // the multiplier counts them, and --max-ids bounds them
		}
		v, err := a.Value.Value(w.vars)
		if err != nil {
			continue // invalid: validation or coercion rejects it
		}
		n += w.inputValue(v, f.Alias+"("+a.Name)
	}
	return n
}

func (w *costWalk) inputValue(v any, path string) float64 {
	switch x := v.(type) {
	case []any:
		if w.q.maxList > 0 && len(x) > w.q.maxList && w.tooLong == "" {
			w.tooLong = fmt.Sprintf("argument %s) holds a list of %d values, at most %d allowed (--max-input-list)", path, len(x), w.q.maxList)
		}
		n := float64(len(x))
		for _, it := range x {
			n += w.inputValue(it, path)
		}
		return n
	case map[string]any:
		n := float64(len(x))
		for k, it := range x {
			n += w.inputValue(it, path+"."+k)
		}
		return n
	}
	return 0
}

// multiplier is how many objects a field's selection is answered for.
func (w *costWalk) multiplier(f *ast.Field) float64 {
	if len(f.SelectionSet) == 0 {
		return 1
	}
	if a := f.Arguments.ForName("ids"); a != nil {
		if v, err := a.Value.Value(w.vars); err == nil {
			if ids, ok := v.([]any); ok {
				return float64(max(len(ids), 1))
			}
		}
		return 1
	}
	if f.ObjectDefinition != nil {
		if feat, ok := w.q.actions[f.ObjectDefinition.Name+"."+f.Name]; ok {
			var count *int
			if a := f.Arguments.ForName("count"); a != nil {
				if v, err := a.Value.Value(w.vars); err == nil {
					if c, ok := intValue(v); ok {
						count = &c
					}
				}
			}
			return float64(serving.EffectiveCount(feat, count, w.q.maxCount))
		}
	}
	return 1
}

// intValue reads an Int argument as the parser or the variables give it; a value beyond int
// (rejected later by coercion) counts as the largest.
func intValue(v any) (int, bool) {
	switch x := v.(type) {
	case int64:
		return int(min(x, math.MaxInt32)), true
	case int:
		return x, true
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return int(min(n, math.MaxInt32)), true
		}
		return math.MaxInt32, true
	case float64:
		return int(min(x, math.MaxInt32)), true
	}
	return 0, false
}
