package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/serving"
	"github.com/featuregraph/featuregraph/store"
)

// batch is the entities one load reads at one place of the answer: the ids of a root field, or
// the ids that one join field of one action field refers to, over every entity of the parent.
type batch struct {
	ld   *load
	ids  []string
	vals []store.Value // vals[i*len(ld.statics)+j]: static j of entity i
	bad  []error       // nil, or per cell: a stored value that does not have the registry's type
	err  error         // the static read of the batch failed
	acts []actResult   // acts[k*len(ids)+i]: action field k of entity i

	// Where the entities are in the answer, for error paths.
	rootAlias string
	many      bool
	parent    *batch
	parentAct int      // index of the action field in parent.ld.actions
	parentRow []int32  // per id: the entity of the parent batch
	parentEvt []int32  // per id: the event of that entity's action field
	joinAlias string   // the first alias of the join field
	joins     []*batch // per action field k and join j of its events: joins[k*maxJoins+j] (nil: none)
	maxJoins  int
}

type actResult struct {
	q   int32 // index in the level's action queries, -1: not read
	evs []event
	err error
	at  []int32 // per join j and event e: at[j*len(evs)+e] is the joined entity's row, -1 when null
}

type event struct {
	ts   int64
	vals []store.Value // one per field of the feature
}

// actionArgs are an action field's arguments, evaluated once per request.
type actionArgs struct {
	tmpl store.ActionQuery // Key.ID is set per entity
}

type run struct {
	ex      *Executor
	ctx     context.Context
	now     time.Time
	args    map[*actionField]actionArgs
	roots   []*batch // per root field (nil for __typename)
	errs    gqlerror.List
	errMu   sync.Mutex
	level   int
	present graphql.ErrorPresenterFunc
	cut     error // a read the end of the context cut short (it names the backend), or nil
}

// prepare evaluates the arguments of every root and action field. It returns false when one is
// not a plain valid value (a bad count, too many ids, …): gqlgen's executor answers those, with
// its own errors.
func (ex *Executor) prepare(ctx context.Context, p *Plan, vars map[string]any) (*run, bool) {
	r := &run{ex: ex, ctx: ctx, now: time.Now(), args: map[*actionField]actionArgs{}, roots: make([]*batch, len(p.roots)),
		present: ex.cfg.Presenter}
	for i, rf := range p.roots {
		if rf.typename {
			continue
		}
		var ids []string
		if rf.arg == nil {
			return nil, false
		}
		v, err := rf.arg.Value(vars)
		if err != nil {
			return nil, false
		}
		if rf.root.many {
			list, ok := v.([]any)
			if !ok || len(list) > ex.cfg.MaxIDs {
				return nil, false
			}
			ids = make([]string, len(list))
			for j, x := range list {
				if ids[j], ok = idOf(rf.root.ent, x); !ok {
					return nil, false
				}
			}
		} else {
			id, ok := idOf(rf.root.ent, v)
			if !ok {
				return nil, false
			}
			ids = []string{id}
		}
		r.roots[i] = &batch{ld: rf.ld, ids: ids, rootAlias: rf.alias, many: rf.root.many}
		if !r.prepareLoad(rf.ld, vars) {
			return nil, false
		}
	}
	return r, true
}

func (r *run) prepareLoad(ld *load, vars map[string]any) bool {
	for _, af := range ld.actions {
		if _, done := r.args[af]; done {
			continue
		}
		count, ok1 := intArg(af.count, vars)
		last, ok2 := intArg(af.lastNSec, vars)
		if !ok1 || !ok2 {
			return false
		}
		q, err := serving.ActionQuery(af.ai.f, "", count, last, r.now, nil, r.ex.cfg.MaxCount)
		if err != nil {
			return false
		}
		r.args[af] = actionArgs{tmpl: q}
		for _, jl := range af.ev.joins {
			if !r.prepareLoad(jl.ld, vars) {
				return false
			}
		}
	}
	return true
}

