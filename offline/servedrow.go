package offline

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// ServedRow is one answered request: who asked what, and every feature value it read, in typed
// columns. Reads holds one entry per store read, in the order the request made them: a static
// read of some features of some entities (a P2-style batch is one read of 100 ids × 50
// features), or an action read of one feature of one entity. Within a read, each feature lists
// one status, event time and value per entity id, aligned with EntityIDs; its value is in the
// one typed list of its ValueType. One row per request, and ids and feature names once per
// read rather than once per value, keep logging at full sampling cheap; DuckDB, Spark and
// Athena unnest the lists.
type ServedRow struct {
	RequestID     string        `parquet:"request_id" json:"request_id"`
	Time          time.Time     `parquet:"time,timestamp(millisecond)" json:"time"`
	Client        string        `parquet:"client" json:"client,omitempty"`
	Operation     string        `parquet:"operation" json:"operation"`
	OperationHash string        `parquet:"operation_hash" json:"operation_hash"`
	Fingerprint   string        `parquet:"registry_fingerprint" json:"registry_fingerprint"`
	ReadCount     int64         `parquet:"read_count" json:"read_count"`   // feature values read (ids × features of every read)
	ErrorCount    int64         `parquet:"error_count" json:"error_count"` // of them, those whose read failed
	Reads         []ServedReads `parquet:"reads,list" json:"reads"`
}

// ServedReads is one store read of a request: Features of the entities EntityIDs (of kind
// Entity). Error is set when the read failed (every value then has status error).
type ServedReads struct {
	Entity    string          `parquet:"entity" json:"entity"`
	EntityIDs []string        `parquet:"entity_ids,list" json:"entity_ids"`
	Error     string          `parquet:"error,optional" json:"error,omitempty"`
	Features  []ServedFeature `parquet:"features,list" json:"features"`
}

// ServedFeature is one feature of a read: for each entity id of the read (same index), the
// status of its value, the value's event time and the value, in the list of the feature's type
// (ValueType Int: ValueInt, Float: ValueFloat, String: ValueString, Boolean: ValueBool, Time:
// ValueTime, as Unix nanoseconds; JSON, list<…>, set<…>, map<…> and action features' "event":
// ValueJSON). A value with status absent or error is the type's zero value (and event time 0);
// with status default it is the feature's defaultValue. An action feature's value is the
// events read, newest first, as a JSON array of {"timestamp":…,"fields":{…}}, and its event
// time the newest event's.
type ServedFeature struct {
	Feature     string         `parquet:"feature" json:"feature"`
	ValueType   string         `parquet:"value_type" json:"value_type"`
	Status      []ServedStatus `parquet:"status,list" json:"status"`
	EventTimeMs []int64        `parquet:"event_time_ms,list" json:"event_time_ms"`
	ValueInt    []int64        `parquet:"value_int,list" json:"value_int,omitempty"`
	ValueFloat  []float64      `parquet:"value_float,list" json:"value_float,omitempty"`
	ValueString []string       `parquet:"value_string,list" json:"value_string,omitempty"`
	ValueBool   []bool         `parquet:"value_bool,list" json:"value_bool,omitempty"`
	ValueTime   []int64        `parquet:"value_time_ns,list" json:"value_time_ns,omitempty"`
	ValueJSON   []string       `parquet:"value_json,list" json:"value_json,omitempty"`
}

// ServedStatus is the status of one value read: a small integer in the Parquet files (0 to 3),
// its name in String.
type ServedStatus int8

// The statuses of a value read.
const (
	StatusPresent ServedStatus = 0 // a stored value (or, for an action feature, at least one event)
	StatusAbsent  ServedStatus = 1 // nothing stored and no default: null or []
	StatusDefault ServedStatus = 2 // nothing stored: the feature's defaultValue was answered
	StatusError   ServedStatus = 3 // the read failed
)

