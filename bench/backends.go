package main

import (
	"context"
	"fmt"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

const (
	backendMemory = "memory"
	backendTiered = "redis+dynamodb"
)

// backend is one store set-up the scenarios run against.
type backend struct {
	name   string
	reader store.Reader
	pinger store.Pinger
	// obs counts Redis and DynamoDB round trips; nil for the memory store.
	obs *countingObserver
	// loadInto is where the generated read data goes.
	loadInto loadTarget
	// freshStore returns an empty store for one S4 run.
	freshStore func(ctx context.Context, run string) (*ingestStore, error)
	close      func()
}

func openBackend(ctx context.Context, name string, o *options) (*backend, error) {
	switch name {
	case backendMemory:
		m := memory.New()
		return &backend{
			name:     name,
			reader:   m,
			pinger:   m,
			loadInto: loadTarget{static: m, actions: m, parallel: 2},
			freshStore: func(context.Context, string) (*ingestStore, error) {
				return &ingestStore{w: memory.New(), cleanup: func() {}}, nil
			},
			close: func() {},
		}, nil
	case backendTiered:
		return openTiered(ctx, o)
	}
	return nil, fmt.Errorf("unknown backend %q (want %s or %s)", name, backendMemory, backendTiered)
}
