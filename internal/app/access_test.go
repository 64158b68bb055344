package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/auth"
	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/metrics"
)

// With access control on, a reload recompiles the clients file against the new registry: a
// feature the reload adds is readable by a client whose glob matches it, and still forbidden to
// one whose grants name other features.
func TestLiveReloadRecompilesGrants(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase)
	clients := filepath.Join(t.TempDir(), "clients.yaml")
	writeFile(t, clients, fmt.Sprintf(`
clients:
  all:
    apiKeys: [%s]
    read: {features: ["user.*"]}
  osOnly:
    apiKeys: [%s]
    read: {features: [user.os]}
`, auth.HashKey("key-all"), auth.HashKey("key-os")))

	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	m := metrics.New()
	rt, err := SetupLive(ctx, log, dir, LiveOptions{Watch: true}, &StoreOptions{}, m)
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.LoadFile(clients, rt.Reg, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.DefaultConfig()
	cfg.Metrics, cfg.RegistryStatus, cfg.Access.Policy = m, rt.Live.Status, p
	g, err := gateway.New(cfg, rt.Reg, rt.Store, rt.Store, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := FirstGeneration(g, rt.Live); err != nil {
		t.Fatal(err)
	}
	rt.Live.Add(AccessPart(g, clients))
	rt.Live.Add(GatewayPart(g))
	done := make(chan struct{})
	go func() { defer close(done); rt.Live.Run(ctx) }()
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); cancel(); <-done; rt.Store.Close() })

	ask := func(key, q string) (int, string) {
		body, _ := json.Marshal(map[string]string{"query": q})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Api-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := ask("key-all", `{ user(id: 1) { os } }`); code != http.StatusOK || strings.Contains(b, "errors") {
		t.Fatalf("before the reload: %d %s", code, b)
	}
	old := g.Policy()
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase+liveFeature("age"))
	start := time.Now()
	for {
		code, b := ask("key-all", `{ user(id: 1) { os age } }`)
		if code == http.StatusOK && !strings.Contains(b, "errors") {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the added feature is not readable by user.* after 10 s: %d %s\n%s", code, b, logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if g.Policy() == old {
		t.Fatal("the policy was not replaced by the reload")
	}
	code, b := ask("key-os", `{ user(id: 1) { age } }`)
	if code != http.StatusForbidden || !strings.Contains(b, `"FORBIDDEN"`) || !strings.Contains(b, "user.age") {
		t.Fatalf("osOnly reading the added feature: %d %s", code, b)
	}
	if code, b := ask("key-os", `{ user(id: 1) { os } }`); code != http.StatusOK || strings.Contains(b, "errors") {
		t.Fatalf("osOnly reading os after the reload: %d %s", code, b)
	}
}
