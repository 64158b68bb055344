// Package plan is featuregraph's GraphQL executor, built from the registry at run time: every
// operation the registry's schema (schema.SDL) serves — entity roots (user, users), static
// features, action features with count, lastNSec, filter and asOf, point-in-time static reads,
// joins, aliases, fragments, variables, @include/@skip, __typename and introspection — with
// gqlgen's errors for every bad argument. ExecutableSchema is the gqlgen
// graphql.ExecutableSchema the gateway serves: gqlgen's handler parses and validates against its
// Schema(), applies the query cache, APQ and the limits, and calls Exec, which runs the plan.
//
// An operation is compiled once into a Plan (cached by query text and operation name, like
// gqlgen's query cache and APQ, and by the values of the variables @include/@skip read). A plan
// knows every store read of each level before it runs: a level issues one batched static read
// and one batched action read (concurrently), then the join fields of the events read make the
// next level. There is no batch timer, no goroutine per field or list element, no FieldContext
// and no reflection: values are store.Value and the answer is written straight into a pooled
// buffer.
//
// gqlgen's generated executor (packages graph and resolvers) is the reference it is tested
// against: a differential test (diff_test.go, over package querygen's generated operations)
// keeps both byte-identical. This package imports neither; what both share (argument rules,
// errors, the presenter) is package serving. gqlgen's field middleware does not run for plans:
// an extension that must see every operation is an OperationInterceptor or a
// ResponseInterceptor.
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
