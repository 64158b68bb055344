package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
)

// Fence is one fenced code block of the README.
type Fence struct {
	Lang, Body string
	Line       int    // line of the opening Fence
	Before     string // the last non-blank line before the Fence
}

func ReadmeFences(t *testing.T) []Fence {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []Fence
	var cur *Fence
	var body []string
	last, indent := "", ""
	for i, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &Fence{Lang: strings.TrimPrefix(trimmed, "```"), Line: i + 1, Before: last}
			indent = line[:len(line)-len(strings.TrimLeft(line, " "))] // a block in a list item
			body = nil
		case cur != nil && trimmed == "```":
			cur.Body = strings.Join(body, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body = append(body, strings.TrimPrefix(line, indent))
		case trimmed != "":
			last = trimmed
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: a fence is never closed", cur.Line)
	}
	return out
}

const FragmentMarker = "<!-- registry fragment -->"

// ReadmeExample is a request of the README and the answer it shows.
type ReadmeExample struct {
	Where  string
	Method string // GET or POST
	Path   string // /graphql, /v1/events
	Body   string
	Answer string
}

func IsOperation(q string) bool {
	q = strings.TrimSpace(q)
	return strings.HasPrefix(q, "{") || strings.HasPrefix(q, "query")
}

func HasData(s string) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil && (m["data"] != nil || m["errors"] != nil)
}

// ReadmeExamples returns the README's requests with answers, in README order, for the demo
// server.
func ReadmeExamples(t *testing.T) []ReadmeExample {
	t.Helper()
	fences := ReadmeFences(t)
	var out []ReadmeExample
	for i := 0; i < len(fences); i++ {
		f := fences[i]
		where := fmt.Sprintf("README.md:%d", f.Line)
		switch f.Lang {
		case "graphql":
			if !IsOperation(f.Body) || strings.HasPrefix(f.Before, "<!-- tested by ") {
				continue // SDL, or an example the marker's test answers (it needs more than the demo server)
			}
			req := map[string]any{"query": f.Body}
			j := i + 1
			if j < len(fences) && fences[j].Lang == "json" && !HasData(fences[j].Body) {
				var vars map[string]any
				if err := json.Unmarshal([]byte(fences[j].Body), &vars); err != nil {
					t.Fatalf("%s: the variables after the query: %v", where, err)
				}
				req["variables"] = vars
				j++
			}
			if j >= len(fences) || fences[j].Lang != "json" || !HasData(fences[j].Body) {
				t.Errorf("%s: the example query has no answer (a ```json block with \"data\" after it)", where)
				continue
			}
			body, _ := json.Marshal(req)
			out = append(out, ReadmeExample{Where: where, Method: http.MethodPost, Path: "/graphql", Body: string(body), Answer: fences[j].Body})
			i = j
		case "sh":
			if strings.Contains(f.Body, "kcat") || strings.HasPrefix(f.Before, "<!-- tested by ") {
				continue // TestReadmeKafkaExample, or the test the marker names
			}
			out = append(out, CurlExamples(t, where, f.Body)...)
		}
	}
	return out
}

// CurlExamples returns the curl commands of a shell block that show an answer.
func CurlExamples(t *testing.T, where, block string) []ReadmeExample {
	t.Helper()
	var out []ReadmeExample
	for _, c := range ShellCommands(block) {
		if c.Answer == "" || len(c.Words) == 0 || c.Words[0] != "curl" {
			continue
		}
		ex := CurlExample(t, where, c.Words)
		ex.Answer = c.Answer
		out = append(out, ex)
	}
	return out
}

// ReadmeBlockTestedBy returns the shell block marked `<!-- tested by name -->`.
func ReadmeBlockTestedBy(t *testing.T, name string) Fence {
	t.Helper()
	for _, f := range ReadmeFences(t) {
		if f.Before == "<!-- tested by "+name+" -->" {
			return f
		}
	}
	t.Fatalf("README.md has no block marked as tested by %s", name)
	return Fence{}
}

