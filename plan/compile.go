package plan

import (
	"errors"
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// errNotCovered says an operation uses something the plans do not implement; gqlgen's executor
// answers it.
var errNotCovered = errors.New("plan: operation not covered")

func notCovered(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errNotCovered, fmt.Sprintf(format, args...))
}

// Plan is a compiled operation: for every level, the store reads it needs and how to write the
// answer. It is immutable and shared by every request that runs it.
type Plan struct {
	roots []rootField
	// forbidden lists the fields the caller may not read (access.go): the plan is then a
	// refusal, never run.
	forbidden gqlerror.List
}

type rootField struct {
	key      string // `"alias":`
	alias    string
	typename bool // Query.__typename
	// introspect is "__schema" or "__type" for an introspection root field, answered from the
	// schema with sel (introspect.go).
	introspect string
	sel        ast.SelectionSet
	root       rootInfo
	arg        *ast.Value // id or ids; nil when absent
	asOf       *ast.Value
	loc        gqlerror.Location
	ld         *load
	ws         *writeSel
}

// load is what one batch of entities of one kind reads: the static features (each once, with
// every alias it is answered under, for errors) and the action fields.
type load struct {
	ent     *entityInfo
	statics []staticRead
	actions []*actionField
	// On-demand features (ondemand.go): service features each read once (with every alias),
	// derived fields each evaluated per alias, and the index of every static in statics.
	services []staticRead
	deriveds []*derivedField
	staticIx map[*registry.Feature]int
}

type staticRead struct {
	f       *registry.Feature
	aliases []string
	// kind is the store.Kind a stored value of f has when it needs no conversion (a single
	// value of its type; Absent for containers): setValue takes it as it is.
	kind store.Kind
}

func newStaticRead(f *registry.Feature) staticRead {
	return staticRead{f: f, kind: registry.SingleKind(f.Type, f.Container)}
}

type actionField struct {
	ai        *actionInfo
	alias     string
	joinAlias string // on a joined entity: the alias of the join field it is written under
	// hidden: read for the derived fields of the load only (not selected, never written, its
	// errors are theirs).
	hidden   bool
	count    *ast.Value
	lastNSec *ast.Value
	filter   *ast.Value
	asOf     *ast.Value
	loc      gqlerror.Location
	ev       *eventSel
}

type fieldKind uint8

const (
	kTypename fieldKind = iota
	kID
	kStatic
	kMap
	kAction
	kTimestamp
	kEventField
	kJoin
	kEntryKey
	kEntryValue
	kService // a service feature (ondemand.go)
	kDerived // a derived feature (ondemand.go)
)

// writeSel writes one object of a load.
type writeSel struct {
	fields []objField
}

type objField struct {
	key   string // `"alias":`
	kind  fieldKind
	n     int       // static or action index in the load; event field or join index in the event
	lit   string    // __typename's value, JSON-encoded
	entry *writeSel // map entry selection
	join  *writeSel // the joined object's selection under this alias
}

type eventSel struct {
	fields []objField
	joins  []*joinLoad
}

// joinLoad reads the entities that a join field of the events refers to. Like gqlgen's path
// (resolvers.join), every alias of the join field shares one load of the union of their
// selections, and static errors are reported under the first alias.
type joinLoad struct {
	field  int // index of the id field in the feature's fields
	target *entityInfo
	alias  string
	ld     *load
}

// collected is a field after merging by response key, as gqlgen's CollectFields does.
type collected struct {
	name, alias string
	first       *ast.Field
	sel         ast.SelectionSet
}

type compiler struct {
	s    *schema
	doc  *ast.QueryDocument
	vars map[string]any
	// acc is what the caller may read (nil: everything); forbidden collects what it selected
	// beyond that (access.go).
	acc       Access
	forbidden gqlerror.List
}

