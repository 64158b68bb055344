package diff

import (
	"fmt"
	"sort"

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

// compareArgs classifies argument changes: removing one, changing its type or adding a
// required one breaks queries; an added optional one does not.
func compareArgs(r *Report, coord string, b, h ast.ArgumentDefinitionList) {
	for _, ba := range b {
		ac := fmt.Sprintf("%s(%s:)", coord, ba.Name)
		ha := h.ForName(ba.Name)
		switch {
		case ha == nil:
			r.add(BreakingClient, "argument-removed", ac, "argument %s was removed (queries passing it fail)", ac)
		case ba.Type.String() == ha.Type.String():
		case sameIgnoringNull(ba.Type, ha.Type) && looserOutput(ba.Type, ha.Type):
			r.add(Safe, "argument-made-optional", ac, "argument %s was %s, is %s", ac, ba.Type, ha.Type)
		default:
			r.add(BreakingClient, "argument-type-changed", ac, "argument %s was %s, is %s", ac, ba.Type, ha.Type)
		}
	}
	for _, ha := range h {
		if b.ForName(ha.Name) != nil {
			continue
		}
		ac := fmt.Sprintf("%s(%s:)", coord, ha.Name)
		if ha.Type.NonNull && ha.DefaultValue == nil {
			r.add(BreakingClient, "argument-required-added", ac, "required argument %s: %s was added (queries without it fail)", ac, ha.Type)
		} else {
			r.add(Safe, "argument-added", ac, "optional argument %s: %s was added", ac, ha.Type)
		}
	}
}

func compareInputFields(r *Report, bt, ht *ast.Definition) {
	for _, bf := range bt.Fields {
		coord := bt.Name + "." + bf.Name
		hf := ht.Fields.ForName(bf.Name)
		switch {
		case hf == nil:
			r.add(BreakingClient, "input-field-removed", coord, "input field %s was removed (queries passing it fail)", coord)
		case bf.Type.String() == hf.Type.String():
		case sameIgnoringNull(bf.Type, hf.Type) && looserOutput(bf.Type, hf.Type):
			r.add(Safe, "input-field-made-optional", coord, "input field %s was %s, is %s", coord, bf.Type, hf.Type)
		default:
			r.add(BreakingClient, "input-field-type-changed", coord, "input field %s was %s, is %s", coord, bf.Type, hf.Type)
		}
	}
	for _, hf := range ht.Fields {
		if bt.Fields.ForName(hf.Name) != nil {
			continue
		}
		coord := ht.Name + "." + hf.Name
		if hf.Type.NonNull && hf.DefaultValue == nil {
			r.add(BreakingClient, "input-field-required-added", coord, "required input field %s: %s was added", coord, hf.Type)
		} else {
			r.add(Safe, "input-field-added", coord, "optional input field %s: %s was added", coord, hf.Type)
		}
	}
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
