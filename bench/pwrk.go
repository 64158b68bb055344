package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// -p-wrk: after its closed-loop P runs, each server is also driven to saturation by wrk (2
// threads, 16 connections, the open-ended load of an HTTP benchmark tool, not the bench's own
// client), with a Lua script that POSTs the P1 or P2 query for random users. Its records have
// the server label + "/wrk": req/s, p50/p99/p99.9 from wrk's own histogram, failed requests
// (connect, read, write and timeout errors and non-2xx answers) and the server's CPU per request.

const wrkThreads, wrkConnections = 2, 16

// wrkScript is the Lua script for one scenario: the query's JSON prefix is in a long bracket,
// the users' range and the batch size in the variables P_USERS and P_BATCH.
const wrkScript = `-- written by go run ./bench -p-wrk
local users = tonumber(os.getenv("P_USERS"))
local batch = tonumber(os.getenv("P_BATCH"))
local prefix = [==[%s]==]
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%s
function setup(thread) thread:set("seed", math.random(1, 1000000)) end
function init(args) math.randomseed(seed or os.time()) end
function request()
  local vars
  if batch > 1 then
    local ids = {}
    for i = 1, batch do ids[i] = math.random(users) end
    vars = '{"ids":[' .. table.concat(ids, ",") .. ']}'
  else
    vars = '{"id":' .. math.random(users) .. '}'
  end
  return wrk.format(nil, nil, nil, prefix .. vars .. "}")
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%%d failed=%%d duration_us=%%d p50_us=%%d p99_us=%%d p999_us=%%d\n",
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
`

// writeWrkScript writes the script of sc into dir and returns its path.
func writeWrkScript(dir, sc string) (string, error) {
	q, _ := json.Marshal(pQuery(sc == "P2"))
	prefix := `{"query":` + string(q) + `,"variables":`
	auth := ""
	if benchAPIKey != "" {
		auth = fmt.Sprintf("wrk.headers[\"X-Api-Key\"] = %q", benchAPIKey)
	}
	path := filepath.Join(dir, "wrk-"+sc+".lua")
	return path, os.WriteFile(path, fmt.Appendf(nil, wrkScript, prefix, auth), 0o644)
}

// runWrk drives the server at url with wrk for d and fills r from its summary, the server's
// CPU (cpu), allocations and runtime metrics, and Redis's counters.
func (e *pEnv) runWrk(ctx context.Context, r *pRecord, url string, d time.Duration, cpu func() time.Duration) error {
	script, err := writeWrkScript(e.work, r.Scenario)
	if err != nil {
		return err
	}
	batch := 1
	if r.Scenario == "P2" {
		batch = 100
	}
	rs0, err := readRedisStats(ctx, e.rc)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(wrkThreads), "-c", strconv.Itoa(wrkConnections),
		"-d", fmt.Sprintf("%ds", int(d.Seconds())), "--timeout", "10s", "-s", script, url+"/graphql")
	cmd.Env = append(os.Environ(), "P_USERS="+strconv.Itoa(e.users), "P_BATCH="+strconv.Itoa(batch))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	rt0, a0, c0 := promSample(url), mallocs(url), cpu()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("wrk: %w: %s", err, out.String())
	}
	c1, a1, rt1 := cpu(), mallocs(url), promSample(url)
	r.LoadAvg = loadAverage()
	rs1, err := readRedisStats(ctx, e.rc)
	if err != nil {
		return err
	}
	f, err := parseWrk(out.String())
	if err != nil {
		return err
	}
	r.Requests, r.Failed = int64(f["requests"]), int64(f["failed"])
	if f["duration_us"] > 0 {
		r.RPS = round(f["requests"]/(f["duration_us"]/1e6), 1)
	}
	r.P50Ms, r.P99Ms, r.P999Ms = round(f["p50_us"]/1000, 3), round(f["p99_us"]/1000, 3), round(f["p999_us"]/1000, 3)
	if n := f["requests"]; n > 0 {
		r.ServerCPUMs = round((c1-c0).Seconds()*1000/n, 4)
		r.RedisCmds = round(float64(rs1.calls-rs0.calls)/n, 2)
		r.RedisCPUMs = round((rs1.cpu-rs0.cpu)*1000/n, 4)
		r.AllocsPerReq = round((a1-a0)/n, 0)
	}
	r.runtimeDelta(rt0, rt1, f["requests"], c1-c0)
	return nil
}

// parseWrk reads the WRK line the script's done() writes.
func parseWrk(out string) (map[string]float64, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "WRK ")
		if !ok {
			continue
		}
		f := map[string]float64{}
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("wrk: %q: %w", kv, err)
			}
			f[k] = x
		}
		return f, nil
	}
	return nil, fmt.Errorf("wrk printed no summary: %s", out)
}