// idOf is the canonical id of a coerced id argument, as the gqlgen glue builds it.
func idOf(ent *entityInfo, v any) (string, bool) {
	if !ent.intID {
		s, ok := v.(string)
		return s, ok
	}
	n, ok := intValue(v)
	if !ok {
		return "", false
	}
	return strconv.Itoa(n), true
}

// intValue reads a coerced Int argument. GraphQL's Int is 32-bit: a value beyond that is not
// ok, so the operation goes to gqlgen's executor, which reports the coercion error.
func intValue(v any) (int, bool) {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int:
		n = int64(x)
	case json.Number:
		var err error
		if n, err = strconv.ParseInt(string(x), 10, 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

func intArg(a *ast.Value, vars map[string]any) (*int, bool) {
	if a == nil {
		return nil, true
	}
	v, err := a.Value(vars)
	if err != nil {
		return nil, false
	}
	if v == nil {
		return nil, true
	}
	n, ok := intValue(v)
	return &n, ok
}

// execute runs the levels: each reads the static features of all its batches in one call and
// their action fields in one call (concurrently with each other), then the joins of the events
// read make the next level.
func (r *run) execute() {
	var level []*batch
	for _, b := range r.roots {
		if b != nil {
			level = append(level, b)
		}
	}
	for len(level) > 0 {
		// The request's context ending (deadline, client gone) stops the plan between levels: no
		// read of a later level starts, and the errors of a level whose reads it cut short are
		// not built (the answer is the gateway's TIMEOUT, see Execute).
		if r.ctx.Err() != nil {
			return
		}
		r.readLevel(level)
		if r.ctx.Err() != nil {
			r.cut = cutRead(level)
			return
		}
		r.reportErrors(level)
		r.level++
		level = r.nextLevel(level)
	}
}

func (r *run) readLevel(level []*batch) {
	var queries []store.ActionQuery
	index := map[store.ActionQuery]int32{}
	hasStatic := false
	for _, b := range level {
		n := len(b.ids)
		if n == 0 {
			continue
		}
		if len(b.ld.statics) > 0 {
			hasStatic = true
			for _, s := range b.ld.statics {
				r.ex.cfg.Recorder.FeatureRead(b.ld.ent.e.Name, s.f.Name, n)
			}
		}
		if len(b.ld.actions) == 0 {
			continue
		}
		b.acts = make([]actResult, len(b.ld.actions)*n)
		for k, af := range b.ld.actions {
			r.ex.cfg.Recorder.FeatureRead(b.ld.ent.e.Name, af.ai.f.Name, n)
			q := r.args[af].tmpl
			for i, id := range b.ids {
				q.Key.ID = id
				x, ok := index[q]
				if !ok {
					x = int32(len(queries))
					index[q] = x
					queries = append(queries, q)
				}
				b.acts[k*n+i].q = x
			}
		}
	}
	var (
		results map[store.ActionQuery][]store.ActionEvent
		actErr  error
		wg      sync.WaitGroup
	)
	if len(queries) > 0 {
		readActions := func() {
			ctx, done := r.ex.cfg.Observer.Step(r.ctx, Step{Kind: ActionRead, Level: r.level, Queries: len(queries)})
			results, actErr = r.ex.actions.ReadActions(ctx, queries)
			done(actErr)
		}
		if hasStatic {
			wg.Add(1)
			go func() { defer wg.Done(); readActions() }()
		} else {
			readActions()
		}
	}
	if hasStatic {
		r.readStatics(level)
	}
	wg.Wait()
	if len(queries) > 0 {
		r.decodeActions(level, queries, results, actErr)
	}
}

// readStatics reads every static feature of the level: one store call per entity kind, for the
// union of the level's ids and features of that kind. Like the dataloader batch on gqlgen's
// path, a failed call fails every static feature of the level.
func (r *run) readStatics(level []*batch) {
	type group struct {
		q        store.StaticQuery
		ids      map[string]int
		features map[string]int
		out      []store.StaticValue
	}
	var groups []*group
	byPrefix := map[string]*group{}
	rowOf := make([][]int32, len(level)) // per batch, per id: the entity's index in its group
	colOf := make([][]int32, len(level)) // per batch, per static: the feature's index in its group
	for x, b := range level {
		if len(b.ids) == 0 || len(b.ld.statics) == 0 {
			continue
		}
		prefix := b.ld.ent.e.Prefix
		g := byPrefix[prefix]
		if g == nil {
			g = &group{q: store.StaticQuery{Prefix: prefix}, ids: map[string]int{}, features: map[string]int{}}
			byPrefix[prefix] = g
			groups = append(groups, g)
		}
		rowOf[x] = make([]int32, len(b.ids))
		for i, id := range b.ids {
			k, seen := g.ids[id]
			if !seen {
				k = len(g.q.IDs)
				g.ids[id] = k
				g.q.IDs = append(g.q.IDs, id)
			}
			rowOf[x][i] = int32(k)
		}
		colOf[x] = make([]int32, len(b.ld.statics))
		for j, st := range b.ld.statics {
			k, seen := g.features[st.f.Name]
			if !seen {
				k = len(g.q.Features)
				g.features[st.f.Name] = k
				g.q.Features = append(g.q.Features, st.f.Name)
			}
			colOf[x][j] = int32(k)
		}
	}
	var err error
	for _, g := range groups {
		if err = r.ctx.Err(); err != nil {
			break
		}
		g.out = make([]store.StaticValue, g.q.Len())
		ctx, done := r.ex.cfg.Observer.Step(r.ctx, Step{Kind: StaticRead, Level: r.level, Keys: g.q.Len()})
		err = r.ex.statics.ReadStatic(ctx, g.q, g.out)
		done(err)
		if err != nil {
			break
		}
	}
	for x, b := range level {
		ns := len(b.ld.statics)
		if ns == 0 || len(b.ids) == 0 {
			continue
		}
		if err != nil {
			b.err = err
			continue
		}
		g := byPrefix[b.ld.ent.e.Prefix]
		nf := len(g.q.Features)
		b.vals = make([]store.Value, len(b.ids)*ns)
		for i := range b.ids {
			row := g.out[int(rowOf[x][i])*nf:]
			for j := range b.ld.statics {
				s := &b.ld.statics[j]
				c := i*ns + j
				sv := row[colOf[x][j]].Value
				if sv.Kind == store.Absent {
					b.vals[c] = s.f.Default
					continue
				}
				v, cerr := registry.Conform(s.f.Type, s.f.Container, sv)
				if cerr != nil {
					if b.bad == nil {
						b.bad = make([]error, len(b.vals))
					}
					b.bad[c] = fmt.Errorf("%w: stored value of %s.%s is not a %s %s: %v",
						serving.ErrBadStoredValue, s.f.Entity.Name, s.f.Name, s.f.Container, s.f.Type, cerr)
					continue
				}
				b.vals[c] = v
			}
		}
	}
}

func (r *run) decodeActions(level []*batch, queries []store.ActionQuery, results map[store.ActionQuery][]store.ActionEvent, err error) {
	var slab []store.Value
	for _, b := range level {
		n := len(b.ids)
		for k, af := range b.ld.actions {
			nf := len(af.ai.f.Fields)
			for i := range n {
				res := &b.acts[k*n+i]
				if i&(checkEvery-1) == checkEvery-1 && err == nil {
					// Decoding thousands of series is work a request past its end must not do.
					err = r.ctx.Err()
				}
				if err != nil {
					res.err = err
					continue
				}
				evs := results[queries[res.q]]
				res.evs = make([]event, len(evs))
				if len(slab) < len(evs)*nf {
					slab = make([]store.Value, max(len(evs)*nf, 256))
				}
				for e, se := range evs {
					vals := slab[:nf:nf]
					slab = slab[nf:]
					if derr := decodeMember(af.ai, se.Member, vals); derr != nil {
						res.err = fmt.Errorf("%w: stored event %q: %v", serving.ErrBadStoredValue, se.Member, derr)
						res.evs = nil
						break
					}
					res.evs[e] = event{ts: se.TS, vals: vals}
				}
			}
		}
	}
}

// cutRead is the first failed read of a level.
func cutRead(level []*batch) error {
	for _, b := range level {
		if b.err != nil {
			return b.err
		}
		for _, a := range b.acts {
			if a.err != nil {
				return a.err
			}
		}
	}
	return nil
}

// nextLevel makes the batches of the joined entities of the events just read.
func (r *run) nextLevel(level []*batch) []*batch {
	var next []*batch
	for _, b := range level {
		n := len(b.ids)
		maxJoins := 0
		for _, af := range b.ld.actions {
			maxJoins = max(maxJoins, len(af.ev.joins))
		}
		if maxJoins == 0 || n == 0 {
			continue
		}
		b.maxJoins = maxJoins
		b.joins = make([]*batch, len(b.ld.actions)*maxJoins)
		for k, af := range b.ld.actions {
			for j, jl := range af.ev.joins {
				jb := &batch{ld: jl.ld, parent: b, parentAct: k, joinAlias: jl.alias}
				for i := range n {
					res := &b.acts[k*n+i]
					if res.err != nil || len(res.evs) == 0 {
						continue
					}
					if res.at == nil {
						res.at = make([]int32, len(af.ev.joins)*len(res.evs))
					}
					for e, ev := range res.evs {
						v := ev.vals[jl.field]
						if v.Kind == store.Absent {
							res.at[j*len(res.evs)+e] = -1
							continue
						}
						res.at[j*len(res.evs)+e] = int32(len(jb.ids))
						jb.ids = append(jb.ids, joinID(v))
						jb.parentRow = append(jb.parentRow, int32(i))
						jb.parentEvt = append(jb.parentEvt, int32(e))
					}
				}
				if len(jb.ids) > 0 {
					b.joins[k*maxJoins+j] = jb
					next = append(next, jb)
				}
			}
		}
	}
	return next
}

func joinID(v store.Value) string {
	if v.Kind == store.Int {
		return strconv.FormatInt(v.Num, 10)
	}
	return v.Str
}

// path is the path of entity i of b; seg is the alias the entity is written under when b is a
// join (a root entity's path is its root field's).
func (b *batch) path(i int, seg string) ast.Path {
	if b.parent == nil {
		if b.many {
			return ast.Path{ast.PathName(b.rootAlias), ast.PathIndex(i)}
		}
		return ast.Path{ast.PathName(b.rootAlias)}
	}
	af := b.parent.ld.actions[b.parentAct]
	p := b.parent.path(int(b.parentRow[i]), af.joinAlias)
	return append(p, ast.PathName(af.alias), ast.PathIndex(int(b.parentEvt[i])), ast.PathName(seg))
}

// addError presents err at path as gqlgen's path reports it: a static feature's error as
// resolvers.loadEntities does (presented, then placed at the path), an action field's error as
// gqlgen reports a resolver's error (wrapped with its path and location, then presented).
func (r *run) addError(path ast.Path, loc *gqlerror.Location, err error) {
	var e *gqlerror.Error
	if loc == nil {
		e = r.present(r.ctx, err)
		e.Path = path
	} else {
		w := gqlerror.WrapPath(path, err)
		if loc.Line > 0 {
			w.Locations = []gqlerror.Location{*loc}
		}
		e = r.present(r.ctx, w)
	}
	r.errMu.Lock()
	r.errs = append(r.errs, e)
	r.errMu.Unlock()
}

// reportErrors adds the errors of a level's reads: a failed static read at every alias of every
// feature of every entity of the batch, a failed action read at the action field.
func (r *run) reportErrors(level []*batch) {
	for _, b := range level {
		ns, n := len(b.ld.statics), len(b.ids)
		if b.err != nil || b.bad != nil {
			for i := range n {
				for j, s := range b.ld.statics {
					err := b.err
					if err == nil {
						if err = b.bad[i*ns+j]; err == nil {
							continue
						}
					}
					for _, a := range s.aliases {
						r.addError(append(b.path(i, b.joinAlias), ast.PathName(a)), nil, err)
					}
				}
			}
		}
		for k, af := range b.ld.actions {
			for i := range n {
				if err := b.acts[k*n+i].err; err != nil {
					r.addError(append(b.path(i, af.joinAlias), ast.PathName(af.alias)), &af.loc, err)
				}
			}
		}
	}
}
