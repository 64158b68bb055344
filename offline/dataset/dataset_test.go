package dataset_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/offline/dataset"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// servingQuery is the operation a ranker is served with; the dataset answers it as of each
// spine row's time.
const servingQuery = `query Ranker($id: Int!) {
  user(id: $id) {
    id
    os
    clicks: recentClickedArticles(count: 3) { articleId source timestamp article { price } }
    recentSearches(count: 2) { query resultCount }
  }
}`

// onlineQuery is the same selection read online with asOf.
const onlineQuery = `query Online($id: Int!, $asOf: Time) {
  user(id: $id, asOf: $asOf) {
    id
    os
    clicks: recentClickedArticles(count: 3) { articleId source timestamp article { price } }
    recentSearches(count: 2) { query resultCount }
  }
}`

var base = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func at(min int) string { return base.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }

// history is the events of the test: per user, os versions every 10 minutes, a click every 7,
// a search every 13; article prices change once.
func history(users int) []string {
	var out []string
	for a := 101; a <= 105; a++ {
		for k, m := range []int{0, 45} {
			out = append(out, fmt.Sprintf(`{"streamName":"app_events","topic":"article_cdc","subTopic":"article_upserted","event":{"event_name":"article_upserted","article_id":%d,"category":"c","title":"t%d","price":%d,"region_id":1,"image_count":1,"updated_at":%q}}`, a, a, 1000*a+k, at(m)))
		}
	}
	oses := []string{"ios", "android", "web"}
	for u := 1; u <= users; u++ {
		for k := 0; k < 5; k++ {
			out = append(out, fmt.Sprintf(`{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated","event":{"event_name":"user_updated","user_id":%d,"updated_at":%q,"device":{"os":"%s-%d"}}}`, u, at(10*k+u%3), oses[(u+k)%3], k))
		}
		for k := 0; k < 8; k++ {
			out = append(out, fmt.Sprintf(`{"streamName":"client_event","topic":"client_event_cleansed","subTopic":"view_article_v1","event":{"event_name":"view_article_v1","user_id":%d,"event_time":%q,"country_code":"kr","params":{"article_id_v1":%d,"source":"s%d"}}}`, u, at(7*k+u%5), 101+(u+k)%5, k))
		}
		for k := 0; k < 4; k++ {
			out = append(out, fmt.Sprintf(`{"streamName":"client_event","topic":"client_event_cleansed","subTopic":"search_v2","event":{"event_name":"search_v2","user_id":%d,"event_time":%q,"params":{"query":"q%d-%d","result_count":%d}}}`, u, at(13*k+1), u, k, k))
		}
	}
	return out
}