// send runs a README request against the server at addr and returns the answer.
func (ex ReadmeExample) Send(t *testing.T, addr string) string {
	t.Helper()
	req, err := http.NewRequest(ex.Method, "http://"+addr+ex.Path, strings.NewReader(ex.Body))
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

// ShellCommand is one command of a shell block and the `# ` comment lines that follow it.
type ShellCommand struct {
	Words  []string
	Answer string
}

// ShellCommands splits a shell block into commands: words with single and double quotes
// (spanning lines), backslash-newline continuations, and full-line comments after a command
// as its answer. $(date -u +%FT%TZ) is replaced by the current UTC time.
func ShellCommands(src string) []ShellCommand {
	src = strings.ReplaceAll(src, "$(date -u +%FT%TZ)", time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	var cmds []ShellCommand
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
			cmds = append(cmds, ShellCommand{Words: words})
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
				if prev.Answer != "" || strings.HasPrefix(text, "{") {
					prev.Answer += text
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

// CurlExample reads the method, path and body of a curl command against localhost:8080.
func CurlExample(t *testing.T, where string, words []string) ReadmeExample {
	t.Helper()
	ex := ReadmeExample{Where: where, Method: http.MethodGet}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-X" && i+1 < len(words):
			ex.Method = words[i+1]
			i++
		case w == "-H" && i+1 < len(words):
			i++
		case w == "-d" && i+1 < len(words):
			ex.Body = words[i+1]
			if ex.Method == http.MethodGet {
				ex.Method = http.MethodPost
			}
			i++
		case strings.HasPrefix(w, "localhost:8080"):
			ex.Path = strings.TrimPrefix(w, "localhost:8080")
		}
	}
	if ex.Path == "" {
		t.Fatalf("%s: curl command %q names no localhost:8080 URL", where, words)
	}
	return ex
}

// SameJSON compares two JSON texts as values.
func SameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// StartServer runs `featuregraph serve args...` on a free loopback port until the test ends
// and returns its base URL once it answers.
func StartServer(t *testing.T, args ...string) string {
	t.Helper()
	addr, _ := StartServe(t, args...)
	return "http://" + addr
}

// Post sends body to base+path and returns the answer.
func Post(t *testing.T, base, path, body string) string {
	t.Helper()
	res, err := http.Post(base+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return b.String()
}

// SyncBuffer is a bytes.Buffer safe for the concurrent writes of dev and its servers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartServe runs `featuregraph serve` in process on a free port and waits until it answers.
// Its shutdown does not drain (--shutdown-drain 0: a drain waits for a second without requests)
// unless args set --shutdown-drain themselves (the later flag wins).
func StartServe(t *testing.T, args ...string) (addr string, stop func() (error, time.Duration)) {
	t.Helper()
	addr = FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs SyncBuffer
	go pprof.Do(ctx, pprof.Labels(serveLabel, addr), func(ctx context.Context) {
		done <- cli.Run(ctx, append([]string{"serve", "--addr", addr, "--shutdown-drain", "0"}, args...), &logs, &logs, NoEnv)
	})
	for deadline := time.Now().Add(90 * time.Second); ; { // --demo on dynalite under -race is slow
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	var err error
	var took time.Duration
	stop = func() (error, time.Duration) {
		once.Do(func() {
			start := time.Now()
			cancel()
			err = <-done
			took = time.Since(start)
		})
		return err, took
	}
	t.Cleanup(func() {
		if err, _ := stop(); err != nil {
			t.Errorf("serve returned %v\n%s", err, logs.String())
		}
	})
	return addr, stop
}

// serveLabel is the pprof label of the goroutines of a server StartServe runs, with its address
// as value: every goroutine the server starts (its listener, each connection, its background
// work) inherits it, so ServeGoroutines counts one server's goroutines while other tests of the
// binary run their own servers in parallel.
const serveLabel = "featuregraph_serve"

// ServeGoroutines is how many goroutines the server StartServe runs at addr has.
func ServeGoroutines(t *testing.T, addr string) int {
	t.Helper()
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		t.Fatal(err)
	}
	// debug=1: one record per distinct stack, "N @ 0x..." then "# labels: {...}" when labelled.
	want := fmt.Sprintf("# labels: {%q:%q}", serveLabel, addr)
	n := 0
	for _, rec := range strings.Split(b.String(), "\n\n") {
		lines := strings.SplitN(rec, "\n", 3)
		if len(lines) < 2 || strings.TrimSpace(lines[1]) != want {
			continue
		}
		var c int
		if _, err := fmt.Sscanf(lines[0], "%d @", &c); err == nil {
			n += c
		}
	}
	return n
}

func WaitHTTP(t *testing.T, url string, done <-chan error) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func Get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func NoEnv(string) string { return "" }

// ServeAndQuery runs `featuregraph serve args...` on a free port, posts each query and returns
// the answers as compact JSON, then shuts the server down.
func ServeAndQuery(t *testing.T, args []string, queries ...string) []string {
	t.Helper()
	addr := FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- cli.Run(ctx, append([]string{"serve", "--addr", addr, "--shutdown-drain", "0"}, args...), &logs, &logs, NoEnv)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v\n%s", err, logs.String())
		}
	}()
	var out []string
	for _, q := range queries {
		body, _ := json.Marshal(map[string]string{"query": q})
		var res *http.Response
		for deadline := time.Now().Add(15 * time.Second); ; {
			var err error
			res, err = http.Post("http://"+addr+"/graphql", "application/json", bytes.NewReader(body))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server did not answer: %v\n%s", err, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		var got any
		err := json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(got)
		out = append(out, string(b))
	}
	return out
}

const ReadmeQuery = `{ user(id: 1) { os regionId notificationKeywords recentClickedArticles(count: 3) { timestamp source article { id title category price } } } }`

// AppVersionFeature is the feature the README's walk-through adds.
const AppVersionFeature = `
features:
  user:
    app_version:
      featureType: static
      type: String
      description: App version of the user's latest session.
      events:
        - streamName: app_events
          topic: user_cdc
          subTopic: user_updated
          entityId: user_id
          timestamp: updated_at
          fields:
            - { name: device.app_version, rename: app_version }
`

// TieredArgs creates a fresh table on the shared dynalite and returns the store flags of
// DynamoDB + Redis.
func TieredArgs(t *testing.T) []string {
	t.Helper()
	args := []string{"--dynamodb-endpoint", testenv.DynamoDB(t), "--dynamodb-table", fmt.Sprintf("fg_%d", time.Now().UnixNano())}
	var out bytes.Buffer
	if err := cli.Run(context.Background(), append([]string{"init-table"}, args...), &out, &out, NoEnv); err != nil {
		t.Fatalf("init-table: %v\n%s", err, out.String())
	}
	return append(args, "--redis-addr", testenv.Redis(t))
}

// MetricValue reads one sample of a Prometheus text exposition: name with exactly the given
// labels (in the exposition's order, e.g. `outcome="written",source="kafka"`); -1 when absent.
func MetricValue(body, name, labels string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name+"{"+labels+"}") + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

func ScrapeText(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// CopyDir copies the files under src into dst.
func CopyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
