package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Overload mode (-overload): starts `featuregraph serve` (the binary -overload-bin, or one built
// from the working tree) on its embedded memory store with the demo data, drives -concurrency
// closed-loop clients sending one users(ids:) query of -overload-ids ids for -duration, and
// prints what an operator looks at under overload: answers per second by kind (200, 503
// OVERLOADED refused at admission, 503 TIMEOUT stopped at the deadline, anything else), the
// latency of the answered 200s and of every admitted request (all but OVERLOADED), and the
// server's peak RSS. Failed requests are counted, never a reason to stop.
//
//	go run ./bench -overload -concurrency 500 -duration 20s
//	go run ./bench -overload -overload-bin /tmp/main/featuregraph -concurrency 500 -duration 20s

// overloadSelect is the default selection of the query: the README query's.
const overloadSelect = `os regionId notificationKeywords recentClickedArticles(count: 3) { timestamp source article { id title category price } }`

// overloadQuery is users(ids: [1..n]) { sel }.
func overloadQuery(n int, sel string) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 1)
	}
	q := `{ users(ids: [` + strings.Join(ids, ",") + `]) { ` + sel + ` } }`
	b, _ := json.Marshal(map[string]string{"query": q})
	return string(b)
}

type overloadResult struct {
	Clients      int     `json:"clients"`
	Seconds      float64 `json:"seconds"`
	Requests     int     `json:"requests"`
	RPS          float64 `json:"requests_per_sec"`
	OK           int     `json:"ok"`
	Overloaded   int     `json:"overloaded_503"`
	Timeout      int     `json:"timeout_503"`
	Other        int     `json:"other"`
	FirstOther   string  `json:"first_other,omitempty"`
	P50OKMs      float64 `json:"p50_ok_ms"`
	P99OKMs      float64 `json:"p99_ok_ms"`
	MaxOKMs      float64 `json:"max_ok_ms"`
	P99AdmitMs   float64 `json:"p99_admitted_ms"`
	MaxAdmitMs   float64 `json:"max_admitted_ms"`
	OverTimeout  float64 `json:"admitted_over_timeout_pct"` // admitted requests answered after --request-timeout
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
	ServerOver25 float64 `json:"server_over_2_5s_pct"` // non-503 answers whose handler took over 2.5 s (the server's histogram)
	RespBytesAvg float64 `json:"ok_response_bytes"`
	// A trivial query (`{ user(id: 1) { os } }`) sent 10 times a second during the flood: how
	// many were answered 200 (cost-aware admission keeps admitting cheap operations).
	Probes       int     `json:"probes"`
	ProbesOK     int     `json:"probes_ok"`
	P50RefusedMs float64 `json:"p50_overloaded_ms"` // latency of the 503 OVERLOADED answers
	P99RefusedMs float64 `json:"p99_overloaded_ms"`
}

