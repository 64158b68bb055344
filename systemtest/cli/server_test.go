package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// The README's example query, answered by `go run .` (embedded default: memory + demo events).
func TestServeAnswersTheReadmeQuery(t *testing.T) {
	var want any
	got := harness.ServeAndQuery(t, nil, harness.ReadmeQuery)[0]
	// The same answer the README shows.
	_ = json.Unmarshal([]byte(`{"data":{"user":{"os":"ios","regionId":6,"notificationKeywords":["bicycle","camping","lego"],
		"recentClickedArticles":[
		{"timestamp":"2026-10-15T08:25:00Z","source":"push","article":{"id":105,"title":"Sony WH-1000XM5","category":"digital","price":280000}},
		{"timestamp":"2026-10-15T08:20:00Z","source":"feed","article":{"id":104,"title":"Oak dining table","category":"furniture","price":150000}},
		{"timestamp":"2026-10-15T08:12:00Z","source":"feed","article":{"id":101,"title":"iPad Air 5th gen","category":"digital","price":520000}}]}}}`), &want)
	wb, _ := json.Marshal(want)
	if got != string(wb) {
		t.Fatalf("got  %s\nwant %s", got, wb)
	}
}

// The README's filter, asOf and history examples (section "Filters and point-in-time reads"),
// answered by `go run .` on the demo events.
var readmePointInTime = []struct{ query, answer string }{
	{`{ user(id: 1) { recentClickedArticles(count: 2, filter: { source: { in: ["push", "search"] } }) { timestamp source article { id title } } } }`,
		`{"data":{"user":{"recentClickedArticles":[{"timestamp":"2026-10-15T08:25:00Z","source":"push","article":{"id":105,"title":"Sony WH-1000XM5"}},{"timestamp":"2026-10-15T08:05:00Z","source":"search","article":{"id":102,"title":"Road bike, 54cm"}}]}}}`},
	{`{ user(id: 1, asOf: "2026-10-15T08:10:00Z") { os recentClickedArticles(count: 3) { timestamp articleId article { price } } } }`,
		`{"data":{"user":{"os":"ios","recentClickedArticles":[{"timestamp":"2026-10-15T08:09:00Z","articleId":103,"article":{"price":240000}},{"timestamp":"2026-10-15T08:05:00Z","articleId":102,"article":{"price":280000}},{"timestamp":"2026-10-15T08:01:00Z","articleId":101,"article":{"price":520000}}]}}}`},
	{`{ then: article(id: 102, asOf: "2026-10-10T00:00:00Z") { price } now: article(id: 102) { price } }`,
		`{"data":{"then":{"price":310000},"now":{"price":280000}}}`},
	{`{ user(id: 1, asOf: "2026-10-05T00:00:00Z") { os regionId } }`,
		`{"errors":[{"message":"asOf: static feature user.region_id keeps no history, so it has no value as of a past time (add ` + "`history: true`" + ` to its definition to keep one, or leave it out of point-in-time queries)","path":["user","regionId"],"extensions":{"code":"BAD_USER_INPUT"}}],"data":{"user":{"os":"android","regionId":null}}}`},
}

