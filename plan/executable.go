package plan

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/featuregraph/featuregraph/serving"
)

// ExecutableSchema is the run-time executable schema of a registry: a gqlgen
// graphql.ExecutableSchema built when the server starts, with no generated code. Schema() is the
// registry's GraphQL schema (schema.SDL parsed by gqlparser, the schema go generate writes to
// schema/schema.graphqls), which gqlgen's handler validates every operation against; Exec runs
// the operation's plan; Complexity measures fields as the gateway's cost limit does. gqlgen's
// handler keeps the transports, parsing, validation, the query cache, APQ, the operation
// extensions and the error presenter.
type ExecutableSchema struct {
	ex *Executor
}

var _ graphql.ExecutableSchema = (*ExecutableSchema)(nil)

// ExecutableSchema returns the executor as a gqlgen executable schema.
func (ex *Executor) ExecutableSchema() *ExecutableSchema { return &ExecutableSchema{ex: ex} }

// Schema implements graphql.ExecutableSchema.
func (s *ExecutableSchema) Schema() *ast.Schema { return s.ex.schema }

// Complexity implements graphql.ExecutableSchema (gqlgen's complexity extension, when used):
// a batch field counts its selection once per id, an action field once per event it can
// return (serving.EffectiveCount).
func (s *ExecutableSchema) Complexity(_ context.Context, typeName, field string, child int, args map[string]any) (int, bool) {
	if typeName == "Query" {
		if ri, ok := s.ex.s.roots[field]; ok && ri.many {
			n := 1
			if ids, ok := args["ids"].([]any); ok {
				n = max(len(ids), 1)
			}
			return 1 + n*child, true
		}
		return 0, false
	}
	for _, ei := range s.ex.s.entities {
		if ei.typeName != typeName {
			continue
		}
		ai, ok := ei.actions[field]
		if !ok {
			return 0, false
		}
		var count *int
		if n, err := serving.UnmarshalInt(args["count"]); err == nil && args["count"] != nil {
			count = &n
		}
		return 1 + serving.EffectiveCount(ai.f, count, s.ex.cfg.MaxCount)*child, true
	}
	return 0, false
}

// Exec implements graphql.ExecutableSchema: the operation's plan, compiled on first use.
func (s *ExecutableSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation != ast.Query {
		return graphql.OneShot(graphql.ErrorResponse(ctx, "unsupported GraphQL operation"))
	}
	buf := getBuffer(ctx)
	resp, out := s.ex.Execute(ctx, buf)
	if resp == nil {
		putBuffer(ctx, out)
		_, err := s.ex.compileFor(oc, AccessFrom(ctx))
		return graphql.OneShot(graphql.ErrorResponse(ctx, "%s", fmt.Sprint(err)))
	}
	keepBuffer(ctx, out)
	keepAnswer(ctx, resp)
	return graphql.OneShot(resp)
}
