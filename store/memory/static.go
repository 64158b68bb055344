package memory

import (
	"math"
	"strings"

	"github.com/featuregraph/featuregraph/store"
)

// staticTable holds the static values of one entity kind (one key prefix) in a layout the GC
// does not have to walk and that costs about 24 bytes per stored scalar: a column per feature,
// a row per entity, and each row a pointer-free slice of cells. A scalar (Int, Float, Bool,
// Time) lives in its cell; a value with a string or items (String, JSON, List, Map) lives in
// refs, its cell holding the index (an overwrite reuses the slot). A store.Key per value, a
// map entry of 144 bytes plus its strings, is what the layout replaces: with GOGC's headroom
// that was ~1.4 KB of RSS per value, and a heap whose marking took the latency tail.
type staticTable struct {
	cols map[string]int32 // feature → column
	rows map[string]int32 // entity id → row
	vals [][]cell         // by row; a row is as long as the columns it has values for
	refs []store.Value    // the values of the cells that are not inline
	free []uint64         // slots of refs no cell points to
}

// cell is one stored value: kind Absent when nothing is stored.
type cell struct {
	ts   int64  // event time, Unix ms
	bits uint64 // Int, Bool, Time: the int64; Float: its IEEE 754 bits; others: index in refs
	kind store.Kind
}

// noStatics is the table of a prefix nothing was written to (read only: its maps are nil).
var noStatics staticTable

func newStaticTable() *staticTable {
	return &staticTable{cols: map[string]int32{}, rows: map[string]int32{}}
}

// inline says whether values of kind k are held in the cell itself.
func inline(k store.Kind) bool {
	return k == store.Int || k == store.Float || k == store.Bool || k == store.Time
}

// get returns the value of cell c.
func (t *staticTable) get(c cell) store.StaticValue {
	switch {
	case c.kind == store.Absent:
		return store.StaticValue{}
	case c.kind == store.Float:
		return store.StaticValue{Value: store.Value{Kind: store.Float, Float: math.Float64frombits(c.bits)}, TS: c.ts}
	case inline(c.kind):
		return store.StaticValue{Value: store.Value{Kind: c.kind, Num: int64(c.bits)}, TS: c.ts}
	}
	return store.StaticValue{Value: t.refs[c.bits], TS: c.ts}
}

// cell returns the cell of column col in row, the zero cell when none is stored.
func (t *staticTable) cell(row []cell, col int32) cell {
	if col < 0 || int(col) >= len(row) {
		return cell{}
	}
	return row[col]
}

// put stores w unless the stored value is newer (an equal TS overwrites).
func (t *staticTable) put(w store.StaticWrite) {
	col, ok := t.cols[w.Key.Feature]
	if !ok {
		col = int32(len(t.cols))
		t.cols[strings.Clone(w.Key.Feature)] = col
	}
	r, ok := t.rows[w.Key.ID]
	if !ok {
		r = int32(len(t.vals))
		t.rows[strings.Clone(w.Key.ID)] = r // not a view of the writer's (larger) buffer
		t.vals = append(t.vals, nil)
	}
	row := t.vals[r]
	if int(col) >= len(row) {
		// Grow to every column known so far: rows of a kind mostly hold the same features.
		n := max(int(col)+1, len(t.cols))
		grown := make([]cell, n)
		copy(grown, row)
		row = grown
		t.vals[r] = row
	}
	cur := &row[col]
	if cur.kind != store.Absent && cur.ts > w.TS {
		return
	}
	v := w.Value
	hadRef := cur.kind != store.Absent && !inline(cur.kind)
	switch {
	case inline(v.Kind):
		if hadRef {
			t.refs[cur.bits] = store.Value{} // let the old value go
			t.free = append(t.free, cur.bits)
		}
		bits := uint64(v.Num)
		if v.Kind == store.Float {
			bits = math.Float64bits(v.Float)
		}
		*cur = cell{ts: w.TS, bits: bits, kind: v.Kind}
	case hadRef:
		t.refs[cur.bits] = v // the same slot
		cur.ts, cur.kind = w.TS, v.Kind
	default:
		var slot uint64
		if n := len(t.free); n > 0 {
			slot, t.free = t.free[n-1], t.free[:n-1]
			t.refs[slot] = v
		} else {
			slot = uint64(len(t.refs))
			t.refs = append(t.refs, v)
		}
		*cur = cell{ts: w.TS, bits: slot, kind: v.Kind}
	}
}
