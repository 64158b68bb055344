package schema

import (
	"fmt"
	"strings"

	"github.com/featuregraph/featuregraph/registry"
)

// derivedField writes a derived feature's field: its arguments (each with its default), typed
// like a static feature.
func derivedField(b *strings.Builder, f *registry.Feature) {
	if len(f.Arguments) == 0 {
		fmt.Fprintf(b, "  %s: %s%s\n", f.GraphQLName(), StaticGQLType(f), deprecated(f))
		return
	}
	fmt.Fprintf(b, "  %s(\n", f.GraphQLName())
	for _, a := range f.Arguments {
		fmt.Fprintf(b, "    %s: %s = %s\n", ArgumentName(a), a.Type, gqlLiteral(a.DefaultValue))
	}
	fmt.Fprintf(b, "  ): %s%s\n", StaticGQLType(f), deprecated(f))
}

// ArgumentName is the GraphQL name of a derived feature's argument.
func ArgumentName(a *registry.Argument) string { return registry.Camel(a.Name) }

// gqlLiteral writes a scalar default value as a GraphQL literal.
func gqlLiteral(v any) string {
	switch x := v.(type) {
	case string:
		return gqlString(x)
	case interface{ Format(string) string }: // time.Time
		return gqlString(x.Format("2006-01-02T15:04:05.999999999Z07:00"))
	}
	return defaultText(v)
}

// onDemandDescription says where an on-demand feature's value comes from.
func onDemandDescription(f *registry.Feature) []string {
	switch f.FeatureType {
	case registry.ServiceFeature:
		return []string{fmt.Sprintf("On demand: fetched from service %s at request time (an error on this field alone when the service fails).", f.Source.Name)}
	case registry.DerivedFeature:
		return []string{"On demand: derived at request time by `" + strings.TrimSpace(f.Expr) + "`."}
	}
	return nil
}
