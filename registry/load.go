package registry

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads every *.yaml and *.yml file under dir (recursively), merges them and validates the
// result. The error, if any, is an *Error listing every problem.
func Load(dir string) (*Registry, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("feature registry: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("feature registry: %s is not a directory", dir)
	}
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS is Load over a file system; name is how the root is shown in error positions.
func LoadFS(fsys fs.FS, name string) (*Registry, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[path.Join(name, p)] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("feature registry: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("feature registry: no *.yaml files under %s", name)
	}
	return Parse(files)
}

// Parse merges and validates registry files given as name → content.
func Parse(files map[string][]byte) (*Registry, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	p := &parser{
		entities: map[string]*Entity{},
		streams:  map[string]*Stream{},
		features: map[string]*Feature{},

		featureDownsync: map[*Feature]*downsyncBlock{},
		svcs:            map[string]*Service{},
		exprNodes:       map[*Feature]exprAt{},
	}
	for _, n := range names {
		p.file(n, files[n])
	}
	reg := p.finish()
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return reg, nil
}

type parser struct {
	errs     problems
	limits   *Limits // the registry's top-level limits, when a file set them
	limitsAt Pos
	entities map[string]*Entity
	streams  map[string]*Stream
	features map[string]*Feature // "entity.feature"
	pending  []pendingFeature    // features whose entity may be declared in a later file

	// Online to offline (offline.go).
	downsyncDefault *downsyncBlock
	featureDownsync map[*Feature]*downsyncBlock
	served          *ServedLog

	// On-demand features (ondemand.go).
	svcs       map[string]*Service
	sourceRefs []sourceRef
	exprNodes  map[*Feature]exprAt
}

type pendingFeature struct {
	entity string
	pos    Pos
	f      *Feature
	node   *yaml.Node
	file   string
}

// node helpers -------------------------------------------------------------------------------

type fields struct {
	byKey map[string]*yaml.Node
	keys  map[string]*yaml.Node // the key nodes, for positions
}

func (p *parser) pos(file string, n *yaml.Node) Pos { return Pos{File: file, Line: n.Line} }

// deref follows a YAML alias (*name) to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// pairs returns the key/value pairs of a mapping with YAML merge keys (<<: *anchor, or a list
// of anchors) expanded: merged pairs come first, so the mapping's own keys override them.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	var merged, own [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if k.Value != "<<" || k.Tag != "!!merge" {
			own = append(own, [2]*yaml.Node{k, v})
			continue
		}
		srcs := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, src := range srcs {
			if src = deref(src); src.Kind == yaml.MappingNode {
				merged = append(merged, pairs(src)...)
			}
		}
	}
	if len(merged) == 0 {
		return own
	}
	ownKeys := map[string]bool{}
	for _, kv := range own {
		ownKeys[kv[0].Value] = true
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	for _, kv := range merged {
		if !ownKeys[kv[0].Value] && !seen[kv[0].Value] {
			seen[kv[0].Value] = true
			out = append(out, kv)
		}
	}
	return append(out, own...)
}

// mapping checks that n is a mapping with only allowed keys and returns its values by key.
func (p *parser) mapping(file string, n *yaml.Node, what string, allowed ...string) *fields {
	f := &fields{byKey: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errs.add(p.pos(file, n), "", "%s must be a mapping of keys to values, got %s", what, kindName(n))
		return f
	}
	for _, kv := range pairs(n) {
		k, v := kv[0], kv[1]
		if prev, dup := f.keys[k.Value]; dup {
			p.errs.add(p.pos(file, k), "remove one of them", "duplicate key %q in %s (first at line %d)", k.Value, what, prev.Line)
			continue
		}
		if allowed != nil && !contains(allowed, k.Value) {
			fix := "allowed keys: " + strings.Join(allowed, ", ")
			if s := suggest(k.Value, allowed); s != "" {
				fix = fmt.Sprintf("did you mean %q?", s)
			}
			p.errs.add(p.pos(file, k), fix, "unknown key %q in %s", k.Value, what)
			continue
		}
		f.byKey[k.Value] = v
		f.keys[k.Value] = k
	}
	return f
}

