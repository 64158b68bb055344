package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/store"
)

// blockingReader holds every static read until release is closed or the call's context ends,
// then fails with the context's error, as a backend would.
type blockingReader struct {
	store.Reader
	entered chan struct{}
	release chan struct{}
}

func (b *blockingReader) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	select {
	case <-b.release:
		return b.Reader.ReadStatic(ctx, q, out)
	case <-ctx.Done():
		return &store.BackendError{Backend: "dynamodb", Op: "batch get", Err: ctx.Err()}
	}
}

func post(t *testing.T, url, body string) (int, http.Header, []byte) {
	t.Helper()
	res, err := http.Post(url+"/graphql", "application/json", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, nil, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// TestOverloadIsRefusedFast: with every slot held and the queue full, a request is answered
// 503 with Retry-After and code OVERLOADED; once the slots free up, requests are served again.
func TestOverloadIsRefusedFast(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.MaxInFlight, c.MaxQueue, c.QueueWait = 2, 1, 50*time.Millisecond
		c.RequestTimeout = 30 * time.Second
	})
	br := &blockingReader{Reader: e.mem, entered: make(chan struct{}, 4), release: make(chan struct{})}
	e.rd.Reader = br
	body := gqlBody(`{ user(id: 1) { os } }`)
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); c, _, _ := post(t, e.srv.URL, body); codes <- c }()
	}
	for range 2 {
		<-br.entered // both slots held
	}
	code, h, b := post(t, e.srv.URL, body)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(string(b), "OVERLOADED") {
		t.Fatalf("over the bound: %d %v %s", code, h, b)
	}
	close(br.release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("admitted request answered %d", c)
		}
	}
	if code, _, b := post(t, e.srv.URL, body); code != http.StatusOK {
		t.Fatalf("after the overload: %d %s", code, b)
	}
}

// TestValuesBudgetRefusesHeavyQueries: a query whose cost does not fit in the in-flight values
// budget next to one being executed waits at most QueueWait, then is a 503.
func TestValuesBudgetRefusesHeavyQueries(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.MaxComplexity, c.MaxInFlightValues, c.QueueWait = 1000, 1000, 50*time.Millisecond
		c.RequestTimeout = 30 * time.Second
	})
	br := &blockingReader{Reader: e.mem, entered: make(chan struct{}, 4), release: make(chan struct{})}
	e.rd.Reader = br
	ids := strings.TrimSuffix(strings.Repeat("1,", 300), ",")
	heavy := gqlBody(`{ users(ids: [` + ids + `]) { os regionId } }`) // ≈ 900 values
	done := make(chan int, 1)
	go func() { c, _, _ := post(t, e.srv.URL, heavy); done <- c }()
	<-br.entered
	code, h, b := post(t, e.srv.URL, heavy)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(string(b), "OVERLOADED") {
		t.Fatalf("second heavy query: %d %v %s", code, h, b)
	}
	close(br.release)
	if c := <-done; c != http.StatusOK {
		t.Fatalf("first heavy query: %d", c)
	}
}

// TestOwnDeadlineIsATimeoutNotABackendError: a request whose backend call is cut short by the
// request's own deadline is answered 503 with Retry-After and code TIMEOUT naming the backend
// (not BACKEND_ERROR, no partial data), and a request whose deadline passes before it is
// executed is a 503 — never a 500 or a nil answer (it panicked before).
func TestOwnDeadlineIsATimeoutNotABackendError(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.RequestTimeout = 100 * time.Millisecond })
	br := &blockingReader{Reader: e.mem, entered: make(chan struct{}, 4), release: make(chan struct{})}
	e.rd.Reader = br
	code, h, b := post(t, e.srv.URL, gqlBody(`{ user(id: 1) { os } }`))
	var r response
	if err := json.Unmarshal(b, &r); err != nil || code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" ||
		len(r.Errors) != 1 || r.Data != nil {
		t.Fatalf("%d %v %s", code, h, b)
	}
	if r.Errors[0].Extensions["code"] != "TIMEOUT" || r.Errors[0].Extensions["backend"] != "dynamodb" {
		t.Fatalf("want a TIMEOUT naming the backend, got %s", b)
	}

	e = newEnv(t, func(c *gateway.Config) { c.RequestTimeout = time.Nanosecond })
	for range 20 {
		code, _, b := post(t, e.srv.URL, gqlBody(`{ user(id: 1) { os } }`))
		if code >= 500 && code != http.StatusServiceUnavailable || strings.Contains(string(b), "internal error") {
			t.Fatalf("%d %s", code, b)
		}
	}
}

// TestHeavyFloodLeavesRoomForCheapQueries: with every place of the heavy lane held by a heavy
// query (three of four slots), another heavy query is refused 503 OVERLOADED at once (it does
// not queue: the lane is not waited for), and cheap queries keep being served — before the lane,
// 47 of 50 trivial probes were refused during a heavy flood, since heavy queries held every slot
// and queued ahead of them for cost units.
func TestHeavyFloodLeavesRoomForCheapQueries(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.MaxInFlight, c.MaxQueue, c.QueueWait = 4, 4, 50*time.Millisecond
		c.RequestTimeout = 30 * time.Second
	})
	br := &blockingReader{Reader: e.mem, entered: make(chan struct{}, 8), release: make(chan struct{})}
	e.rd.Reader = br
	ids := strings.TrimSuffix(strings.Repeat("1,", 300), ",")
	heavy := gqlBody(`{ users(ids: [` + ids + `]) { os regionId } }`) // ≈ 900 values: heavy
	var wg sync.WaitGroup
	codes := make(chan int, 3)
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); c, _, _ := post(t, e.srv.URL, heavy); codes <- c }()
	}
	for range 3 {
		<-br.entered // the heavy lane (3 of 4 slots) is held
	}
	code, h, b := post(t, e.srv.URL, heavy)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(string(b), "OVERLOADED") {
		t.Fatalf("heavy query over the lane: %d %v %s", code, h, b)
	}
	// Cheap probes (action reads: the blocking reader holds static reads only).
	probe := gqlBody(`{ user(id: 1) { recentClickedArticles(count: 1) { articleId } } }`)
	ok := 0
	for range 50 {
		if code, _, _ := post(t, e.srv.URL, probe); code == http.StatusOK {
			ok++
		}
	}
	if ok != 50 {
		t.Errorf("%d of 50 cheap probes served during the heavy flood, want all", ok)
	}
	close(br.release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("admitted heavy query answered %d", c)
		}
	}
}
