package load_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var now = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

type fixture struct {
	reg   *registry.Registry
	mem   *memory.Store
	flaky *ingesttest.Flaky
	l     *load.Loader
	dir   string
}

func newFixture(t *testing.T, cfg load.Config) *fixture {
	t.Helper()
	reg := ingesttest.Registry(t)
	mem := memory.New()
	fl := &ingesttest.Flaky{Writer: mem}
	w, err := ingest.NewWriter(fl, ingest.WriterConfig{Linger: time.Millisecond, CallTimeout: 20 * time.Millisecond,
		Backoff: ingest.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		w.Close(ctx)
	})
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = 3 // many chunks even for small files
	}
	l, err := load.New(ingest.NewDispatcher(reg, ingest.WithClock(func() time.Time { return now })), w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{reg: reg, mem: mem, flaky: fl, l: l, dir: t.TempDir()}
}

func (f *fixture) file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readRejects(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("rejects line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestLoadDemoEvents(t *testing.T) {
	src, err := os.ReadFile(ingesttest.DemoEventsPath())
	if err != nil {
		t.Skip("features/demo/events.jsonl not there yet")
	}
	f := newFixture(t, load.Config{})
	lines := strings.Count(string(src), "\n")
	// A bad line in the middle; the rest must load.
	content := string(src) + "this is not json\n\n" + `{"topic":"user_cdc","event":{"event_name":"user_updated","user_id":"x","updated_at":1}}` + "\n"
	p := f.file(t, "events.jsonl", content)
	sum, err := f.l.LoadFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != int64(lines+2) || sum.Rejected != 2 || sum.RejectsPath != p+".rejected.jsonl" || sum.Format != load.JSONL {
		t.Errorf("summary %+v", sum)
	}
	if sum.Events+sum.Unrouted+sum.Rejected != sum.Records {
		t.Errorf("events %d + unrouted %d + rejected %d != records %d", sum.Events, sum.Unrouted, sum.Rejected, sum.Records)
	}
	rej := readRejects(t, sum.RejectsPath)
	if len(rej) != 2 {
		t.Fatalf("rejects: %v", rej)
	}
	byLine := map[float64]map[string]any{}
	for _, r := range rej {
		byLine[r["line"].(float64)] = r
	}
	if r := byLine[float64(lines+1)]; r == nil || r["reason"] != "malformed" || r["record"] != "this is not json" {
		t.Errorf("bad JSON line reject: %v", byLine)
	}
	if r := byLine[float64(lines+3)]; r == nil || r["reason"] != "conversion" || !strings.Contains(r["error"].(string), `entity id "user_id"`) {
		t.Errorf("bad id reject: %v", byLine)
	}

	// What the demo events must produce, checked by hand for a few keys.
	dump := ingesttest.Dump(t, f.mem, f.reg, map[string][]string{"user": {"1", "2"}, "article": {"102"}})
	for _, want := range []string{
		`u#1#os = "ios" @2026-10-10T12:01:00Z`,
		`u#1#region_id = 6 @2026-10-10T12:01:00Z`,
		`u#1#settings = {"language":"ko","push":true,"theme":"dark"} @2026-10-11T10:00:00Z`,
		`u#1#category_affinity = {"digital":0.82,"sports":0.64,"toys":0.31} @2026-10-14T03:00:00Z`,
		`c:flea#102#price = 280000 @2026-10-12T08:00:00Z`,
	} {
		found := false
		for _, d := range dump {
			found = found || d == want
		}
		if !found {
			t.Errorf("store lacks %s\nhave %s", want, strings.Join(dump, "\n     "))
		}
	}
}

func TestLoadCSV(t *testing.T) {
	f := newFixture(t, load.Config{})
	csvText := "Entity,ID,Feature,Value,Timestamp\n" +
		"user,5,os,ios,2026-10-01T00:00:00Z\n" +
		"user,5,region_id,12,1760000000\n" +
		"user,5,notification_keywords,\"[\"\"lego\"\",\"\"bike\"\"]\",\n" +
		"user,5,category_affinity,\"{\"\"toys\"\": 0.5}\",1760000000000\n" +
		"user,5,settings,\"{\"\"dark\"\": true}\",1760000000\n" +
		"user,5,region_id,twelve,1760000000\n" + // bad value
		"user,5,recent_clicked_articles,\"{\"\"article_id\"\": 101, \"\"source\"\": \"\"feed\"\"}\",2026-10-02T00:00:00Z\n" +
		"user,5,os\n" + // wrong field count
		"shop,1,os,ios,1\n" + // unknown entity
		"article,101,price,1000,2026-10-01T00:00:00Z\n"
	p := f.file(t, "values.csv", csvText)
	sum, err := f.l.LoadFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 10 || sum.Rejected != 3 || sum.Events != 7 || sum.Written != 7 || sum.Format != load.CSV {
		t.Errorf("summary %+v", sum)
	}
	dump := ingesttest.Dump(t, f.mem, f.reg, map[string][]string{"user": {"5"}, "article": {"101"}})
	want := []string{
		`c:flea#101#price = 1000 @2026-10-01T00:00:00Z`,
		`u#5#category_affinity = {"toys":0.5} @2025-10-09T08:53:20Z`,
		`u#5#notification_keywords = ["bike","lego"] @2026-11-01T00:00:00Z`, // no timestamp: load time
		`u#5#os = "ios" @2026-10-01T00:00:00Z`,
		`u#5#recent_clicked_articles = [2026-10-02T00:00:00Z {"article_id":101,"source":"feed"}]`,
		`u#5#region_id = 12 @2025-10-09T08:53:20Z`,
		`u#5#settings = {"dark":true} @2025-10-09T08:53:20Z`,
	}
	if !reflect.DeepEqual(dump, want) {
		t.Errorf("store\n got %s\nwant %s", strings.Join(dump, "\n     "), strings.Join(want, "\n     "))
	}
	rej := readRejects(t, sum.RejectsPath)
	got := map[float64]string{}
	for _, r := range rej {
		got[r["line"].(float64)] = r["reason"].(string) + ": " + r["error"].(string)
	}
	for line, wantErr := range map[float64]string{
		7:  `conversion: user.region_id: value: want Int, got "twelve"`,
		9:  "malformed",
		10: `conversion: shop.os: entity: unknown entity "shop"`,
	} {
		if !strings.HasPrefix(got[line], wantErr) {
			t.Errorf("line %v rejected as %q, want %q", line, got[line], wantErr)
		}
	}
	for _, r := range rej {
		switch r["line"].(float64) {
		case 7:
			if rec, ok := r["record"].(map[string]any); !ok || rec["value"] != "twelve" {
				t.Errorf("CSV reject does not carry the row: %v", r)
			}
		case 9:
			if rec, ok := r["record"].([]any); !ok || len(rec) != 3 {
				t.Errorf("CSV reject does not carry the fields: %v", r)
			}
		}
	}
}

func TestLoadJSONLValuesGzipAndProgress(t *testing.T) {
	var progress bytes.Buffer
	f := newFixture(t, load.Config{Progress: &progress, RejectsPath: filepath.Join(t.TempDir(), "rej.jsonl")})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, `{"entity":"user","id":8,"feature":"os","value":"web","timestamp":"2026-10-01T00:00:00Z"}
{"entity":"user","id":"8","feature":"recent_searches","value":{"query":"lamp","result_count":3},"timestamp":1760000000}
{"streamName":"app_events","topic":"user_cdc","subTopic":"manner_updated","event":{"user_id":8,"temperature":37,"updated_at":1760000000}}
{"entity":"user","id":8,"feature":"os","value":"web","colour":"red"}
{"something":"else"}
`)
	zw.Close()
	p := f.file(t, "mixed.jsonl.gz", buf.String())
	sum, err := f.l.LoadFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 5 || sum.Events != 3 || sum.Rejected != 2 || !strings.HasSuffix(sum.RejectsPath, "rej.jsonl") {
		t.Errorf("summary %+v", sum)
	}
	dump := ingesttest.Dump(t, f.mem, f.reg, map[string][]string{"user": {"8"}})
	want := []string{
		`u#8#manner_temperature = 37 @2025-10-09T08:53:20Z`,
		`u#8#os = "web" @2026-10-01T00:00:00Z`,
		`u#8#recent_searches = [2025-10-09T08:53:20Z {"query":"lamp","result_count":3}]`,
	}
	if !reflect.DeepEqual(dump, want) {
		t.Errorf("store\n got %s\nwant %s", strings.Join(dump, "\n     "), strings.Join(want, "\n     "))
	}
	rej := readRejects(t, sum.RejectsPath)
	if len(rej) != 2 || !strings.Contains(rej[0]["error"].(string)+rej[1]["error"].(string), `"colour": unknown key`) {
		t.Errorf("rejects %v", rej)
	}
	if out := progress.String(); !strings.Contains(out, "mixed.jsonl.gz") || !strings.Contains(out, "5 records") || !strings.HasSuffix(out, "\n") {
		t.Errorf("progress output %q", out)
	}
	if !strings.Contains(sum.String(), "5 records read") {
		t.Errorf("summary text %q", sum.String())
	}
}

