package offline

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/featuregraph/featuregraph/store"
)

// The served log's Parquet writer. The rows are flat (one per value read, ServedValue), and
// the files are written column by column straight from the captured requests, without
// parquet-go's row writer (its reflection, levels of nested lists and dictionary hashing cost
// a multiple of the request itself at full sampling): the request's columns (request id,
// time, client, operation, hash, fingerprint) are dictionary-encoded as one RLE run per
// request, the entity and entity id as one run per read and per id, the feature, value type
// and status as dictionary indexes bit-packed per value, the optional event time and value
// columns as definition-level bitmaps, integer values DELTA_BINARY_PACKED and the others
// PLAIN. A row group every servedRowGroup rows, one page per column per row group; a column
// chunk is Snappy-compressed (S2's Snappy-compatible block encoder) only when the column's
// first page of the file shrinks to half or less. Page headers are written in Thrift's compact protocol by hand, the
// footer is parquet-go's format structures in its Thrift compact encoding; tests read the
// files back with parquet-go's reader.

// run is an RLE run of a dictionary index.
type run struct{ v, n uint32 }

// dictColumn is a required dictionary-encoded column: its PLAIN dictionary, and the indexes
// of its rows as runs (runs) or one per row (idx).
type dictColumn struct {
	dict []byte
	size int
	runs []run
	idx  []uint32
	last []byte // the last entry (deduplication of consecutive repeats)
}

func (c *dictColumn) reset() {
	c.dict, c.size, c.runs, c.idx, c.last = c.dict[:0], 0, c.runs[:0], c.idx[:0], c.last[:0]
}

// addBytes appends a byte-array entry and returns its index.
func (c *dictColumn) addBytes(b []byte) uint32 {
	c.dict = binary.LittleEndian.AppendUint32(c.dict, uint32(len(b)))
	c.dict = append(c.dict, b...)
	c.size++
	return uint32(c.size - 1)
}

// addRepeat appends b unless it equals the last entry added this way; the index of b.
func (c *dictColumn) addRepeat(b []byte) uint32 {
	if c.size > 0 && bytes.Equal(b, c.last) {
		return uint32(c.size - 1)
	}
	c.last = append(c.last[:0], b...)
	return c.addBytes(b)
}

func (c *dictColumn) addRun(v uint32, n int) {
	if k := len(c.runs) - 1; k >= 0 && c.runs[k].v == v {
		c.runs[k].n += uint32(n)
		return
	}
	c.runs = append(c.runs, run{v, uint32(n)})
}

// The optional columns, after the dictionary ones.
const (
	optEventTime = iota
	optInt
	optFloat
	optString
	optBool
	optTime
	optJSON
	optError
	nOpt
)

// servedEncoder builds the columns of one file from requests (add), then the file (encode).
// Not safe for concurrent use; reused from file to file.
type servedEncoder struct {
	rows                               int
	req, tm, client, op, hash, fp      dictColumn
	entity, id, feature, vtype, status dictColumn
	entIdx, featIdx, vtIdx             map[string]uint32
	defs                               [nOpt][]byte   // one bit per row: the value is set
	vals                               [nOpt][]byte   // PLAIN values of the rows set (byte arrays, booleans)
	w8                                 [nOpt][]uint64 // the values of the 8-byte columns (event time, int, float, time)
	nBools                             int
	key, lastKey                       []byte
	lastGen                            *servedGen // the registry lastKey was resolved with
	lastInfos                          []*servedFeature
	lastFeat, lastVT                   []uint32
	lastCol                            []int8        // per feature: its 8-byte column (for a present value of kind lastKind)
	lastKind                           []uint8       // per feature: the tag of a present value of its 8-byte type (255: none)
	lastGather                         [nOpt][]int32 // per 8-byte column: the features of the read in it
	lastMask                           [nOpt]uint64  // per 8-byte column: a bit per feature of the read in it (of the first 64)
	lastAll8                           bool          // every feature of the read has an 8-byte column
	pats                               []patRun      // the feature and value_type indexes of the row group's rows
	patArena                           []uint32      // the patterns of pats
	patGen                             int           // counts resolve's new reads (a pattern run is extended while it holds)
	unit                               []uint64      // appendPatterns' scratch
	scratch                            []uint32
	lastEnt                            uint32
	lastTime                           int64
	page, comp, out                    []byte
	sample, pre                        []byte            // a data page compressed by codec, and whether it is (pre: sample or nil)
	groups                             []format.RowGroup // the file's row groups written to out
	fileRows                           int
	err                                error          // of a row group's encoding
	decided                            [nColumns]bool // the column's codec is chosen for the file
	codecs                             [nColumns]format.CompressionCodec
	bodies                             chan []byte // buffers of files stored, to reuse (the sink's)
	uncompressed                       bool
	zstd                               *zstd.Encoder // when set (benchmarks): zstd instead of Snappy
}

func newServedEncoder() *servedEncoder {
	return &servedEncoder{entIdx: map[string]uint32{}, featIdx: map[string]uint32{}, vtIdx: map[string]uint32{}}
}

// reset starts a new file (its buffer kept unless handed off).
func (e *servedEncoder) reset() {
	e.resetRowGroup()
	e.out, e.groups, e.fileRows, e.err = e.out[:0], e.groups[:0], 0, nil
	clear(e.decided[:])
}

