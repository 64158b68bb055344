package catalog

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/featuregraph/featuregraph/metrics"
)

// peerFigures are the figures scraped from the /metrics of other featuregraph processes: the
// ingest workers (which write the features) and other gateway replicas (which serve them).
type peerFigures struct {
	features map[string]metrics.FeatureFigures
	sources  map[string]metrics.IngestCounts // by "<source> (<host>)"
	errs     []string
}

// scrapePeers reads every peer's /metrics concurrently within timeout.
func scrapePeers(ctx context.Context, client *http.Client, peers []string, timeout time.Duration) peerFigures {
	out := peerFigures{features: map[string]metrics.FeatureFigures{}, sources: map[string]metrics.IngestCounts{}}
	if len(peers) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fams, err := scrape(ctx, client, p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.errs = append(out.errs, fmt.Sprintf("%s: %v", p, err))
				return
			}
			host := p
			if u, err := url.Parse(p); err == nil && u.Host != "" {
				host = u.Host
			}
			merge(&out, fams, host)
		}()
	}
	wg.Wait()
	return out
}

func scrape(ctx context.Context, client *http.Client, u string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("not Prometheus text: %v", err)
	}
	return fams, nil
}

func labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.Label))
	for _, l := range m.Label {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

// merge adds one peer's families: counts add up, times take the latest.
func merge(out *peerFigures, fams map[string]*dto.MetricFamily, host string) {
	each := func(name string, f func(l map[string]string, v float64)) {
		if fam := fams[name]; fam != nil {
			for _, m := range fam.Metric {
				f(labels(m), value(m))
			}
		}
	}
	feature := func(name string, f func(ff *metrics.FeatureFigures, v float64)) {
		each(name, func(l map[string]string, v float64) {
			k := l["entity"] + "." + l["feature"]
			ff := out.features[k]
			f(&ff, v)
			out.features[k] = ff
		})
	}
	seconds := func(v float64) time.Time { return time.UnixMilli(int64(math.Round(v * 1000))).UTC() }
	later := func(t *time.Time, v float64) {
		if s := seconds(v); s.After(*t) {
			*t = s
		}
	}
	feature("featuregraph_feature_reads_total", func(ff *metrics.FeatureFigures, v float64) { ff.Reads += int64(v) })
	feature("featuregraph_feature_writes_total", func(ff *metrics.FeatureFigures, v float64) { ff.Writes += int64(v) })
	feature("featuregraph_feature_dead_letters_total", func(ff *metrics.FeatureFigures, v float64) { ff.DeadLetters += int64(v) })
	feature("featuregraph_ingest_skipped_total", func(ff *metrics.FeatureFigures, v float64) { ff.Skipped += int64(v) })
	feature("featuregraph_feature_last_event_timestamp_seconds", func(ff *metrics.FeatureFigures, v float64) { later(&ff.LastEvent, v) })
	feature("featuregraph_feature_last_write_timestamp_seconds", func(ff *metrics.FeatureFigures, v float64) { later(&ff.LastWrite, v) })
	source := func(name string, f func(c *metrics.IngestCounts, l map[string]string, v float64)) {
		each(name, func(l map[string]string, v float64) {
			k := l["source"] + " (" + host + ")"
			c := out.sources[k]
			f(&c, l, v)
			out.sources[k] = c
		})
	}
	source("featuregraph_ingest_events_total", func(c *metrics.IngestCounts, l map[string]string, v float64) {
		switch l["outcome"] {
		case "written":
			c.Events = int64(v)
		case "unrouted":
			c.Unrouted = int64(v)
		case "rejected":
			c.Rejected = int64(v)
		case "dead_letter":
			c.DeadLetters = int64(v)
		}
	})
	source("featuregraph_ingest_writes_total", func(c *metrics.IngestCounts, _ map[string]string, v float64) { c.Writes = int64(v) })
	source("featuregraph_ingest_lag_records", func(c *metrics.IngestCounts, _ map[string]string, v float64) { c.Lag = int64(v) })
}

// add folds peer figures into local ones.
func add(local map[string]metrics.FeatureFigures, peer map[string]metrics.FeatureFigures) map[string]metrics.FeatureFigures {
	out := make(map[string]metrics.FeatureFigures, len(local)+len(peer))
	for k, f := range local {
		out[k] = f
	}
	for k, p := range peer {
		f := out[k]
		f.Reads += p.Reads
		f.Writes += p.Writes
		f.DeadLetters += p.DeadLetters
		f.Skipped += p.Skipped
		if p.LastEvent.After(f.LastEvent) {
			f.LastEvent = p.LastEvent
		}
		if p.LastWrite.After(f.LastWrite) {
			f.LastWrite = p.LastWrite
		}
		out[k] = f
	}
	return out
}
