package plan

import (
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// write appends the answer's data object, field by field in the order gqlgen writes it.
func (r *run) write(dst []byte, p *Plan) []byte {
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
		b := r.roots[i]
		if !rf.root.many {
			dst = writeObject(dst, b, 0, rf.ws)
			continue
		}
		dst = append(dst, '[')
		for j := range b.ids {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = writeObject(dst, b, j, rf.ws)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// writeObject writes entity i of b with the selection ws.
func writeObject(dst []byte, b *batch, i int, ws *writeSel) []byte {
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
			v := &b.vals[c]
			if f.kind == kStatic || v.Kind != store.Map {
				dst = v.AppendJSON(dst)
				continue
			}
			dst = writeEntries(dst, v, f.entry)
		case kAction:
			res := &b.acts[f.n*n+i]
			if res.err != nil {
				dst = append(dst, "null"...)
				continue
			}
			af := b.ld.actions[f.n]
			dst = append(dst, '[')
			for e := range res.evs {
				if e > 0 {
					dst = append(dst, ',')
				}
				dst = writeEvent(dst, b, f.n, res, e, af.ev)
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

func writeEvent(dst []byte, b *batch, k int, res *actResult, e int, es *eventSel) []byte {
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
			dst = writeObject(dst, jb, int(row), f.join)
		}
	}
	return append(dst, '}')
}
