package registry

import (
	"fmt"
	"sort"
)

// finish attaches features to their entities and checks everything that spans definitions:
// names that collide after GraphQL case conversion, joins, streams and event fields.
func (p *parser) finish() *Registry {
	reg := &Registry{Streams: p.streams, byName: p.entities, Limits: DefaultLimits}
	if p.limits != nil {
		reg.Limits = *p.limits
	}
	for _, e := range p.entities {
		reg.Entities = append(reg.Entities, e)
	}
	sort.Slice(reg.Entities, func(i, j int) bool { return reg.Entities[i].Name < reg.Entities[j].Name })

	for _, pf := range p.pending {
		e := p.entities[pf.entity]
		if e == nil {
			fix := "declare it under `entities:`"
			if s := suggest(pf.entity, keys(p.entities)); s != "" {
				fix = fmt.Sprintf("did you mean %q?", s)
			}
			p.errs.add(pf.pos, fix, "feature %q belongs to unknown entity %q", pf.f.Name, pf.entity)
			continue
		}
		f := pf.f
		f.Entity = e
		if !snakeName.MatchString(f.Name) {
			p.errs.add(f.Pos, "use lower snake_case, e.g. \"region_id\"", "feature name %s.%s is not snake_case", e.Name, f.Name)
		}
		if prev := e.byName[f.Name]; prev != nil {
			p.errs.add(f.Pos, "keep one definition or rename one", "feature %s.%s is defined twice (first at %s:%d)", e.Name, f.Name, prev.Pos.File, prev.Pos.Line)
			continue
		}
		e.byName[f.Name] = f
		f.Limits = reg.Limits
		p.feature(pf)
		switch f.FeatureType {
		case Static:
			e.Static = append(e.Static, f)
		case Action:
			e.Actions = append(e.Actions, f)
		case ServiceFeature:
			e.Services = append(e.Services, f)
		case DerivedFeature:
			e.Derived = append(e.Derived, f)
		}
	}
	p.checkNames(reg)
	p.finishOffline(reg)
	for _, e := range reg.Entities {
		sort.Slice(e.Static, func(i, j int) bool { return e.Static[i].Name < e.Static[j].Name })
		sort.Slice(e.Actions, func(i, j int) bool { return e.Actions[i].Name < e.Actions[j].Name })
		sort.Slice(e.Services, func(i, j int) bool { return e.Services[i].Name < e.Services[j].Name })
		sort.Slice(e.Derived, func(i, j int) bool { return e.Derived[i].Name < e.Derived[j].Name })
		for _, f := range e.Actions {
			p.checkJoins(f)
		}
		for _, f := range e.Features() {
			for _, es := range f.Events {
				p.checkEvent(es)
			}
		}
	}
	p.finishOnDemand(reg)
	if len(reg.Entities) == 0 && len(p.errs) == 0 {
		p.errs.add(Pos{File: "(registry)", Line: 1}, "declare at least one entity under `entities:`", "the registry has no entities")
	}
	return reg
}

// checkNames reports names that would collide in the generated GraphQL schema.
func (p *parser) checkNames(reg *Registry) {
	types := map[string]string{}  // GraphQL type name → what defines it
	fields := map[string]string{} // Query field → what defines it
	claim := func(m map[string]string, name, what string, pos Pos, kind string) {
		if prev, ok := m[name]; ok {
			p.errs.add(pos, "rename one of them", "%s would be %s %q, which %s already is", what, kind, name, prev)
			return
		}
		m[name] = what
	}
	for _, t := range []string{"Query", "Mutation", "Subscription", "Time", "JSON", "Int", "Float", "String", "Boolean", "ID"} {
		types[t] = "a built-in type"
	}
	for _, t := range Types {
		types[string(t)+"MapEntry"] = "a built-in map entry type"
	}
	prefixes := map[string]*Entity{}
	for _, e := range reg.Entities {
		if prev := prefixes[e.Prefix]; prev != nil && e.Prefix != "" {
			p.errs.add(e.Pos, "give every entity its own prefix", "entity %q uses prefix %q, as entity %q does: their keys would collide", e.Name, e.Prefix, prev.Name)
		}
		prefixes[e.Prefix] = e
		claim(types, e.TypeName(), "entity "+e.Name, e.Pos, "GraphQL type")
		claim(fields, e.QueryField(), "entity "+e.Name, e.Pos, "Query field")
		claim(fields, e.BatchQueryField(), "the plural of entity "+e.Name, e.Pos, "Query field")

		own := map[string]string{"id": "the id field"}
		for _, f := range e.Features() {
			claim(own, f.GraphQLName(), fmt.Sprintf("feature %s.%s", e.Name, f.Name), f.Pos, "field")
			if f.FeatureType != Action {
				continue
			}
			claim(types, f.EventTypeName(), fmt.Sprintf("the events of %s.%s", e.Name, f.Name), f.Pos, "GraphQL type")
			evFields := map[string]string{"timestamp": "the event time field"}
			for _, fl := range f.Fields {
				claim(evFields, fl.GraphQLName(), fmt.Sprintf("field %q of %s.%s", fl.Name, e.Name, f.Name), fl.Pos, "field")
				if fl.Join != "" {
					claim(evFields, Camel(fl.JoinName()), fmt.Sprintf("the join of field %q of %s.%s", fl.Name, e.Name, f.Name), fl.Pos, "field")
				}
			}
		}
	}
}

