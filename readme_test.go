package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry"
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

// fence is one fenced code block of the README.
type fence struct {
	lang, body string
	line       int    // line of the opening fence
	before     string // the last non-blank line before the fence
}

func readmeFences(t *testing.T) []fence {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []fence
	var cur *fence
	var body []string
	last, indent := "", ""
	for i, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &fence{lang: strings.TrimPrefix(trimmed, "```"), line: i + 1, before: last}
			indent = line[:len(line)-len(strings.TrimLeft(line, " "))] // a block in a list item
			body = nil
		case cur != nil && trimmed == "```":
			cur.body = strings.Join(body, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body = append(body, strings.TrimPrefix(line, indent))
		case trimmed != "":
			last = trimmed
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: a fence is never closed", cur.line)
	}
	return out
}

const fragmentMarker = "<!-- registry fragment -->"

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
	for _, f := range readmeFences(t) {
		if f.lang != "yaml" {
			continue
		}
		if strings.HasPrefix(f.before, "<!-- not a registry") {
			continue
		}
		n++
		name := fmt.Sprintf("README.md:%d", f.line)
		files := map[string][]byte{name: []byte(f.body)}
		if f.before == fragmentMarker {
			for k, v := range example {
				files[k] = v
			}
		}
		if _, err := registry.Parse(files); err != nil {
			t.Errorf("%s (fragment: %t): %v", name, f.before == fragmentMarker, err)
		}
	}
	if n == 0 {
		t.Fatal("README.md has no yaml block")
	}
}

// readmeExample is a request of the README and the answer it shows.
type readmeExample struct {
	where  string
	method string // GET or POST
	path   string // /graphql, /v1/events
	body   string
	answer string
}

func isOperation(q string) bool {
	q = strings.TrimSpace(q)
	return strings.HasPrefix(q, "{") || strings.HasPrefix(q, "query")
}

func hasData(s string) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil && (m["data"] != nil || m["errors"] != nil)
}

// readmeExamples returns the README's requests with answers, in README order, for the demo
// server.
func readmeExamples(t *testing.T) []readmeExample {
	t.Helper()
	fences := readmeFences(t)
	var out []readmeExample
	for i := 0; i < len(fences); i++ {
		f := fences[i]
		where := fmt.Sprintf("README.md:%d", f.line)
		switch f.lang {
		case "graphql":
			if !isOperation(f.body) {
				continue // SDL
			}
			req := map[string]any{"query": f.body}
			j := i + 1
			if j < len(fences) && fences[j].lang == "json" && !hasData(fences[j].body) {
				var vars map[string]any
				if err := json.Unmarshal([]byte(fences[j].body), &vars); err != nil {
					t.Fatalf("%s: the variables after the query: %v", where, err)
				}
				req["variables"] = vars
				j++
			}
			if j >= len(fences) || fences[j].lang != "json" || !hasData(fences[j].body) {
				t.Errorf("%s: the example query has no answer (a ```json block with \"data\" after it)", where)
				continue
			}
			body, _ := json.Marshal(req)
			out = append(out, readmeExample{where: where, method: http.MethodPost, path: "/graphql", body: string(body), answer: fences[j].body})
			i = j
		case "sh":
			if strings.Contains(f.body, "kcat") || strings.HasPrefix(f.before, "<!-- tested by ") {
				continue // TestReadmeKafkaExample, or the test the marker names
			}
			out = append(out, curlExamples(t, where, f.body)...)
		}
	}
	return out
}

// curlExamples returns the curl commands of a shell block that show an answer.
func curlExamples(t *testing.T, where, block string) []readmeExample {
	t.Helper()
	var out []readmeExample
	for _, c := range shellCommands(block) {
		if c.answer == "" || len(c.words) == 0 || c.words[0] != "curl" {
			continue
		}
		ex := curlExample(t, where, c.words)
		ex.answer = c.answer
		out = append(out, ex)
	}
	return out
}

// readmeBlockTestedBy returns the shell block marked `<!-- tested by name -->`.
func readmeBlockTestedBy(t *testing.T, name string) fence {
	t.Helper()
	for _, f := range readmeFences(t) {
		if f.before == "<!-- tested by "+name+" -->" {
			return f
		}
	}
	t.Fatalf("README.md has no block marked as tested by %s", name)
	return fence{}
}

