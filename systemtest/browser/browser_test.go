package browser_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/featuregraph/featuregraph/catalog"
	"github.com/featuregraph/featuregraph/features"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// The browser tests drive the real page in headless Chromium with every request outside
// loopback blocked (and failing the test): the playground must work offline.
//
// Screenshots are written on failure to $FEATUREGRAPH_SCREENSHOTS (default: the test's temp
// dir, kept in the log), and always when FEATUREGRAPH_SCREENSHOTS is set.

// browser is one headless Chromium tab with a fresh profile. It fails the test on any request
// that does not go to loopback and on any uncaught exception or console error of the page.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	blocked  []string
	problems []string
	requests []string // URL paths the page requested
	bodies   []string // bodies of the page's POSTs to /graphql
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		// Belt and braces next to the interception below: no name resolves, and anything
		// that is not loopback goes to a proxy that does not exist.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
		chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.WindowSize(1400, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}

	paused := chromedp.Events(ctx, fetch.RequestPaused)
	exceptions := chromedp.Events(ctx, cdpruntime.ExceptionThrown)
	console := chromedp.Events(ctx, cdpruntime.ConsoleAPICalled)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{}); err != nil {
		t.Fatalf("chromium (%s) did not start: %v", bin, err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			b.route(ev)
		}
	}()
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			b.problem((&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		}
	}()
	go func() {
		for ev, err := range console {
			if err != nil {
				return
			}
			if ev.Type == cdpruntime.ConsoleAPICalledTypeError || ev.Type == cdpruntime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.problem("console." + string(ev.Type) + ": " + strings.Join(args, " "))
			}
		}
	}()
	t.Cleanup(b.check)
	return b
}