// entries returns the key/value pairs of a mapping, in file order.
func (p *parser) entries(file string, n *yaml.Node, what string) [][2]*yaml.Node {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errs.add(p.pos(file, n), "", "%s must be a mapping, got %s", what, kindName(n))
		return nil
	}
	var out [][2]*yaml.Node
	seen := map[string]int{}
	for _, kv := range pairs(n) {
		k := kv[0]
		if line, dup := seen[k.Value]; dup {
			p.errs.add(p.pos(file, k), "remove or rename one of them", "duplicate %q in %s (first at line %d)", k.Value, what, line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, kv)
	}
	return out
}

func (p *parser) str(file string, n *yaml.Node, what string) string {
	if n = deref(n); n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errs.add(p.pos(file, n), "", "%s must be a string, got %s", what, kindName(n))
		return ""
	}
	return n.Value
}

func (p *parser) integer(file string, n *yaml.Node, what string) (int, bool) {
	if n = deref(n); n == nil {
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		p.errs.add(p.pos(file, n), "", "%s must be a whole number, got %q", what, n.Value)
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(file string, n *yaml.Node, what string) (bool, bool) {
	if n = deref(n); n == nil {
		return false, false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		p.errs.add(p.pos(file, n), "use true or false", "%s must be true or false, got %q", what, n.Value)
		return false, false
	}
	return b, true
}

func (p *parser) seq(file string, n *yaml.Node, what string) []*yaml.Node {
	if n = deref(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errs.add(p.pos(file, n), "write it as a list (- item)", "%s must be a list, got %s", what, kindName(n))
		return nil
	}
	return n.Content
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "an empty document"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decode turns a YAML value into the plain Go value JSON decoding would give, for Coerce.
func decode(n *yaml.Node) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return normalizeYAML(v), nil
}

func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
		return x
	case int:
		return int64(x)
	case uint64:
		return float64(x)
	}
	return v
}

// files --------------------------------------------------------------------------------------

func (p *parser) file(file string, src []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		pos, msg := syntaxError(file, src, err)
		p.errs.add(pos, syntaxFix(src, pos, msg), "YAML syntax error: %s", msg)
		return
	}
	if len(doc.Content) == 0 {
		return // an empty file is allowed
	}
	// Top-level keys starting with "x-" are free: a place to define YAML anchors (&name) that
	// features reuse with aliases (*name) and merge keys (<<: *name).
	root := deref(doc.Content[0])
	if root.Kind == yaml.MappingNode {
		kept := &yaml.Node{Kind: yaml.MappingNode, Line: root.Line, Column: root.Column}
		for i := 0; i+1 < len(root.Content); i += 2 {
			if !strings.HasPrefix(root.Content[i].Value, "x-") {
				kept.Content = append(kept.Content, root.Content[i], root.Content[i+1])
			}
		}
		root = kept
	}
	top := p.mapping(file, root, "the file", "entities", "features", "streams", "downsync", "servedLog", "limits", "services")
	if n := top.byKey["services"]; n != nil {
		p.services(file, n)
	}
	if n := top.byKey["downsync"]; n != nil {
		p.defaultDownsync(file, n)
	}
	if n := top.byKey["servedLog"]; n != nil {
		p.servedLog(file, n)
	}
	if n := top.byKey["limits"]; n != nil {
		at := p.pos(file, top.keys["limits"])
		if p.limits != nil {
			p.errs.add(at, "keep one `limits:` block", "the registry's limits are set twice (first at %s:%d)", p.limitsAt.File, p.limitsAt.Line)
		} else {
			l := p.limitsBlock(file, n, "limits", DefaultLimits)
			p.limits, p.limitsAt = &l, at
		}
	}
	if n := top.byKey["streams"]; n != nil {
		for _, kv := range p.entries(file, n, "streams") {
			p.stream(file, kv[0], kv[1])
		}
	}
	if n := top.byKey["entities"]; n != nil {
		for _, kv := range p.entries(file, n, "entities") {
			p.entity(file, kv[0], kv[1])
		}
	}
	if n := top.byKey["features"]; n != nil {
		for _, kv := range p.entries(file, n, "features") {
			ename := kv[0].Value
			for _, fkv := range p.entries(file, kv[1], "features of "+ename) {
				p.pending = append(p.pending, pendingFeature{entity: ename, pos: p.pos(file, fkv[0]), node: fkv[1], file: file,
					f: &Feature{Name: fkv[0].Value, Pos: p.pos(file, fkv[0])}})
			}
		}
	}
}

