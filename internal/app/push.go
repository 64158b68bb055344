package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/featuregraph/featuregraph/gateway"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/push"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// MountIngest serves POST /v1/events on the gateway, writing through a batching writer. The
// returned function flushes and closes the writer (at shutdown).
// tap (nil: none) receives the stored writes (offline downsync).
func MountIngest(g *gateway.Gateway, reg *registry.Registry, st store.Writer, m *metrics.Metrics, log *slog.Logger, tap ingest.Tap) (func(context.Context) error, error) {
	obs := FeatureObserver(reg, m)
	opts := []ingest.DispatcherOption{ingest.WithFeatureObserver(obs)}
	if m != nil {
		opts = append(opts, ingest.WithSkipRecorder(m))
	}
	return MountIngestRouter(g, ingest.NewDispatcher(reg, opts...), obs, st, m, log, tap)
}

// MountIngestRouter is MountIngest routing with r (a LiveRouter follows reloads), counting
// writes per feature with obs (nil: not counted).
func MountIngestRouter(g *gateway.Gateway, r ingest.Router, obs *ingest.FeatureObserver, st store.Writer, m *metrics.Metrics, log *slog.Logger, tap ingest.Tap) (func(context.Context) error, error) {
	cfg := ingest.DefaultWriterConfig()
	cfg.Tap = tap
	cfg.Linger = time.Millisecond // pushes wait for their writes: keep the batch wait short
	cfg.Logger = log
	cfg.Observer = obs
	w, err := ingest.NewWriter(st, cfg)
	if err != nil {
		return nil, err
	}
	h, err := push.New(r, w, push.Config{Logger: log, Timeout: PushTimeout, Check: gateway.PushCheck})
	if err != nil {
		return nil, errors.Join(err, w.Close(context.Background()))
	}
	g.Handle(push.Path, h)
	if m != nil {
		m.IngestSource("push", func() metrics.IngestCounts {
			s := h.Stats()
			return metrics.IngestCounts{Events: s.Accepted - s.Unrouted, Unrouted: s.Unrouted, Rejected: s.Rejected, Writes: s.Writes}
		})
	}
	return w.Close, nil
}

// FeatureObserver counts ingestion per feature into m (nil when m is nil).
func FeatureObserver(reg *registry.Registry, m *metrics.Metrics) *ingest.FeatureObserver {
	if m == nil {
		return nil
	}
	return ingest.NewFeatureObserver(reg, m)
}
