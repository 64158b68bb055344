package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// TestKafkaCountsOnlyStoredEvents: `featuregraph ingest` with DynamoDB failing (its connections
// reset by a fault proxy) polls and dispatches the events but counts none of them in
// featuregraph_ingest_events_total{outcome="written"} (nor their writes) until the store accepts
// them; once DynamoDB is back every event is counted once, as written.
func TestKafkaCountsOnlyStoredEvents(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "client_event_cleansed", "featuregraph-ingest.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	endpoint := testenv.DynamoDB(t)
	table := fmt.Sprintf("fg_count_%d", time.Now().UnixNano())
	var out bytes.Buffer
	if err := cli.Run(context.Background(), []string{"init-table", "--dynamodb-endpoint", endpoint, "--dynamodb-table", table}, &out, &out, harness.NoEnv); err != nil {
		t.Fatalf("init-table: %v\n%s", err, out.String())
	}
	proxy := testenv.NewFaultProxy(t, strings.TrimPrefix(endpoint, "http://"))
	metricsAddr := harness.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs harness.SyncBuffer
	go func() {
		done <- cli.Run(ctx, []string{"ingest", "--kafka-brokers", strings.Join(cluster.ListenAddrs(), ","),
			"--kafka-topics", "client_event_cleansed=client_event", "--metrics-addr", metricsAddr,
			"--dynamodb-endpoint", "http://" + proxy.Addr(), "--dynamodb-table", table, "--redis-addr", testenv.Redis(t)}, &logs, &logs, harness.NoEnv)
	}()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	url := "http://" + metricsAddr + "/metrics"
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "kafka: consuming"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not start\n%s", logs.String())
		}
	}
	written := func() (events, writes float64) {
		body := harness.ScrapeText(t, url)
		return harness.MetricValue(body, "featuregraph_ingest_events_total", `outcome="written",source="kafka"`),
			harness.MetricValue(body, "featuregraph_ingest_writes_total", `source="kafka"`)
	}

	proxy.Set(testenv.Reset, 0)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const n = 5
	for i := range n {
		ev := fmt.Sprintf(`{"event_name":"view_article_v1","user_id":%d,"country_code":"kr","event_time":"2026-11-21T10:00:0%dZ","params":{"article_id_v1":101,"source":"feed"}}`, 300+i, i)
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "client_event_cleansed", Value: []byte(ev)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); strings.Count(logs.String(), "store write failed, retrying") < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the writer never retried with DynamoDB down\n%s", logs.String())
		}
	}
	if ev, wr := written(); ev != 0 || wr != 0 {
		t.Fatalf("with DynamoDB down: %v events and %v writes counted as written (want 0: nothing is stored)", ev, wr)
	}

	proxy.Set(testenv.Pass, 0)
	var ev, wr float64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ev, wr = written(); ev == n {
			break
		}
	}
	// Each click feeds user.recent_clicked_articles and article.recent_viewers.
	if ev != n || wr != 2*n {
		t.Fatalf("after DynamoDB came back: %v events and %v writes written, want %d and %d\n%s", ev, wr, n, 2*n, logs.String())
	}
	body := harness.ScrapeText(t, url)
	if r := harness.MetricValue(body, "featuregraph_ingest_events_total", `outcome="rejected",source="kafka"`); r != 0 {
		t.Errorf("rejected %v, want 0", r)
	}
	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("ingest returned %v\n%s", err, logs.String())
	}
}