// compile builds the plan of op. vars matter only for @include/@skip, which the plan resolves at
// compile time (the cache keys plans by those variables' values).
// acc (nil: no access control) is what the caller may read.
func compile(s *schema, doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any, acc Access) (*Plan, error) {
	if op.Operation != ast.Query {
		return nil, notCovered("%s operation", op.Operation)
	}
	if len(op.Directives) > 0 {
		return nil, notCovered("operation directive")
	}
	c := &compiler{s: s, doc: doc, vars: vars, acc: acc}
	fields, err := c.collect(op.SelectionSet)
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	for _, cf := range fields {
		rf := rootField{key: jsonKey(cf.alias), alias: cf.alias}
		if cf.name == "__typename" {
			rf.typename = true
			p.roots = append(p.roots, rf)
			continue
		}
		if cf.name == "__schema" || cf.name == "__type" {
			rf.introspect, rf.sel = cf.name, cf.sel
			if p := cf.first.Position; p != nil {
				rf.loc = gqlerror.Location{Line: p.Line, Column: p.Column}
			}
			if a := cf.first.Arguments.ForName("name"); a != nil {
				rf.arg = a.Value
			}
			p.roots = append(p.roots, rf)
			continue
		}
		ri, ok := s.roots[cf.name]
		if !ok {
			return nil, notCovered("Query.%s", cf.name)
		}
		rf.root = ri
		if !c.readsEntity(ri.ent.e) {
			c.forbid([]string{cf.alias}, cf.first, "Query."+cf.name+" (entity "+ri.ent.e.Name+")")
			continue
		}
		argName := "id"
		if ri.many {
			argName = "ids"
		}
		if p := cf.first.Position; p != nil {
			rf.loc = gqlerror.Location{Line: p.Line, Column: p.Column}
		}
		for _, a := range cf.first.Arguments {
			switch a.Name {
			case argName:
				rf.arg = a.Value
			case "asOf":
				rf.asOf = a.Value
			default:
				return nil, notCovered("argument %s", a.Name)
			}
		}
		sub, err := c.collect(cf.sel)
		if err != nil {
			return nil, err
		}
		ld, wss, err := c.entity(ri.ent, [][]collected{sub}, []string{""}, [][]string{{cf.alias}})
		if err != nil {
			return nil, err
		}
		rf.ld, rf.ws = ld, wss[0]
		p.roots = append(p.roots, rf)
	}
	if len(c.forbidden) > 0 {
		return &Plan{forbidden: c.forbidden}, nil
	}
	return p, nil
}

// entity compiles the selections on one entity type: lists holds one collected selection per
// alias (one for a root field; one per alias of a join field), all read by one load. paths are
// the response paths of the lists (for FORBIDDEN errors).
func (c *compiler) entity(ent *entityInfo, lists [][]collected, joinAliases []string, paths [][]string) (*load, []*writeSel, error) {
	ld := &load{ent: ent, staticIx: map[*registry.Feature]int{}}
	index := ld.staticIx
	wss := make([]*writeSel, len(lists))
	for k, list := range lists {
		ws := &writeSel{}
		for _, cf := range list {
			of := objField{key: jsonKey(cf.alias)}
			switch {
			case cf.name == "__typename":
				of.kind, of.lit = kTypename, jsonString(ent.typeName)
			case cf.name == "id":
				of.kind = kID
			case ent.statics[cf.name] != nil:
				f := ent.statics[cf.name]
				if !c.readsFeature(f) {
					c.forbid(append(paths[k][:len(paths[k]):len(paths[k])], cf.alias), cf.first, ent.typeName+"."+cf.name+" (feature "+ent.e.Name+"."+f.Name+")")
					continue
				}
				j, seen := index[f]
				if !seen {
					j = len(ld.statics)
					index[f] = j
					ld.statics = append(ld.statics, newStaticRead(f))
				}
				ld.statics[j].aliases = append(ld.statics[j].aliases, cf.alias)
				of.kind, of.n = kStatic, j
				if entry, ok := ent.mapEntry[f]; ok {
					es, err := c.mapEntry(entry, cf.sel)
					if err != nil {
						return nil, nil, err
					}
					of.kind, of.entry = kMap, es
				}
			case ent.actions[cf.name] != nil:
				ai := ent.actions[cf.name]
				path := append(paths[k][:len(paths[k]):len(paths[k])], cf.alias)
				if !c.readsFeature(ai.f) {
					c.forbid(path, cf.first, ent.typeName+"."+cf.name+" (feature "+ent.e.Name+"."+ai.f.Name+")")
					continue
				}
				af, err := c.action(ai, cf, path)
				if err != nil {
					return nil, nil, err
				}
				af.joinAlias = joinAliases[k]
				of.kind, of.n = kAction, len(ld.actions)
				ld.actions = append(ld.actions, af)
			case ent.onDemand[cf.name] != nil:
				if err := c.onDemand(ld, &of, ent.onDemand[cf.name], cf, joinAliases[k]); err != nil {
					return nil, nil, err
				}
			default:
				return nil, nil, notCovered("%s.%s", ent.typeName, cf.name)
			}
			if cf.name != "__typename" && len(cf.first.Arguments) > 0 && of.kind != kAction && of.kind != kDerived {
				return nil, nil, notCovered("arguments on %s.%s", ent.typeName, cf.name)
			}
			ws.fields = append(ws.fields, of)
		}
		wss[k] = ws
	}
	return ld, wss, nil
}

