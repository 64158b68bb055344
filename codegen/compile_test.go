package codegen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"sort"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/codegen/templates"
	"github.com/vektah/gqlparser/v2"
	gqlast "github.com/vektah/gqlparser/v2/ast"

	"github.com/featuregraph/featuregraph/registry"
)

// These tests check that the rendered files fit together and fit gqlgen, without running gqlgen
// (which would rewrite the repository and take seconds).

func loadSchema(t *testing.T, name string, sdl []byte) *gqlast.Schema {
	t.Helper()
	schema, err := gqlparser.LoadSchema(&gqlast.Source{Name: name + "/schema.graphqls", Input: string(sdl)})
	if err != nil {
		t.Fatalf("the SDL of %s does not parse and validate: %v", name, err)
	}
	return schema
}

// TestSDLValidates parses and validates every case's SDL with gqlparser and checks that the schema
// says what the registry says: types, arguments, descriptions and deprecation reasons round-trip.
func TestSDLValidates(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			reg := loadCase(t, name)
			schema := loadSchema(t, name, SDL(reg))
			for _, scalar := range []string{"Time", "JSON"} {
				if d := schema.Types[scalar]; d == nil || d.Kind != gqlast.Scalar {
					t.Errorf("scalar %s is not declared", scalar)
				}
			}
			for _, e := range reg.Entities {
				checkEntitySchema(t, schema, reg, e)
			}
		})
	}
}

