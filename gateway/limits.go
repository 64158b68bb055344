package gateway

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// shapeLimits bounds what gqlparser's validator can be made to do, before it runs. Validation
// is quadratic in the fields of one selection set that share a response name (the rule
// OverlappingFieldsCanBeMerged compares every pair: `{ user(id: 1) { os os os … } }` with 9,990
// repeats took 3.7 s of CPU), so a query is parsed once more — linear, within the token limit —
// and rejected when it has more than maxSelections selections in all, a selection set
// (inline fragments and fragment spreads flattened into it) has more than maxSetFields fields,
// or one response name is repeated more than maxRepeats times in a set. Queries already in the
// query cache passed these checks and are not parsed again.
type shapeLimits struct {
	cache         graphql.Cache[*ast.QueryDocument]
	tokenLimit    int
	maxSelections int
	maxSetFields  int
	maxRepeats    int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*shapeLimits)(nil)

func (l *shapeLimits) ExtensionName() string                   { return "ShapeLimits" }
func (l *shapeLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l *shapeLimits) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" {
		return nil
	}
	if _, ok := l.cache.Get(ctx, p.Query); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, l.tokenLimit)
	if err != nil {
		return nil // gqlgen parses again and reports the syntax error
	}
	if msg := l.check(doc); msg != "" {
		return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": codeShapeLimit}}
	}
	return intVariablesOf(doc, p) // intVariables found no parsed text to do it with
}

// check returns why the document is refused, or "".
func (l *shapeLimits) check(doc *ast.QueryDocument) string {
	if name := longName(doc); name != "" {
		// The validator's "did you mean" compares an unknown name with every known one by edit
		// distance: a 900 KB field name cost 0.4 s.
		return fmt.Sprintf("name %s is longer than %d bytes", excerpt(name, 40), maxNameLen)
	}
	if n := countSelections(doc, l.maxSelections); n > l.maxSelections {
		return fmt.Sprintf("query has more than %d selections (fields, fragment spreads and inline fragments): split it", l.maxSelections)
	}
	w := &shapeWalk{l: l, frags: doc.Fragments, memo: map[string]*flatSet{}, busy: map[string]bool{}}
	for _, op := range doc.Operations {
		if msg := w.visit(op.SelectionSet); msg != "" {
			return msg
		}
	}
	for _, f := range doc.Fragments {
		if msg := w.visit(f.SelectionSet); msg != "" {
			return msg
		}
	}
	return ""
}

// maxNameLen bounds every name of a query (fields, aliases, arguments, directives, fragments,
// operations, variables).
const maxNameLen = 128

// longName returns the first name of the document longer than maxNameLen, or "".
func longName(doc *ast.QueryDocument) string {
	long := func(names ...string) string {
		for _, n := range names {
			if len(n) > maxNameLen {
				return n
			}
		}
		return ""
	}
	dirs := func(ds ast.DirectiveList) string {
		for _, d := range ds {
			if n := long(d.Name); n != "" {
				return n
			}
			for _, a := range d.Arguments {
				if n := long(a.Name); n != "" {
					return n
				}
			}
		}
		return ""
	}
	var set func(ast.SelectionSet) string
	set = func(ss ast.SelectionSet) string {
		for _, s := range ss {
			var n string
			switch s := s.(type) {
			case *ast.Field:
				n = long(s.Name, s.Alias)
				for _, a := range s.Arguments {
					if n == "" {
						n = long(a.Name)
					}
				}
				if n == "" {
					n = dirs(s.Directives)
				}
				if n == "" {
					n = set(s.SelectionSet)
				}
			case *ast.InlineFragment:
				if n = long(s.TypeCondition); n == "" {
					if n = dirs(s.Directives); n == "" {
						n = set(s.SelectionSet)
					}
				}
			case *ast.FragmentSpread:
				if n = long(s.Name); n == "" {
					n = dirs(s.Directives)
				}
			}
			if n != "" {
				return n
			}
		}
		return ""
	}
	for _, op := range doc.Operations {
		if n := long(op.Name); n != "" {
			return n
		}
		for _, v := range op.VariableDefinitions {
			if n := long(v.Variable); n != "" {
				return n
			}
		}
		if n := dirs(op.Directives); n != "" {
			return n
		}
		if n := set(op.SelectionSet); n != "" {
			return n
		}
	}
	for _, f := range doc.Fragments {
		if n := long(f.Name, f.TypeCondition); n != "" {
			return n
		}
		if n := set(f.SelectionSet); n != "" {
			return n
		}
	}
	return ""
}

