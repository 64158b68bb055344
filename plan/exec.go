package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	at   int64               // the instant the entities are answered for, Unix ms; 0: now
	vals []store.StaticValue // vals[i*len(ld.statics)+j].Value: static j of entity i (TS unused)
	bad  []error             // nil, or per cell: a stored value that does not have the registry's type
	err  error               // the static read of the batch failed
	acts []actResult         // acts[k*len(ids)+i]: action field k of entity i

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

	// On-demand values (ondemand.go): svc[i*len(ld.services)+j] is service feature j of entity
	// i (svcErr, when not nil, its error); der and derErr the same for the derived fields.
	svc    []store.Value
	svcErr []error
	der    []store.Value
	derErr []error
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
	at   int64             // the instant the field (and its joins) is answered for, Unix ms; 0: now
	// err is the field's error at every entity it is selected on (nothing is read): a value
	// that does not coerce (argPath non-nil: where it is under the field) or an invalid argument.
	err     error
	argPath ast.Path
}

// errIntrospectionDisabled is gqlgen's error for __schema and __type when introspection is off.
var errIntrospectionDisabled = errors.New("introspection disabled")

type run struct {
	ex       *Executor
	ctx      context.Context
	now      time.Time
	args     map[*actionField]actionArgs
	roots    []*batch // per root field (nil for __typename and for a root field in error)
	dataNull bool     // a non-null root field (users(ids:)) is in error: the data is null
	errs     gqlerror.List
	errMu    sync.Mutex
	level    int
	present  graphql.ErrorPresenterFunc
	cut      error                 // a read the end of the context cut short (it names the backend), or nil
	slabs    [][]store.StaticValue // pooled, given back by release (scratch.go); appended to by the level's static reads only
	// dargs are the argument values of the derived fields, evaluated once per request.
	dargs map[*derivedField]derivedArgs
}

// prepare evaluates the arguments of every root and action field, as gqlgen's generated
// executor does: a value that does not coerce, too many ids or an invalid asOf is the root
// field's error (null; for a list root, the whole data); a bad action argument is the action
// field's error at every entity it is selected on.
func (ex *Executor) prepare(ctx context.Context, p *Plan, vars map[string]any) *run {
	r := &run{ex: ex, ctx: ctx, now: time.Now(), args: map[*actionField]actionArgs{}, roots: make([]*batch, len(p.roots)),
		present: ex.cfg.Presenter, dargs: map[*derivedField]derivedArgs{}}
	for i, rf := range p.roots {
		if rf.typename {
			continue
		}
		if rf.introspect != "" {
			if oc := graphql.GetOperationContext(ctx); oc.DisableIntrospection {
				r.addError(ast.Path{ast.PathName(rf.alias)}, &rf.loc, errIntrospectionDisabled)
			}
			continue
		}
		fail := func(err error, argPath ast.Path) {
			if rf.root.many {
				r.dataNull = true
			}
			path := ast.Path{ast.PathName(rf.alias)}
			if argPath != nil {
				r.addArgError(append(path, argPath...), err)
			} else {
				r.addError(path, &rf.loc, err)
			}
		}
		var ids []string
		v := value(rf.arg, vars)
		var aerr *argError
		if rf.root.many {
			var items []any
			if v != nil {
				items = list(v)
			}
			ids = make([]string, len(items))
			for j, x := range items {
				if ids[j], aerr = coerceID(rf.root.ent, x, j); aerr != nil {
					break
				}
			}
		} else {
			var id string
			id, aerr = coerceID(rf.root.ent, v, -1)
			ids = []string{id}
		}
		if aerr != nil {
			fail(aerr.err, aerr.path)
			continue
		}
		at, aerr := coerceTime(value(rf.asOf, vars), "asOf")
		if aerr != nil {
			fail(aerr.err, aerr.path)
			continue
		}
		if rf.root.many && len(ids) > ex.cfg.MaxIDs {
			fail(serving.TooManyIDs(len(ids), ex.cfg.MaxIDs), nil)
			continue
		}
		if err := serving.CheckAsOf(at); err != nil {
			fail(err, nil)
			continue
		}
		r.roots[i] = &batch{ld: rf.ld, ids: ids, rootAlias: rf.alias, many: rf.root.many, at: unixMS(at)}
		r.prepareLoad(rf.ld, vars, at)
	}
	return r
}

