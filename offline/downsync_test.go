package offline_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/store"
)

// TestSampledRatioAndStability: the share of entities kept is the ratio within 1.5% over 20000
// ids, the same ids are kept on every call, and a lower ratio keeps a subset of a higher one's.
func TestSampledRatioAndStability(t *testing.T) {
	const n = 20000
	for _, ratio := range []float64{0.01, 0.1, 0.5, 0.9} {
		kept := 0
		for i := range n {
			id := strconv.Itoa(i)
			in := offline.Sampled("u", id, ratio)
			if in {
				kept++
			}
			if offline.Sampled("u", id, ratio) != in {
				t.Fatalf("ratio %v: id %s sampled differently on a second call", ratio, id)
			}
			if in && !offline.Sampled("u", id, min(1, ratio*2)) {
				t.Fatalf("id %s kept at ratio %v but not at %v", id, ratio, ratio*2)
			}
		}
		got := float64(kept) / n
		if d := got - ratio; d > 0.015 || d < -0.015 {
			t.Errorf("ratio %v: kept %.4f of the ids", ratio, got)
		}
	}
	if offline.Sampled("u", "1", 0) || !offline.Sampled("u", "1", 1) {
		t.Error("ratios 0 and 1 must keep nothing and everything")
	}
}

// memAppender collects rows.
type memAppender struct{ rows []offline.Row }

func (m *memAppender) Append(_ context.Context, rows []offline.Row) error {
	m.rows = append(m.rows, rows...)
	return nil
}

// TestDownsyncRows: typed columns, sampling by entity, features with downsync off left out,
// minIntervalByKey by event time, the fingerprint and the source on every row.
func TestDownsyncRows(t *testing.T) {
	reg := testRegistry(t, 1)
	reg.Entity("user").Feature("score").Downsync.MinIntervalByKey = time.Minute
	app := &memAppender{}
	d := offline.NewDownsync(reg, app)
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC).UnixMilli()
	score := func(id string, ts int64, v int64) store.StaticWrite {
		return store.StaticWrite{Key: store.Key{Prefix: "u", ID: id, Feature: "score"}, Value: store.IntValue(v), TS: ts}
	}
	writes := []ingest.Stored{{Source: "kafka:activity/0/7",
		Static: []store.StaticWrite{
			score("1", t0, 10),
			score("1", t0+30_000, 11), // within a minute of the kept one: throttled
			score("1", t0+60_000, 12),
			{Key: store.Key{Prefix: "u", ID: "1", Feature: "tier"}, Value: store.StringValue("gold"), TS: t0}, // downsync off
		},
		Actions: []store.ActionWrite{{Key: store.Key{Prefix: "u", ID: "1", Feature: "clicks"}, TS: t0, Member: `{"_t":` + strconv.FormatInt(t0, 10) + `,"item":5}`}},
	}}
	if err := d.Stored(context.Background(), writes); err != nil {
		t.Fatal(err)
	}
	if len(app.rows) != 3 {
		t.Fatalf("got %d rows, want 3: %+v", len(app.rows), app.rows)
	}
	r := app.rows[0]
	if r.Entity != "user" || r.EntityID != "1" || r.Feature != "score" || r.ValueInt == nil || *r.ValueInt != 10 ||
		r.ValueType != "Int" || r.Source != "kafka:activity/0/7" || r.Fingerprint == "" || !r.EventTime.Equal(time.UnixMilli(t0)) {
		t.Errorf("static row %+v", r)
	}
	if got := r.Partition(); got != "downsync/entity=user/feature=score/date=2026-12-06/hour=09" {
		t.Errorf("partition %q", got)
	}
	if a := app.rows[2]; a.Feature != "clicks" || a.ValueJSON == nil || *a.ValueJSON != `{"item":5}` {
		t.Errorf("action row %+v", a)
	}
	if s := d.Stats(); s.Kept != 3 || s.Throttled != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestSpoolRecovery: rows acknowledged by a spool whose process died before shipping them