func (c *compiler) mapEntry(typeName string, sel ast.SelectionSet) (*writeSel, error) {
	fields, err := c.collect(sel)
	if err != nil {
		return nil, err
	}
	ws := &writeSel{}
	for _, cf := range fields {
		of := objField{key: jsonKey(cf.alias)}
		switch cf.name {
		case "__typename":
			of.kind, of.lit = kTypename, jsonString(typeName)
		case "key":
			of.kind = kEntryKey
		case "value":
			of.kind = kEntryValue
		default:
			return nil, notCovered("%s.%s", typeName, cf.name)
		}
		ws.fields = append(ws.fields, of)
	}
	return ws, nil
}

func (c *compiler) action(ai *actionInfo, cf collected, path []string) (*actionField, error) {
	af := &actionField{ai: ai, alias: cf.alias}
	if p := cf.first.Position; p != nil {
		af.loc = gqlerror.Location{Line: p.Line, Column: p.Column}
	}
	for _, a := range cf.first.Arguments {
		switch a.Name {
		case "count":
			af.count = a.Value
		case "lastNSec":
			af.lastNSec = a.Value
		case "filter":
			af.filter = a.Value
		case "asOf":
			af.asOf = a.Value
		default:
			return nil, notCovered("argument %s", a.Name)
		}
	}
	fields, err := c.collect(cf.sel)
	if err != nil {
		return nil, err
	}
	ev := &eventSel{}
	joinIx := map[int]int{} // event field index → index in ev.joins
	var joinLists [][][]collected
	var joinAliases [][]string
	var pending []int // ev.fields positions of join fields, patched below
	for _, e := range fields {
		of := objField{key: jsonKey(e.alias)}
		if e.name != "__typename" && len(e.first.Arguments) > 0 {
			return nil, notCovered("arguments on %s.%s", ai.typeName, e.name)
		}
		if e.name == "__typename" {
			of.kind, of.lit = kTypename, jsonString(ai.typeName)
		} else if e.name == "timestamp" {
			of.kind = kTimestamp
		} else if i, ok := ai.fields[e.name]; ok {
			of.kind, of.n = kEventField, i
		} else if i, ok := ai.joins[e.name]; ok {
			if !c.readsEntity(ai.target[i].e) {
				c.forbid(append(path[:len(path):len(path)], e.alias), e.first, ai.typeName+"."+e.name+" (entity "+ai.target[i].e.Name+")")
				continue
			}
			j, seen := joinIx[i]
			if !seen {
				j = len(ev.joins)
				joinIx[i] = j
				ev.joins = append(ev.joins, &joinLoad{field: i, target: ai.target[i], alias: e.alias})
				joinLists = append(joinLists, nil)
				joinAliases = append(joinAliases, nil)
			}
			sub, err := c.collect(e.sel)
			if err != nil {
				return nil, err
			}
			joinLists[j] = append(joinLists[j], sub)
			joinAliases[j] = append(joinAliases[j], e.alias)
			of.kind, of.n = kJoin, j
			pending = append(pending, len(ev.fields))
		} else {
			return nil, notCovered("%s.%s", ai.typeName, e.name)
		}
		ev.fields = append(ev.fields, of)
	}
	// One load per join field, over the union of its aliases' selections; each alias writes
	// its own selection.
	written := make([]int, len(ev.joins))
	wsOf := make([][]*writeSel, len(ev.joins))
	for j, jl := range ev.joins {
		jpaths := make([][]string, len(joinAliases[j]))
		for k, a := range joinAliases[j] {
			jpaths[k] = append(path[:len(path):len(path)], a)
		}
		ld, wss, err := c.entity(jl.target, joinLists[j], joinAliases[j], jpaths)
		if err != nil {
			return nil, err
		}
		jl.ld, wsOf[j] = ld, wss
	}
	for _, at := range pending {
		of := &ev.fields[at]
		of.join = wsOf[of.n][written[of.n]]
		written[of.n]++
	}
	af.ev = ev
	return af, nil
}

