// Package plan is featuregraph's own GraphQL executor for the operations the generated schema
// serves: entity roots (user, users), static features, action features with count/lastNSec,
// joins, aliases, fragments, variables, @include/@skip and __typename.
//
// An operation is compiled once into a Plan (cached by query text and operation name, like
// gqlgen's query cache and APQ, and by the values of the variables @include/@skip read). A plan
// knows every store read of each level before it runs: a level issues one batched static read
// and one batched action read (concurrently), then the join fields of the events read make the
// next level. There is no batch timer, no goroutine per field or list element, no FieldContext
// and no reflection: values are store.Value and the answer is written straight into a pooled
// buffer.
//
// gqlgen stays in charge of the rest. Extension is a gqlgen OperationInterceptor: gqlgen parses,
// validates, applies APQ and the limits, then the interceptor runs the plan when the operation is
// covered and its arguments are plain valid values; otherwise (introspection, mutations, other
// directives, a bad count, too many ids, …) it falls through to gqlgen's executor, whose answer
// for those is the reference. A differential test (diff_test.go, over package querygen's
// generated operations) keeps both byte-identical. gqlgen's field middleware and response
// interceptors do not run for plan-served operations: an extension that must see every
// operation is an OperationInterceptor registered before the Extension (srv.Use order).
//
// Observability: feature reads are counted through serving.Recorder, backend errors are
// presented by the same error presenter as on gqlgen's path (extensions.code and
// extensions.backend), the request context's deadline bounds every read, and every read step is
// reported to a StepObserver (Config.Observer, gateway.Config.PlanObserver; no-op by default),
// the hook for tracing: the context it returns is the one the step's store call runs with, so a
// tracer's span is the parent of the store's own spans.
//
//	type tracer struct{ t trace.Tracer }
//	func (x tracer) Step(ctx context.Context, s plan.Step) (context.Context, func(error)) {
//		ctx, span := x.t.Start(ctx, s.Kind.String(), trace.WithAttributes(attribute.Int("level", s.Level)))
//		return ctx, func(err error) {
//			if err != nil {
//				span.RecordError(err)
//			}
//			span.End()
//		}
//	}
package plan
