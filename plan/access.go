package plan

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/registry"
)

// Access control. A request may carry an Access (WithAccess; package auth's grants): what its
// caller may read. It is enforced once, when the plan is compiled: plans are cached per operation
// *and* access id, and an operation that selects anything its caller may not read compiles to a
// refusal (Forbidden: one FORBIDDEN error per forbidden field, with its path and location; nothing
// is read). A plan that compiles runs exactly as without access control: no check at run time.
// Introspection (__schema, __type) answers from the schema filtered to what the caller may read.

// CodeForbidden is the extensions.code of a field the caller may not read.
const CodeForbidden = "FORBIDDEN"

// Access is what one caller may read. Implementations are immutable: two values with the same
// AccessID answer every question the same (the plan cache and the filtered schemas rely on it).
type Access interface {
	AccessID() string
	// ReadsEntity reports whether the entity's root fields (user(id:), users(ids:)), its id and
	// joins to it may be read.
	ReadsEntity(e *registry.Entity) bool
	// ReadsFeature reports whether the feature (static, or action with its event fields) may
	// be read.
	ReadsFeature(f *registry.Feature) bool
}

type accessKey struct{}

// WithAccess returns ctx whose operations are compiled for a (nil: no access control).
func WithAccess(ctx context.Context, a Access) context.Context {
	if a == nil {
		return ctx
	}
	return context.WithValue(ctx, accessKey{}, a)
}

// AccessFrom returns the Access of ctx, or nil.
func AccessFrom(ctx context.Context) Access {
	a, _ := ctx.Value(accessKey{}).(Access)
	return a
}

