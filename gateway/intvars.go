package gateway

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
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
// (the same byte-bounded cache, keyed by the query text): nothing is parsed here. The first
// request of a query text, not yet in the cache, is validated as it comes (slower, the same
// answer).
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
		if op := doc.Operations.ForName(p.OperationName); op != nil {
			convertIntVariables(op, p.Variables)
		}
	}
	return nil
}

// convertIntVariables converts, in place, the integer json.Numbers of vars that op declares as
// Int (under any lists). A number that is not an integer literal within int64 (1.5, 1e3, 2^70)
// is left as it is, for the validator to judge as before.
func convertIntVariables(op *ast.OperationDefinition, vars map[string]any) {
	for _, d := range op.VariableDefinitions {
		t := d.Type
		for t != nil && t.Elem != nil {
			t = t.Elem
		}
		if t == nil || t.NamedType != "Int" {
			continue
		}
		if x, ok := vars[d.Variable]; ok {
			vars[d.Variable] = intVar(x)
		}
	}
}

func intVar(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n
		}
	case []any:
		for i, e := range x {
			x[i] = intVar(e)
		}
	}
	return v
}
