package offline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ServedSink stores the served log. The log's one writer goroutine calls Add for each logged
// request (the sink copies its rows into the batch it builds), then Write to store the batch
// (a batch Write stored is not written again; one that fails is retried, then Discarded).
type ServedSink interface {
	Add(r *ServedRows)
	Write(ctx context.Context) error
	Discard()
	// String names the sink in messages and the catalog.
	String() string
}

// ServedRows is one logged request, valid during ServedSink.Add.
type ServedRows struct {
	log *ServedLog
	req *ServedRequest
}

// Values is the number of values (rows) the request read.
func (rs *ServedRows) Values() int { return rs.req.values }

// Rows returns the request's rows (a copy, for sinks other than Parquet and for tests).
func (rs *ServedRows) Rows() []ServedValue {
	r := rs.req
	e := newServedEncoder()
	e.reset()
	e.add(rs.log, r)
	g := rs.log.generation(r)
	fp := r.Fingerprint
	if fp == "" {
		fp = g.fingerprint
	}
	out := make([]ServedValue, 0, e.rows)
	statuses := make([]uint32, 0, e.rows)
	for _, ru := range e.status.runs {
		for range ru.n {
			statuses = append(statuses, ru.v)
		}
	}
	var cur [nOpt]int
	bools := 0
	row := 0
	for _, bl := range r.blocks {
		nIDs, nFeats := int(bl.nIDs), int(bl.nFeats)
		if nIDs*nFeats == 0 {
			continue
		}
		for k := range nIDs {
			id := string(at(r.text, r.spans[int(bl.at)+k]))
			for j := range nFeats {
				name := at(r.text, r.spans[int(bl.at)+nIDs+j])
				sf := g.feature(at(r.text, bl.prefix), name)
				v := ServedValue{RequestID: r.ID, Time: r.Time.Truncate(time.Millisecond).UTC(), Client: r.Client, Operation: r.Operation, OperationHash: r.OperationHash,
					Fingerprint: fp, Entity: sf.entity, EntityID: id, Feature: sf.name, ValueType: sf.valueType, Status: statusNames[statuses[row]]}
				for c := range nOpt {
					if e.defs[c][row>>3]&(1<<(row&7)) == 0 {
						continue
					}
					switch c {
					case optEventTime, optInt, optFloat, optTime:
						w := e.w8[c][cur[c]]
						cur[c]++
						switch c {
						case optEventTime:
							t := time.UnixMilli(int64(w)).UTC()
							v.EventTime = &t
						case optInt:
							n := int64(w)
							v.ValueInt = &n
						case optFloat:
							f := math.Float64frombits(w)
							v.ValueFloat = &f
						case optTime:
							t := time.Unix(0, int64(w)).UTC()
							v.ValueTime = &t
						}
					case optBool:
						x := e.vals[c][bools>>3]&(1<<(bools&7)) != 0
						bools++
						v.ValueBool = &x
					default:
						n := int(leUint32(e.vals[c][cur[c]:]))
						s := string(e.vals[c][cur[c]+4 : cur[c]+4+n])
						cur[c] += 4 + n
						switch c {
						case optString:
							v.ValueString = &s
						case optJSON:
							v.ValueJSON = &s
						case optError:
							v.Error = &s
						}
					}
				}
				out = append(out, v)
				row++
			}
		}
	}
	return out
}

func leUint32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// servedPartition is a request's partition: its operation and the hour of its time.
type servedPartition struct {
	op   string
	hour int64
}

func (p servedPartition) path() string {
	op := p.op
	if op == "" {
		op = "_anonymous"
	}
	b := make([]byte, 0, 64+len(op))
	b = append(b, "served/operation="...)
	b = append(b, sanitize(op)...)
	return string(appendHour(b, time.Unix(p.hour*3600, 0)))
}