func (p *parser) stream(file string, k, v *yaml.Node) {
	name := k.Value
	if !snakeName.MatchString(name) {
		p.errs.add(p.pos(file, k), "use lower snake_case", "stream name %q is not snake_case", name)
	}
	if prev, dup := p.streams[name]; dup {
		p.errs.add(p.pos(file, k), "keep one definition", "stream %q is defined twice (first at %s:%d)", name, prev.Pos.File, prev.Pos.Line)
		return
	}
	f := p.mapping(file, v, "stream "+name, "subTopicField", "description")
	s := &Stream{Name: name, Pos: p.pos(file, k), SubTopicField: "event_name", Description: p.str(file, f.byKey["description"], "description")}
	if n := f.byKey["subTopicField"]; n != nil {
		s.SubTopicField = p.str(file, n, "subTopicField")
	}
	p.streams[name] = s
}

func (p *parser) entity(file string, k, v *yaml.Node) {
	name := k.Value
	pos := p.pos(file, k)
	if !snakeName.MatchString(name) {
		p.errs.add(pos, "use lower snake_case, e.g. \"user\"", "entity name %q is not snake_case", name)
	}
	if prev, dup := p.entities[name]; dup {
		p.errs.add(pos, "keep one definition", "entity %q is defined twice (first at %s:%d)", name, prev.Pos.File, prev.Pos.Line)
		return
	}
	f := p.mapping(file, v, "entity "+name, "prefix", "idType", "description", "plural", "exampleId")
	e := &Entity{Name: name, Pos: pos, IDType: Int, Plural: name + "s", byName: map[string]*Feature{}}
	e.Description = p.str(file, f.byKey["description"], "description")
	if n := f.byKey["prefix"]; n == nil {
		p.errs.add(pos, fmt.Sprintf("add `prefix: %s`", name[:1]), "entity %q has no prefix (the key prefix in the stores)", name)
	} else {
		e.Prefix = p.str(file, n, "prefix")
		if e.Prefix == "" || strings.ContainsAny(e.Prefix, "# \t{}") {
			p.errs.add(p.pos(file, n), "use letters, digits and ':' only", "entity %q: prefix %q must be non-empty and hold no '#', space or braces", name, e.Prefix)
		}
	}
	if n := f.byKey["idType"]; n != nil {
		switch t := Type(p.str(file, n, "idType")); t {
		case Int, String:
			e.IDType = t
		default:
			p.errs.add(p.pos(file, n), "use Int or String", "entity %q: idType %q is not an id type", name, t)
		}
	}
	if n := f.byKey["plural"]; n != nil {
		e.Plural = p.str(file, n, "plural")
		if !snakeName.MatchString(e.Plural) || e.Plural == name {
			p.errs.add(p.pos(file, n), "use a snake_case name different from the entity's", "entity %q: plural %q is not a usable name", name, e.Plural)
		}
	}
	if n := f.byKey["exampleId"]; n != nil {
		e.ExampleID = p.str(file, n, "exampleId")
		if _, err := strconv.ParseInt(e.ExampleID, 10, 64); e.ExampleID == "" || (e.IDType == Int && err != nil) {
			p.errs.add(p.pos(file, n), "give an id the stores hold, e.g. `exampleId: 1`", "entity %q: exampleId %q is not an id of type %s", name, e.ExampleID, e.IDType)
		}
	}
	p.entities[name] = e
}

