package plan

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/introspection"

	"github.com/featuregraph/featuregraph/store"
)

// writer writes the answer of a run. It looks at the request's context every checkEvery
// objects and stops once it has ended (err is then the context's error and what was written is
// to be dropped): a 200,000-value answer is not finished for a client that is gone or a request
// past its deadline.
type writer struct {
	ctx     context.Context
	objects int
	err     error
}

// stopped counts one object written and reports whether the writer must stop.
func (w *writer) stopped() bool {
	if w.err != nil {
		return true
	}
	w.objects++
	if w.objects&(checkEvery-1) == 0 {
		w.err = w.ctx.Err()
	}
	return w.err != nil
}

// write appends the answer's data object, field by field in the order gqlgen writes it.
func (w *writer) write(dst []byte, r *run, p *Plan) []byte {
	dst = append(dst, '{')
	for i, rf := range p.roots {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, rf.key...)
		if rf.typename {
			dst = append(dst, `"Query"`...)
			continue
		}
		if rf.introspect != "" {
			dst = r.introspect(dst, &rf)
			continue
		}
		b := r.roots[i]
		if b == nil { // in error (prepare)
			dst = append(dst, "null"...)
			continue
		}
		if !rf.root.many {
			dst = w.writeObject(dst, b, 0, rf.ws)
			continue
		}
		dst = append(dst, '[')
		for j := range b.ids {
			if w.err != nil {
				return dst
			}
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = w.writeObject(dst, b, j, rf.ws)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// writeObject writes entity i of b with the selection ws.
func (w *writer) writeObject(dst []byte, b *batch, i int, ws *writeSel) []byte {
	if w.stopped() {
		return dst
	}
	dst = append(dst, '{')
	ns, n := len(b.ld.statics), len(b.ids)
	for x := range ws.fields {
		f := &ws.fields[x]
		if x > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, f.key...)
		switch f.kind {
		case kTypename:
			dst = append(dst, f.lit...)
		case kID:
			if b.ld.ent.intID {
				dst = append(dst, b.ids[i]...)
			} else {
				dst = store.AppendString(dst, b.ids[i])
			}
		case kStatic, kMap:
			c := i*ns + f.n
			if b.err != nil || (b.bad != nil && b.bad[c] != nil) {
				dst = append(dst, "null"...)
				continue
			}
			v := &b.vals[c].Value
			if f.kind == kStatic || v.Kind != store.Map {
				dst = v.AppendJSON(dst)
				continue
			}
			dst = writeEntries(dst, v, f.entry)
		case kService, kDerived:
			dst = writeOnDemand(dst, b, i, f)
		case kAction:
			res := &b.acts[f.n*n+i]
			if res.err != nil {
				dst = append(dst, "null"...)
				continue
			}
			af := b.ld.actions[f.n]
			dst = append(dst, '[')
			for e := range res.evs {
				if w.err != nil {
					return dst
				}
				if e > 0 {
					dst = append(dst, ',')
				}
				dst = w.writeEvent(dst, b, f.n, res, e, af.ev)
			}
			dst = append(dst, ']')
		}
	}
	return append(dst, '}')
}

func writeEntries(dst []byte, v *store.Value, ws *writeSel) []byte {
	dst = append(dst, '[')
	for e, k := range v.Keys {
		if e > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		for x := range ws.fields {
			f := &ws.fields[x]
			if x > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, f.key...)
			switch f.kind {
			case kTypename:
				dst = append(dst, f.lit...)
			case kEntryKey:
				dst = store.AppendString(dst, k)
			case kEntryValue:
				dst = v.Items[e].AppendJSON(dst)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func (w *writer) writeEvent(dst []byte, b *batch, k int, res *actResult, e int, es *eventSel) []byte {
	if w.stopped() {
		return dst
	}
	ev := &res.evs[e]
	dst = append(dst, '{')
	for x := range es.fields {
		f := &es.fields[x]
		if x > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, f.key...)
		switch f.kind {
		case kTypename:
			dst = append(dst, f.lit...)
		case kTimestamp:
			dst = append(dst, '"')
			dst = time.UnixMilli(ev.ts).UTC().AppendFormat(dst, time.RFC3339Nano)
			dst = append(dst, '"')
		case kEventField:
			dst = ev.vals[f.n].AppendJSON(dst)
		case kJoin:
			row := int32(-1)
			if res.at != nil {
				row = res.at[f.n*len(res.evs)+e]
			}
			jb := b.joins[k*b.maxJoins+f.n]
			if row < 0 || jb == nil {
				dst = append(dst, "null"...)
				continue
			}
			dst = w.writeObject(dst, jb, int(row), f.join)
		}
	}
	return append(dst, '}')
}

// introspect writes an introspection root field (null when introspection is off: prepare
// reported the error).
func (r *run) introspect(dst []byte, rf *rootField) []byte {
	oc := graphql.GetOperationContext(r.ctx)
	if oc.DisableIntrospection {
		return append(dst, "null"...)
	}
	in := &introspector{oc: oc}
	s := r.ex.schemaFor(r.ctx)
	if rf.introspect == "__schema" {
		in.schema(rf.sel, introspection.WrapSchema(s))
	} else {
		name, _ := value(rf.arg, oc.Variables).(string)
		in.typ(rf.sel, introspection.WrapTypeFromDef(s, s.Types[name]))
	}
	return append(dst, in.buf.Bytes()...)
}
