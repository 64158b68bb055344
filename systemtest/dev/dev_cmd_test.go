package dev_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// copyModule copies the module's source files (tracked or new, not ignored) to a temporary
// directory, so the test can edit the registry and regenerate there.
func copyModule(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		b, err := os.ReadFile(name)
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree
			}
			t.Fatal(err)
		}
		target := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b))
}

// waitFor polls until check returns true, failing with the dev output after timeout.
func waitFor(t *testing.T, logs *harness.SyncBuffer, timeout time.Duration, what string, check func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !check(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; dev output:\n%s", what, logs.String())
		}
	}
}

// buildWait is how long TestDevPicksUpANewFeature waits for a build of the module to serve.
const buildWait = 8 * time.Minute

// `featuregraph dev` on a copy of the module: a feature added to the YAML is served after a
// push without a manual rebuild, the data pushed before the change is still there, and an
// invalid registry is reported while the running server keeps serving.
func TestDevPicksUpANewFeature(t *testing.T) {
	testenv.Slow(t, "builds the module twice")
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go tool is needed: ", err)
	}
	// dev builds with the go tool of the environment: CGO_ENABLED=0 (the module has no cgo) is
	// how scripts/test vets the module and how the container image builds it, so the first
	// build reuses their compiles (scripts/test's comment on vet).
	t.Setenv("CGO_ENABLED", "0")
	root := copyModule(t)
	addr := harness.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs harness.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(ctx, []string{"dev", "--dir", root, "--addr", addr, "--debounce", "100ms"}, &logs, &logs, harness.NoEnv)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev returned %v\n%s", err, logs.String())
		}
	}()
	gql := "http://" + addr + "/graphql"
	query := func(q string) string {
		body, _ := json.Marshal(map[string]string{"query": q})
		_, out := postJSON(t, gql, string(body))
		return out
	}
	// The waits below bound builds of the whole module (go generate, go build): minutes on a cold
	// build cache, more while `go test -race ./...` compiles the other packages' test binaries on
	// the same two cores. They only detect a dev that never serves; they time nothing.
	waitFor(t, &logs, buildWait, "the first server", func() bool {
		return strings.HasPrefix(query(`{ user(id: 1) { os } }`), `{"data":{"user":{"os":"ios"}}}`)
	})

	// Data pushed before the change.
	code, ans := postJSON(t, "http://"+addr+"/v1/events", `{"streamName":"app_events","topic":"user_cdc","subTopic":"user_updated",
		"event":{"user_id":42,"device":{"os":"android","app_version":"7.1.0"},"region":{"id":3},"verified":true,"updated_at":"2026-11-01T00:00:00Z"}}`)
	if code != http.StatusOK || !strings.Contains(ans, `"accepted":1`) {
		t.Fatalf("push: %d %s", code, ans)
	}

	// An invalid registry is reported; the server keeps serving.
	bad := filepath.Join(root, "features", "broken.yaml")
	if err := os.WriteFile(bad, []byte("features:\n  user:\n    oops:\n      featureType: statik\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &logs, time.Minute, "the registry problem to be printed", func() bool {
		return strings.Contains(logs.String(), "the registry is invalid") && strings.Contains(logs.String(), "broken.yaml")
	})
	if got := query(`{ user(id: 42) { os } }`); got != `{"data":{"user":{"os":"android"}}}` {
		t.Fatalf("after an invalid registry: %s", got)
	}
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}

	// Add a feature fed by the same events: the server reloads it, no build, no restart.
	builds := strings.Count(logs.String(), "dev: server ready")
	if err := os.WriteFile(filepath.Join(root, "features", "app_version.yaml"), []byte(harness.AppVersionFeature), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := time.Now()
	for !strings.Contains(logs.String(), "registry reloaded by the server") || strings.Contains(query(`{ user(id: 1) { appVersion } }`), "errors") {
		if time.Since(saved) > time.Minute {
			t.Fatalf("the new feature is not served a minute after the save; dev output:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("saved → new feature answered, pushed events replayed: %s", time.Since(saved))
	if n := strings.Count(logs.String(), "dev: server ready"); n != builds {
		t.Fatalf("a registry change rebuilt or restarted the server (%d → %d starts)", builds, n)
	}
	// The event pushed before the change was replayed: its new feature is there too, and the
	// demo data is still loaded (the demo events lack device.app_version: skipped, not fatal).
	if got := query(`{ user(id: 42) { os appVersion } user1: user(id: 1) { os appVersion } }`); got != `{"data":{"user":{"os":"android","appVersion":"7.1.0"},"user1":{"os":"ios","appVersion":null}}}` {
		t.Fatalf("after the change: %s", got)
	}
	// The README's step 3: push an event with the new path, query the new field.
	block := harness.ReadmeBlockTestedBy(t, "TestDevPicksUpANewFeature")
	examples := harness.CurlExamples(t, fmt.Sprintf("README.md:%d", block.Line), block.Body)
	if len(examples) != 2 {
		t.Fatalf("README.md:%d: want a push and a query with answers, got %d", block.Line, len(examples))
	}
	for _, ex := range examples {
		if got := ex.Send(t, addr); !harness.SameJSON(got, ex.Answer) {
			t.Errorf("%s: %s %s\n got %s\nwant %s", ex.Where, ex.Method, ex.Path, got, ex.Answer)
		}
	}
}
