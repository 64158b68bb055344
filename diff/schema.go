package diff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// compareSchemas adds what a client of the base schema can notice in the head schema.
func compareSchemas(r *Report, base, head *ast.Schema) {
	for _, name := range sortedTypes(base) {
		bt := base.Types[name]
		if bt.BuiltIn {
			continue
		}
		ht := head.Types[name]
		if ht == nil {
			r.add(BreakingClient, "type-removed", name, "type %s was removed (fragments and variables that name it fail)", name)
			continue
		}
		if ht.Kind != bt.Kind {
			r.add(BreakingClient, "type-kind-changed", name, "type %s was %s, is %s", name, bt.Kind, ht.Kind)
			continue
		}
		switch bt.Kind {
		case ast.Object, ast.Interface:
			compareFields(r, bt, ht)
		case ast.InputObject:
			compareInputFields(r, bt, ht)
		case ast.Enum:
			compareEnum(r, bt, ht)
		}
	}
	for _, name := range sortedTypes(head) {
		if ht := head.Types[name]; !ht.BuiltIn && base.Types[name] == nil {
			r.add(Safe, "type-added", name, "type %s was added", name)
		}
	}
}

func compareFields(r *Report, bt, ht *ast.Definition) {
	var removed, added []*ast.FieldDefinition
	for _, bf := range bt.Fields {
		if isIntrospection(bf.Name) {
			continue
		}
		hf := ht.Fields.ForName(bf.Name)
		if hf == nil {
			removed = append(removed, bf)
			continue
		}
		coord := bt.Name + "." + bf.Name
		compareOutputType(r, coord, bf.Type, hf.Type)
		compareArgs(r, coord, bf.Arguments, hf.Arguments)
		if deprecation(hf) != "" && deprecation(bf) == "" {
			r.add(Safe, "field-deprecated", coord, "field %s is deprecated: %s", coord, deprecation(hf))
		}
	}
	for _, hf := range ht.Fields {
		if !isIntrospection(hf.Name) && bt.Fields.ForName(hf.Name) == nil {
			added = append(added, hf)
		}
	}
	// A removed field and an added one with the same type and arguments are most likely a
	// rename; say so (it is breaking either way).
	renamed := map[*ast.FieldDefinition]bool{}
	for _, bf := range removed {
		coord := bt.Name + "." + bf.Name
		var to *ast.FieldDefinition
		for _, hf := range added {
			if !renamed[hf] && bf.Type.String() == hf.Type.String() && argsString(bf.Arguments) == argsString(hf.Arguments) {
				to = hf
				break
			}
		}
		if to != nil {
			renamed[to] = true
			r.add(BreakingClient, "field-renamed", coord, "field %s was renamed to %s.%s (queries selecting %s fail)", coord, ht.Name, to.Name, bf.Name)
			continue
		}
		r.add(BreakingClient, "field-removed", coord, "field %s was removed (queries selecting it fail)", coord)
	}
	for _, hf := range added {
		if !renamed[hf] {
			coord := ht.Name + "." + hf.Name
			r.add(Safe, "field-added", coord, "field %s: %s was added", coord, hf.Type)
		}
	}
}

// compareOutputType classifies a changed output type: a value that may now be null (or a
// different type) breaks clients; one that can no longer be null does not.
func compareOutputType(r *Report, coord string, b, h *ast.Type) {
	switch {
	case b.String() == h.String():
	case sameIgnoringNull(b, h) && looserOutput(b, h):
		r.add(BreakingClient, "field-nullability-changed", coord, "field %s was %s, is %s: it may now be null", coord, b, h)
	case sameIgnoringNull(b, h):
		r.add(Safe, "field-made-non-null", coord, "field %s was %s, is %s", coord, b, h)
	default:
		r.add(BreakingClient, "field-type-changed", coord, "field %s was %s, is %s", coord, b, h)
	}
}

// input is an argument or an input-object field: what a query passes in.
type input struct {
	name       string
	typ        *ast.Type
	hasDefault bool
}

func argInputs(l ast.ArgumentDefinitionList) []input {
	out := make([]input, len(l))
	for i, a := range l {
		out[i] = input{a.Name, a.Type, a.DefaultValue != nil}
	}
	return out
}

