// Package querygen generates random GraphQL operations over a registry's generated schema:
// root fields with literal or variable ids, static features (map entries included), action
// features with count/lastNSec, joins, aliases (repeated ones too), named and inline fragments,
// @include/@skip, __typename and, on request, bad arguments. The differential test of package
// plan runs every generated operation through both executors; other tests (action filters,
// asOf) can extend Options and the field generators.
package querygen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
)

// Options shape the operations. Zero values take the defaults noted.
type Options struct {
	// IDs is how many distinct ids are drawn from: 1..IDs (or "s1".."sIDs"). Default 30.
	IDs int
	// MaxJoinDepth bounds nested joins. Default 2.
	MaxJoinDepth int
	// BadArgs is the probability that an operation carries one bad argument (count ≤ 0,
	// negative lastNSec, more ids than MaxIDs). Default 0.
	BadArgs float64
	// MaxIDs is the server's limit on ids per field, used to make "too many ids". Default 50.
	MaxIDs int
	// PointInTime is the probability that an entity root or an action field carries an asOf,
	// and Filters that an action field carries a filter (every operator of its fields' types,
	// literal or in variables). Default 0.
	PointInTime, Filters float64
	// Base is the instant asOf values are drawn around (Store.Base), Unix ms. Default: now.
	Base int64
}

// Query is one generated operation.
type Query struct {
	Text string
	Vars map[string]any
	// BadArgs says the operation carries an argument the server rejects.
	BadArgs bool
}

// Gen generates operations; it is deterministic for a seed.
type Gen struct {
	reg  *registry.Registry
	opts Options
	r    *rand.Rand

	// per operation
	varDefs []string
	vars    map[string]any
	frags   []string
	bad     bool
	wantBad bool
	n       int
	argKeys map[string]bool // response keys of fields with arguments, used once per operation
}

