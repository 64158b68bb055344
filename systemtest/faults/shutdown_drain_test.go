package faults_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// TestShutdownDrainsOnlyWhileWatched: SIGTERM with nobody polling /readyz and no request for a
// second ends the drain at once (Ctrl-C on an idle server, each `featuregraph dev` restart);
// with a load balancer polling /readyz the whole --shutdown-drain passes with /readyz failing.
func TestShutdownDrainsOnlyWhileWatched(t *testing.T) {
	testenv.Slow(t, "waits a full --shutdown-drain with a load balancer polling")
	t.Parallel()
	serve := func(t *testing.T, probe bool) (logs string, draining int64) {
		t.Helper()
		addr := harness.FreeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out harness.SyncBuffer
		done := make(chan error, 1)
		go func() {
			done <- cli.Run(ctx, []string{"serve", "--addr", addr, "--shutdown-drain", "1500ms"}, &out, &out, harness.NoEnv)
		}()
		harness.WaitHTTP(t, "http://"+addr+"/healthz", done)
		var polls atomic.Int64
		stopProbe := make(chan struct{})
		probed := make(chan struct{})
		if probe {
			// A readiness probe: /readyz every 100 ms, before and during the shutdown.
			go func() {
				defer close(probed)
				client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
				for {
					select {
					case <-stopProbe:
						return
					case <-time.After(100 * time.Millisecond):
					}
					res, err := client.Get("http://" + addr + "/readyz")
					if err != nil {
						continue // the listener is closed
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(b), "draining") {
						polls.Add(1)
					}
				}
			}()
		} else {
			close(probed)
		}
		// No request for more than the quiet second.
		time.Sleep(1200 * time.Millisecond)
		start := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("serve: %v\n%s", err, out.String())
		}
		t.Logf("probe %v: shutdown took %s", probe, time.Since(start).Round(time.Millisecond))
		close(stopProbe)
		<-probed
		return out.String(), polls.Load()
	}
	t.Run("nobody watching", func(t *testing.T) {
		t.Parallel()
		logs, _ := serve(t, false)
		if !strings.Contains(logs, "drain ended early") {
			t.Fatalf("idle and unwatched, the drain did not end early:\n%s", logs)
		}
	})
	t.Run("load balancer polling", func(t *testing.T) {
		t.Parallel()
		logs, draining := serve(t, true)
		if strings.Contains(logs, "drain ended early") {
			t.Fatalf("with /readyz polled the drain ended early:\n%s", logs)
		}
		if draining == 0 {
			t.Fatalf("the probe never saw /readyz answer draining:\n%s", logs)
		}
	})
}
