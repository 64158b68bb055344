package offline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers"
	"github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

// exampleWith is the example registry (the compiled schema's) plus extra YAML files.
func exampleWith(t testing.TB, extra map[string]string) *registry.Registry {
	t.Helper()
	dir := filepath.Join("..", "features")
	files := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".yaml") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
	}
	for n, s := range extra {
		files[n] = []byte(s)
	}
	reg, err := registry.Parse(files)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func seed(t testing.TB, reg *registry.Registry, st store.Writer, users int) {
	t.Helper()
	w, err := ingest.NewWriter(st, ingest.WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d := ingest.NewDispatcher(reg)
	for u := 1; u <= users; u++ {
		for _, l := range []string{
			fmt.Sprintf(`{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated","event":{"event_name":"user_updated","user_id":%d,"updated_at":"2026-11-01T10:00:00Z","device":{"os":"os%d"},"region":{"id":%d}}}`, u, u%3, u),
			fmt.Sprintf(`{"streamName":"client_event","topic":"client_event_cleansed","subTopic":"view_article_v1","event":{"event_name":"view_article_v1","user_id":%d,"event_time":"2026-11-01T11:00:00Z","country_code":"kr","params":{"article_id_v1":%d,"source":"feed"}}}`, u, 100+u),
		} {
			if u%4 == 0 && strings.Contains(l, "view_article") {
				continue // some users have no clicks
			}
			env, _ := ingest.DecodeEnvelope([]byte(l))
			res, err := d.Dispatch(env)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Enqueue(context.Background(), res.Static, res.Actions); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

const homeQuery = `query Home($ids: [Int!]!) { users(ids: $ids) { id os regionId mannerTemperature recentClickedArticles(count: 2) { articleId } } }`

// TestServedLogJoinsRequests: with servedLog on, every answered request of a sampled operation
// has its rows in the sink, keyed by its request id (the caller's X-Request-Id, else the one
// the response carries), one per entity and feature read, with the value, event time and status
// the answer shows; an operation sampled at 0 leaves none. The run-time executor and the
// generated one.
func TestServedLogJoinsRequests(t *testing.T) {
	for _, generated := range []bool{false, true} {
		t.Run(fmt.Sprintf("generated=%v", generated), func(t *testing.T) {
			reg := exampleWith(t, map[string]string{"offline.yaml": "servedLog:\n  samplingRatio: 1\n  operations: {Rare: 0}\n"})
			st := memory.New()
			seed(t, reg, st, 20)
			sinkDir := t.TempDir()
			spool := offline.DefaultSpoolConfig()
			spool.FlushInterval = 50 * time.Millisecond
			p, err := offline.Open(context.Background(), reg, offline.Config{Sink: sinkDir, Spool: spool, Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			cfg := gateway.DefaultConfig()
			if generated { // the generated reference executor (its dataloaders batch the reads)
				cfg.Executor = resolvers.NewExecutableSchema
			}
			cfg.ServedLog = p.ServedLog()
			g, err := gateway.New(cfg, reg, st, st, nil)
			if err != nil {
				t.Fatal(err)
			}
			type sent struct {
				id     string
				ids    []int
				answer map[string]map[string]any // user id → field → value
			}
			var reqs []sent
			for i := range 12 {
				ids := []int{1 + i, 2 + i, 4 + i}
				body, _ := json.Marshal(map[string]any{"query": homeQuery, "variables": map[string]any{"ids": ids}})
				if i%3 == 2 {
					body, _ = json.Marshal(map[string]any{"query": strings.Replace(homeQuery, "Home", "Rare", 1), "variables": map[string]any{"ids": ids}})
				}
				req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if i%2 == 0 {
					req.Header.Set("X-Request-Id", fmt.Sprintf("caller-%d", i))
				}
				rec := httptest.NewRecorder()
				g.ServeHTTP(rec, req)
				id := rec.Header().Get("X-Request-Id")
				if i%2 == 0 && id != fmt.Sprintf("caller-%d", i) {
					t.Fatalf("request %d: X-Request-Id %q not echoed", i, id)
				}
				if i%2 == 1 && len(id) != 32 {
					t.Fatalf("request %d: no request id in the response (%q)", i, id)
				}
				var out struct {
					Data struct{ Users []map[string]any } `json:"data"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Data.Users) != 3 {
					t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
				}
				s := sent{id: id, ids: ids, answer: map[string]map[string]any{}}
				for _, u := range out.Data.Users {
					s.answer[fmt.Sprint(u["id"])] = u
				}
				if i%3 == 2 {
					s.answer = nil // Rare: not sampled
				}
				reqs = append(reqs, s)
			}
			if err := p.Flush(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			rows, err := offline.ReadAll[offline.ServedValue](context.Background(), offline.DirStore{Dir: sinkDir}, "served/")
			if err != nil {
				t.Fatal(err)
			}
			byReq := map[string][]offline.ServedValue{}
			for _, r := range rows {
				byReq[r.RequestID] = append(byReq[r.RequestID], r)
			}
			fp := schema.Fingerprint(reg)
			gqlName := map[string]string{"os": "os", "region_id": "regionId", "manner_temperature": "mannerTemperature", "recent_clicked_articles": "recentClickedArticles"}
			var hash string
			for _, s := range reqs {
				got, ok := byReq[s.id]
				delete(byReq, s.id)
				if s.answer == nil {
					if ok {
						t.Errorf("request %s (Rare, ratio 0) was logged", s.id)
					}
					continue
				}
				if !ok {
					t.Fatalf("request %s was not logged", s.id)
				}
				seen := map[string]bool{}
				for _, row := range got {
					if row.Operation != "Home" || row.Fingerprint != fp || row.OperationHash == "" || row.Entity != "user" || row.Error != nil {
						t.Fatalf("row %+v", row)
					}
					if hash != "" && row.OperationHash != hash {
						t.Fatalf("the operation hash differs between requests of one query")
					}
					hash = row.OperationHash
					if seen[row.EntityID+"/"+row.Feature] {
						t.Fatalf("request %s: two rows of user %s %s", s.id, row.EntityID, row.Feature)
					}
					seen[row.EntityID+"/"+row.Feature] = true
					ans, ok := s.answer[row.EntityID]
					if !ok {
						t.Fatalf("read of user %s: not a requested user (%v)", row.EntityID, s.ids)
					}
					want, _ := json.Marshal(ans[gqlName[row.Feature]])
					val := servedValue(t, row)
					switch row.Status {
					case "present":
						if row.EventTime == nil || row.EventTime.IsZero() {
							t.Errorf("present read of %s %s without event time", row.EntityID, row.Feature)
						}
						if row.Feature == "recent_clicked_articles" {
							first := ans["recentClickedArticles"].([]any)[0].(map[string]any)["articleId"]
							if row.ValueType != "event" || !strings.Contains(val, fmt.Sprintf(`"article_id":%v`, first)) {
								t.Errorf("clicks read %s (%s), answer %s", val, row.ValueType, want)
							}
						} else if val != string(want) {
							t.Errorf("user %s %s: logged %s, answered %s", row.EntityID, row.Feature, val, want)
						}
					case "default":
						if row.Feature != "manner_temperature" || val != string(want) || row.EventTime != nil {
							t.Errorf("default read of %s %s: %s at %v, answered %s", row.EntityID, row.Feature, val, row.EventTime, want)
						}
					case "absent":
						if (string(want) != "null" && string(want) != "[]") || val != "<null>" || row.EventTime != nil {
							t.Errorf("absent read of %s %s logged %s, answered %s", row.EntityID, row.Feature, val, want)
						}
					default:
						t.Errorf("read status %q", row.Status)
					}
				}
				if len(seen) != 12 {
					t.Fatalf("request %s: %d values read, want 12 (3 users × 4 features): %+v", s.id, len(seen), got)
				}
			}
			if len(byReq) != 0 {
				keys := make([]string, 0, len(byReq))
				for k := range byReq {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				t.Errorf("rows of unknown requests: %v", keys)
			}
			if d := p.ServedLog().Dropped(); d != 0 {
				t.Errorf("%d rows dropped", d)
			}
		})
	}
}

// TestServedLogDropsWhenFull: with the sink stuck, a full buffer drops rows and counts them,
// never blocks the caller.
func TestServedLogDropsWhenFull(t *testing.T) {
	reg := exampleWith(t, map[string]string{"offline.yaml": "servedLog: {}\n"})
	block := make(chan struct{})
	var dropped atomic.Int64
	l := offline.NewServedLog(reg, blockingSink{block}, offline.ServedConfig{Buffer: 10, Batch: 1, OnDrop: func(n int) { dropped.Add(int64(n)) }})
	done := make(chan struct{})
	go func() {
		for range 100 {
			r := l.Request("r", time.Now())
			r.AppendValue(store.Key{Prefix: "u", ID: "1", Feature: "os"}, store.StaticValue{}, nil)
			l.Log(r)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Log blocked on a full buffer")
	}
	if l.Dropped() < 80 || dropped.Load() != l.Dropped() {
		t.Errorf("dropped %d (callback %d), want at least 80 of 100 with a buffer of 10", l.Dropped(), dropped.Load())
	}
	close(block)
	_ = l.Close(context.Background())
}

type blockingSink struct{ block chan struct{} }

func (blockingSink) Add(*offline.ServedRows) {}
func (blockingSink) Discard()                {}
func (b blockingSink) Write(context.Context) error {
	<-b.block
	return nil
}
func (blockingSink) String() string { return "blocking" }

// servedValue is a logged row's value as JSON, from the column of its type ("<null>": none
// set; two set is an error).
func servedValue(t *testing.T, r offline.ServedValue) string {
	t.Helper()
	var vals []any
	if r.ValueInt != nil {
		vals = append(vals, *r.ValueInt)
	}
	if r.ValueFloat != nil {
		vals = append(vals, *r.ValueFloat)
	}
	if r.ValueString != nil {
		vals = append(vals, *r.ValueString)
	}
	if r.ValueBool != nil {
		vals = append(vals, *r.ValueBool)
	}
	if r.ValueTime != nil {
		vals = append(vals, r.ValueTime.UTC())
	}
	if r.ValueJSON != nil {
		vals = append(vals, json.RawMessage(*r.ValueJSON))
	}
	switch len(vals) {
	case 0:
		return "<null>"
	case 1:
		b, _ := json.Marshal(vals[0])
		return string(b)
	}
	t.Errorf("row %s %s %s: %d value columns set", r.RequestID, r.EntityID, r.Feature, len(vals))
	return ""
}