// New returns a generator over reg seeded with seed.
func New(reg *registry.Registry, seed uint64, opts Options) *Gen {
	if opts.IDs == 0 {
		opts.IDs = 30
	}
	if opts.MaxJoinDepth == 0 {
		opts.MaxJoinDepth = 2
	}
	if opts.MaxIDs == 0 {
		opts.MaxIDs = 50
	}
	if opts.Base == 0 {
		opts.Base = time.Now().UnixMilli()
	}
	return &Gen{reg: reg, opts: opts, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Next returns the next operation.
func (g *Gen) Next() Query {
	g.varDefs, g.vars, g.frags, g.bad, g.n, g.argKeys = nil, map[string]any{}, nil, false, 0, map[string]bool{}
	g.wantBad = g.r.Float64() < g.opts.BadArgs
	var b strings.Builder
	roots := 1 + g.r.IntN(3)
	var body strings.Builder
	for range roots {
		if g.r.IntN(12) == 0 {
			body.WriteString(" " + g.alias("__typename"))
			continue
		}
		e := g.reg.Entities[g.r.IntN(len(g.reg.Entities))]
		body.WriteString(" ")
		if g.r.IntN(2) == 0 {
			fmt.Fprintf(&body, "%s(id: %s%s)", g.argAlias(e.QueryField()), g.idArg(e), g.asOfArg())
		} else {
			fmt.Fprintf(&body, "%s(ids: %s%s)", g.argAlias(e.BatchQueryField()), g.idsArg(e), g.asOfArg())
		}
		body.WriteString(g.entitySel(e, 0))
	}
	if g.wantBad && !g.bad {
		// Nowhere to put it yet: a root field with a bad count.
		e := g.actionEntity()
		if e != nil {
			f := e.Actions[g.r.IntN(len(e.Actions))]
			fmt.Fprintf(&body, " bad: %s(id: %s) { %s(count: 0) { timestamp } }", e.QueryField(), g.idArg(e), f.GraphQLName())
			g.bad = true
		}
	}
	b.WriteString("query Q")
	if len(g.varDefs) > 0 {
		b.WriteString("(" + strings.Join(g.varDefs, ", ") + ")")
	}
	b.WriteString(" {" + body.String() + " }")
	for _, f := range g.frags {
		b.WriteString("\n" + f)
	}
	return Query{Text: b.String(), Vars: g.vars, BadArgs: g.bad}
}

func (g *Gen) actionEntity() *registry.Entity {
	for _, e := range g.reg.Entities {
		if len(e.Actions) > 0 {
			return e
		}
	}
	return nil
}

// alias sometimes puts an alias before name.
func (g *Gen) alias(name string) string {
	switch g.r.IntN(6) {
	case 0:
		return name + "1: " + name
	case 1:
		return name + "2: " + name
	}
	return name
}

// argAlias is the response key of a field with arguments: the field's name the first time, a
// fresh alias after (two fields of one key must have equal arguments).
func (g *Gen) argAlias(name string) string {
	key := g.alias(name)
	if i := strings.Index(key, ":"); i >= 0 {
		key = key[:i]
	}
	if g.argKeys[key] {
		g.n++
		key = fmt.Sprintf("%s_%d", name, g.n)
	}
	g.argKeys[key] = true
	if key == name {
		return name
	}
	return key + ": " + name
}

func (g *Gen) newVar(typ string, v any) string {
	g.n++
	name := fmt.Sprintf("v%d", g.n)
	g.varDefs = append(g.varDefs, "$"+name+": "+typ)
	g.vars[name] = v
	return "$" + name
}

func (g *Gen) id(e *registry.Entity) any {
	n := 1 + g.r.IntN(g.opts.IDs)
	if e.IDType == registry.String {
		return fmt.Sprintf("s%d", n)
	}
	return n
}

func literal(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

func (g *Gen) idArg(e *registry.Entity) string {
	v := g.id(e)
	if g.r.IntN(3) == 0 {
		return g.newVar(string(e.IDType)+"!", v)
	}
	return literal(v)
}

func (g *Gen) idsArg(e *registry.Entity) string {
	n := g.r.IntN(6)
	if g.wantBad && !g.bad && g.r.IntN(4) == 0 {
		n = g.opts.MaxIDs + 1
		g.bad = true
	}
	ids := make([]any, n)
	for i := range ids {
		ids[i] = g.id(e)
	}
	if g.r.IntN(3) == 0 {
		return g.newVar("["+string(e.IDType)+"!]!", ids)
	}
	parts := make([]string, n)
	for i, v := range ids {
		parts[i] = literal(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// directive sometimes adds @include or @skip, with a literal or a variable.
func (g *Gen) directive() string {
	if g.r.IntN(8) != 0 {
		return ""
	}
	name := "include"
	if g.r.IntN(2) == 0 {
		name = "skip"
	}
	b := g.r.IntN(2) == 0
	if g.r.IntN(2) == 0 {
		return fmt.Sprintf(" @%s(if: %s)", name, g.newVar("Boolean!", b))
	}
	return fmt.Sprintf(" @%s(if: %v)", name, b)
}

// entitySel is a selection set on entity e, maybe wrapped in fragments.
func (g *Gen) entitySel(e *registry.Entity, depth int) string {
	var parts []string
	n := 1 + g.r.IntN(5)
	for range n {
		parts = append(parts, g.entityField(e, depth))
	}
	return " {" + g.wrap(e.TypeName(), parts) + " }"
}

// wrap puts some of the fields into an inline fragment or a named fragment.
func (g *Gen) wrap(typeName string, parts []string) string {
	if len(parts) > 1 && g.r.IntN(4) == 0 {
		cut := 1 + g.r.IntN(len(parts)-1)
		inner := strings.Join(parts[cut:], " ")
		parts = parts[:cut]
		if g.r.IntN(2) == 0 {
			parts = append(parts, fmt.Sprintf("... on %s%s { %s }", typeName, g.directive(), inner))
		} else {
			name := fmt.Sprintf("F%d", len(g.frags))
			g.frags = append(g.frags, fmt.Sprintf("fragment %s on %s { %s }", name, typeName, inner))
			parts = append(parts, "..."+name+g.directive())
			if g.r.IntN(4) == 0 {
				parts = append(parts, "..."+name) // a repeated spread is expanded once
			}
		}
	}
	return " " + strings.Join(parts, " ")
}

func (g *Gen) entityField(e *registry.Entity, depth int) string {
	k := g.r.IntN(10)
	switch {
	case k == 0:
		return g.alias("__typename") + g.directive()
	case k == 1:
		return g.alias("id") + g.directive()
	case k < 6 || len(e.Actions) == 0:
		if len(e.Static) == 0 {
			return g.alias("id")
		}
		f := e.Static[g.r.IntN(len(e.Static))]
		s := g.alias(f.GraphQLName()) + g.directive()
		if f.Container == registry.Map {
			s += g.mapEntrySel()
		}
		return s
	}
	f := e.Actions[g.r.IntN(len(e.Actions))]
	return g.argAlias(f.GraphQLName()) + g.actionArgs(f) + g.directive() + g.eventSel(f, depth)
}

func (g *Gen) mapEntrySel() string {
	fields := []string{"key", "value", "__typename"}
	var parts []string
	for range 1 + g.r.IntN(3) {
		parts = append(parts, g.alias(fields[g.r.IntN(len(fields))]))
	}
	return " { " + strings.Join(parts, " ") + " }"
}

func (g *Gen) actionArgs(f *registry.Feature) string {
	var args []string
	if g.r.IntN(2) == 0 {
		c := []int{1, 2, 3, 5, 60}[g.r.IntN(5)] // 60: above some features' maxCount (clamped)
		if g.wantBad && !g.bad && g.r.IntN(3) == 0 {
			c = -g.r.IntN(2)
			g.bad = true
		}
		if g.r.IntN(3) == 0 {
			args = append(args, "count: "+g.newVar("Int", c))
		} else {
			args = append(args, fmt.Sprintf("count: %d", c))
		}
	}
	if g.r.IntN(3) == 0 {
		s := []int{0, 60, 3600, 86400 * 3, 86400 * 400}[g.r.IntN(5)]
		if g.wantBad && !g.bad && g.r.IntN(3) == 0 {
			s = -1
			g.bad = true
		}
		if g.r.IntN(3) == 0 {
			args = append(args, "lastNSec: "+g.newVar("Int", s))
		} else {
			args = append(args, fmt.Sprintf("lastNSec: %d", s))
		}
	}
	if g.r.Float64() < g.opts.Filters {
		args = append(args, "filter: "+g.filterArg(f))
	}
	if a := g.asOfArg(); a != "" {
		args = append(args, strings.TrimPrefix(a, ", "))
	}
	if len(args) == 0 {
		return ""
	}
	g.r.Shuffle(len(args), func(i, j int) { args[i], args[j] = args[j], args[i] }) // order is free
	return "(" + strings.Join(args, ", ") + ")"
}

// asOfArg is ", asOf: …" (an instant around Base, sometimes bad) or "".
func (g *Gen) asOfArg() string {
	if g.r.Float64() >= g.opts.PointInTime {
		return ""
	}
	hours := []int{-1, 0, 5, 12, 30, 49, 24 * 5, 24 * 400}[g.r.IntN(8)]
	v := time.UnixMilli(g.opts.Base).Add(-time.Duration(hours) * time.Hour).UTC().Format(time.RFC3339Nano)
	if g.wantBad && !g.bad && g.r.IntN(3) == 0 {
		v = []string{"1969-12-31T23:59:59Z", "not a time", "2026-13-01T00:00:00Z"}[g.r.IntN(3)]
		g.bad = true
	}
	if g.r.IntN(3) == 0 {
		return ", asOf: " + g.newVar("Time", v)
	}
	return ", asOf: " + gqlLiteral(v)
}

// filterArg is a filter input on f's event fields: a literal or a variable.
func (g *Gen) filterArg(f *registry.Feature) string {
	m := map[string]any{}
	for range 1 + g.r.IntN(2) {
		fl := f.Fields[g.r.IntN(len(f.Fields))]
		ops := schema.FilterOps(fl.Type)
		c := map[string]any{}
		for range 1 + g.r.IntN(2) {
			op := ops[g.r.IntN(len(ops))][0]
			switch {
			case op == "exists":
				c[op] = g.r.IntN(2) == 0
			case g.r.IntN(12) == 0:
				c[op] = nil // not given
			case op == "in" || op == "notIn":
				n := g.r.IntN(4)
				if n == 3 {
					c[op] = g.operand(fl.Type) // a single value coerces to a list of one
					continue
				}
				items := make([]any, n)
				for i := range items {
					items[i] = g.operand(fl.Type)
				}
				c[op] = items
			default:
				c[op] = g.operand(fl.Type)
			}
		}
		m[fl.GraphQLName()] = c
	}
	if g.r.IntN(3) == 0 {
		return g.newVar(schema.FilterInputName(f), m)
	}
	return gqlLiteral(m)
}

// operand is a filter value of type t, often one the store holds; sometimes bad.
func (g *Gen) operand(t registry.Type) any {
	if g.wantBad && !g.bad && g.r.IntN(4) == 0 {
		switch t {
		case registry.Int:
			g.bad = true
			return int64(3000000000)
		case registry.Time:
			g.bad = true
			return "yesterday"
		}
	}
	switch t {
	case registry.Int:
		if g.r.IntN(2) == 0 {
			return 1 + g.r.IntN(g.opts.IDs+5) // join ids
		}
		return g.r.IntN(2000) - 1000
	case registry.Float:
		return float64(g.r.IntN(400)-200) / 4
	case registry.String:
		return strs[g.r.IntN(len(strs))] + fmt.Sprint(g.r.IntN(5))
	case registry.Boolean:
		return g.r.IntN(2) == 0
	case registry.Time:
		return time.UnixMilli(1.7e12 + int64(g.r.IntN(1e10))).UTC().Format(time.RFC3339Nano)
	}
	return nil
}

// gqlLiteral writes v (what encoding/json would give: maps, lists, strings, numbers, booleans,
// null) as a GraphQL input literal, object keys sorted.
func gqlLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + gqlLiteral(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = gqlLiteral(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		b, _ := json.Marshal(x)
		return string(b)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func (g *Gen) eventSel(f *registry.Feature, depth int) string {
	var parts []string
	for range 1 + g.r.IntN(4) {
		k := g.r.IntN(8)
		switch {
		case k == 0:
			parts = append(parts, g.alias("__typename"))
		case k == 1:
			parts = append(parts, g.alias("timestamp"))
		default:
			fl := f.Fields[g.r.IntN(len(f.Fields))]
			if fl.Join != "" && depth < g.opts.MaxJoinDepth && g.r.IntN(2) == 0 {
				target := g.reg.Entity(fl.Join)
				parts = append(parts, g.alias(registry.Camel(fl.JoinName()))+g.directive()+g.entitySel(target, depth+1))
				continue
			}
			parts = append(parts, g.alias(fl.GraphQLName())+g.directive())
		}
	}
	return " {" + g.wrap(f.EventTypeName(), parts) + " }"
}