// send runs a README request against the server at addr and returns the answer.
func (ex readmeExample) send(t *testing.T, addr string) string {
	t.Helper()
	req, err := http.NewRequest(ex.method, "http://"+addr+ex.path, strings.NewReader(ex.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	return string(bytes.TrimSpace(got))
}

// shellCommand is one command of a shell block and the `# ` comment lines that follow it.
type shellCommand struct {
	words  []string
	answer string
}

// shellCommands splits a shell block into commands: words with single and double quotes
// (spanning lines), backslash-newline continuations, and full-line comments after a command
// as its answer. $(date -u +%FT%TZ) is replaced by the current UTC time.
func shellCommands(src string) []shellCommand {
	src = strings.ReplaceAll(src, "$(date -u +%FT%TZ)", time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	var cmds []shellCommand
	var words []string
	var word strings.Builder
	inWord := false
	flushWord := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	flushCmd := func() {
		flushWord()
		if len(words) > 0 {
			cmds = append(cmds, shellCommand{words: words})
			words = nil
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(src[i+1:], '\'')
			word.WriteString(src[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			j := strings.IndexByte(src[i+1:], '"')
			word.WriteString(src[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			i++
		case c == '#' && !inWord:
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			text := strings.TrimSpace(src[i+1 : i+end])
			lineStart := i == 0 || src[i-1] == '\n'
			if lineStart && len(words) == 0 && len(cmds) > 0 {
				prev := &cmds[len(cmds)-1]
				if prev.answer != "" || strings.HasPrefix(text, "{") {
					prev.answer += text
				}
			}
			i += end - 1
		case c == '\n' || c == ';' || c == '|' || c == '&':
			flushCmd()
		case c == ' ' || c == '\t':
			flushWord()
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	flushCmd()
	return cmds
}

// curlExample reads the method, path and body of a curl command against localhost:8080.
func curlExample(t *testing.T, where string, words []string) readmeExample {
	t.Helper()
	ex := readmeExample{where: where, method: http.MethodGet}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-X" && i+1 < len(words):
			ex.method = words[i+1]
			i++
		case w == "-H" && i+1 < len(words):
			i++
		case w == "-d" && i+1 < len(words):
			ex.body = words[i+1]
			if ex.method == http.MethodGet {
				ex.method = http.MethodPost
			}
			i++
		case strings.HasPrefix(w, "localhost:8080"):
			ex.path = strings.TrimPrefix(w, "localhost:8080")
		}
	}
	if ex.path == "" {
		t.Fatalf("%s: curl command %q names no localhost:8080 URL", where, words)
	}
	return ex
}

// sameJSON compares two JSON texts as values.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func TestReadmeExamplesAnswerAsShown(t *testing.T) {
	examples := readmeExamples(t)
	t.Logf("%d README requests with answers", len(examples))
	if len(examples) < 4 {
		t.Fatalf("found %d README examples with answers, want at least 4", len(examples))
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve", "--addr", addr}, &logs, &logs, noEnv) }()
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
		if got := ex.send(t, addr); !sameJSON(got, ex.answer) {
			t.Errorf("%s: %s %s\n got %s\nwant %s", ex.where, ex.method, ex.path, got, ex.answer)
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
	var block *fence
	for _, f := range readmeFences(t) {
		if f.lang == "sh" && strings.Contains(f.body, "kcat") {
			block = &f
			break
		}
	}
	if block == nil {
		t.Fatal("README.md has no Kafka example (a sh block with kcat)")
	}
	var event, topic string
	var query readmeExample
	for _, c := range shellCommands(block.body) {
		switch {
		case c.words[0] == "echo":
			event = c.words[1]
		case c.words[0] == "kcat":
			for i, w := range c.words {
				if w == "-t" && i+1 < len(c.words) {
					topic = c.words[i+1]
				}
			}
		case c.words[0] == "curl":
			query = curlExample(t, fmt.Sprintf("README.md:%d", block.line), c.words)
			query.answer = c.answer
		}
	}
	if event == "" || topic == "" || query.answer == "" {
		t.Fatalf("README.md:%d: want an echo | kcat -t TOPIC and a curl with its answer; got event %q topic %q answer %q", block.line, event, topic, query.answer)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic, "featuregraph-ingest.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	// Its own Redis and table: other tests write the same user to the shared ones.
	stores := []string{"--dynamodb-endpoint", testenv.DynamoDB(t), "--dynamodb-table", fmt.Sprintf("fg_readme_%d", time.Now().UnixNano())}
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"init-table"}, stores...), &out, &out, noEnv); err != nil {
		t.Fatalf("init-table: %v\n%s", err, out.String())
	}
	stores = append(stores, "--redis-addr", testenv.NewRedis(t).Addr())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"ingest", "--kafka-brokers", strings.Join(cluster.ListenAddrs(), ","), "--metrics-addr", ""}, stores...), &logs, &logs, noEnv)
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
	if err := json.Unmarshal([]byte(query.body), &q); err != nil {
		t.Fatalf("the README's query body: %v", err)
	}
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = serveAndQuery(t, stores, q.Query)[0]; sameJSON(got, query.answer) {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ingest: %v\n%s", err, logs.String())
	}
	if !sameJSON(got, query.answer) {
		t.Fatalf("got %s\nwant %s", got, query.answer)
	}
}

// The README's `go run . validate` example: a registry with a misspelt key and a misspelt join
// target prints exactly the problems shown.
func TestReadmeValidateOutput(t *testing.T) {
	const cmd = "$ go run . validate --features ./my-features\n"
	var shown string
	for _, f := range readmeFences(t) {
		if strings.HasPrefix(f.body, cmd) {
			shown = strings.TrimPrefix(f.body, cmd)
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
	err := run(context.Background(), []string{"validate", "--features", dir}, &out, &out, noEnv)
	if err == nil {
		t.Fatalf("the registry validated:\n%s", out.String())
	}
	got := strings.ReplaceAll(out.String()+"featuregraph: "+err.Error()+"\n", tmp+"/", "")
	if got != shown {
		t.Errorf("validate printed\n%s\nthe README shows\n%s", got, shown)
	}
}

// inRepoRoot makes the module root (the directory of the go.mod of
// github.com/featuregraph/featuregraph, found from the working directory up) the test's working
// directory, so the README checks read the same files from whichever package runs them.
func inRepoRoot(t *testing.T) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/featuregraph/featuregraph\n") {
			t.Chdir(dir)
			return
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of github.com/featuregraph/featuregraph above the working directory")
		}
		dir = parent
	}
}

// readmeSection returns the lines of the README from the heading line start (e.g. "### Flags")
// up to the next heading of the same or a higher level.
func readmeSection(t *testing.T, start string) []string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	level := strings.Index(start, " ")
	var out []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if in && strings.HasPrefix(line, "#") {
			if l := strings.Index(line, " "); l > 0 && l <= level && strings.Trim(line[:l], "#") == "" {
				break
			}
		}
		if line == start {
			in = true
		}
		if in {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("README.md has no section %q", start)
	}
	return out
}

// The README's flag tables (Configuration, "### Flags") name every flag of every command once,
// in the first cell of a row, with the default its -h prints and the commands that take it (those
// in the parentheses of the table's bold heading, or those the row's meaning starts with, as in
// "serve, dev: listen address"), and name no flag that no command has.
func TestReadmeConfigurationListsEveryFlag(t *testing.T) {
	inRepoRoot(t)
	commandNames := helpCommands(t)
	isCommand := map[string]bool{}
	for _, c := range commandNames {
		isCommand[c] = true
	}
	// commandsIn returns the command names among the comma-separated leading words of s.
	commandsIn := func(s string) []string {
		var out []string
		for _, w := range strings.Split(s, ",") {
			w = strings.Trim(strings.TrimSpace(w), "`")
			if !isCommand[w] {
				break
			}
			out = append(out, w)
		}
		return out
	}
	type flagDoc struct {
		defaultCell string
		commands    []string
	}
	documented := map[string]flagDoc{}
	flagRE := regexp.MustCompile("`--([a-z0-9-]+)")
	headingRE := regexp.MustCompile(`^\*\*[^*]+\*\* \(([^)]*)\)`)
	var mentioned []string
	var group []string
	for _, line := range readmeSection(t, "### Flags") {
		if strings.HasPrefix(line, "**") {
			group = nil
			if m := headingRE.FindStringSubmatch(line); m != nil {
				group = commandsIn(strings.Split(m[1], ";")[0])
			}
			continue
		}
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 3 {
			t.Errorf("a flag row has a flag, a default and a meaning: %s", line)
			continue
		}
		cmds := group
		if prefix, _, ok := strings.Cut(cells[2], ":"); ok && len(commandsIn(prefix)) > 0 {
			cmds = commandsIn(prefix)
		}
		if len(cmds) == 0 {
			t.Errorf("a flag row whose commands are not said (in its table's heading or at the start of its meaning): %s", line)
		}
		for _, m := range flagRE.FindAllStringSubmatch(cells[0], -1) {
			if _, dup := documented[m[1]]; dup {
				t.Errorf("--%s is listed twice", m[1])
			}
			documented[m[1]] = flagDoc{defaultCell: cells[1], commands: cmds}
		}
		for _, m := range flagRE.FindAllStringSubmatch(cells[1]+" "+cells[2], -1) {
			mentioned = append(mentioned, m[1])
		}
	}
	// Every flag of every command, with the default -h prints.
	defaultRE := regexp.MustCompile(`\(default "?([^")]*)"?\)$`)
	takenBy := map[string][]string{}
	for _, name := range commandNames {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{name, "-h"}, &stdout, &stderr, noEnv); err != nil {
			t.Fatalf("%s -h: %v", name, err)
		}
		lines := strings.Split(stdout.String(), "\n")
		for i, line := range lines {
			if !strings.HasPrefix(line, "  -") {
				continue
			}
			flagName := strings.Fields(strings.TrimPrefix(line, "  -"))[0]
			takenBy[flagName] = append(takenBy[flagName], name)
			doc, ok := documented[flagName]
			if !ok {
				t.Errorf("%s --%s is not in the README's flag tables", name, flagName)
				continue
			}
			if i+1 >= len(lines) || flagName == "redis-pool-size" { // 10 per CPU: -h shows this machine's
				continue
			}
			m := defaultRE.FindStringSubmatch(strings.TrimSpace(lines[i+1]))
			if m == nil || strings.HasPrefix(m[1], "<") || strings.HasPrefix(m[1], "on") || strings.HasPrefix(m[1], "from") {
				continue // no default, or one -h describes in words
			}
			want := m[1]
			if strings.HasSuffix(want, "m0s") { // 1m0s is written 1m
				want = strings.TrimSuffix(want, "0s")
			}
			if want == "true" {
				want = "on"
			}
			if !strings.Contains(strings.ReplaceAll(doc.defaultCell, "`", ""), want) {
				t.Errorf("--%s: the README's default %q, -h says %q", flagName, doc.defaultCell, m[1])
			}
		}
	}
	for f, doc := range documented {
		got, want := append([]string(nil), doc.commands...), takenBy[f]
		sort.Strings(got)
		sort.Strings(want)
		if len(want) == 0 {
			t.Errorf("the README lists --%s, which no command has", f)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("--%s: the README says it is a flag of %v, -h of %v", f, got, want)
		}
	}
	for _, f := range mentioned {
		if len(takenBy[f]) == 0 {
			t.Errorf("the README's flag tables mention --%s, which no command has", f)
		}
	}
}

