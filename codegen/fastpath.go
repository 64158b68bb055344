package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"regexp"
	"strings"

	"github.com/featuregraph/featuregraph/registry"
)

// The fast path: two rewrites of gqlgen's execution code, made by the generator after gqlgen
// runs, so that serving a list of 50 events does not cost 50 goroutines and 200 field contexts.
//
//  1. A field that reads a plain struct field (no resolver) and marshals a scalar — every static
//     feature, every event field, id and timestamp — is marshalled directly instead of through
//     graphql.ResolveField (which builds a FieldContext, runs the field middleware chain and
//     recovers panics for a field that can neither block, fail nor panic).
//  2. Lists of objects go through marshalSlice (graph/marshal.go), which marshals them in the
//     calling goroutine unless the selection includes a resolver-backed field (an action
//     feature), where gqlgen's one-goroutine-per-element keeps loader batching intact.
//
// Both rewrites match gqlgen's output exactly; if gqlgen changes its output shape, generation
// fails with a message instead of silently losing the fast path.

// FastPathFile is graph/fastpath_gen.go: the resolver-backed fields of every object type.
const FastPathFile = "graph/fastpath_gen.go"

var (
	plainScalarField = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (_\w+)\(ctx context\.Context, field graphql\.CollectedField, obj \*model\.(\w+)\) \(ret graphql\.Marshaler\) \{
	return graphql\.ResolveField\(
		ctx,
		ec\.OperationContext,
		field,
		func\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{
			return ec\.fieldContext_\w+\(ctx, field\)
		\},
		func\(ctx context\.Context\) \(any, error\) \{
			return obj\.(\w+), nil
		\},
		nil,
		func\(ctx context\.Context, selections ast\.SelectionSet, v [^\n]+\) graphql\.Marshaler \{
			return ec\.(marshal[NO](?:Int|Float|String|Boolean|Time|JSON)2\S+)\(ctx, selections, v\)
		\},
		(?:true|false),
		(?:true|false),
	\)
\}
`)
	sliceMarshal = regexp.MustCompile(`(?m)^(func \(ec \*executionContext\) marshal[NO](\w+?)2ᚕ[^\n]*\n(?:[^\n]*\n){0,40}?\tret := )graphql\.MarshalSliceConcurrently\(ctx, `)
)

// rewriteExec applies the fast path to gqlgen's generated.go.
func rewriteExec(src []byte, reg *registry.Registry) ([]byte, error) {
	want := 0
	for _, e := range reg.Entities {
		want += 1 + len(e.Static) // id and every static feature (maps are lists of objects: not scalar)
		for _, f := range e.Static {
			if f.Container == registry.Map {
				want--
			}
		}
		for _, f := range e.Actions {
			want += 1 + len(f.Fields) // timestamp and every event field
		}
	}
	got := 0
	out := plainScalarField.ReplaceAllFunc(src, func(m []byte) []byte {
		got++
		g := plainScalarField.FindSubmatch(m)
		return []byte(fmt.Sprintf("func (ec *executionContext) %s(ctx context.Context, field graphql.CollectedField, obj *model.%s) (ret graphql.Marshaler) {\n"+
			"\treturn ec.%s(ctx, field.Selections, obj.%s) // fast path: see codegen/fastpath.go\n}\n", g[1], g[2], g[4], g[3]))
	})
	if got < want {
		return nil, fmt.Errorf("codegen: fast path: found %d plain scalar fields in gqlgen's output, want at least %d: "+
			"gqlgen's generated code changed shape; update codegen/fastpath.go", got, want)
	}
	lists := 0
	out = sliceMarshal.ReplaceAllFunc(out, func(m []byte) []byte {
		lists++
		g := sliceMarshal.FindSubmatch(m)
		return []byte(fmt.Sprintf("%smarshalSlice(ctx, %q, ", g[1], g[2]))
	})
	if n := bytes.Count(out, []byte("graphql.MarshalSliceConcurrently(")); n > 0 || lists == 0 {
		return nil, fmt.Errorf("codegen: fast path: %d list marshals left unrewritten (%d rewritten): "+
			"gqlgen's generated code changed shape; update codegen/fastpath.go", n, lists)
	}
	return stripUnusedDefer(out)
}

var (
	objectMarshaller = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) _\w+\(ctx context\.Context, sel ast\.SelectionSet, obj [^)]+\) graphql\.Marshaler \{\n`)
	deferDecls       = "\tdeferredFieldSet := graphql.NewFieldSet(nil)\n\tdeferLabelToView := make(map[string]*graphql.FieldSetView)\n"
	deferTail        = regexp.MustCompile(`\n\tatomic\.AddInt32\(&ec\.Deferred, int32\(min\(len\(deferLabelToView\), math\.MaxInt32\)\)\)\n\n\tec\.ProcessDeferredGroup\(graphql\.DeferredGroup\{\n\t\tDefers:   deferLabelToView,\n\t\tPath:     graphql\.GetPath\(ctx\),\n\t\tFieldSet: deferredFieldSet,\n\t\tContext:  ctx,\n\t\}\)\n`)
)

