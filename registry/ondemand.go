package registry

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/featuregraph/featuregraph/derived"
	"github.com/featuregraph/featuregraph/store"
)

// On-demand features are answered at request time and never stored: a service feature is
// fetched from another service over HTTP (source:), a derived feature is computed by a CEL
// expression (expr:) over the entity's stored features. docs/on-demand.md describes both.

// OnDemand reports whether the feature is a service or a derived feature.
func (f *Feature) OnDemand() bool {
	return f.FeatureType == ServiceFeature || f.FeatureType == DerivedFeature
}

// Service is an HTTP service that answers service features.
type Service struct {
	Name string
	HTTP HTTPSource
	Pos  Pos
}

// HTTPSource is how a service is called. Every field documents its default.
type HTTPSource struct {
	// URL is the endpoint. With "{id}" in it, the service is called once per entity (the id
	// URL-escaped in its place; GET by default); without, once per batch of ids (POST).
	URL string
	// Method is the HTTP method. Default POST for a batch endpoint, GET for a per-id URL.
	Method string
	// Timeout bounds one call, within the request's deadline. Default 250ms.
	Timeout time.Duration
	// BatchSize is the most ids one batch call carries (more make more calls). Default 100.
	BatchSize int
	// Concurrency is the most calls in flight to the service from one gateway. Default 8.
	Concurrency int
	// CacheTTL keeps an answered value in process this long; 0 caches nothing. Default 0.
	CacheTTL time.Duration
	// NegativeCacheTTL keeps "the service has no value for this id" this long. Default CacheTTL.
	NegativeCacheTTL time.Duration
	// MaxResponseBytes is the largest response body read; a larger one fails the call.
	// Default 1 MiB.
	MaxResponseBytes int64
	// Headers are sent with every call; ${NAME} in a value is the environment variable NAME
	// of the gateway (for tokens). Default none.
	Headers map[string]string
}

// PerID reports whether the service is called once per entity ({id} in the URL).
func (h HTTPSource) PerID() bool { return strings.Contains(h.URL, "{id}") }

// Argument is a GraphQL argument of a derived feature: its expression reads it as
// args.<name>; absent or null it is Default.
type Argument struct {
	Name         string
	Type         Type
	DefaultValue any
	Default      store.Value
	Pos          Pos
}

var httpKeys = []string{"url", "method", "timeout", "batchSize", "concurrency", "cacheTTL", "negativeCacheTTL", "maxResponseBytes", "headers"}

// services parses the top-level `services:` block.
func (p *parser) services(file string, n *yaml.Node) {
	for _, kv := range p.entries(file, n, "services") {
		name := kv[0].Value
		pos := p.pos(file, kv[0])
		if !snakeName.MatchString(name) {
			p.errs.add(pos, "use lower snake_case, e.g. \"trust_safety\"", "service name %q is not snake_case", name)
		}
		if prev := p.svcs[name]; prev != nil {
			p.errs.add(pos, "keep one definition", "service %q is defined twice (first at %s:%d)", name, prev.Pos.File, prev.Pos.Line)
			continue
		}
		m := p.mapping(file, kv[1], "service "+name, "http", "description")
		hn := m.byKey["http"]
		if hn == nil {
			p.errs.add(pos, "add `http: { url: ... }`", "service %q has no http block", name)
			continue
		}
		p.svcs[name] = &Service{Name: name, Pos: pos, HTTP: p.httpSource(file, hn, "service "+name)}
	}
}

