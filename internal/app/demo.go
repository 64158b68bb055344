package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/featuregraph/featuregraph/features"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// ingestDemo loads the demo events (JSONL envelopes) through the same loader as
// `featuregraph load`. Every line must be accepted: a demo event that does not fit the registry
// is a bug in the example. An event that lacks the path of a feature (one added to the YAML
// after the demo events were written) is not a rejection: the feature is skipped for it and
// counted in skips.
func ingestDemo(ctx context.Context, reg *registry.Registry, r io.Reader, st store.Writer, skips ingest.SkipRecorder, obs *ingest.FeatureObserver) (load.Summary, error) {
	wcfg := ingest.DefaultWriterConfig()
	wcfg.Observer = obs
	w, err := ingest.NewWriter(st, wcfg)
	if err != nil {
		return load.Summary{}, err
	}
	rejects := filepath.Join(os.TempDir(), "featuregraph-demo.rejected.jsonl")
	opts := []ingest.DispatcherOption{ingest.WithFeatureObserver(obs)}
	if skips != nil {
		opts = append(opts, ingest.WithSkipRecorder(skips))
	}
	l, err := load.New(ingest.NewDispatcher(reg, opts...), w, load.Config{Concurrency: 1, RejectsPath: rejects, NoProgress: true})
	if err != nil {
		return load.Summary{}, errors.Join(err, w.Close(ctx))
	}
	sum, err := l.Load(ctx, r, "demo events", load.JSONL)
	if cerr := w.Close(ctx); err == nil {
		err = cerr
	}
	if err == nil && sum.Rejected > 0 {
		err = fmt.Errorf("%d demo events were rejected; see %s", sum.Rejected, rejects)
	}
	return sum, err
}

// skipTally counts skipped features per "<entity>.<feature>".
type skipTally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *skipTally) FeatureSkipped(entity, feature, _ string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[entity+"."+feature]++
}

// counts returns the tally, e.g. "user.locale=4" (sorted); "" when nothing was skipped.
func (t *skipTally) counts() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	for k, v := range t.n {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// LoadDemo ingests the registry's demo/events.jsonl into the store. A missing file is an error
// only when --demo was asked for explicitly.
func LoadDemo(ctx context.Context, reg *registry.Registry, regFS fs.FS, w store.Writer, obs *ingest.FeatureObserver, log *slog.Logger, explicit bool) error {
	f, err := regFS.Open(features.DemoEvents)
	if err != nil {
		if explicit {
			return fmt.Errorf("--demo: the registry has no %s: %w", features.DemoEvents, err)
		}
		log.Info("no demo events in the registry; starting empty")
		return nil
	}
	defer f.Close()
	var skips skipTally
	sum, err := ingestDemo(ctx, reg, f, w, &skips, obs)
	if err != nil {
		return fmt.Errorf("--demo: %w", err)
	}
	log.Info("loaded demo events", "events", sum.Records, "writes", sum.Written, "elapsed", sum.Elapsed)
	if s := skips.counts(); s != "" {
		log.Info("demo events lack the path of some features; those features were skipped for them", "skipped", s)
	}
	return nil
}
