package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/systemtest/harness"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// --production turns off the playground (page and bundles), introspection and the catalog;
// --catalog turns the catalog back on. Without --production all of them are served.
func TestProductionTurnsOffPlaygroundIntrospectionAndCatalog(t *testing.T) {
	stores := harness.TieredArgs(t)
	status := func(base, path string) int {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	introspection := func(base string) string {
		return harness.Post(t, base, "/graphql", `{"query":"{ __schema { queryType { name } } }"}`)
	}
	for _, tc := range []struct {
		args                  []string
		playground, catalog   int
		introspectionAnswered bool
	}{
		{nil, 200, 200, true},
		{[]string{"--production", "--auth=none"}, 404, 404, false},
		{[]string{"--production", "--auth=none", "--catalog"}, 404, 200, false},
	} {
		base := harness.StartServer(t, append(tc.args, stores...)...)
		if got := status(base, "/"); got != tc.playground {
			t.Errorf("%v: GET / = %d, want %d", tc.args, got, tc.playground)
		}
		if got := status(base, "/playground/graphiql.min.js"); got != tc.playground {
			t.Errorf("%v: GET /playground/graphiql.min.js = %d, want %d", tc.args, got, tc.playground)
		}
		if got := status(base, "/catalog"); got != tc.catalog {
			t.Errorf("%v: GET /catalog = %d, want %d", tc.args, got, tc.catalog)
		}
		got := introspection(base)
		if answered := strings.Contains(got, `"queryType":{"name":"Query"}`); answered != tc.introspectionAnswered {
			t.Errorf("%v: introspection answered %s", tc.args, got)
		}
	}
}

// In production the gateway does not ingest: the catalog adds the figures of the ingest
// workers it is given as peers. An event consumed by `featuregraph ingest` shows as a write and
// as the freshness of its features, an unconvertible one as a dead letter; a peer that does not
// answer is named.
func TestCatalogAddsIngestWorkerFigures(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "client_event_cleansed", "featuregraph-ingest.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	stores := harness.TieredArgs(t)
	metricsAddr := harness.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs harness.SyncBuffer
	go func() {
		done <- cli.Run(ctx, append([]string{"ingest", "--kafka-brokers", strings.Join(cluster.ListenAddrs(), ","),
			"--kafka-topics", "client_event_cleansed=client_event", "--metrics-addr", metricsAddr}, stores...), &logs, &logs, harness.NoEnv)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ingest returned %v\n%s", err, logs.String())
		}
	}()
	down := "http://" + harness.FreeAddr(t) + "/metrics"
	base := harness.StartServer(t, append([]string{"--production", "--auth=none", "--catalog", "--catalog-peers", "http://" + metricsAddr + "/metrics," + down}, stores...)...)

	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, uid := range []string{"78", `"x"`} {
		ev := `{"event_name":"view_article_v1","user_id":` + uid + `,"country_code":"kr","event_time":"2026-11-21T10:00:00Z","params":{"article_id_v1":101,"source":"feed"}}`
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "client_event_cleansed", Value: []byte(ev)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	type live struct {
		Writes      int64  `json:"writes"`
		DeadLetters int64  `json:"deadLetters"`
		LastEvent   string `json:"lastEventTime"`
	}
	var got struct {
		PeerErrors []string `json:"peerErrors"`
		Sources    []struct {
			Name        string `json:"name"`
			DeadLetters int64  `json:"deadLetters"`
		} `json:"sources"`
		Entities []struct {
			Name     string `json:"name"`
			Features []struct {
				Name string `json:"name"`
				Live *live  `json:"live"`
			} `json:"features"`
		} `json:"entities"`
	}
	figure := func(entity, feature string) live {
		for _, e := range got.Entities {
			for _, f := range e.Features {
				if e.Name == entity && f.Name == feature && f.Live != nil {
					return *f.Live
				}
			}
		}
		return live{}
	}
	want := live{Writes: 1, DeadLetters: 1, LastEvent: "2026-11-21T10:00:00Z"}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got.Entities = nil
		if err := json.Unmarshal([]byte(getBody(t, base+"/catalog?format=json")), &got); err != nil {
			t.Fatal(err)
		}
		// The source's dead-letter count can follow the features' by a moment (it is counted
		// when the dead letter is produced): wait for both.
		if figure("user", "recent_clicked_articles") == want && len(got.Sources) == 1 && got.Sources[0].DeadLetters == 1 {
			break
		}
	}
	if l := figure("user", "recent_clicked_articles"); l != want {
		t.Fatalf("user.recent_clicked_articles: %+v, want %+v\n%s", l, want, logs.String())
	}
	// The article feature took the event of user 78 only (the other's user_id is its field).
	if l := figure("article", "recent_viewers"); l != want {
		t.Errorf("article.recent_viewers: %+v, want %+v", l, want)
	}
	if len(got.PeerErrors) != 1 || !strings.HasPrefix(got.PeerErrors[0], down) {
		t.Errorf("peer errors %v, want the peer that is down", got.PeerErrors)
	}
	if len(got.Sources) != 1 || !strings.HasPrefix(got.Sources[0].Name, "kafka (") || got.Sources[0].DeadLetters != 1 {
		t.Errorf("sources %+v, want the worker's kafka source with its dead letter", got.Sources)
	}
}

func getBody(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// --production refuses to start without a clients file unless --auth=none says so.
func TestProductionNeedsClientsOrAuthNone(t *testing.T) {
	args := []string{"serve", "--production", "--dynamodb-endpoint", "http://127.0.0.1:1", "--addr", harness.FreeAddr(t)}
	err := cli.Run(context.Background(), args, io.Discard, io.Discard, harness.NoEnv)
	if err == nil || !strings.Contains(err.Error(), "--production needs --clients") || !strings.Contains(err.Error(), "--auth=none") {
		t.Fatalf("want --production to refuse to start without --clients, got %v", err)
	}
	err = cli.Run(context.Background(), append(args, "--auth", "sometimes"), io.Discard, io.Discard, harness.NoEnv)
	if err == nil || !strings.Contains(err.Error(), "--auth \"sometimes\"") {
		t.Fatalf("want a bad --auth refused, got %v", err)
	}
}