func (p *parser) httpSource(file string, n *yaml.Node, what string) HTTPSource {
	m := p.mapping(file, n, what+": http", httpKeys...)
	h := HTTPSource{Timeout: 250 * time.Millisecond, BatchSize: 100, Concurrency: 8, MaxResponseBytes: 1 << 20}
	h.URL = p.str(file, m.byKey["url"], "url")
	if h.URL == "" {
		p.errs.add(p.pos(file, n), "add `url: http://service/path` (with {id} for a per-id endpoint)", "%s has no url", what)
	} else if u, err := url.Parse(strings.ReplaceAll(h.URL, "{id}", "0")); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errs.add(p.pos(file, m.byKey["url"]), "give an absolute http:// or https:// URL", "%s: url %q is not an http URL", what, h.URL)
	}
	h.Method = "POST"
	if h.PerID() {
		h.Method = "GET"
	}
	if mn := m.byKey["method"]; mn != nil {
		h.Method = strings.ToUpper(p.str(file, mn, "method"))
		if h.Method != "GET" && h.Method != "POST" {
			p.errs.add(p.pos(file, mn), "use GET or POST", "%s: method %q is not supported", what, h.Method)
		}
		if h.Method == "GET" && !h.PerID() {
			p.errs.add(p.pos(file, mn), "use POST for a batch endpoint, or put {id} in the url", "%s: a batch call carries its ids in a POST body", what)
		}
	}
	dur := func(key string, d *time.Duration, least time.Duration) {
		if dn := m.byKey[key]; dn != nil {
			v, err := ParseDuration(p.str(file, dn, key))
			if err != nil || v < least {
				p.errs.add(p.pos(file, dn), fmt.Sprintf("write a duration such as 200ms or 30s (at least %s)", least), "%s: %s %q is not a duration", what, key, dn.Value)
				return
			}
			*d = v
		}
	}
	dur("timeout", &h.Timeout, time.Millisecond)
	dur("cacheTTL", &h.CacheTTL, 0)
	h.NegativeCacheTTL = h.CacheTTL
	dur("negativeCacheTTL", &h.NegativeCacheTTL, 0)
	num := func(key string, v *int, lo, hi int) {
		if x, ok := p.integer(file, m.byKey[key], key); ok {
			if x < lo || x > hi {
				p.errs.add(p.pos(file, m.byKey[key]), fmt.Sprintf("use %d to %d", lo, hi), "%s: %s %d is out of range", what, key, x)
				return
			}
			*v = x
		}
	}
	num("batchSize", &h.BatchSize, 1, 10000)
	num("concurrency", &h.Concurrency, 1, 1024)
	var maxBytes int
	if m.byKey["maxResponseBytes"] != nil {
		maxBytes = int(h.MaxResponseBytes)
		num("maxResponseBytes", &maxBytes, 1, 1<<30)
		h.MaxResponseBytes = int64(maxBytes)
	}
	if hn := m.byKey["headers"]; hn != nil {
		h.Headers = map[string]string{}
		for _, kv := range p.entries(file, hn, what+": headers") {
			h.Headers[kv[0].Value] = p.str(file, kv[1], "header "+kv[0].Value)
		}
	}
	return h
}

// sourceBlock parses a service feature's `source:`: {service: NAME} or {http: {...}}, and an
// optional field (the feature's key in the answers).
func (p *parser) sourceBlock(file string, f *Feature, n *yaml.Node, what string) {
	m := p.mapping(file, n, what+": source", "service", "http", "field")
	f.SourceField = f.Name
	if fn := m.byKey["field"]; fn != nil {
		f.SourceField = p.str(file, fn, "field")
	}
	sn, hn := m.byKey["service"], m.byKey["http"]
	switch {
	case sn != nil && hn != nil:
		p.errs.add(p.pos(file, n), "name a service of `services:` or give an http block, not both", "%s: source has both service and http", what)
	case sn != nil:
		p.sourceRefs = append(p.sourceRefs, sourceRef{f: f, name: p.str(file, sn, "service"), pos: p.pos(file, sn)})
	case hn != nil:
		// The feature's own service, named after it.
		name := f.Entity.Name + "." + f.Name
		f.Source = &Service{Name: name, Pos: p.pos(file, hn), HTTP: p.httpSource(file, hn, what)}
	default:
		p.errs.add(p.pos(file, n), "add `service: NAME` (of `services:`) or `http: { url: ... }`", "%s: source names no service", what)
	}
}

type sourceRef struct {
	f    *Feature
	name string
	pos  Pos
}

// exprBlock records a derived feature's expression and arguments (compiled in finishOnDemand,
// once the entity's features are known).
func (p *parser) exprBlock(file string, f *Feature, m *fields, what string) {
	n := m.byKey["expr"]
	f.Expr = p.str(file, n, "expr")
	if strings.TrimSpace(f.Expr) == "" {
		p.errs.add(p.pos(file, n), "write a CEL expression, e.g. `expr: double(count(clicks, 604800)) / 7.0`", "%s: expr is empty", what)
		return
	}
	p.exprNodes[f] = exprAt{file: file, node: n}
	seen := map[string]bool{}
	for _, an := range p.seq(file, m.byKey["arguments"], "arguments") {
		am := p.mapping(file, an, what+" argument", "name", "type", "defaultValue", "description")
		a := &Argument{Pos: p.pos(file, an), Name: p.str(file, am.byKey["name"], "name")}
		if !snakeName.MatchString(a.Name) && !camelName(a.Name) {
			p.errs.add(a.Pos, "name it in lowerCamelCase or snake_case", "%s: argument name %q is not usable", what, a.Name)
			continue
		}
		if seen[a.Name] {
			p.errs.add(a.Pos, "remove one of them", "%s: argument %q is declared twice", what, a.Name)
			continue
		}
		seen[a.Name] = true
		if tn := am.byKey["type"]; tn == nil {
			p.errs.add(a.Pos, "add e.g. `type: Float`", "%s: argument %q has no type", what, a.Name)
			continue
		} else if a.Type = p.scalarType(file, tn, "argument type"); a.Type == JSON {
			p.errs.add(p.pos(file, tn), "use Int, Float, String, Boolean or Time", "%s: argument %q cannot be JSON", what, a.Name)
			continue
		}
		dn := am.byKey["defaultValue"]
		if dn == nil {
			p.errs.add(a.Pos, "add `defaultValue:` (the value when the query gives none)", "%s: argument %q has no defaultValue", what, a.Name)
			continue
		}
		v, err := decode(dn)
		if err == nil && a.Type != "" {
			v, err = CoerceScalar(a.Type, v)
		}
		if err == nil {
			a.Default, err = CanonicalValue(v)
		}
		if err != nil {
			p.errs.add(p.pos(file, dn), fmt.Sprintf("give a %s", a.Type), "%s: argument %q defaultValue: %v", what, a.Name, err)
			continue
		}
		a.DefaultValue = v
		f.Arguments = append(f.Arguments, a)
	}
}

