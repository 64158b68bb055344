package offline_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// TestServedParquetLargePages: requests of thousands of rows each (pages of hundreds of KB)
// read back by parquet-go into the rows worked out here from the inputs — integer columns
// delta-packed at every width (equal event times: 0 bits; random int64s over the whole range:
// 64 bits and wrapping deltas; small and negative values), nulls between the values (absent
// values, defaults), every value type — and each column chunk stored with the codec its data
// says: floats that repeat and strings Snappy-compressed (halved at least), random floats,
// integers and booleans left uncompressed.
func TestServedParquetLargePages(t *testing.T) {
	reg, err := registry.Parse(map[string][]byte{"f.yaml": []byte(`
entities:
  user: {prefix: u}
servedLog: {}
features:
  user:
    n_const: {featureType: static, type: Int}
    n_wide: {featureType: static, type: Int}
    n_small: {featureType: static, type: Int, defaultValue: -3}
    x_rand: {featureType: static, type: Float}
    x_few: {featureType: static, type: Float}
    s: {featureType: static, type: String}
    b: {featureType: static, type: Boolean}
    tm: {featureType: static, type: Time}
`)})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(22, 7))
	base := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	// Each operation is its own file; its reads, by feature, decide what its columns hold.
	ops := map[string][]string{
		"Random": {"n_wide", "x_rand"},            // incompressible: 64-bit deltas, random floats
		"Repeat": {"n_const", "x_few", "s"},       // compressible: 0-bit deltas, 4 floats, few strings
		"Mixed":  {"n_small", "x_few", "b", "tm"}, // small and negative ints, defaults, booleans, times
	}
	value := func(name string) store.Value {
		switch name {
		case "n_const":
			return store.IntValue(42)
		case "n_wide":
			switch rng.IntN(10) {
			case 0:
				return store.IntValue(math.MinInt64)
			case 1:
				return store.IntValue(math.MaxInt64)
			}
			return store.IntValue(int64(rng.Uint64()))
		case "n_small":
			return store.IntValue(int64(rng.IntN(200)) - 100)
		case "x_rand":
			return store.FloatValue(rng.NormFloat64() * 1e6)
		case "x_few":
			return store.FloatValue([]float64{0, 0.5, 1, 36.6}[rng.IntN(4)])
		case "s":
			return store.StringValue(fmt.Sprintf("segment-%d", rng.IntN(8)))
		case "b":
			return store.BoolValue(rng.IntN(2) == 0)
		}
		return store.TimeValue(base.Add(-time.Duration(rng.Int64N(1e15))))
	}
	dir := t.TempDir()
	l := offline.NewServedLog(reg, offline.NewServedParquetSink(offline.DirStore{Dir: dir}), offline.ServedConfig{Buffer: 1 << 30, FlushInterval: time.Hour})
	want := map[string][]offline.ServedValue{}
	var values int
	for i, op := range []string{"Random", "Repeat", "Mixed", "Random", "Repeat", "Mixed"} {
		id := fmt.Sprintf("req-%d", i)
		r := l.Request(id, base.Add(time.Duration(i)*time.Second))
		r.Operation, r.OperationHash = op, "h"
		q := store.StaticQuery{Prefix: "u", Features: ops[op]}
		for k := range 16000 / len(q.Features) {
			q.IDs = append(q.IDs, fmt.Sprint(i*100000+k))
		}
		out := make([]store.StaticValue, q.Len())
		for e, uid := range q.IDs {
			for j, name := range q.Features {
				sv := store.StaticValue{Value: value(name), TS: 1700000000000}
				if op == "Random" || op == "Mixed" {
					sv.TS += rng.Int64N(1e12) - 5e11
				}
				if rng.IntN(7) == 0 {
					sv = store.StaticValue{}
				}
				out[e*len(q.Features)+j] = sv
				want[id] = append(want[id], servedRow(reg, id, op, uid, name, sv, base.Add(time.Duration(i)*time.Second), l.Fingerprint()))
			}
		}
		r.AppendStatic(q, out, nil)
		values += len(out)
		l.Log(r)
	}
	if err := l.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if l.Dropped() != 0 || l.ShippedValues() != int64(values) {
		t.Fatalf("dropped %d, shipped %d values, want %d", l.Dropped(), l.ShippedValues(), values)
	}
	checkServedRows(t, dir, want)
	// The codec and encoding of each column chunk, by operation (file).
	codecs := map[string]map[string]string{}
	keys, err := offline.DirStore{Dir: dir}.List(context.Background(), "served/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		body, err := offline.DirStore{Dir: dir}.Get(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		op := strings.TrimPrefix(strings.Split(k, "/")[1], "operation=")
		codecs[op] = map[string]string{}
		for _, c := range f.Metadata().RowGroups[0].Columns {
			var encs []string
			for _, e := range c.MetaData.Encoding {
				encs = append(encs, e.String())
			}
			codecs[op][c.MetaData.PathInSchema[0]] = c.MetaData.Codec.String() + " " + strings.Join(encs, ",")
		}
	}
	for _, c := range []struct{ op, column, want string }{
		{"Random", "value_int", format.Uncompressed.String() + " RLE,DELTA_BINARY_PACKED"},
		{"Random", "event_time", format.Uncompressed.String() + " RLE,DELTA_BINARY_PACKED"},
		{"Random", "value_float", format.Uncompressed.String() + " RLE,PLAIN"},
		{"Repeat", "value_float", format.Snappy.String() + " RLE,PLAIN"},
		{"Repeat", "value_string", format.Snappy.String() + " RLE,PLAIN"},
		{"Repeat", "feature", format.Snappy.String() + " PLAIN,RLE,RLE_DICTIONARY"},
		{"Mixed", "value_time", "* RLE,DELTA_BINARY_PACKED"},
		{"Mixed", "value_int", format.Uncompressed.String() + " RLE,DELTA_BINARY_PACKED"}, // random 8-bit deltas
		{"Mixed", "value_bool", format.Uncompressed.String() + " RLE,PLAIN"},              // random bits
	} {
		got := codecs[c.op][c.column]
		if rest, ok := strings.CutPrefix(c.want, "* "); ok && strings.HasSuffix(got, " "+rest) {
			continue
		}
		if got != c.want {
			t.Errorf("%s %s: %q, want %q", c.op, c.column, got, c.want)
		}
	}
}