func runOverload(ctx context.Context, o *options, stdout io.Writer, logf func(string, ...any)) error {
	bin := o.overloadBin
	if bin == "" {
		dir, err := os.MkdirTemp("", "featuregraph-overload-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "featuregraph")
		logf("overload: building the server from the working tree")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, out)
		}
	}
	p, err := startPServer(ctx, nil, bin, strings.Fields(o.overloadArgs)...)
	if err != nil {
		return err
	}
	defer p.stop()
	body := overloadQuery(o.overloadIDs, o.overloadSelect)
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: o.concurrency, MaxIdleConnsPerHost: o.concurrency, MaxConnsPerHost: 0},
		Timeout:   60 * time.Second,
	}
	// One request first: the answer must be a 200 without errors.
	if code, b, err := overloadPost(ctx, client, p.url, body); err != nil || code != http.StatusOK || bytes.Contains(b, []byte(`"errors"`)) {
		return fmt.Errorf("the query is not answered: %d %v %.300s", code, err, b)
	}
	logf("overload: %d clients for %s, %d ids per query (%d bytes)", o.concurrency, o.duration, o.overloadIDs, len(body))
	type sample struct {
		d    time.Duration
		kind int // 0 ok, 1 overloaded, 2 timeout, 3 other
		size int
		msg  string
	}
	var (
		mu      sync.Mutex
		samples []sample
		wg      sync.WaitGroup
	)
	deadline := time.Now().Add(o.duration)
	start := time.Now()
	var probes, probesOK int
	wg.Add(1)
	go func() {
		defer wg.Done()
		probe := `{"query":"{ user(id: 1) { os } }"}`
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil && time.Now().Before(deadline) {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, b, err := overloadPost(ctx, client, p.url, probe)
				mu.Lock()
				defer mu.Unlock()
				probes++
				if err == nil && code == http.StatusOK && !bytes.Contains(b, []byte(`"errors"`)) {
					probesOK++
				}
			}()
		}
	}()
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				code, b, err := overloadPost(ctx, client, p.url, body)
				s := sample{d: time.Since(t0), size: len(b)}
				switch {
				case err != nil:
					s.kind, s.msg = 3, err.Error()
				case code == http.StatusOK && !bytes.Contains(b, []byte(`"errors"`)):
				case code == http.StatusServiceUnavailable && bytes.Contains(b, []byte(`"OVERLOADED"`)):
					s.kind = 1
				case code == http.StatusServiceUnavailable && bytes.Contains(b, []byte(`"TIMEOUT"`)):
					s.kind = 2
				default:
					s.kind, s.msg = 3, fmt.Sprintf("%d %.200s", code, b)
				}
				mine = append(mine, s)
				if s.kind == 3 && err != nil {
					time.Sleep(10 * time.Millisecond) // a refused connection: do not spin
				}
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	_, peak := procMem(p.cmd.Process.Pid)
	slowServed, served := serverSlow(p.url)
	r := overloadResult{Clients: o.concurrency, Seconds: elapsed.Seconds(), Requests: len(samples), PeakRSSMiB: peak, Probes: probes, ProbesOK: probesOK}
	var refused []time.Duration
	r.RPS = float64(r.Requests) / r.Seconds
	var ok, admitted []time.Duration
	var okBytes int
	const requestTimeout = 2 * time.Second // the server's default --request-timeout
	over := 0
	for _, s := range samples {
		switch s.kind {
		case 0:
			r.OK++
			ok = append(ok, s.d)
			okBytes += s.size
		case 1:
			r.Overloaded++
			refused = append(refused, s.d)
		case 2:
			r.Timeout++
		default:
			r.Other++
			if r.FirstOther == "" {
				r.FirstOther = s.msg
			}
		}
		if s.kind != 1 {
			admitted = append(admitted, s.d)
			if s.d > requestTimeout {
				over++
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(l []time.Duration, q float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		slices.Sort(l)
		return l[min(len(l)-1, int(q*float64(len(l))))]
	}
	r.P50OKMs, r.P99OKMs = ms(pct(ok, 0.50)), ms(pct(ok, 0.99))
	if len(ok) > 0 {
		r.MaxOKMs = ms(ok[len(ok)-1])
		r.RespBytesAvg = float64(okBytes) / float64(len(ok))
	}
	r.P99AdmitMs = ms(pct(admitted, 0.99))
	r.P50RefusedMs, r.P99RefusedMs = ms(pct(refused, 0.50)), ms(pct(refused, 0.99))
	if len(admitted) > 0 {
		r.MaxAdmitMs = ms(admitted[len(admitted)-1])
		r.OverTimeout = 100 * float64(over) / float64(len(admitted))
	}
	share := func(n int) float64 { return 100 * float64(n) / float64(max(r.Requests, 1)) }
	fmt.Fprintf(stdout, "overload: %d clients, %.1fs, %d ids per query (%.0f KB answers)\n", r.Clients, r.Seconds, o.overloadIDs, r.RespBytesAvg/1024)
	fmt.Fprintf(stdout, "  %.0f req/s: 200 %.1f%% (%d), 503 OVERLOADED %.1f%% (%d), 503 TIMEOUT %.1f%% (%d), other %.1f%% (%d)\n",
		r.RPS, share(r.OK), r.OK, share(r.Overloaded), r.Overloaded, share(r.Timeout), r.Timeout, share(r.Other), r.Other)
	fmt.Fprintf(stdout, "  200: p50 %.0f ms, p99 %.0f ms, max %.0f ms; admitted (200 + TIMEOUT): p99 %.0f ms, max %.0f ms, %.1f%% over the 2 s timeout\n",
		r.P50OKMs, r.P99OKMs, r.MaxOKMs, r.P99AdmitMs, r.MaxAdmitMs, r.OverTimeout)
	fmt.Fprintf(stdout, "  503 OVERLOADED answers: p50 %.0f ms, p99 %.0f ms; trivial probes during the flood: %d of %d answered 200\n",
		r.P50RefusedMs, r.P99RefusedMs, r.ProbesOK, r.Probes)
	r.ServerOver25 = 100 * slowServed / max(served, 1)
	fmt.Fprintf(stdout, "  server: %.1f%% of its %.0f non-503 answers took over 2.5 s in its handler (writing included); peak RSS %.0f MiB\n",
		r.ServerOver25, served, r.PeakRSSMiB)
	if r.FirstOther != "" {
		fmt.Fprintf(stdout, "  first other answer: %s\n", r.FirstOther)
	}
	if o.jsonFile != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(o.jsonFile, append(b, '\n'), 0o644)
	}
	return nil
}

func overloadPost(ctx context.Context, c *http.Client, url, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// serverSlow reads the server's request-duration histogram of /graphql: how many answers other
// than 503 (refusals and TIMEOUTs, which the histogram cannot tell apart) took longer than its
// last bucket (2.5 s), and how many there were.
func serverSlow(url string) (slow, total float64) {
	res, err := http.Get(url + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "featuregraph_http_request_duration_seconds_") || !strings.Contains(line, `handler="/graphql"`) ||
			strings.Contains(line, `code="503"`) {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		switch {
		case strings.HasPrefix(line, "featuregraph_http_request_duration_seconds_count"):
			total += v
			slow += v
		case strings.Contains(line, `le="2.5"`):
			slow -= v
		}
	}
	return slow, total
}
