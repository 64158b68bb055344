package dev

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeServer stands in for `featuregraph serve`: its push endpoint accepts every envelope
// whose "ok" is true and records what it received.
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	received []string
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != pushPath {
			fmt.Fprintf(w, `{"data":{"server":%q}}`, f.URL)
			return
		}
		body, _ := io.ReadAll(r.Body)
		items := splitBody(body)
		var ans struct {
			Results []map[string]any `json:"results"`
		}
		for i, it := range items {
			var env struct{ OK bool }
			json.Unmarshal(it, &env)
			status := "error"
			if env.OK {
				status = "ok"
			}
			ans.Results = append(ans.Results, map[string]any{"index": i, "status": status})
			f.mu.Lock()
			f.received = append(f.received, string(it))
			f.mu.Unlock()
		}
		json.NewEncoder(w).Encode(ans)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.received...)
}

func TestProxyKeepsAcceptedPushesAndReplaysThem(t *testing.T) {
	p := newProxy(slog.New(slog.NewTextHandler(io.Discard, nil)))
	front := httptest.NewServer(p)
	defer front.Close()

	res, err := http.Get(front.URL + "/graphql")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("before any server: %d, want 503", res.StatusCode)
	}

	first := newFakeServer(t)
	u1, _ := url.Parse(first.URL)
	if n, rej, err := p.switchTo(context.Background(), u1); err != nil || n != 0 || rej != 0 {
		t.Fatalf("first switch: %d %d %v", n, rej, err)
	}
	post := func(body string) {
		t.Helper()
		res, err := http.Post(front.URL+pushPath, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	post(`{"id":1,"ok":true}`)
	post(`[{"id":2,"ok":true},{"id":3,"ok":false},{"id":4,"ok":true}]`)
	post(`not json`)

	second := newFakeServer(t)
	u2, _ := url.Parse(second.URL)
	n, rej, err := p.switchTo(context.Background(), u2)
	if err != nil || n != 3 || rej != 0 {
		t.Fatalf("second switch: replayed %d rejected %d err %v, want 3 0", n, rej, err)
	}
	want := []string{`{"id":1,"ok":true}`, `{"id":2,"ok":true}`, `{"id":4,"ok":true}`}
	if got := second.got(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("replayed %q, want %q", got, want)
	}
	// Queries now go to the second server.
	res, err = http.Get(front.URL + "/graphql")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), second.URL) {
		t.Errorf("after the switch the proxy answered %s", b)
	}
}

func TestReplayBatchesLargeLogs(t *testing.T) {
	p := newProxy(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range 1234 {
		p.events = append(p.events, json.RawMessage(fmt.Sprintf(`{"id":%d,"ok":true}`, i)))
	}
	s := newFakeServer(t)
	u, _ := url.Parse(s.URL)
	n, _, err := p.switchTo(context.Background(), u)
	if err != nil || n != 1234 || len(s.got()) != 1234 {
		t.Fatalf("replayed %d (server got %d), err %v", n, len(s.got()), err)
	}
}

// With an events log the events pushed in an earlier dev session are replayed, and new ones
// are appended.
func TestEventsLogSurvivesDev(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte("{\"id\":1,\"ok\":true}\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newProxy(slog.New(slog.NewTextHandler(io.Discard, nil)))
	f, n, err := openEventsLog(path, p)
	if err != nil || n != 1 {
		t.Fatalf("open: %d events, %v", n, err)
	}
	defer f.Close()
	s := newFakeServer(t)
	u, _ := url.Parse(s.URL)
	if n, _, err := p.switchTo(context.Background(), u); err != nil || n != 1 {
		t.Fatalf("replayed %d, %v", n, err)
	}
	front := httptest.NewServer(p)
	defer front.Close()
	res, err := http.Post(front.URL+pushPath, "application/json", strings.NewReader("[{\"id\": 2, \"ok\": true}, {\"id\": 3}]"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	b, _ := os.ReadFile(path)
	if want := "{\"id\":1,\"ok\":true}\n\n{\"id\":2,\"ok\":true}\n"; string(b) != want {
		t.Errorf("log %q, want %q", b, want)
	}

	if err := os.WriteFile(path, []byte("{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openEventsLog(path, newProxy(slog.New(slog.NewTextHandler(io.Discard, nil)))); err == nil || !strings.Contains(err.Error(), ":1 is not JSON") {
		t.Errorf("a broken log: %v", err)
	}
}
