package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/registry/check"
)

// liveStack is what serve starts over a live registry: the store (memory), the gateway, the
// push endpoint, all following reloads.
type liveStack struct {
	live *LiveRegistry
	g    *gateway.Gateway
	srv  *httptest.Server
	m    *metrics.Metrics
	logs *syncBuffer
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
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startLive(t testing.TB, dir string, lo LiveOptions, run bool) *liveStack {
	t.Helper()
	return startLiveOffline(t, dir, lo, run, nil)
}

// startLiveOffline is startLive with an offline pipeline (nil: no --offline-sink) following
// the reloads as serve wires it.
func startLiveOffline(t testing.TB, dir string, lo LiveOptions, run bool, off *offline.Pipeline) *liveStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	m := metrics.New()
	rt, err := SetupLive(ctx, log, dir, lo, &StoreOptions{}, m)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.DefaultConfig()
	cfg.Metrics, cfg.RegistryExtension, cfg.RegistryStatus = m, true, rt.Live.Status
	if off != nil {
		cfg.ServedLog = off.ServedLog()
	}
	g, err := gateway.New(cfg, rt.Reg, rt.Store, rt.Store, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := FirstGeneration(g, rt.Live); err != nil {
		t.Fatal(err)
	}
	router := NewLiveRouter(rt.Live, m)
	closeIngest, err := MountIngestRouter(g, router, router.Observer, rt.Store, m, log, off.Tap())
	if err != nil {
		t.Fatal(err)
	}
	rt.Live.Add(OfflinePart(off, true))
	rt.Live.Add(GatewayPart(g))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if run {
			rt.Live.Run(ctx)
		}
	}()
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		_ = closeIngest(context.Background())
		rt.Store.Close()
	})
	return &liveStack{live: rt.Live, g: g, srv: srv, m: m, logs: logs}
}

// answer is a GraphQL answer with the registry that answered it.
type answer struct {
	Data       json.RawMessage `json:"data"`
	Errors     []struct{ Message string }
	Extensions struct {
		Registry struct{ Fingerprint string }
	}
}

func (s *liveStack) query(t testing.TB, q string) answer {
	t.Helper()
	a, err := postQuery(s.srv.URL, q)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func postQuery(url, q string) (answer, error) {
	body, _ := json.Marshal(map[string]string{"query": q})
	resp, err := http.Post(url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return answer{}, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return a, nil
}

func (s *liveStack) push(t testing.TB, events string) {
	t.Helper()
	resp, err := http.Post(s.srv.URL+"/v1/events", "application/json", strings.NewReader(events))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push: %d %s", resp.StatusCode, b)
	}
}

func (s *liveStack) readyz(t testing.TB) map[string]any {
	t.Helper()
	resp, err := http.Get(s.srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

const liveBase = `
entities:
  user: { prefix: u, idType: Int, exampleId: 1 }
streams:
  app: { subTopicField: event_name }
features:
  user:
    os:
      featureType: static
      type: String
      events:
        - { streamName: app, topic: user_cdc, subTopic: user_updated, entityId: user_id, fields: [ { name: os } ] }
`

// liveFeature is a static Int feature read from the field of its name.
func liveFeature(name string) string {
	return fmt.Sprintf(`
    %s:
      featureType: static
      type: Int
      events:
        - { streamName: app, topic: user_cdc, subTopic: user_updated, entityId: user_id, fields: [ { name: %s } ] }
`, name, name)
}

func writeFile(t testing.TB, p, s string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp")
	if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil { // as editors and kubectl cp do: never a half-written file
		t.Fatal(err)
	}
}

func metricValue(t testing.TB, m *metrics.Metrics, name, label, value string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					if mt.Counter != nil {
						return mt.Counter.GetValue()
					}
					return mt.Gauge.GetValue()
				}
			}
		}
	}
	return 0
}