type exprAt struct {
	file string
	node *yaml.Node
}

func camelName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// finishOnDemand resolves service references and compiles every derived feature against its
// entity's stored features.
func (p *parser) finishOnDemand(reg *Registry) {
	reg.Services = map[string]*Service{}
	for name, s := range p.svcs {
		reg.Services[name] = s
	}
	for _, r := range p.sourceRefs {
		s := p.svcs[r.name]
		if s == nil {
			fix := "declare it under `services:`"
			if sg := suggest(r.name, keys(p.svcs)); sg != "" {
				fix = fmt.Sprintf("did you mean %q?", sg)
			}
			p.errs.add(r.pos, fix, "feature %s.%s: unknown service %q", r.f.Entity.Name, r.f.Name, r.name)
			continue
		}
		r.f.Source = s
	}
	for _, e := range reg.Entities {
		for _, f := range e.Services {
			if f.Source != nil && f.Source.Name == e.Name+"."+f.Name {
				reg.Services[f.Source.Name] = f.Source
			}
		}
		seen := map[[2]string]*Feature{}
		for _, f := range e.Services {
			if f.Source == nil {
				continue
			}
			k := [2]string{f.Source.Name, f.SourceField}
			if prev := seen[k]; prev != nil {
				p.errs.add(f.Pos, "give one of them `source: {field: ...}`", "feature %s.%s reads field %q of service %s, as %s does", e.Name, f.Name, f.SourceField, f.Source.Name, prev.Name)
			}
			seen[k] = f
		}
		if len(e.Derived) == 0 {
			continue
		}
		var d derived.Decls
		for _, f := range e.Static {
			if f.Type != "" {
				d.Statics = append(d.Statics, derived.Decl{Name: f.Name, Type: derived.Type{Scalar: string(f.Type), Container: string(f.Container)}})
			}
		}
		for _, f := range e.Actions {
			a := derived.Action{Name: f.Name}
			for _, fl := range f.Fields {
				a.Fields = append(a.Fields, derived.Decl{Name: fl.Name, Type: derived.Type{Scalar: string(fl.Type)}})
			}
			d.Actions = append(d.Actions, a)
		}
		env, err := derived.NewEnv(d)
		if err != nil {
			p.errs.add(e.Pos, "", "entity %s: the expression environment: %v", e.Name, err)
			continue
		}
		for _, f := range e.Derived {
			at, ok := p.exprNodes[f]
			if !ok || f.Type == "" {
				continue
			}
			var args []derived.Decl
			for _, a := range f.Arguments {
				args = append(args, derived.Decl{Name: a.Name, Type: derived.Type{Scalar: string(a.Type)}})
			}
			prog, probs := env.Compile(f.Expr, derived.Type{Scalar: string(f.Type), Container: string(f.Container)}, args, 0)
			for _, pr := range probs {
				p.errs.add(exprPos(at, pr), "fix the expression (docs/on-demand.md lists what it can read)", "feature %s.%s: expr: %s", e.Name, f.Name, pr.Msg)
			}
			if len(probs) == 0 {
				f.Program = prog
			}
		}
	}
}

// exprPos is the place in the YAML file of a problem at line:column of an expression.
func exprPos(at exprAt, pr derived.Problem) Pos {
	n := at.node
	pos := Pos{File: at.file, Line: n.Line, Column: n.Column}
	line := max(pr.Line, 1)
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The text starts on the line after the indicator, indented.
		pos.Line += line
		pos.Column = 0
		return pos
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		pos.Column++
	}
	pos.Line += line - 1
	if line == 1 && pr.Column > 0 {
		pos.Column += pr.Column - 1
	} else {
		pos.Column = 0
	}
	return pos
}

// serviceNames lists the registry's services, sorted.
func (r *Registry) ServiceNames() []string {
	out := make([]string, 0, len(r.Services))
	for n := range r.Services {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
