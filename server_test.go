package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/registry"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func noEnv(string) string { return "" }

// The README's example query, answered by `go run .` (embedded default: memory + demo events).
func TestServeAnswersTheReadmeQuery(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"--addr", addr}, &logs, &logs, noEnv) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	}()
	var res *http.Response
	query := `{"query":"{ user(id: 1) { os regionId notificationKeywords recentClickedArticles(count: 3) { timestamp source article { id title category price } } } }"}`
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		res, err = http.Post("http://"+addr+"/graphql", "application/json", strings.NewReader(query))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer res.Body.Close()
	var got, want any
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	// The same answer the README shows.
	_ = json.Unmarshal([]byte(`{"data":{"user":{"os":"ios","regionId":6,"notificationKeywords":["bicycle","camping","lego"],
		"recentClickedArticles":[
		{"timestamp":"2026-10-15T08:25:00Z","source":"push","article":{"id":105,"title":"Sony WH-1000XM5","category":"digital","price":280000}},
		{"timestamp":"2026-10-15T08:20:00Z","source":"feed","article":{"id":104,"title":"Oak dining table","category":"furniture","price":150000}},
		{"timestamp":"2026-10-15T08:12:00Z","source":"feed","article":{"id":101,"title":"iPad Air 5th gen","category":"digital","price":520000}}]}}}`), &want)
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Fatalf("got  %s\nwant %s", gb, wb)
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
				args = append(args, "--addr", freeAddr(t))
			}
			err := run(context.Background(), args, &out, &out, noEnv)
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
	err := run(context.Background(), []string{"validate"}, &bytes.Buffer{}, &bytes.Buffer{}, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/registry") {
		t.Fatalf("want FEATUREGRAPH_FEATURES to set --features, got %v", err)
	}
	// A flag on the command line wins over the environment.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"validate", "--features", "features"}, &out, &out, func(k string) string { return env[k] }); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if !strings.Contains(out.String(), "valid: 2 entities") {
		t.Fatalf("unexpected output %q", out.String())
	}
	if got := EnvName("redis-addr"); got != "FEATUREGRAPH_REDIS_ADDR" {
		t.Fatalf("EnvName: %s", got)
	}
	bad := map[string]string{"FEATUREGRAPH_MAX_IDS": "many"}
	err = run(context.Background(), []string{"serve"}, &bytes.Buffer{}, &bytes.Buffer{}, func(k string) string { return bad[k] })
	if err == nil || !strings.Contains(err.Error(), `FEATUREGRAPH_MAX_IDS="many"`) {
		t.Fatalf("want a clear error for a bad environment value, got %v", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"srve"}, &out, &out, noEnv)
	if err == nil || !strings.Contains(err.Error(), `unknown command "srve"`) || !strings.Contains(out.String(), "commands:") {
		t.Fatalf("got %v / %s", err, out.String())
	}
}
