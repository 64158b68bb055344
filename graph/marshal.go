package graph

import (
	"context"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// marshalSlice replaces graphql.MarshalSliceConcurrently in generated.go (see
// codegen/fastpath.go). gqlgen marshals every element of a list of objects in its own
// goroutine, so that resolvers of different elements can wait on a dataloader together. When
// the selection holds no such resolver (event lists, entities with only static features
// selected) the elements are marshalled in this goroutine instead: same result, no goroutines.
func marshalSlice(ctx context.Context, typeName string, n int, workerLimit int64, omitPanicHandler bool,
	marshal func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	if n <= 1 || selectsResolverField(ctx, typeName) {
		return graphql.MarshalSliceConcurrently(ctx, n, workerLimit, omitPanicHandler, marshal)
	}
	ret := make(graphql.Array, n)
	for i := range n {
		ret[i] = marshalElement(ctx, i, marshal)
		if ret[i] == nil {
			return nil // a panic, reported as an error on the element
		}
	}
	return ret
}

func marshalElement(ctx context.Context, i int, marshal func(ctx context.Context, i int) graphql.Marshaler) (m graphql.Marshaler) {
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
	defer func() {
		if r := recover(); r != nil {
			graphql.AddError(ctx, graphql.Recover(ctx, r))
			m = nil
		}
	}()
	return marshal(ctx, i)
}

// selectsResolverField reports whether the list field's selection includes a field of
// typeName that has a resolver which may wait on a dataloader, directly or through a join.
func selectsResolverField(ctx context.Context, typeName string) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return true
	}
	return selects(graphql.GetOperationContext(ctx), fc.Field.Selections, typeName, 0)
}

func selects(opCtx *graphql.OperationContext, sel ast.SelectionSet, typeName string, depth int) bool {
	names, joins := resolverFields[typeName], joinFields[typeName]
	if len(names) == 0 && len(joins) == 0 {
		return false
	}
	if depth > 32 { // the query depth limit is far lower; this only bounds the walk
		return true
	}
	for _, f := range graphql.CollectFields(opCtx, sel, []string{typeName}) {
		if slices.Contains(names, f.Name) {
			return true
		}
		if target, ok := joins[f.Name]; ok && selects(opCtx, f.Selections, target, depth+1) {
			return true
		}
	}
	return false
}
