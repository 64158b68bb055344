package offline_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/store/memory"
)

// TestCatalogShowsOffline: the catalog says per feature whether it is downsynced (with its
// sampling) and logged, and the sink's last write once rows reached it.
func TestCatalogShowsOffline(t *testing.T) {
	reg := exampleWith(t, map[string]string{"offline.yaml": "downsync: {enabled: true, samplingRatio: 0.25, minIntervalByKey: 1h}\nservedLog: {samplingRatio: 0.5}\n"})
	st := memory.New()
	spool := offline.DefaultSpoolConfig()
	spool.FlushInterval = 20 * time.Millisecond
	p, err := offline.Open(context.Background(), reg, offline.Config{Sink: t.TempDir(), Spool: spool, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	cfg := gateway.DefaultConfig()
	cfg.Offline = p.Status
	g, err := gateway.New(cfg, reg, st, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	catalog := func() map[string]any {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/catalog?format=json", nil))
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	osOffline := func(v map[string]any) map[string]any {
		for _, e := range v["entities"].([]any) {
			for _, f := range e.(map[string]any)["features"].([]any) {
				if fm := f.(map[string]any); e.(map[string]any)["name"] == "user" && fm["name"] == "os" {
					return fm["offline"].(map[string]any)
				}
			}
		}
		t.Fatal("no user.os in the catalog")
		return nil
	}
	before := osOffline(catalog())
	if before["downsync"] != true || before["samplingRatio"] != 0.25 || before["minIntervalByKey"] != "1h" || before["servedLog"] != true || before["sinkLastWrite"] != nil {
		t.Fatalf("user.os offline before any write: %v", before)
	}
	// A write of a sampled user reaches the sink.
	w, err := ingest.NewWriter(st, ingest.WriterConfig{Tap: p.Tap()})
	if err != nil {
		t.Fatal(err)
	}
	d := ingest.NewDispatcher(reg)
	id := ""
	for i := 1; id == ""; i++ {
		if offline.Sampled("u", strconv.Itoa(i), 0.25) {
			id = strconv.Itoa(i)
		}
	}
	env, _ := ingest.DecodeEnvelope([]byte(`{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated","event":{"event_name":"user_updated","user_id":` + id + `,"updated_at":"2026-11-01T10:00:00Z","device":{"os":"ios"}}}`))
	res, err := d.Dispatch(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(context.Background(), res.Static, res.Actions); err != nil {
		t.Fatal(err)
	}
	w.Close(context.Background())
	if err := p.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	v := catalog()
	after := osOffline(v)
	if s, _ := after["sinkLastWrite"].(string); !strings.HasPrefix(s, "20") {
		t.Fatalf("user.os offline after a write: %v", after)
	}
	sink := v["offline"].(map[string]any)
	if ds := sink["downsync"].(map[string]any); ds["shipped"].(float64) < 1 {
		t.Fatalf("catalog offline sink %v", sink)
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/catalog", nil))
	if html := rec.Body.String(); !strings.Contains(html, "Offline sink") || !strings.Contains(html, "downsynced · sampling 0.25 · at most one row per key per 1h") {
		t.Errorf("catalog page lacks the offline figures")
	}
}