func unixMS(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixMilli()
}

// prepareLoad evaluates the arguments of the action fields of ld, answered as of at (nil: now),
// and of the loads their joins make.
func (r *run) prepareLoad(ld *load, vars map[string]any, at *time.Time) {
	r.prepareDerived(ld, vars)
	for _, af := range ld.actions {
		count, aerr := coerceInt(value(af.count, vars), "count")
		var last *int
		var filter *store.Filter
		var own *time.Time
		if aerr == nil {
			last, aerr = coerceInt(value(af.lastNSec, vars), "lastNSec")
		}
		if aerr == nil {
			filter, aerr = coerceFilter(af.ai, value(af.filter, vars))
		}
		if aerr == nil {
			own, aerr = coerceTime(value(af.asOf, vars), "asOf")
		}
		if aerr != nil {
			r.args[af] = actionArgs{err: aerr.err, argPath: aerr.path}
			continue
		}
		eff := serving.PointInTime(at, own)
		if err := serving.CheckAsOf(eff); err != nil {
			r.args[af] = actionArgs{err: err}
			continue
		}
		q, err := serving.ActionQuery(af.ai.f, "", count, last, r.now, eff, r.ex.cfg.MaxCount)
		if err != nil {
			r.args[af] = actionArgs{err: err}
			continue
		}
		q.Filter = filter
		r.args[af] = actionArgs{tmpl: q, at: unixMS(eff)}
		for _, jl := range af.ev.joins {
			r.prepareLoad(jl.ld, vars, eff)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

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
		r.derive(level)
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
			if b.at == 0 { // point-in-time reads count what they read (readHistory)
				for _, s := range b.ld.statics {
					r.ex.cfg.Recorder.FeatureRead(b.ld.ent.e.Name, s.f.Name, n)
				}
			}
		}
		if len(b.ld.actions) == 0 {
			continue
		}
		b.acts = make([]actResult, len(b.ld.actions)*n)
		for k, af := range b.ld.actions {
			a := r.args[af]
			if a.err != nil {
				for i := range n {
					b.acts[k*n+i] = actResult{q: -1, err: a.err}
				}
				continue
			}
			r.ex.cfg.Recorder.FeatureRead(b.ld.ent.e.Name, af.ai.f.Name, n)
			q := a.tmpl
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
	// The level's service calls run alongside its store reads.
	calls := r.serviceCalls(level)
	if len(calls) > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); r.callServices(calls) }()
	}
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
	r.deliverServices(level, calls)
	if len(queries) > 0 {
		r.decodeActions(level, queries, results, actErr)
	}
}

// readStatics reads every static feature of the level: the current values (readCurrent) and,
// for entities answered as of a past instant, their versions of then (readHistory).
func (r *run) readStatics(level []*batch) {
	var current, past []*batch
	for _, b := range level {
		if b.at == 0 {
			current = append(current, b)
		} else {
			past = append(past, b)
		}
	}
	if len(current) > 0 {
		r.readCurrent(current)
	}
	if len(past) > 0 {
		r.readHistory(past)
	}
}