// ServedParquetSink writes each partition of a batch as one Parquet file of ServedValue rows
// on an ObjectStore, served/operation=<name>/date=<d>/hour=<h>/part-….parquet (by request
// time, UTC). Add copies a request's rows into its partition's columns.
type ServedParquetSink struct {
	Store ObjectStore
	// Uncompressed leaves the pages uncompressed. Default false: Snappy.
	Uncompressed bool

	id    string
	seq   atomic.Int64
	parts map[servedPartition]*servedEncoder
	last  servedPartition
	enc   *servedEncoder // of last
	spare []*servedEncoder
	// bodies are the buffers of files stored, for the next files: a file is a few MB, and a
	// new buffer for each (grown by appends, zeroed by the allocator) cost more than its
	// encoding's memmoves.
	bodies chan []byte
}

// NewServedParquetSink returns a sink on st.
func NewServedParquetSink(st ObjectStore) *ServedParquetSink {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &ServedParquetSink{Store: st, id: hex.EncodeToString(b[:]), parts: map[servedPartition]*servedEncoder{}, bodies: make(chan []byte, 4)}
}

// Add copies the request's rows into the columns of its partition.
func (s *ServedParquetSink) Add(rs *ServedRows) {
	r := rs.req
	sec := r.Time.Unix()
	hour := sec / 3600
	if sec < 0 && sec%3600 != 0 {
		hour--
	}
	p := servedPartition{r.Operation, hour}
	if s.enc == nil || p != s.last {
		e := s.parts[p]
		if e == nil {
			if n := len(s.spare); n > 0 {
				e, s.spare = s.spare[n-1], s.spare[:n-1]
			} else {
				e = newServedEncoder()
				e.bodies = s.bodies
			}
			e.reset()
			s.parts[p] = e
		}
		e.uncompressed = s.Uncompressed
		s.last, s.enc = p, e
	}
	s.enc.add(rs.log, r)
	if s.enc.rows >= servedRowGroup {
		s.enc.flushRowGroup()
	}
}

// Write writes one file per partition (Seal, then its store).
func (s *ServedParquetSink) Write(ctx context.Context) error {
	st, err := s.Seal()
	if err != nil {
		return err
	}
	return st(ctx)
}

var _ ServedSealer = (*ServedParquetSink)(nil)

// Seal encodes one file per partition of the batch and returns what puts them on the store
// (a file put is not put again when another fails and the store is retried); Add starts the
// next batch.
func (s *ServedParquetSink) Seal() (func(ctx context.Context) error, error) {
	keys := make([]servedPartition, 0, len(s.parts))
	for p := range s.parts {
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].hour != keys[j].hour {
			return keys[i].hour < keys[j].hour
		}
		return keys[i].op < keys[j].op
	})
	now := time.Now().UTC().Format("20060102T150405Z")
	type file struct {
		key  string
		body []byte
	}
	var files []file
	defer s.Discard()
	for _, p := range keys {
		e := s.parts[p]
		if e.rows == 0 && len(e.groups) == 0 {
			continue
		}
		body, err := e.encode()
		if err != nil {
			return nil, err
		}
		e.out = nil // the body is the file's now
		files = append(files, file{fmt.Sprintf("%s/part-%s-%s-%06d.parquet", p.path(), now, s.id, s.seq.Add(1)), body})
	}
	return func(ctx context.Context) error {
		for len(files) > 0 {
			if err := s.Store.Put(ctx, files[0].key, files[0].body); err != nil {
				return err
			}
			select { // the putter is done with it: the next files may use it
			case s.bodies <- files[0].body:
			default:
			}
			files = files[1:]
		}
		return nil
	}, nil
}

// Discard drops the batch.
func (s *ServedParquetSink) Discard() {
	for p := range s.parts {
		s.release(p)
	}
}

func (s *ServedParquetSink) release(p servedPartition) {
	e := s.parts[p]
	delete(s.parts, p)
	if s.enc == e {
		s.enc = nil
	}
	if len(s.spare) < 4 {
		e.reset()
		s.spare = append(s.spare, e)
	}
}

func (s *ServedParquetSink) String() string { return s.Store.String() }

// ServedRecord is the Kafka record of one logged request (JSON, keyed by request id): the
// request's columns once, then its values.
type ServedRecord struct {
	RequestID     string        `json:"request_id"`
	Time          time.Time     `json:"time"`
	Client        string        `json:"client,omitempty"`
	Operation     string        `json:"operation"`
	OperationHash string        `json:"operation_hash"`
	Fingerprint   string        `json:"registry_fingerprint"`
	Values        []ServedValue `json:"values"`
}

