package offline

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// ServedValue is one row of the served log: one feature value that one answered request read,
// with the request's identity on every row. The Parquet files hold these columns (flat, no
// lists: the request's columns are dictionary-encoded in runs, so they cost a few bytes per
// request, not per value); read them back with ReadAll[ServedValue]. Of the value columns at
// most one is set: the one of the feature's type (Int: ValueInt, Float: ValueFloat, String:
// ValueString, Boolean: ValueBool, Time: ValueTime; JSON, list<…>, set<…>, map<…> and action
// features' "event": ValueJSON), and none when the status is absent or error. An action
// feature's value is the events read, newest first, as a JSON array of
// {"timestamp":…,"fields":{…}}, and its event time the newest event's.
type ServedValue struct {
	RequestID     string     `parquet:"request_id" json:"request_id"`
	Time          time.Time  `parquet:"time,timestamp(millisecond)" json:"time"`
	Client        string     `parquet:"client" json:"client,omitempty"`
	Operation     string     `parquet:"operation" json:"operation"`
	OperationHash string     `parquet:"operation_hash" json:"operation_hash"`
	Fingerprint   string     `parquet:"registry_fingerprint" json:"registry_fingerprint"`
	Entity        string     `parquet:"entity" json:"entity"`
	EntityID      string     `parquet:"entity_id" json:"entity_id"`
	Feature       string     `parquet:"feature" json:"feature"`
	ValueType     string     `parquet:"value_type" json:"value_type"`
	Status        string     `parquet:"status" json:"status"`
	EventTime     *time.Time `parquet:"event_time,optional,timestamp(millisecond)" json:"event_time,omitempty"`
	ValueInt      *int64     `parquet:"value_int,optional" json:"value_int,omitempty"`
	ValueFloat    *float64   `parquet:"value_float,optional" json:"value_float,omitempty"`
	ValueString   *string    `parquet:"value_string,optional" json:"value_string,omitempty"`
	ValueBool     *bool      `parquet:"value_bool,optional" json:"value_bool,omitempty"`
	ValueTime     *time.Time `parquet:"value_time,optional,timestamp(nanosecond)" json:"value_time,omitempty"`
	ValueJSON     *string    `parquet:"value_json,optional" json:"value_json,omitempty"`
	Error         *string    `parquet:"error,optional" json:"error,omitempty"`
}

// ServedStatus is the status of one value read.
type ServedStatus uint8

// The statuses of a value read (the status column holds their names).
const (
	StatusPresent ServedStatus = 0 // a stored value (or, for an action feature, at least one event)
	StatusAbsent  ServedStatus = 1 // nothing stored and no default: every value column null
	StatusDefault ServedStatus = 2 // nothing stored: the feature's defaultValue was answered
	StatusError   ServedStatus = 3 // the read failed (the error column says why)
)

var statusNames = [4]string{"present", "absent", "default", "error"}

func (s ServedStatus) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// The kind of a captured value (the low 4 bits of its tag; the status is the high 4).
const (
	kAbsent uint8 = iota
	kInt          // word: the int64
	kFloat        // word: the float64's bits
	kString       // word: a span of the text arena, the string itself
	kBool         // word: 0 or 1
	kTime         // word: Unix nanoseconds
	kText         // word: a span of the text arena, JSON
)

// ServedRequest is what the gateway captures of one sampled request (from ServedLog.Request):
// its identity and the store reads it made, copied into flat pointer-free arenas (one tag,
// event time and 8-byte word per value; strings, ids and names in one byte arena), so that a
// buffered request costs the GC nothing to scan and the request path does no lookup: the
// log's writer resolves features, types and defaults. The Append methods are not safe for
// concurrent use (the gateway serializes them). Log takes it.
type ServedRequest struct {
	ID, Operation, OperationHash string
	Time                         time.Time
	// Client is the caller, once access control names one ("" until then).
	Client string
	// Fingerprint is the registry fingerprint the request was served with; "" takes the log's
	// (a registry that changes at run time sets the one of the request's registry).
	Fingerprint string

	log    *ServedLog
	gen    *servedGen // the registry of the capture (set by Request)
	blocks []servedBlock
	spans  []uint64 // the blocks' entity ids, then feature names (text spans)
	tag    []uint8  // per value, entity-major within a block: kind | status<<4
	ts     []int64  // per value: event time (Unix ms)
	word   []uint64 // per value: see the kinds
	text   []byte
	values int
}

