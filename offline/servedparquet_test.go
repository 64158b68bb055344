package offline_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/store"
)

// servedCase is one request of TestServedParquetRoundTrip: what it read, and the rows the log
// must hold for it, worked out here from the registry (not by the log's code).
type servedCase struct {
	id, op, client, fp string
	t                  time.Time
	reads              []func(r *offline.ServedRequest)
	want               []offline.ServedValue
}

// servedCases builds requests of every kind of read: static reads of up to 300 ids × some of
// every type of feature (values absent, of another kind than the type, defaults), failed
// reads, point-in-time reads, action reads with and without events, a feature the registry
// does not know, and one request of 300 unknown features (dictionary indexes wider than a
// byte); 3 operations (one anonymous) over 3 hours (partitions).
func servedCases(t *testing.T, reg *registry.Registry) []*servedCase {
	rng := rand.New(rand.NewPCG(7, 22))
	fp := schema.Fingerprint(reg)
	user := reg.Entity("user")
	names := []string{"os", "region_id", "manner_temperature", "is_verified", "last_active_at", "notification_keywords",
		"recent_search_queries", "category_affinity", "settings", "not_in_registry"}
	base := time.Date(2026, 12, 6, 10, 59, 58, 123456789, time.UTC)
	value := func(name string) store.Value {
		switch name {
		case "os":
			return store.StringValue(fmt.Sprintf("os-%d-\"é\"", rng.IntN(5)))
		case "region_id":
			if rng.IntN(4) == 0 {
				return store.FloatValue(float64(rng.IntN(1000)) + 0.75) // a Float stored for an Int
			}
			return store.IntValue(int64(rng.IntN(1<<40)) - 1<<39)
		case "manner_temperature":
			if rng.IntN(4) == 0 {
				return store.IntValue(int64(rng.IntN(100)))
			}
			return store.FloatValue(rng.Float64() * 100)
		case "is_verified":
			return store.BoolValue(rng.IntN(2) == 0)
		case "last_active_at":
			return store.TimeValue(base.Add(-time.Duration(rng.IntN(1e9)) * time.Microsecond))
		case "notification_keywords", "recent_search_queries":
			return store.ListValue([]store.Value{store.StringValue("a"), store.StringValue(fmt.Sprint(rng.IntN(9)))})
		case "category_affinity":
			return store.MapValue([]string{"books", "games"}, []store.Value{store.FloatValue(0.5), store.FloatValue(rng.Float64())})
		case "settings":
			return store.JSONValue(fmt.Sprintf(`{"dark":%v}`, rng.IntN(2) == 0))
		}
		return store.IntValue(int64(rng.IntN(10)))
	}
	// want is the row of one value read of feature name (nil f: not in the registry).
	want := func(c *servedCase, id, name string, v store.Value, ts int64, readErr error) offline.ServedValue {
		row := offline.ServedValue{RequestID: c.id, Time: c.t.Truncate(time.Millisecond), Client: c.client, Operation: c.op, OperationHash: "h-" + c.op,
			Fingerprint: c.fp, Entity: "user", EntityID: id, Feature: name, ValueType: "JSON", Status: "present"}
		if row.Fingerprint == "" {
			row.Fingerprint = fp
		}
		f := user.Feature(name)
		if f != nil {
			row.ValueType = string(f.Type)
			if f.Container != "" && f.Container != registry.Single {
				row.ValueType = string(f.Container) + "<" + string(f.Type) + ">"
			}
			if f.FeatureType == registry.Action {
				row.ValueType = "event"
			}
		}
		switch {
		case readErr != nil:
			msg := readErr.Error()
			row.Status, row.Error = "error", &msg
			return row
		case v.Kind == store.Absent && f != nil && f.Default.Kind != store.Absent:
			row.Status, v = "default", f.Default
		case v.Kind == store.Absent:
			row.Status = "absent"
			return row
		default:
			et := time.UnixMilli(ts).UTC()
			row.EventTime = &et
		}
		typ := registry.JSON
		if f != nil && (f.Container == "" || f.Container == registry.Single) {
			typ = f.Type
		}
		switch {
		case typ == registry.Int && v.Kind == store.Float:
			n := int64(v.Float)
			row.ValueInt = &n
		case typ == registry.Int:
			n := v.Num
			row.ValueInt = &n
		case typ == registry.Float && v.Kind == store.Int:
			x := float64(v.Num)
			row.ValueFloat = &x
		case typ == registry.Float:
			x := v.Float
			row.ValueFloat = &x
		case typ == registry.String:
			s := v.Str
			row.ValueString = &s
		case typ == registry.Boolean:
			b := v.Bool()
			row.ValueBool = &b
		case typ == registry.Time:
			tm := v.Time()
			row.ValueTime = &tm
		default:
			s := string(v.AppendJSON(nil))
			row.ValueJSON = &s
		}
		return row
	}
	var cases []*servedCase
	for i := range 60 {
		c := &servedCase{id: fmt.Sprintf("req-%03d-%x", i, rng.Uint32()), op: []string{"Home", "Feed", ""}[i%3],
			t: base.Add(time.Duration(i) * 3 * time.Minute)} // 10:59 to 13:56: three hours
		if i%4 == 1 {
			c.client = "ranker"
		}
		if i%5 == 2 {
			c.fp = "fp-of-an-earlier-registry"
		}
		for range 1 + rng.IntN(3) {
			switch kind := rng.IntN(10); {
			case kind < 6: // a static read
				n := 1 + rng.IntN(20)
				if rng.IntN(6) == 0 {
					n = 100 + rng.IntN(200)
				}
				q := store.StaticQuery{Prefix: "u"}
				for k := range n {
					q.IDs = append(q.IDs, fmt.Sprint(1000+k*7+rng.IntN(7)))
				}
				for _, name := range names {
					if rng.IntN(3) > 0 {
						q.Features = append(q.Features, name)
					}
				}
				var readErr error
				if rng.IntN(8) == 0 {
					readErr = errors.New("redis: connection refused")
				}
				out := make([]store.StaticValue, q.Len())
				for e, id := range q.IDs {
					for j, name := range q.Features {
						sv := store.StaticValue{Value: value(name), TS: 1700000000000 + int64(rng.IntN(1e9))}
						if rng.IntN(5) == 0 {
							sv = store.StaticValue{}
						}
						if readErr == nil {
							out[e*len(q.Features)+j] = sv
						}
						c.want = append(c.want, want(c, id, name, sv.Value, sv.TS, readErr))
					}
				}
				c.reads = append(c.reads, func(r *offline.ServedRequest) { r.AppendStatic(q, out, readErr) })
			case kind < 8: // point-in-time reads, key by key
				k := store.Key{Prefix: "u", ID: fmt.Sprint(rng.IntN(50)), Feature: names[rng.IntN(len(names))]}
				sv := store.StaticValue{Value: value(k.Feature), TS: 1600000000000}
				c.want = append(c.want, want(c, k.ID, k.Feature, sv.Value, sv.TS, nil))
				c.reads = append(c.reads, func(r *offline.ServedRequest) { r.AppendValue(k, sv, nil) })
			default: // an action read
				var queries []store.ActionQuery
				got := map[store.ActionQuery][]store.ActionEvent{}
				for q := range 1 + rng.IntN(3) {
					aq := store.ActionQuery{Key: store.Key{Prefix: "u", ID: fmt.Sprint(q + 1), Feature: "recent_clicked_articles"}, Count: 5}
					queries = append(queries, aq)
					row := want(c, aq.Key.ID, aq.Key.Feature, store.Value{}, 0, nil)
					if rng.IntN(3) > 0 {
						evs := []store.ActionEvent{{TS: 1700000005000, Member: `{"article_id":7}`}, {TS: 1700000001000, Member: `{"article_id":3}`}}
						got[aq] = evs
						js := `[{"timestamp":"2023-11-14T22:13:25Z","fields":{"article_id":7}},{"timestamp":"2023-11-14T22:13:21Z","fields":{"article_id":3}}]`
						et := time.UnixMilli(1700000005000).UTC()
						row.Status, row.EventTime, row.ValueJSON = "present", &et, &js
					}
					c.want = append(c.want, row)
				}
				c.reads = append(c.reads, func(r *offline.ServedRequest) { r.AppendActions(queries, got, nil) })
			}
		}
		cases = append(cases, c)
	}
	// 300 features the registry does not know, in one read: 300 dictionary entries.
	wide := &servedCase{id: "req-wide", op: "Home", t: base}
	q := store.StaticQuery{Prefix: "u", IDs: []string{"1", "2"}}
	for j := range 300 {
		q.Features = append(q.Features, fmt.Sprintf("x%03d", j))
	}
	out := make([]store.StaticValue, q.Len())
	for e, id := range q.IDs {
		for j, name := range q.Features {
			out[e*300+j] = store.StaticValue{Value: store.IntValue(int64(j)), TS: 1700000000000}
			wide.want = append(wide.want, want(wide, id, name, out[e*300+j].Value, 1700000000000, nil))
		}
	}
	wide.reads = append(wide.reads, func(r *offline.ServedRequest) { r.AppendStatic(q, out, nil) })
	return append(cases, wide)
}

