package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/store"
)

// S4 ingests N events. The pipeline (the "gateway" row) is what the ingest command does per
// event: ingest.DecodeEnvelope, Dispatcher.Dispatch, Writer.Enqueue (batching, concurrent
// flushers), then Flush. The direct baseline writes the same store writes, dispatched before the
// clock starts, straight to the store in calls of about the Writer's batch size from
// -concurrency goroutines: the store's own write rate.

// ingestEvents generates n event envelopes (JSONL lines) over the generated users and articles:
// article views (some filtered out by country), searches, purchases, session starts, user and
// article updates, all within the last 7 days.
func ingestEvents(d *dataset, n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	now := time.Now()
	out := make([][]byte, n)
	for i := range out {
		user := 1 + rng.IntN(d.cfg.Users)
		article := 1 + rng.IntN(d.cfg.Articles)
		at := now.Add(-time.Duration(rng.Int64N(int64(7 * 24 * time.Hour)))).UTC().Format(time.RFC3339Nano)
		var stream, topic, sub string
		var ev map[string]any
		switch p := rng.IntN(100); {
		case p < 55:
			stream, topic, sub = "client_event", "client_event_cleansed", "view_article_v1"
			country := "kr"
			if rng.IntN(10) == 0 {
				country = "jp" // filtered out of recent_clicked_articles
			}
			ev = map[string]any{"user_id": user, "event_time": at, "country_code": country,
				"params": map[string]any{"article_id_v1": article, "source": clickSources[rng.IntN(len(clickSources))]}}
		case p < 70:
			stream, topic, sub = "client_event", "client_event_cleansed", "search_v2"
			ev = map[string]any{"user_id": user, "event_time": at, "country_code": "kr",
				"params": map[string]any{"query": searchTerms[rng.IntN(len(searchTerms))], "result_count": rng.IntN(500)}}
		case p < 75:
			stream, topic, sub = "app_events", "order_cdc", "order_completed"
			ev = map[string]any{"buyer_id": user, "article_id": article, "amount": 1000 * (1 + rng.IntN(2000)),
				"status": "completed", "completed_at": at}
		case p < 80:
			stream, topic, sub = "client_event", "client_event_cleansed", "session_start"
			ev = map[string]any{"user_id": user, "event_time": at, "country_code": "kr"}
		case p < 90:
			stream, topic, sub = "app_events", "user_cdc", "user_updated"
			ev = map[string]any{"user_id": user, "device": map[string]any{"os": osNames[rng.IntN(len(osNames))]},
				"region": map[string]any{"id": 1 + rng.IntN(500)}, "verified": rng.IntN(2) == 1, "updated_at": at}
		default:
			stream, topic, sub = "app_events", "article_cdc", "article_upserted"
			ev = map[string]any{"article_id": article, "category": categories[rng.IntN(len(categories))],
				"title": fmt.Sprintf("%s %s #%d", titleAdjective[rng.IntN(len(titleAdjective))], categories[rng.IntN(len(categories))], article),
				"price": 1000 * (1 + rng.IntN(2000)), "region_id": 1 + rng.IntN(500), "image_count": rng.IntN(10), "updated_at": at}
		}
		ev["event_name"] = sub
		line, err := json.Marshal(map[string]any{"streamName": stream, "topic": topic, "subTopic": sub, "event": ev})
		if err != nil {
			panic(err) // maps of strings and numbers always encode
		}
		out[i] = line
	}
	return out
}

// ingestStore is a fresh, empty store for one S4 run.
type ingestStore struct {
	w       store.Writer
	cleanup func()
}

