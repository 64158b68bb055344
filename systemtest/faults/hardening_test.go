package faults_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// TestShutdownDrainsThenStops: on SIGTERM /readyz fails for the drain period while queries are
// still answered, then the listener closes; no request that reached the server fails, and the
// whole shutdown fits in --shutdown-timeout with a nil error (exit 0).
func TestShutdownDrainsThenStops(t *testing.T) {
	addr, stop := harness.StartServe(t, "--shutdown-drain", "1500ms", "--shutdown-timeout", "5s")
	query := `{"query":"{ user(id: 1) { os recentClickedArticles(count: 3) { articleId } } }"}`
	var ok, failed, refused atomic.Int64
	var wg sync.WaitGroup
	stopLoad := make(chan struct{})
	client := &http.Client{Timeout: 5 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				res, err := client.Post("http://"+addr+"/graphql", "application/json", strings.NewReader(query))
				if err != nil {
					refused.Add(1) // the listener is closed: a load balancer has stopped sending by then
					time.Sleep(5 * time.Millisecond)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	type stopped struct {
		err  error
		took time.Duration
	}
	sc := make(chan stopped, 1)
	go func() { err, took := stop(); sc <- stopped{err, took} }()
	// During the drain: /readyz says draining, queries are still served.
	time.Sleep(300 * time.Millisecond)
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := fresh.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatalf("readyz during the drain: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "draining") {
		t.Fatalf("readyz during the drain: %d %s", res.StatusCode, b)
	}
	okDuringDrain := ok.Load()
	s := <-sc
	close(stopLoad)
	wg.Wait()
	t.Logf("shutdown took %s: %d answered, %d failed, %d refused after close", s.took, ok.Load(), failed.Load(), refused.Load())
	if s.err != nil {
		t.Fatalf("serve returned %v (exit code 2)", s.err)
	}
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed during shutdown", failed.Load())
	}
	if ok.Load() <= okDuringDrain {
		t.Fatalf("no query answered during the drain")
	}
	if s.took > 5*time.Second+500*time.Millisecond {
		t.Fatalf("shutdown took %s, --shutdown-timeout 5s", s.took)
	}
}

// TestSlowClientsAreCutOff: clients that send a query and never read its (large) answer hold
// their goroutines and admission slots only until the write deadline (request timeout + grace);
// meanwhile other clients are answered (503 while every slot is held, never a hang), and then
// served normally. Each slow client is sent the start of its 200 answer, and the server closes
// its connection before the answer's end (cut off at the write deadline, not left idle).
func TestSlowClientsAreCutOff(t *testing.T) {
	testenv.Slow(t, "CPU-heavy queries held by slow readers")
	t.Parallel()
	// --max-heavy-in-flight 4: the heavy lane would otherwise keep a slot for the light query
	// (cost-aware admission), and the test must see the slow clients hold every slot.
	// --request-timeout 4s: the slow clients' queries must be answered, not time out, for their
	// answers to be large: under -race on a busy machine one takes seconds (a short timeout made
	// them small TIMEOUT errors, which fit in the socket buffers and left idle connections that
	// only the 60 s idle timeout closed).
	addr, _ := harness.StartServe(t, "--request-timeout", "4s", "--max-in-flight", "4", "--max-heavy-in-flight", "4", "--max-queue", "4",
		"--max-complexity", "2000000", "--max-in-flight-values", "20000000", "--max-ids", "1000")
	var ids []string
	for i := range 1000 {
		ids = append(ids, fmt.Sprint(i))
	}
	var q strings.Builder
	q.WriteString(`{"query":"query Q($ids: [Int!]!) { `)
	for i := range 40 {
		fmt.Fprintf(&q, "a%d: users(ids: $ids) { id os regionId notificationKeywords mannerTemperature } ", i)
	}
	fmt.Fprintf(&q, `}", "variables": {"ids": [%s]}}`, strings.Join(ids, ","))
	heavy := q.String()
	// The server's own goroutines (labelled by harness.StartServe): other tests of the package run
	// their servers at the same time.
	base := harness.ServeGoroutines(t, addr)
	var conns []net.Conn
	for range 4 {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(heavy), heavy)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(500 * time.Millisecond)
	held := harness.ServeGoroutines(t, addr)
	// Other clients: never a hang, and served again once the slow ones are cut off. (The
	// slow clients' queries are CPU-bound: under -race on two cores one takes seconds.)
	client := &http.Client{Timeout: 120 * time.Second}
	light := `{"query":"{ user(id: 1) { os } }"}`
	served := false
	start := time.Now()
	for time.Since(start) < 120*time.Second {
		t0 := time.Now()
		res, err := client.Post("http://"+addr+"/graphql", "application/json", strings.NewReader(light))
		if err != nil {
			t.Fatalf("light query: %v", err)
		}
		t.Logf("light query at %s: %d in %s", time.Since(start).Round(time.Millisecond), res.StatusCode, time.Since(t0).Round(time.Millisecond))
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			served = true
			break
		}
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Fatalf("light query: %d", res.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !served {
		t.Fatal("light queries not served within 120 s while slow clients hold their answers")
	}
	t.Logf("server goroutines: %d before, %d with 4 slow clients; light query served after %s", base, held, time.Since(start).Round(time.Millisecond))
	if time.Since(start) < 200*time.Millisecond {
		t.Fatalf("light query served at once: the slow clients did not hold the slots")
	}
	// The slow clients' handlers are gone, and their connections closed by the server, although
	// they never read.
	client.CloseIdleConnections()
	deadline := time.Now().Add(120 * time.Second)
	dumped := false
	for harness.ServeGoroutines(t, addr) > base+1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if !dumped && time.Since(start) > 20*time.Second {
			// Shown if the test fails (or with -v): what the server still runs.
			dumped = true
			var stacks strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Logf("server goroutines still %d (base %d) at %s:\n%s", harness.ServeGoroutines(t, addr), base,
				time.Since(start).Round(time.Millisecond), stacks.String())
		}
	}
	if n := harness.ServeGoroutines(t, addr); n > base+1 {
		t.Fatalf("%d server goroutines remain (base %d): slow clients still hold the server", n, base)
	}
	// What each slow client got: the start of a 200 answer, cut off before its end by the server
	// closing the connection (an answer the server had finished would end with its whole length,
	// and a connection the server kept would not end).
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("slow client %d: reading its answer: %v", i, err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		t.Logf("slow client %d: %d, %d of %d bytes, then %v", i, res.StatusCode, n, res.ContentLength, err)
		if res.StatusCode != http.StatusOK {
			t.Errorf("slow client %d: answered %d, want the 200 of its query", i, res.StatusCode)
		}
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("slow client %d: %d bytes then %v: want the answer cut off by the server closing the connection", i, n, err)
		}
	}
}