// (segments left on disk, the last line torn by the crash) are shipped by the next process.
func TestSpoolRecovery(t *testing.T) {
	dir, sinkDir := t.TempDir(), t.TempDir()
	st := offline.DirStore{Dir: sinkDir}
	rows := func(from, n int) []offline.Row {
		var out []offline.Row
		for i := from; i < from+n; i++ {
			v := int64(i)
			out = append(out, offline.Row{Entity: "user", EntityID: strconv.Itoa(i), Feature: "score", ValueInt: &v,
				EventTime: time.Date(2026, 12, 6, i%3, 0, 0, 0, time.UTC)})
		}
		return out
	}
	// A first process: its sink fails (so nothing is shipped) until it "crashes".
	sp, err := offline.OpenSpool[offline.Row](offline.SpoolConfig{Dir: dir, SegmentRows: 10, Logger: quiet()}, failingSink{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := offline.OpenSpool[offline.Row](offline.SpoolConfig{Dir: dir}, failingSink{}); err == nil {
		t.Fatal("a second spool on the same directory was opened")
	}
	for i := 0; i < 25; i += 5 {
		if err := sp.Append(context.Background(), rows(i, 5)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_ = sp.Close(ctx) // gives up: the sink is down; the segments stay
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.jsonl"))
	if len(segs) != 3 {
		t.Fatalf("%d segments left, want 3", len(segs))
	}
	// The crash tore a write that was never acknowledged.
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"entity":"user","entity_id":"torn`)
	f.Close()

	sp2, err := offline.OpenSpool[offline.Row](offline.SpoolConfig{Dir: dir, Logger: quiet()}, offline.NewParquetSink[offline.Row](st))
	if err != nil {
		t.Fatal(err)
	}
	if err := sp2.Append(context.Background(), rows(25, 5)); err != nil {
		t.Fatal(err)
	}
	if err := sp2.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	got, err := offline.ReadAll[offline.Row](context.Background(), st, "downsync/")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range got {
		seen[r.EntityID]++
	}
	for i := range 30 {
		if seen[strconv.Itoa(i)] != 1 {
			t.Errorf("row %d reached the sink %d times", i, seen[strconv.Itoa(i)])
		}
	}
	if len(got) != 30 {
		t.Errorf("%d rows in the sink, want 30", len(got))
	}
	keys, _ := st.List(context.Background(), "downsync/entity=user/feature=score/date=2026-12-06/hour=01/")
	if len(keys) == 0 {
		t.Errorf("no file in the hour=01 partition")
	}
}

type failingSink struct{}

func (failingSink) Write(context.Context, []offline.Row) error { return os.ErrDeadlineExceeded }
func (failingSink) String() string                             { return "failing" }

// failOnce fails its first Append.
type failOnce struct {
	memAppender
	failed bool
}

func (f *failOnce) Append(ctx context.Context, rows []offline.Row) error {
	if !f.failed {
		f.failed = true
		return os.ErrDeadlineExceeded
	}
	return f.memAppender.Append(ctx, rows)
}

// TestDownsyncRetryKeepsRows: a call retried after a failed append keeps the rows the failed
// one would have kept (minIntervalByKey remembers only appended rows).
func TestDownsyncRetryKeepsRows(t *testing.T) {
	reg := testRegistry(t, 1)
	reg.Entity("user").Feature("score").Downsync.MinIntervalByKey = time.Hour
	app := &failOnce{}
	d := offline.NewDownsync(reg, app)
	w := []ingest.Stored{{Static: []store.StaticWrite{{Key: store.Key{Prefix: "u", ID: "1", Feature: "score"}, Value: store.IntValue(1), TS: 1000}}}}
	if err := d.Stored(context.Background(), w); err == nil {
		t.Fatal("the first append did not fail")
	}
	if err := d.Stored(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if len(app.rows) != 1 {
		t.Fatalf("%d rows after the retry, want 1", len(app.rows))
	}
	if err := d.Stored(context.Background(), w); err != nil || len(app.rows) != 1 {
		t.Fatalf("a third write within the hour: %v, %d rows", err, len(app.rows))
	}
}
