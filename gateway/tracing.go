package gateway

import (
	"context"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/featuregraph/featuregraph/tracing"
)

// Spans of a request, when Config.Tracer is on:
//
//	POST /graphql                         server span; W3C traceparent/baggage honoured
//	└─ query <OperationName>              the operation (graphql.operation.type/name, errors)
//	   ├─ graphql.parse, graphql.validate gqlgen's own timings (a query cache lookup on a hit)
//	   ├─ plan.static_read, plan.action_read  each step of a compiled plan (planSteps), with
//	   │  └─ store.ReadStatic ...         its level and batch size, and the store call under it
//	   └─ graphql.resolve <Type>.<field>  on gqlgen's executor: each resolver-backed field
//	      ├─ graphql.resolve ...          (entity roots, action features, joins), nested as the
//	      └─ store.ReadStatic ...         query is, and the store calls of the batches it started
//
// With the tracer off the extension and the HTTP wrapper are not installed at all.

// propagator reads the caller's trace context from the request headers.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// traceHTTP wraps a handler in the server span of each request.
func traceHTTP(t tracing.Tracer, pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, sp := t.StartKind(ctx, r.Method+" "+pattern, trace.SpanKindServer,
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", pattern),
			attribute.String("url.path", r.URL.Path))
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		sp.Int("http.response.status_code", rec.code)
		if rec.code >= 500 {
			sp.Fail(errorStatus(rec.code))
		}
		sp.End()
	})
}

type errorStatus int

func (e errorStatus) Error() string { return http.StatusText(int(e)) }

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer (Flush, deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// tracingExtension is the gqlgen handler extension that makes the operation and field spans.
type tracingExtension struct {
	t tracing.Tracer
}

var (
	_ graphql.HandlerExtension     = tracingExtension{}
	_ graphql.OperationInterceptor = tracingExtension{}
	_ graphql.FieldInterceptor     = tracingExtension{}
)

func (tracingExtension) ExtensionName() string                   { return "OpenTelemetry" }
func (tracingExtension) Validate(graphql.ExecutableSchema) error { return nil }

func (e tracingExtension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	rc := graphql.GetOperationContext(ctx)
	opType, opName := "query", rc.OperationName
	if rc.Operation != nil {
		opType = string(rc.Operation.Operation)
		if opName == "" {
			opName = rc.Operation.Name
		}
	}
	name := opType
	if opName != "" {
		name += " " + opName
	}
	ctx, sp := e.t.StartKind(ctx, name, trace.SpanKindInternal, attribute.String(tracing.OperationType, opType))
	if opName != "" {
		sp.String(tracing.OperationName, opName)
	}
	e.t.Record(ctx, "graphql.parse", rc.Stats.Parsing.Start, rc.Stats.Parsing.End)
	e.t.Record(ctx, "graphql.validate", rc.Stats.Validation.Start, rc.Stats.Validation.End)
	responses := next(ctx)
	ended := false
	return func(ctx context.Context) *graphql.Response {
		resp := responses(ctx)
		if ended {
			return resp
		}
		if resp != nil && len(resp.Errors) > 0 {
			sp.Int(tracing.Errors, len(resp.Errors))
			sp.Fail(resp.Errors[0])
		}
		if resp == nil || resp.HasNext == nil || !*resp.HasNext {
			ended = true
			sp.End()
		}
		return resp
	}
}

// InterceptField makes a span for each resolver-backed field: the execution steps that read
// the store. Fields read from a struct (static features, event fields) are not steps.
func (e tracingExtension) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !fc.IsResolver {
		return next(ctx)
	}
	ctx, sp := e.t.StartKind(ctx, "graphql.resolve "+fc.Object+"."+fc.Field.Name, trace.SpanKindInternal,
		attribute.String(tracing.FieldType, fc.Object),
		attribute.String(tracing.FieldName, fc.Field.Name),
		attribute.String(tracing.FieldPath, fc.Path().String()))
	res, err := next(ctx)
	sp.EndErr(err)
	return res, err
}