// route lets a loopback request through and fails any other.
func (b *browser) route(ev fetch.EventRequestPaused) {
	u, err := url.Parse(ev.Request.URL)
	local := err == nil && (u.Scheme == "http" || u.Scheme == "ws") && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost")
	if u != nil && u.Scheme == "data" {
		local = true // inline fonts and icons of the stylesheet
	}
	b.mu.Lock()
	if local {
		b.requests = append(b.requests, u.Path)
		if u.Path == "/graphql" && ev.Request.HasPostData {
			for _, e := range ev.Request.PostDataEntries {
				b.bodies = append(b.bodies, string(e.Bytes))
			}
		}
	} else {
		b.blocked = append(b.blocked, ev.Request.URL)
	}
	b.mu.Unlock()
	if local {
		_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		return
	}
	_, _ = chromedp.Call(b.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
}

func (b *browser) problem(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

func (b *browser) check() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.blocked {
		b.t.Errorf("the page requested %s (outside loopback: blocked)", u)
	}
	for _, p := range b.problems {
		b.t.Errorf("page error: %s", p)
	}
}

// do runs the steps; on failure it saves a screenshot and fails the test naming what failed.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.screenshot("failed-" + what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression into out.
func (b *browser) eval(what, expr string, out any) {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[json.RawMessage](expr))
	if err == nil {
		err = json.Unmarshal(v, out)
	}
	if err != nil {
		b.screenshot("failed-" + what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

var screenshotName = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// screenshot writes the whole page to <dir>/<test>-<name>.png.
func (b *browser) screenshot(name string) {
	dir := os.Getenv("FEATUREGRAPH_SCREENSHOTS")
	if dir == "" {
		dir = os.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, screenshotName.ReplaceAllString(b.t.Name()+"-"+name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}

// keepScreenshot writes a screenshot when FEATUREGRAPH_SCREENSHOTS asks for them.
func (b *browser) keepScreenshot(name string) {
	if os.Getenv("FEATUREGRAPH_SCREENSHOTS") != "" {
		b.screenshot(name)
	}
}

// keepElementScreenshot writes a screenshot of the element sel when FEATUREGRAPH_SCREENSHOTS
// asks for them.
func (b *browser) keepElementScreenshot(name, sel string) {
	dir := os.Getenv("FEATUREGRAPH_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, screenshotName.ReplaceAllString(b.t.Name()+"-"+name, "_")+".png"), png, 0o644)
	}
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// readmeFirstQuery returns the README's first GraphQL query and the JSON answer shown after it
// (as readme_test.go reads them).
func readmeFirstQuery(t *testing.T) (query string, answer any) {
	t.Helper()
	for _, ex := range harness.ReadmeExamples(t) {
		if ex.Path != "/graphql" {
			continue
		}
		var req struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal([]byte(ex.Body), &req); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(ex.Answer), &answer); err != nil {
			t.Fatalf("%s: the answer is not JSON: %v", ex.Where, err)
		}
		return req.Query, answer
	}
	t.Fatal("README.md has no GraphQL query with an answer")
	return "", nil
}

// js helpers evaluated in the page. GraphiQL 4 uses CodeMirror 5, whose editor object hangs
// off its wrapper element.
const (
	jsQueryEditor    = `document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror`
	jsResponseEditor = `document.querySelector('.result-window .CodeMirror').CodeMirror`
)

func TestBrowserPlaygroundOffline(t *testing.T) {
	reg, err := registry.LoadFS(features.FS, "features")
	if err != nil {
		t.Fatal(err)
	}
	base := harness.StartServer(t)
	b := newBrowser(t)

	// The page loads, GraphiQL renders, and the editor holds the registry's example.
	b.do("open the playground", chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(".graphiql-query-editor .CodeMirror")))
	var editor string
	b.eval("read the query editor", jsQueryEditor+`.getValue()`, &editor)
	if want := catalog.RegistryExample(reg); editor != want {
		t.Errorf("query editor holds\n%s\nwant the registry example\n%s", editor, want)
	}

	// The docs explorer shows the schema: it needs GraphiQL's introspection query to pass the
	// default limits.
	b.do("open the docs explorer",
		chromedp.Click(chromedp.CSS(`button[aria-label="Show Documentation Explorer"]`)),
		chromedp.Poll[chromedp.Void](`(() => { const d = document.querySelector('.graphiql-doc-explorer'); return d && d.innerText.includes('Query'); })()`,
			chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Click(chromedp.CSS(`.graphiql-doc-explorer a.graphiql-doc-explorer-type-name`)),
		chromedp.Poll[chromedp.Void](`(() => { const d = document.querySelector('.graphiql-doc-explorer'); return d && d.innerText.includes('recentClickedArticles') || d.innerText.includes('users'); })()`,
			chromedp.WithPollingTimeout(10*time.Second)),
	)
	var docs string
	b.eval("read the docs explorer", `document.querySelector('.graphiql-doc-explorer').innerText`, &docs)
	for _, e := range reg.Entities {
		if !strings.Contains(docs, e.QueryField()) || !strings.Contains(docs, e.BatchQueryField()) {
			t.Errorf("docs explorer lacks the fields of %s:\n%s", e.Name, docs)
		}
	}
	b.keepScreenshot("docs")

	// Autocomplete: typing "us" in a selection offers user and users.
	b.do("type in the query editor",
		chromedp.Evaluate[chromedp.Void](jsQueryEditor+`.setValue('{\n  \n}'), `+jsQueryEditor+`.setCursor({line: 1, ch: 2}), `+jsQueryEditor+`.focus()`),
		chromedp.KeyEvent("us"),
		chromedp.Poll[chromedp.Void](`(() => { const h = document.querySelector('.CodeMirror-hints'); return h && h.innerText.includes('users'); })()`,
			chromedp.WithPollingTimeout(10*time.Second)),
	)
	b.keepScreenshot("autocomplete")

	// The README's first query, run from the page, answers what the README shows.
	query, want := readmeFirstQuery(t)
	qjs, _ := json.Marshal(query)
	var answer string
	b.do("run the README query",
		chromedp.Evaluate[chromedp.Void](jsQueryEditor+`.setValue(`+string(qjs)+`)`),
		chromedp.Click(chromedp.CSS(`.graphiql-execute-button`)),
		chromedp.Poll[chromedp.Void](`(() => { try { return JSON.parse(`+jsResponseEditor+`.getValue()).data !== undefined; } catch (e) { return false; } })()`,
			chromedp.WithPollingTimeout(15*time.Second)),
	)
	b.eval("read the answer", jsResponseEditor+`.getValue()`, &answer)
	var got any
	if err := json.Unmarshal([]byte(answer), &got); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, answer)
	}
	if gb, wb := mustJSON(got), mustJSON(want); gb != wb {
		b.screenshot("answer")
		t.Fatalf("the page shows\n%s\nthe README shows\n%s", gb, wb)
	}
	b.keepScreenshot("answer")

	// What GraphiQL sent to learn the schema was its introspection query, answered under the
	// default limits (the docs above prove the answer; this names the query's depth).
	b.mu.Lock()
	bodies := append([]string(nil), b.bodies...)
	b.mu.Unlock()
	found := false
	for _, body := range bodies {
		if strings.Contains(body, "IntrospectionQuery") {
			found = true
			if os.Getenv("FEATUREGRAPH_SAVE_INTROSPECTION") != "" {
				_ = os.WriteFile(os.Getenv("FEATUREGRAPH_SAVE_INTROSPECTION"), []byte(body), 0o644)
			}
		}
	}
	if !found {
		t.Errorf("GraphiQL sent no introspection query; it sent %d bodies", len(bodies))
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// The catalog lists every feature of the registry with its live figures: a pushed event shows as
// a write and as the feature's freshness, an event that cannot be converted as a dead letter,
// queries as reads; its example query opens in the playground and runs there.
func TestBrowserCatalog(t *testing.T) {
	reg, err := registry.LoadFS(features.FS, "features")
	if err != nil {
		t.Fatal(err)
	}
	base := harness.StartServer(t)
	view := func(id int, ts string) string {
		return `{"streamName": "client_event", "topic": "client_event_cleansed", "subTopic": "view_article_v1", "event": {"user_id": ` +
			fmt.Sprint(id) + `, "event_time": "` + ts + `", "country_code": "kr", "params": {"article_id_v1": 108, "source": "search"}}}`
	}
	if got := harness.Post(t, base, "/v1/events", view(2, "2026-11-20T09:30:00Z")); !strings.Contains(got, `"accepted":1`) {
		t.Fatalf("push: %s", got)
	}
	// A user id that is not an Int: user.recent_clicked_articles cannot convert it.
	if got := harness.Post(t, base, "/v1/events", strings.Replace(view(0, "2026-11-20T09:31:00Z"), `"user_id": 0`, `"user_id": "x"`, 1)); !strings.Contains(got, `"status":"error"`) {
		t.Fatalf("push of a bad event: %s", got)
	}
	for range 3 {
		harness.Post(t, base, "/graphql", `{"query":"{ user(id: 2) { recentClickedArticles(count: 1) { articleId } } }"}`)
	}

	b := newBrowser(t)
	b.do("open the catalog", chromedp.Navigate(base+"/catalog"), chromedp.WaitVisible(chromedp.CSS("#feature-user-os")))
	b.keepScreenshot("catalog")
	b.keepElementScreenshot("catalog-header", "header")
	b.keepElementScreenshot("catalog-feature", "#feature-user-recent_clicked_articles")
	var ids []string
	b.eval("list the features", `[...document.querySelectorAll('section.feature')].map(s => s.id)`, &ids)
	var want []string
	for _, e := range reg.Entities {
		for _, f := range e.Features() {
			want = append(want, "feature-"+e.Name+"-"+f.Name)
		}
	}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("catalog lists\n%v\nwant every feature of the registry\n%v", ids, want)
	}
	text := func(sel string) string {
		var s string
		b.eval("read "+sel, `document.querySelector(`+mustJSON(sel)+`).innerText`, &s)
		return s
	}
	const f = "#feature-user-recent_clicked_articles "
	if got := text(f + ".freshness"); !strings.HasPrefix(got, "2026-11-20T09:30:00Z") {
		t.Errorf("freshness of user.recent_clicked_articles: %q, want the pushed event's time", got)
	}
	if got := text(f + ".dead-letters"); got != "1" {
		t.Errorf("dead letters of user.recent_clicked_articles: %q, want 1", got)
	}
	if got := text(f + ".reads-per-sec"); !strings.Contains(got, "(3 total)") {
		t.Errorf("reads of user.recent_clicked_articles: %q, want 3 in total", got)
	}
	if got := text(f + ".writes"); strings.HasPrefix(got, "0 ") {
		t.Errorf("writes of user.recent_clicked_articles: %q, want the demo's and the pushed one", got)
	}
	for _, sel := range []string{"#feature-user-os", f} {
		for _, want := range []string{"client_event", "client_event_cleansed", "view_article_v1", "params.article_id_v1 → article_id"} {
			if sel == f && !strings.Contains(text(sel), want) {
				t.Errorf("%s does not show its ingestion rule (%s)", sel, want)
			}
		}
	}
	if got := text("#feature-article-image_count"); !strings.Contains(got, "deprecated") {
		t.Errorf("article.image_count is not shown deprecated: %q", got)
	}

	// The example of user.os opens in the playground and answers there.
	b.do("open the example in the playground",
		chromedp.Click(chromedp.CSS(`#feature-user-os a.run`)),
		chromedp.WaitVisible(chromedp.CSS(".graphiql-query-editor .CodeMirror")),
		chromedp.Click(chromedp.CSS(`.graphiql-execute-button`)),
		chromedp.Poll[chromedp.Void](`(() => { try { return JSON.parse(`+jsResponseEditor+`.getValue()).data !== undefined; } catch (e) { return false; } })()`,
			chromedp.WithPollingTimeout(15*time.Second)),
	)
	var editor, answer string
	b.eval("read the query editor", jsQueryEditor+`.getValue()`, &editor)
	b.eval("read the answer", jsResponseEditor+`.getValue()`, &answer)
	if want := catalog.FeatureExample(reg, reg.Entity("user").Feature("os")); editor != want {
		t.Errorf("playground opened with\n%s\nwant the catalog's example\n%s", editor, want)
	}
	var got any
	_ = json.Unmarshal([]byte(answer), &got)
	if mustJSON(got) != `{"data":{"user":{"os":"ios"}}}` {
		b.screenshot("example")
		t.Errorf("example answered %s", answer)
	}
	b.keepScreenshot("example")
}