// collect merges the selections of one object by response key in order of first appearance,
// expanding fragments and applying @include/@skip: the same algorithm as gqlgen's
// graphql.CollectFields (a fragment spread is expanded once per selection set).
func (c *compiler) collect(sel ast.SelectionSet) ([]collected, error) {
	var out []collected
	return out, c.collectInto(&out, sel, map[string]bool{})
}

func (c *compiler) collectInto(out *[]collected, sel ast.SelectionSet, visited map[string]bool) error {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			ok, err := c.included(s.Directives)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			merged := false
			for i := range *out {
				if (*out)[i].alias == s.Alias && (*out)[i].name == s.Name {
					(*out)[i].sel = append((*out)[i].sel, s.SelectionSet...)
					merged = true
					break
				}
			}
			if !merged {
				*out = append(*out, collected{name: s.Name, alias: s.Alias, first: s, sel: append(ast.SelectionSet(nil), s.SelectionSet...)})
			}
		case *ast.InlineFragment:
			ok, err := c.included(s.Directives)
			if err != nil {
				return err
			}
			if ok {
				if err := c.collectInto(out, s.SelectionSet, visited); err != nil {
					return err
				}
			}
		case *ast.FragmentSpread:
			if visited[s.Name] {
				continue
			}
			ok, err := c.included(s.Directives)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			visited[s.Name] = true
			f := c.doc.Fragments.ForName(s.Name)
			if f == nil {
				return notCovered("missing fragment %s", s.Name)
			}
			if len(f.Directives) > 0 {
				return notCovered("fragment directive")
			}
			if err := c.collectInto(out, f.SelectionSet, visited); err != nil {
				return err
			}
		default:
			return notCovered("selection %T", s)
		}
	}
	return nil
}

// included evaluates @skip and @include (@defer changes nothing: see below).
func (c *compiler) included(ds ast.DirectiveList) (bool, error) {
	include := true
	for _, d := range ds {
		if d.Name == "defer" {
			continue // over the HTTP transports served, gqlgen answers deferred fragments inline
		}
		if d.Name != "skip" && d.Name != "include" {
			return false, notCovered("directive @%s", d.Name)
		}
		a := d.Arguments.ForName("if")
		if a == nil {
			return false, notCovered("@%s without if", d.Name)
		}
		v, err := a.Value.Value(c.vars)
		b, ok := v.(bool)
		if err != nil || !ok {
			return false, notCovered("@%s(if:) is not a boolean", d.Name)
		}
		if d.Name == "skip" && b || d.Name == "include" && !b {
			include = false
		}
	}
	return include, nil
}

// conditionVars lists the variables that @include/@skip read anywhere in the document: a plan
// is compiled per combination of their values.
func conditionVars(doc *ast.QueryDocument) []string {
	var names []string
	seen := map[string]bool{}
	var walk func(ast.SelectionSet)
	dirs := func(ds ast.DirectiveList) {
		for _, d := range ds {
			for _, a := range d.Arguments {
				if a.Value != nil && a.Value.Kind == ast.Variable && !seen[a.Value.Raw] {
					seen[a.Value.Raw] = true
					names = append(names, a.Value.Raw)
				}
			}
		}
	}
	walk = func(sel ast.SelectionSet) {
		for _, s := range sel {
			switch s := s.(type) {
			case *ast.Field:
				dirs(s.Directives)
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				dirs(s.Directives)
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				dirs(s.Directives)
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		walk(f.SelectionSet)
	}
	return names
}

func jsonKey(alias string) string { return jsonString(alias) + ":" }

func jsonString(s string) string { return string(store.AppendString(nil, s)) }
