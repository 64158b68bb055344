package plan

import (
	"bytes"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2/ast"
)

// Introspection (__schema, __type) is answered from the run-time schema (*ast.Schema, parsed
// from schema.SDL of the registry) through gqlgen's own introspection types, field by field as
// gqlgen's generated executor marshals them: the same values, the same order (the selection's,
// collected with graphql.CollectFields), so GraphiQL and other clients see what they would see
// on gqlgen's executor. It is rare and small, so it is interpreted, not compiled.

type introspector struct {
	oc  *graphql.OperationContext
	buf bytes.Buffer
}

func (in *introspector) str(s string) { graphql.MarshalString(s).MarshalGQL(&in.buf) }

func (in *introspector) optStr(s *string) {
	if s == nil {
		in.buf.WriteString("null")
		return
	}
	in.str(*s)
}

func (in *introspector) boolean(b bool) { graphql.MarshalBoolean(b).MarshalGQL(&in.buf) }

// object writes the fields of sel on an object of type typeName, each with field.
func (in *introspector) object(sel ast.SelectionSet, typeName string, field func(cf graphql.CollectedField)) {
	in.buf.WriteByte('{')
	for i, cf := range graphql.CollectFields(in.oc, sel, []string{typeName}) {
		if i > 0 {
			in.buf.WriteByte(',')
		}
		in.str(cf.Alias)
		in.buf.WriteByte(':')
		if cf.Name == "__typename" {
			in.str(typeName)
			continue
		}
		field(cf)
	}
	in.buf.WriteByte('}')
}

func listOf[T any](in *introspector, items []T, write func(*T)) {
	if items == nil {
		in.buf.WriteString("null")
		return
	}
	in.buf.WriteByte('[')
	for i := range items {
		if i > 0 {
			in.buf.WriteByte(',')
		}
		write(&items[i])
	}
	in.buf.WriteByte(']')
}

func (in *introspector) includeDeprecated(cf graphql.CollectedField) bool {
	b, _ := cf.ArgumentMap(in.oc.Variables)["includeDeprecated"].(bool)
	return b
}

func (in *introspector) schema(sel ast.SelectionSet, s *introspection.Schema) {
	in.object(sel, "__Schema", func(cf graphql.CollectedField) {
		switch cf.Name {
		case "description":
			in.optStr(s.Description())
		case "types":
			listOf(in, s.Types(), func(t *introspection.Type) { in.typ(cf.Selections, t) })
		case "queryType":
			in.typ(cf.Selections, s.QueryType())
		case "mutationType":
			in.typ(cf.Selections, s.MutationType())
		case "subscriptionType":
			in.typ(cf.Selections, s.SubscriptionType())
		case "directives":
			listOf(in, s.Directives(), func(d *introspection.Directive) { in.directive(cf.Selections, d) })
		default:
			in.buf.WriteString("null")
		}
	})
}

func (in *introspector) typ(sel ast.SelectionSet, t *introspection.Type) {
	if t == nil {
		in.buf.WriteString("null")
		return
	}
	in.object(sel, "__Type", func(cf graphql.CollectedField) {
		switch cf.Name {
		case "kind":
			in.str(t.Kind())
		case "name":
			in.optStr(t.Name())
		case "description":
			in.optStr(t.Description())
		case "specifiedByURL":
			in.optStr(t.SpecifiedByURL())
		case "fields":
			listOf(in, t.Fields(in.includeDeprecated(cf)), func(f *introspection.Field) { in.field(cf.Selections, f) })
		case "interfaces":
			listOf(in, t.Interfaces(), func(x *introspection.Type) { in.typ(cf.Selections, x) })
		case "possibleTypes":
			listOf(in, t.PossibleTypes(), func(x *introspection.Type) { in.typ(cf.Selections, x) })
		case "enumValues":
			listOf(in, t.EnumValues(in.includeDeprecated(cf)), func(e *introspection.EnumValue) { in.enumValue(cf.Selections, e) })
		case "inputFields":
			listOf(in, t.InputFields(), func(v *introspection.InputValue) { in.inputValue(cf.Selections, v) })
		case "ofType":
			in.typ(cf.Selections, t.OfType())
		case "isOneOf":
			in.boolean(t.IsOneOf())
		default:
			in.buf.WriteString("null")
		}
	})
}

func (in *introspector) field(sel ast.SelectionSet, f *introspection.Field) {
	in.object(sel, "__Field", func(cf graphql.CollectedField) {
		switch cf.Name {
		case "name":
			in.str(f.Name)
		case "description":
			in.optStr(f.Description())
		case "args":
			listOf(in, f.Args, func(v *introspection.InputValue) { in.inputValue(cf.Selections, v) })
		case "type":
			in.typ(cf.Selections, f.Type)
		case "isDeprecated":
			in.boolean(f.IsDeprecated())
		case "deprecationReason":
			in.optStr(f.DeprecationReason())
		default:
			in.buf.WriteString("null")
		}
	})
}

func (in *introspector) inputValue(sel ast.SelectionSet, v *introspection.InputValue) {
	in.object(sel, "__InputValue", func(cf graphql.CollectedField) {
		switch cf.Name {
		case "name":
			in.str(v.Name)
		case "description":
			in.optStr(v.Description())
		case "type":
			in.typ(cf.Selections, v.Type)
		case "defaultValue":
			in.optStr(v.DefaultValue)
		case "isDeprecated":
			in.boolean(v.IsDeprecated())
		case "deprecationReason":
			in.optStr(v.DeprecationReason())
		default:
			in.buf.WriteString("null")
		}
	})
}

func (in *introspector) enumValue(sel ast.SelectionSet, e *introspection.EnumValue) {
	in.object(sel, "__EnumValue", func(cf graphql.CollectedField) {
		switch cf.Name {
		case "name":
			in.str(e.Name)
		case "description":
			in.optStr(e.Description())
		case "isDeprecated":
			in.boolean(e.IsDeprecated())
		case "deprecationReason":
			in.optStr(e.DeprecationReason())
		default:
			in.buf.WriteString("null")
		}
	})
}

func (in *introspector) directive(sel ast.SelectionSet, d *introspection.Directive) {
	in.object(sel, "__Directive", func(cf graphql.CollectedField) {
		switch cf.Name {
		case "name":
			in.str(d.Name)
		case "description":
			in.optStr(d.Description())
		case "locations":
			listOf(in, d.Locations, func(l *string) { in.str(*l) })
		case "args":
			listOf(in, d.Args, func(v *introspection.InputValue) { in.inputValue(cf.Selections, v) })
		case "isRepeatable":
			in.boolean(d.IsRepeatable)
		default:
			in.buf.WriteString("null")
		}
	})
}