var featureKeys = []string{
	"featureType", "type", "containerType", "description", "owner", "deprecated", "tags", "defaultValue",
	"events", "maxCount", "ttl", "defaultCount", "dedupe", "fields", "history", "historyTTL", "downsync", "limits",
	"source", "expr", "arguments",
}

func (p *parser) feature(pf pendingFeature) {
	file, f, e := pf.file, pf.f, pf.f.Entity
	what := fmt.Sprintf("feature %s.%s", e.Name, f.Name)
	m := p.mapping(file, pf.node, what, featureKeys...)
	ft := FeatureType(p.str(file, m.byKey["featureType"], "featureType"))
	if ft == "" && m.byKey["featureType"] == nil {
		// An on-demand feature says what it is by its source or expression.
		if m.byKey["source"] != nil {
			ft = ServiceFeature
		} else if m.byKey["expr"] != nil {
			ft = DerivedFeature
		}
	}
	switch ft {
	case Static, Action, ServiceFeature, DerivedFeature:
		f.FeatureType = ft
	case "":
		if m.byKey["featureType"] == nil {
			p.errs.add(f.Pos, "add `featureType: static` or `featureType: action` (or `source:` / `expr:` for an on-demand feature)", "%s has no featureType", what)
		}
		return
	default:
		p.errs.add(p.pos(file, m.byKey["featureType"]), "use static, action, service or derived", "%s: featureType %q is unknown", what, ft)
		return
	}
	f.Description = p.str(file, m.byKey["description"], "description")
	f.Owner = p.str(file, m.byKey["owner"], "owner")
	if n := m.byKey["deprecated"]; n != nil {
		if b, err := strconv.ParseBool(n.Value); err == nil && n.Kind == yaml.ScalarNode {
			if b {
				f.Deprecated = "No longer supported"
			}
		} else {
			f.Deprecated = p.str(file, n, "deprecated")
		}
	}
	if n := m.byKey["limits"]; n != nil {
		f.Limits = p.limitsBlock(file, n, what+": limits", f.Limits)
	}
	for _, t := range p.seq(file, m.byKey["tags"], "tags") {
		f.Tags = append(f.Tags, p.str(file, t, "tag"))
	}
	onlyFor := func(key string, fts ...FeatureType) {
		n := m.keys[key]
		if n == nil {
			return
		}
		for _, ft := range fts {
			if f.FeatureType == ft {
				return
			}
		}
		names := make([]string, len(fts))
		for i, ft := range fts {
			names[i] = string(ft)
		}
		list := names[0]
		if len(names) > 1 {
			list = strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
		}
		p.errs.add(p.pos(file, n), "remove it", "%s: %s applies to %s features only", what, key, list)
	}
	for _, k := range []string{"type", "containerType", "defaultValue"} {
		onlyFor(k, Static, ServiceFeature, DerivedFeature)
	}
	for _, k := range []string{"history", "historyTTL"} {
		onlyFor(k, Static)
	}
	for _, k := range []string{"maxCount", "ttl", "defaultCount", "dedupe", "fields"} {
		onlyFor(k, Action)
	}
	for _, k := range []string{"events", "downsync"} {
		onlyFor(k, Static, Action)
	}
	onlyFor("source", ServiceFeature)
	onlyFor("expr", DerivedFeature)
	onlyFor("arguments", DerivedFeature)
	switch f.FeatureType {
	case Static:
		p.staticFeature(file, f, m, what)
	case Action:
		p.actionFeature(file, f, m, what)
	case ServiceFeature:
		p.staticFeature(file, f, m, what)
		if n := m.byKey["source"]; n != nil {
			p.sourceBlock(file, f, n, what)
		} else {
			p.errs.add(f.Pos, "add `source: { service: NAME }` or `source: { http: { url: ... } }`", "%s has no source", what)
		}
	case DerivedFeature:
		p.staticFeature(file, f, m, what)
		if m.byKey["expr"] != nil {
			p.exprBlock(file, f, m, what)
		} else {
			p.errs.add(f.Pos, "add `expr:` (a CEL expression)", "%s has no expr", what)
		}
	}
	for _, n := range p.seq(file, m.byKey["events"], "events") {
		p.eventSpec(file, f, n, what)
	}
	if n := m.byKey["downsync"]; n != nil {
		p.featureDownsync[f] = p.downsync(file, n, what)
	}
}

