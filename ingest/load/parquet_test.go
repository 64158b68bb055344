package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// searchEvent is an action event as a Parquet group: the fields of recent_searches.
type searchEvent struct {
	Query       string `parquet:"query"`
	ResultCount int32  `parquet:"result_count"`
}

// userRow is a wide (Feast-style) row of user features, each column typed as its feature.
type userRow struct {
	UserID               int64              `parquet:"user_id"`
	EventTimestamp       time.Time          `parquet:"event_timestamp,timestamp(microsecond)"`
	OS                   *string            `parquet:"os,optional"`
	RegionID             int32              `parquet:"region_id"`
	MannerTemperature    float32            `parquet:"manner_temperature"`
	IsVerified           bool               `parquet:"is_verified"`
	LastActiveAt         time.Time          `parquet:"last_active_at,timestamp(millisecond)"`
	NotificationKeywords []string           `parquet:"notification_keywords,list"`
	RecentSearchQueries  []string           `parquet:"recent_search_queries,list"`
	CategoryAffinity     map[string]float64 `parquet:"category_affinity"`
	Settings             *string            `parquet:"settings,optional"`
	RecentSearches       *searchEvent       `parquet:"recent_searches,optional"`
	RecentPurchases      []purchaseEvent    `parquet:"recent_purchases,list"`
}

// purchaseEvent is an event of recent_purchases; a LIST of them is several events.
type purchaseEvent struct {
	ArticleID int64 `parquet:"article_id"`
	Price     int64 `parquet:"price"`
}

// longRow is the long layout: one feature value a row, as in CSV files.
type longRow struct {
	Entity    string `parquet:"entity"`
	ID        string `parquet:"id"`
	Feature   string `parquet:"feature"`
	Value     string `parquet:"value"`
	Timestamp int64  `parquet:"timestamp"`
}