// forbid records a forbidden field (compile goes on, so that every one is reported).
func (c *compiler) forbid(path []string, f *ast.Field, what string) {
	e := &gqlerror.Error{
		Message:    fmt.Sprintf("%s: this client may not read it (its grants in the clients file)", what),
		Extensions: map[string]any{"code": CodeForbidden},
	}
	for _, p := range path {
		e.Path = append(e.Path, ast.PathName(p))
	}
	if f != nil && f.Position != nil {
		e.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	c.forbidden = append(c.forbidden, e)
}

func (c *compiler) readsEntity(e *registry.Entity) bool {
	return c.acc == nil || c.acc.ReadsEntity(e)
}

func (c *compiler) readsFeature(f *registry.Feature) bool {
	return c.acc == nil || c.acc.ReadsFeature(f)
}

// Forbidden compiles (or finds in the cache) the plan of the operation in ctx for ctx's Access
// and returns its FORBIDDEN errors (nil when it may run). The gateway calls it while the
// operation is validated, so that a forbidden operation is a request error: no data, nothing
// read.
func (ex *Executor) Forbidden(ctx context.Context, oc *graphql.OperationContext) gqlerror.List {
	if AccessFrom(ctx) == nil {
		return nil
	}
	p := ex.planFor(ctx, oc)
	if p == nil {
		return nil
	}
	return p.forbidden
}

// schemaFor is the schema introspection answers from: the whole schema, or the one filtered to
// what ctx's Access may read (built once per access id).
func (ex *Executor) schemaFor(ctx context.Context) *ast.Schema {
	a := AccessFrom(ctx)
	if a == nil {
		return ex.schema
	}
	if s, ok := ex.filtered.Load(a.AccessID()); ok {
		return s.(*ast.Schema)
	}
	s := filterSchema(ex.schema, ex.s, a)
	ex.filtered.Store(a.AccessID(), s)
	return s
}

// filteredSchemas holds the filtered schemas by access id (few: one per distinct grant set).
type filteredSchemas = sync.Map

// filterSchema copies sch without what a may not read: root fields of unreadable entities,
// their types, the fields of unreadable features (and their event and entry types) and joins to
// unreadable entities.
func filterSchema(sch *ast.Schema, s *schema, a Access) *ast.Schema {
	out := *sch
	out.Types = make(map[string]*ast.Definition, len(sch.Types))
	for k, v := range sch.Types {
		out.Types[k] = v
	}
	out.PossibleTypes, out.Implements = sch.PossibleTypes, sch.Implements
	drop := map[string]bool{}
	keepFields := func(d *ast.Definition, keep func(*ast.FieldDefinition) bool) *ast.Definition {
		cp := *d
		cp.Fields = nil
		for _, f := range d.Fields {
			if keep(f) {
				cp.Fields = append(cp.Fields, f)
			}
		}
		return &cp
	}
	for _, ei := range s.entities {
		if !a.ReadsEntity(ei.e) {
			drop[ei.typeName] = true
			for _, ai := range ei.actions {
				drop[ai.typeName] = true
			}
			continue
		}
		for _, f := range ei.statics {
			if !a.ReadsFeature(f) {
				if entry, ok := ei.mapEntry[f]; ok && !usedEntry(s, a, entry) {
					drop[entry] = true
				}
			}
		}
		for _, ai := range ei.actions {
			if !a.ReadsFeature(ai.f) {
				drop[ai.typeName] = true
				continue
			}
			if d := sch.Types[ai.typeName]; d != nil {
				out.Types[ai.typeName] = keepFields(d, func(fd *ast.FieldDefinition) bool {
					if i, ok := ai.joins[fd.Name]; ok {
						return a.ReadsEntity(ai.target[i].e)
					}
					return true
				})
			}
		}
		if d := sch.Types[ei.typeName]; d != nil {
			out.Types[ei.typeName] = keepFields(d, func(fd *ast.FieldDefinition) bool {
				if f := ei.statics[fd.Name]; f != nil {
					return a.ReadsFeature(f)
				}
				if ai := ei.actions[fd.Name]; ai != nil {
					return a.ReadsFeature(ai.f)
				}
				return true
			})
		}
	}
	for name := range drop {
		delete(out.Types, name)
	}
	if sch.Query != nil {
		out.Query = keepFields(sch.Query, func(fd *ast.FieldDefinition) bool {
			if ri, ok := s.roots[fd.Name]; ok {
				return a.ReadsEntity(ri.ent.e)
			}
			return true
		})
		out.Types[out.Query.Name] = out.Query
	}
	return &out
}

// usedEntry reports whether another readable map feature uses the entry type.
func usedEntry(s *schema, a Access, entry string) bool {
	for _, ei := range s.entities {
		for f, t := range ei.mapEntry {
			if t == entry && a.ReadsEntity(ei.e) && a.ReadsFeature(f) {
				return true
			}
		}
	}
	return false
}

// Reads returns what the plan of the operation in ctx reads: its features (entity.feature,
// sorted, joined entities' included) and the number of entities its root fields ask for (ids
// of joins are known only once read). For the audit log; nil when plans do not cover it.
func (ex *Executor) Reads(ctx context.Context, oc *graphql.OperationContext) (features []string, entities int) {
	p := ex.planFor(ctx, oc)
	if p == nil || p.forbidden != nil {
		return nil, 0
	}
	seen := map[string]bool{}
	var walk func(ld *load)
	walk = func(ld *load) {
		for _, s := range ld.statics {
			seen[ld.ent.e.Name+"."+s.f.Name] = true
		}
		for _, a := range ld.actions {
			seen[ld.ent.e.Name+"."+a.ai.f.Name] = true
			for _, j := range a.ev.joins {
				walk(j.ld)
			}
		}
	}
	for _, rf := range p.roots {
		if rf.ld == nil {
			continue
		}
		walk(rf.ld)
		v := value(rf.arg, oc.Variables)
		if rf.root.many {
			if v != nil {
				entities += len(list(v))
			}
		} else if v != nil {
			entities++
		}
	}
	for f := range seen {
		features = append(features, f)
	}
	sort.Strings(features)
	return features, entities
}
