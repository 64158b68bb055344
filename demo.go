package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// ingestDemo loads the demo events (JSONL envelopes) through the same loader as
// `featuregraph load`. Every line must be accepted: a demo event that does not fit the registry
// is a bug in the example.
func ingestDemo(ctx context.Context, reg *registry.Registry, r io.Reader, st store.Writer, obs *ingest.FeatureObserver) (load.Summary, error) {
	wcfg := ingest.DefaultWriterConfig()
	wcfg.Observer = obs
	w, err := ingest.NewWriter(st, wcfg)
	if err != nil {
		return load.Summary{}, err
	}
	rejects := filepath.Join(os.TempDir(), "featuregraph-demo.rejected.jsonl")
	l, err := load.New(ingest.NewDispatcher(reg, ingest.WithFeatureObserver(obs)), w, load.Config{Concurrency: 1, RejectsPath: rejects, NoProgress: true})
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
