package main

import (
	"context"
	"fmt"
	"time"

	"github.com/featuregraph/featuregraph/tracing"
)

// startTracing builds the tracer provider the standard OTEL_* variables ask for (nil: tracing
// off) and has the stores opened after it traced. serve, ingest and load call it before setup.
func (e *cmdEnv) startTracing(ctx context.Context) (*tracing.Provider, error) {
	prov, err := tracing.FromEnv(ctx, e.getenv, e.stderr)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	e.opts.store.tracer = prov.Tracer()
	return prov, nil
}

// stopTracing flushes the spans still buffered, within grace.
func (e *cmdEnv) stopTracing(ctx context.Context, prov *tracing.Provider, grace time.Duration) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := prov.Shutdown(sctx); err != nil {
		fmt.Fprintln(e.stderr, "featuregraph: flushing traces:", err)
	}
}
