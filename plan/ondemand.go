package plan

import (
	"context"
	"fmt"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/derived"
	"github.com/featuregraph/featuregraph/registry"
	gqlschema "github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/serving"
	"github.com/featuregraph/featuregraph/store"
)

// On-demand features in plans (docs/on-demand.md).
//
// A service feature is read like a static feature: each once per load, with every alias it is
// answered under. A level makes one ServiceFetcher call per service, entity kind and instant
// (asOf) for the union of the level's ids and of the features of that service, alongside the
// level's store reads; a load that selects none makes no call.
//
// A derived field is evaluated per alias (its arguments may differ). Compiling it adds the
// inputs its program reads to its load — static features, and action features read with the
// widest window the program aggregates over (hidden: never written, their errors are the
// field's) — so they are read in the same level batch as the selected features. After the
// level's reads, every derived field is evaluated for every entity of the level.

// ServiceFetcher fetches service features: package service (service.Set) implements it. vals
// and errs hold len(ids)*len(features) cells, row by id; FetchService sets vals[i*nf+j] (Absent:
// no value and no default) or errs[i*nf+j] (an error at that cell alone). asOf is the instant
// the entities are answered for (Unix ms; 0: now). It must be safe for concurrent use.
type ServiceFetcher interface {
	FetchService(ctx context.Context, svc *registry.Service, e *registry.Entity, features []*registry.Feature, ids []string, asOf int64, vals []store.Value, errs []error)
}

// derivedField is one alias of a derived feature in a load.
type derivedField struct {
	f         *registry.Feature
	alias     string
	joinAlias string
	loc       gqlerror.Location
	args      []*ast.Value // per f.Arguments; nil: not given
	statics   []int        // per Program.Statics: its index in the load's statics
	actions   []int        // per Program.Actions: its index in the load's actions
}

// derivedArgs are a derived field's argument values, evaluated once per request (err: a value
// that does not coerce, the field's error at every entity).
type derivedArgs struct {
	vals    []store.Value
	err     error
	argPath ast.Path
}

// onDemand compiles the selection of an on-demand feature f into of.
func (c *compiler) onDemand(ld *load, of *objField, f *registry.Feature, cf collected, joinAlias string) error {
	if entry, ok := ld.ent.mapEntry[f]; ok {
		es, err := c.mapEntry(entry, cf.sel)
		if err != nil {
			return err
		}
		of.entry = es
	}
	if f.FeatureType == registry.ServiceFeature {
		j := -1
		for x := range ld.services {
			if ld.services[x].f == f {
				j = x
			}
		}
		if j < 0 {
			j = len(ld.services)
			ld.services = append(ld.services, newStaticRead(f))
		}
		ld.services[j].aliases = append(ld.services[j].aliases, cf.alias)
		of.kind, of.n = kService, j
		return nil
	}
	if f.Program == nil {
		return notCovered("derived feature %s.%s has no program", f.Entity.Name, f.Name)
	}
	df := &derivedField{f: f, alias: cf.alias, joinAlias: joinAlias, args: make([]*ast.Value, len(f.Arguments))}
	if p := cf.first.Position; p != nil {
		df.loc = gqlerror.Location{Line: p.Line, Column: p.Column}
	}
	for _, a := range cf.first.Arguments {
		found := false
		for i, fa := range f.Arguments {
			if gqlschema.ArgumentName(fa) == a.Name {
				df.args[i], found = a.Value, true
			}
		}
		if !found {
			return notCovered("argument %s", a.Name)
		}
	}
	prog := f.Program
	for _, name := range prog.Statics {
		sf := f.Entity.Feature(name)
		j, seen := ld.staticIx[sf]
		if !seen {
			j = len(ld.statics)
			ld.staticIx[sf] = j
			ld.statics = append(ld.statics, newStaticRead(sf))
		}
		df.statics = append(df.statics, j)
	}
	for _, w := range prog.Actions {
		af := f.Entity.Feature(w.Name)
		k := -1
		for x, a := range ld.actions {
			if a.hidden && a.ai.f == af && a.lastNSec.Raw == strconv.FormatInt(w.LastNSec, 10) {
				k = x
			}
		}
		if k < 0 {
			k = len(ld.actions)
			ld.actions = append(ld.actions, &actionField{
				ai: ld.ent.actions[af.GraphQLName()], hidden: true, ev: &eventSel{},
				count:    &ast.Value{Kind: ast.IntValue, Raw: strconv.Itoa(af.MaxCount)},
				lastNSec: &ast.Value{Kind: ast.IntValue, Raw: strconv.FormatInt(w.LastNSec, 10)},
			})
		}
		df.actions = append(df.actions, k)
	}
	of.kind, of.n = kDerived, len(ld.deriveds)
	ld.deriveds = append(ld.deriveds, df)
	return nil
}

