package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/resolvers"
	"github.com/featuregraph/featuregraph/store"
)

// lateReader logs every store call and holds the first static read of entity prefix block until
// the call's context ends, then answers it from the store as if nothing had happened: a read
// that finished just after the request's deadline (or after the client left). Whatever the
// executor does next is work for a request that has ended.
type lateReader struct {
	store.Reader
	block   string
	entered chan struct{}

	mu      sync.Mutex
	calls   []string // "static <prefix>" / "actions <prefix>.<feature>", in order
	blocked bool
	after   []string // the calls started after the blocked one returned
}

func (l *lateReader) log(call string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call)
	if l.blocked {
		l.after = append(l.after, call)
		return false
	}
	if call == "static "+l.block {
		l.blocked = true
		return true
	}
	return false
}

func (l *lateReader) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	if l.log("static " + q.Prefix) {
		close(l.entered)
		<-ctx.Done()
		return l.Reader.ReadStatic(context.WithoutCancel(ctx), q, out)
	}
	return l.Reader.ReadStatic(ctx, q, out)
}

func (l *lateReader) ReadActions(ctx context.Context, qs []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	names := map[string]bool{}
	for _, q := range qs {
		names[q.Key.Prefix+"."+q.Key.Feature] = true
	}
	for n := range names {
		l.log("actions " + n)
	}
	return l.Reader.ReadActions(ctx, qs)
}

// allCalls is a copy of calls, taken under the lock: a dataloader fetch nobody waits for (gqlgen's
// prefetch of a level's actions) may still be logging when the answer is written.
func (l *lateReader) allCalls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// afterBlock is what the reader was asked for after the blocked read, without the action reads
// of prefix (those run alongside the blocked read, in the same level).
func (l *lateReader) afterBlock(sameLevel string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.after {
		if !strings.HasPrefix(c, "actions "+sameLevel+".") {
			out = append(out, c)
		}
	}
	return out
}

// joinEnv is a gateway over users who clicked articles that other users viewed: three levels
// of reads (users, their articles, those articles' viewers).
func joinEnv(t *testing.T, plans bool, log *slog.Logger) (*lateReader, *registry.Registry, http.Handler) {
	t.Helper()
	e := newEnv(t)
	now := time.Now()
	for a := 101; a <= 103; a++ {
		e.action("user", "1", "recent_clicked_articles", now.Add(-time.Duration(a)*time.Second), map[string]any{"article_id": a, "source": "feed"})
		e.static("article", strconv.Itoa(a), "title", "article "+strconv.Itoa(a), 1)
		for u := 2; u <= 4; u++ {
			e.action("article", strconv.Itoa(a), "recent_viewers", now.Add(-time.Duration(u)*time.Second), map[string]any{"user_id": u})
		}
	}
	for u := 1; u <= 4; u++ {
		e.static("user", strconv.Itoa(u), "os", "ios", 1)
	}
	lr := &lateReader{Reader: e.mem, entered: make(chan struct{})}
	cfg := gateway.DefaultConfig()
	if !plans {
		cfg.Executor = resolvers.NewExecutableSchema
	}
	cfg.RequestTimeout = 200 * time.Millisecond
	g, err := gateway.New(cfg, e.reg, lr, e.mem, log)
	if err != nil {
		t.Fatal(err)
	}
	return lr, e.reg, g
}

const joinQuery = `{ user(id: 1) { os recentClickedArticles(count: 3) { source article { title recentViewers(count: 3) { user { os } } } } } }`

// serve answers one request in process.
func serve(h http.Handler, ctx context.Context, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/graphql", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(w, r)
	return w
}

// wantTimeout checks the answer of a request stopped at its deadline: 503 with Retry-After, one
// error of code TIMEOUT, no data — not a partial 200, not a BACKEND_ERROR.
func wantTimeout(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	var r response
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" ||
		len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "TIMEOUT" || r.Data != nil || w.Body.Len() > 2048 {
		t.Fatalf("want a short 503 TIMEOUT with Retry-After and no data, got %d %v %.500s", w.Code, w.Header(), w.Body.String())
	}
}

// TestDeadlineStopsTheLaterLevels: the deadline passes while level 1 (the clicked articles) is
// read; neither executor reads level 2 (the viewers' users) after it, and the answer is the
// gateway's TIMEOUT.
func TestDeadlineStopsTheLaterLevels(t *testing.T) {
	for _, plans := range []bool{true, false} {
		t.Run("plans="+strconv.FormatBool(plans), func(t *testing.T) {
			// Not stopped, the query reads the viewers' users after the articles.
			lr, reg, g := joinEnv(t, plans, nil)
			users, articles := "static "+reg.Entity("user").Prefix, "static "+reg.Entity("article").Prefix
			lr.block = "none"
			if w := serve(g, context.Background(), gqlBody(joinQuery)); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"recentViewers":[{"user":{"os":"ios"}}`) {
				t.Fatalf("%d %.500s", w.Code, w.Body.String())
			}
			calls := lr.allCalls()
			if i := slices.Index(calls, articles); i < 0 || !slices.Contains(calls[i+1:], users) {
				t.Fatalf("want a static read of users after that of articles, got %v", calls)
			}

			lr, _, g = joinEnv(t, plans, nil)
			lr.block = reg.Entity("article").Prefix
			w := serve(g, context.Background(), gqlBody(joinQuery))
			if !slices.Contains(lr.allCalls(), articles) {
				t.Fatalf("level 1 was never read: %v", lr.allCalls())
			}
			if after := lr.afterBlock(lr.block); len(after) > 0 {
				t.Errorf("after the deadline passed in level 1 the executor still read %v (all calls: %v)", after, lr.allCalls())
			}
			wantTimeout(t, w)
		})
	}
}

// TestDeadlineDuringABigQuery: a users(ids:) query of 1000 ids whose one static read ends just
// after the deadline is a TIMEOUT, not 1000 users answered (written, marshalled) late.
func TestDeadlineDuringABigQuery(t *testing.T) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 1)
	}
	q := gqlBody(`{ users(ids: [` + strings.Join(ids, ",") + `]) { id os regionId isVerified } }`)
	for _, plans := range []bool{true, false} {
		t.Run("plans="+strconv.FormatBool(plans), func(t *testing.T) {
			lr, reg, g := joinEnv(t, plans, nil)
			lr.block = reg.Entity("user").Prefix
			wantTimeout(t, serve(g, context.Background(), q))
		})
	}
}

// TestClientGoneStopsQuietly: the client leaves while level 1 is read; the executor reads no
// further level and nothing is logged as an error.
func TestClientGoneStopsQuietly(t *testing.T) {
	for _, plans := range []bool{true, false} {
		t.Run("plans="+strconv.FormatBool(plans), func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			lr, reg, g := joinEnv(t, plans, log)
			lr.block = reg.Entity("article").Prefix
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-lr.entered; cancel() }()
			w := serve(g, ctx, gqlBody(joinQuery))
			if w.Code == http.StatusOK || w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
				t.Errorf("answer to a client that left: %d %.300s", w.Code, w.Body.String())
			}
			if after := lr.afterBlock(lr.block); len(after) > 0 {
				t.Errorf("after the client left the executor still read %v", after)
			}
			if strings.Contains(logs.String(), "level=ERROR") || strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("a client that left is logged:\n%s", logs.String())
			}
		})
	}
}
