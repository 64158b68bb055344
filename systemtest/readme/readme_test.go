package readme_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// The README's examples are produced by these tests:
//   - every ```yaml block validates as a registry on its own, or, when the line before it is
//     `<!-- registry fragment -->`, merged with the example registry (features/); a block after
//     `<!-- not a registry: ... -->` (a CI workflow) is not checked;
//   - every ```graphql operation is followed by its answer (a ```json block with "data"; a
//     ```json block before it without "data" is its variables), and the demo server gives
//     exactly that answer;
//   - every curl command of a ```sh block that is followed by `# {...}` lines gets that answer
//     from the demo server, in README order (a push, then the query that reads it);
//   - the Kafka walk-through's event, produced to Kafka, gives the answer shown.

func TestReadmeYAMLValidates(t *testing.T) {
	example := map[string][]byte{}
	err := filepath.WalkDir("features", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			example[p], err = os.ReadFile(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range harness.ReadmeFences(t) {
		if f.Lang != "yaml" {
			continue
		}
		if strings.HasPrefix(f.Before, "<!-- not a registry") {
			continue
		}
		n++
		name := fmt.Sprintf("README.md:%d", f.Line)
		files := map[string][]byte{name: []byte(f.Body)}
		if f.Before == harness.FragmentMarker {
			for k, v := range example {
				files[k] = v
			}
		}
		if _, err := registry.Parse(files); err != nil {
			t.Errorf("%s (fragment: %t): %v", name, f.Before == harness.FragmentMarker, err)
		}
	}
	if n == 0 {
		t.Fatal("README.md has no yaml block")
	}
}

func TestReadmeExamplesAnswerAsShown(t *testing.T) {
	examples := harness.ReadmeExamples(t)
	t.Logf("%d README requests with answers", len(examples))
	if len(examples) < 4 {
		t.Fatalf("found %d README examples with answers, want at least 4", len(examples))
	}
	addr := harness.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- cli.Run(ctx, []string{"serve", "--addr", addr}, &logs, &logs, harness.NoEnv) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, logs.String())
		}
	}()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start\n%s", logs.String())
		}
	}
	for _, ex := range examples {
		if got := ex.Send(t, addr); !harness.SameJSON(got, ex.Answer) {
			t.Errorf("%s: %s %s\n got %s\nwant %s", ex.Where, ex.Method, ex.Path, got, ex.Answer)
		}
	}
	// The README's push of an event without device.os is counted as a skip.
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := `featuregraph_ingest_skipped_total{entity="user",feature="os",reason="missing_path"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

// The Kafka walk-through: the event the README produces with kcat, consumed by `featuregraph
// ingest`, gives the answer the README shows.
func TestReadmeKafkaExample(t *testing.T) {
	var block *harness.Fence
	for _, f := range harness.ReadmeFences(t) {
		if f.Lang == "sh" && strings.Contains(f.Body, "kcat") {
			block = &f
			break
		}
	}
	if block == nil {
		t.Fatal("README.md has no Kafka example (a sh block with kcat)")
	}
	var event, topic string
	var query harness.ReadmeExample
	for _, c := range harness.ShellCommands(block.Body) {
		switch {
		case c.Words[0] == "echo":
			event = c.Words[1]
		case c.Words[0] == "kcat":
			for i, w := range c.Words {
				if w == "-t" && i+1 < len(c.Words) {
					topic = c.Words[i+1]
				}
			}
		case c.Words[0] == "curl":
			query = harness.CurlExample(t, fmt.Sprintf("README.md:%d", block.Line), c.Words)
			query.Answer = c.Answer
		}
	}
	if event == "" || topic == "" || query.Answer == "" {
		t.Fatalf("README.md:%d: want an echo | kcat -t TOPIC and a curl with its answer; got event %q topic %q answer %q", block.Line, event, topic, query.Answer)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic, "featuregraph-ingest.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	// Its own Redis and table: other tests write the same user to the shared ones.
	stores := []string{"--dynamodb-endpoint", testenv.DynamoDB(t), "--dynamodb-table", fmt.Sprintf("fg_readme_%d", time.Now().UnixNano())}
	var out bytes.Buffer
	if err := cli.Run(context.Background(), append([]string{"init-table"}, stores...), &out, &out, harness.NoEnv); err != nil {
		t.Fatalf("init-table: %v\n%s", err, out.String())
	}
	stores = append(stores, "--redis-addr", testenv.NewRedis(t).Addr())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- cli.Run(ctx, append([]string{"ingest", "--kafka-brokers", strings.Join(cluster.ListenAddrs(), ","), "--metrics-addr", ""}, stores...), &logs, &logs, harness.NoEnv)
	}()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte(event)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var q struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal([]byte(query.Body), &q); err != nil {
		t.Fatalf("the README's query body: %v", err)
	}
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = harness.ServeAndQuery(t, stores, q.Query)[0]; harness.SameJSON(got, query.Answer) {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ingest: %v\n%s", err, logs.String())
	}
	if !harness.SameJSON(got, query.Answer) {
		t.Fatalf("got %s\nwant %s", got, query.Answer)
	}
}

// The README's `go run . validate` example: a registry with a misspelt key and a misspelt join
// target prints exactly the problems shown.
func TestReadmeValidateOutput(t *testing.T) {
	const cmd = "$ go run . validate --features ./my-features\n"
	var shown string
	for _, f := range harness.ReadmeFences(t) {
		if strings.HasPrefix(f.Body, cmd) {
			shown = strings.TrimPrefix(f.Body, cmd)
		}
	}
	if shown == "" {
		t.Fatalf("README.md has no block starting with %q", cmd)
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "my-features")
	files := map[string]string{
		"entities.yaml": "entities:\n  user: { prefix: u }\n  article: { prefix: a }\n",
		"user.yaml": `features:
  user:
    recent_clicks:
      maxcount: 100
      featureType: action
      fields:
        - { name: source, type: String }
        # the article clicked
        - { name: article_id, type: Int, join: articel }
`,
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	err := cli.Run(context.Background(), []string{"validate", "--features", dir}, &out, &out, harness.NoEnv)
	if err == nil {
		t.Fatalf("the registry validated:\n%s", out.String())
	}
	got := strings.ReplaceAll(out.String()+"featuregraph: "+err.Error()+"\n", tmp+"/", "")
	if got != shown {
		t.Errorf("validate printed\n%s\nthe README shows\n%s", got, shown)
	}
}
