package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

type pushAnswer struct {
	code       int
	retryAfter string
	body       string
	err        error
}

func pushEvent(client *http.Client, addr string, user int, temperature float64) pushAnswer {
	ev := fmt.Sprintf(`{"streamName":"app_events","topic":"user_cdc","event":{"event_name":"manner_updated","user_id":%d,"temperature":%v,"updated_at":1760000000}}`, user, temperature)
	res, err := client.Post("http://"+addr+"/v1/events", "application/json", strings.NewReader(ev))
	if err != nil {
		return pushAnswer{err: err}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return pushAnswer{code: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), body: string(b)}
}

// TestShutdownAnswersUnstoredPushes503: the real server over Redis and DynamoDB (dynalite behind
// a fault proxy). A push is accepted and stored; then DynamoDB hangs (blackhole), a push is in
// flight when SIGTERM comes and another arrives during the drain: neither can be stored before
// the shutdown ends, so both are answered 503 with Retry-After saying the store did not confirm
// their event (never a 4xx, so a client retries); the server stops with a nil error (exit 0)
// within --shutdown-timeout. The writes held in the network are then dropped (reset): after a
// restart the accepted event is in the store and the refused ones are not, until the client
// sends them again as Retry-After asks; then every event is stored.
func TestShutdownAnswersUnstoredPushes503(t *testing.T) {
	testenv.Slow(t, "a shutdown with pushes held in the network, a restart and the clients' retries")
	t.Parallel()
	endpoint := testenv.DynamoDB(t)
	table := fmt.Sprintf("fg_shutdown_%d", time.Now().UnixNano())
	var out bytes.Buffer
	if err := cli.Run(context.Background(), []string{"init-table", "--dynamodb-endpoint", endpoint, "--dynamodb-table", table}, &out, &out, harness.NoEnv); err != nil {
		t.Fatalf("init-table: %v\n%s", err, out.String())
	}
	proxy := testenv.NewFaultProxy(t, strings.TrimPrefix(endpoint, "http://"))
	redisAddr := testenv.Redis(t)
	const timeout = 4 * time.Second
	addr, stop := harness.StartServe(t, "--dynamodb-endpoint", "http://"+proxy.Addr(), "--dynamodb-table", table, "--redis-addr", redisAddr,
		"--shutdown-drain", "1s", "--shutdown-timeout", timeout.String())
	client := &http.Client{Timeout: 30 * time.Second}

	if a := pushEvent(client, addr, 501, 41); a.err != nil || a.code != http.StatusOK || !strings.Contains(a.body, `"accepted":1`) {
		t.Fatalf("push with the store up: %+v", a)
	}

	proxy.Set(testenv.Blackhole, 0)
	inFlight := make(chan pushAnswer, 1)
	go func() { inFlight <- pushEvent(client, addr, 502, 42) }()
	time.Sleep(300 * time.Millisecond) // the push is waiting for DynamoDB

	type stopped struct {
		err  error
		took time.Duration
	}
	sc := make(chan stopped, 1)
	go func() { err, took := stop(); sc <- stopped{err, took} }()
	time.Sleep(300 * time.Millisecond) // within the 1 s drain
	fresh := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	duringDrain := make(chan pushAnswer, 1)
	go func() { duringDrain <- pushEvent(fresh, addr, 503, 43) }()
	res, err := fresh.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatalf("readyz during the drain: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "draining") {
		t.Errorf("readyz during the drain: %d %s", res.StatusCode, b)
	}

	s := <-sc
	t.Logf("shutdown took %s (--shutdown-timeout %s)", s.took.Round(time.Millisecond), timeout)
	if s.err != nil {
		t.Fatalf("serve returned %v (exit code 2)", s.err)
	}
	if s.took > timeout+500*time.Millisecond {
		t.Errorf("shutdown took %s, --shutdown-timeout %s", s.took, timeout)
	}
	for name, a := range map[string]pushAnswer{"in flight at SIGTERM": <-inFlight, "sent during the drain": <-duringDrain} {
		t.Logf("push %s: %d Retry-After %q %s", name, a.code, a.retryAfter, strings.TrimSpace(a.body))
		if a.err != nil {
			t.Errorf("push %s: %v", name, a.err)
			continue
		}
		if a.code != http.StatusServiceUnavailable || a.retryAfter == "" || !strings.Contains(a.body, "shutting down: the store did not confirm 1 event") ||
			strings.Contains(a.body, "confirmed stored") {
			t.Errorf("push %s: %d Retry-After %q %s; want 503 with Retry-After saying the store did not confirm its event", name, a.code, a.retryAfter, a.body)
		}
	}
	if a := pushEvent(fresh, addr, 504, 44); a.err == nil {
		t.Errorf("push after the shutdown reached a server: %+v", a)
	}

	// The writes still held by the hung network are dropped (a blackhole that heals with them
	// delivered would store them after all: a write sent is not claimed either way). Restart on
	// the same stores, DynamoDB reachable again.
	proxy.Set(testenv.Reset, 0)
	proxy.Set(testenv.Pass, 0)
	addr2, stop2 := harness.StartServe(t, "--dynamodb-endpoint", "http://"+proxy.Addr(), "--dynamodb-table", table, "--redis-addr", redisAddr, "--shutdown-drain", "0")
	temperatures := func() string {
		body := `{"query":"{ a: user(id: 501) { mannerTemperature } b: user(id: 502) { mannerTemperature } c: user(id: 503) { mannerTemperature } }"}`
		res, err := client.Post("http://"+addr2+"/graphql", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v struct {
			Data map[string]struct {
				MannerTemperature float64 `json:"mannerTemperature"`
			} `json:"data"`
		}
		b, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("query after restart: %s: %v", b, err)
		}
		return fmt.Sprint(v.Data["a"].MannerTemperature, " ", v.Data["b"].MannerTemperature, " ", v.Data["c"].MannerTemperature)
	}
	// 36.5 is the feature's default: nothing stored.
	if got := temperatures(); got != "41 36.5 36.5" {
		t.Errorf("after restart: user 501, 502, 503 have %s; want 41 36.5 36.5 (the accepted event stored, the refused ones not)", got)
	}
	// The client retries what was answered 503: now everything is stored.
	for _, e := range []struct {
		user int
		temp float64
	}{{502, 42}, {503, 43}} {
		if a := pushEvent(client, addr2, e.user, e.temp); a.err != nil || a.code != http.StatusOK {
			t.Fatalf("retried push of user %d: %+v", e.user, a)
		}
	}
	if got := temperatures(); got != "41 42 43" {
		t.Errorf("after the retries: user 501, 502, 503 have %s; want 41 42 43", got)
	}
	if err, _ := stop2(); err != nil {
		t.Errorf("second serve: %v", err)
	}
}