// runIngestPipeline measures the ingest path over st.
func runIngestPipeline(ctx context.Context, d *ingest.Dispatcher, lines [][]byte, st store.Writer, concurrency int, prof profiles) (*measurement, int64, error) {
	cw := &countingWriter{w: st}
	wcfg := ingest.DefaultWriterConfig()
	wcfg.Logger = slog.New(slog.DiscardHandler)
	wr, err := ingest.NewWriter(cw, wcfg)
	if err != nil {
		return nil, 0, err
	}
	ph, err := beginPhase(prof.cpu, prof.mem)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	var mu sync.Mutex
	var writes int64
	var firstErr error
	var wg sync.WaitGroup
	per := (len(lines) + concurrency - 1) / concurrency
	for w := range concurrency {
		part := lines[min(w*per, len(lines)):min((w+1)*per, len(lines))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int64
			var werr error
			for _, line := range part {
				env, err := ingest.DecodeEnvelope(line)
				if err == nil {
					var res *ingest.Result
					res, err = d.Dispatch(env)
					if err == nil {
						n += int64(res.Writes())
						_, err = wr.Enqueue(ctx, res.Static, res.Actions)
					}
				}
				if err != nil {
					werr = err
					break
				}
			}
			mu.Lock()
			writes += n
			if firstErr == nil {
				firstErr = werr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	ferr := wr.Flush(ctx)
	elapsed := time.Since(start)
	m := &measurement{Requests: int64(len(lines)), Seconds: elapsed.Seconds(), RPS: float64(len(lines)) / elapsed.Seconds()}
	u, perr := ph.end()
	m.fillUsage(u)
	cerr := wr.Close(ctx)
	if err := errors.Join(firstErr, ferr, perr, cerr); err != nil {
		return nil, 0, err
	}
	if st := wr.Stats(); st.Failed != 0 || st.Stored != writes {
		return nil, 0, fmt.Errorf("writer stored %d and failed %d of %d writes", st.Stored, st.Failed, writes)
	}
	m.StoreCallsPerOp = float64(cw.calls.Load()) / float64(len(lines))
	m.P50Ms, m.P95Ms, m.P99Ms, m.MaxMs = percentiles(cw.lat)
	return m, writes, nil
}

// dispatchAll converts every line into store writes (the direct baseline's input).
func dispatchAll(d *ingest.Dispatcher, lines [][]byte) ([]store.StaticWrite, []store.ActionWrite, error) {
	var static []store.StaticWrite
	var actions []store.ActionWrite
	for i, line := range lines {
		env, err := ingest.DecodeEnvelope(line)
		if err != nil {
			return nil, nil, fmt.Errorf("event %d: %w", i, err)
		}
		res, err := d.Dispatch(env)
		if err != nil {
			return nil, nil, fmt.Errorf("event %d: %w", i, err)
		}
		static = append(static, res.Static...)
		actions = append(actions, res.Actions...)
	}
	return static, actions, nil
}

// runIngestDirect writes pre-dispatched writes straight to st in calls of batch writes.
func runIngestDirect(ctx context.Context, static []store.StaticWrite, actions []store.ActionWrite, events int, st store.Writer, concurrency, batch int, prof profiles) (*measurement, error) {
	cw := &countingWriter{w: st}
	type call func() error
	var calls []call
	for i := 0; i < len(static); i += batch {
		part := static[i:min(i+batch, len(static))]
		calls = append(calls, func() error { return cw.WriteStatic(ctx, part) })
	}
	for i := 0; i < len(actions); i += batch {
		part := actions[i:min(i+batch, len(actions))]
		calls = append(calls, func() error { return cw.WriteActions(ctx, part) })
	}
	ph, err := beginPhase(prof.cpu, prof.mem)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = runJobs(ctx, concurrency, len(calls), func(i int) error { return calls[i]() }, nil)
	elapsed := time.Since(start)
	m := &measurement{Requests: int64(events), Seconds: elapsed.Seconds(), RPS: float64(events) / elapsed.Seconds()}
	u, perr := ph.end()
	m.fillUsage(u)
	if err == nil {
		err = perr
	}
	if err != nil {
		return nil, err
	}
	m.StoreCallsPerOp = float64(cw.calls.Load()) / float64(events)
	m.P50Ms, m.P95Ms, m.P99Ms, m.MaxMs = percentiles(cw.lat)
	return m, nil
}
