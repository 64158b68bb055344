package plan

import (
	"fmt"

	"github.com/featuregraph/featuregraph/registry"
	gqlschema "github.com/featuregraph/featuregraph/schema"
)

// schema is what the planner knows about the generated GraphQL schema, derived from the
// registry at startup: which GraphQL field of which type is which feature, event field or join.
// It mirrors what the generator writes (codegen/sdl.go); the schema fingerprint check
// (resolvers.New) guarantees that the registry and the compiled schema agree.
type schema struct {
	roots    map[string]rootInfo // Query field → entity and kind
	entities map[string]*entityInfo
}

type rootInfo struct {
	ent  *entityInfo
	many bool // users(ids:) rather than user(id:)
}

// entityInfo is one entity type (User).
type entityInfo struct {
	e        *registry.Entity
	typeName string
	intID    bool
	statics  map[string]*registry.Feature   // by GraphQL field name
	actions  map[string]*actionInfo         // by GraphQL field name
	mapEntry map[*registry.Feature]string   // map features → entry type name (FloatMapEntry)
	staticIx map[*registry.Feature]struct{} // every static feature
	onDemand map[string]*registry.Feature   // service and derived features by GraphQL field name
}

// actionInfo is one action feature and its event type.
type actionInfo struct {
	f        *registry.Feature
	typeName string              // UserRecentClickedArticlesEvent
	fields   map[string]int      // GraphQL event field name → index in f.Fields
	joins    map[string]int      // GraphQL join field name → index in f.Fields
	byMember map[string]int      // member key (registry field name) → index in f.Fields
	target   map[int]*entityInfo // join field index → joined entity
}

func newSchema(reg *registry.Registry) (*schema, error) {
	s := &schema{roots: map[string]rootInfo{}, entities: map[string]*entityInfo{}}
	for _, e := range reg.Entities {
		s.entities[e.Name] = &entityInfo{
			e: e, typeName: e.TypeName(), intID: e.IDType == registry.Int,
			statics: map[string]*registry.Feature{}, actions: map[string]*actionInfo{},
			mapEntry: map[*registry.Feature]string{}, staticIx: map[*registry.Feature]struct{}{},
			onDemand: map[string]*registry.Feature{},
		}
	}
	for _, e := range reg.Entities {
		ei := s.entities[e.Name]
		s.roots[e.QueryField()] = rootInfo{ent: ei}
		s.roots[e.BatchQueryField()] = rootInfo{ent: ei, many: true}
		for _, f := range e.Static {
			ei.statics[f.GraphQLName()] = f
			ei.staticIx[f] = struct{}{}
			if f.Container == registry.Map {
				ei.mapEntry[f] = gqlschema.MapEntryType(f.Type)
			}
		}
		for _, f := range append(append([]*registry.Feature{}, e.Services...), e.Derived...) {
			ei.onDemand[f.GraphQLName()] = f
			if f.Container == registry.Map {
				ei.mapEntry[f] = gqlschema.MapEntryType(f.Type)
			}
		}
		for _, f := range e.Actions {
			ai := &actionInfo{f: f, typeName: f.EventTypeName(), fields: map[string]int{}, joins: map[string]int{},
				byMember: map[string]int{}, target: map[int]*entityInfo{}}
			for i, fl := range f.Fields {
				ai.fields[fl.GraphQLName()] = i
				ai.byMember[fl.Name] = i
				if fl.Join != "" {
					t := s.entities[fl.Join]
					if t == nil {
						return nil, fmt.Errorf("plan: %s.%s joins unknown entity %q", e.Name, fl.Name, fl.Join)
					}
					ai.joins[registry.Camel(fl.JoinName())] = i
					ai.target[i] = t
				}
			}
			ei.actions[f.GraphQLName()] = ai
		}
	}
	return s, nil
}