func checkEntitySchema(t *testing.T, schema *gqlast.Schema, reg *registry.Registry, e *registry.Entity) {
	t.Helper()
	q := schema.Query
	one, many := q.Fields.ForName(e.QueryField()), q.Fields.ForName(e.BatchQueryField())
	if one == nil || many == nil {
		t.Fatalf("Query lacks %s or %s", e.QueryField(), e.BatchQueryField())
	}
	if got, want := one.Type.String(), e.TypeName(); got != want {
		t.Errorf("Query.%s type %s, want %s", one.Name, got, want)
	}
	for _, f := range []*gqlast.FieldDefinition{one, many} {
		if a := f.Arguments.ForName("asOf"); a == nil || a.Type.String() != "Time" {
			t.Errorf("Query.%s asOf argument = %v, want Time", f.Name, a)
		}
	}
	if a := one.Arguments.ForName("id"); a == nil || a.Type.String() != string(e.IDType)+"!" {
		t.Errorf("Query.%s id argument = %v, want %s!", one.Name, a, e.IDType)
	}
	if got, want := many.Type.String(), "["+e.TypeName()+"!]!"; got != want {
		t.Errorf("Query.%s type %s, want %s", many.Name, got, want)
	}
	if a := many.Arguments.ForName("ids"); a == nil || a.Type.String() != "["+string(e.IDType)+"!]!" {
		t.Errorf("Query.%s ids argument = %v", many.Name, a)
	}

	obj := schema.Types[e.TypeName()]
	if obj == nil || obj.Kind != gqlast.Object {
		t.Fatalf("type %s missing", e.TypeName())
	}
	if obj.Description != strings.TrimSpace(e.Description) {
		t.Errorf("type %s description %q, want %q", obj.Name, obj.Description, strings.TrimSpace(e.Description))
	}
	if id := obj.Fields.ForName("id"); id == nil || id.Type.String() != string(e.IDType)+"!" {
		t.Errorf("%s.id = %v, want %s!", obj.Name, id, e.IDType)
	}
	if got, want := len(obj.Fields), 1+len(e.Features()); got != want {
		t.Errorf("type %s has %d fields, want id + %d features", obj.Name, got, want-1)
	}
	for _, f := range e.Features() {
		fd := obj.Fields.ForName(f.GraphQLName())
		if fd == nil {
			t.Errorf("%s lacks field %s", obj.Name, f.GraphQLName())
			continue
		}
		if !strings.Contains(fd.Description, strings.TrimSpace(f.Description)) {
			t.Errorf("%s.%s description %q lacks %q", obj.Name, fd.Name, fd.Description, f.Description)
		}
		reason := ""
		if d := fd.Directives.ForName("deprecated"); d != nil {
			reason = d.Arguments.ForName("reason").Value.Raw
		}
		if reason != f.Deprecated {
			t.Errorf("%s.%s deprecation reason %q, want %q", obj.Name, fd.Name, reason, f.Deprecated)
		}
		if f.FeatureType == registry.DerivedFeature {
			if len(fd.Arguments) != len(f.Arguments) || fd.Type.String() != staticGQLType(f) {
				t.Errorf("%s.%s: %s with %d arguments, want %s with %d", obj.Name, fd.Name, fd.Type, len(fd.Arguments), staticGQLType(f), len(f.Arguments))
			}
			for _, a := range f.Arguments {
				if ad := fd.Arguments.ForName(registry.Camel(a.Name)); ad == nil || ad.Type.String() != string(a.Type) || ad.DefaultValue == nil {
					t.Errorf("%s.%s argument %s = %v, want %s with a default", obj.Name, fd.Name, a.Name, ad, a.Type)
				}
			}
			continue
		}
		if f.FeatureType == registry.Static || f.FeatureType == registry.ServiceFeature {
			if len(fd.Arguments) != 0 || fd.Type.String() != staticGQLType(f) {
				t.Errorf("%s.%s: %s with %d arguments, want %s", obj.Name, fd.Name, fd.Type, len(fd.Arguments), staticGQLType(f))
			}
			continue
		}
		// Nullable: a failure of an action field is an error on that field only.
		if got, want := fd.Type.String(), "["+f.EventTypeName()+"!]"; got != want {
			t.Errorf("%s.%s type %s, want %s", obj.Name, fd.Name, got, want)
		}
		if len(fd.Arguments) != 4 || fd.Arguments.ForName("count").Type.String() != "Int" || fd.Arguments.ForName("lastNSec").Type.String() != "Int" ||
			fd.Arguments.ForName("filter").Type.String() != f.EventTypeName()+"Filter" || fd.Arguments.ForName("asOf").Type.String() != "Time" {
			t.Errorf("%s.%s arguments %v, want count: Int, lastNSec: Int, filter: %sFilter, asOf: Time", obj.Name, fd.Name, fd.Arguments, f.EventTypeName())
		}
		// The filter input has one field per event field, typed by the field's scalar type.
		in := schema.Types[f.EventTypeName()+"Filter"]
		if in == nil || in.Kind != gqlast.InputObject || len(in.Fields) != len(f.Fields) {
			t.Errorf("input %sFilter = %v, want an input with %d fields", f.EventTypeName(), in, len(f.Fields))
		} else {
			for _, fl := range f.Fields {
				ff := in.Fields.ForName(fl.GraphQLName())
				if ff == nil || ff.Type.String() != string(fl.Type)+"Filter" {
					t.Errorf("%s.%s = %v, want %sFilter", in.Name, fl.GraphQLName(), ff, fl.Type)
					continue
				}
				ops := schema.Types[string(fl.Type)+"Filter"]
				wantOrdered := fl.Type == registry.Int || fl.Type == registry.Float || fl.Type == registry.Time
				if ops == nil || (ops.Fields.ForName("gt") != nil) != wantOrdered || ops.Fields.ForName("exists") == nil {
					t.Errorf("input %sFilter: ordered operators %v, want %v", fl.Type, ops != nil && ops.Fields.ForName("gt") != nil, wantOrdered)
				}
			}
		}
		ev := schema.Types[f.EventTypeName()]
		if ev == nil {
			t.Errorf("event type %s missing", f.EventTypeName())
			continue
		}
		if ts := ev.Fields.ForName("timestamp"); ts == nil || ts.Type.String() != "Time!" {
			t.Errorf("%s.timestamp = %v, want Time!", ev.Name, ts)
		}
		for _, fl := range f.Fields {
			efd := ev.Fields.ForName(fl.GraphQLName())
			if efd == nil || efd.Type.String() != string(fl.Type) || efd.Description != strings.TrimSpace(fl.Description) {
				t.Errorf("%s.%s = %v; want type %s, description %q", ev.Name, fl.GraphQLName(), efd, fl.Type, fl.Description)
			}
			if fl.Join != "" {
				j := ev.Fields.ForName(registry.Camel(fl.JoinName()))
				if j == nil || j.Type.String() != reg.Entity(fl.Join).TypeName() {
					t.Errorf("%s: join field %s = %v, want type %s", ev.Name, fl.JoinName(), j, reg.Entity(fl.Join).TypeName())
				}
			}
		}
	}
}

// TestGlueMatchesGqlgen: gqlgen names the resolver interface methods it generates with
// templates.ToGo(GraphQL field name), and the glue must implement exactly those methods, or the
// resolvers package does not compile after `go generate`.
func TestGlueMatchesGqlgen(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			reg := loadCase(t, name)
			glue, err := Glue(reg)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]string{"Resolver": {"Query"}}
			for _, e := range reg.Entities {
				want["queryResolver"] = append(want["queryResolver"], templates.ToGo(e.QueryField()), templates.ToGo(e.BatchQueryField()))
				// Action and on-demand features have no model field: gqlgen asks a resolver.
				resolved := append(append(append([]*registry.Feature{}, e.Actions...), e.Services...), e.Derived...)
				if len(resolved) == 0 {
					continue
				}
				want["Resolver"] = append(want["Resolver"], e.TypeName()) // ResolverRoot.User() etc.
				recv := e.QueryField() + "Resolver"
				for _, f := range resolved {
					want[recv] = append(want[recv], templates.ToGo(f.GraphQLName()))
				}
			}
			got := methodsByReceiver(t, glue)
			for recv, ms := range want {
				sort.Strings(ms)
				if g := got[recv]; strings.Join(g, " ") != strings.Join(ms, " ") {
					t.Errorf("methods of %s = %v; gqlgen requires %v", recv, g, ms)
				}
			}
			for recv := range got {
				if _, ok := want[recv]; !ok {
					t.Errorf("the glue has methods on unexpected type %s: %v", recv, got[recv])
				}
			}
		})
	}
}