func (c *servedCase) log(l *offline.ServedLog) {
	r := l.Request(c.id, c.t)
	r.Operation, r.OperationHash, r.Client, r.Fingerprint = c.op, "h-"+c.op, c.client, c.fp
	for _, read := range c.reads {
		read(r)
	}
	l.Log(r)
}

// rowsSink keeps the rows of every request (the path of the Kafka sink).
type rowsSink struct {
	rows map[string][]offline.ServedValue
}

func (s *rowsSink) Add(r *offline.ServedRows) {
	for _, v := range r.Rows() {
		s.rows[v.RequestID] = append(s.rows[v.RequestID], v)
	}
}
func (*rowsSink) Write(context.Context) error { return nil }
func (*rowsSink) Discard()                    {}
func (*rowsSink) String() string              { return "rows" }

// TestServedParquetRoundTrip: the served log's Parquet files (written column by column, not by
// parquet-go's writer) read back with parquet-go's reader into exactly the rows of the requests
// logged — every status, type, default, error, event and an unknown feature — one file per
// operation and hour, in small and large batches, compressed or not; the rows a Kafka record
// carries (ServedRows.Rows) are the same.
func TestServedParquetRoundTrip(t *testing.T) {
	reg := exampleWith(t, map[string]string{"offline.yaml": "servedLog: {}\n"})
	cases := servedCases(t, reg)
	var values int
	for _, c := range cases {
		values += len(c.want)
	}
	for _, tc := range []struct {
		name         string
		batch        int
		uncompressed bool
	}{{"one-batch", 1 << 30, false}, {"batches-of-500-values", 500, false}, {"uncompressed", 1 << 30, true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sink := offline.NewServedParquetSink(offline.DirStore{Dir: dir})
			sink.Uncompressed = tc.uncompressed
			l := offline.NewServedLog(reg, sink, offline.ServedConfig{Buffer: 1 << 30, Batch: tc.batch, FlushInterval: time.Hour})
			for _, c := range cases {
				c.log(l)
			}
			if err := l.Close(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if l.Dropped() != 0 || l.ShippedValues() != int64(values) {
				t.Fatalf("dropped %d, shipped %d values, want %d", l.Dropped(), l.ShippedValues(), values)
			}
			rows, err := offline.ReadAll[offline.ServedValue](context.Background(), offline.DirStore{Dir: dir}, "served/")
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != values {
				t.Fatalf("%d rows in the files, want %d", len(rows), values)
			}
			got := map[string][]offline.ServedValue{}
			for _, r := range rows {
				got[r.RequestID] = append(got[r.RequestID], r)
			}
			compareServed(t, cases, got)
			// One partition per operation and hour of request time.
			keys, err := offline.DirStore{Dir: dir}.List(context.Background(), "served/")
			if err != nil {
				t.Fatal(err)
			}
			parts := map[string]bool{}
			for _, k := range keys {
				parts[k[:strings.LastIndexByte(k, '/')]] = true
			}
			for _, p := range []string{"served/operation=Home/date=2026-12-06/hour=10", "served/operation=_anonymous/date=2026-12-06/hour=13", "served/operation=Feed/date=2026-12-06/hour=12"} {
				if !parts[p] {
					t.Errorf("no file under %s (files: %v)", p, keys)
				}
			}
			if len(parts) != 10 { // 3 operations × hours 11, 12, 13, and hour 10 of Home (the first request and the wide one)
				t.Errorf("%d partitions, want 10: %v", len(parts), parts)
			}
		})
	}
	t.Run("rows", func(t *testing.T) {
		sink := &rowsSink{rows: map[string][]offline.ServedValue{}}
		l := offline.NewServedLog(reg, sink, offline.ServedConfig{FlushInterval: time.Hour})
		for _, c := range cases {
			c.log(l)
		}
		if err := l.Close(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		compareServed(t, cases, sink.rows)
	})
}

func compareServed(t *testing.T, cases []*servedCase, got map[string][]offline.ServedValue) {
	t.Helper()
	for _, c := range cases {
		g := got[c.id]
		if len(g) != len(c.want) {
			t.Errorf("request %s: %d rows, want %d", c.id, len(g), len(c.want))
			continue
		}
		for i := range g {
			if !equalServed(g[i], c.want[i]) {
				t.Errorf("request %s row %d:\n got %s\nwant %s", c.id, i, fmtServed(g[i]), fmtServed(c.want[i]))
				break
			}
		}
	}
}

func equalServed(a, b offline.ServedValue) bool {
	ta, tb := a.Time, b.Time
	ea, eb := a.EventTime, b.EventTime
	va, vb := a.ValueTime, b.ValueTime
	a.Time, b.Time, a.EventTime, b.EventTime, a.ValueTime, b.ValueTime = time.Time{}, time.Time{}, nil, nil, nil, nil
	return ta.Equal(tb) && eqTime(ea, eb) && eqTime(va, vb) && reflect.DeepEqual(a, b)
}

func eqTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func fmtServed(v offline.ServedValue) string {
	s := fmt.Sprintf("%s %s %s %s %s/%s/%s %s %s %s %s", v.RequestID, v.Time.Format(time.RFC3339Nano), v.Client, v.Operation, v.OperationHash, v.Fingerprint, v.Entity, v.EntityID, v.Feature, v.ValueType, v.Status)
	opt := func(name string, p any) {
		rv := reflect.ValueOf(p)
		if !rv.IsNil() {
			s += fmt.Sprintf(" %s=%v", name, rv.Elem().Interface())
		}
	}
	opt("event_time", v.EventTime)
	opt("int", v.ValueInt)
	opt("float", v.ValueFloat)
	opt("string", v.ValueString)
	opt("bool", v.ValueBool)
	opt("time", v.ValueTime)
	opt("json", v.ValueJSON)
	opt("error", v.Error)
	return s
}