// resetRowGroup starts a new row group.
func (e *servedEncoder) resetRowGroup() {
	e.rows, e.nBools = 0, 0
	for _, c := range e.columns() {
		c.reset()
	}
	clear(e.entIdx)
	clear(e.featIdx)
	clear(e.vtIdx)
	for i := range e.defs {
		e.defs[i], e.vals[i], e.w8[i] = e.defs[i][:0], e.vals[i][:0], e.w8[i][:0]
	}
	e.lastKey = e.lastKey[:0]
	e.pats, e.patArena = e.pats[:0], e.patArena[:0]
	for _, name := range statusNames {
		e.status.addBytes([]byte(name))
	}
}

func (e *servedEncoder) columns() []*dictColumn {
	return []*dictColumn{&e.req, &e.tm, &e.client, &e.op, &e.hash, &e.fp, &e.entity, &e.id, &e.feature, &e.vtype, &e.status}
}

// index returns the index of s in a deduplicated dictionary column.
func index(c *dictColumn, m map[string]uint32, s string) uint32 {
	if i, ok := m[s]; ok {
		return i
	}
	i := c.addBytes([]byte(s))
	m[s] = i
	return i
}

// resolve returns what the log knows of a read's features, and their dictionary indexes (the
// previous read's when it read the same features: requests of one operation do).
func (e *servedEncoder) resolve(g *servedGen, text, prefix []byte, names []uint64) {
	e.key = append(e.key[:0], prefix...)
	for _, sp := range names {
		e.key = append(e.key, 0)
		e.key = append(e.key, at(text, sp)...)
	}
	if len(e.lastKey) > 0 && g == e.lastGen && bytes.Equal(e.key, e.lastKey) {
		return
	}
	e.lastKey, e.lastGen = append(e.lastKey[:0], e.key...), g
	e.patGen++
	e.lastInfos, e.lastFeat, e.lastVT, e.lastCol, e.lastKind = e.lastInfos[:0], e.lastFeat[:0], e.lastVT[:0], e.lastCol[:0], e.lastKind[:0]
	for c := range e.lastGather {
		e.lastGather[c] = e.lastGather[c][:0]
	}
	clear(e.lastMask[:])
	e.lastAll8 = true
	entity := ""
	for j, sp := range names {
		sf := g.feature(prefix, at(text, sp))
		entity = sf.entity
		e.lastInfos = append(e.lastInfos, sf)
		e.lastFeat = append(e.lastFeat, index(&e.feature, e.featIdx, sf.name))
		e.lastVT = append(e.lastVT, index(&e.vtype, e.vtIdx, sf.valueType))
		col, kind := int8(-1), uint8(255)
		switch sf.slot {
		case slotInt:
			col, kind = optInt, kInt
		case slotFloat:
			col, kind = optFloat, kFloat
		case slotTime:
			col, kind = optTime, kTime
		}
		e.lastCol, e.lastKind = append(e.lastCol, col), append(e.lastKind, kind)
		if col < 0 {
			e.lastAll8 = false
		} else {
			e.lastGather[col] = append(e.lastGather[col], int32(j))
			if j < 64 {
				e.lastMask[col] |= 1 << j
			}
		}
	}
	if len(names) == 0 {
		entity = g.entityName(prefix)
	}
	e.lastEnt = index(&e.entity, e.entIdx, entity)
}

func setBit(bm []byte, row int) { bm[row>>3] |= 1 << (row & 7) }

// orBits sets the bits of mask (at most 57 of them) from row on: one word read and written.
func orBits(bm []byte, row int, mask uint64) {
	p := bm[row>>3:]
	binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)|mask<<(row&7))
}

// setBits sets the n bits from row on.
func setBits(bm []byte, row, n int) {
	for ; n > 0 && row&7 != 0; row, n = row+1, n-1 {
		bm[row>>3] |= 1 << (row & 7)
	}
	for ; n >= 8; row, n = row+8, n-8 {
		bm[row>>3] = 0xff
	}
	for ; n > 0; row, n = row+1, n-1 {
		bm[row>>3] |= 1 << (row & 7)
	}
}

