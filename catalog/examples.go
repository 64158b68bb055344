package catalog

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/featuregraph/featuregraph/registry"
)

// exampleCount is the count the example queries give action features.
const exampleCount = 3

// ExampleID is the id the example queries ask for, as a GraphQL literal: the entity's
// exampleId, by default 1 ("1" for String ids).
func ExampleID(e *registry.Entity) string {
	id := e.ExampleID
	if id == "" {
		id = "1"
	}
	if e.IDType == registry.String {
		b, _ := json.Marshal(id) // a JSON string is a GraphQL string literal
		return string(b)
	}
	return id
}

// RegistryExample is the query the playground starts with: the entity with the most features,
// every static feature that is not deprecated and up to two action features with their joins.
func RegistryExample(reg *registry.Registry) string {
	var best *registry.Entity
	for _, e := range reg.Entities {
		if best == nil || len(e.Static)+len(e.Actions) > len(best.Static)+len(best.Actions) {
			best = e
		}
	}
	if best == nil {
		return "{\n  __typename\n}\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# An example from the feature registry: %s %s.\n", best.Name, ExampleID(best))
	b.WriteString("# Run it with the ▶ button (Ctrl-Enter); the schema is in the docs (the book icon).\n")
	fmt.Fprintf(&b, "{\n  %s(id: %s) {\n", best.QueryField(), ExampleID(best))
	for _, f := range best.Static {
		if f.Deprecated == "" {
			writeSelection(&b, reg, f, "    ")
		}
	}
	n := 0
	for _, f := range best.Actions {
		if f.Deprecated == "" && n < 2 {
			writeSelection(&b, reg, f, "    ")
			n++
		}
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// FeatureExample is a query that reads one feature of one entity.
func FeatureExample(reg *registry.Registry, f *registry.Feature) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n  %s(id: %s) {\n", f.Entity.QueryField(), ExampleID(f.Entity))
	writeSelection(&b, reg, f, "    ")
	b.WriteString("  }\n}\n")
	return b.String()
}

// writeSelection writes the selection of feature f at indent: a scalar, the entries of a map,
// or an action feature's events with every field and joined entity.
func writeSelection(b *strings.Builder, reg *registry.Registry, f *registry.Feature, indent string) {
	name := f.GraphQLName()
	switch {
	case f.FeatureType != registry.Action && f.Container == registry.Map:
		fmt.Fprintf(b, "%s%s { key value }\n", indent, name)
	case f.FeatureType != registry.Action:
		fmt.Fprintf(b, "%s%s\n", indent, name)
	default:
		fmt.Fprintf(b, "%s%s(count: %d) {\n", indent, name, exampleCount)
		fmt.Fprintf(b, "%s  timestamp\n", indent)
		for _, fl := range f.Fields {
			fmt.Fprintf(b, "%s  %s\n", indent, fl.GraphQLName())
			if j := reg.Entity(fl.Join); j != nil {
				fmt.Fprintf(b, "%s  %s { %s }\n", indent, registry.Camel(fl.JoinName()), strings.Join(joinFields(j), " "))
			}
		}
		fmt.Fprintf(b, "%s}\n", indent)
	}
}

// joinFields are the fields asked of a joined entity: its id and up to three scalar static
// features.
func joinFields(e *registry.Entity) []string {
	out := []string{"id"}
	for _, f := range e.Static {
		if len(out) == 4 {
			break
		}
		if f.Deprecated == "" && f.Container != registry.Map {
			out = append(out, f.GraphQLName())
		}
	}
	return out
}
