// Package derived compiles and evaluates the expressions of derived features (`expr:` in the
// registry): CEL (cel.dev/cel-go) over one entity's static features, windowed aggregates of its
// action features' events, the field's request arguments and `now`. An Env is built once per
// entity from plain declarations (the package does not import the registry, which calls it when
// it loads), Compile type-checks an expression against it and returns an immutable Program
// (compiled once; its inputs named up front so the executor reads them in the same level batch),
// and Program.Eval runs it for one entity under a cost limit.
package derived

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Type is the type of a value: a scalar type name of the registry (Int, Float, String, Boolean,
// Time, JSON) in a container (single — also "" —, list, set or map).
type Type struct {
	Scalar    string
	Container string
}

func (t Type) String() string {
	if t.Container == "" || t.Container == "single" {
		return t.Scalar
	}
	return t.Container + " of " + t.Scalar
}

// Decl declares a named value of a type.
type Decl struct {
	Name string
	Type Type
}

// Action declares an action feature and its event fields (scalars).
type Action struct {
	Name   string
	Fields []Decl
}

// Decls is what an entity's expressions can read.
type Decls struct {
	Statics []Decl
	Actions []Action
}

// DefaultCostLimit bounds the work of one evaluation, in CEL cost units (about one per
// operation and per list element visited): an expression that would exceed it stops with an
// error instead of running on.
const DefaultCostLimit = 10000

// Aggregates are the window functions: count(events, lastNSec), and sum, min, max, last,
// distinct of a field (events.field) over the events of the last lastNSec seconds.
var Aggregates = []string{"count", "sum", "min", "max", "last", "distinct"}

var (
	eventsType = cel.OpaqueType("featuregraph.events")
	tParam     = cel.TypeParamType("T")
)

func columnType(t *cel.Type) *cel.Type { return cel.OpaqueType("featuregraph.column", t) }

// celType is the CEL type of t (JSON is dyn; a set is a list).
func celType(t Type) *cel.Type {
	var s *cel.Type
	switch t.Scalar {
	case "Int":
		s = cel.IntType
	case "Float":
		s = cel.DoubleType
	case "String":
		s = cel.StringType
	case "Boolean":
		s = cel.BoolType
	case "Time":
		s = cel.TimestampType
	default:
		s = cel.DynType
	}
	switch t.Container {
	case "list", "set":
		return cel.ListType(s)
	case "map":
		return cel.MapType(cel.StringType, s)
	}
	return s
}

// Env is the CEL environment of one entity.
type Env struct {
	env   *cel.Env
	decls Decls
	fold  *cel.StaticOptimizer
}

// NewEnv builds the environment of an entity's expressions: one variable per static feature
// (its registry name), one per action feature (its events, for count) and one per event field
// (feature.field, for the other aggregates), and `now`.
func NewEnv(d Decls) (*Env, error) {
	opts := []cel.EnvOption{cel.Variable("now", cel.TimestampType)}
	for _, s := range d.Statics {
		if s.Name == "now" || s.Name == "args" {
			continue // reported by Compile when used (Reserved)
		}
		opts = append(opts, cel.Variable(s.Name, celType(s.Type)))
	}
	for _, a := range d.Actions {
		opts = append(opts, cel.Variable(a.Name, eventsType))
		for _, f := range a.Fields {
			opts = append(opts, cel.Variable(a.Name+"."+f.Name, columnType(celType(Type{Scalar: f.Type.Scalar}))))
		}
	}
	opts = append(opts, functions()...)
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("derived: %w", err)
	}
	folder, err := cel.NewConstantFoldingOptimizer()
	if err != nil {
		return nil, fmt.Errorf("derived: %w", err)
	}
	opt, err := cel.NewStaticOptimizer(folder)
	if err != nil {
		return nil, fmt.Errorf("derived: %w", err)
	}
	return &Env{env: env, decls: d, fold: opt}, nil
}

// Reserved reports whether name cannot be a static feature read by expressions.
func Reserved(name string) bool { return name == "now" || name == "args" }