func methodsByReceiver(t *testing.T, src []byte) map[string][]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "resolvers_gen.go", src, 0)
	if err != nil {
		t.Fatalf("parse glue: %v", err)
	}
	out := map[string][]string{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv == nil {
			continue
		}
		typ := fd.Recv.List[0].Type
		if star, ok := typ.(*ast.StarExpr); ok {
			typ = star.X
		}
		recv := typ.(*ast.Ident).Name
		out[recv] = append(out[recv], fd.Name.Name)
	}
	for _, ms := range out {
		sort.Strings(ms)
	}
	return out
}

// TestModelsBindToSchema: every object type of the schema has a model struct, and every field that
// gqlgen resolves from the struct (all but the action features, which have resolvers) matches
// exactly one struct field the way gqlgen binds them (case-insensitive, underscores ignored).
func TestModelsBindToSchema(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			reg := loadCase(t, name)
			models, err := Models(reg)
			if err != nil {
				t.Fatal(err)
			}
			structs := structFields(t, models)
			schema := loadSchema(t, name, SDL(reg))
			onDemand := map[string]bool{} // Type.field of the on-demand features: no struct field, gqlgen asks the glue
			for _, e := range reg.Entities {
				for _, f := range append(append([]*registry.Feature{}, e.Services...), e.Derived...) {
					onDemand[e.TypeName()+"."+f.GraphQLName()] = true
				}
			}
			for _, def := range schema.Types {
				if def.Kind != gqlast.Object || def.BuiltIn || def.Name == "Query" {
					continue
				}
				fields, ok := structs[def.Name]
				if !ok {
					t.Errorf("no model struct for type %s", def.Name)
					continue
				}
				for _, fd := range def.Fields {
					if len(fd.Arguments) > 0 || strings.HasPrefix(fd.Name, "__") {
						continue // an action feature: resolved by the glue
					}
					var matches []string
					for _, goName := range fields {
						if strings.EqualFold(strings.ReplaceAll(goName, "_", ""), fd.Name) {
							matches = append(matches, goName)
						}
					}
					if onDemand[def.Name+"."+fd.Name] {
						if len(matches) != 0 {
							t.Errorf("on-demand %s.%s binds to struct fields %v; want none (the glue resolves it)", def.Name, fd.Name, matches)
						}
						continue
					}
					if len(matches) != 1 {
						t.Errorf("%s.%s binds to struct fields %v; want exactly one", def.Name, fd.Name, matches)
					}
				}
			}
		})
	}
}

func structFields(t *testing.T, src []byte) map[string][]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "models_gen.go", src, 0)
	if err != nil {
		t.Fatalf("parse models: %v", err)
	}
	out := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return false
		}
		for _, fl := range st.Fields.List {
			for _, n := range fl.Names {
				out[ts.Name.Name] = append(out[ts.Name.Name], n.Name)
			}
		}
		return false
	})
	return out
}

// TestModelsTypeCheck type-checks the rendered models (with the hand-written JSON scalar stubbed
// and a stand-in for package time), catching duplicate fields and undefined types.
func TestModelsTypeCheck(t *testing.T) {
	timePkg := types.NewPackage("time", "time")
	timeName := types.NewTypeName(token.NoPos, timePkg, "Time", nil)
	types.NewNamed(timeName, types.NewStruct(nil, nil), nil)
	timePkg.Scope().Insert(timeName)
	timePkg.MarkComplete()
	imp := importerFunc(func(path string) (*types.Package, error) {
		if path == "time" {
			return timePkg, nil
		}
		t.Fatalf("models import %q", path)
		return nil, nil
	})
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			models, err := Models(loadCase(t, name))
			if err != nil {
				t.Fatal(err)
			}
			fset := token.NewFileSet()
			gen, err := parser.ParseFile(fset, "models_gen.go", models, 0)
			if err != nil {
				t.Fatal(err)
			}
			stub, err := parser.ParseFile(fset, "json.go", "package model\n\ntype JSON []byte\n", 0)
			if err != nil {
				t.Fatal(err)
			}
			var errs []string
			conf := types.Config{Importer: imp, Error: func(err error) { errs = append(errs, err.Error()) }}
			_, _ = conf.Check("github.com/featuregraph/featuregraph/graph/model", fset, []*ast.File{gen, stub}, nil)
			if len(errs) > 0 {
				t.Errorf("models do not type-check:\n  %s", strings.Join(errs, "\n  "))
			}
		})
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