// realStore is Redis in front of DynamoDB (real servers).
func realStore(t *testing.T) *tiered.Store {
	t.Helper()
	ctx := context.Background()
	dyn, err := dynamodb.New(ctx, dynamodb.Config{Endpoint: testenv.DynamoDB(t), Region: "us-east-1", Table: fmt.Sprintf("dataset_%d", time.Now().UnixNano()%1e9)})
	if err != nil {
		t.Fatal(err)
	}
	if err := dyn.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	rds, err := redis.New(redis.Config{Addrs: []string{testenv.Redis(t)}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := tiered.New(rds, dyn, tiered.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func exampleRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg, err := registry.Load(filepath.Join("..", "..", "features"))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func ingestAll(t *testing.T, reg *registry.Registry, st store.Writer, lines []string) {
	t.Helper()
	w, err := ingest.NewWriter(st, ingest.WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d := ingest.NewDispatcher(reg, ingest.WithClock(func() time.Time { return base.Add(24 * time.Hour) }))
	for _, l := range lines {
		env, err := ingest.DecodeEnvelope([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		res, err := d.Dispatch(env)
		if err != nil || res.Writes() == 0 {
			t.Fatalf("event %s: %v (%d writes)", l, err, res.Writes())
		}
		if _, err := w.Enqueue(context.Background(), res.Static, res.Actions); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func newGateway(t *testing.T, reg *registry.Registry, st store.Store) http.Handler {
	t.Helper()
	cfg := gateway.DefaultConfig()
	cfg.MaxComplexity, cfg.MaxInFlightValues = 10_000_000, 10_000_000
	cfg.RequestTimeout = time.Minute // batches of 50 rows under -race on a busy machine
	g, err := gateway.New(cfg, reg, st, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func post(t *testing.T, h http.Handler, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer %d: %s", rec.Code, rec.Body)
	}
	return out
}

// spineCSV has, per user, times before any event, between versions, exactly at an event and
// after all of them.
func spineCSV(users int) string {
	var b strings.Builder
	b.WriteString("user_id,timestamp,label\n")
	for u := 1; u <= users; u++ {
		for _, m := range []int{-5, 3, 10*2 + u%3, 27, 33, 44, 60, 90} {
			fmt.Fprintf(&b, "%d,%s,%d\n", u, at(m), (u+m)%2)
		}
	}
	return b.String()
}

// TestDatasetEqualsOnlineAsOf is the differential test: for every spine row, the training set
// holds what the online API answers with asOf at the row's time — against Redis and DynamoDB,
// in batches of 50 rows per request — and the static feature is independently the latest
// version at or before the row's time (no leakage from the future).
func TestDatasetEqualsOnlineAsOf(t *testing.T) {
	const users = 40
	reg := exampleRegistry(t)
	st := realStore(t)
	ingestAll(t, reg, st, history(users))
	h := newGateway(t, reg, st)

	dir := t.TempDir()
	spinePath := filepath.Join(dir, "spine.csv")
	if err := os.WriteFile(spinePath, []byte(spineCSV(users)), 0o644); err != nil {
		t.Fatal(err)
	}
	spine, err := dataset.ReadSpine(spinePath, dataset.SpineConfig{Entity: "user"})
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	b, err := dataset.New(reg, h, dataset.Config{Document: servingQuery, Batch: 50, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	rows, sum, err := b.Build(context.Background(), spine)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != users*8 || sum.Batches != (users*8+49)/50 || sum.RowsWithErrors != 0 {
		t.Errorf("summary %s", sum)
	}
	if !strings.Contains(progress.String(), fmt.Sprintf("%d/%d batches (100%%)", sum.Batches, sum.Batches)) {
		t.Errorf("progress %q", progress.String())
	}
	t.Log(sum)

	// Write and read back the Parquet file: what a trainer reads.
	out := filepath.Join(dir, "train.parquet")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteParquet(f, rows, true); err != nil {
		t.Fatal(err)
	}
	f.Close()
	type trainRow struct {
		EntityID       string    `parquet:"entity_id"`
		Timestamp      time.Time `parquet:"timestamp,timestamp(millisecond)"`
		Label          *string   `parquet:"label,optional"`
		OS             *string   `parquet:"os,optional"`
		Clicks         *string   `parquet:"clicks,optional"`
		RecentSearches *string   `parquet:"recentSearches,optional"`
		Errors         *string   `parquet:"_errors,optional"`
	}
	raw, _ := os.ReadFile(out)
	got, err := offline.DecodeParquet[trainRow](raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(spine) {
		t.Fatalf("%d rows in the Parquet file, want %d", len(got), len(spine))
	}
	versions := osVersions(users)
	empty := 0
	for i, r := range got {
		if r.Clicks != nil && *r.Clicks == "[]" {
			empty++
		}
		s := spine[i]
		online := post(t, h, onlineQuery, map[string]any{"id": s.ID, "asOf": s.Time.Format(time.RFC3339Nano)})
		if online["errors"] != nil {
			t.Fatalf("online answer for %s@%s has errors: %v", s.ID, s.Time, online["errors"])
		}
		u := online["data"].(map[string]any)["user"].(map[string]any)
		if r.EntityID != s.ID || !r.Timestamp.Equal(s.Time) || r.Label == nil || *r.Label != *s.Label || r.Errors != nil {
			t.Fatalf("row %d: %+v for spine %+v", i, r, s)
		}
		if !sameJSON(t, u["os"], r.OS) || !sameJSON(t, u["clicks"], r.Clicks) || !sameJSON(t, u["recentSearches"], r.RecentSearches) {
			t.Fatalf("row %d (%s@%s): training set\n  os=%v clicks=%v searches=%v\nonline\n  %v", i, s.ID, s.Time.Format(time.RFC3339),
				deref(r.OS), deref(r.Clicks), deref(r.RecentSearches), u)
		}
		// Independently: the latest os version at or before the time.
		want := "unknown" // the feature's default: no version yet
		for _, v := range versions[s.ID] {
			if !v.at.After(s.Time) {
				want = v.os
			}
		}
		if r.OS == nil || *r.OS != want {
			t.Fatalf("row %d (%s@%s): os %v, want %s", i, s.ID, s.Time, deref(r.OS), want)
		}
	}
	// Before the first click (5 minutes before the start) every user has none; later rows have some.
	if empty < users || empty == len(got) {
		t.Errorf("%d of %d rows have no clicks, want at least %d and not all", empty, len(got), users)
	}
}

type osVersion struct {
	at time.Time
	os string
}

func osVersions(users int) map[string][]osVersion {
	oses := []string{"ios", "android", "web"}
	out := map[string][]osVersion{}
	for u := 1; u <= users; u++ {
		for k := 0; k < 5; k++ {
			id := fmt.Sprint(u)
			out[id] = append(out[id], osVersion{base.Add(time.Duration(10*k+u%3) * time.Minute), fmt.Sprintf("%s-%d", oses[(u+k)%3], k)})
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// sameJSON compares an online value with a training-set cell (JSON text, or the string itself).
func sameJSON(t *testing.T, online any, cell *string) bool {
	t.Helper()
	if cell == nil {
		return online == nil
	}
	if s, ok := online.(string); ok {
		return s == *cell
	}
	var v any
	if err := json.Unmarshal([]byte(*cell), &v); err != nil {
		t.Fatalf("cell %q: %v", *cell, err)
	}
	return reflect.DeepEqual(v, online)
}

// TestDatasetRejectsBadOperations: clear errors before any store read.
func TestDatasetRejectsBadOperations(t *testing.T) {
	reg := exampleRegistry(t)
	cases := map[string]struct{ doc, want string }{
		"batch root":   {`{ users(ids: [1]) { os } }`, `root field "users" is not an entity field (use article(id: ...)`},
		"two roots":    {`{ user(id: 1) { os } article(id: 2) { title } }`, "the operation has 2 root fields"},
		"invalid":      {`{ user(id: 1) { nope } }`, "the operation is not valid"},
		"no feature":   {`{ user(id: 1) { id } }`, "selects no feature"},
		"no history":   {`{ user(id: 1) { os regionId } }`, "user.region_id keeps no history"},
		"mutation-ish": {`query A { user(id: 1) { os } } query B { user(id: 1) { os } }`, "several operations"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := dataset.New(reg, http.NotFoundHandler(), dataset.Config{Document: c.doc})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}