// TestHungRedisDegradesButServes: with Redis hung behind a fault proxy the gateway answers the
// README query without an error (from DynamoDB), /readyz stays 200 and says "degraded: redis",
// and featuregraph_degraded{backend="redis"} is 1; when Redis answers again it is 0.
func TestHungRedisDegradesButServes(t *testing.T) {
	t.Parallel()
	endpoint := testenv.DynamoDB(t)
	proxy := testenv.NewFaultProxy(t, testenv.Redis(t))
	table := fmt.Sprintf("fg_fault_%d", time.Now().UnixNano())
	storeArgs := []string{"--dynamodb-endpoint", endpoint, "--dynamodb-table", table}
	var out bytes.Buffer
	if err := cli.Run(context.Background(), append([]string{"init-table"}, storeArgs...), &out, &out, harness.NoEnv); err != nil {
		t.Fatalf("init-table: %v\n%s", err, out.String())
	}
	addr, _ := harness.StartServe(t, append([]string{"--demo", "--redis-addr", proxy.Addr(), "--shutdown-drain", "0"}, storeArgs...)...)
	query := func() (int, string) {
		body, _ := json.Marshal(map[string]string{"query": harness.ReadmeQuery})
		res, err := http.Post("http://"+addr+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	get := func(path string) string {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return fmt.Sprint(res.StatusCode, " ", string(b))
	}
	_, healthy := query()
	proxy.Set(testenv.Blackhole, 0)
	errs := 0
	for range 20 {
		code, b := query()
		if code != http.StatusOK || b != healthy {
			errs++
			t.Errorf("with Redis hung: %d %s", code, b)
		}
	}
	if r := get("/readyz"); !strings.HasPrefix(r, "200 ") || !strings.Contains(r, `"degraded":"redis"`) {
		t.Fatalf("readyz with Redis hung: %s", r)
	}
	if m := get("/metrics"); !strings.Contains(m, `featuregraph_degraded{backend="redis"} 1`) {
		t.Fatalf("metrics with Redis hung lack featuregraph_degraded 1")
	}
	proxy.Set(testenv.Pass, 0)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(get("/readyz"), "degraded") && time.Now().Before(deadline) {
		query()
		time.Sleep(100 * time.Millisecond)
	}
	if r := get("/readyz"); strings.Contains(r, "degraded") {
		t.Fatalf("still degraded 10 s after Redis recovered: %s", r)
	}
	if m := get("/metrics"); !strings.Contains(m, `featuregraph_degraded{backend="redis"} 0`) {
		t.Fatalf("metrics after recovery lack featuregraph_degraded 0")
	}
}
