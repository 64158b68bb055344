package store_test

import (
	"context"
	"testing"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

// wrapper is a decorator that implements only store.Store (as store/traced does).
type wrapper struct{ store.Store }

func (w wrapper) Unwrap() store.Store { return w.Store }

// nilWrapper unwraps to nothing.
type nilWrapper struct{ store.Store }

func (nilWrapper) Unwrap() store.Store { return nil }

// degraded answers Degraded itself, at the top of a chain.
type degraded struct{ wrapper }

func (degraded) Degraded() []string { return []string{"redis"} }

func TestAsLooksThroughDecorators(t *testing.T) {
	m := memory.New()
	for name, s := range map[string]any{
		"plain":     m,
		"wrapped":   wrapper{m},
		"twice":     wrapper{wrapper{m}},
		"as reader": store.Reader(wrapper{m}),
	} {
		h, ok := store.As[store.StaticHistoryReader](s)
		if !ok || h != store.StaticHistoryReader(m) {
			t.Errorf("%s: As[StaticHistoryReader] = %v, %t; want the memory store", name, h, ok)
		}
		if _, ok := store.As[store.Degrader](s); ok {
			t.Errorf("%s: the memory store is no Degrader", name)
		}
	}
	if _, ok := store.As[store.StaticHistoryReader](nilWrapper{m}); ok {
		t.Error("a decorator that unwraps to nil has no capability")
	}
	if _, ok := store.As[store.StaticHistoryReader](nil); ok {
		t.Error("nil has no capability")
	}
	// A decorator's own implementation comes first.
	d, ok := store.As[store.Degrader](wrapper{degraded{wrapper{m}}})
	if !ok || d.Degraded()[0] != "redis" {
		t.Errorf("As[Degrader] through a decorator = %v, %t", d, ok)
	}
	if _, err := m.ReadStaticAsOf(context.Background(), nil, 1); err != nil {
		t.Fatal(err)
	}
}