// Problem is an error in an expression, at a line and column of it (1-based; 0 when unknown).
type Problem struct {
	Line, Column int
	Msg          string
}

// Program is a compiled expression. It is immutable and safe for concurrent use.
type Program struct {
	Source string
	Type   Type
	// The inputs Eval reads, in the order Input holds them: static features, action features
	// (with the widest window any aggregate of the expression reads) and arguments.
	Statics []string
	Actions []Window
	Args    []string

	prg   cel.Program
	slots map[string]slot
}

// Window is an action feature an expression aggregates, and the widest window it reads.
type Window struct {
	Name     string
	LastNSec int64
}

type slotKind uint8

const (
	sNow slotKind = iota
	sStatic
	sEvents
	sColumn
	sArg
)

type slot struct {
	kind slotKind
	i    int // static, action or argument index in the Program's lists
	j    int // field index (sColumn)
	typ  Type
}

// Compile type-checks src in the environment extended with the arguments args (read as
// args.<name>) and returns its program, whose result must have type want. The problems name
// where in src something is wrong.
func (e *Env) Compile(src string, want Type, args []Decl, costLimit uint64) (*Program, []Problem) {
	env := e.env
	if len(args) > 0 {
		var opts []cel.EnvOption
		for _, a := range args {
			opts = append(opts, cel.Variable("args."+a.Name, celType(a.Type)))
		}
		var err error
		if env, err = env.Extend(opts...); err != nil {
			return nil, []Problem{{Msg: err.Error()}}
		}
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, issues(iss)
	}
	if folded, fiss := e.fold.Optimize(env, ast); fiss.Err() == nil {
		ast = folded
	}
	wantT := celType(want)
	if out := ast.OutputType(); out.Kind() != types.DynKind && !wantT.IsExactType(out) && !(out.Kind() == types.ListKind && wantT.Kind() == types.ListKind && elemDyn(out)) {
		return nil, []Problem{{Line: 1, Column: 1, Msg: fmt.Sprintf("the expression is %s, but the feature is %s (%s)", typeName(out), want, typeName(wantT))}}
	}
	p := &Program{Source: src, Type: want, slots: map[string]slot{}}
	native := ast.NativeRep()
	var probs []Problem
	windows := map[string]int64{}
	celast.PreOrderVisit(native.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		if x.Kind() != celast.CallKind {
			return
		}
		call := x.AsCall()
		if !isAggregate(call.FunctionName()) || len(call.Args()) != 2 {
			return
		}
		loc := native.SourceInfo().GetStartLocation(x.ID())
		w := call.Args()[1]
		if w.Kind() != celast.LiteralKind {
			probs = append(probs, Problem{Line: loc.Line(), Column: loc.Column() + 1,
				Msg: fmt.Sprintf("the window of %s() must be a constant number of seconds (e.g. 7 * 86400)", call.FunctionName())})
			return
		}
		n, ok := w.AsLiteral().(types.Int)
		if !ok || n <= 0 || n > math.MaxInt32 {
			probs = append(probs, Problem{Line: loc.Line(), Column: loc.Column() + 1,
				Msg: fmt.Sprintf("the window of %s() must be a positive number of seconds, at most %d", call.FunctionName(), math.MaxInt32)})
			return
		}
		ref, _ := native.ReferenceMap()[call.Args()[0].ID()]
		if ref == nil {
			return
		}
		action, _, _ := strings.Cut(ref.Name, ".")
		windows[action] = max(windows[action], int64(n))
	}))
	if len(probs) > 0 {
		return nil, probs
	}
	// The variables the expression reads, by the checker's references.
	used := map[string]bool{}
	for _, r := range native.ReferenceMap() {
		if r.Name != "" && len(r.OverloadIDs) == 0 {
			used[r.Name] = true
		}
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	actionIx := map[string]int{}
	actionOf := func(name string) int {
		if i, ok := actionIx[name]; ok {
			return i
		}
		actionIx[name] = len(p.Actions)
		p.Actions = append(p.Actions, Window{Name: name, LastNSec: windows[name]})
		return actionIx[name]
	}
	for _, n := range names {
		switch {
		case n == "now":
			p.slots[n] = slot{kind: sNow}
		case strings.HasPrefix(n, "args."):
			a := strings.TrimPrefix(n, "args.")
			for _, d := range args {
				if d.Name == a {
					p.slots[n] = slot{kind: sArg, i: len(p.Args), typ: d.Type}
					p.Args = append(p.Args, a)
				}
			}
		default:
			if s, ok := e.static(n); ok {
				p.slots[n] = slot{kind: sStatic, i: len(p.Statics), typ: s.Type}
				p.Statics = append(p.Statics, n)
				continue
			}
			an, field, isField := strings.Cut(n, ".")
			a, ai := e.action(an)
			if a == nil {
				continue
			}
			if _, aggregated := windows[an]; !aggregated {
				return nil, []Problem{{Line: 1, Column: 1, Msg: fmt.Sprintf("%s is read outside a window function: use it in %s(%s, lastNSec)", n, aggFor(isField), n)}}
			}
			_ = ai
			if !isField {
				p.slots[n] = slot{kind: sEvents, i: actionOf(an)}
				continue
			}
			for j, f := range a.Fields {
				if f.Name == field {
					p.slots[n] = slot{kind: sColumn, i: actionOf(an), j: j, typ: f.Type}
				}
			}
		}
	}
	if costLimit == 0 {
		costLimit = DefaultCostLimit
	}
	prg, err := env.Program(ast, cel.CostLimit(costLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, []Problem{{Msg: err.Error()}}
	}
	p.prg = prg
	return p, nil
}

func aggFor(field bool) string {
	if field {
		return "sum|min|max|last|distinct"
	}
	return "count"
}

func elemDyn(t *cel.Type) bool {
	ps := t.Parameters()
	return len(ps) == 1 && ps[0].Kind() == types.DynKind
}

func (e *Env) static(name string) (Decl, bool) {
	for _, s := range e.decls.Statics {
		if s.Name == name {
			return s, true
		}
	}
	return Decl{}, false
}

func (e *Env) action(name string) (*Action, int) {
	for i := range e.decls.Actions {
		if e.decls.Actions[i].Name == name {
			return &e.decls.Actions[i], i
		}
	}
	return nil, -1
}

func isAggregate(fn string) bool {
	for _, a := range Aggregates {
		if a == fn {
			return true
		}
	}
	return false
}

func issues(iss *cel.Issues) []Problem {
	var out []Problem
	for _, e := range iss.Errors() {
		p := Problem{Msg: e.Message}
		if e.Location != nil {
			p.Line, p.Column = e.Location.Line(), e.Location.Column()+1
		}
		out = append(out, p)
	}
	return out
}

// typeName is how a CEL type reads in an error: the registry's names where there is one.
func typeName(t *cel.Type) string {
	switch t.Kind() {
	case types.IntKind:
		return "Int"
	case types.DoubleKind:
		return "Float"
	case types.StringKind:
		return "String"
	case types.BoolKind:
		return "Boolean"
	case types.TimestampKind:
		return "Time"
	case types.DynKind:
		return "JSON"
	case types.ListKind:
		if ps := t.Parameters(); len(ps) == 1 {
			return "list of " + typeName(ps[0])
		}
	case types.MapKind:
		if ps := t.Parameters(); len(ps) == 2 {
			return "map of " + typeName(ps[1])
		}
	case types.OpaqueKind:
		return "events (read them with count, sum, min, max, last or distinct over a window)"
	}
	return t.String()
}

// ErrNoValue is the error of an evaluation that read a missing value: a static feature with no
// value and no default, or min, max or last of a window with no event (with a value of the
// field). Such a derived value is null, not an error.
var ErrNoValue = errors.New("derived: no value")

// noValue is ErrNoValue as a CEL value: it propagates like any CEL error (and is absorbed like
// one by ||, && and the branch of ?: not taken).
var noValue = types.WrapErr(ErrNoValue)

var _ ref.Val = noValue

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
