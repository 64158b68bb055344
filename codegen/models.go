package codegen

import (
	"fmt"
	"go/format"
	"strings"

	"github.com/featuregraph/featuregraph/registry"
)

// Models renders the Go structs that gqlgen binds the schema's object types to. Static features
// are plain fields (filled in one batched read per entity), so gqlgen needs no resolver and no
// goroutine for them; action and on-demand features have no field, so gqlgen asks the
// resolvers for them.
func Models(reg *registry.Registry) ([]byte, error) {
	var b strings.Builder
	b.WriteString(HeaderGo)
	b.WriteString("package model\n\nimport \"time\"\n\nvar _ time.Time\n")
	for _, e := range reg.Entities {
		fmt.Fprintf(&b, "\n// %s is the GraphQL type %s.\ntype %s struct {\n", e.TypeName(), e.TypeName(), e.TypeName())
		fmt.Fprintf(&b, "\tID %s `json:\"id\"`\n", idGoType(e))
		b.WriteString("\t// PointInTime is the asOf the object is answered for (nil: now); not a GraphQL field.\n\tPointInTime *time.Time `json:\"-\"`\n")
		for _, f := range e.Static {
			fmt.Fprintf(&b, "\t%s %s `json:%q`\n", registry.GoName(f.Name), goStatic(f), f.GraphQLName())
		}
		b.WriteString("}\n")
		for _, f := range e.Actions {
			fmt.Fprintf(&b, "\n// %s is one event of %s.%s. The JSON tags match the stored member.\ntype %s struct {\n",
				f.EventTypeName(), e.Name, f.Name, f.EventTypeName())
			b.WriteString("\tTimestamp time.Time `json:\"-\"`\n")
			for _, fl := range f.Fields {
				fmt.Fprintf(&b, "\t%s *%s `json:%q`\n", registry.GoName(fl.Name), goScalar(fl.Type), fl.Name)
				if fl.Join != "" {
					fmt.Fprintf(&b, "\t%s *%s `json:\"-\"`\n", registry.GoName(fl.JoinName()), reg.Entity(fl.Join).TypeName())
				}
			}
			b.WriteString("}\n")
		}
	}
	filterModels(&b, reg)
	for _, t := range mapTypes(reg) {
		fmt.Fprintf(&b, "\n// %s is one entry of a map feature.\ntype %s struct {\n\tKey string `json:\"key\"`\n\tValue %s `json:\"value\"`\n}\n",
			mapEntryType(t), mapEntryType(t), goScalar(t))
	}
	return format.Source([]byte(b.String()))
}
