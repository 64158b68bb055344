package codegen

import (
	"fmt"
	"strings"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
)

// The Go side of the query filter inputs (their SDL is rendered by package schema).

var (
	filterInputName  = schema.FilterInputName
	scalarFilterName = schema.ScalarFilterName
	ordered          = schema.Ordered
	filterOps        = schema.FilterOps
	filterTypes      = schema.FilterTypes
)

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