// helpCommands returns the commands `featuregraph -h` lists (help aside).
func helpCommands(t *testing.T) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &stdout, &stderr, noEnv); err != nil {
		t.Fatalf("-h: %v", err)
	}
	_, list, _ := strings.Cut(stdout.String(), "commands:\n")
	var names []string
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		if name := strings.Fields(line)[0]; name != "help" {
			names = append(names, name)
		}
	}
	if len(names) < 5 {
		t.Fatalf("-h lists %d commands:\n%s", len(names), stdout.String())
	}
	return names
}

// githubAnchor is the anchor GitHub gives a heading: lower case, punctuation dropped, spaces to
// hyphens.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// markdownAnchors returns the anchors of a Markdown file's headings (outside code blocks).
func markdownAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	fenced := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimSpace(strings.TrimLeft(line, "#")))] = true
		}
	}
	return anchors
}

// Every relative link of the README, CHANGELOG.md and docs/*.md names a file that exists and,
// with a #fragment, a heading of it.
func TestReadmeLinksResolve(t *testing.T) {
	inRepoRoot(t)
	files := []string{"README.md", "CHANGELOG.md"}
	docs, _ := filepath.Glob("docs/*.md")
	files = append(files, docs...)
	if len(docs) == 0 {
		t.Fatal("no docs/*.md")
	}
	linkRE := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range linkRE.FindAllStringSubmatch(string(b), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			n++
			target, frag, _ := strings.Cut(link, "#")
			path := file
			if target != "" {
				path = filepath.Join(filepath.Dir(file), target)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: link %s: %v", file, link, err)
					continue
				}
			}
			if frag != "" && !markdownAnchors(t, path)[frag] {
				t.Errorf("%s: link %s: %s has no heading with anchor #%s", file, link, path, frag)
			}
		}
		if file == "README.md" && n == 0 {
			t.Error("README.md has no relative link: the link check reads nothing")
		}
	}
}

