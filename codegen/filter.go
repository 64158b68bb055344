package codegen

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

func filterInputName(f *registry.Feature) string { return f.EventTypeName() + "Filter" }

func scalarFilterName(t registry.Type) string { return string(t) + "Filter" }

// ordered reports whether gt, gte, lt and lte apply to t.
func ordered(t registry.Type) bool {
	return t == registry.Int || t == registry.Float || t == registry.Time
}

// filterOps lists the operators of a scalar filter input: name, GraphQL type, description.
func filterOps(t registry.Type) [][3]string {
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
	if ordered(t) {
		ops = append(ops,
			[3]string{"gt", s, "Greater than."}, [3]string{"gte", s, "Greater than or equal to."},
			[3]string{"lt", s, "Less than."}, [3]string{"lte", s, "Less than or equal to."})
	}
	return append(ops, [3]string{"exists", "Boolean", "true: the event has the field (not null); false: it has not."})
}

// filterTypes lists the scalar types of every action feature's fields, sorted.
func filterTypes(reg *registry.Registry) []registry.Type {
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
			fmt.Fprintf(b, "input %s {\n", filterInputName(f))
			for _, fl := range f.Fields {
				if fl.Join != "" {
					desc(b, "  ", fmt.Sprintf("On the %s id the event holds.", fl.Join))
				}
				fmt.Fprintf(b, "  %s: %s\n", fl.GraphQLName(), scalarFilterName(fl.Type))
			}
			b.WriteString("}\n")
		}
	}
	for _, t := range filterTypes(reg) {
		b.WriteString("\n")
		desc(b, "", fmt.Sprintf("Conditions on one %s field of an event.", t))
		fmt.Fprintf(b, "input %s {\n", scalarFilterName(t))
		for _, op := range filterOps(t) {
			desc(b, "  ", op[2])
			fmt.Fprintf(b, "  %s: %s\n", op[0], op[1])
		}
		b.WriteString("}\n")
	}
}

// filterModels writes the Go structs of the filter inputs.
func filterModels(b *strings.Builder, reg *registry.Registry) {
	for _, e := range reg.Entities {
		for _, f := range e.Actions {
			name := filterInputName(f)
			fmt.Fprintf(b, "\n// %s is the GraphQL input %s.\ntype %s struct {\n", name, name, name)
			for _, fl := range f.Fields {
				fmt.Fprintf(b, "\t%s *%s `json:%q`\n", registry.GoName(fl.Name), scalarFilterName(fl.Type), fl.GraphQLName())
			}
			b.WriteString("}\n")
		}
	}
	for _, t := range filterTypes(reg) {
		name := scalarFilterName(t)
		fmt.Fprintf(b, "\n// %s is the GraphQL input %s.\ntype %s struct {\n", name, name, name)
		for _, op := range filterOps(t) {
			goType := "*" + goScalar(t)
			switch {
			case op[0] == "exists":
				goType = "*bool"
			case strings.HasPrefix(op[1], "["):
				goType = "[]" + goScalar(t)
			}
			fmt.Fprintf(b, "\t%s %s `json:%q`\n", strings.ToUpper(op[0][:1])+op[0][1:], goType, op[0])
		}
		b.WriteString("}\n")
	}
}

// filterGlue writes filterOf<EventType>, which turns the filter input into a store filter.
func filterGlue(b *strings.Builder, f *registry.Feature) {
	name := filterInputName(f)
	fmt.Fprintf(b, "\n// filterOf%s turns the filter argument into a store filter (nil: none).\nfunc filterOf%s(f *model.%s) *store.Filter {\n\tif f == nil {\n\t\treturn nil\n\t}\n\tvar cs []store.Cond\n",
		f.EventTypeName(), f.EventTypeName(), name)
	for _, fl := range f.Fields {
		fn := registry.GoName(fl.Name)
		val := "value" + string(fl.Type)
		if fl.Type == registry.JSON {
			fmt.Fprintf(b, "\tif c := f.%s; c != nil {\n\t\tcs = existsCond(cs, %q, c.Exists)\n\t}\n", fn, fl.Name)
			continue
		}
		ord := "nil, nil, nil, nil"
		if ordered(fl.Type) {
			ord = "c.Gt, c.Gte, c.Lt, c.Lte"
		}
		fmt.Fprintf(b, "\tif c := f.%s; c != nil {\n\t\tcs = conds(cs, %q, %s, c.Eq, c.Ne, c.In, c.NotIn, %s)\n\t\tcs = existsCond(cs, %q, c.Exists)\n\t}\n",
			fn, fl.Name, val, ord, fl.Name)
	}
	b.WriteString("\tif len(cs) == 0 {\n\t\treturn nil\n\t}\n\treturn &store.Filter{Conds: cs}\n}\n")
}
