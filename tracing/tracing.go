// Package tracing is featuregraph's thin layer over OpenTelemetry: a Tracer whose zero value is
// off and costs nothing (no allocation, no context copy), the span names and attribute keys
// every instrumented package shares, and FromEnv, which builds an OTLP exporting provider from
// the standard OTEL_* environment variables (tracing stays off unless they ask for it).
package tracing

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tracer starts spans. The zero Tracer is off: Start returns the context it was given and a
// zero Span, and every Span method is a no-op, without allocating. Code on the request path
// holds a Tracer by value and calls it unconditionally.
type Tracer struct {
	t trace.Tracer
}

// New returns a Tracer over tp (instrumentation scope "github.com/featuregraph/featuregraph").
// A nil tp is off.
func New(tp trace.TracerProvider) Tracer {
	if tp == nil {
		return Tracer{}
	}
	return Tracer{t: tp.Tracer(ScopeName)}
}

// ScopeName is the instrumentation scope of every featuregraph span.
const ScopeName = "github.com/featuregraph/featuregraph"

// Enabled reports whether the Tracer records spans.
func (t Tracer) Enabled() bool { return t.t != nil }

// Start starts a span named name as a child of the span in ctx (internal kind).
func (t Tracer) Start(ctx context.Context, name string) (context.Context, Span) {
	if t.t == nil {
		return ctx, Span{}
	}
	ctx, s := t.t.Start(ctx, name)
	return ctx, Span{s: s}
}

// StartKind starts a span of the given kind (trace.SpanKindServer for a request,
// trace.SpanKindClient for a backend call) with its first attributes. The attribute list is
// built by the caller even when t is off: code that runs whether or not tracing is on calls
// Start, or checks Enabled first.
func (t Tracer) StartKind(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, Span) {
	if t.t == nil {
		return ctx, Span{}
	}
	ctx, s := t.t.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	return ctx, Span{s: s}
}

// Span is one span; the zero Span is a no-op. Methods taking a single attribute (Int, String,
// Bool) never allocate when the span is off; callers of SetAttributes with several attributes
// should check Recording first, because a variadic argument list is built before the call.
type Span struct {
	s trace.Span
}

// Recording reports whether the span records what it is told.
func (s Span) Recording() bool { return s.s != nil && s.s.IsRecording() }

// Int sets an integer attribute.
func (s Span) Int(key string, v int) {
	if s.s != nil {
		s.s.SetAttributes(attribute.Int(key, v))
	}
}

// String sets a string attribute.
func (s Span) String(key, v string) {
	if s.s != nil {
		s.s.SetAttributes(attribute.String(key, v))
	}
}

// Bool sets a boolean attribute.
func (s Span) Bool(key string, v bool) {
	if s.s != nil {
		s.s.SetAttributes(attribute.Bool(key, v))
	}
}

// SetAttributes sets attributes.
func (s Span) SetAttributes(kv ...attribute.KeyValue) {
	if s.s != nil {
		s.s.SetAttributes(kv...)
	}
}

// Fail records err on the span and marks it failed; a nil err does nothing.
func (s Span) Fail(err error) {
	if s.s != nil && err != nil {
		s.s.RecordError(err)
		s.s.SetStatus(codes.Error, err.Error())
	}
}

// End ends the span.
func (s Span) End() {
	if s.s != nil {
		s.s.End()
	}
}

// EndErr records err (when not nil) and ends the span.
func (s Span) EndErr(err error) {
	s.Fail(err)
	s.End()
}

// Record adds a span that has already happened (a step timed by someone else, such as gqlgen's
// parse and validate), as a child of the span in ctx.
func (t Tracer) Record(ctx context.Context, name string, start, end time.Time) {
	if t.t == nil || start.IsZero() || end.Before(start) {
		return
	}
	_, s := t.t.Start(ctx, name, trace.WithTimestamp(start))
	s.End(trace.WithTimestamp(end))
}