// The README's environment table (Configuration, "### Environment variables") names every
// variable the code and the scripts read: os.Getenv/LookupEnv of a literal name in any Go file,
// the OTEL_* names package tracing decides on, and ${NAME} in scripts/.
func TestReadmeListsEveryEnvironmentVariable(t *testing.T) {
	inRepoRoot(t)
	section := strings.Join(readmeSection(t, "### Environment variables"), "\n")
	want := map[string]string{} // name → where it is read
	goRE := regexp.MustCompile(`(?:Getenv|LookupEnv)\("([A-Z][A-Z0-9_]*)"\)|IntegrationEnv *= *"([A-Z0-9_]+)"|env[A-Za-z]+ *= *"(OTEL_[A-Z_]+)"`)
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && p != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range goRE.FindAllStringSubmatch(string(b), -1) {
			want[m[1]+m[2]+m[3]] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	scripts, _ := filepath.Glob("scripts/*")
	for _, p := range scripts {
		b, _ := os.ReadFile(p)
		for _, m := range regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)`).FindAllStringSubmatch(string(b), -1) {
			want[m[1]] = p
		}
	}
	delete(want, "PATH")
	if len(want) < 5 {
		t.Fatalf("found only %v: the search reads nothing", want)
	}
	for name, where := range want {
		if !regexp.MustCompile("`" + name + "[`=]").MatchString(section) {
			t.Errorf("%s reads %s, which the README's environment table does not name", where, name)
		}
	}
}

// The README's metrics table (Operations, "### Metrics") names every metric package metrics
// defines, and the README names no featuregraph_* metric that it does not define.
func TestReadmeListsEveryMetric(t *testing.T) {
	inRepoRoot(t)
	defined := map[string]bool{}
	files, _ := filepath.Glob("metrics/*.go")
	defRE := regexp.MustCompile(`(?:Name: *|NewDesc\()"(featuregraph_[a-z_]+)"`)
	for _, p := range files {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range defRE.FindAllStringSubmatch(string(b), -1) {
			defined[m[1]] = true
		}
	}
	if len(defined) < 10 {
		t.Fatalf("found only %d metrics in metrics/: the search reads nothing", len(defined))
	}
	table := map[string]bool{}
	for _, line := range readmeSection(t, "### Metrics") {
		if m := regexp.MustCompile("^\\| `(featuregraph_[a-z_]+)`").FindStringSubmatch(line); m != nil {
			table[m[1]] = true
		}
	}
	for name := range defined {
		if !table[name] {
			t.Errorf("metric %s is not in the README's metrics table", name)
		}
	}
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`featuregraph_[a-z_]+`).FindAllString(string(b), -1) {
		if !defined[m] {
			t.Errorf("the README names %s, which package metrics does not define", m)
		}
	}
}

// The README's error-code table (GraphQL API) names every extensions.code the gateway, the
// resolvers and the plans answer.
func TestReadmeListsEveryErrorCode(t *testing.T) {
	inRepoRoot(t)
	codeRE := regexp.MustCompile(`"code": *"([A-Z_]+)"|\bcode[A-Z][A-Za-z]* *= *"([A-Z_]+)"`)
	codes := map[string]string{}
	for _, dir := range []string{"gateway", "resolvers", "plan"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, p := range files {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range codeRE.FindAllStringSubmatch(string(b), -1) {
				codes[m[1]+m[2]] = p
			}
		}
	}
	if len(codes) < 5 {
		t.Fatalf("found only %v: the search reads nothing", codes)
	}
	var table strings.Builder
	for _, line := range readmeSection(t, "### Over HTTP") {
		if strings.HasPrefix(line, "| `") {
			table.WriteString(strings.SplitN(line, " | ", 2)[0] + "\n")
		}
	}
	for code, where := range codes {
		if !strings.Contains(table.String(), "`"+code+"`") {
			t.Errorf("%s answers extensions.code %s, which the README's error-code table does not name", where, code)
		}
	}
}