// servedBlock is one store read: nIDs entity ids × nFeats features, their spans from spans[at]
// (ids, then names), their values from val (nIDs × nFeats, entity-major).
type servedBlock struct {
	prefix, err  uint64 // text spans (err: 0 length when the read succeeded)
	at, val      int32
	nIDs, nFeats int32
	action       bool
	failed       bool
}

// Reads is the number of feature values captured so far.
func (r *ServedRequest) Reads() int { return r.values }

func (r *ServedRequest) reset() {
	*r = ServedRequest{log: r.log, blocks: r.blocks[:0], spans: r.spans[:0], tag: r.tag[:0], ts: r.ts[:0], word: r.word[:0], text: r.text[:0]}
}

// span copies s into the text arena and returns its offset<<32 | length.
func (r *ServedRequest) span(s string) uint64 {
	off := len(r.text)
	r.text = append(r.text, s...)
	return uint64(off)<<32 | uint64(len(s))
}

// at returns the bytes of a span of text.
func at(text []byte, sp uint64) []byte {
	off := sp >> 32
	return text[off : off+sp&0xffffffff : off+sp&0xffffffff]
}

// block starts a read: ids and feature names copied, n values to fill from the returned index.
func (r *ServedRequest) block(prefix string, ids, features []string, err error, action bool) int {
	b := servedBlock{prefix: r.span(prefix), at: int32(len(r.spans)), val: int32(len(r.tag)), nIDs: int32(len(ids)), nFeats: int32(len(features)), action: action}
	if err != nil {
		b.failed, b.err = true, r.span(err.Error())
	}
	for _, id := range ids {
		r.spans = append(r.spans, r.span(id))
	}
	for _, f := range features {
		r.spans = append(r.spans, r.span(f))
	}
	r.blocks = append(r.blocks, b)
	n := len(ids) * len(features)
	start := len(r.tag)
	r.tag = slices.Grow(r.tag, n)[:start+n]
	r.ts = slices.Grow(r.ts, n)[:start+n]
	r.word = slices.Grow(r.word, n)[:start+n]
	r.values += n
	if err != nil {
		for i := start; i < start+n; i++ {
			r.tag[i], r.ts[i], r.word[i] = uint8(StatusError)<<4, 0, 0
		}
	}
	return start
}

// put records value i: v as stored (Kind Absent: nothing stored) and its event time.
func (r *ServedRequest) put(i int, v *store.Value, ts int64) {
	var k uint8
	r.word[i], r.text, k = captureValue(v, r.text)
	r.tag[i], r.ts[i] = k, ts
	if k == kAbsent {
		r.tag[i], r.ts[i] = uint8(StatusAbsent)<<4, 0
	}
}

// captureValue returns v's word (appending its text to text when it has one) and kind.
func captureValue(v *store.Value, text []byte) (uint64, []byte, uint8) {
	switch v.Kind {
	case store.Absent:
		return 0, text, kAbsent
	case store.Int:
		return uint64(v.Num), text, kInt
	case store.Float:
		return math.Float64bits(v.Float), text, kFloat
	case store.Bool:
		return uint64(v.Num), text, kBool
	case store.Time:
		return uint64(v.Num), text, kTime
	case store.String:
		off := len(text)
		return uint64(off)<<32 | uint64(len(v.Str)), append(text, v.Str...), kString
	}
	off := len(text) // JSON, List, Map
	text = v.AppendJSON(text)
	return uint64(off)<<32 | uint64(len(text)-off), text, kText
}