// add appends the rows of a request's values.
func (e *servedEncoder) add(l *ServedLog, r *ServedRequest) {
	n := r.values
	if n == 0 {
		return
	}
	g := l.generation(r)
	fp := r.Fingerprint
	if fp == "" {
		fp = g.fingerprint
	}
	e.req.addRun(e.req.addBytes(unsafe.Slice(unsafe.StringData(r.ID), len(r.ID))), n)
	if ms := r.Time.UnixMilli(); e.tm.size == 0 || ms != e.lastTime {
		e.tm.dict = binary.LittleEndian.AppendUint64(e.tm.dict, uint64(ms))
		e.tm.size++
		e.lastTime = ms
	}
	e.tm.addRun(uint32(e.tm.size-1), n)
	for _, c := range []struct {
		col *dictColumn
		s   string
	}{{&e.client, r.Client}, {&e.op, r.Operation}, {&e.hash, r.OperationHash}, {&e.fp, fp}} {
		c.col.addRun(c.col.addRepeat(unsafe.Slice(unsafe.StringData(c.s), len(c.s))), n)
	}
	// Room for the rows' bits (and a word more: orBits writes whole words).
	need := (e.rows+n+7)>>3 + 8
	for i := range e.defs {
		if d := need - len(e.defs[i]); d > 0 {
			e.defs[i] = append(e.defs[i], make([]byte, d)...)
		}
	}
	for bi := range r.blocks {
		b := &r.blocks[bi]
		nIDs, nFeats := int(b.nIDs), int(b.nFeats)
		if nIDs*nFeats == 0 {
			continue
		}
		ids := r.spans[b.at : int(b.at)+nIDs]
		e.resolve(g, r.text, at(r.text, b.prefix), r.spans[int(b.at)+nIDs:int(b.at)+nIDs+nFeats])
		e.entity.addRun(e.lastEnt, nIDs*nFeats)
		var errText []byte
		if b.failed {
			errText = at(r.text, b.err)
		}
		e.addPattern(nIDs)
		for k, sp := range ids {
			e.id.addRun(e.id.addBytes(at(r.text, sp)), nFeats)
			base := int(b.val) + k*nFeats
			tags, tss, words := r.tag[base:base+nFeats], r.ts[base:base+nFeats], r.word[base:base+nFeats]
			cols, kinds := e.lastCol[:nFeats], e.lastKind[:nFeats]
			evDef := e.defs[optEventTime]
			ev := e.w8[optEventTime]
			row := e.rows
			if e.lastAll8 && bytes.Equal(tags, kinds) {
				// Every value present and of its feature's 8-byte type (as the reads of
				// numeric features mostly are): the event times copied whole, the values
				// gathered column by column.
				e.status.addRun(uint32(StatusPresent), nFeats)
				setBits(evDef, row, nFeats)
				e.w8[optEventTime] = append(ev, unsafe.Slice((*uint64)(unsafe.Pointer(&tss[0])), nFeats)...)
				for c, js := range e.lastGather {
					if len(js) == 0 {
						continue
					}
					w := slices.Grow(e.w8[c], len(js))
					at := len(w)
					w = w[:at+len(js)]
					dst := w[at:]
					for x, j := range js {
						dst[x] = words[j]
					}
					e.w8[c] = w
					if nFeats <= 56 { // the read's bits of the column at once (one word)
						orBits(e.defs[c], row, e.lastMask[c])
						continue
					}
					d := e.defs[c]
					for _, j := range js {
						r := row + int(j)
						d[r>>3] |= 1 << (r & 7)
					}
				}
				e.rows = row + nFeats
				continue
			}
			present := 0 // statuses present not yet in e.status
			for j, tag := range tags {
				if c := cols[j]; tag == kinds[j] { // present, a value of the feature's 8-byte type
					present++
					evDef[row>>3] |= 1 << (row & 7)
					ev = append(ev, uint64(tss[j]))
					e.defs[c][row>>3] |= 1 << (row & 7)
					e.w8[c] = append(e.w8[c], words[j])
					row++
					continue
				}
				if present > 0 {
					e.status.addRun(uint32(StatusPresent), present)
					present = 0
				}
				sf := e.lastInfos[j]
				st, kind, word, text := ServedStatus(tag>>4), tag&15, words[j], r.text
				if st == StatusAbsent && sf.hasDef {
					st, kind, word, text = StatusDefault, sf.defKind, sf.defWord, sf.defText
				}
				e.status.addRun(uint32(st), 1)
				switch st {
				case StatusPresent:
					evDef[row>>3] |= 1 << (row & 7)
					ev = append(ev, uint64(tss[j]))
					e.value(row, sf.slot, kind, word, text)
				case StatusDefault:
					e.value(row, sf.slot, kind, word, text)
				case StatusError:
					setBit(e.defs[optError], row)
					e.vals[optError] = appendByteArray(e.vals[optError], errText)
				}
				row++
			}
			if present > 0 {
				e.status.addRun(uint32(StatusPresent), present)
			}
			e.w8[optEventTime], e.rows = ev, row
		}
	}
}

// patRun is nIDs × len rows whose feature and value_type indexes are one read's, id after id:
// the pattern feat (its value types vt) repeated reps times.
type patRun struct {
	off, n int // feat: patArena[off:off+n], vt: patArena[off+n:off+2n]
	reps   int
	gen    int
}

const (
	patFeature = 1
	patVT      = 2
)

// addPattern records that the next nIDs ids' rows have the features of the read resolved last.
func (e *servedEncoder) addPattern(nIDs int) {
	if k := len(e.pats) - 1; k >= 0 && e.pats[k].gen == e.patGen {
		e.pats[k].reps += nIDs
		return
	}
	off := len(e.patArena)
	e.patArena = append(append(e.patArena, e.lastFeat...), e.lastVT...)
	e.pats = append(e.pats, patRun{off: off, n: len(e.lastFeat), reps: nIDs, gen: e.patGen})
}

