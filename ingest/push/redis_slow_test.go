package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/ingest/push"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/memory"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var slowIDs = map[string][]string{
	"user":    {"1", "2", "3", "4", "5"},
	"article": {"101", "102", "103"},
}

// TestPushesNeverWaitOnSlowRedis pushes events at 40 pushes/s into the production store (real
// dynalite, real redis-server behind the fault proxy) while every Redis round trip takes 600 ms
// more, then while Redis is hung: DynamoDB is the commit point, so no push is answered anything
// but 200 (before, 21% got 503 and the median push took 6.6 s: each waited for its Redis
// update), nothing is lost (DynamoDB holds exactly what the events say), and once Redis is
// healthy again it is brought up to date in the background (no key pending; every static Redis
// holds is DynamoDB's, and every series it holds is DynamoDB's). Push latencies are logged.
func TestPushesNeverWaitOnSlowRedis(t *testing.T) {
	testenv.Slow(t, "phases of pushes with Redis slowed by a fault proxy, then its recovery")
	ctx := context.Background()
	proxy := testenv.NewFaultProxy(t, testenv.NewRedis(t).Addr())
	dyn, err := dynamodb.New(ctx, dynamodb.Config{Endpoint: testenv.DynamoDB(t), Table: fmt.Sprintf("push_slow_%d", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	if err := dyn.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	rds, err := redis.New(redis.Config{Addrs: []string{proxy.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := tiered.New(rds, dyn, tiered.Config{NegativeTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	w, err := ingest.NewWriter(st, ingest.WriterConfig{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	h, err := push.New(d, w, push.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(push.Path, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.Close(cctx)
	})

	var mu sync.Mutex
	var sent []ingest.Envelope
	n := 0
	next := func() ingest.Envelope {
		mu.Lock()
		defer mu.Unlock()
		n++
		user, ts := n%5+1, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).UnixMilli()+int64(n)*1000
		var e ingest.Envelope
		if n%2 == 0 {
			e = ingest.Envelope{Topic: "user_cdc", Event: json.RawMessage(fmt.Sprintf(
				`{"event_name":"user_updated","user_id":%d,"device":{"os":"os%d"},"region":{"id":%d},"verified":true,"updated_at":%d}`, user, n, n, ts))}
		} else {
			e = ingest.Envelope{Topic: "client_event_cleansed", Event: json.RawMessage(fmt.Sprintf(
				`{"event_name":"view_article_v1","user_id":%d,"event_time":%d,"params":{"article_id_v1":%d,"source":"feed"}}`, user, ts, 101+n%3))}
		}
		sent = append(sent, e)
		return e
	}
	pushOne := func() (int, string, time.Duration) {
		b, _ := json.Marshal(next())
		start := time.Now()
		res, err := http.Post(srv.URL+push.Path, "application/json", strings.NewReader(string(b)))
		if err != nil {
			return 0, err.Error(), time.Since(start)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body), time.Since(start)
	}
	// Healthy: the series exist in Redis (a read refills them), so later pushes update Redis.
	for range 20 {
		if code, body, _ := pushOne(); code != http.StatusOK {
			t.Fatalf("healthy push: %d %s", code, body)
		}
	}
	ingesttest.Dump(t, st, reg, slowIDs)
	st.WaitBackground()

	const rate, phase = 40, 3 * time.Second
	for _, fault := range []struct {
		name    string
		mode    testenv.Fault
		latency time.Duration
	}{
		{"Redis +600 ms", testenv.Pass, 300 * time.Millisecond},
		{"Redis hung", testenv.Blackhole, 0},
	} {
		proxy.Set(fault.mode, fault.latency)
		var wg sync.WaitGroup
		var lmu sync.Mutex
		var lat []time.Duration
		codes := map[int]int{}
		first := ""
		tick := time.NewTicker(time.Second / rate)
		for end := time.Now().Add(phase); time.Now().Before(end); <-tick.C {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, body, took := pushOne()
				lmu.Lock()
				defer lmu.Unlock()
				codes[code]++
				lat = append(lat, took)
				if code != http.StatusOK && first == "" {
					first = fmt.Sprintf("%d %s", code, body)
				}
			}()
		}
		tick.Stop()
		wg.Wait()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("%s: %d pushes, answers %v, p50 %s, p99 %s, max %s; pending: %d series, %d statics", fault.name, len(lat), codes,
			lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond),
			st.StaleSeries(), st.PendingStatics())
		if codes[http.StatusOK] != len(lat) {
			t.Errorf("%s: %d of %d pushes answered other than 200; first: %s", fault.name, len(lat)-codes[http.StatusOK], len(lat), first)
		}
	}
	proxy.Set(testenv.Pass, 0)

	mem := memory.New()
	for _, e := range sent {
		res, _ := d.Dispatch(e)
		if err := mem.WriteStatic(ctx, res.Static); err != nil {
			t.Fatal(err)
		}
		if err := mem.WriteActions(ctx, res.Actions); err != nil {
			t.Fatal(err)
		}
	}
	want := ingesttest.Dump(t, mem, reg, slowIDs)
	if got := ingesttest.Dump(t, dyn, reg, slowIDs); !reflect.DeepEqual(got, want) {
		t.Errorf("DynamoDB lost events\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	ingesttest.Eventually(t, 30*time.Second, "Redis brought up to date", func() bool {
		return st.PendingStatics() == 0 && st.StaleSeries() == 0
	})
	wanted := map[string]bool{}
	for _, l := range want {
		wanted[l] = true
	}
	inRedis := ingesttest.Dump(t, rds, reg, slowIDs)
	statics := 0
	for _, l := range inRedis {
		if !wanted[l] {
			t.Errorf("Redis holds what DynamoDB does not: %s", l)
		}
		if !strings.HasSuffix(l, "]") {
			statics++
		}
	}
	if statics == 0 {
		t.Errorf("Redis holds no static after healing: the test proves nothing")
	}
	if got := ingesttest.Dump(t, st, reg, slowIDs); !reflect.DeepEqual(got, want) {
		t.Errorf("tiered store after healing\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}