func (p *parser) scalarType(file string, n *yaml.Node, what string) Type {
	t := Type(p.str(file, n, what))
	for _, ok := range Types {
		if t == ok {
			return t
		}
	}
	if t != "" {
		fix := "use one of Int, Float, String, Boolean, Time, JSON"
		if s := suggest(string(t), typeNames()); s != "" {
			fix = fmt.Sprintf("did you mean %q?", s)
		}
		p.errs.add(p.pos(file, n), fix, "%s %q is not a type", what, t)
	}
	return ""
}

func typeNames() []string {
	out := make([]string, len(Types))
	for i, t := range Types {
		out[i] = string(t)
	}
	return out
}

func (p *parser) staticFeature(file string, f *Feature, m *fields, what string) {
	f.Container = Single
	if n := m.byKey["type"]; n == nil {
		p.errs.add(f.Pos, "add e.g. `type: String`", "%s has no type", what)
	} else {
		f.Type = p.scalarType(file, n, "type")
	}
	if n := m.byKey["containerType"]; n != nil {
		c := Container(p.str(file, n, "containerType"))
		switch c {
		case Single, List, Set, Map:
			f.Container = c
		default:
			p.errs.add(p.pos(file, n), "use single, list, set or map", "%s: containerType %q is unknown", what, c)
		}
	}
	if f.Container == Set && (f.Type == JSON || f.Type == Boolean) {
		p.errs.add(p.pos(file, m.byKey["containerType"]), "use a list instead", "%s: a set of %s is not supported", what, f.Type)
	}
	if b, ok := p.boolean(file, m.byKey["history"], "history"); ok {
		f.History = b
	}
	if n := m.byKey["historyTTL"]; n != nil {
		d, err := ParseDuration(p.str(file, n, "historyTTL"))
		switch {
		case err != nil || d < time.Second:
			p.errs.add(p.pos(file, n), "write a duration such as 8760h, 365d or 90m (at least 1s)", "%s: historyTTL %q is not a duration", what, n.Value)
		case !f.History:
			p.errs.add(p.pos(file, n), "add `history: true` or remove historyTTL", "%s: historyTTL is set but the feature keeps no history", what)
		}
		f.HistoryTTL = d
	}
	if n := m.byKey["defaultValue"]; n != nil && f.Type != "" {
		v, err := decode(n)
		if err == nil {
			v, err = Coerce(f.Type, f.Container, v)
		}
		if err != nil {
			p.errs.add(p.pos(file, n), fmt.Sprintf("give a %s %s value", f.Container, f.Type), "%s: defaultValue: %v", what, err)
		} else if sv, err := CanonicalValue(v); err != nil {
			p.errs.add(p.pos(file, n), fmt.Sprintf("give a %s %s value", f.Container, f.Type), "%s: defaultValue: %v", what, err)
		} else {
			f.DefaultValue, f.Default = v, sv
		}
	}
}