// countSelections counts every selection of the document, stopping past limit.
func countSelections(doc *ast.QueryDocument, limit int) int {
	n := 0
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			if n > limit {
				return
			}
			n++
			switch s := s.(type) {
			case *ast.Field:
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		walk(f.SelectionSet)
	}
	return n
}

// flatSet is a selection set with its fragments flattened: the number of fields and how often
// each response name occurs. over says a limit was already exceeded inside it.
type flatSet struct {
	fields int
	names  map[string]int
	over   string
}

type shapeWalk struct {
	l     *shapeLimits
	frags ast.FragmentDefinitionList
	memo  map[string]*flatSet // flattened fragment definitions, by name
	busy  map[string]bool     // fragments being flattened (cycles are left to the validator)
}

// visit checks a selection set and, recursively, the sets of its fields.
func (w *shapeWalk) visit(set ast.SelectionSet) string {
	if fs := w.flatten(set); fs.over != "" {
		return fs.over
	}
	return w.visitChildren(set)
}

// visitChildren checks the sets of the fields of set, and of its inline fragments (whose own
// fields were counted with set's).
func (w *shapeWalk) visitChildren(set ast.SelectionSet) string {
	for _, s := range set {
		var msg string
		switch s := s.(type) {
		case *ast.Field:
			if len(s.SelectionSet) > 0 {
				msg = w.visit(s.SelectionSet)
			}
		case *ast.InlineFragment:
			msg = w.visitChildren(s.SelectionSet)
		}
		if msg != "" {
			return msg
		}
	}
	return ""
}

func (w *shapeWalk) flatten(set ast.SelectionSet) *flatSet {
	fs := &flatSet{names: map[string]int{}}
	w.add(fs, set)
	return fs
}

func (w *shapeWalk) add(fs *flatSet, set ast.SelectionSet) {
	for _, s := range set {
		if fs.over != "" {
			return
		}
		switch s := s.(type) {
		case *ast.Field:
			name := s.Alias
			if name == "" {
				name = s.Name
			}
			w.count(fs, name, 1)
		case *ast.InlineFragment:
			w.add(fs, s.SelectionSet)
		case *ast.FragmentSpread:
			f := w.fragment(s.Name)
			if f == nil {
				continue
			}
			if f.over != "" {
				fs.over = f.over
				return
			}
			for name, n := range f.names {
				w.count(fs, name, n)
				if fs.over != "" {
					return
				}
			}
		}
	}
}

func (w *shapeWalk) count(fs *flatSet, name string, n int) {
	fs.fields += n
	fs.names[name] += n
	switch {
	case fs.fields > w.l.maxSetFields:
		fs.over = fmt.Sprintf("a selection set has more than %d fields (fragments included): split the query", w.l.maxSetFields)
	case fs.names[name] > w.l.maxRepeats:
		fs.over = fmt.Sprintf("field %s is selected more than %d times in one selection set (fragments included): select it once",
			excerpt(name, 40), w.l.maxRepeats)
	}
}

func (w *shapeWalk) fragment(name string) *flatSet {
	if fs, ok := w.memo[name]; ok {
		return fs
	}
	def := w.frags.ForName(name)
	if def == nil || w.busy[name] {
		return nil
	}
	w.busy[name] = true
	fs := w.flatten(def.SelectionSet)
	delete(w.busy, name)
	w.memo[name] = fs
	return fs
}

// docWeight estimates the bytes a parsed and validated document holds: its source plus about
// 300 bytes per selection and argument (measured: 230–280).
func docWeight(query string, doc *ast.QueryDocument) int64 {
	nodes := 0
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			nodes++
			switch s := s.(type) {
			case *ast.Field:
				nodes += len(s.Arguments) + len(s.Directives)
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		nodes += len(op.VariableDefinitions)
		walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		walk(f.SelectionSet)
	}
	return int64(len(query)) + 300*int64(nodes) + 512
}

// excerpt cuts s to at most n bytes (on a rune boundary), marking the cut.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes)", len(s))
}