// appendPatterns appends the feature (or value type) indexes of the row group's rows in the
// RLE/bit-packing hybrid encoding. When every read has 8 features or more, the rows are one
// bit-packed run: each read's pattern of indexes is packed once into words that it repeats
// whole (as many patterns as make a whole number of 64-bit words), and those words are
// copied id after id, shifted to where the stream is — instead of packing every row. Reads
// of fewer features (runs of one index are better RLE runs) take the row-by-row encoding.
func (e *servedEncoder) appendPatterns(dst []byte, vt bool, width int) []byte {
	pattern := func(p patRun) []uint32 {
		if vt {
			return e.patArena[p.off+p.n : p.off+2*p.n]
		}
		return e.patArena[p.off : p.off+p.n]
	}
	rows := 0
	few := false
	for _, p := range e.pats {
		rows += p.n * p.reps
		few = few || p.n < 8
	}
	if few {
		e.scratch = e.scratch[:0]
		for _, p := range e.pats {
			pat := pattern(p)
			for range p.reps {
				e.scratch = append(e.scratch, pat...)
			}
		}
		return appendHybrid(dst, e.scratch, width)
	}
	groups := (rows + 7) / 8
	dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
	w := uint(width)
	bw := bitWriter{out: slices.Grow(dst, groups*width+8)}
	for _, p := range e.pats {
		pat := pattern(p)
		bitsPer := uint(p.n) * w
		// g patterns make a whole number of words: g = 64/gcd(bitsPer, 64).
		g := uint(64) >> min(uint(bits.TrailingZeros(bitsPer)), 6)
		if uint(p.reps) < 2*g || g*uint(p.n) > 8192 {
			for range p.reps {
				for _, x := range pat {
					bw.put(uint64(x), w)
				}
			}
			continue
		}
		// The unit: g patterns packed, g·bitsPer bits = a whole number of words.
		ub := bitWriter{out: make([]byte, 0, g*bitsPer/8)}
		for range g {
			for _, x := range pat {
				ub.put(uint64(x), w)
			}
		}
		e.unit = e.unit[:0]
		for i := 0; i < len(ub.out); i += 8 {
			e.unit = append(e.unit, binary.LittleEndian.Uint64(ub.out[i:]))
		}
		total := uint(p.reps) * bitsPer
		words := total / 64
		for i := uint(0); i < words; i++ {
			bw.put(e.unit[i%uint(len(e.unit))], 64)
		}
		if r := total % 64; r > 0 {
			bw.put(e.unit[words%uint(len(e.unit))]&(1<<r-1), r)
		}
	}
	for pad := uint(groups*8-rows) * w; pad > 0; {
		k := min(pad, 64)
		bw.put(0, k)
		pad -= k
	}
	return bw.flush()
}

// bitWriter packs values LSB first into bytes (the bit-packing of Parquet's hybrid encoding).
type bitWriter struct {
	out []byte
	acc uint64
	n   uint // bits in acc, < 64
}

// put appends the low w bits of v (w ≤ 64; v has no higher bits).
func (b *bitWriter) put(v uint64, w uint) {
	b.acc |= v << b.n
	b.n += w
	if b.n >= 64 {
		b.out = binary.LittleEndian.AppendUint64(b.out, b.acc)
		b.n -= 64
		b.acc = 0
		if b.n > 0 {
			b.acc = v >> (w - b.n)
		}
	}
}

// flush returns the bytes with the bits of acc (whole bytes: the caller pads to them).
func (b *bitWriter) flush() []byte {
	for ; b.n > 0; b.n -= min(b.n, 8) {
		b.out = append(b.out, byte(b.acc))
		b.acc >>= 8
	}
	return b.out
}