// ServedKafkaSink produces one ServedRecord per request to a topic.
type ServedKafkaSink struct {
	Client *kgo.Client
	Topic  string
	recs   []*kgo.Record
	err    error
}

// Add encodes the request's record.
func (s *ServedKafkaSink) Add(rs *ServedRows) {
	r := rs.req
	rows := rs.Rows()
	rec := ServedRecord{RequestID: r.ID, Time: r.Time.Truncate(time.Millisecond).UTC(), Client: r.Client, Operation: r.Operation, OperationHash: r.OperationHash, Values: rows}
	if len(rows) > 0 {
		rec.Fingerprint = rows[0].Fingerprint
	}
	body, err := json.Marshal(servedRecordJSON(rec))
	if err != nil {
		s.err = fmt.Errorf("offline: kafka: %w", err)
		return
	}
	s.recs = append(s.recs, &kgo.Record{Topic: s.Topic, Key: []byte(r.ID), Value: body})
}

// Write produces the records and waits until the brokers acknowledged all of them.
func (s *ServedKafkaSink) Write(ctx context.Context) error {
	if s.err != nil {
		err := s.err
		s.err = nil
		return err
	}
	var errs []error
	var failed []*kgo.Record
	for _, res := range s.Client.ProduceSync(ctx, s.recs...) {
		if res.Err != nil {
			errs = append(errs, res.Err)
			failed = append(failed, res.Record)
		}
	}
	if len(errs) > 0 {
		n := len(s.recs)
		s.recs = failed // a retry produces the failed ones only
		return fmt.Errorf("offline: kafka: produce %d of %d served records to %s failed: %w", len(errs), n, s.Topic, errors.Join(errs[0]))
	}
	s.recs = s.recs[:0]
	return nil
}

// Discard drops the batch.
func (s *ServedKafkaSink) Discard() { s.recs, s.err = s.recs[:0], nil }

func (s *ServedKafkaSink) String() string { return "kafka://" + s.Topic }

// servedRecordJSON leaves the request's columns out of its values' JSON.
type servedRecordJSON ServedRecord

func (r servedRecordJSON) MarshalJSON() ([]byte, error) {
	type value struct {
		Entity      string     `json:"entity"`
		EntityID    string     `json:"entity_id"`
		Feature     string     `json:"feature"`
		ValueType   string     `json:"value_type"`
		Status      string     `json:"status"`
		EventTime   *time.Time `json:"event_time,omitempty"`
		ValueInt    *int64     `json:"value_int,omitempty"`
		ValueFloat  *float64   `json:"value_float,omitempty"`
		ValueString *string    `json:"value_string,omitempty"`
		ValueBool   *bool      `json:"value_bool,omitempty"`
		ValueTime   *time.Time `json:"value_time,omitempty"`
		ValueJSON   *string    `json:"value_json,omitempty"`
		Error       *string    `json:"error,omitempty"`
	}
	type record struct {
		RequestID     string    `json:"request_id"`
		Time          time.Time `json:"time"`
		Client        string    `json:"client,omitempty"`
		Operation     string    `json:"operation"`
		OperationHash string    `json:"operation_hash"`
		Fingerprint   string    `json:"registry_fingerprint"`
		Values        []value   `json:"values"`
	}
	out := record{RequestID: r.RequestID, Time: r.Time, Client: r.Client, Operation: r.Operation, OperationHash: r.OperationHash, Fingerprint: r.Fingerprint, Values: make([]value, len(r.Values))}
	for i, v := range r.Values {
		out.Values[i] = value{Entity: v.Entity, EntityID: v.EntityID, Feature: v.Feature, ValueType: v.ValueType, Status: v.Status, EventTime: v.EventTime,
			ValueInt: v.ValueInt, ValueFloat: v.ValueFloat, ValueString: v.ValueString, ValueBool: v.ValueBool, ValueTime: v.ValueTime, ValueJSON: v.ValueJSON, Error: v.Error}
	}
	return json.Marshal(out)
}
