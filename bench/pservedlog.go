package main

// The served log's cost (-p-served-log): the same server binary without the log ("off") and
// with it at 100% ("on", servedLog: {samplingRatio: 1} into a local --offline-sink) run side by
// side, both started and warmed once, and are driven in many short alternating slices
// (-p-served-log-pairs pairs of -p-served-log-slice each). A pair is one slice of each, in the
// order off, on in even pairs and on, off in odd ones, so a load that rises or falls through a
// pair favours neither. Per pair the bench takes the on/off ratios of the server's CPU per
// request (/proc utime+stime) and of its requests per second, and reports their median, min
// and max over the pairs, the pooled ratios (all the pairs' CPU over all their requests), how
// many pairs were over 10%, and, as the noise floor of the box, the spread of the off server
// against itself (the median |off_i/off_{i+1} − 1| of neighbouring pairs): a ratio within it
// says nothing. After each on slice the bench waits until the log has written every request
// it took (shipped + dropped ≥ taken, at most 5 s) and counts that wait's CPU to the on
// slice, so the off slice runs without the log's writer behind it and the log's deferred work
// is not lost; the rows dropped are counted over every slice.
//
// Separate rounds of separate processes (the -p-served-log-pairs 0 mode: a "+log" server per
// round) moved 25–35% between rounds on the shared 2-core box, more than the 10% measured.

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// servedPairMetrics are servedMetrics and the values queued for the log's writer.
var servedPairMetrics = append(slices.Clone(servedMetrics), `featuregraph_offline_pending_rows{stream="served"} `)

// servedSide is one of the two servers of a pair series: its load and its counters.
type servedSide struct {
	target httpTarget
	cpu    func() time.Duration
	// served returns the log's counters (taken, shipped, dropped, values, values queued); nil
	// for the off server.
	served func() [5]float64
}

// servedPair is one pair of slices.
type servedPair struct {
	Pair     int     `json:"pair"`
	OnFirst  bool    `json:"on_first"`
	OffCPUMs float64 `json:"off_cpu_ms_per_req"`
	OnCPUMs  float64 `json:"on_cpu_ms_per_req"`
	// OnLoadCPUMs is the on server's CPU per request during its slice alone (without the wait
	// for its log: the writer's backlog and the last file are not in it).
	OnLoadCPUMs float64 `json:"on_cpu_ms_per_req_load_only"`
	OffReqs     int64   `json:"off_requests"`
	OnReqs      int64   `json:"on_requests"`
	OffRPS      float64 `json:"off_requests_per_sec"`
	OnRPS       float64 `json:"on_requests_per_sec"`
	CPURatio    float64 `json:"cpu_ratio"` // on/off
	RPSRatio    float64 `json:"rps_ratio"` // on/off
	Failed      int64   `json:"failed"`
	Dropped     float64 `json:"dropped"`
	DrainMs     float64 `json:"drain_ms"`
	DrainLate   bool    `json:"drain_timed_out,omitempty"`
	LoadAvg     float64 `json:"load_average_1m"`
}

// servedLogResult is the pair series of one scenario, backend and server.
type servedLogResult struct {
	Scenario string        `json:"scenario"`
	Backend  string        `json:"backend"`
	Server   string        `json:"server"`
	SliceS   float64       `json:"slice_s"`
	Pairs    []*servedPair `json:"pairs"`
	// On/off ratios: median, min and max over the pairs, and pooled over them all.
	CPURatioMed    float64 `json:"cpu_ratio_median"`
	CPURatioMin    float64 `json:"cpu_ratio_min"`
	CPURatioMax    float64 `json:"cpu_ratio_max"`
	CPURatioPooled float64 `json:"cpu_ratio_pooled"`
	RPSRatioMed    float64 `json:"rps_ratio_median"`
	RPSRatioMin    float64 `json:"rps_ratio_min"`
	RPSRatioMax    float64 `json:"rps_ratio_max"`
	RPSRatioPooled float64 `json:"rps_ratio_pooled"`
	// CPUOver10 and RPSUnder10: pairs whose CPU per request rose by more than 10% and whose
	// throughput fell by more than 10%.
	CPUOver10  int `json:"pairs_cpu_over_10pct"`
	RPSUnder10 int `json:"pairs_rps_under_10pct"`
	// OffNoiseCPU and OffNoiseRPS: the median |off_i/off_{i+1} − 1| of neighbouring pairs.
	OffNoiseCPU  float64 `json:"off_noise_cpu"`
	OffNoiseRPS  float64 `json:"off_noise_rps"`
	Dropped      float64 `json:"dropped"`
	Failed       int64   `json:"failed"`
	ValuesPerSec float64 `json:"values_per_sec"` // written, during the on slices
	LoadMin      float64 `json:"load_average_min"`
	LoadMax      float64 `json:"load_average_max"`
}