// readHistory reads the static features of entities answered as of a past instant, as
// resolvers.loadHistory does: a feature without `history: true` is an error at its field (not
// read, not counted); the others are read with one ReadStaticAsOf per distinct instant of the
// level (the history capability found through decorators, store.As), a failed call failing
// every feature read with it.
func (r *run) readHistory(level []*batch) {
	type group struct {
		keys []store.Key
		seen map[store.Key]bool
		out  map[store.Key]store.StaticValue
		err  error
	}
	groups := map[int64]*group{}
	var order []int64
	for _, b := range level {
		ns, n := len(b.ld.statics), len(b.ids)
		if ns == 0 || n == 0 {
			continue
		}
		g := groups[b.at]
		if g == nil {
			g = &group{seen: map[store.Key]bool{}}
			groups[b.at] = g
			order = append(order, b.at)
		}
		for j, st := range b.ld.statics {
			if !st.f.History {
				if b.bad == nil {
					b.bad = make([]error, n*ns)
				}
				err := serving.NoHistoryError(st.f)
				for i := range n {
					b.bad[i*ns+j] = err
				}
				continue
			}
			r.ex.cfg.Recorder.FeatureRead(b.ld.ent.e.Name, st.f.Name, n)
			for _, id := range b.ids {
				k := store.Key{Prefix: b.ld.ent.e.Prefix, ID: id, Feature: st.f.Name}
				if !g.seen[k] {
					g.seen[k] = true
					g.keys = append(g.keys, k)
				}
			}
		}
	}
	h, ok := store.As[store.StaticHistoryReader](r.ex.statics)
	for _, at := range order {
		g := groups[at]
		if len(g.keys) == 0 {
			continue
		}
		if g.err = r.ctx.Err(); g.err != nil {
			continue
		}
		if !ok {
			g.err = store.ErrNoHistory
			continue
		}
		ctx, done := r.ex.cfg.Observer.Step(r.ctx, Step{Kind: StaticRead, Level: r.level, Keys: len(g.keys)})
		g.out, g.err = h.ReadStaticAsOf(ctx, g.keys, at)
		done(g.err)
	}
	for _, b := range level {
		ns, n := len(b.ld.statics), len(b.ids)
		if ns == 0 || n == 0 {
			continue
		}
		g := groups[b.at]
		if g.err != nil {
			b.err = g.err // every feature read; those without history keep their own error (bad)
			continue
		}
		b.vals = make([]store.StaticValue, n*ns)
		for j := range b.ld.statics {
			s := &b.ld.statics[j]
			if !s.f.History {
				continue
			}
			for i, id := range b.ids {
				sv := g.out[store.Key{Prefix: b.ld.ent.e.Prefix, ID: id, Feature: s.f.Name}]
				r.setValue(b, i*ns+j, s, &sv.Value)
			}
		}
	}
}

// setValue sets cell c of b from a stored value (Kind Absent: the default). sv is a pointer:
// a Value is 88 bytes, and a P2 read sets 5,000 cells. sv may be the cell itself (readCurrent
// reads a level's only batch of a kind straight into its cells).
func (r *run) setValue(b *batch, c int, s *staticRead, sv *store.Value) {
	if sv.Kind == s.kind && sv.Kind != store.Absent {
		if d := &b.vals[c].Value; d != sv {
			*d = *sv // the common case: the form Conform answers unchanged
		}
		return
	}
	if sv.Kind == store.Absent {
		b.vals[c].Value = s.f.Default
		return
	}
	v, cerr := registry.Conform(s.f.Type, s.f.Container, *sv)
	if cerr != nil {
		if b.bad == nil {
			b.bad = make([]error, len(b.vals))
		}
		b.bad[c] = fmt.Errorf("%w: stored value of %s.%s is not a %s %s: %v",
			serving.ErrBadStoredValue, s.f.Entity.Name, s.f.Name, s.f.Container, s.f.Type, cerr)
		return
	}
	b.vals[c].Value = v
}

