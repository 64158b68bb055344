package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/auth"
	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/internal/app"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// clientsYAML is the clients file of these tests: a recommender that reads a few user features
// and the article category, an ingest service that writes user features of app_events, an
// operator who reads everything and sees /metrics and the catalog.
const clientsYAML = `
clients:
  recommender:
    apiKeys: [%rec%]
    read:
      features: [user.os, user.recent_clicked_articles, article.category]
    introspection: true
  ingest:
    apiKeys: [%ing%]
    write: {streams: [app_events], entities: [user]}
  ops:
    apiKeys: [%ops%]
    read: {entities: ["*"]}
    metrics: true
    catalog: true
`

func testPolicy(t *testing.T, reg *registry.Registry, extra string) *auth.Policy {
	t.Helper()
	y := strings.NewReplacer("%rec%", auth.HashKey("rec-key"), "%ing%", auth.HashKey("ing-key"), "%ops%", auth.HashKey("ops-key")).Replace(clientsYAML + extra)
	f, err := auth.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.Compile(f, reg, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func loadReg(t *testing.T) *registry.Registry {
	t.Helper()
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func authEnv(t *testing.T, mutate ...func(*gateway.Config)) *env {
	t.Helper()
	p := testPolicy(t, loadReg(t), "")
	return newEnv(t, append([]func(*gateway.Config){func(c *gateway.Config) { c.Access.Policy = p }}, mutate...)...)
}

// call posts body to path with the API key (none when "") and returns the status and body.
func callKey(t *testing.T, url, path, key, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if body == "" {
		req.Method = http.MethodGet
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func gql(t *testing.T, e *env, key, q string, vars map[string]any) (int, response) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	code, b := callKey(t, e.srv.URL, "/graphql", key, "application/json", string(body))
	var r response
	if err := json.Unmarshal([]byte(b), &r); err != nil {
		t.Fatalf("%d %s: %v", code, b, err)
	}
	return code, r
}

// TestAnonymousAndBadKeysAre401: with a clients file every request but the probes needs
// credentials.
func TestAnonymousAndBadKeysAre401(t *testing.T) {
	e := authEnv(t)
	for _, key := range []string{"", "not-a-key"} {
		code, body := callKey(t, e.srv.URL, "/graphql", key, "application/json", `{"query":"{ user(id: 1) { os } }"}`)
		if code != http.StatusUnauthorized || !strings.Contains(body, "UNAUTHENTICATED") {
			t.Errorf("key %q: %d %s, want 401 UNAUTHENTICATED", key, code, body)
		}
	}
	if code, _ := callKey(t, e.srv.URL, "/healthz", "", "", ""); code != 200 {
		t.Errorf("/healthz without credentials: %d, want 200", code)
	}
	if e.rd.static+e.rd.acts != 0 {
		t.Errorf("refused requests read the store %d times", e.rd.static+e.rd.acts)
	}
}

// TestRecommenderReadsOnlyItsFeatures: granted fields are served; a forbidden field — plain,
// aliased, in a fragment or an inline fragment, included by a variable, or behind a join — is a
// 403 with a FORBIDDEN error naming its path, and nothing is read.
func TestRecommenderReadsOnlyItsFeatures(t *testing.T) {
	e := authEnv(t)
	e.static("user", "1", "os", "android", 1)
	e.static("user", "1", "manner_temperature", 36.5, 1)
	e.static("article", "7", "category", "books", 1)
	e.action("user", "1", "recent_clicked_articles", time.Now().Add(-time.Minute), map[string]any{"article_id": 7, "source": "home"})
	code, r := gql(t, e, "rec-key", `{ user(id: 1) { os recentClickedArticles(count: 5) { articleId article { category } } } }`, nil)
	if code != 200 || len(r.Errors) > 0 {
		t.Fatalf("granted query: %d %+v", code, r.Errors)
	}
	jsonEq(t, r.Data, `{"user":{"os":"android","recentClickedArticles":[{"articleId":7,"article":{"category":"books"}}]}}`)
	before := e.rd.static + e.rd.acts
	for _, tc := range []struct {
		name, q string
		vars    map[string]any
		path    string
	}{
		{"plain", `{ user(id: 1) { os mannerTemperature } }`, nil, "user.mannerTemperature"},
		{"alias", `{ user(id: 1) { os t: mannerTemperature } }`, nil, "user.t"},
		{"fragment", `query Q { user(id: 1) { ...F } } fragment F on User { os mannerTemperature }`, nil, "user.mannerTemperature"},
		{"inline fragment", `{ user(id: 1) { ... on User { mannerTemperature } } }`, nil, "user.mannerTemperature"},
		{"variable", `query Q($on: Boolean!) { user(id: 1) { os mannerTemperature @include(if: $on) } }`, map[string]any{"on": true}, "user.mannerTemperature"},
		{"join", `{ user(id: 1) { recentClickedArticles { article { category price } } } }`, nil, "user.recentClickedArticles.article.price"},
		{"batch root", `{ users(ids: [1, 2]) { isVerified } }`, nil, "users.isVerified"},
		{"other entity feature", `{ article(id: 7) { title } }`, nil, "article.title"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r := gql(t, e, "rec-key", tc.q, tc.vars)
			if code != http.StatusForbidden || len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != "FORBIDDEN" || r.Data != nil {
				t.Fatalf("got %d %s %+v, want 403 FORBIDDEN and no data", code, r.Data, r.Errors)
			}
			if got := pathString(r.Errors[0].Path); got != tc.path {
				t.Errorf("error path %s, want %s", got, tc.path)
			}
		})
	}
	// The same query with the variable off selects nothing forbidden.
	code, r = gql(t, e, "rec-key", `query Q($on: Boolean!) { user(id: 1) { os mannerTemperature @include(if: $on) } }`, map[string]any{"on": false})
	if code != 200 || len(r.Errors) > 0 {
		t.Errorf("variable off: %d %+v", code, r.Errors)
	}
	if after := e.rd.static + e.rd.acts; after != before+1 {
		t.Errorf("forbidden operations read the store: %d reads, want only the last query's 1", after-before)
	}
	// Another client with other grants runs the very same operation: plans are per grant.
	code, r = gql(t, e, "ops-key", `{ user(id: 1) { os mannerTemperature } }`, nil)
	if code != 200 || len(r.Errors) > 0 {
		t.Fatalf("ops: %d %+v", code, r.Errors)
	}
	jsonEq(t, r.Data, `{"user":{"os":"android","mannerTemperature":36.5}}`)
	code, r = gql(t, e, "rec-key", `{ user(id: 1) { os mannerTemperature } }`, nil)
	if code != http.StatusForbidden {
		t.Errorf("recommender after ops ran the same operation: %d %+v", code, r.Errors)
	}
	// A client with no read grant (ingest) reads nothing.
	if code, r := gql(t, e, "ing-key", `{ user(id: 1) { os } }`, nil); code != http.StatusForbidden || r.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Errorf("ingest reading: %d %+v", code, r.Errors)
	}
}

func pathString(p []any) string {
	var s []string
	for _, x := range p {
		b, _ := json.Marshal(x)
		s = append(s, strings.Trim(string(b), `"`))
	}
	return strings.Join(s, ".")
}

// TestIntrospectionShowsOnlyWhatTheClientReads: __schema and __type answer from the schema
// filtered to the client's grants; a client without introspection gets none.
func TestIntrospectionShowsOnlyWhatTheClientReads(t *testing.T) {
	e := authEnv(t)
	code, r := gql(t, e, "rec-key", `{ u: __type(name: "User") { fields { name } } a: __type(name: "Article") { fields { name } }
		q: __schema { queryType { fields { name } } } }`, nil)
	if code != 200 || len(r.Errors) > 0 {
		t.Fatalf("%d %+v", code, r.Errors)
	}
	jsonEq(t, r.Data, `{"u":{"fields":[{"name":"id"},{"name":"os"},{"name":"recentClickedArticles"}]},
		"a":{"fields":[{"name":"id"},{"name":"category"}]},
		"q":{"queryType":{"fields":[{"name":"article"},{"name":"articles"},{"name":"user"},{"name":"users"}]}}}`)
	code, r = gql(t, e, "ops-key", `{ __type(name: "User") { fields { name } } }`, nil)
	if code != 200 || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "introspection disabled") {
		t.Errorf("ops has no introspection grant: %d %s %+v", code, r.Data, r.Errors)
	}
	// The whole schema of GraphiQL's query stays consistent: every type a field names exists.
	code, r = gql(t, e, "rec-key", `{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }`, nil)
	if code != 200 || len(r.Errors) > 0 {
		t.Fatalf("%d %+v", code, r.Errors)
	}
	var s struct {
		Schema struct {
			Types []struct {
				Name   string
				Fields []struct {
					Name string
					Type json.RawMessage
				}
			}
		} `json:"__schema"`
	}
	_ = json.Unmarshal(r.Data, &s)
	names := map[string]bool{}
	for _, ty := range s.Schema.Types {
		names[ty.Name] = true
	}
	if names["UserMannerTemperature"] || names["ArticleRecentViewersEvent"] {
		t.Errorf("types of unreadable features are listed")
	}
	for _, ty := range s.Schema.Types {
		for _, f := range ty.Fields {
			for _, n := range typeNames(f.Type) {
				if !names[n] {
					t.Errorf("%s.%s names type %s, which the filtered schema does not list", ty.Name, f.Name, n)
				}
			}
		}
	}
}

func typeNames(raw json.RawMessage) []string {
	var t struct {
		Name   *string
		OfType json.RawMessage
	}
	if json.Unmarshal(raw, &t) != nil {
		return nil
	}
	var out []string
	if t.Name != nil {
		out = append(out, *t.Name)
	}
	if len(t.OfType) > 0 && string(t.OfType) != "null" {
		out = append(out, typeNames(t.OfType)...)
	}
	return out
}

// TestPathGrants: /metrics and /catalog only for clients granted them.
func TestPathGrants(t *testing.T) {
	e := authEnv(t, func(c *gateway.Config) { c.Metrics = metrics.New() })
	if code, body := callKey(t, e.srv.URL, "/metrics", "rec-key", "", ""); code != http.StatusForbidden || !strings.Contains(body, "metrics") {
		t.Errorf("recommender /metrics: %d %s", code, body)
	}
	if code, _ := callKey(t, e.srv.URL, "/metrics", "ops-key", "", ""); code != 200 {
		t.Errorf("ops /metrics: %d", code)
	}
	if code, _ := callKey(t, e.srv.URL, "/catalog", "rec-key", "", ""); code != http.StatusForbidden {
		t.Errorf("recommender /catalog: %d", code)
	}
	if code, _ := callKey(t, e.srv.URL, "/", "rec-key", "", ""); code != http.StatusForbidden {
		t.Errorf("recommender playground: %d", code)
	}
	_, body := callKey(t, e.srv.URL, "/metrics", "ops-key", "", "")
	for _, want := range []string{`featuregraph_client_requests_total{client="recommender",code="403",endpoint="metrics"} 1`,
		`featuregraph_client_requests_total{client="ops",code="200",endpoint="metrics"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestPushWritesOnlyGrantedStreams: the ingest service stores events of its stream and entity;
// an event of another stream or entity is rejected (status forbidden, nothing of it written)
// while the batch's other events are stored; a batch of forbidden events only is a 403; a client
// without write grants is a 403 at the door; a text/plain push — what any web page can send
// cross-origin — is refused whatever the credentials.
func TestPushWritesOnlyGrantedStreams(t *testing.T) {
	e := authEnv(t)
	closeIngest, err := app.MountIngest(e.gw, e.reg, e.mem, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeIngest(context.Background()) })
	userEv := `{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated","event":{"user_id":5,"updated_at":"2026-11-20T09:30:00Z","device":{"os":"ios"}}}`
	articleEv := `{"streamName":"app_events","topic":"article_cdc","subTopic":"article_upserted","event":{"article_id":9,"updated_at":"2026-11-20T09:30:00Z","category":"toys","price":5}}`
	clickEv := `{"streamName":"client_event","topic":"client_event_cleansed","subTopic":"view_article_v1","event":{"user_id":5,"event_time":"2026-11-20T09:30:00Z","country_code":"kr","params":{"article_id_v1":9}}}`

	code, body := callKey(t, e.srv.URL, "/v1/events", "ing-key", "application/json", "["+userEv+","+articleEv+","+clickEv+"]")
	if code != 200 || !strings.Contains(body, `"accepted":1`) || !strings.Contains(body, `"rejected":2`) || strings.Count(body, `"status":"forbidden"`) != 2 {
		t.Fatalf("mixed batch: %d %s", code, body)
	}
	if got := readStatic(t, e.mem, "u", "5", "os"); got != "ios" {
		t.Errorf("the granted event was not stored: os = %q", got)
	}
	if got := readStatic(t, e.mem, "c:flea", "9", "category"); got != "" {
		t.Errorf("the forbidden article event was stored: %q", got)
	}
	code, body = callKey(t, e.srv.URL, "/v1/events", "ing-key", "application/json", "["+articleEv+","+clickEv+"]")
	if code != http.StatusForbidden || !strings.Contains(body, "may not write") {
		t.Errorf("forbidden events only: %d %s, want 403", code, body)
	}
	if code, body := callKey(t, e.srv.URL, "/v1/events", "rec-key", "application/json", userEv); code != http.StatusForbidden || !strings.Contains(body, "write.streams") {
		t.Errorf("recommender pushing: %d %s, want 403", code, body)
	}
	if code, _ := callKey(t, e.srv.URL, "/v1/events", "", "application/json", userEv); code != http.StatusUnauthorized {
		t.Errorf("anonymous push: %d, want 401", code)
	}
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		if code, body := callKey(t, e.srv.URL, "/v1/events", "ing-key", ct, strings.Replace(userEv, "ios", "pwned", 1)); code != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q: %d %s, want 415", ct, code, body)
		}
	}
	if got := readStatic(t, e.mem, "u", "5", "os"); got != "ios" {
		t.Errorf("a refused push was stored: os = %q", got)
	}
}

// TestHostileTextPlainPushWithoutAuth: even without access control, the text/plain push a
// hostile web page sends (no CORS preflight) is refused and nothing is written.
func TestHostileTextPlainPushWithoutAuth(t *testing.T) {
	e := newEnv(t)
	closeIngest, err := app.MountIngest(e.gw, e.reg, e.mem, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeIngest(context.Background()) })
	ev := `{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated","event":{"user_id":5,"updated_at":"2026-11-20T09:30:00Z","device":{"os":"pwned"}}}`
	// What fetch(url, {method: "POST", mode: "no-cors", body}) sends from any page.
	code, body := callKey(t, e.srv.URL, "/v1/events", "", "text/plain;charset=UTF-8", ev)
	if code != http.StatusUnsupportedMediaType || !strings.Contains(body, "application/json") {
		t.Errorf("text/plain push: %d %s, want 415", code, body)
	}
	if got := readStatic(t, e.mem, "u", "5", "os"); got != "" {
		t.Errorf("the hostile push was stored: %q", got)
	}
	if code, body := callKey(t, e.srv.URL, "/graphql", "", "text/plain", `{"query":"{ __typename }"}`); code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain GraphQL POST: %d %s, want 415", code, body)
	}
}

