package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/systemtest/harness"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// An event produced to Kafka is consumed by `featuregraph ingest` and answered by
// `featuregraph serve` on the same stores (the README's walk-through).
func TestKafkaEventIsServedAfterIngest(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "client_event_cleansed", "featuregraph-ingest.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := strings.Join(cluster.ListenAddrs(), ",")
	stores := harness.TieredArgs(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- cli.Run(ctx, append([]string{"ingest", "--kafka-brokers", brokers, "--kafka-topics", "client_event_cleansed=client_event", "--metrics-addr", ""}, stores...), &logs, &logs, harness.NoEnv)
	}()

	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i, aid := range []int{501, 502, 501} {
		ev := fmt.Sprintf(`{"event_name":"view_article_v1","user_id":77,"country_code":"kr","event_time":%q,"params":{"article_id_v1":%d,"source":"feed"}}`,
			now.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), aid)
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "client_event_cleansed", Value: []byte(ev)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "client_event_cleansed", Value: []byte(`not json`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	want := `{"data":{"user":{"recentClickedArticles":[{"articleId":501},{"articleId":502}]}}}`
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = harness.ServeAndQuery(t, stores, `{ user(id: 77) { recentClickedArticles { articleId } } }`)[0]
		if got == want {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ingest returned %v\n%s", err, logs.String())
	}
	if got != want {
		t.Fatalf("got %s, want %s\n%s", got, want, logs.String())
	}
	// The poison record went to the dead-letter topic.
	dl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics("featuregraph-ingest.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer pcancel()
	fetches := dl.PollFetches(pctx)
	if fetches.NumRecords() != 1 || string(fetches.Records()[0].Value) != "not json" {
		t.Fatalf("want the poison record in the DLQ, got %d records (%v)", fetches.NumRecords(), fetches.Errors())
	}
}

// An event pushed over HTTP is answered by the next query.
func TestPushedEventIsServed(t *testing.T) {
	addr := harness.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- cli.Run(ctx, []string{"serve", "--addr", addr, "--shutdown-drain", "0"}, &logs, &logs, harness.NoEnv)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	body := `[{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated",
		"event":{"user_id":9,"device":{"os":"android"},"region":{"id":4},"verified":true,"updated_at":"2026-11-01T00:00:00Z"}},
		{"topic":"user_cdc","event":"oops"}]`
	var res *http.Response
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err = http.Post("http://"+addr+"/v1/events", "application/json", strings.NewReader(body)); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, _ = out.ReadFrom(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(out.String(), `"accepted":1`) || !strings.Contains(out.String(), `"rejected":1`) {
		t.Fatalf("push: %d %s", res.StatusCode, out.String())
	}
	q := `{"query":"{ user(id: 9) { os regionId isVerified } }"}`
	res, err = http.Post("http://"+addr+"/graphql", "application/json", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	_, _ = out.ReadFrom(res.Body)
	res.Body.Close()
	if got := strings.TrimSpace(out.String()); got != `{"data":{"user":{"os":"android","regionId":4,"isVerified":true}}}` {
		t.Fatalf("query after push: %s", got)
	}
}

// `featuregraph load` writes a CSV of feature values into the stores; a bad row is rejected
// with its reason, the rest loads, and load exits non-zero unless --max-rejected allows it.
func TestLoadCSVIntoStores(t *testing.T) {
	stores := harness.TieredArgs(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "articles.csv")
	os.WriteFile(file, []byte("entity,id,feature,value,timestamp\n"+
		"article,900,price,12000,2026-11-01T00:00:00Z\n"+
		"article,900,category,books,2026-11-01T00:00:00Z\n"+
		"article,901,price,not-a-number,2026-11-01T00:00:00Z\n"+
		"user,900,notification_keywords,\"[\"\"go\"\",\"\"yaml\"\"]\",2026-11-01T00:00:00Z\n"), 0o644)
	var out bytes.Buffer
	// A rejected row makes load exit non-zero (a pipeline must notice), after the summary.
	err := cli.Run(context.Background(), append([]string{"load", "--file", file}, stores...), &out, &out, harness.NoEnv)
	if err == nil || !strings.Contains(err.Error(), "1 of 4 records rejected, more than --max-rejected 0 allows; see "+file+".rejected.jsonl") {
		t.Fatalf("load with a rejected row: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "1 rejected") {
		t.Fatalf("the summary, reporting 1 rejected row, should come last:\n%s", out.String())
	}
	out.Reset()
	if err := cli.Run(context.Background(), append([]string{"load", "--file", file, "--max-rejected", "1"}, stores...), &out, &out, harness.NoEnv); err != nil {
		t.Fatalf("load --max-rejected 1: %v\n%s", err, out.String())
	}
	rej, err := os.ReadFile(file + ".rejected.jsonl")
	if err != nil || !strings.Contains(string(rej), "not-a-number") {
		t.Fatalf("rejects file: %v %s", err, rej)
	}
	got := harness.ServeAndQuery(t, stores, `{ articles(ids: [900, 901]) { price category } user(id: 900) { notificationKeywords } }`)[0]
	if want := `{"data":{"articles":[{"category":"books","price":12000},{"category":null,"price":null}],"user":{"notificationKeywords":["go","yaml"]}}}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// --production refuses the in-memory store, and serves no push endpoint unless --push asks.
func TestProductionMode(t *testing.T) {
	err := cli.Run(context.Background(), []string{"serve", "--production", "--addr", harness.FreeAddr(t)}, io.Discard, io.Discard, harness.NoEnv)
	if err == nil || !strings.Contains(err.Error(), "--production needs a store") {
		t.Fatalf("want --production to refuse the in-memory store, got %v", err)
	}
	stores := harness.TieredArgs(t)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--production", "--auth=none"}, http.StatusNotFound},
		{[]string{"--production", "--auth=none", "--push"}, http.StatusBadRequest}, // served: an empty body is a 400
	} {
		tc.args = append(tc.args, stores...)
		addr := harness.FreeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- cli.Run(ctx, append([]string{"serve", "--addr", addr, "--shutdown-drain", "0"}, tc.args...), io.Discard, io.Discard, harness.NoEnv)
		}()
		var res *http.Response
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if res, err = http.Post("http://"+addr+"/v1/events", "application/json", strings.NewReader("")); err == nil {
				break
			}
		}
		cancel()
		if serr := <-done; serr != nil {
			t.Fatalf("%v: serve: %v", tc.args, serr)
		}
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Fatalf("%v: POST /v1/events = %d, want %d", tc.args, res.StatusCode, tc.want)
		}
	}
}