func appendByteArray(dst, b []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// value sets row's value in the column of the feature's type (a stored value of another kind
// than the type's goes to value_json, as JSON).
func (e *servedEncoder) value(row int, s slot, kind uint8, word uint64, text []byte) {
	c := optJSON
	switch {
	case s == slotInt && (kind == kInt || kind == kFloat):
		if kind == kFloat {
			word = uint64(int64(math.Float64frombits(word)))
		}
		c = optInt
	case s == slotFloat && (kind == kFloat || kind == kInt):
		if kind == kInt {
			word = math.Float64bits(float64(int64(word)))
		}
		c = optFloat
	case s == slotString && kind == kString:
		setBit(e.defs[optString], row)
		e.vals[optString] = appendByteArray(e.vals[optString], at(text, word))
		return
	case s == slotBool && kind == kBool:
		setBit(e.defs[optBool], row)
		if e.nBools&7 == 0 {
			e.vals[optBool] = append(e.vals[optBool], 0)
		}
		if word != 0 {
			e.vals[optBool][e.nBools>>3] |= 1 << (e.nBools & 7)
		}
		e.nBools++
		return
	case s == slotTime && kind == kTime:
		c = optTime
	}
	setBit(e.defs[c], row)
	if c != optJSON {
		e.w8[c] = append(e.w8[c], word)
		return
	}
	v := e.vals[optJSON]
	start := len(v)
	v = append(v, 0, 0, 0, 0)
	switch kind {
	case kText:
		v = append(v, at(text, word)...)
	case kString:
		b := at(text, word)
		v = store.StringValue(unsafe.String(unsafe.SliceData(b), len(b))).AppendJSON(v)
	case kInt:
		v = store.IntValue(int64(word)).AppendJSON(v)
	case kFloat:
		v = store.FloatValue(math.Float64frombits(word)).AppendJSON(v)
	case kBool:
		v = store.BoolValue(word != 0).AppendJSON(v)
	case kTime:
		v = store.Value{Kind: store.Time, Num: int64(word)}.AppendJSON(v)
	default:
		v = append(v, "null"...)
	}
	binary.LittleEndian.PutUint32(v[start:], uint32(len(v)-start-4))
	e.vals[optJSON] = v
}

// columnSpec is a column of the file: its schema element and how its page is encoded.
type columnSpec struct {
	name     string
	typ      format.Type
	optional bool
	logical  format.LogicalType
	conv     thrift.Null[deprecated.ConvertedType]
	dict     *dictColumn // required, dictionary-encoded
	pat      int         // a dictionary column whose indexes are in pats (patFeature, patVT)
	opt      int         // optional: its index in defs/vals
}

var (
	stringLogical = format.LogicalType{Value: &format.StringType{}}
	utf8          = thrift.New(deprecated.UTF8)
	millisLogical = format.LogicalType{Value: &format.TimestampType{IsAdjustedToUTC: true, Unit: format.TimeUnit{Value: &format.MilliSeconds{}}}}
	millisConv    = thrift.New(deprecated.TimestampMillis)
	nanosLogical  = format.LogicalType{Value: &format.TimestampType{IsAdjustedToUTC: true, Unit: format.TimeUnit{Value: &format.NanoSeconds{}}}}
)

func (e *servedEncoder) specs() []columnSpec {
	str := func(name string, c *dictColumn) columnSpec {
		return columnSpec{name: name, typ: format.ByteArray, logical: stringLogical, conv: utf8, dict: c}
	}
	opt := func(name string, typ format.Type, i int, logical format.LogicalType, conv thrift.Null[deprecated.ConvertedType]) columnSpec {
		return columnSpec{name: name, typ: typ, optional: true, logical: logical, conv: conv, opt: i}
	}
	pat := func(c columnSpec, p int) columnSpec { c.pat = p; return c }
	return []columnSpec{
		str("request_id", &e.req),
		{name: "time", typ: format.Int64, logical: millisLogical, conv: millisConv, dict: &e.tm},
		str("client", &e.client), str("operation", &e.op), str("operation_hash", &e.hash), str("registry_fingerprint", &e.fp),
		str("entity", &e.entity), str("entity_id", &e.id), pat(str("feature", &e.feature), patFeature), pat(str("value_type", &e.vtype), patVT), str("status", &e.status),
		opt("event_time", format.Int64, optEventTime, millisLogical, millisConv),
		opt("value_int", format.Int64, optInt, format.LogicalType{}, thrift.Null[deprecated.ConvertedType]{}),
		opt("value_float", format.Double, optFloat, format.LogicalType{}, thrift.Null[deprecated.ConvertedType]{}),
		opt("value_string", format.ByteArray, optString, stringLogical, utf8),
		opt("value_bool", format.Boolean, optBool, format.LogicalType{}, thrift.Null[deprecated.ConvertedType]{}),
		opt("value_time", format.Int64, optTime, nanosLogical, thrift.Null[deprecated.ConvertedType]{}),
		opt("value_json", format.ByteArray, optJSON, stringLogical, utf8),
		opt("error", format.ByteArray, optError, stringLogical, utf8),
	}
}

// servedRowGroup is how many rows a row group holds (a little more: a request is not split):
// its columns are encoded as soon as it is full, so that they are still in the CPU's caches
// (a whole file's columns, a few MB, went to memory and back for each encoding step).
const servedRowGroup = 1 << 14

// nColumns is the number of columns of the file (specs).
const nColumns = 19

// flushRowGroup encodes the rows added since the last row group into the file and starts a new
// row group.
func (e *servedEncoder) flushRowGroup() {
	if e.rows == 0 || e.err != nil {
		return
	}
	if len(e.out) == 0 {
		if e.out == nil && e.bodies != nil {
			select {
			case b := <-e.bodies:
				e.out = b[:0]
			default:
			}
		}
		e.out = append(e.out[:0], "PAR1"...)
	}
	specs := e.specs()
	chunks := make([]format.ColumnChunk, 0, len(specs))
	rgStart := int64(len(e.out))
	var total int64
	for ci, c := range specs {
		md := format.ColumnMetaData{Type: c.typ, PathInSchema: thrift.Slice[string]{c.name}, NumValues: int64(e.rows)}
		start := int64(len(e.out))
		// The data page's body first: the column's codec depends on it.
		enc := format.Plain
		if c.dict != nil {
			enc = format.RLEDictionary
			md.Encoding = thrift.Slice[format.Encoding]{format.Plain, format.RLE, format.RLEDictionary}
			width := max(1, bits.Len32(uint32(c.dict.size-1)))
			e.page = append(e.page[:0], byte(width))
			if c.pat != 0 {
				e.page = e.appendPatterns(e.page, c.pat == patVT, width)
			} else {
				e.page = appendRuns(e.page, c.dict.runs, width)
			}
		} else {
			e.page = append(e.page[:0], 0, 0, 0, 0)
			e.page = appendDefLevels(e.page, e.defs[c.opt], e.rows)
			binary.LittleEndian.PutUint32(e.page, uint32(len(e.page)-4))
			switch w8 := e.w8[c.opt]; {
			case c.typ == format.Int64 && len(w8) > 0:
				enc = format.DeltaBinaryPacked
				e.page = appendDeltaBinaryPacked(e.page, w8)
			default:
				e.page = append(e.page, e.vals[c.opt]...)
				e.page = appendUint64s(e.page, w8)
			}
			md.Encoding = thrift.Slice[format.Encoding]{format.RLE, enc}
		}
		md.Codec = e.codec(ci, e.page)
		if c.dict != nil {
			md.DictionaryPageOffset = start
			if err := e.writePage(&md, format.DictionaryPage, c.dict.dict, c.dict.size, format.Plain, nil); err != nil {
				e.err = err
				return
			}
		}
		md.DataPageOffset = int64(len(e.out))
		if err := e.writePage(&md, format.DataPage, e.page, e.rows, enc, e.pre); err != nil {
			e.err = err
			return
		}
		total += md.TotalUncompressedSize
		chunks = append(chunks, format.ColumnChunk{FileOffset: start, MetaData: md})
	}
	e.groups = append(e.groups, format.RowGroup{Columns: chunks, TotalByteSize: total, NumRows: int64(e.rows), FileOffset: rgStart, TotalCompressedSize: int64(len(e.out)) - rgStart})
	e.fileRows += e.rows
	e.resetRowGroup()
}

// encode returns the Parquet file of the rows added since the last reset (the bytes are the
// encoder's until the next encode).
func (e *servedEncoder) encode() ([]byte, error) {
	e.flushRowGroup()
	if e.err != nil {
		return nil, e.err
	}
	specs := e.specs()
	schema := make([]format.SchemaElement, 0, len(specs)+1)
	schema = append(schema, format.SchemaElement{Name: "served", NumChildren: thrift.New(int32(len(specs)))})
	for _, c := range specs {
		rep := format.Required
		if c.optional {
			rep = format.Optional
		}
		schema = append(schema, format.SchemaElement{Type: thrift.New(c.typ), RepetitionType: thrift.New(rep), Name: c.name, ConvertedType: c.conv, LogicalType: c.logical})
	}
	if len(e.out) == 0 {
		e.out = append(e.out, "PAR1"...) // no rows
	}
	meta := format.FileMetaData{Version: 1, Schema: schema, NumRows: int64(e.fileRows), CreatedBy: "featuregraph served log", RowGroups: e.groups}
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &meta)
	if err != nil {
		return nil, fmt.Errorf("offline: served parquet footer: %w", err)
	}
	e.out = append(e.out, footer...)
	e.out = binary.LittleEndian.AppendUint32(e.out, uint32(len(footer)))
	return append(e.out, "PAR1"...), nil
}

