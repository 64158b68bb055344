package codegen

import (
	"fmt"
	"go/format"
	"strings"

	"github.com/99designs/gqlgen/codegen/templates"

	"github.com/featuregraph/featuregraph/registry"
)

// Glue renders the resolver glue: the gqlgen ResolverRoot, one binding per entity (how to build
// its model and set its static features), the Query fields and the action-feature fields. Every
// function delegates to the hand-written generic code in package resolvers.
func Glue(reg *registry.Registry) ([]byte, error) {
	var b strings.Builder
	b.WriteString(HeaderGo)
	b.WriteString(`package resolvers

import (
	"context"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/graph"
	"github.com/featuregraph/featuregraph/graph/model"
	"github.com/featuregraph/featuregraph/store"
)

var (
	_ = strconv.Itoa
	_ time.Time
	_ store.Filter
)

`)
	fmt.Fprintf(&b, "// SchemaFingerprint identifies the registry this code was generated from (codegen.Fingerprint).\nconst SchemaFingerprint = %q\n\n", Fingerprint(reg))

	b.WriteString("// Query returns the resolver of the Query type.\nfunc (r *Resolver) Query() graph.QueryResolver { return &queryResolver{r} }\n\n")
	b.WriteString("type queryResolver struct{ *Resolver }\n")
	for _, e := range reg.Entities {
		if len(e.Actions)+len(e.Services)+len(e.Derived) > 0 {
			fmt.Fprintf(&b, "\n// %s returns the resolver of %s's action features.\nfunc (r *Resolver) %s() graph.%sResolver { return &%sResolver{r} }\n",
				e.TypeName(), e.TypeName(), e.TypeName(), e.TypeName(), e.QueryField())
			fmt.Fprintf(&b, "\ntype %sResolver struct{ *Resolver }\n", e.QueryField())
		}
	}
	// boundEntities lets New check that the runtime registry has every entity and feature used here.
	b.WriteString("\n// bound lists the entities and features this code serves.\nvar bound = map[string][]string{\n")
	for _, e := range reg.Entities {
		var names []string
		for _, f := range e.Features() {
			names = append(names, fmt.Sprintf("%q", f.Name))
		}
		fmt.Fprintf(&b, "\t%q: {%s},\n", e.Name, strings.Join(names, ", "))
	}
	b.WriteString("}\n")

	for _, e := range reg.Entities {
		t := e.TypeName()
		bind := e.QueryField() + "Binding"
		fmt.Fprintf(&b, "\nvar %s = &binding[*model.%s]{\n\tentity: %q,\n", bind, t, e.Name)
		if e.IDType == registry.Int {
			fmt.Fprintf(&b, "\tnew: func(id string) *model.%s { n, _ := strconv.Atoi(id); return &model.%s{ID: n} },\n", t, t)
		} else {
			fmt.Fprintf(&b, "\tnew: func(id string) *model.%s { return &model.%s{ID: id} },\n", t, t)
		}
		fmt.Fprintf(&b, "\tat: func(o *model.%s, t *time.Time) { o.PointInTime = t },\n", t)
		fmt.Fprintf(&b, "\tset: func(o *model.%s, feature string, v store.Value) {\n\t\tswitch feature {\n", t)
		for _, f := range e.Static {
			fmt.Fprintf(&b, "\t\tcase %q:\n\t\t\to.%s = %s(v)\n", f.Name, registry.GoName(f.Name), convFunc(f))
		}
		b.WriteString("\t\t}\n\t},\n}\n")

		idConv := "strconv.Itoa(id)"
		idsConv := "intIDs(ids)"
		if e.IDType == registry.String {
			idConv, idsConv = "id", "ids"
		}
		fmt.Fprintf(&b, "\nfunc (r *queryResolver) %s(ctx context.Context, id %s, asOf *time.Time) (*model.%s, error) {\n\treturn one(ctx, r.Resolver, %s, %s, asOf)\n}\n",
			templates.ToGo(e.QueryField()), idGoType(e), t, bind, idConv)
		fmt.Fprintf(&b, "\nfunc (r *queryResolver) %s(ctx context.Context, ids []%s, asOf *time.Time) ([]*model.%s, error) {\n\treturn many(ctx, r.Resolver, %s, %s, asOf)\n}\n",
			templates.ToGo(e.BatchQueryField()), idGoType(e), t, bind, idsConv)

		for _, f := range e.Actions {
			ev := "model." + f.EventTypeName()
			objID := "strconv.Itoa(obj.ID)"
			if e.IDType == registry.String {
				objID = "obj.ID"
			}
			fmt.Fprintf(&b, "\nfunc (r *%sResolver) %s(ctx context.Context, obj *model.%s, count *int, lastNSec *int, filter *model.%s, asOf *time.Time) ([]*%s, error) {\n",
				e.QueryField(), templates.ToGo(f.GraphQLName()), t, filterInputName(f), ev)
			b.WriteString("\tat := pointInTime(obj.PointInTime, asOf)\n")
			fmt.Fprintf(&b, "\tevs, err := r.actions(ctx, %q, %q, %s, count, lastNSec, filterOf%s(filter), at)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n", e.Name, f.Name, objID, f.EventTypeName())
			fmt.Fprintf(&b, "\tout, err := decodeEvents(evs, func(o *%s, ts time.Time) { o.Timestamp = ts }, decode%s)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n", ev, f.EventTypeName())
			for _, fl := range f.Fields {
				if fl.Join == "" {
					continue
				}
				target := reg.Entity(fl.Join)
				fn := registry.GoName(fl.Name)
				idExpr := "strconv.Itoa(*o." + fn + ")"
				if target.IDType == registry.String {
					idExpr = "*o." + fn
				}
				fmt.Fprintf(&b, "\tjoin(ctx, r.Resolver, %q, %sBinding, at, out,\n", registry.Camel(fl.JoinName()), target.QueryField())
				fmt.Fprintf(&b, "\t\tfunc(o *%s) (string, bool) {\n\t\t\tif o.%s == nil {\n\t\t\t\treturn \"\", false\n\t\t\t}\n\t\t\treturn %s, true\n\t\t},\n", ev, fn, idExpr)
				fmt.Fprintf(&b, "\t\tfunc(o *%s, j *model.%s) { o.%s = j })\n", ev, target.TypeName(), registry.GoName(fl.JoinName()))
			}
			b.WriteString("\treturn out, nil\n}\n")
		}
		onDemandGlue(&b, e)
	}

	for _, e := range reg.Entities {
		for _, f := range e.Actions {
			filterGlue(&b, f)
		}
	}
	for _, e := range reg.Entities {
		for _, f := range e.Actions {
			fmt.Fprintf(&b, "\n// decode%s sets one field of a stored member.\nfunc decode%s(o *model.%s, key string, raw []byte) (err error) {\n\tswitch key {\n",
				f.EventTypeName(), f.EventTypeName(), f.EventTypeName())
			for _, fl := range f.Fields {
				fmt.Fprintf(&b, "\tcase %q:\n\t\to.%s, err = member%s(raw)\n", fl.Name, registry.GoName(fl.Name), fl.Type)
			}
			b.WriteString("\t}\n\treturn err\n}\n")
		}
	}
	for _, t := range mapTypes(reg) {
		et := "model." + mapEntryType(t)
		gt := goScalar(t)
		if t == registry.JSON {
			gt = "model.JSON"
		}
		fmt.Fprintf(&b, "\nfunc as%sMap(v store.Value) []*%s {\n\treturn asMap(v, as%s, func(k string, x %s) *%s { return &%s{Key: k, Value: x} })\n}\n",
			t, et, t, gt, et, et)
	}
	return format.Source([]byte(b.String()))
}