func TestLoadErrors(t *testing.T) {
	f := newFixture(t, load.Config{})
	ctx := context.Background()
	if _, err := f.l.LoadFile(ctx, filepath.Join(f.dir, "missing.jsonl")); err == nil {
		t.Error("missing file loaded")
	}
	if _, err := f.l.LoadFile(ctx, f.file(t, "x.parquet", "PAR1")); err == nil || !strings.Contains(err.Error(), "not a readable Parquet file") {
		t.Errorf("parquet: %v", err)
	}
	if _, err := f.l.LoadFile(ctx, f.file(t, "bad.csv", "entity,id,feature,valu\n")); err == nil || !strings.Contains(err.Error(), `unknown column "valu"`) {
		t.Errorf("bad header: %v", err)
	}
	if _, err := f.l.LoadFile(ctx, f.file(t, "noext", "{}")); err == nil || !strings.Contains(err.Error(), "no extension") {
		t.Errorf("no extension: %v", err)
	}
	sum, err := f.l.LoadFile(ctx, f.file(t, "clean.jsonl", `{"entity":"user","id":1,"feature":"os","value":"ios"}`+"\n"))
	if err != nil || sum.RejectsPath != "" || sum.Written != 1 {
		t.Errorf("clean load: %+v %v", sum, err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "clean.jsonl.rejected.jsonl")); !os.IsNotExist(err) {
		t.Error("a clean load left a rejects file")
	}

	// The store is down past the deadline: the load stops with an error; nothing is lost that
	// it said was written.
	f.flaky.Down.Store(true)
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	sum, err = f.l.LoadFile(dctx, f.file(t, "down.jsonl", `{"entity":"user","id":2,"feature":"os","value":"ios"}`+"\n"))
	if err == nil || sum.Written != 0 {
		t.Errorf("store down: %+v %v", sum, err)
	}
	f.flaky.Down.Store(false)

	sum, err = f.l.Load(ctx, strings.NewReader("entity,id,feature,value\nuser,3,os,web\n"), "stdin", load.CSV)
	if err != nil || sum.Written != 1 {
		t.Errorf("Load from a reader: %+v %v", sum, err)
	}
	k := store.Key{Prefix: "u", ID: "3", Feature: "os"}
	if got, _ := store.ReadKey(ctx, f.mem, k); got.Kind != store.String || got.Str != "web" {
		t.Errorf("stdin value: %v", got)
	}
}

func TestFormat(t *testing.T) {
	for name, want := range map[string]load.Format{"a.jsonl": load.JSONL, "a.NDJSON": load.JSONL, "b.csv.gz": load.CSV, "x/y.json": load.JSONL} {
		if got, _, err := load.FormatOf(name); got != want || err != nil {
			t.Errorf("FormatOf(%s) = %q, %v", name, got, err)
		}
	}
	if _, err := load.ParseFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
	if err := (load.Config{Format: "xml", Concurrency: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "Concurrency") {
		t.Errorf("Validate: %v", err)
	}
}