func writeParquet[T any](t *testing.T, path string, rows []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if path != "" {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func ptr[T any](v T) *T { return &v }

var eventTime = time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC)

// userRows are two users: every type of the registry in user 1; user 2 has null cells (nothing
// written) and a settings cell that is not JSON (that cell rejects the row, the others load).
func userRows() []userRow {
	return []userRow{{
		UserID: 1, EventTimestamp: eventTime, OS: ptr("ios"), RegionID: 6, MannerTemperature: 40.5, IsVerified: true,
		LastActiveAt: eventTime.Add(-time.Hour), NotificationKeywords: []string{"lego", "camping", "lego"},
		RecentSearchQueries: []string{"b", "a"}, CategoryAffinity: map[string]float64{"toys": 0.5, "books": 0.25},
		Settings: ptr(`{"push": true}`), RecentSearches: &searchEvent{Query: "lego", ResultCount: 3},
		RecentPurchases: []purchaseEvent{{ArticleID: 101, Price: 5000}, {ArticleID: 102, Price: 7000}},
	}, {
		UserID: 2, EventTimestamp: eventTime.Add(time.Minute), RegionID: 7, MannerTemperature: 36.5,
		LastActiveAt: eventTime, Settings: ptr(`{not json`),
	}}
}

// storedValue is a stored static value in its canonical Go form.
type storedValue struct {
	Value any
	TS    int64
}

func (f *fixture) static(t *testing.T, prefix, id, feature string) (storedValue, bool) {
	t.Helper()
	out := make([]store.StaticValue, 1)
	if err := f.mem.ReadStatic(context.Background(), store.StaticQuery{Prefix: prefix, IDs: []string{id}, Features: []string{feature}}, out); err != nil {
		t.Fatal(err)
	}
	return storedValue{registry.CanonicalOf(out[0].Value), out[0].TS}, out[0].Kind != store.Absent
}

func TestLoadParquetWideTypedColumns(t *testing.T) {
	f := newFixture(t, load.Config{Parquet: load.ParquetConfig{Entity: "user"}})
	p := filepath.Join(f.dir, "user_features.parquet")
	writeParquet(t, p, userRows())
	sum, err := f.l.LoadFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	// user 1: 10 features written, 2 purchase events; user 2: region_id, manner_temperature,
	// is_verified, last_active_at and the empty lists and map (empty values, not nulls) written,
	// settings rejected, no purchase (an empty list).
	if sum.Format != load.Parquet || sum.Records != 2 || sum.Rejected != 1 || sum.Events != 1 || sum.Written != 12+7 {
		t.Errorf("summary %+v", sum)
	}
	ts := eventTime.UnixMilli()
	for _, c := range []struct {
		feature string
		want    any
	}{
		{"os", "ios"},
		{"region_id", int64(6)},
		{"manner_temperature", 40.5},
		{"is_verified", true},
		{"last_active_at", eventTime.Add(-time.Hour)},
		{"notification_keywords", []any{"camping", "lego"}}, // a set: sorted, without repeats
		{"recent_search_queries", []any{"b", "a"}},          // a list: as given
		{"category_affinity", map[string]any{"books": 0.25, "toys": 0.5}},
		{"settings", json.RawMessage(`{"push":true}`)}, // JSON text, compacted
	} {
		v, ok := f.static(t, "u", "1", c.feature)
		if !ok {
			t.Errorf("user 1 %s: not stored", c.feature)
			continue
		}
		if !reflect.DeepEqual(v.Value, c.want) || v.TS != ts {
			t.Errorf("user 1 %s = %#v at %d, want %#v at %d", c.feature, v.Value, v.TS, c.want, ts)
		}
	}
	evs, err := f.mem.ReadActions(context.Background(), []store.ActionQuery{{Key: store.Key{Prefix: "u", ID: "1", Feature: "recent_searches"}, Count: 10}})
	if err != nil {
		t.Fatal(err)
	}
	for _, es := range evs {
		if len(es) != 1 || es[0].TS != ts || !strings.Contains(es[0].Member, `"query":"lego"`) || !strings.Contains(es[0].Member, `"result_count":3`) {
			t.Errorf("user 1 recent_searches = %+v", es)
		}
	}
	evs, err = f.mem.ReadActions(context.Background(), []store.ActionQuery{{Key: store.Key{Prefix: "u", ID: "1", Feature: "recent_purchases"}, Count: 10}})
	if err != nil {
		t.Fatal(err)
	}
	for _, es := range evs {
		if len(es) != 2 || !strings.Contains(es[0].Member+es[1].Member, `"article_id":101`) || !strings.Contains(es[0].Member+es[1].Member, `"price":7000`) {
			t.Errorf("user 1 recent_purchases = %+v", es)
		}
	}
	if _, ok := f.static(t, "u", "2", "os"); ok {
		t.Error("user 2 os is null in the file: nothing must be written")
	}
	if v, ok := f.static(t, "u", "2", "region_id"); !ok || v.Value != int64(7) {
		t.Errorf("user 2 region_id = %+v, %v", v, ok)
	}
	if _, ok := f.static(t, "u", "2", "settings"); ok {
		t.Error("user 2 settings is not JSON: must not be stored")
	}
	rej := readRejects(t, sum.RejectsPath)
	if len(rej) != 1 || rej[0]["line"] != 2.0 || rej[0]["reason"] != "conversion" || !strings.Contains(rej[0]["error"].(string), "column settings") {
		t.Fatalf("rejects %+v", rej)
	}
	if rec := rej[0]["record"].(map[string]any); rec["user_id"] != 2.0 || rec["settings"] != "{not json" {
		t.Errorf("the rejected record should be the row: %+v", rec)
	}
}

func TestLoadParquetColumnMapping(t *testing.T) {
	type row struct {
		UID      string    `parquet:"uid"`
		DeviceOS string    `parquet:"device_os"`
		Region   int64     `parquet:"region"`
		Created  time.Time `parquet:"created_timestamp,timestamp(millisecond)"`
		When     time.Time `parquet:"ts,timestamp(millisecond)"`
	}
	rows := []row{{UID: "5", DeviceOS: "android", Region: 3, Created: eventTime, When: eventTime}}
	f := newFixture(t, load.Config{Parquet: load.ParquetConfig{Entity: "user"}})
	p := filepath.Join(f.dir, "mapped.parquet")
	writeParquet(t, p, rows)
	// By name: created_timestamp and device_os are no features, and there is no id column.
	if _, err := f.l.LoadFile(context.Background(), p); err == nil || !strings.Contains(err.Error(), "no id column") {
		t.Fatalf("want a missing id column error, got %v", err)
	}
	cols, err := load.ParseColumns("device_os=os, region=region_id")
	if err != nil {
		t.Fatal(err)
	}
	f = newFixture(t, load.Config{Parquet: load.ParquetConfig{Entity: "user", IDColumn: "uid", TimestampColumn: "ts"}})
	p = filepath.Join(f.dir, "mapped.parquet")
	writeParquet(t, p, rows)
	if _, err := f.l.LoadFile(context.Background(), p); err == nil || !strings.Contains(err.Error(), "device_os, region, created_timestamp") || !strings.Contains(err.Error(), "--columns") {
		t.Fatalf("unknown columns must be named with the fix, got %v", err)
	}
	f = newFixture(t, load.Config{Parquet: load.ParquetConfig{Entity: "user", IDColumn: "uid", TimestampColumn: "ts", Columns: cols}})
	p = filepath.Join(f.dir, "mapped.parquet")
	writeParquet(t, p, rows)
	sum, err := f.l.LoadFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 2 || sum.Rejected != 0 {
		t.Errorf("summary %+v", sum)
	}
	if v, ok := f.static(t, "u", "5", "os"); !ok || v.Value != "android" || v.TS != eventTime.UnixMilli() {
		t.Errorf("os = %+v, %v", v, ok)
	}
	if v, ok := f.static(t, "u", "5", "region_id"); !ok || v.Value != int64(3) {
		t.Errorf("region_id = %+v, %v", v, ok)
	}
	if _, err := load.ParseColumns("a=b,a=c"); err == nil {
		t.Error("a column mapped twice must be an error")
	}
}

func TestLoadParquetLongLayoutAndErrors(t *testing.T) {
	f := newFixture(t, load.Config{})
	p := filepath.Join(f.dir, "values.parquet")
	writeParquet(t, p, []longRow{
		{Entity: "user", ID: "9", Feature: "os", Value: "ios", Timestamp: eventTime.UnixMilli()},
		{Entity: "user", ID: "9", Feature: "notification_keywords", Value: `["a","b"]`, Timestamp: eventTime.UnixMilli()},
		{Entity: "user", ID: "9", Feature: "nope", Value: "x", Timestamp: eventTime.UnixMilli()},
	})
	sum, err := f.l.LoadFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 3 || sum.Written != 2 || sum.Rejected != 1 {
		t.Errorf("summary %+v", sum)
	}
	if v, ok := f.static(t, "u", "9", "notification_keywords"); !ok || !reflect.DeepEqual(v.Value, []any{"a", "b"}) {
		t.Errorf("notification_keywords = %+v, %v", v, ok)
	}
	// A wide file without --entity says what to give.
	p = filepath.Join(f.dir, "wide.parquet")
	writeParquet(t, p, userRows())
	if _, err := f.l.LoadFile(context.Background(), p); err == nil || !strings.Contains(err.Error(), "--entity") {
		t.Errorf("wide without entity: %v", err)
	}
	if _, err := f.l.Load(context.Background(), strings.NewReader("PAR1"), "stdin", load.Parquet); err == nil || !strings.Contains(err.Error(), "not from a stream") {
		t.Errorf("parquet from a stream: %v", err)
	}
	if _, _, err := load.FormatOf("x.parquet.gz"); err == nil {
		t.Error("a gzipped Parquet file must be an error")
	}
}