// runServedPairs runs n pairs of slices on off and on; logf reports progress, w gets a line
// per pair.
func runServedPairs(ctx context.Context, e *pEnv, off, on servedSide, n int, slice time.Duration, w io.Writer, label string) (*servedLogResult, error) {
	res := &servedLogResult{SliceS: slice.Seconds()}
	warm := max(slice/5, 50*time.Millisecond)
	var values, onSecs float64
	sliceOf := func(s servedSide, seed uint64) (reqs, failed int64, cpu time.Duration, secs float64) {
		runLoad(ctx, e.client, s.target, loadOptions{concurrency: e.o.concurrency, duration: warm, seed: seed + 1000, rate: e.o.rate})
		c0 := s.cpu()
		r := runLoad(ctx, e.client, s.target, loadOptions{concurrency: e.o.concurrency, duration: slice, seed: seed, rate: e.o.rate})
		return r.requests, r.errors, s.cpu() - c0, r.elapsed.Seconds()
	}
	for i := range n {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		p := &servedPair{Pair: i + 1, OnFirst: i%2 == 1}
		seed := e.o.data.Seed + 2000 + uint64(i)
		runOff := func() {
			reqs, failed, cpu, secs := sliceOf(off, seed)
			p.Failed += failed
			p.OffReqs, p.OffCPUMs, p.OffRPS = reqs, perReqMs(cpu, reqs), float64(reqs)/secs
		}
		runOn := func() {
			s0 := on.served()
			reqs, failed, cpu, secs := sliceOf(on, seed)
			// Wait for the log to write what it took, counting the wait's CPU to the slice.
			c0, t0 := on.cpu(), time.Now()
			s1 := on.served()
			for s1[1]+s1[2] < s1[0] || s1[4] > 0 {
				if time.Since(t0) > 5*time.Second {
					p.DrainLate = true
					break
				}
				time.Sleep(50 * time.Millisecond)
				s1 = on.served()
			}
			p.OnLoadCPUMs = perReqMs(cpu, reqs)
			cpu += on.cpu() - c0
			p.DrainMs = float64(time.Since(t0).Milliseconds())
			p.Failed += failed
			p.Dropped = s1[2] - s0[2]
			p.OnReqs, p.OnCPUMs, p.OnRPS = reqs, perReqMs(cpu, reqs), float64(reqs)/secs
			values += s1[3] - s0[3]
			onSecs += secs
		}
		if p.OnFirst {
			runOn()
			runOff()
		} else {
			runOff()
			runOn()
		}
		p.LoadAvg = loadAverage()
		p.CPURatio, p.RPSRatio = ratio(p.OnCPUMs, p.OffCPUMs), ratio(p.OnRPS, p.OffRPS)
		res.Pairs = append(res.Pairs, p)
		fmt.Fprintf(w, "     %s pair %2d (%s first): cpu ms/r %.4f → %.4f (%+.1f%%; %.4f before the drain) · req/s %.0f → %.0f (%+.1f%%) · dropped %.0f · failed %d · drain %.0f ms · load %.1f\n",
			label, p.Pair, map[bool]string{false: "off", true: "on"}[p.OnFirst], p.OffCPUMs, p.OnCPUMs, pct(p.CPURatio), p.OnLoadCPUMs, p.OffRPS, p.OnRPS, pct(p.RPSRatio), p.Dropped, p.Failed, p.DrainMs, p.LoadAvg)
	}
	if onSecs > 0 {
		res.ValuesPerSec = values / onSecs
	}
	res.summarize()
	return res, nil
}