// AppendStatic records a static read: q and its answer out (entity-major, as the store fills
// it), or the read's error.
func (r *ServedRequest) AppendStatic(q store.StaticQuery, out []store.StaticValue, err error) {
	if q.Len() == 0 {
		return
	}
	start := r.block(q.Prefix, q.IDs, q.Features, err, false)
	if err != nil {
		return
	}
	n := len(q.IDs) * len(q.Features)
	out = out[:n]
	tags, tss, words := r.tag[start:start+n], r.ts[start:start+n], r.word[start:start+n]
	tags, tss, words = tags[:len(out)], tss[:len(out)], words[:len(out)] // no bounds checks in the loop
	for i := range out {
		sv := &out[i] // not a copy: a StaticValue is 96 bytes
		switch k := sv.Value.Kind; k {
		case store.Int, store.Bool, store.Time: // the kinds kInt, kBool, kTime are store's
			tags[i], tss[i], words[i] = uint8(k), sv.TS, uint64(sv.Value.Num)
		case store.Float:
			tags[i], tss[i], words[i] = kFloat, sv.TS, math.Float64bits(sv.Value.Float)
		default:
			r.put(start+i, &sv.Value, sv.TS)
		}
	}
}

// AppendValue records a static read of one key (a point-in-time read is logged key by key).
func (r *ServedRequest) AppendValue(k store.Key, v store.StaticValue, err error) {
	i := r.block(k.Prefix, []string{k.ID}, []string{k.Feature}, err, false)
	if err == nil {
		r.put(i, &v.Value, v.TS)
	}
}

// AppendActions records an action read: each query's events (newest first), or the error.
func (r *ServedRequest) AppendActions(queries []store.ActionQuery, got map[store.ActionQuery][]store.ActionEvent, err error) {
	for _, q := range queries {
		i := r.block(q.Key.Prefix, []string{q.Key.ID}, []string{q.Key.Feature}, err, true)
		if err != nil {
			continue
		}
		evs := got[q]
		if len(evs) == 0 {
			r.tag[i], r.ts[i], r.word[i] = uint8(StatusAbsent)<<4, 0, 0
			continue
		}
		start := len(r.text)
		b := append(r.text, '[')
		for j, ev := range evs {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"timestamp":"`...)
			b = time.UnixMilli(ev.TS).UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, `","fields":`...)
			b = append(b, ev.Member...)
			b = append(b, '}')
		}
		r.text = append(b, ']')
		r.tag[i], r.ts[i], r.word[i] = kText, evs[0].TS, uint64(start)<<32|uint64(len(r.text)-start)
	}
}

// The typed column of a feature's values.
type slot uint8

const (
	slotInt slot = iota
	slotFloat
	slotString
	slotBool
	slotTime
	slotJSON
)

// servedFeature is what the log knows of a feature, by its entity's key prefix and name.
type servedFeature struct {
	entity, name, valueType string
	slot                    slot
	hasDef                  bool
	defKind                 uint8
	defWord                 uint64
	defText                 []byte
}

func newServedFeature(entity string, f *registry.Feature) *servedFeature {
	sf := &servedFeature{entity: entity, name: f.Name, valueType: string(f.Type)}
	if f.Default.Kind != store.Absent {
		sf.hasDef = true
		sf.defWord, sf.defText, sf.defKind = captureValue(&f.Default, nil)
	}
	if f.FeatureType == registry.Action {
		sf.valueType, sf.slot = "event", slotJSON
		return sf
	}
	if f.Container != "" && f.Container != registry.Single {
		sf.valueType, sf.slot = string(f.Container)+"<"+string(f.Type)+">", slotJSON
		return sf
	}
	switch f.Type {
	case registry.Int:
		sf.slot = slotInt
	case registry.Float:
		sf.slot = slotFloat
	case registry.String:
		sf.slot = slotString
	case registry.Boolean:
		sf.slot = slotBool
	case registry.Time:
		sf.slot = slotTime
	default:
		sf.slot = slotJSON
	}
	return sf
}

type servedEntity struct {
	name     string
	features map[string]*servedFeature
}

// feature returns what the log knows of a feature; one not in the registry is logged as JSON.
func (g *servedGen) feature(prefix, name []byte) *servedFeature {
	e := g.entities[string(prefix)]
	if e == nil {
		return &servedFeature{entity: string(prefix), name: string(name), valueType: "JSON", slot: slotJSON}
	}
	if f := e.features[string(name)]; f != nil {
		return f
	}
	return &servedFeature{entity: e.name, name: string(name), valueType: "JSON", slot: slotJSON}
}