func (p *parser) checkJoins(f *Feature) {
	for _, fl := range f.Fields {
		if fl.Join == "" {
			continue
		}
		target := p.entities[fl.Join]
		if target == nil {
			fix := "join one of: " + fmt.Sprint(keys(p.entities))
			if s := suggest(fl.Join, keys(p.entities)); s != "" {
				fix = fmt.Sprintf("did you mean %q?", s)
			}
			p.errs.add(fl.Pos, fix, "feature %s.%s: field %q joins unknown entity %q", f.Entity.Name, f.Name, fl.Name, fl.Join)
			continue
		}
		if fl.Type != "" && fl.Type != target.IDType {
			p.errs.add(fl.Pos, fmt.Sprintf("make the field's type %s", target.IDType),
				"feature %s.%s: field %q is %s but joins %q, whose ids are %s", f.Entity.Name, f.Name, fl.Name, fl.Type, target.Name, target.IDType)
		}
	}
}

func (p *parser) checkEvent(es *EventSpec) {
	f := es.Feature
	what := fmt.Sprintf("feature %s.%s event", f.Entity.Name, f.Name)
	if es.StreamName != "" && p.streams[es.StreamName] == nil {
		fix := fmt.Sprintf("declare it under `streams:` (e.g. `%s: { subTopicField: event_name }`)", es.StreamName)
		if s := suggest(es.StreamName, keys(p.streams)); s != "" {
			fix = fmt.Sprintf("did you mean %q?", s)
		}
		p.errs.add(es.Pos, fix, "%s: unknown stream %q", what, es.StreamName)
	}
	if len(es.Fields) == 0 {
		p.errs.add(es.Pos, "add `fields:` naming where the value is in the event", "%s has no fields", what)
		return
	}
	if f.FeatureType == Static {
		if len(es.Fields) != 1 {
			p.errs.add(es.Pos, "keep one field: the path of the value", "%s: a static feature's event has exactly one field, got %d", what, len(es.Fields))
			return
		}
		ef := es.Fields[0]
		if ef.Type == "" {
			ef.Type = f.Type
		} else if ef.Type != f.Type && f.Type != "" {
			p.errs.add(ef.Pos, fmt.Sprintf("use type %s or leave type out", f.Type), "%s: field %q has type %s but the feature is %s", what, ef.Path, ef.Type, f.Type)
		}
		if ef.Rename != "" && ef.Rename != f.Name {
			p.errs.add(ef.Pos, fmt.Sprintf("use `rename: %s` or leave rename out", f.Name), "%s: field %q is renamed to %q, not to the feature %q", what, ef.Path, ef.Rename, f.Name)
		}
		return
	}
	seen := map[string]bool{}
	for _, ef := range es.Fields {
		target := f.Field(ef.Target())
		if target == nil {
			names := make([]string, len(f.Fields))
			for i, fl := range f.Fields {
				names[i] = fl.Name
			}
			fix := fmt.Sprintf("rename it to one of %v, or add it to the feature's fields", names)
			if s := suggest(ef.Target(), names); s != "" {
				fix = fmt.Sprintf("did you mean `rename: %s`?", s)
			}
			p.errs.add(ef.Pos, fix, "%s: field %q feeds %q, which is not a field of the feature", what, ef.Path, ef.Target())
			continue
		}
		if seen[target.Name] {
			p.errs.add(ef.Pos, "remove one of them", "%s: two event fields feed %q", what, target.Name)
		}
		seen[target.Name] = true
		if ef.Type == "" {
			ef.Type = target.Type
		} else if ef.Type != target.Type && target.Type != "" {
			p.errs.add(ef.Pos, fmt.Sprintf("use type %s or leave type out", target.Type), "%s: field %q has type %s but %q is %s", what, ef.Path, ef.Type, target.Name, target.Type)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