// readCurrent reads the current static features of the level: one store call per entity kind,
// for the union of the level's ids and features of that kind. Like the dataloader batch on
// gqlgen's path, a failed call fails every static feature of the level.
func (r *run) readCurrent(level []*batch) {
	type group struct {
		q        store.StaticQuery
		ids      map[string]int
		features map[string]int
		out      []store.StaticValue
	}
	var groups []*group
	byPrefix := map[string]*group{}
	// Per batch, per id: the entity's index in its group, and per static: the feature's index
	// in its group. nil: the identity, for the first batch of a group, whose ids and features
	// are the group's query as they are (the common case, one batch per entity kind: no maps).
	rowOf := make([][]int32, len(level))
	colOf := make([][]int32, len(level))
	for x, b := range level {
		if len(b.ids) == 0 || len(b.ld.statics) == 0 {
			continue
		}
		prefix := b.ld.ent.e.Prefix
		g := byPrefix[prefix]
		if g == nil {
			g = &group{q: store.StaticQuery{Prefix: prefix, IDs: b.ids, Features: make([]string, len(b.ld.statics))}}
			for j, st := range b.ld.statics {
				g.q.Features[j] = st.f.Name
			}
			byPrefix[prefix] = g
			groups = append(groups, g)
			continue
		}
		if g.ids == nil {
			// A second batch of the kind: index the group's ids and features, and copy its
			// ids (they are the first batch's).
			g.q.IDs = slices.Clone(g.q.IDs)
			g.ids = make(map[string]int, len(g.q.IDs)+len(b.ids))
			for k := len(g.q.IDs) - 1; k >= 0; k-- {
				g.ids[g.q.IDs[k]] = k // the first of duplicate ids
			}
			g.features = make(map[string]int, len(g.q.Features))
			for k := len(g.q.Features) - 1; k >= 0; k-- {
				g.features[g.q.Features[k]] = k
			}
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
		g.out = staticValues(g.q.Len())
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
		rows, cols := rowOf[x], colOf[x]
		out := g.out
		if g.ids == nil {
			// The kind's only batch: its query is the batch's ids and statics as they are, so
			// the answer is its cells (setValue changes those that need a default or another
			// form): no copy, and one slab to clear instead of two.
			b.vals, g.out = out, nil
			r.slabs = append(r.slabs, b.vals)
		} else {
			b.vals = r.values(len(b.ids) * ns)
		}
		for i := range b.ids {
			e := i
			if rows != nil {
				e = int(rows[i])
			}
			row := out[e*nf : (e+1)*nf]
			for j := range b.ld.statics {
				c := j
				if cols != nil {
					c = int(cols[j])
				}
				r.setValue(b, i*ns+j, &b.ld.statics[j], &row[c].Value)
			}
		}
	}
	for _, g := range groups {
		if g.out != nil {
			putStaticValues(g.out)
		}
	}
}

func (r *run) decodeActions(level []*batch, queries []store.ActionQuery, results map[store.ActionQuery][]store.ActionEvent, err error) {
	var slab []store.Value
	for _, b := range level {
		n := len(b.ids)
		for k, af := range b.ld.actions {
			if r.args[af].err != nil {
				continue // not read (prepareLoad)
			}
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
			if a.err != nil && a.q >= 0 {
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
				jb := &batch{ld: jl.ld, parent: b, parentAct: k, joinAlias: jl.alias, at: r.args[af].at}
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

// addArgError presents a value that does not coerce, at path (the field's, then the value's
// under it), without a location, as gqlgen's argument unmarshalers report it.
func (r *run) addArgError(path ast.Path, err error) {
	e := r.present(r.ctx, gqlerror.WrapPath(path, err))
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
					if b.bad != nil && b.bad[i*ns+j] != nil {
						err = b.bad[i*ns+j] // a point-in-time read of a feature without history
					}
					if err == nil {
						continue
					}
					for _, a := range s.aliases {
						r.addError(append(b.path(i, b.joinAlias), ast.PathName(a)), nil, err)
					}
				}
			}
		}
		r.reportOnDemand(b)
		for k, af := range b.ld.actions {
			if af.hidden {
				continue // its errors are the derived fields' (derive)
			}
			a := r.args[af]
			for i := range n {
				err := b.acts[k*n+i].err
				switch {
				case err == nil:
				case a.argPath != nil:
					r.addArgError(append(append(b.path(i, af.joinAlias), ast.PathName(af.alias)), a.argPath...), err)
				default:
					r.addError(append(b.path(i, af.joinAlias), ast.PathName(af.alias)), &af.loc, err)
				}
			}
		}
	}
}
