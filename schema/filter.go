package schema

import (
	"fmt"
	"sort"
	"strings"

	"github.com/featuregraph/featuregraph/registry"
)

// The query filter inputs: one per event type (a field per event field, all conditions ANDed)
// and one per scalar type used by event fields (the operators that type supports).

// asOfArg writes the asOf argument of an entity root.
func asOfArg(b *strings.Builder) {
	desc(b, "    ", "Answer as of this instant (point in time): action features hold the events up to asOf, static features that keep history their value of then; other static features are an error. Joins inherit it.")
	b.WriteString("    asOf: Time\n")
}

// FilterInputName is the GraphQL input type of an action feature's filter argument.
func FilterInputName(f *registry.Feature) string { return f.EventTypeName() + "Filter" }

// ScalarFilterName is the GraphQL input type of the conditions on one field of type t.
func ScalarFilterName(t registry.Type) string { return string(t) + "Filter" }

// Ordered reports whether gt, gte, lt and lte apply to t.
func Ordered(t registry.Type) bool {
	return t == registry.Int || t == registry.Float || t == registry.Time
}

// FilterOps lists the operators of a scalar filter input: name, GraphQL type, description.
func FilterOps(t registry.Type) [][3]string {
	s := string(t)
	if t == registry.JSON {
		return [][3]string{{"exists", "Boolean", "true: the event has the field (not null); false: it has not."}}
	}
	ops := [][3]string{
		{"eq", s, "Equal to."},
		{"ne", s, "Not equal to (an event without the field matches)."},
		{"in", "[" + s + "!]", "Equal to one of."},
		{"notIn", "[" + s + "!]", "Equal to none of (an event without the field matches)."},
	}
	if Ordered(t) {
		ops = append(ops,
			[3]string{"gt", s, "Greater than."}, [3]string{"gte", s, "Greater than or equal to."},
			[3]string{"lt", s, "Less than."}, [3]string{"lte", s, "Less than or equal to."})
	}
	return append(ops, [3]string{"exists", "Boolean", "true: the event has the field (not null); false: it has not."})
}

// FilterTypes lists the scalar types of every action feature's fields, sorted.
func FilterTypes(reg *registry.Registry) []registry.Type {
	seen := map[registry.Type]bool{}
	for _, e := range reg.Entities {
		for _, f := range e.Actions {
			for _, fl := range f.Fields {
				seen[fl.Type] = true
			}
		}
	}
	var out []registry.Type
	for t := range seen {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func writeFilterInputs(b *strings.Builder, reg *registry.Registry) {
	for _, e := range reg.Entities {
		for _, f := range e.Actions {
			b.WriteString("\n")
			desc(b, "", fmt.Sprintf("Conditions on the events of %s.%s; every condition given must hold.", e.Name, f.Name))
			fmt.Fprintf(b, "input %s {\n", FilterInputName(f))
			for _, fl := range f.Fields {
				if fl.Join != "" {
					desc(b, "  ", fmt.Sprintf("On the %s id the event holds.", fl.Join))
				}
				fmt.Fprintf(b, "  %s: %s\n", fl.GraphQLName(), ScalarFilterName(fl.Type))
			}
			b.WriteString("}\n")
		}
	}
	for _, t := range FilterTypes(reg) {
		b.WriteString("\n")
		desc(b, "", fmt.Sprintf("Conditions on one %s field of an event.", t))
		fmt.Fprintf(b, "input %s {\n", ScalarFilterName(t))
		for _, op := range FilterOps(t) {
			desc(b, "  ", op[2])
			fmt.Fprintf(b, "  %s: %s\n", op[0], op[1])
		}
		b.WriteString("}\n")
	}
}
