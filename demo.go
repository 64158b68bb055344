package main

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

type demoSummary struct{ events, writes, rejected int }

// ingestDemo dispatches a JSONL file of event envelopes and writes the result in one batch.
// Every line must be valid: demo events that do not fit the registry are a bug in the example.
func ingestDemo(ctx context.Context, reg *registry.Registry, r io.Reader, w store.Writer) (demoSummary, error) {
	var sum demoSummary
	d := ingest.NewDispatcher(reg)
	var static []store.StaticWrite
	var actions []store.ActionWrite
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		sum.events++
		env, err := ingest.DecodeEnvelope(sc.Bytes())
		if err != nil {
			return sum, fmt.Errorf("demo events line %d: %w", line, err)
		}
		res, err := d.Dispatch(env)
		if err != nil {
			return sum, fmt.Errorf("demo events line %d: %w", line, err)
		}
		static = append(static, res.Static...)
		actions = append(actions, res.Actions...)
	}
	if err := sc.Err(); err != nil {
		return sum, err
	}
	if err := w.WriteStatic(ctx, static); err != nil {
		return sum, err
	}
	if err := w.WriteActions(ctx, actions); err != nil {
		return sum, err
	}
	sum.writes = len(static) + len(actions)
	return sum, nil
}