// Compression is chosen per column per file: the column's first data page of at least
// decideBytes is Snappy-compressed whole, and the column is compressed for the rest of the
// file only when that halved it (floats of a few significant digits, which Snappy shrinks to
// about 60%, and delta-packed integers are stored as they are: compressing them cost a third
// of the writer and saved little). Smaller pages are compressed (cheap) and decide nothing.
const decideBytes = 4 << 10

// codec returns the compression of column ci's chunk whose data page is body, with body's
// Snappy encoding in e.pre when it was compressed to decide (nil otherwise).
func (e *servedEncoder) codec(ci int, body []byte) format.CompressionCodec {
	e.pre = nil
	switch {
	case e.uncompressed:
		return format.Uncompressed
	case e.zstd != nil:
		return format.Zstd
	case e.decided[ci]:
		return e.codecs[ci]
	case len(body) < decideBytes:
		return format.Snappy // small: compressing it costs little
	}
	e.sample = s2.EncodeSnappy(e.sample[:cap(e.sample)], body)
	e.decided[ci], e.codecs[ci] = true, format.Uncompressed
	if 2*len(e.sample) <= len(body) {
		e.codecs[ci], e.pre = format.Snappy, e.sample
	}
	return e.codecs[ci]
}

// writePage appends a page (header and body, compressed with md.Codec) to the file and counts
// it in md.
func (e *servedEncoder) writePage(md *format.ColumnMetaData, typ format.PageType, body []byte, n int, enc format.Encoding, pre []byte) error {
	comp := body
	switch {
	case pre != nil: // compressed already (codec)
		comp = pre
	case md.Codec == format.Zstd:
		e.comp = e.zstd.EncodeAll(body, e.comp[:0])
		comp = e.comp
	case md.Codec == format.Snappy:
		e.comp = s2.EncodeSnappy(e.comp[:cap(e.comp)], body)
		comp = e.comp
	}
	at := len(e.out)
	e.out = appendPageHeader(e.out, typ, len(body), len(comp), n, enc)
	hlen := len(e.out) - at
	e.out = append(e.out, comp...)
	md.TotalUncompressedSize += int64(hlen + len(body))
	md.TotalCompressedSize += int64(hlen + len(comp))
	return nil
}