func perReqMs(cpu time.Duration, reqs int64) float64 {
	if reqs <= 0 {
		return 0
	}
	return cpu.Seconds() * 1000 / float64(reqs)
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// pct is a ratio as a change in percent.
func pct(r float64) float64 { return (r - 1) * 100 }

// summarize computes the series' figures from its pairs.
func (r *servedLogResult) summarize() {
	if len(r.Pairs) == 0 {
		return
	}
	var cpu, rps, offNoiseCPU, offNoiseRPS, loads []float64
	var offCPU, onCPU, offRPS, onRPS float64 // pooled: CPU ms and requests, weighted by the pairs' rates
	r.CPUOver10, r.RPSUnder10, r.Dropped, r.Failed = 0, 0, 0, 0
	for i, p := range r.Pairs {
		cpu, rps, loads = append(cpu, p.CPURatio), append(rps, p.RPSRatio), append(loads, p.LoadAvg)
		if p.CPURatio > 1.10 {
			r.CPUOver10++
		}
		if p.RPSRatio < 0.90 {
			r.RPSUnder10++
		}
		r.Dropped += p.Dropped
		r.Failed += p.Failed
		// Each slice is equally long: the pooled CPU per request is the slices' CPU over their
		// requests, with CPU = ms/r × r/s (× the slice's length, the same for all).
		offCPU, onCPU = offCPU+p.OffCPUMs*p.OffRPS, onCPU+p.OnCPUMs*p.OnRPS
		offRPS, onRPS = offRPS+p.OffRPS, onRPS+p.OnRPS
		if i > 0 {
			q := r.Pairs[i-1]
			offNoiseCPU = append(offNoiseCPU, math.Abs(ratio(p.OffCPUMs, q.OffCPUMs)-1))
			offNoiseRPS = append(offNoiseRPS, math.Abs(ratio(p.OffRPS, q.OffRPS)-1))
		}
	}
	r.CPURatioMin, r.CPURatioMed, r.CPURatioMax = minMedMax(cpu)
	r.RPSRatioMin, r.RPSRatioMed, r.RPSRatioMax = minMedMax(rps)
	r.CPURatioPooled = ratio(ratio(onCPU, onRPS), ratio(offCPU, offRPS))
	r.RPSRatioPooled = ratio(onRPS, offRPS)
	_, r.OffNoiseCPU, _ = minMedMax(offNoiseCPU)
	_, r.OffNoiseRPS, _ = minMedMax(offNoiseRPS)
	r.LoadMin, _, r.LoadMax = minMedMax(loads)
}

// minMedMax is the min, median (the mean of the middle two of an even count) and max of vs.
func minMedMax(vs []float64) (lo, mid, hi float64) {
	if len(vs) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	mid = s[len(s)/2]
	if len(s)%2 == 0 {
		mid = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[0], mid, s[len(s)-1]
}

// printServedLog prints the summary of every pair series.
func printServedLog(w io.Writer, rs []*servedLogResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nServed log (on/off, the same binary side by side in alternating slices): median (min–max) over the pairs, pooled; noise = the off server against itself")
	for _, r := range rs {
		met := "meets"
		if r.CPURatioMed > 1.10 || r.RPSRatioMed < 0.90 || r.Dropped > 0 {
			met = "does not meet"
		}
		fmt.Fprintf(w, "%s %s %s: %d pairs of %gs: cpu/req %+.1f%% (%+.1f%% – %+.1f%%), pooled %+.1f%%, %d pairs > +10%% · req/s %+.1f%% (%+.1f%% – %+.1f%%), pooled %+.1f%%, %d pairs < −10%% · noise cpu ±%.1f%% req/s ±%.1f%% · dropped %.0f · failed %d · %.2f M values/s written · load %.1f–%.1f: median %s ≤ 10%% with 0 dropped\n",
			r.Scenario, r.Backend, r.Server, len(r.Pairs), r.SliceS,
			pct(r.CPURatioMed), pct(r.CPURatioMin), pct(r.CPURatioMax), pct(r.CPURatioPooled), r.CPUOver10,
			pct(r.RPSRatioMed), pct(r.RPSRatioMin), pct(r.RPSRatioMax), pct(r.RPSRatioPooled), r.RPSUnder10,
			r.OffNoiseCPU*100, r.OffNoiseRPS*100, r.Dropped, r.Failed, r.ValuesPerSec/1e6, r.LoadMin, r.LoadMax, met)
	}
}

// nextAdminPort returns args with the port of an --admin-addr HOST:PORT one higher.
func nextAdminPort(args []string) []string {
	out := slices.Clone(args)
	for i := 0; i+1 < len(out); i++ {
		if out[i] != "--admin-addr" {
			continue
		}
		host, port, err := net.SplitHostPort(out[i+1])
		if n, err2 := strconv.Atoi(port); err == nil && err2 == nil {
			out[i+1] = net.JoinHostPort(host, strconv.Itoa(n+1))
		}
	}
	return out
}

// runServedLog measures the served log of srv on backend: both servers started and warmed,
// then a pair series per scenario.
func (e *pEnv) runServedLog(ctx context.Context, srv *pServer, backend string, w io.Writer) ([]*servedLogResult, error) {
	if err := e.rc.FlushAll(ctx).Err(); err != nil {
		return nil, err
	}
	offArgs := e.serverArgs(srv, backend)
	onArgs, err := e.servedLogArgs(offArgs, srv.label+"+log-"+backend+"-pairs")
	if err != nil {
		return nil, err
	}
	onArgs = nextAdminPort(onArgs) // both run at once: a -p-variants --admin-addr for each
	e.logf("P: %s server on %s: starting without and with the served log", srv.label, backend)
	var procs [2]*pProc
	for i, args := range [][]string{offArgs, onArgs} {
		p, err := startPServer(ctx, srv.env, srv.bin, args...)
		if err != nil {
			return nil, err
		}
		defer p.stop()
		procs[i] = p
		if backend != "memory" {
			if err := e.warm(ctx, p.url+"/graphql"); err != nil {
				return nil, err
			}
		}
	}
	var out []*servedLogResult
	for _, sc := range e.o.scenarios {
		if sc != "P1" && sc != "P2" {
			continue
		}
		var sides [2]servedSide
		for i, p := range procs {
			pid := p.cmd.Process.Pid
			sides[i] = servedSide{target: e.target(p.url, sc, false), cpu: func() time.Duration { d, _ := procCPU(pid); return d }}
			// The first load of each server after start: not measured.
			runLoad(ctx, e.client, sides[i].target, loadOptions{concurrency: e.o.concurrency, duration: e.o.warmup, seed: e.o.data.Seed + 1000, rate: e.o.rate})
		}
		onURL := procs[1].url
		sides[1].served = func() [5]float64 { return [5]float64(scrape(onURL, servedPairMetrics...)) }
		e.logf("P: %s server on %s: %s, %d pairs of %s", srv.label, backend, sc, e.o.pServedLogPairs, e.o.pServedLogSlice)
		label := strings.Join([]string{sc, backend, srv.label}, " ")
		r, err := runServedPairs(ctx, e, sides[0], sides[1], e.o.pServedLogPairs, e.o.pServedLogSlice, w, label)
		if r != nil {
			r.Scenario, r.Backend, r.Server = sc, backend, srv.label
			out = append(out, r)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