// prepareDerived evaluates the arguments of ld's derived fields.
func (r *run) prepareDerived(ld *load, vars map[string]any) {
	for _, df := range ld.deriveds {
		da := derivedArgs{vals: make([]store.Value, len(df.f.Arguments))}
		for i, a := range df.f.Arguments {
			v := value(df.args[i], vars)
			if v == nil {
				da.vals[i] = a.Default
				continue
			}
			x, aerr := scalarValue(a.Type, v, argAt(gqlschema.ArgumentName(a)))
			if aerr != nil {
				da = derivedArgs{err: aerr.err, argPath: aerr.path}
				break
			}
			da.vals[i] = x
		}
		r.dargs[df] = da
	}
}

// serviceCall is one call of a level: the features of one service for the ids of one entity
// kind at one instant, and where each batch's cells are in it.
type serviceCall struct {
	svc      *registry.Service
	ent      *registry.Entity
	at       int64
	ids      []string
	idIx     map[string]int
	features []*registry.Feature
	featIx   map[*registry.Feature]int
	vals     []store.Value
	errs     []error
}

// serviceCalls groups the service features of a level into calls, and sizes the batches' cells.
func (r *run) serviceCalls(level []*batch) []*serviceCall {
	var calls []*serviceCall
	type key struct {
		svc *registry.Service
		ent *registry.Entity
		at  int64
	}
	byKey := map[key]*serviceCall{}
	for _, b := range level {
		if len(b.ld.services) == 0 || len(b.ids) == 0 {
			continue
		}
		b.svc = make([]store.Value, len(b.ids)*len(b.ld.services))
		for _, s := range b.ld.services {
			r.ex.cfg.Recorder.FeatureRead(b.ld.ent.e.Name, s.f.Name, len(b.ids))
			k := key{s.f.Source, b.ld.ent.e, b.at}
			c := byKey[k]
			if c == nil {
				c = &serviceCall{svc: k.svc, ent: k.ent, at: k.at, idIx: map[string]int{}, featIx: map[*registry.Feature]int{}}
				byKey[k] = c
				calls = append(calls, c)
			}
			if _, ok := c.featIx[s.f]; !ok {
				c.featIx[s.f] = len(c.features)
				c.features = append(c.features, s.f)
			}
			for _, id := range b.ids {
				if _, ok := c.idIx[id]; !ok {
					c.idIx[id] = len(c.ids)
					c.ids = append(c.ids, id)
				}
			}
		}
	}
	return calls
}

// callServices makes the level's calls, concurrently, and waits for them.
func (r *run) callServices(calls []*serviceCall) {
	done := make(chan struct{}, len(calls))
	for _, c := range calls {
		go func() {
			defer func() { done <- struct{}{} }()
			c.vals = make([]store.Value, len(c.ids)*len(c.features))
			c.errs = make([]error, len(c.vals))
			ctx, end := r.ex.cfg.Observer.Step(r.ctx, Step{Kind: ServiceCall, Level: r.level, Keys: len(c.ids), Service: c.svc.Name})
			r.ex.services.FetchService(ctx, c.svc, c.ent, c.features, c.ids, c.at, c.vals, c.errs)
			var first error
			for _, err := range c.errs {
				if err != nil {
					first = err
					break
				}
			}
			end(first)
		}()
	}
	for range calls {
		<-done
	}
}

// deliverServices copies every call's cells into the batches that asked for them, once the
// calls are done.
func (r *run) deliverServices(level []*batch, calls []*serviceCall) {
	if len(calls) == 0 {
		return
	}
	for _, b := range level {
		ns := len(b.ld.services)
		if ns == 0 || len(b.ids) == 0 {
			continue
		}
		for j, s := range b.ld.services {
			var c *serviceCall
			for _, x := range calls {
				if x.svc == s.f.Source && x.ent == b.ld.ent.e && x.at == b.at {
					c = x
				}
			}
			fj := c.featIx[s.f]
			nf := len(c.features)
			for i, id := range b.ids {
				cell := c.idIx[id]*nf + fj
				if err := c.errs[cell]; err != nil {
					if b.svcErr == nil {
						b.svcErr = make([]error, len(b.svc))
					}
					b.svcErr[i*ns+j] = err
					continue
				}
				b.svc[i*ns+j] = c.vals[cell]
			}
		}
	}
}

