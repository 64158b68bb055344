package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

const (
	rulesFile     = "deploy/prometheus/featuregraph.rules.yml"
	rulesTestFile = "deploy/prometheus/featuregraph.rules.test.yml"
	dashboardFile = "deploy/grafana/featuregraph.json"
	promtoolHelp  = "install the Debian package prometheus, which ships promtool (apt-get install -y prometheus; ./scripts/test does it as root)"
)

// dashboardExprs returns every PromQL expression of the dashboard, by panel title.
func dashboardExprs(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string
		Type    string
		Targets []struct{ Expr string }
		Panels  []json.RawMessage
	}
	var d struct {
		UID    string
		Panels []panel
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" {
		t.Fatalf("%s: no uid", dashboardFile)
	}
	out := map[string][]string{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			out[p.Title] = append(out[p.Title], tg.Expr)
		}
	}
	return out
}

// ruleExprs returns the expressions of the rules file by rule name, and the names it records.
func ruleExprs(t *testing.T) (exprs map[string]string, recorded map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct{ Record, Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	exprs, recorded = map[string]string{}, map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			exprs[r.Record+r.Alert] = r.Expr
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	return exprs, recorded
}

// grafanaVars replaces the dashboard's variables with what Prometheus would be sent.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$job", ".*")

func TestPrometheusRulesAndDashboardPassPromtool(t *testing.T) {
	promtool := testenv.Tool(t, "promtool", promtoolHelp)
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTestFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// The dashboard's queries must parse too: promtool checks them as recording rules.
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	titles := dashboardExprs(t)
	names := make([]string, 0, len(titles))
	for title := range titles {
		names = append(names, title)
	}
	sort.Strings(names)
	n := 0
	for _, title := range names {
		for _, e := range titles[title] {
			n++
			q, _ := json.Marshal(grafanaVars.Replace(e)) // a JSON string is a YAML string
			fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", n, q)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("the dashboard's queries do not parse: %v\n%s", err, out)
	}
}

// series is what a /metrics scrape holds: metric name → label name → values seen.
type series map[string]map[string]map[string]bool

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? `)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

func scrape(t *testing.T, url string, into series) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := sampleLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		labels := into[m[1]]
		if labels == nil {
			labels = map[string]map[string]bool{}
			into[m[1]] = labels
		}
		for _, lp := range labelPair.FindAllStringSubmatch(m[2], -1) {
			if labels[lp[1]] == nil {
				labels[lp[1]] = map[string]bool{}
			}
			labels[lp[1]][lp[2]] = true
		}
	}
}

var (
	// A selector of a metric this project exports or the Go and process collectors export.
	selectorRe = regexp.MustCompile(`\b((?:featuregraph|go|process)_[a-zA-Z0-9_]+|featuregraph:[a-zA-Z0-9_:]+)(\{[^}]*\})?`)
	matcherRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	byRe       = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// targetLabels are added by Prometheus at scrape time (never on /metrics).
var targetLabels = map[string]bool{"job": true, "instance": true, "pod": true, "namespace": true}

// failureOnly are label values that a healthy test server does not produce (outcome="error"):
// their label must exist, the value may not.
var failureOnly = map[string]bool{"outcome=error": true}

// checkExpr reports every metric, label and exact label value expr names that live does not have.
func checkExpr(where, expr string, live series, recorded map[string]bool) []string {
	var problems []string
	exprLabels := map[string]bool{"le": true}
	for _, m := range selectorRe.FindAllStringSubmatch(expr, -1) {
		name, sel := m[1], m[2]
		if strings.Contains(name, ":") {
			if !recorded[name] {
				problems = append(problems, fmt.Sprintf("%s: %s is not recorded by %s", where, name, rulesFile))
			}
			continue
		}
		labels, ok := live[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: metric %s is not on /metrics", where, name))
			continue
		}
		for l := range labels {
			exprLabels[l] = true
		}
		for _, mm := range matcherRe.FindAllStringSubmatch(sel, -1) {
			label, op, value := mm[1], mm[2], mm[3]
			if targetLabels[label] {
				continue
			}
			if labels[label] == nil {
				problems = append(problems, fmt.Sprintf("%s: %s has no label %q", where, name, label))
				continue
			}
			if op == "=" && !labels[label][value] && !failureOnly[label+"="+value] {
				problems = append(problems, fmt.Sprintf("%s: %s has no series with %s=%q (has %v)", where, name, label, value, keys(labels[label])))
			}
			if op == "=~" && !strings.ContainsAny(value, "$") {
				re, err := regexp.Compile("^(?:" + value + ")$")
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %s{%s=~%q}: %v", where, name, label, value, err))
					continue
				}
				found := false
				for v := range labels[label] {
					found = found || re.MatchString(v)
				}
				if !found && label != "code" { // code=~"5.." only exists after a failure
					problems = append(problems, fmt.Sprintf("%s: no %s series matches %s=~%q", where, name, label, value))
				}
			}
		}
	}
	for _, m := range byRe.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !exprLabels[l] && !targetLabels[l] {
				problems = append(problems, fmt.Sprintf("%s: groups by %q, which no metric of the expression has", where, l))
			}
		}
	}
	return problems
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Every metric, label and label value the dashboard and the alert rules name is on the /metrics
// of a gateway on DynamoDB + Redis that answered a query and a push, or of an ingest worker that
// consumed a Kafka event.
func TestDashboardAndRulesNameLiveMetrics(t *testing.T) {
	stores := harness.TieredArgs(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "client_event_cleansed", "featuregraph-ingest.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()

	addr, _ := harness.StartServe(t, append([]string{"--demo", "--static-cache-ttl", "1m"}, stores...)...)
	// A query whose action series Redis does not hold yet (the demo load wrote DynamoDB): it
	// exercises BatchGetItem, the Redis pipeline, the fallback and the refill.
	serveQuery := func() {
		body, _ := json.Marshal(map[string]string{"query": harness.ReadmeQuery})
		res, err := http.Post("http://"+addr+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || bytes.Contains(b, []byte(`"errors"`)) {
			t.Fatalf("query: %d %s", res.StatusCode, b)
		}
	}
	serveQuery()
	serveQuery()
	push := `{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated","event":{"user_id":9,"device":{"os":"android"},"region":{"id":4},"verified":true,"updated_at":"2026-11-01T00:00:00Z"}}`
	res, err := http.Post("http://"+addr+"/v1/events", "application/json", strings.NewReader(push))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("push: %d %s", res.StatusCode, b)
	}

	metricsAddr := harness.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- cli.Run(ctx, append([]string{"ingest", "--kafka-brokers", strings.Join(cluster.ListenAddrs(), ","),
			"--kafka-topics", "client_event_cleansed=client_event", "--metrics-addr", metricsAddr}, stores...), &logs, &logs, harness.NoEnv)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ingest: %v\n%s", err, logs.String())
		}
	}()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ev := fmt.Sprintf(`{"event_name":"view_article_v1","user_id":78,"country_code":"kr","event_time":%q,"params":{"article_id_v1":101,"source":"feed"}}`,
		time.Now().UTC().Format(time.RFC3339Nano))
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "client_event_cleansed", Value: []byte(ev)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	harness.WaitHTTP(t, "http://"+metricsAddr+"/healthz", done)

	dash := dashboardExprs(t)
	rules, recorded := ruleExprs(t)
	var problems []string
	// Some series appear shortly after (the background refill, the consumed event): scrape
	// until nothing is missing or the deadline passes. The deadline only detects a series that
	// never appears: 20 s was once too short for the refill at load average 20.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		live := series{}
		scrape(t, "http://"+addr+"/metrics", live)
		scrape(t, "http://"+metricsAddr+"/metrics", live)
		problems = nil
		for title, exprs := range dash {
			for _, e := range exprs {
				problems = append(problems, checkExpr("dashboard panel "+fmt.Sprintf("%q", title), e, live, recorded)...)
			}
		}
		for name, e := range rules {
			problems = append(problems, checkExpr("rule "+name, e, live, recorded)...)
		}
		if len(problems) == 0 {
			// The worker's freshness series is there: the event was consumed and written.
			if !live["featuregraph_feature_last_event_timestamp_seconds"]["feature"]["recent_clicked_articles"] {
				problems = append(problems, "no freshness series for the consumed event")
			} else {
				break
			}
		}
		if time.Now().After(deadline) {
			sort.Strings(problems)
			t.Fatalf("the dashboard and rules name what /metrics does not have:\n  %s", strings.Join(problems, "\n  "))
		}
	}
}

// The checker itself catches a misspelt metric, a wrong label value and a grouping label no
// metric has.
func TestCheckExprFindsMistakes(t *testing.T) {
	live := series{"featuregraph_cache_lookups_total": {"cache": {"actions": true}, "result": {"hit": true, "miss": true}}}
	for _, tc := range []struct {
		expr string
		want string
	}{
		{`rate(featuregraph_cache_lookup_total[5m])`, "metric featuregraph_cache_lookup_total is not on /metrics"},
		{`rate(featuregraph_cache_lookups_total{result="hits"}[5m])`, `no series with result="hits"`},
		{`rate(featuregraph_cache_lookups_total{cach="actions"}[5m])`, `has no label "cach"`},
		{`sum by (feature) (rate(featuregraph_cache_lookups_total[5m]))`, `groups by "feature"`},
		{`featuregraph:nothing:rate5m > 1`, "is not recorded"},
	} {
		got := strings.Join(checkExpr("x", tc.expr, live, map[string]bool{}), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.expr, got, tc.want)
		}
	}
	if p := checkExpr("x", `sum by (cache, job) (rate(featuregraph_cache_lookups_total{result="hit"}[5m]))`, live, nil); len(p) != 0 {
		t.Errorf("a correct expression: %v", p)
	}
}