// appendPageHeader appends a PageHeader in Thrift's compact protocol (written here: it is a
// few fields, and parquet-go's reflective encoder cost more than the page's encoding): a data
// page's (v1, levels RLE) or a dictionary page's.
func appendPageHeader(dst []byte, typ format.PageType, uncompressed, compressed, n int, enc format.Encoding) []byte {
	i32 := func(dst []byte, v int64) []byte { return binary.AppendUvarint(dst, uint64(v<<1^v>>63)) } // zigzag varint
	const tI32, tStruct = 5, 12
	dst = i32(append(dst, 1<<4|tI32), int64(typ))          // 1: type
	dst = i32(append(dst, 1<<4|tI32), int64(uncompressed)) // 2: uncompressed_page_size
	dst = i32(append(dst, 1<<4|tI32), int64(compressed))   // 3: compressed_page_size
	if typ == format.DictionaryPage {
		dst = append(dst, 4<<4|tStruct)               // 7: dictionary_page_header
		dst = i32(append(dst, 1<<4|tI32), int64(n))   // 1: num_values
		dst = i32(append(dst, 1<<4|tI32), int64(enc)) // 2: encoding
		return append(dst, 0, 0)                      // stops of both structs
	}
	dst = append(dst, 2<<4|tStruct)                      // 5: data_page_header
	dst = i32(append(dst, 1<<4|tI32), int64(n))          // 1: num_values
	dst = i32(append(dst, 1<<4|tI32), int64(enc))        // 2: encoding
	dst = i32(append(dst, 1<<4|tI32), int64(format.RLE)) // 3: definition_level_encoding
	dst = i32(append(dst, 1<<4|tI32), int64(format.RLE)) // 4: repetition_level_encoding
	return append(dst, 0, 0)
}

// appendDeltaBinaryPacked appends v (int64s, as their bits) in the DELTA_BINARY_PACKED
// encoding: blocks of 128 values, each its smallest delta and 4 miniblocks of 32 deltas over it
// bit-packed at the width of the miniblock's largest (0 bits when the deltas are equal, as the
// event times of values written together are). Deltas wrap around, as the encoding says.
func appendDeltaBinaryPacked(dst []byte, v []uint64) []byte {
	const block, mini = 128, 32
	dst = binary.AppendUvarint(dst, block)
	dst = binary.AppendUvarint(dst, block/mini)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	dst = binary.AppendVarint(dst, int64(v[0])) // zigzag ULEB128
	var d [block]uint64
	for i := 1; i < len(v); i += block {
		n := min(block, len(v)-i)
		if n == block {
			// A whole block (all but the last): fixed bounds, no checks in the loops.
			vs := (*[block + 1]uint64)(v[i-1 : i+block])
			minD, maxD := int64(math.MaxInt64), int64(math.MinInt64)
			var hi [block / mini]int64
			for m := range block / mini {
				h := int64(math.MinInt64)
				for k := m * mini; k < m*mini+mini; k++ {
					x := int64(vs[k+1] - vs[k])
					d[k] = uint64(x)
					minD, h = min(minD, x), max(h, x)
				}
				hi[m], maxD = h, max(maxD, h)
			}
			dst = binary.AppendVarint(dst, minD)
			if maxD == minD { // equal deltas (equal event times): every miniblock 0 bits
				dst = append(dst, 0, 0, 0, 0)
				continue
			}
			widths := len(dst)
			dst = append(dst, 0, 0, 0, 0)
			for m := range block / mini {
				w := bits.Len64(uint64(hi[m]) - uint64(minD))
				dst[widths+m] = byte(w)
				dst = appendPacked32(dst, d[m*mini:m*mini+mini], uint64(minD), w)
			}
			continue
		}
		vs := v[i-1 : i+n]
		minD := int64(math.MaxInt64)
		var maxD [block / mini]int64 // per miniblock
		for m := 0; m*mini < n; m++ {
			hi := int64(math.MinInt64)
			for k := m * mini; k < min(n, m*mini+mini); k++ {
				x := int64(vs[k+1] - vs[k])
				d[k] = uint64(x)
				minD, hi = min(minD, x), max(hi, x)
			}
			maxD[m] = hi
		}
		dst = binary.AppendVarint(dst, minD)
		widths := len(dst)
		dst = append(dst, 0, 0, 0, 0) // a miniblock not needed has width 0 and no bytes
		for m := 0; m*mini < n; m++ {
			w := bits.Len64(uint64(maxD[m]) - uint64(minD)) // the range of the miniblock's deltas over the minimum
			dst[widths+m] = byte(w)
			dst = appendPacked32(dst, d[m*mini:min(n, m*mini+mini)], uint64(minD), w)
		}
	}
	return dst
}