// eventsView is the events of one action field of one entity, as package derived reads them.
type eventsView struct{ evs []event }

func (v *eventsView) Len() int                       { return len(v.evs) }
func (v *eventsView) TS(i int) int64                 { return v.evs[i].ts }
func (v *eventsView) Value(i, field int) store.Value { return v.evs[i].vals[field] }

// derive evaluates the derived fields of the level's batches, once its reads are done.
func (r *run) derive(level []*batch) {
	for _, b := range level {
		nd, n := len(b.ld.deriveds), len(b.ids)
		if nd == 0 || n == 0 {
			continue
		}
		b.der = make([]store.Value, n*nd)
		ns := len(b.ld.statics)
		now := b.at
		if now == 0 {
			now = r.now.UnixMilli()
		}
		for d, df := range b.ld.deriveds {
			da := r.dargs[df]
			prog := df.f.Program
			in := derived.Input{Now: now, Args: da.vals,
				Statics: make([]store.Value, len(prog.Statics)), Actions: make([]derived.Events, len(prog.Actions))}
			views := make([]eventsView, len(prog.Actions))
			for x := range views {
				in.Actions[x] = &views[x]
			}
			for i := range n {
				err := da.err
				for x, j := range df.statics {
					if err != nil {
						break
					}
					c := i*ns + j
					switch {
					case b.err != nil:
						err = b.err
					case b.bad != nil && b.bad[c] != nil:
						err = b.bad[c]
					default:
						in.Statics[x] = b.vals[c].Value
					}
				}
				for x, k := range df.actions {
					if err != nil {
						break
					}
					res := &b.acts[k*n+i]
					if res.err != nil {
						err = res.err
						break
					}
					views[x].evs = res.evs
				}
				if err == nil {
					if b.der[i*nd+d], err = prog.Eval(&in); err != nil {
						err = &exprError{err}
					}
				}
				if err != nil {
					if b.derErr == nil {
						b.derErr = make([]error, n*nd)
					}
					b.derErr[i*nd+d] = err
				}
			}
		}
	}
}

// reportOnDemand adds the errors of b's service and derived fields.
func (r *run) reportOnDemand(b *batch) {
	ns, n := len(b.ld.services), len(b.ids)
	if b.svcErr != nil {
		for i := range n {
			for j, s := range b.ld.services {
				if err := b.svcErr[i*ns+j]; err != nil {
					for _, a := range s.aliases {
						r.addError(append(b.path(i, b.joinAlias), ast.PathName(a)), nil, err)
					}
				}
			}
		}
	}
	nd := len(b.ld.deriveds)
	if b.derErr == nil {
		return
	}
	for i := range n {
		for d, df := range b.ld.deriveds {
			err := b.derErr[i*nd+d]
			if err == nil {
				continue
			}
			path := append(b.path(i, df.joinAlias), ast.PathName(df.alias))
			if da := r.dargs[df]; da.argPath != nil && da.err == err {
				r.addArgError(append(path, da.argPath...), err)
				continue
			}
			r.addError(path, nil, fmt.Errorf("%s.%s: %w", df.f.Entity.Name, df.f.Name, err))
		}
	}
}

// writeOnDemand writes the value of an on-demand field of entity i of b.
func writeOnDemand(dst []byte, b *batch, i int, f *objField) []byte {
	var v *store.Value
	if f.kind == kService {
		c := i*len(b.ld.services) + f.n
		if b.svc == nil || b.svcErr != nil && b.svcErr[c] != nil {
			return append(dst, "null"...)
		}
		v = &b.svc[c]
	} else {
		c := i*len(b.ld.deriveds) + f.n
		if b.der == nil || b.derErr != nil && b.derErr[c] != nil {
			return append(dst, "null"...)
		}
		v = &b.der[c]
	}
	if f.entry != nil && v.Kind == store.Map {
		return writeEntries(dst, v, f.entry)
	}
	return v.AppendJSON(dst)
}

// exprError is an evaluation that failed (serving.ErrExpression: code EXPRESSION_ERROR).
type exprError struct{ err error }

func (e *exprError) Error() string        { return e.err.Error() }
func (e *exprError) Unwrap() error        { return e.err }
func (e *exprError) Is(target error) bool { return target == serving.ErrExpression }
