package readme_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// The README's point-in-time (asOf) examples answer as shown with tracing off and on
// (OTEL_TRACES_EXPORTER=console), on the in-memory store and on DynamoDB + Redis: the history
// capability is found through the tracing decorator (store.As), not by a type assertion it hides.
func TestReadmeAsOfExamplesWithTracingOnAndOff(t *testing.T) {
	var examples []harness.ReadmeExample
	for _, ex := range harness.ReadmeExamples(t) {
		if ex.Path == "/graphql" && strings.Contains(ex.Body, "asOf") {
			examples = append(examples, ex)
		}
	}
	if len(examples) < 3 {
		t.Fatalf("found %d README asOf examples, want at least 3", len(examples))
	}
	for _, backend := range []string{"memory", "dynamodb+redis"} {
		for _, traced := range []bool{false, true} {
			name := backend + "/tracing-off"
			env := harness.NoEnv
			if traced {
				name = backend + "/tracing-on"
				env = func(k string) string {
					if k == "OTEL_TRACES_EXPORTER" {
						return "console"
					}
					return ""
				}
			}
			t.Run(name, func(t *testing.T) {
				args := []string{"--demo"}
				if backend == "dynamodb+redis" {
					args = append(args, harness.TieredArgs(t)...)
				}
				addr := ServeWithEnv(t, env, args...)
				for _, ex := range examples {
					if got := ex.Send(t, addr); !harness.SameJSON(got, ex.Answer) {
						t.Errorf("%s: %s\n got %s\nwant %s", ex.Where, ex.Body, got, ex.Answer)
					}
				}
			})
		}
	}
}

// serveWithEnv runs `featuregraph serve` in process with the environment env and waits until it
// answers; the test's cleanup stops it.
func ServeWithEnv(t *testing.T, env func(string) string, args ...string) string {
	t.Helper()
	addr := harness.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs harness.SyncBuffer
	go func() {
		done <- cli.Run(ctx, append([]string{"serve", "--addr", addr, "--shutdown-drain", "0"}, args...), io.Discard, &logs, env)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, logs.String())
		}
	})
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start\n%s", logs.String())
		}
	}
}