func (p *parser) actionFeature(file string, f *Feature, m *fields, what string) {
	f.MaxCount, f.DefaultCount, f.Dedupe = 100, 30, true
	if v, ok := p.integer(file, m.byKey["maxCount"], "maxCount"); ok {
		f.MaxCount = v
		if v < 1 || v > 100000 {
			p.errs.add(p.pos(file, m.byKey["maxCount"]), "use 1 to 100000", "%s: maxCount %d is out of range", what, v)
		}
	}
	if v, ok := p.integer(file, m.byKey["defaultCount"], "defaultCount"); ok {
		f.DefaultCount = v
		if v < 1 {
			p.errs.add(p.pos(file, m.byKey["defaultCount"]), "use a positive number", "%s: defaultCount %d must be at least 1", what, v)
		}
	} else if m.byKey["defaultCount"] == nil {
		f.DefaultCount = min(30, f.MaxCount)
	}
	if f.DefaultCount > f.MaxCount {
		p.errs.add(p.pos(file, firstNonNil(m.byKey["defaultCount"], m.byKey["maxCount"])),
			fmt.Sprintf("raise maxCount to at least %d or lower defaultCount", f.DefaultCount),
			"%s: maxCount %d is less than defaultCount %d", what, f.MaxCount, f.DefaultCount)
	}
	if n := m.byKey["ttl"]; n != nil {
		d, err := ParseDuration(p.str(file, n, "ttl"))
		if err != nil || d < time.Second {
			p.errs.add(p.pos(file, n), "write a duration such as 720h, 30d or 90m (at least 1s)", "%s: ttl %q is not a duration", what, n.Value)
		}
		f.TTL = d
	}
	if b, ok := p.boolean(file, m.byKey["dedupe"], "dedupe"); ok {
		f.Dedupe = b
	}
	fieldNodes := p.seq(file, m.byKey["fields"], "fields")
	if m.byKey["fields"] == nil || len(fieldNodes) == 0 {
		p.errs.add(f.Pos, "add `fields:` with at least one { name, type }", "%s has no fields", what)
	}
	seen := map[string]*Field{}
	for _, n := range fieldNodes {
		fm := p.mapping(file, n, what+" field", "name", "type", "join", "description")
		fl := &Field{Pos: p.pos(file, n)}
		fl.Name = p.str(file, fm.byKey["name"], "name")
		if fl.Name == "" {
			p.errs.add(fl.Pos, "add `name:`", "%s: a field has no name", what)
			continue
		}
		if !snakeName.MatchString(fl.Name) {
			p.errs.add(fl.Pos, "use lower snake_case", "%s: field name %q is not snake_case", what, fl.Name)
		}
		if prev := seen[fl.Name]; prev != nil {
			p.errs.add(fl.Pos, "remove one of them", "%s: field %q is defined twice (first at line %d)", what, fl.Name, prev.Pos.Line)
			continue
		}
		seen[fl.Name] = fl
		if tn := fm.byKey["type"]; tn == nil {
			p.errs.add(fl.Pos, "add e.g. `type: Int`", "%s: field %q has no type", what, fl.Name)
		} else {
			fl.Type = p.scalarType(file, tn, "field type")
		}
		fl.Join = p.str(file, fm.byKey["join"], "join")
		fl.Description = p.str(file, fm.byKey["description"], "description")
		f.Fields = append(f.Fields, fl)
	}
}

func firstNonNil(ns ...*yaml.Node) *yaml.Node {
	for _, n := range ns {
		if n != nil {
			return n
		}
	}
	return &yaml.Node{}
}

// ParseDuration reads a Go duration ("720h", "90m") or a number of days ("30d").
func ParseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return 0, err
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	return time.ParseDuration(s)
}

func (p *parser) eventSpec(file string, f *Feature, n *yaml.Node, what string) {
	m := p.mapping(file, n, what+" event", "streamName", "topic", "subTopic", "entityId", "timestamp", "filter", "fields")
	es := &EventSpec{Feature: f, Pos: p.pos(file, n)}
	es.StreamName = p.str(file, m.byKey["streamName"], "streamName")
	es.Topic = p.str(file, m.byKey["topic"], "topic")
	es.SubTopic = p.str(file, m.byKey["subTopic"], "subTopic")
	es.EntityID = p.str(file, m.byKey["entityId"], "entityId")
	es.Timestamp = p.str(file, m.byKey["timestamp"], "timestamp")
	for _, req := range []struct{ key, v string }{{"streamName", es.StreamName}, {"topic", es.Topic}, {"entityId", es.EntityID}} {
		if req.v == "" && m.byKey[req.key] == nil {
			p.errs.add(es.Pos, fmt.Sprintf("add `%s:`", req.key), "%s: an event has no %s", what, req.key)
		}
	}
	for _, fn := range p.seq(file, m.byKey["filter"], "filter") {
		if flt := p.filter(file, fn, what); flt != nil {
			es.Filters = append(es.Filters, flt)
		}
	}
	for _, fn := range p.seq(file, m.byKey["fields"], "fields") {
		fm := p.mapping(file, fn, what+" event field", "name", "rename", "type", "required")
		ef := &EventField{Pos: p.pos(file, fn)}
		ef.Path = p.str(file, fm.byKey["name"], "name")
		ef.Rename = p.str(file, fm.byKey["rename"], "rename")
		ef.Required, _ = p.boolean(file, fm.byKey["required"], "required")
		if tn := fm.byKey["type"]; tn != nil {
			ef.Type = p.scalarType(file, tn, "type")
		}
		if ef.Path == "" {
			p.errs.add(ef.Pos, "add `name:` (the path of the value in the event)", "%s: an event field has no name", what)
			continue
		}
		es.Fields = append(es.Fields, ef)
	}
	f.Events = append(f.Events, es)
}