func fieldInputs(l ast.FieldList) []input {
	out := make([]input, len(l))
	for i, f := range l {
		out[i] = input{f.Name, f.Type, f.DefaultValue != nil}
	}
	return out
}

// compareInputs classifies changes of what a query passes in: removing one, changing its type
// or adding a required one breaks queries; an added optional one, or one made optional, does
// not. kind is "argument" or "input-field"; coord names each.
func compareInputs(r *Report, kind string, coord func(name string) string, base, head []input) {
	what := strings.ReplaceAll(kind, "-", " ")
	find := func(l []input, name string) *input {
		for i := range l {
			if l[i].name == name {
				return &l[i]
			}
		}
		return nil
	}
	for _, b := range base {
		c := coord(b.name)
		h := find(head, b.name)
		switch {
		case h == nil:
			r.add(BreakingClient, kind+"-removed", c, "%s %s was removed (queries passing it fail)", what, c)
		case b.typ.String() == h.typ.String():
		case sameIgnoringNull(b.typ, h.typ) && looserOutput(b.typ, h.typ):
			r.add(Safe, kind+"-made-optional", c, "%s %s was %s, is %s", what, c, b.typ, h.typ)
		default:
			r.add(BreakingClient, kind+"-type-changed", c, "%s %s was %s, is %s", what, c, b.typ, h.typ)
		}
	}
	for _, h := range head {
		if find(base, h.name) != nil {
			continue
		}
		c := coord(h.name)
		if h.typ.NonNull && !h.hasDefault {
			r.add(BreakingClient, kind+"-required-added", c, "required %s %s: %s was added (queries without it fail)", what, c, h.typ)
		} else {
			r.add(Safe, kind+"-added", c, "optional %s %s: %s was added", what, c, h.typ)
		}
	}
}

func compareArgs(r *Report, coord string, b, h ast.ArgumentDefinitionList) {
	compareInputs(r, "argument", func(name string) string { return fmt.Sprintf("%s(%s:)", coord, name) }, argInputs(b), argInputs(h))
}

func compareInputFields(r *Report, bt, ht *ast.Definition) {
	compareInputs(r, "input-field", func(name string) string { return bt.Name + "." + name }, fieldInputs(bt.Fields), fieldInputs(ht.Fields))
}

func compareEnum(r *Report, bt, ht *ast.Definition) {
	for _, v := range bt.EnumValues {
		if ht.EnumValues.ForName(v.Name) == nil {
			coord := bt.Name + "." + v.Name
			r.add(BreakingClient, "enum-value-removed", coord, "enum value %s was removed", coord)
		}
	}
	for _, v := range ht.EnumValues {
		if bt.EnumValues.ForName(v.Name) == nil {
			coord := ht.Name + "." + v.Name
			r.add(Safe, "enum-value-added", coord, "enum value %s was added", coord)
		}
	}
}

// sameIgnoringNull reports whether two types differ at most in non-null markers.
func sameIgnoringNull(a, b *ast.Type) bool {
	if (a.Elem == nil) != (b.Elem == nil) {
		return false
	}
	if a.Elem != nil {
		return sameIgnoringNull(a.Elem, b.Elem)
	}
	return a.NamedType == b.NamedType
}

// looserOutput reports whether h allows null somewhere b does not (same shape assumed).
func looserOutput(b, h *ast.Type) bool {
	if b.NonNull && !h.NonNull {
		return true
	}
	if b.Elem != nil {
		return looserOutput(b.Elem, h.Elem)
	}
	return false
}

func argsString(args ast.ArgumentDefinitionList) string {
	s := ""
	for _, a := range args {
		s += a.Name + ":" + a.Type.String() + ","
	}
	return s
}

func deprecation(f *ast.FieldDefinition) string {
	d := f.Directives.ForName("deprecated")
	if d == nil {
		return ""
	}
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil {
		return a.Value.Raw
	}
	return "No longer supported"
}

func isIntrospection(name string) bool { return len(name) > 1 && name[:2] == "__" }

func sortedTypes(s *ast.Schema) []string {
	out := make([]string, 0, len(s.Types))
	for n := range s.Types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// loadSchema parses an SDL document (with the GraphQL prelude).
func loadSchema(name string, sdl []byte) (*ast.Schema, error) {
	s, err := gqlparser.LoadSchema(&ast.Source{Name: name, Input: string(sdl)})
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", name, err)
	}
	return s, nil
}