// servedRow is the row of one static value read, worked out from the registry.
func servedRow(reg *registry.Registry, reqID, op, id, name string, sv store.StaticValue, t time.Time, fp string) offline.ServedValue {
	f := reg.Entity("user").Feature(name)
	row := offline.ServedValue{RequestID: reqID, Time: t, Operation: op, OperationHash: "h", Fingerprint: fp,
		Entity: "user", EntityID: id, Feature: name, ValueType: string(f.Type), Status: "present"}
	v := sv.Value
	switch {
	case v.Kind == store.Absent && f.Default.Kind != store.Absent:
		row.Status, v = "default", f.Default
	case v.Kind == store.Absent:
		row.Status = "absent"
		return row
	default:
		et := time.UnixMilli(sv.TS).UTC()
		row.EventTime = &et
	}
	switch f.Type {
	case registry.Int:
		n := v.Num
		row.ValueInt = &n
	case registry.Float:
		x := v.Float
		row.ValueFloat = &x
	case registry.String:
		s := v.Str
		row.ValueString = &s
	case registry.Boolean:
		b := v.Bool()
		row.ValueBool = &b
	case registry.Time:
		tm := v.Time()
		row.ValueTime = &tm
	}
	return row
}

// TestServedParquetWideReads: reads of many features — their feature and value_type indexes
// bit-packed from each read's pattern repeated id after id (every index width from 1 to 7
// bits; reads of one feature set after another; patterns whose packed bits are not whole
// words) — and reads of few features among them (the row-by-row encoding) read back by
// parquet-go into the rows worked out here.
func TestServedParquetWideReads(t *testing.T) {
	var yaml strings.Builder
	yaml.WriteString("entities:\n  user: {prefix: u}\nservedLog: {}\nfeatures:\n  user:\n")
	var names []string
	for i := range 100 {
		typ := []string{"Int", "Float", "String"}[i%3]
		name := fmt.Sprintf("w%03d", i)
		fmt.Fprintf(&yaml, "    %s: {featureType: static, type: %s}\n", name, typ)
		names = append(names, name)
	}
	reg, err := registry.Parse(map[string][]byte{"f.yaml": []byte(yaml.String())})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(50, 5))
	base := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	l := offline.NewServedLog(reg, offline.NewServedParquetSink(offline.DirStore{Dir: dir}), offline.ServedConfig{Buffer: 1 << 30, FlushInterval: time.Hour})
	want := map[string][]offline.ServedValue{}
	// Feature counts 1 to 100 (index widths 1 to 7 bits), some read twice in a row, and ids.
	for i, c := range [][2]int{{50, 100}, {50, 37}, {9, 300}, {3, 20}, {100, 250}, {17, 130}, {2, 5}, {64, 40}, {64, 7}, {33, 200}, {8, 90}, {1, 3}, {77, 150}, {50, 333}} {
		nf := c[0]
		id := fmt.Sprintf("req-%d", i)
		r := l.Request(id, base)
		r.Operation, r.OperationHash = "Wide", "h"
		start := rng.IntN(len(names) - nf + 1)
		q := store.StaticQuery{Prefix: "u", Features: names[start : start+nf]}
		for k := range c[1] {
			q.IDs = append(q.IDs, fmt.Sprint(i*1000+k))
		}
		out := make([]store.StaticValue, q.Len())
		for e, uid := range q.IDs {
			for j, name := range q.Features {
				var v store.Value
				switch reg.Entity("user").Feature(name).Type {
				case registry.Int:
					v = store.IntValue(rng.Int64N(1000))
				case registry.Float:
					v = store.FloatValue(rng.Float64())
				default:
					v = store.StringValue(fmt.Sprint("s", rng.IntN(5)))
				}
				sv := store.StaticValue{Value: v, TS: 1700000000000 + rng.Int64N(1000)}
				if rng.IntN(5) == 0 {
					sv = store.StaticValue{}
				}
				out[e*nf+j] = sv
				want[id] = append(want[id], servedRow(reg, id, "Wide", uid, name, sv, base, l.Fingerprint()))
			}
		}
		r.AppendStatic(q, out, nil)
		l.Log(r)
	}
	if err := l.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	checkServedRows(t, dir, want)
}

// checkServedRows reads back every served-log file under dir and checks that each request of
// want has exactly its rows, in order.
func checkServedRows(t *testing.T, dir string, want map[string][]offline.ServedValue) {
	t.Helper()
	rows, err := offline.ReadAll[offline.ServedValue](context.Background(), offline.DirStore{Dir: dir}, "served/")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]offline.ServedValue{}
	for _, r := range rows {
		got[r.RequestID] = append(got[r.RequestID], r)
	}
	for id, w := range want {
		g := got[id]
		if len(g) != len(w) {
			t.Fatalf("request %s: %d rows, want %d", id, len(g), len(w))
		}
		for i := range g {
			if !equalServed(g[i], w[i]) {
				t.Fatalf("request %s row %d:\n got %s\nwant %s", id, i, fmtServed(g[i]), fmtServed(w[i]))
			}
		}
	}
}