// A feature added to the YAML of the running process's directory is ingested and answered
// without a restart; /readyz, the metrics and the answers' extensions name the new registry.
func TestLiveReloadAddsFeature(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase)
	s := startLive(t, dir, LiveOptions{Watch: true}, true)
	first := s.live.Serving().Fingerprint
	if a := s.query(t, `{ user(id: 1) { age } }`); len(a.Errors) == 0 || !strings.Contains(a.Errors[0].Message, "age") {
		t.Fatalf("age answered before it was defined: %+v", a)
	}
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase+liveFeature("age"))
	start := time.Now()
	var a answer
	for {
		if a = s.query(t, `{ user(id: 1) { age } }`); len(a.Errors) == 0 {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the new feature is not served after 10 s: %+v\n%s", a, s.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("file written → new feature answered: %s", time.Since(start))
	gen := s.live.Serving()
	if gen.Fingerprint == first || a.Extensions.Registry.Fingerprint != gen.Fingerprint {
		t.Fatalf("fingerprints: first %s, serving %s, answer %s", first, gen.Fingerprint, a.Extensions.Registry.Fingerprint)
	}
	s.push(t, `{"streamName":"app","topic":"user_cdc","event":{"event_name":"user_updated","user_id":1,"os":"ios","age":41}}`)
	if a := s.query(t, `{ user(id: 1) { os age } }`); string(a.Data) != `{"user":{"os":"ios","age":41}}` {
		t.Fatalf("after a push with the new rules: %s %+v", a.Data, a.Errors)
	}
	reg := s.readyz(t)["registry"].(map[string]any)
	last, _ := reg["lastReload"].(map[string]any)
	if reg["fingerprint"] != gen.Fingerprint || last["outcome"] != "taken" || reg["source"] != dir {
		t.Fatalf("/readyz registry: %v", reg)
	}
	if metricValue(t, s.m, "featuregraph_registry_info", "fingerprint", gen.Fingerprint) != 1 ||
		metricValue(t, s.m, "featuregraph_registry_info", "fingerprint", first) != 0 ||
		metricValue(t, s.m, "featuregraph_registry_reloads_total", "outcome", "taken") != 1 {
		t.Fatal("registry metrics do not say the new registry is served")
	}
	resp, err := http.Get(s.srv.URL + "/catalog?format=json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), gen.Fingerprint) || !strings.Contains(string(b), `"age"`) {
		t.Fatalf("the catalog does not show the new registry: %s", b)
	}
}

// A breaking change (a feature removed, a type changed) is refused, says why, is counted and
// shown, and the old registry keeps answering; accepted in the registry's
// accepted-changes.txt (or --accept-file), it is taken. An invalid registry is refused with
// its problems.
func TestLiveRefusesBreakingUntilAccepted(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase+liveFeature("age"))
	acceptFile := filepath.Join(t.TempDir(), "accepted.txt")
	s := startLive(t, dir, LiveOptions{Watch: true, AcceptFile: acceptFile}, false)
	writeFile(t, acceptFile, "# none yet\n")
	ctx := context.Background()
	before := s.live.Serving().Fingerprint

	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase)
	if o := s.live.Reload(ctx); o != check.Refused {
		t.Fatalf("removing a feature: %s", o)
	}
	if a := s.query(t, `{ user(id: 1) { age } }`); len(a.Errors) > 0 || a.Extensions.Registry.Fingerprint != before {
		t.Fatalf("the old registry does not answer after a refused reload: %+v", a)
	}
	st := s.live.Status()
	if st.Fingerprint != before || st.Last == nil || st.Last.Outcome != "refused" || len(st.Last.Problems) != 1 ||
		!strings.Contains(st.Last.Problems[0], `"field-removed User.age"`) {
		t.Fatalf("status after the refusal: %+v", st.Last)
	}
	if !strings.Contains(s.logs.String(), "field User.age was removed") {
		t.Fatalf("the refusal is not logged with its problem:\n%s", s.logs)
	}
	// The same files again are not checked (nor counted) again.
	if o := s.live.Reload(ctx); o != Unchanged {
		t.Fatalf("the refused files again: %s", o)
	}
	// A changed type too.
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase+strings.Replace(liveFeature("age"), "type: Int", "type: String", 1))
	if o := s.live.Reload(ctx); o != check.Refused || !strings.Contains(strings.Join(s.live.Status().Last.Problems, "\n"), `"value-type-changed user.age"`) {
		t.Fatalf("changing a type: %s %v", o, s.live.Status().Last.Problems)
	}
	// Invalid YAML.
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase+"    broken: { featureType: sometimes }\n")
	if o := s.live.Reload(ctx); o != check.Invalid || !strings.Contains(strings.Join(s.live.Status().Last.Problems, "\n"), "r.yaml:") {
		t.Fatalf("invalid registry: %s %v", o, s.live.Status().Last.Problems)
	}
	if metricValue(t, s.m, "featuregraph_registry_reloads_total", "outcome", "refused") != 2 ||
		metricValue(t, s.m, "featuregraph_registry_reloads_total", "outcome", "invalid") != 1 {
		t.Fatal("refusals are not counted")
	}
	// Accepted inside the registry.
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase)
	writeFile(t, filepath.Join(dir, "accepted-changes.txt"), "field-removed User.age\n")
	if o := s.live.Reload(ctx); o != check.Taken {
		t.Fatalf("accepted removal: %s %v", o, s.live.Status().Last.Problems)
	}
	if a := s.query(t, `{ user(id: 1) { age } }`); len(a.Errors) == 0 {
		t.Fatalf("the removed feature still answers: %+v", a)
	}
	// Accepted by --accept-file (re-read at each reload).
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase+liveFeature("age"))
	if o := s.live.Reload(ctx); o != check.Taken {
		t.Fatalf("adding back: %s", o)
	}
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase)
	if o := s.live.Reload(ctx); o != check.Taken { // accepted-changes.txt still accepts it
		t.Fatalf("removal accepted by the registry's file: %s", o)
	}
	os.Remove(filepath.Join(dir, "accepted-changes.txt"))
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase+liveFeature("age"))
	s.live.Reload(ctx)
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase)
	if o := s.live.Reload(ctx); o != check.Refused {
		t.Fatalf("removal without acceptance: %s", o)
	}
	writeFile(t, acceptFile, "field-removed User.age\n")
	if o := s.live.Reload(ctx); o != check.Taken {
		t.Fatalf("removal accepted by --accept-file: %s %v", o, s.live.Status().Last.Problems)
	}
}

