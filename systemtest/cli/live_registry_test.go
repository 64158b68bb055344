package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry/source"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// liveFeatures is live.yaml with the features live_1 ... live_n of user, each an Int read
// from the field of its name of user_updated events.
func liveFeatures(n int) string {
	var b strings.Builder
	b.WriteString("features:\n  user:\n")
	for k := 1; k <= n; k++ {
		fmt.Fprintf(&b, `    live_%d:
      featureType: static
      type: Int
      events:
        - { streamName: app_events, topic: user_cdc, subTopic: user_updated, entityId: user_id, timestamp: updated_at, fields: [ { name: live_%d } ] }
`, k, k)
	}
	return b.String()
}

func liveEvent(id int) []byte {
	ev := map[string]any{"event_name": "user_updated", "user_id": id, "updated_at": time.Now().UTC().Format(time.RFC3339Nano),
		"device": map[string]any{"os": fmt.Sprintf("os-%d", id)}}
	for k := 1; k <= 20; k++ {
		ev[fmt.Sprintf("live_%d", k)] = id
	}
	b, _ := json.Marshal(ev)
	return b
}

type liveAnswer struct {
	Data       json.RawMessage   `json:"data"`
	Errors     []json.RawMessage `json:"errors"`
	Extensions struct {
		Registry struct{ Fingerprint string }
	}
}

func postGraphQL(addr, body string) (liveAnswer, int, error) {
	resp, err := http.Post("http://"+addr+"/graphql", "application/json", strings.NewReader(body))
	if err != nil {
		return liveAnswer{}, 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a liveAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return a, resp.StatusCode, fmt.Errorf("%d: %s", resp.StatusCode, b)
	}
	return a, resp.StatusCode, nil
}

func gqlBody(q string) string { b, _ := json.Marshal(map[string]string{"query": q}); return string(b) }

// userFieldsQuery introspects User: its answer is what the registry serving it defines.
const userFieldsQuery = `{ __type(name: "User") { fields { name } } }`

// userFields is the answer userFieldsQuery must get from the example registry plus live_1..n.
func userFields(base []string, n int) string {
	names := append([]string(nil), base...)
	for k := 1; k <= n; k++ {
		names = append(names, fmt.Sprintf("live%d", k))
	}
	sort.Strings(names)
	fs := make([]map[string]string, len(names))
	for i, n := range names {
		fs[i] = map[string]string{"name": n}
	}
	b, _ := json.Marshal(map[string]any{"__type": map[string]any{"fields": fs}})
	return string(b)
}