func (s ServedStatus) String() string {
	switch s {
	case StatusPresent:
		return "present"
	case StatusAbsent:
		return "absent"
	case StatusDefault:
		return "default"
	case StatusError:
		return "error"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// ServedRequest is what the gateway captures of one sampled request (from ServedLog.Request):
// its identity and the store reads it made, already in the row's typed columns. The Append
// methods are not safe for concurrent use (the gateway serializes them). Log takes it.
type ServedRequest struct {
	ID, Operation, OperationHash string
	Time                         time.Time
	// Client is the caller, once access control names one ("" until then).
	Client string
	// Fingerprint is the registry fingerprint the request was served with; "" takes the log's
	// (a registry that changes at run time sets the one of the request's registry).
	Fingerprint string

	log          *ServedLog
	reads        []ServedReads
	values, errs int
	// Arenas the columns are cut from (full slice expressions, never written again once cut,
	// so growing one leaves earlier columns intact); reused once the row is written.
	i64   []int64
	f64   []float64
	st    []ServedStatus
	bools []bool
	strs  []string
	feats []ServedFeature
	text  []byte
}

// Reads is the number of feature values captured so far.
func (r *ServedRequest) Reads() int { return r.values }

func (r *ServedRequest) reset() {
	log := r.log
	*r = ServedRequest{log: log, reads: r.reads[:0], i64: r.i64[:0], f64: r.f64[:0], st: r.st[:0], bools: r.bools[:0],
		strs: clear0(r.strs), feats: clearFeats(r.feats), text: r.text[:0]}
	clear(r.reads[:cap(r.reads)])
}

func clear0(s []string) []string {
	clear(s[:cap(s)])
	return s[:0]
}

func clearFeats(s []ServedFeature) []ServedFeature {
	clear(s[:cap(s)])
	return s[:0]
}

// The typed list of a feature's values.
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
	name, valueType string
	slot            slot
	def             store.Value // Kind Absent: no default
}

func newServedFeature(f *registry.Feature) *servedFeature {
	sf := &servedFeature{name: f.Name, valueType: string(f.Type), def: f.Default}
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

// feature returns what the log knows of a feature; one not in the registry is logged as JSON.
func (l *ServedLog) feature(prefix, name string) (entity string, f *servedFeature) {
	e := l.entities[prefix]
	if e == nil {
		return prefix, &servedFeature{name: name, valueType: "JSON", slot: slotJSON}
	}
	if f := e.features[name]; f != nil {
		return e.name, f
	}
	return e.name, &servedFeature{name: name, valueType: "JSON", slot: slotJSON}
}

type servedEntity struct {
	name     string
	features map[string]*servedFeature
}

// cut returns n elements of an arena, growing it when needed.
func cut[T any](arena *[]T, n int) []T {
	a := *arena
	if cap(a)-len(a) < n {
		a = make([]T, 0, max(2*cap(a), n, 8))
	}
	out := a[len(a) : len(a)+n : len(a)+n]
	*arena = a[:len(a)+n]
	return out
}

// str copies s into the text arena (the row must not hold strings the caller may reuse).
func (r *ServedRequest) str(s string) string {
	if s == "" {
		return ""
	}
	if cap(r.text)-len(r.text) < len(s) {
		r.text = make([]byte, 0, max(2*cap(r.text), len(s), 256))
	}
	start := len(r.text)
	r.text = append(r.text, s...)
	return unsafe.String(&r.text[start], len(s))
}

// appendJSON appends v's JSON to the text arena and returns it as a string.
func (r *ServedRequest) appendJSON(v store.Value) string {
	// A value longer than what is left reallocates inside AppendJSON: the old arena (and the
	// strings cut from it) stays intact, the new one holds this value.
	start := len(r.text)
	r.text = v.AppendJSON(r.text)
	if len(r.text) == start {
		return ""
	}
	return unsafe.String(&r.text[start], len(r.text)-start)
}

// block starts a read of features × ids: columns cut from the arenas, to be filled by set.
func (r *ServedRequest) block(prefix string, ids []string, features []string, readErr error) (*ServedReads, []*servedFeature) {
	n := len(ids)
	rd := ServedReads{EntityIDs: cut(&r.strs, n), Features: cut(&r.feats, len(features))}
	for i, id := range ids {
		rd.EntityIDs[i] = r.str(id)
	}
	if readErr != nil {
		rd.Error = r.str(readErr.Error())
	}
	infos := make([]*servedFeature, len(features))
	for j, name := range features {
		entity, sf := r.log.feature(prefix, name)
		rd.Entity, infos[j] = entity, sf
		f := &rd.Features[j]
		f.Feature, f.ValueType = sf.name, sf.valueType
		f.Status, f.EventTimeMs = cut(&r.st, n), cut(&r.i64, n)
		switch sf.slot {
		case slotInt:
			f.ValueInt = cut(&r.i64, n)
		case slotFloat:
			f.ValueFloat = cut(&r.f64, n)
		case slotString:
			f.ValueString = cut(&r.strs, n)
		case slotBool:
			f.ValueBool = cut(&r.bools, n)
		case slotTime:
			f.ValueTime = cut(&r.i64, n)
		default:
			f.ValueJSON = cut(&r.strs, n)
		}
	}
	if len(features) == 0 {
		rd.Entity = prefix
		if e := r.log.entities[prefix]; e != nil {
			rd.Entity = e.name
		}
	}
	r.values += n * len(features)
	if readErr != nil {
		r.errs += n * len(features)
	}
	r.reads = append(r.reads, rd)
	return &r.reads[len(r.reads)-1], infos
}

// set records value i of feature f (of info sf): v as stored (Kind Absent: nothing stored).
// Every column is written: the arenas are reused.
func (r *ServedRequest) set(f *ServedFeature, sf *servedFeature, i int, v store.Value, ts int64, failed bool) {
	switch {
	case failed:
		f.Status[i], f.EventTimeMs[i] = StatusError, 0
		r.zero(f, sf, i)
		return
	case v.Kind == store.Absent && sf.def.Kind != store.Absent:
		f.Status[i], f.EventTimeMs[i], v = StatusDefault, 0, sf.def
	case v.Kind == store.Absent:
		f.Status[i], f.EventTimeMs[i] = StatusAbsent, 0
		r.zero(f, sf, i)
		return
	default:
		f.Status[i], f.EventTimeMs[i] = StatusPresent, ts
	}
	switch sf.slot {
	case slotInt:
		if v.Kind == store.Float {
			f.ValueInt[i] = int64(v.Float)
		} else {
			f.ValueInt[i] = v.Num
		}
	case slotFloat:
		if v.Kind == store.Int {
			f.ValueFloat[i] = float64(v.Num)
		} else {
			f.ValueFloat[i] = v.Float
		}
	case slotString:
		f.ValueString[i] = r.str(v.Str)
	case slotBool:
		f.ValueBool[i] = v.Num != 0
	case slotTime:
		f.ValueTime[i] = v.Num
	default:
		f.ValueJSON[i] = r.appendJSON(v)
	}
}

// zero sets value i of f to its type's zero value (JSON: null).
func (r *ServedRequest) zero(f *ServedFeature, sf *servedFeature, i int) {
	switch sf.slot {
	case slotInt:
		f.ValueInt[i] = 0
	case slotFloat:
		f.ValueFloat[i] = 0
	case slotString:
		f.ValueString[i] = ""
	case slotBool:
		f.ValueBool[i] = false
	case slotTime:
		f.ValueTime[i] = 0
	default:
		f.ValueJSON[i] = "null"
	}
}

// AppendStatic records a static read: q and its answer out (entity-major, as the store fills
// it), or the read's error.
func (r *ServedRequest) AppendStatic(q store.StaticQuery, out []store.StaticValue, err error) {
	if q.Len() == 0 {
		return
	}
	rd, infos := r.block(q.Prefix, q.IDs, q.Features, err)
	nf := len(q.Features)
	for e := range q.IDs {
		row := out[e*nf : e*nf+nf]
		for j := range rd.Features {
			var v store.StaticValue
			if err == nil {
				v = row[j]
			}
			r.set(&rd.Features[j], infos[j], e, v.Value, v.TS, err != nil)
		}
	}
}

// AppendValue records a static read of one key (a point-in-time read is logged key by key).
func (r *ServedRequest) AppendValue(k store.Key, v store.StaticValue, err error) {
	rd, infos := r.block(k.Prefix, []string{k.ID}, []string{k.Feature}, err)
	r.set(&rd.Features[0], infos[0], 0, v.Value, v.TS, err != nil)
}

// AppendActions records an action read: each query's events (newest first), or the error.
func (r *ServedRequest) AppendActions(queries []store.ActionQuery, got map[store.ActionQuery][]store.ActionEvent, err error) {
	for _, q := range queries {
		rd, _ := r.block(q.Key.Prefix, []string{q.Key.ID}, []string{q.Key.Feature}, err)
		f := &rd.Features[0]
		evs := got[q]
		f.EventTimeMs[0] = 0
		switch {
		case err != nil:
			f.Status[0], f.ValueJSON[0] = StatusError, "null"
		case len(evs) == 0:
			f.Status[0], f.ValueJSON[0] = StatusAbsent, "[]"
		default:
			f.Status[0], f.EventTimeMs[0] = StatusPresent, evs[0].TS
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
			b = append(b, ']')
			// A reallocation copied the arena: the earlier strings keep the old one, this
			// value is in the new one (start is the same index in both).
			r.text = b
			f.ValueJSON[0] = unsafe.String(&b[start], len(b)-start)
		}
	}
}

// row is the request's row (its columns alias the request's arenas until it is reset).
func (r *ServedRequest) row(fingerprint string) ServedRow {
	if r.Fingerprint != "" {
		fingerprint = r.Fingerprint
	}
	return ServedRow{RequestID: r.ID, Time: r.Time, Client: r.Client, Operation: r.Operation, OperationHash: r.OperationHash,
		Fingerprint: fingerprint, ReadCount: int64(r.values), ErrorCount: int64(r.errs), Reads: r.reads}
}