// stripUnusedDefer removes the @defer scaffolding from object marshallers that never defer a
// field (objects without resolver fields: events, map entries). For them deferLabelToView stays
// empty, so ProcessDeferredGroup returns at once — but only after the scaffolding was allocated
// and graphql.GetPath built the object's path, per object.
func stripUnusedDefer(src []byte) ([]byte, error) {
	var out bytes.Buffer
	stripped, rest := 0, src
	for {
		loc := objectMarshaller.FindIndex(rest)
		if loc == nil {
			out.Write(rest)
			break
		}
		end := bytes.Index(rest[loc[1]:], []byte("\n}\n"))
		if end < 0 {
			return nil, fmt.Errorf("codegen: fast path: unterminated object marshaller: update codegen/fastpath.go")
		}
		end += loc[1] + 3
		body := rest[loc[1]:end]
		out.Write(rest[:loc[1]])
		if !bytes.Contains(body, []byte("deferLabelToView[")) && bytes.Contains(body, []byte(deferDecls)) && deferTail.Match(body) {
			body = bytes.Replace(body, []byte(deferDecls), nil, 1)
			body = deferTail.ReplaceAll(body, []byte("\n\t// fast path: no field of this object is deferred (codegen/fastpath.go)\n"))
			stripped++
		}
		out.Write(body)
		rest = rest[end:]
	}
	if stripped == 0 {
		return nil, fmt.Errorf("codegen: fast path: no object marshaller had the @defer shape: update codegen/fastpath.go")
	}
	return out.Bytes(), nil
}

// FastPath renders graph/fastpath_gen.go: for every object type, the fields whose values come
// from a resolver that may wait on a dataloader (action features).
func FastPath(reg *registry.Registry) []byte {
	var b strings.Builder
	b.WriteString(HeaderGo)
	b.WriteString("package graph\n\n// resolverFields lists, per object type, the fields resolved by a resolver that may wait on a\n// dataloader; marshalSlice keeps one goroutine per element when a selection includes one.\nvar resolverFields = map[string][]string{\n")
	for _, e := range reg.Entities {
		if len(e.Actions) == 0 {
			continue
		}
		var names []string
		for _, f := range e.Actions {
			names = append(names, fmt.Sprintf("%q", f.GraphQLName()))
		}
		fmt.Fprintf(&b, "\t%q: {%s},\n", e.TypeName(), strings.Join(names, ", "))
	}
	b.WriteString("}\n\n// joinFields lists, per event type, its join fields and the entity type each one expands\n// into; marshalSlice looks through them for resolver fields of the joined entity.\nvar joinFields = map[string]map[string]string{\n")
	for _, e := range reg.Entities {
		for _, f := range e.Actions {
			var joins []string
			for _, fl := range f.Fields {
				if fl.Join != "" {
					joins = append(joins, fmt.Sprintf("%q: %q", registry.Camel(fl.JoinName()), reg.Entity(fl.Join).TypeName()))
				}
			}
			if len(joins) > 0 {
				fmt.Fprintf(&b, "\t%q: {%s},\n", f.EventTypeName(), strings.Join(joins, ", "))
			}
		}
	}
	b.WriteString("}\n")
	out, err := format.Source([]byte(b.String()))
	if err != nil {
		panic(fmt.Sprintf("codegen: fast path table does not parse: %v", err)) // a bug in this file
	}
	return out
}