// appendPacked32 appends the values of g less base, w bits each, bit-packed (little-endian,
// LSB first) and padded with zeros to 32 values: 4·w bytes.
func appendPacked32(dst []byte, g []uint64, base uint64, w int) []byte {
	if w == 0 {
		return dst
	}
	at := len(dst)
	dst = slices.Grow(dst, 4*w)[:at+4*w]
	out := dst[at:]
	if len(g) == 32 && w <= 32 {
		// 32 values of at most 32 bits: two at a time into 64-bit words (4·w bytes, whole).
		var acc uint64
		nb, o := uint(0), 0
		uw := uint(w)
		for k := 0; k < 32; k += 2 {
			x := (g[k] - base) | (g[k+1]-base)<<uw // 2·w ≤ 64 bits
			acc |= x << nb
			nb += 2 * uw
			if nb >= 64 {
				binary.LittleEndian.PutUint64(out[o:], acc)
				o += 8
				nb -= 64
				acc = 0
				if nb > 0 {
					acc = x >> (2*uw - nb)
				}
			}
		}
		if o < len(out) { // 4·w bytes are not a whole number of words: half a word left
			binary.LittleEndian.PutUint32(out[o:], uint32(acc))
		}
		return dst
	}
	var acc uint64
	nb, o := 0, 0
	for _, x := range g {
		x -= base
		acc |= x << nb
		nb += w
		if nb >= 64 {
			binary.LittleEndian.PutUint64(out[o:], acc)
			o += 8
			nb -= 64
			acc = x >> (w - nb) // the bits of x not written (none when nb is 0)
		}
	}
	// The padding: zeros, whole words of them once acc is written.
	for ; o < len(out); o += 8 {
		if len(out)-o >= 8 {
			binary.LittleEndian.PutUint64(out[o:], acc)
		} else {
			binary.LittleEndian.PutUint32(out[o:], uint32(acc)) // 32·w bits: half a word left
		}
		acc = 0
	}
	return dst
}

// appendUint64s appends v in little-endian order (PLAIN).
func appendUint64s(dst []byte, v []uint64) []byte {
	if len(v) == 0 {
		return dst
	}
	if littleEndian {
		return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v))...)
	}
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint64(dst, x)
	}
	return dst
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// appendRLE appends an RLE run of n times v (width bits) of the RLE/bit-packing hybrid.
func appendRLE(dst []byte, v uint32, n int, width int) []byte {
	dst = binary.AppendUvarint(dst, uint64(n)<<1)
	for k := 0; k < (width+7)/8; k++ {
		dst = append(dst, byte(v>>(8*k)))
	}
	return dst
}

// appendRuns appends runs in the RLE/bit-packing hybrid encoding.
func appendRuns(dst []byte, runs []run, width int) []byte {
	for _, r := range runs {
		dst = appendRLE(dst, r.v, int(r.n), width)
	}
	return dst
}

// appendHybrid appends vals in the RLE/bit-packing hybrid encoding: runs of 8 or more as RLE
// runs, the rest bit-packed in groups of 8 (the last padded).
func appendHybrid(dst []byte, vals []uint32, width int) []byte {
	n := len(vals)
	for i := 0; i < n; {
		v, j := vals[i], i+1
		for j < n && vals[j] == v {
			j++
		}
		if j-i >= 8 {
			dst = appendRLE(dst, v, j-i, width)
			i = j
			continue
		}
		hdr := len(dst)
		dst = append(dst, 0)
		groups := 0
		for i < n && groups < 63 {
			if i+8 <= n && vals[i] == vals[i+7] && allEqual(vals[i:i+8]) {
				break
			}
			if width <= 8 && i+8 <= n {
				g := vals[i : i+8 : i+8]
				w := uint(width)
				acc := uint64(g[0]) | uint64(g[1])<<w | uint64(g[2])<<(2*w) | uint64(g[3])<<(3*w) |
					uint64(g[4])<<(4*w) | uint64(g[5])<<(5*w) | uint64(g[6])<<(6*w) | uint64(g[7])<<(7*w)
				dst = binary.LittleEndian.AppendUint64(dst, acc)[:len(dst)+width]
			} else {
				var acc uint64
				nb := 0
				for k := 0; k < 8; k++ {
					var x uint32
					if i+k < n {
						x = vals[i+k]
					}
					acc |= uint64(x) << nb
					nb += width
					for nb >= 8 {
						dst = append(dst, byte(acc))
						acc >>= 8
						nb -= 8
					}
				}
			}
			i += 8
			groups++
		}
		dst[hdr] = byte(groups<<1 | 1)
	}
	return dst
}

func allEqual(v []uint32) bool {
	for _, x := range v[1:] {
		if x != v[0] {
			return false
		}
	}
	return true
}

// appendDefLevels appends the definition levels (0 or 1) of rows rows, one bit each in bm, in
// the RLE/bit-packing hybrid encoding: whole bytes of 0s or 1s as RLE runs, the other bytes
// bit-packed as they are (a byte of bm is a bit-packed group of 8 one-bit values).
func appendDefLevels(dst []byte, bm []byte, rows int) []byte {
	nb := (rows + 7) >> 3
	bm = bm[:nb]
	for i := 0; i < nb; {
		if b := bm[i]; b == 0 || b == 0xff {
			j := i + 1
			w := uint64(b) * 0x0101010101010101
			for j+8 <= nb && binary.LittleEndian.Uint64(bm[j:]) == w {
				j += 8
			}
			for j < nb && bm[j] == b {
				j++
			}
			dst = appendRLE(dst, uint32(b&1), min((j-i)*8, rows-i*8), 1)
			i = j
			continue
		}
		start := i
		end := min(i+63, nb)
		for i < end && bm[i] != 0 && bm[i] != 0xff {
			i++
		}
		dst = append(dst, byte((i-start)<<1|1))
		dst = append(dst, bm[start:i]...)
	}
	return dst
}