func TestServeAnswersTheReadmePointInTimeExamples(t *testing.T) {
	var queries []string
	for _, ex := range readmePointInTime {
		queries = append(queries, ex.query)
	}
	got := harness.ServeAndQuery(t, nil, queries...)
	for i, ex := range readmePointInTime {
		var want any
		if err := json.Unmarshal([]byte(ex.answer), &want); err != nil {
			t.Fatal(err)
		}
		wb, _ := json.Marshal(want)
		if got[i] != string(wb) {
			t.Errorf("%s\ngot  %s\nwant %s", ex.query, got[i], wb)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The README breaks long answers into lines indented by two spaces.
	flat := strings.ReplaceAll(string(readme), "\n  ", "")
	for _, ex := range readmePointInTime[:3] {
		if !strings.Contains(string(readme), ex.query) || !strings.Contains(flat, ex.answer) {
			t.Errorf("README.md lacks the example %s or its answer %s", ex.query, ex.answer)
		}
	}
}

// Every feature of the demo, queried on memory and on DynamoDB + Redis after the same demo
// events, gives the same answer.
func TestServeDemoOnDynamoDBAndRedisAnswersAsMemory(t *testing.T) {
	endpoint := testenv.DynamoDB(t)
	redisAddr := testenv.Redis(t)
	table := fmt.Sprintf("fg_serve_%d", time.Now().UnixNano())
	storeArgs := []string{"--dynamodb-endpoint", endpoint, "--dynamodb-table", table}
	var out bytes.Buffer
	if err := cli.Run(context.Background(), append([]string{"init-table"}, storeArgs...), &out, &out, harness.NoEnv); err != nil {
		t.Fatalf("init-table: %v\n%s", err, out.String())
	}
	queries := []string{
		harness.ReadmeQuery,
		`{ users(ids: [1, 2, 3, 4]) { id os regionId mannerTemperature isVerified lastActiveAt notificationKeywords recentSearchQueries
			categoryAffinity { key value } settings
			recentClickedArticles(count: 50) { timestamp articleId source article { id category price title regionId createdAt imageCount } }
			recentPurchases { timestamp articleId price article { title } }
			recentSearches(count: 2) { timestamp query resultCount } } }`,
		`{ articles(ids: [101, 102, 105, 999]) { id category price title createdAt recentViewers { timestamp userId user { os } } } }`,
		// filter and asOf (the README examples), on Redis and on the DynamoDB fallback alike
		readmePointInTime[0].query, readmePointInTime[1].query, readmePointInTime[2].query,
		`{ users(ids: [1, 2, 3], asOf: "2026-10-15T08:20:00Z") { os recentClickedArticles(filter: { source: { ne: "feed" } }) { timestamp source articleId }
			recentPurchases(asOf: "2026-10-16T00:00:00Z") { timestamp price article { price } } } }`,
	}
	onMemory := harness.ServeAndQuery(t, nil, queries...)
	// The demo load writes DynamoDB (Redis only holds series it has read), so the first run
	// answers action features from the DynamoDB fallback and refills Redis; the second run, with
	// the refilled Redis, answers them from Redis.
	tieredArgs := append([]string{"--redis-addr", redisAddr}, storeArgs...)
	for run, args := range [][]string{append([]string{"--demo"}, tieredArgs...), tieredArgs} {
		onTiered := harness.ServeAndQuery(t, args, queries...)
		for i := range queries {
			if onTiered[i] != onMemory[i] {
				t.Fatalf("run %d, query %d differs\nmemory:         %s\ndynamodb+redis: %s", run, i, onMemory[i], onTiered[i])
			}
			if strings.Contains(onTiered[i], `"errors"`) {
				t.Fatalf("run %d, query %d has errors: %s", run, i, onTiered[i])
			}
		}
		if run == 0 {
			rc := goredis.NewClient(&goredis.Options{Addr: redisAddr})
			n, err := rc.Exists(context.Background(), "u#1#recent_clicked_articles", "c:flea#101#recent_viewers").Result()
			rc.Close()
			if err != nil || n != 2 {
				t.Fatalf("after the first run Redis should hold the refilled series: %d keys, %v", n, err)
			}
		}
	}
	onDynamoOnly := harness.ServeAndQuery(t, storeArgs, queries...)
	for i := range queries {
		if onDynamoOnly[i] != onMemory[i] {
			t.Fatalf("query %d differs\nmemory:   %s\ndynamodb: %s", i, onMemory[i], onDynamoOnly[i])
		}
	}
}

func TestInvalidRegistryExitsWithEveryProblem(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(`entities:
  user: { prefix: u, idType: Integer }
features:
  user:
    os: { featureType: static, type: Strng }
`), 0o644)
	for _, cmd := range []string{"serve", "validate"} {
		t.Run(cmd, func(t *testing.T) {
			var out bytes.Buffer
			args := []string{cmd, "--features", dir}
			if cmd == "serve" {
				args = append(args, "--addr", harness.FreeAddr(t))
			}
			err := cli.Run(context.Background(), args, &out, &out, harness.NoEnv)
			var rerr *registry.Error
			if !errors.As(err, &rerr) {
				t.Fatalf("want a registry error, got %v", err)
			}
			if len(rerr.Problems) != 2 {
				t.Fatalf("want 2 problems, got %v", err)
			}
			for _, want := range []string{"a.yaml:2: entity \"user\": idType \"Integer\"", "a.yaml:5: type \"Strng\" is not a type (fix: did you mean \"String\"?)"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestEnvironmentVariablesSetFlags(t *testing.T) {
	env := map[string]string{"FEATUREGRAPH_FEATURES": "/nonexistent/registry"}
	err := cli.Run(context.Background(), []string{"validate"}, &bytes.Buffer{}, &bytes.Buffer{}, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/registry") {
		t.Fatalf("want FEATUREGRAPH_FEATURES to set --features, got %v", err)
	}
	// A flag on the command line wins over the environment.
	var out bytes.Buffer
	if err := cli.Run(context.Background(), []string{"validate", "--features", "features"}, &out, &out, func(k string) string { return env[k] }); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if !strings.Contains(out.String(), "valid: 2 entities") {
		t.Fatalf("unexpected output %q", out.String())
	}
	if got := cli.EnvName("redis-addr"); got != "FEATUREGRAPH_REDIS_ADDR" {
		t.Fatalf("EnvName: %s", got)
	}
	bad := map[string]string{"FEATUREGRAPH_MAX_IDS": "many"}
	err = cli.Run(context.Background(), []string{"serve"}, &bytes.Buffer{}, &bytes.Buffer{}, func(k string) string { return bad[k] })
	if err == nil || !strings.Contains(err.Error(), `FEATUREGRAPH_MAX_IDS="many"`) {
		t.Fatalf("want a clear error for a bad environment value, got %v", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	err := cli.Run(context.Background(), []string{"srve"}, &out, &out, harness.NoEnv)
	if err == nil || !strings.Contains(err.Error(), `unknown command "srve"`) || !strings.Contains(out.String(), "commands:") {
		t.Fatalf("got %v / %s", err, out.String())
	}
}