func sortedFieldsJSON(data json.RawMessage) (string, []string) {
	var v struct {
		Type struct{ Fields []struct{ Name string } } `json:"__type"`
	}
	_ = json.Unmarshal(data, &v)
	var names []string
	for _, f := range v.Type.Fields {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	fs := make([]map[string]string, len(names))
	for i, n := range names {
		fs[i] = map[string]string{"name": n}
	}
	b, _ := json.Marshal(map[string]any{"__type": map[string]any{"fields": fs}})
	return string(b), names
}

// TestLiveRegistryUnderLoad: serve and the Kafka worker run over DynamoDB + Redis with the
// example registry in a directory; while README queries (≥ 200 req/s offered), pushes to
// /v1/events and events through Kafka run, live.yaml gains one feature 20 times. No request
// fails, every answer equals the reference of the registry that answered it (the README
// queries: their answers before any reload; the User type: the example's fields plus the
// live features of that registry), no event is lost or misrouted (every event's os is stored;
// each live feature holds the event's own value or, for events routed before the feature
// existed, nothing), and each new feature answers soon after its file is written (logged:
// p50 and max).
func TestLiveRegistryUnderLoad(t *testing.T) {
	testenv.Slow(t, "20 reloads under load with Kafka, DynamoDB and Redis")
	dir := t.TempDir()
	harness.CopyDir(t, "features", dir)
	stores := harness.TieredArgs(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "user_cdc", "featuregraph-ingest.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	addr, _ := harness.StartServe(t, append([]string{"--features", dir, "--demo", "--registry-extension", "--shutdown-drain", "0",
		"--max-in-flight", "256"}, stores...)...)
	metricsAddr := harness.FreeAddr(t)
	ictx, icancel := context.WithCancel(context.Background())
	idone := make(chan error, 1)
	var ilogs harness.SyncBuffer
	go func() {
		idone <- cli.Run(ictx, append([]string{"ingest", "--features", dir, "--kafka-brokers", strings.Join(cluster.ListenAddrs(), ","),
			"--kafka-topics", "user_cdc", "--metrics-addr", metricsAddr, "--write-linger", "1ms"}, stores...), &ilogs, &ilogs, harness.NoEnv)
	}()
	defer func() {
		icancel()
		if err := <-idone; err != nil {
			t.Errorf("ingest: %v\n%s", err, ilogs.String())
		}
	}()
	harness.WaitHTTP(t, "http://"+metricsAddr+"/metrics", idone)
	producer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic("user_cdc"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()

	// References of the README queries: their answers before any reload (they read data no
	// event of the test touches), asked twice to keep only deterministic ones.
	type ref struct{ body, answer string }
	var refs []ref
	for _, ex := range harness.ReadmeExamples(t) {
		if ex.Path != "/graphql" {
			continue
		}
		a1, c1, err1 := postGraphQL(addr, ex.Body)
		a2, _, err2 := postGraphQL(addr, ex.Body)
		if err1 != nil || err2 != nil || c1 != http.StatusOK || len(a1.Errors) > 0 || string(a1.Data) != string(a2.Data) {
			continue
		}
		refs = append(refs, ref{ex.Body, string(a1.Data)})
	}
	if len(refs) < 5 {
		t.Fatalf("only %d README queries answer deterministically", len(refs))
	}
	a, _, err := postGraphQL(addr, gqlBody(userFieldsQuery))
	if err != nil {
		t.Fatal(err)
	}
	_, baseFields := sortedFieldsJSON(a.Data)
	fpLive := map[string]int{a.Extensions.Registry.Fingerprint: 0} // fingerprint → live features in it
	var fpMu sync.Mutex

	var queries, failures, pushes, produced atomic.Int64
	var firstFailure atomic.Value
	fail := func(format string, args ...any) {
		failures.Add(1)
		firstFailure.CompareAndSwap(nil, fmt.Sprintf(format, args...))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// README queries and the User type, paced at 250 req/s in all (each worker waits for its
	// answer, so a slow answer lowers the rate: it is logged).
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tick := time.NewTicker(40 * time.Millisecond)
			defer tick.Stop()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				queries.Add(1)
				if i%4 == 0 {
					a, code, err := postGraphQL(addr, gqlBody(userFieldsQuery))
					if err != nil || code != http.StatusOK {
						fail("User type: %d %v", code, err)
						continue
					}
					fpMu.Lock()
					n, ok := fpLive[a.Extensions.Registry.Fingerprint]
					fpMu.Unlock()
					got, _ := sortedFieldsJSON(a.Data)
					if !ok || got != userFields(baseFields, n) {
						fail("User type from %s (%d live features known: %v): %s", a.Extensions.Registry.Fingerprint, n, ok, got)
					}
					continue
				}
				r := refs[i%len(refs)]
				a, code, err := postGraphQL(addr, r.body)
				if err != nil || code != http.StatusOK || string(a.Data) != r.answer {
					fail("README query %s: %d %v %s %s", r.body, code, err, a.Data, a.Errors)
				}
			}
		}(w)
	}
	// Pushes (ids from 100000) and Kafka events (ids from 200000), 25/s each.
	var pushedIDs, producedIDs []int
	var idsMu sync.Mutex
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for id := 100000; ; id++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			body := fmt.Sprintf(`{"streamName":"app_events","topic":"user_cdc","event":%s}`, liveEvent(id))
			resp, err := http.Post("http://"+addr+"/v1/events", "application/json", strings.NewReader(body))
			if err != nil {
				fail("push: %v", err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"accepted":1`) {
				fail("push %d: %d %s", id, resp.StatusCode, b)
				continue
			}
			pushes.Add(1)
			idsMu.Lock()
			pushedIDs = append(pushedIDs, id)
			idsMu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for id := 200000; ; id++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if err := producer.ProduceSync(context.Background(), &kgo.Record{Value: liveEvent(id)}).FirstErr(); err != nil {
				fail("produce: %v", err)
				continue
			}
			produced.Add(1)
			idsMu.Lock()
			producedIDs = append(producedIDs, id)
			idsMu.Unlock()
		}
	}()

	start := time.Now() // the load started just now
	time.Sleep(500 * time.Millisecond)
	var latencies []time.Duration
	live := filepath.Join(dir, "live.yaml")
	for n := 1; n <= 20; n++ {
		tmp := filepath.Join(dir, ".live.yaml.tmp")
		if err := os.WriteFile(tmp, []byte(liveFeatures(n)), 0o644); err != nil {
			t.Fatal(err)
		}
		written := time.Now()
		if err := os.Rename(tmp, live); err != nil {
			t.Fatal(err)
		}
		s, err := source.NewDir(dir, 0).Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fpMu.Lock()
		fpLive[s.Version] = n
		fpMu.Unlock()
		q := gqlBody(fmt.Sprintf(`{ user(id: 1) { live%d } }`, n))
		for {
			a, code, err := postGraphQL(addr, q)
			if err == nil && code == http.StatusOK && len(a.Errors) == 0 {
				break
			}
			if time.Since(written) > 20*time.Second {
				t.Fatalf("live_%d not answered 20 s after its file was written: %v %s", n, err, a.Errors)
			}
			time.Sleep(2 * time.Millisecond)
		}
		latencies = append(latencies, time.Since(written))
		time.Sleep(300 * time.Millisecond)
	}
	elapsed := time.Since(start)
	// The worker takes the last registry too.
	final := ""
	fpMu.Lock()
	for fp, n := range fpLive {
		if n == 20 {
			final = fp
		}
	}
	fpMu.Unlock()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if harness.MetricValue(harness.ScrapeText(t, "http://"+metricsAddr+"/metrics"), "featuregraph_registry_info", `fingerprint="`+final+`"`) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ingest worker did not take the last registry:\n%s", ilogs.String())
		}
	}
	// Events sent now must have every live feature.
	time.Sleep(200 * time.Millisecond)
	idsMu.Lock()
	lastPush, lastProduced := len(pushedIDs), len(producedIDs)
	idsMu.Unlock()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	rate := float64(queries.Load()) / time.Since(start).Seconds()
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed or answered other than their reference; first: %v", failures.Load(), queries.Load()+pushes.Load(), firstFailure.Load())
	}

	// Every event stored, each live feature with its own event's value (or none, for the
	// features that did not exist when it was routed).
	check := func(ids []int, full int, what string) {
		for i := 0; i < len(ids); i += 100 {
			batch := ids[i:min(i+100, len(ids))]
			var sel strings.Builder
			for k := 1; k <= 20; k++ {
				fmt.Fprintf(&sel, " live%d", k)
			}
			idList, _ := json.Marshal(batch)
			q := gqlBody(fmt.Sprintf(`{ users(ids: %s) { id os%s } }`, idList, sel.String()))
			var a liveAnswer
			var users []map[string]any
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				a, _, err = postGraphQL(addr, q)
				if err != nil {
					t.Fatal(err)
				}
				var v struct{ Users []map[string]any }
				_ = json.Unmarshal(a.Data, &v)
				users = v.Users
				stored := len(users) == len(batch)
				for _, u := range users {
					stored = stored && u != nil && u["os"] == fmt.Sprintf("os-%v", u["id"])
				}
				if stored {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s events lost: %s %s", what, a.Data, a.Errors)
				}
			}
			for j, u := range users {
				for k := 1; k <= 20; k++ {
					v := u[fmt.Sprintf("live%d", k)]
					if v != nil && fmt.Sprint(v) != fmt.Sprint(batch[j]) {
						t.Fatalf("%s event %d: live%d = %v (misrouted)", what, batch[j], k, v)
					}
					if i+j >= full && v == nil {
						t.Fatalf("%s event %d, sent after both processes took the last registry: live%d not stored", what, batch[j], k)
					}
				}
			}
		}
	}
	check(pushedIDs, lastPush, "pushed")
	check(producedIDs, lastProduced, "Kafka")

	sorted := append([]time.Duration(nil), latencies...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	t.Logf("%.0f queries/s offered-and-answered over %s, %d pushes, %d Kafka events, 20 reloads, 0 failures; file written → new feature answered: p50 %s, max %s (all: %v)",
		rate, elapsed.Round(time.Millisecond), pushes.Load(), produced.Load(), sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond), latencies)
}

// TestLiveRegistryS3: serve reads the registry from an S3 prefix (an in-process S3), polls it,
// and takes each upload that adds a feature; a breaking upload is refused and the old schema
// keeps answering. Logs the time from upload to the new feature answering.
func TestLiveRegistryS3(t *testing.T) {
	testenv.Slow(t, "10 S3 reloads at a 250ms poll")
	be := s3mem.New()
	if err := be.CreateBucket("registry"); err != nil {
		t.Fatal(err)
	}
	srv := httptestServer(t, gofakes3.New(be).Server())
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	put := func(key string, b []byte) {
		if _, err := be.PutObject("registry", "prod/"+key, map[string]string{}, bytes.NewReader(b), int64(len(b)), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"entities.yaml", "user.yaml", "article.yaml"} {
		b, err := os.ReadFile(filepath.Join("features", n))
		if err != nil {
			t.Fatal(err)
		}
		put(n, b)
	}
	addr, _ := harness.StartServe(t, "--features", "s3://registry/prod/", "--registry-s3-endpoint", srv, "--registry-s3-path-style",
		"--registry-poll", "250ms", "--shutdown-drain", "0")
	var latencies []time.Duration
	for n := 1; n <= 10; n++ {
		put("live.yaml", []byte(liveFeatures(n)))
		written := time.Now()
		q := gqlBody(fmt.Sprintf(`{ user(id: 1) { live%d } }`, n))
		for {
			a, code, err := postGraphQL(addr, q)
			if err == nil && code == http.StatusOK && len(a.Errors) == 0 {
				break
			}
			if time.Since(written) > 20*time.Second {
				t.Fatalf("live_%d not answered 20 s after its upload: %v %s", n, err, a.Errors)
			}
			time.Sleep(5 * time.Millisecond)
		}
		latencies = append(latencies, time.Since(written))
	}
	// A breaking upload (live_10 removed) is refused; /readyz says so; live_10 still answers.
	put("live.yaml", []byte(liveFeatures(9)))
	var ready map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, body := harness.Get(t, "http://"+addr+"/readyz")
		_ = json.Unmarshal([]byte(body), &ready)
		reg, _ := ready["registry"].(map[string]any)
		last, _ := reg["lastReload"].(map[string]any)
		if last["outcome"] == "refused" {
			if ps := fmt.Sprint(last["problems"]); !strings.Contains(ps, "field-removed User.live10") {
				t.Fatalf("refusal problems: %s", ps)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the breaking upload is not refused: %v", ready)
		}
	}
	if a, _, err := postGraphQL(addr, gqlBody(`{ user(id: 1) { live10 } }`)); err != nil || len(a.Errors) > 0 {
		t.Fatalf("the old schema no longer answers after a refused upload: %v %s", err, a.Errors)
	}
	put("accepted-changes.txt", []byte("field-removed User.live10\n"))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if a, _, err := postGraphQL(addr, gqlBody(`{ user(id: 1) { live10 } }`)); err == nil && len(a.Errors) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the accepted removal is not taken")
		}
	}
	sorted := append([]time.Duration(nil), latencies...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	t.Logf("S3 (poll 250ms): upload → new feature answered: p50 %s, max %s (all: %v)", sorted[len(sorted)/2].Round(time.Millisecond),
		sorted[len(sorted)-1].Round(time.Millisecond), latencies)
}

func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