func readStatic(t *testing.T, mem store.Reader, prefix, id, feature string) string {
	t.Helper()
	q := store.StaticQuery{Prefix: prefix, IDs: []string{id}, Features: []string{feature}}
	out := make([]store.StaticValue, q.Len())
	if err := mem.ReadStatic(context.Background(), q, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Kind == store.Absent {
		return ""
	}
	return out[0].Str
}

// TestTrustedDocuments: in enforce mode only trusted operations run, by text or by hash alone;
// a client's log-unknown overrides the server's mode.
func TestTrustedDocuments(t *testing.T) {
	const trusted = `query UserOS($id: Int!) { user(id: $id) { os } }`
	reg := loadReg(t)
	p := testPolicy(t, reg, `
  explorer:
    apiKeys: [`+auth.HashKey("exp-key")+`]
    read: {entities: [user]}
    trustedDocuments: log-unknown
`)
	e := newEnv(t, func(c *gateway.Config) {
		c.Access.Policy, c.Access.TrustedDocuments = p, gateway.NewTrustedDocuments(trusted)
	})
	e.static("user", "1", "os", "android", 1)
	if code, r := gql(t, e, "rec-key", trusted, map[string]any{"id": 1}); code != 200 || len(r.Errors) > 0 {
		t.Errorf("trusted by text: %d %+v", code, r.Errors)
	}
	hashOnly := `{"variables":{"id":1},"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + auth.HashKey(trusted)[len("sha256:"):] + `"}}}`
	code, body := callKey(t, e.srv.URL, "/graphql", "rec-key", "application/json", hashOnly)
	if code != 200 || !strings.Contains(body, `"os":"android"`) {
		t.Errorf("trusted by hash only: %d %s", code, body)
	}
	code, r := gql(t, e, "rec-key", `{ user(id: 1) { os } }`, nil)
	if code != http.StatusForbidden || len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != "DOCUMENT_NOT_TRUSTED" {
		t.Errorf("untrusted in enforce mode: %d %+v", code, r.Errors)
	}
	if code, r := gql(t, e, "exp-key", `{ user(id: 1) { os } }`, nil); code != 200 || len(r.Errors) > 0 {
		t.Errorf("untrusted for a log-unknown client: %d %+v", code, r.Errors)
	}
}

// TestAuditLog: one line per request naming the client, the operation and its hash, the
// entities and features read, the status and the latency; pushes name what they wrote.
func TestAuditLog(t *testing.T) {
	var buf syncBuffer
	e := authEnv(t, func(c *gateway.Config) { c.Access.Audit = slog.New(slog.NewJSONHandler(&buf, nil)) })
	closeIngest, err := app.MountIngest(e.gw, e.reg, e.mem, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeIngest(context.Background()) })
	gql(t, e, "rec-key", `query Rec { users(ids: [1, 2, 3]) { os recentClickedArticles { article { category } } } }`, nil)
	gql(t, e, "rec-key", `{ user(id: 1) { mannerTemperature } }`, nil)
	callKey(t, e.srv.URL, "/graphql", "", "application/json", `{"query":"{ __typename }"}`)
	callKey(t, e.srv.URL, "/v1/events", "ing-key", "application/json",
		`{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated","event":{"user_id":5,"updated_at":"2026-11-20T09:30:00Z","device":{"os":"ios"}}}`)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 {
		t.Fatalf("%d audit lines, want 4: %s", len(lines), buf.String())
	}
	l := lines[0]
	if l["client"] != "recommender" || l["operation"] != "Rec" || l["entities"] != 3.0 || l["status"] != 200.0 || len(l["hash"].(string)) != 64 {
		t.Errorf("first line: %v", l)
	}
	if got, _ := json.Marshal(l["read"]); string(got) != `["article.category","user.os","user.recent_clicked_articles"]` {
		t.Errorf("features read: %s", got)
	}
	if _, ok := l["latency_ms"].(float64); !ok {
		t.Errorf("no latency: %v", l)
	}
	if lines[1]["status"] != 403.0 || lines[2]["client"] != "unauthenticated" || lines[2]["status"] != 401.0 {
		t.Errorf("refusals: %v / %v", lines[1], lines[2])
	}
	if got, _ := json.Marshal(lines[3]["written"]); lines[3]["client"] != "ingest" || string(got) != `["app_events:u.os"]` {
		t.Errorf("push line: %v", lines[3])
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFairAdmissionPerClient: one client flooding the gateway with slow queries holds at most
// its share of the slots (three of four); another client's queries keep being served. Without
// the per-client share the flood held every slot and the other client's probes got 503.
func TestFairAdmissionPerClient(t *testing.T) {
	e := authEnv(t, func(c *gateway.Config) {
		c.MaxInFlight, c.MaxQueue, c.QueueWait = 4, 16, 50*time.Millisecond
		c.RequestTimeout = 30 * time.Second
	})
	br := &blockingReader{Reader: e.mem, entered: make(chan struct{}, 16), release: make(chan struct{})}
	e.rd.Reader = br
	flood := `{"query":"{ user(id: 1) { os } }"}` // a static read: held by the blocking reader
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _ := callKey(t, e.srv.URL, "/graphql", "ops-key", "application/json", flood)
			codes <- c
		}()
	}
	for range 3 {
		<-br.entered // the flooding client's share is held
	}
	select {
	case <-br.entered:
		t.Fatal("the flooding client got a fourth slot")
	case <-time.After(100 * time.Millisecond):
	}
	probe := `{"query":"{ user(id: 1) { recentClickedArticles(count: 1) { articleId } } }"}` // an action read: not held
	ok := 0
	for range 50 {
		if code, _ := callKey(t, e.srv.URL, "/graphql", "rec-key", "application/json", probe); code == http.StatusOK {
			ok++
		}
	}
	if ok != 50 {
		t.Errorf("%d of 50 queries of the other client served during the flood, want all", ok)
	}
	close(br.release)
	wg.Wait()
	close(codes)
	served, refused := 0, 0
	for c := range codes {
		switch c {
		case http.StatusOK:
			served++
		case http.StatusServiceUnavailable:
			refused++
		default:
			t.Errorf("flood request answered %d", c)
		}
	}
	if served < 3 || served+refused != 8 {
		t.Errorf("flood: %d served, %d refused", served, refused)
	}
}
