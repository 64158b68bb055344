package push_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/ingest/push"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	srv   *httptest.Server
	mem   *memory.Store
	flaky *ingesttest.Flaky
	h     *push.Handler
	w     *ingest.Writer
}

func newFixture(t *testing.T, cfg push.Config) *fixture {
	t.Helper()
	reg := ingesttest.Registry(t)
	mem := memory.New()
	fl := &ingesttest.Flaky{Writer: mem}
	w, err := ingest.NewWriter(fl, ingest.WriterConfig{Linger: time.Millisecond, CallTimeout: 20 * time.Millisecond,
		Backoff: ingest.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = quiet
	h, err := push.New(ingest.NewDispatcher(reg), w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(push.Path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		w.Close(ctx)
	})
	return &fixture{srv: srv, mem: mem, flaky: fl, h: h, w: w}
}

func (f *fixture) post(t *testing.T, body string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Post(f.srv.URL+push.Path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func decode(t *testing.T, body string) push.Response {
	t.Helper()
	var r push.Response
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	return r
}

func TestPushSingleAndBatch(t *testing.T) {
	f := newFixture(t, push.Config{})
	code, body, hdr := f.post(t, `{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated","event":{"user_id":7,"device":{"os":"ios"},"region":{"id":3},"verified":true,"updated_at":"2026-10-10T12:00:00Z"}}`)
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("single: %d %s", code, body)
	}
	if r := decode(t, body); r.Accepted != 1 || r.Rejected != 0 || !reflect.DeepEqual(r.Results, []push.Result{{Index: 0, Status: "ok", Writes: 3}}) {
		t.Errorf("single: %+v", r)
	}

	batch := `[
	  {"topic":"client_event_cleansed","event":{"event_name":"view_article_v1","user_id":7,"event_time":"2026-10-15T08:01:00Z","country_code":"kr","params":{"article_id_v1":101,"source":"feed"}}},
	  {"topic":"client_event_cleansed","event":{"event_name":"view_article_v1","user_id":7,"event_time":"2026-10-15T08:05:00Z","country_code":"kr","params":{"article_id_v1":102}}},
	  {"topic":"client_event_cleansed","event":{"event_name":"scroll","user_id":7}},
	  {"topic":"user_cdc","event":{"event_name":"user_updated","user_id":7,"device":{"os":"android"},"region":{"id":"x"},"verified":true,"updated_at":"2026-10-11T00:00:00Z"}},
	  {"topic":"user_cdc","event":"nope"},
	  {"topic":"user_cdc"},
	  42,
	  {"streamName":"app_events","topic":"user_cdc","subTopic":"manner_updated","event":{"user_id":7,"temperature":"38.5","updated_at":1760000000}}
	]`
	code, body, _ = f.post(t, batch)
	if code != http.StatusOK {
		t.Fatalf("batch: %d %s", code, body)
	}
	r := decode(t, body)
	want := []struct {
		status, err string
		writes      int
	}{
		{"ok", "", 2},
		{"ok", "", 2},
		{"unrouted", "", 0},
		// The event's other features were written: "partial", naming the feature that failed
		// (not "error", which means nothing was written).
		{"partial", `user.region_id: field "region.id": want Int, got "x"`, 2},
		{"error", "event must be a JSON object, got a string", 0},
		{"error", `envelope has no "event"`, 0},
		{"error", "must be a JSON object, got number", 0},
		{"ok", "", 1},
	}
	if len(r.Results) != len(want) || r.Accepted != 5 || r.Rejected != 3 || r.Unrouted != 1 ||
		len(r.Results[3].Failed) != 1 || r.Results[3].Failed[0] != "user.region_id" {
		t.Fatalf("batch: %s", body)
	}
	for i, w := range want {
		got := r.Results[i]
		if got.Index != i || got.Status != w.status || !strings.Contains(got.Error, w.err) || got.Writes != w.writes || (w.err == "" && got.Error != "") {
			t.Errorf("result %d: %+v, want %+v", i, got, w)
		}
	}

	if st := f.h.Stats(); st != (push.Stats{Requests: 2, Accepted: 6, Rejected: 3, Unrouted: 1, Writes: 10}) {
		t.Errorf("stats %+v", st)
	}
	// The store holds exactly what was accepted.
	dump := ingesttest.Dump(t, f.mem, ingesttest.Registry(t), map[string][]string{"user": {"7"}, "article": {"101", "102"}})
	wantDump := []string{
		`c:flea#101#recent_viewers = [2026-10-15T08:01:00Z {"user_id":7}]`,
		`c:flea#102#recent_viewers = [2026-10-15T08:05:00Z {"user_id":7}]`,
		`u#7#is_verified = true @2026-10-11T00:00:00Z`, // from the event whose region failed
		`u#7#manner_temperature = 38.5 @2025-10-09T08:53:20Z`,
		`u#7#os = "android" @2026-10-11T00:00:00Z`,
		`u#7#recent_clicked_articles = [2026-10-15T08:05:00Z {"article_id":102}] [2026-10-15T08:01:00Z {"article_id":101,"source":"feed"}]`,
		`u#7#region_id = 3 @2026-10-10T12:00:00Z`,
	}
	if !reflect.DeepEqual(dump, wantDump) {
		t.Errorf("store\n got %s\nwant %s", strings.Join(dump, "\n     "), strings.Join(wantDump, "\n     "))
	}
}

func TestPushRequestErrors(t *testing.T) {
	f := newFixture(t, push.Config{MaxBodyBytes: 2048, MaxEvents: 3})
	ev := `{"topic":"user_cdc","event":{"event_name":"manner_updated","user_id":1,"temperature":1,"updated_at":1}}`
	tests := []struct {
		name, body string
		code       int
		msg        string
	}{
		{"malformed JSON", `{"topic": "user_cdc", "event": {`, 400, "malformed JSON"},
		{"malformed JSON in a batch", "[\n" + ev + ",\n{]", 400, "line 3"},
		{"empty body", ``, 400, "empty body"},
		{"wrong shape", `"hello"`, 400, "must be a JSON object (one envelope) or an array"},
		{"empty batch", `[]`, 400, "empty batch"},
		{"too many events", "[" + strings.Repeat(ev+",", 3) + ev + "]", 413, "at most 3"},
		{"too large", `{"topic":"t","event":{"x":"` + strings.Repeat("a", 3000) + `"}}`, 413, "larger than 2048 bytes"},
		{"every event rejected", `{"topic":"user_cdc","event":{"event_name":"manner_updated","user_id":"x","temperature":1,"updated_at":1}}`, 422, `"rejected":1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := f.post(t, tt.body)
			if code != tt.code || !strings.Contains(body, tt.msg) {
				t.Errorf("%d %s, want %d containing %q", code, body, tt.code, tt.msg)
			}
		})
	}
	resp, err := http.Get(f.srv.URL + push.Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestPushStoreDown(t *testing.T) {
	f := newFixture(t, push.Config{Timeout: 100 * time.Millisecond})
	f.flaky.Down.Store(true)
	ev := `{"topic":"user_cdc","event":{"event_name":"manner_updated","user_id":9,"temperature":40,"updated_at":1760000000}}`
	code, body, hdr := f.post(t, ev)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, "backend unavailable") {
		t.Fatalf("store down: %d %s", code, body)
	}
	if st := f.h.Stats(); st.Unavailable != 1 {
		t.Errorf("stats %+v", st)
	}
	// The write was kept and lands once the store is back; a retried request is harmless.
	f.flaky.Down.Store(false)
	code, body, _ = f.post(t, ev)
	if code != http.StatusOK {
		t.Fatalf("after recovery: %d %s", code, body)
	}
	k := store.Key{Prefix: "u", ID: "9", Feature: "manner_temperature"}
	got, err := store.ReadKey(context.Background(), f.mem, k)
	if err != nil || got.Kind != store.Float || got.Float != 40.0 || got.TS != 1760000000000 {
		t.Errorf("stored %+v, %v", got, err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := push.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	err := push.Config{MaxBodyBytes: -1, MaxEvents: -1, Timeout: -1}.Validate()
	for _, want := range []string{"MaxBodyBytes", "MaxEvents", "Timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v does not name %s", err, want)
		}
	}
}

// An event that lacks one feature's path is accepted: the feature is skipped and named in the
// answer, the event's other features are written.
func TestPushSkippedFeature(t *testing.T) {
	f := newFixture(t, push.Config{})
	code, body, _ := f.post(t, `{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated","event":{"user_id":8,"region":{"id":3},"verified":true,"updated_at":"2026-10-10T12:00:00Z"}}`)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	want := []push.Result{{Index: 0, Status: "ok", Writes: 2, Skipped: []ingest.Skip{{Feature: "user.os", Path: "device.os", Reason: "missing_path"}}}}
	if r := decode(t, body); r.Accepted != 1 || r.Rejected != 0 || !reflect.DeepEqual(r.Results, want) {
		t.Errorf("got %s", body)
	}
	if !strings.Contains(body, `"skipped":[{"feature":"user.os","path":"device.os","reason":"missing_path"}]`) {
		t.Errorf("answer %s does not name the skipped feature", body)
	}
}

// TestPushAnswered503StoredLaterCountedOnce: a request answered 503 because the store was down
// past the deadline keeps its writes queued; once the store is back they are stored and the
// request's events are counted then, once, as accepted (featuregraph_ingest_events_total
// {source="push",outcome="written"}), never as rejected.
func TestPushAnswered503StoredLaterCountedOnce(t *testing.T) {
	f := newFixture(t, push.Config{Timeout: 100 * time.Millisecond})
	f.flaky.Down.Store(true)
	batch := `[{"topic":"user_cdc","event":{"event_name":"manner_updated","user_id":11,"temperature":41,"updated_at":1760000000}},
		{"topic":"user_cdc","event":{"event_name":"manner_updated","user_id":12,"temperature":42,"updated_at":1760000000}}]`
	code, body, hdr := f.post(t, batch)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, "may still be stored") {
		t.Fatalf("store down: %d %s", code, body)
	}
	if st := f.h.Stats(); st.Accepted != 0 || st.Writes != 0 || st.Rejected != 0 {
		t.Fatalf("counted before anything was stored: %+v", st)
	}
	f.flaky.Down.Store(false)
	ingesttest.Eventually(t, 10*time.Second, "the queued writes stored and counted", func() bool { return f.h.Stats().Accepted == 2 })
	time.Sleep(50 * time.Millisecond)
	if st := f.h.Stats(); st.Accepted != 2 || st.Writes != 2 || st.Rejected != 0 || st.Unavailable != 1 {
		t.Errorf("stats %+v, want 2 accepted, 2 writes, 0 rejected, 1 unavailable", st)
	}
	for _, id := range []string{"11", "12"} {
		if got, err := store.ReadKey(context.Background(), f.mem, store.Key{Prefix: "u", ID: id, Feature: "manner_temperature"}); err != nil || got.Kind != store.Float {
			t.Errorf("user %s: %+v, %v", id, got, err)
		}
	}
}

// TestPushWriterClosedMidRequest: the writer closes (server shutdown) while a request waits for
// a store that is down: the answer is 503 with Retry-After and says that the store did not
// confirm its event; nothing is stored or counted as accepted.
func TestPushWriterClosedMidRequest(t *testing.T) {
	f := newFixture(t, push.Config{})
	f.flaky.Down.Store(true)
	type answer struct {
		code int
		body string
		hdr  http.Header
	}
	ac := make(chan answer, 1)
	go func() {
		code, body, hdr := f.post(t, `{"topic":"user_cdc","event":{"event_name":"manner_updated","user_id":13,"temperature":43,"updated_at":1760000000}}`)
		ac <- answer{code, body, hdr}
	}()
	ingesttest.Eventually(t, 10*time.Second, "the write retrying", func() bool { return f.w.Stats().Retrying })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := f.w.Close(ctx); err == nil || !strings.Contains(err.Error(), "1 writes not stored") {
		t.Errorf("Close: %v", err)
	}
	a := <-ac
	if a.code != http.StatusServiceUnavailable || a.hdr.Get("Retry-After") == "" || !strings.Contains(a.body, "shutting down: the store did not confirm 1 event before the writer closed") {
		t.Fatalf("writer closed mid-request: %d %s", a.code, a.body)
	}
	if strings.Contains(a.body, "confirmed stored") {
		t.Errorf("claims something was stored: %s", a.body)
	}
	if st := f.h.Stats(); st.Accepted != 0 || st.Writes != 0 {
		t.Errorf("stats %+v", st)
	}
	if got, err := store.ReadKey(context.Background(), f.mem, store.Key{Prefix: "u", ID: "13", Feature: "manner_temperature"}); err != nil || got.Kind == store.Float {
		t.Errorf("user 13: %+v, %v (want nothing stored)", got, err)
	}
}
