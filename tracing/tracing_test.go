package tracing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/featuregraph/featuregraph/tracing"
)

// instrument is what an instrumented step on the request path does.
func instrument(ctx context.Context, t tracing.Tracer, err error) context.Context {
	ctx, sp := t.Start(ctx, "step")
	if sp.Recording() {
		sp.SetAttributes() // callers guard variadic calls with Recording
	}
	sp.Int(tracing.Keys, 100)
	sp.String(tracing.Store, "memory")
	sp.Bool(tracing.Fallback, true)
	sp.Fail(err)
	sp.EndErr(err)
	now := time.Now()
	t.Record(ctx, "parse", now, now)
	return ctx
}

// With tracing off (the zero Tracer) an instrumented step allocates nothing and hands back the
// context it was given.
func TestOffCostsNothing(t *testing.T) {
	ctx := context.Background()
	err := errors.New("boom")
	var off tracing.Tracer
	if off.Enabled() {
		t.Fatal("the zero Tracer must be off")
	}
	if got := instrument(ctx, off, err); got != ctx {
		t.Fatal("an off Tracer must not derive a new context")
	}
	if n := testing.AllocsPerRun(1000, func() { instrument(ctx, off, err) }); n != 0 {
		t.Fatalf("off: %v allocations per instrumented step, want 0", n)
	}
	var p *tracing.Provider // FromEnv's answer when nothing asks for tracing
	if p.Tracer().Enabled() || p.Shutdown(ctx) != nil {
		t.Fatal("a nil Provider must be off and shut down cleanly")
	}
}

// With tracing on the same step records a span with its attributes and error.
func TestOnRecords(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	on := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	instrument(context.Background(), on, errors.New("boom"))
	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "step" || spans[1].Name() != "parse" {
		t.Fatalf("want spans step and parse, got %d", len(spans))
	}
	s := spans[0]
	// instrument reports the error twice (Fail, then EndErr): two exception events.
	if s.Status().Description != "boom" || len(s.Events()) != 2 {
		t.Errorf("error not recorded: status %+v, events %d", s.Status(), len(s.Events()))
	}
	if len(s.Attributes()) != 3 {
		t.Errorf("want 3 attributes, got %v", s.Attributes())
	}
	if spans[1].Parent().SpanID() != s.SpanContext().SpanID() {
		t.Errorf("Record must make a child of the span in ctx")
	}
}

func BenchmarkStep(b *testing.B) {
	err := errors.New("boom")
	ctx := context.Background()
	b.Run("off", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			instrument(ctx, tracing.Tracer{}, err)
		}
	})
	b.Run("on", func(b *testing.B) {
		on := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder())))
		b.ReportAllocs()
		for b.Loop() {
			instrument(ctx, on, err)
		}
	})
}
