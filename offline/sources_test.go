package offline_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/ingest/push"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/store/memory"
)

// TestDownsyncFromPushAndLoad: writes made by the push endpoint and by a file load reach the
// sink like Kafka's, each row naming its source ("push", "file:<name>#<line>"), once the push
// was answered or the load returned.
func TestDownsyncFromPushAndLoad(t *testing.T) {
	reg := testRegistry(t, 1)
	sink := t.TempDir()
	spool := offline.DefaultSpoolConfig()
	p, err := offline.Open(context.Background(), reg, offline.Config{Sink: sink, Spool: spool, Logger: quiet(), NoServedLog: true})
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	w, err := ingest.NewWriter(st, ingest.WriterConfig{Tap: p.Tap(), Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d := ingest.NewDispatcher(reg)
	h, err := push.New(d, w, push.Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"streamName":"app","topic":"activity","event":{"event_name":"score_set","user_id":7,"ts":1700000000000,"score":70}}`
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, push.Path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("push: %d %s", rec.Code, rec.Body)
	}
	// Acknowledged: the row is durable in the spool before the push was answered.
	if s := p.Status().Downsync; s.Appended != 1 {
		t.Fatalf("spooled %d rows when the push was answered, want 1", s.Appended)
	}
	file := filepath.Join(t.TempDir(), "events.jsonl")
	lines := `{"streamName":"app","topic":"activity","event":{"event_name":"click","user_id":8,"ts":1700000001000,"item":3}}
{"streamName":"app","topic":"activity","event":{"event_name":"score_set","user_id":8,"ts":1700000002000,"score":80}}
`
	if err := os.WriteFile(file, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := load.New(d, w, load.Config{NoProgress: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.LoadFile(context.Background(), file); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	rows, err := offline.ReadAll[offline.Row](context.Background(), offline.DirStore{Dir: sink}, "downsync/")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[rowString(r)] = r.Source
	}
	want := map[string]string{
		"score|7|1700000000000|70":          "push",
		`clicks|8|1700000001000|{"item":3}`: "file:" + file + "#1",
		"score|8|1700000002000|80":          "file:" + file + "#2",
	}
	if len(got) != len(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	for k, src := range want {
		if got[k] != src {
			t.Errorf("row %s: source %q, want %q", k, got[k], src)
		}
	}
}