func (p *parser) filter(file string, n *yaml.Node, what string) *Filter {
	m := p.mapping(file, n, what+" filter", "name", "type", "condition")
	flt := &Filter{Pos: p.pos(file, n), Type: String}
	flt.Path = p.str(file, m.byKey["name"], "name")
	if flt.Path == "" {
		p.errs.add(flt.Pos, "add `name:` (the path of the value in the event)", "%s: a filter has no name", what)
	}
	if tn := m.byKey["type"]; tn != nil {
		flt.Type = p.scalarType(file, tn, "filter type")
	}
	cn := m.byKey["condition"]
	if cn == nil {
		p.errs.add(flt.Pos, "add `condition: { optype: equal, values: [...] }`", "%s: filter %q has no condition", what, flt.Path)
		return nil
	}
	cm := p.mapping(file, cn, what+" filter condition", "optype", "values")
	flt.Op = Op(p.str(file, cm.byKey["optype"], "optype"))
	known := false
	for _, op := range Ops {
		known = known || op == flt.Op
	}
	if !known {
		ops := make([]string, len(Ops))
		for i, o := range Ops {
			ops[i] = string(o)
		}
		fix := "use one of " + strings.Join(ops, ", ")
		if s := suggest(string(flt.Op), ops); s != "" {
			fix = fmt.Sprintf("did you mean %q?", s)
		}
		p.errs.add(p.pos(file, firstNonNil(cm.byKey["optype"], cn)), fix, "%s: filter optype %q is unknown", what, flt.Op)
		return nil
	}
	vals := p.seq(file, cm.byKey["values"], "values")
	for _, vn := range vals {
		v, err := decode(vn)
		if err == nil {
			if flt.Op == OpExists {
				v, err = CoerceScalar(Boolean, v)
			} else {
				v, err = CoerceScalar(flt.Type, v)
			}
		}
		if err != nil {
			p.errs.add(p.pos(file, vn), "match the filter's type", "%s: filter %q value: %v", what, flt.Path, err)
			continue
		}
		flt.Values = append(flt.Values, v)
	}
	switch flt.Op {
	case OpIn, OpNotIn:
		if len(vals) == 0 {
			p.errs.add(flt.Pos, "give `values: [a, b, ...]`", "%s: filter %q (%s) needs at least one value", what, flt.Path, flt.Op)
		}
	case OpExists:
		if len(vals) > 1 {
			p.errs.add(flt.Pos, "give `values: [true]` or `values: [false]`, or no values", "%s: filter %q (exists) takes at most one value", what, flt.Path)
		}
		if len(flt.Values) == 0 {
			flt.Values = []any{true}
		}
	default:
		if len(vals) != 1 {
			p.errs.add(flt.Pos, "give exactly one value: `values: [x]`", "%s: filter %q (%s) takes exactly one value, got %d", what, flt.Path, flt.Op, len(vals))
		}
		if (flt.Op == OpGT || flt.Op == OpGTE || flt.Op == OpLT || flt.Op == OpLTE) && (flt.Type == Boolean || flt.Type == JSON) {
			p.errs.add(flt.Pos, "use Int, Float, String or Time", "%s: filter %q: %s cannot compare %s values", what, flt.Path, flt.Op, flt.Type)
		}
	}
	return flt
}
