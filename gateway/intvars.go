package gateway

import (
	"context"
	"encoding/json"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The request body is decoded with UseNumber, so every JSON number of the variables is a
// json.Number, a string kind to gqlparser's variable validation: for an Int it checks one with
// strconv.ParseInt(fmt.Sprintf("%v", v)), an allocation and a formatting per value: 20% of
// the gateway's CPU for a candidate list of 200 ids (bench S2). intVariables turns the integer
// json.Numbers of the variables the operation declares as Int (at any list depth) into int64
// first, which the validator takes as they are and every Int coercion after it reads alike
// (graphql.UnmarshalInt64). Variables of other types keep their json.Number: a String
// variable given a number is validated exactly as before.
//
// The operation's variable definitions come from the parsed-query cache the executor fills
// (the same byte-bounded cache, keyed by the query text): nothing is parsed here. A query text
// not in the cache yet is parsed by shapeLimits (it checks the shape of every new text), which
// then converts the variables the same way.
//
// A number given for an Int that is not an integer (1.5, 2^70) gets an error saying so here:
// gqlparser's would say "cannot use string as Int" (the json.Number's kind) or "cannot use value
// 0 as Int". 1e3 is the integer 1000.
type intVariables struct {
	cache graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = intVariables{}

func (intVariables) ExtensionName() string                   { return "IntVariables" }
func (intVariables) Validate(graphql.ExecutableSchema) error { return nil }

func (v intVariables) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if len(p.Variables) == 0 || p.Query == "" {
		return nil
	}
	if doc, ok := v.cache.Get(ctx, p.Query); ok {
		return intVariablesOf(doc, p)
	}
	return nil // not parsed yet: shapeLimits parses it, and converts them (intVariablesOf)
}

// intVariablesOf converts the Int variables of p's operation in doc.
func intVariablesOf(doc *ast.QueryDocument, p *graphql.RawParams) *gqlerror.Error {
	if op := doc.Operations.ForName(p.OperationName); op != nil && len(p.Variables) > 0 {
		return convertIntVariables(op, p.Variables)
	}
	return nil
}

// convertIntVariables converts, in place, the integer json.Numbers of vars that op declares as
// Int (under any lists), and returns an error naming the variable for a number that is not an
// integer within 64 bits.
func convertIntVariables(op *ast.OperationDefinition, vars map[string]any) *gqlerror.Error {
	for _, d := range op.VariableDefinitions {
		t := d.Type
		for t != nil && t.Elem != nil {
			t = t.Elem
		}
		if t == nil || t.NamedType != "Int" {
			continue
		}
		if x, ok := vars[d.Variable]; ok {
			path := ast.Path{ast.PathName("variable"), ast.PathName(d.Variable)}
			conv, err := intVar(x, path)
			if err != nil {
				return err
			}
			vars[d.Variable] = conv
		}
	}
	return nil
}

func intVar(v any, path ast.Path) (any, *gqlerror.Error) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		switch {
		case err == nil && f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64:
			return int64(f), nil // 1e3, 2.0
		case err == nil && f != math.Trunc(f):
			return nil, intError(path, x, "not an integer")
		default:
			return nil, intError(path, x, "out of range (an Int is a 64-bit integer)")
		}
	case []any:
		for i, e := range x {
			conv, err := intVar(e, append(path[:len(path):len(path)], ast.PathIndex(i)))
			if err != nil {
				return nil, err
			}
			x[i] = conv
		}
	}
	return v, nil
}

func intError(path ast.Path, n json.Number, why string) *gqlerror.Error {
	err := gqlerror.ErrorPathf(path, "cannot use %s as Int: %s", n, why)
	errcode.Set(err, errcode.ValidationFailed)
	return err
}
