package traced_test

import (
	"context"
	"errors"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
	"github.com/featuregraph/featuregraph/store/traced"
	"github.com/featuregraph/featuregraph/tracing"
)

// With tracing off nothing is wrapped: the store is used as it is, at no cost.
func TestOffReturnsTheStoreItself(t *testing.T) {
	var off tracing.Tracer
	mem := memory.New()
	if traced.Wrap(mem, off, "memory") != store.Store(mem) || traced.DynamoDB(mem, off) != store.Store(mem) {
		t.Fatal("off: Wrap and DynamoDB must return the store itself")
	}
}

type failing struct{ store.Store }

func (failing) ReadStatic(context.Context, store.StaticQuery, []store.StaticValue) error {
	return &store.BackendError{Backend: "dynamodb", Op: "batch get", Err: store.ErrUnavailable}
}

func TestSpansCarryBatchSizeHitsAndErrors(t *testing.T) {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	on := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	mem := memory.New()
	k1 := store.Key{Prefix: "u", ID: "1", Feature: "os"}
	st := traced.Wrap(mem, on, "memory")
	if err := st.WriteStatic(ctx, []store.StaticWrite{{Key: k1, Value: store.StringValue("ios"), TS: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := st.ReadStatic(ctx, store.StaticQuery{Prefix: "u", IDs: []string{"1", "2"}, Features: []string{"os"}}, make([]store.StaticValue, 2)); err != nil {
		t.Fatal(err)
	}
	bad := traced.DynamoDB(failing{mem}, on)
	if err := bad.ReadStatic(ctx, store.StaticQuery{Prefix: "u", IDs: []string{"1"}, Features: []string{"os"}}, make([]store.StaticValue, 1)); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("the decorator must return the backend's error, got %v", err)
	}
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("want 3 spans, got %d", len(spans))
	}
	attrs := func(s sdktrace.ReadOnlySpan) map[string]string {
		m := map[string]string{}
		for _, kv := range s.Attributes() {
			m[string(kv.Key)] = kv.Value.Emit()
		}
		return m
	}
	for i, want := range []struct {
		name  string
		attrs map[string]string
		err   string
	}{
		{"store.WriteStatic", map[string]string{tracing.Store: "memory", tracing.DBOperation: "WriteStatic", tracing.Writes: "1"}, ""},
		{"store.ReadStatic", map[string]string{tracing.Store: "memory", tracing.Keys: "2", tracing.Hits: "1", tracing.Misses: "1"}, ""},
		{"dynamodb.ReadStatic", map[string]string{tracing.DBSystem: "aws.dynamodb", tracing.Keys: "1"}, "dynamodb: batch get: backend unavailable"},
	} {
		s := spans[i]
		if s.Name() != want.name {
			t.Fatalf("span %d: %s, want %s", i, s.Name(), want.name)
		}
		got := attrs(s)
		for k, v := range want.attrs {
			if got[k] != v {
				t.Errorf("%s: %s=%q, want %q (all: %v)", s.Name(), k, got[k], v, got)
			}
		}
		if s.Status().Description != want.err {
			t.Errorf("%s: status %q, want %q", s.Name(), s.Status().Description, want.err)
		}
		if want.err != "" {
			if _, ok := got[tracing.Hits]; ok {
				t.Errorf("%s: a failed read must not report hits", s.Name())
			}
		}
	}
}