// renamed is the registry with the feature score, or (b) with it renamed to rating: a
// breaking change both ways, accepted in the registry.
func renamed(b bool) string {
	if b {
		return liveBase + liveFeature("rating")
	}
	return liveBase + liveFeature("score")
}

const renameAccepts = "feature-renamed user.score\nfield-renamed User.score\nfeature-renamed user.rating\nfield-renamed User.rating\n"

// A reload racing requests never mixes two registries in one answer: while the registry
// flips between one with score and one with it renamed to rating, every answer's schema
// (introspected in the same request) is the one of the registry its extensions name, and
// its data is read through the same.
func TestLiveReloadNeverMixesRegistries(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "accepted-changes.txt"), renameAccepts)
	writeFile(t, filepath.Join(dir, "r.yaml"), renamed(false))
	s := startLive(t, dir, LiveOptions{Watch: true}, false)
	fields := map[string]string{} // fingerprint → the feature it has
	fields[s.live.Serving().Fingerprint] = "score"
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var answers, mixed atomic.Int64
	var firstBad atomic.Value
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				a, err := postQuery(s.srv.URL, `{ __type(name: "User") { fields { name } } user(id: 1) { os } }`)
				if err != nil {
					firstBad.CompareAndSwap(nil, err.Error())
					mixed.Add(1)
					continue
				}
				answers.Add(1)
				mu.Lock()
				want, ok := fields[a.Extensions.Registry.Fingerprint]
				mu.Unlock()
				got := string(a.Data)
				other := map[string]string{"score": "rating", "rating": "score"}[want]
				if !ok || len(a.Errors) > 0 || !strings.Contains(got, `"`+want+`"`) || strings.Contains(got, `"`+other+`"`) {
					firstBad.CompareAndSwap(nil, fmt.Sprintf("fingerprint %s (%s): %s %v", a.Extensions.Registry.Fingerprint, want, got, a.Errors))
					mixed.Add(1)
				}
			}
		}()
	}
	for i := 1; i <= 40; i++ {
		b := i%2 == 1
		writeFile(t, filepath.Join(dir, "r.yaml"), renamed(b))
		// The fingerprint is known before the registry is published: answers may name it.
		snap, err := s.live.src.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		fields[snap.Version] = map[bool]string{true: "rating", false: "score"}[b]
		mu.Unlock()
		if o := s.live.Reload(context.Background()); o != check.Taken {
			t.Fatalf("reload %d: %s %v", i, o, s.live.Status().Last.Problems)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if answers.Load() < 40 || mixed.Load() > 0 {
		t.Fatalf("%d answers, %d mixed or failed; first: %v", answers.Load(), mixed.Load(), firstBad.Load())
	}
	t.Logf("%d answers over 40 reloads, none mixed", answers.Load())
}

// Memory stays flat over 200 reloads: the old generations (schema, plans, caches, catalog,
// dispatcher) are released once no request uses them.
func TestLiveReloadMemoryFlat(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "accepted-changes.txt"), renameAccepts)
	writeFile(t, filepath.Join(dir, "r.yaml"), renamed(false))
	s := startLive(t, dir, LiveOptions{Watch: true}, false)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var at20 uint64
	for i := 1; i <= 200; i++ {
		writeFile(t, filepath.Join(dir, "r.yaml"), renamed(i%2 == 1))
		if o := s.live.Reload(context.Background()); o != check.Taken {
			t.Fatalf("reload %d: %s", i, o)
		}
		field := map[bool]string{true: "rating", false: "score"}[i%2 == 1]
		// Fill the new generation's caches.
		if a := s.query(t, `{ user(id: 1) { os `+field+` } }`); len(a.Errors) > 0 {
			t.Fatalf("reload %d: %v", i, a.Errors)
		}
		if i == 20 {
			at20 = heap()
		}
	}
	at200 := heap()
	t.Logf("heap after 20 reloads %d KiB, after 200 %d KiB", at20>>10, at200>>10)
	// 180 more generations kept would be many MiB (each holds a schema, plans, two caches, a
	// catalog); allow noise of 2 MiB.
	if at200 > at20+2<<20 {
		t.Fatalf("heap grew from %d KiB to %d KiB over 180 reloads: old registries are kept", at20>>10, at200>>10)
	}
}
