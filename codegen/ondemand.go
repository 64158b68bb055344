package codegen

import (
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/codegen/templates"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
)

// onDemandGlue writes the reference executor's resolvers of an entity's on-demand features.
// They have no model field (nothing stores them), so gqlgen asks a resolver; gqlgen's executor
// is the test reference of the compiled plans, which alone fetch and derive on-demand values:
// these resolvers answer an error saying so (docs/on-demand.md, "The reference executor").
func onDemandGlue(b *strings.Builder, e *registry.Entity) {
	for _, f := range append(append([]*registry.Feature{}, e.Services...), e.Derived...) {
		params := ""
		for _, a := range f.Arguments {
			params += fmt.Sprintf(", %s *%s", schema.ArgumentName(a), goScalar(a.Type))
		}
		fmt.Fprintf(b, "\nfunc (r *%sResolver) %s(ctx context.Context, obj *model.%s%s) (%s, error) {\n\treturn nil, onDemandOnly(%q, %q)\n}\n",
			e.QueryField(), templates.ToGo(f.GraphQLName()), e.TypeName(), params, glueType(f), e.Name, f.Name)
	}
}

// glueType is the Go type gqlgen gives a feature's value in package resolvers.
func glueType(f *registry.Feature) string {
	switch f.Container {
	case registry.List, registry.Set:
		return "[]" + glueScalar(f.Type)
	case registry.Map:
		return "[]*model." + mapEntryType(f.Type)
	}
	if f.Type == registry.JSON {
		return "model.JSON" // a slice type: gqlgen answers null for nil, with no pointer
	}
	return "*" + glueScalar(f.Type)
}

func glueScalar(t registry.Type) string {
	if t == registry.JSON {
		return "model.JSON"
	}
	return goScalar(t)
}
