// Package traced decorates stores with OpenTelemetry spans: one client span per store call,
// carrying the batch size and what the call found (hits, misses, events) as attributes. Store
// wraps a whole store (the span of what serving asked for); Cache and Source wrap the Redis and
// DynamoDB sides of a tiered store, so a tiered read shows which backend answered what and
// which action queries fell back to DynamoDB. The decorators are installed only when tracing is
// on: with tracing off the store is used as it is, at no cost.
package traced

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/tracing"
)

// Store is a store.Store whose calls are spans named "<name>.<Method>": "store.ReadStatic" for
// the store serving reads through (Wrap), "dynamodb.ReadStatic" for a DynamoDB backend.
type Store struct {
	next   store.Store
	t      tracing.Tracer
	name   string
	system attribute.KeyValue
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Decorator = (*Store)(nil)
)

// Wrap returns s with a span per call named "store.<Method>", tagged with featuregraph.store =
// kind ("memory", "dynamodb", "dynamodb+redis"): the span of what serving or ingestion asked the
// store for, parent of the backend spans. With t off it returns s itself.
func Wrap(s store.Store, t tracing.Tracer, kind string) store.Store {
	if !t.Enabled() {
		return s
	}
	return &Store{next: s, t: t, name: "store", system: attribute.String(tracing.Store, kind)}
}

// DynamoDB returns s, a DynamoDB store used on its own, with a span per call named
// "dynamodb.<Method>" (db.system.name "aws.dynamodb"). With t off it returns s itself.
func DynamoDB(s store.Store, t tracing.Tracer) store.Store {
	if !t.Enabled() {
		return s
	}
	return &Store{next: s, t: t, name: "dynamodb", system: dynamoSystem}
}

// Unwrap returns the decorated store: store.As finds its optional capabilities (point-in-time
// reads, the tiered store's health) through the tracing wrapper.
func (s *Store) Unwrap() store.Store { return s.next }

// start begins a client span for op.
func start(ctx context.Context, t tracing.Tracer, name, op string, system attribute.KeyValue) (context.Context, tracing.Span) {
	if !t.Enabled() {
		return ctx, tracing.Span{}
	}
	return t.StartKind(ctx, name+"."+op, trace.SpanKindClient, system, attribute.String(tracing.DBOperation, op))
}

// call runs f, a call that returns only an error, in a span carrying its batch size n under key.
func call(ctx context.Context, t tracing.Tracer, name, op string, system attribute.KeyValue, key string, n int, f func(context.Context) error) error {
	ctx, sp := start(ctx, t, name, op, system)
	sp.Int(key, n)
	err := f(ctx)
	sp.EndErr(err)
	return err
}

// ReadStatic implements store.StaticReader.
func (s *Store) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	return readStatic(ctx, s.t, s.name, s.system, s.next, q, out)
}

// ReadActions implements store.ActionReader.
func (s *Store) ReadActions(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	return readActions(ctx, s.t, s.name, s.system, s.next, queries)
}

// WriteStatic implements store.StaticWriter.
func (s *Store) WriteStatic(ctx context.Context, writes []store.StaticWrite) error {
	return call(ctx, s.t, s.name, "WriteStatic", s.system, tracing.Writes, len(writes), func(ctx context.Context) error {
		return s.next.WriteStatic(ctx, writes)
	})
}

// WriteActions implements store.ActionWriter.
func (s *Store) WriteActions(ctx context.Context, writes []store.ActionWrite) error {
	return call(ctx, s.t, s.name, "WriteActions", s.system, tracing.Writes, len(writes), func(ctx context.Context) error {
		return s.next.WriteActions(ctx, writes)
	})
}

// Ping implements store.Pinger (not traced: readiness probes would flood the traces).
func (s *Store) Ping(ctx context.Context) error { return s.next.Ping(ctx) }

// Close implements store.Store.
func (s *Store) Close() error { return s.next.Close() }
