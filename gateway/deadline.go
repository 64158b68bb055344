package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/plan"
)

// endedStop gives a request whose context ended (its --request-timeout passed, or the client
// went away) while it was executed the gateway's own answer: a 503 with Retry-After, code
// TIMEOUT, no data — never a partial 200 whose missing parts are errors of the backend that
// was cut short. Both executors stop working when the context ends (package plan between levels
// and while writing; the resolvers before each read, see resolvers.loadEntities; the memory
// store within a read, the other stores in their calls), so what they answer then is
// incomplete by construction. gqlgen's executor drops an answer once the context has ended; the
// run-time executor's is still read from plan.Answer, for the backend it names.
type endedStop struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = endedStop{}

func (endedStop) ExtensionName() string                   { return "EndedStop" }
func (endedStop) Validate(graphql.ExecutableSchema) error { return nil }

func (endedStop) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	h := next(ctx)
	answered := false
	return func(ctx context.Context) *graphql.Response {
		if answered {
			return nil
		}
		resp := h(ctx)
		if ctx.Err() == nil {
			return resp
		}
		answered = true // the end of the stream for transports that iterate
		if resp == nil {
			resp = plan.Answer(ctx) // gqlgen drops an answer once the context has ended
		}
		e := endedError(ctx, resp)
		if req := requestFrom(ctx); req != nil {
			req.ended.Store(true)
		}
		return &graphql.Response{Errors: gqlerror.List{e}}
	}
}

// endedError is the error of a request whose context ended before its answer was ready (resp:
// what the executor answered, nil when it did not start): code TIMEOUT, naming the backend a
// read of it was waiting for when one was cut short.
func endedError(ctx context.Context, resp *graphql.Response) *gqlerror.Error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The client is gone: nobody reads this.
		return &gqlerror.Error{Message: "the request was canceled", Extensions: map[string]any{"code": codeTimeout}}
	}
	if resp == nil {
		return &gqlerror.Error{Message: "the request deadline passed before the query was executed (the gateway is overloaded): retry later",
			Extensions: map[string]any{"code": codeTimeout}}
	}
	e := &gqlerror.Error{Message: "the request deadline passed while the query was executed (the gateway is overloaded or a backend slow): retry later",
		Extensions: map[string]any{"code": codeTimeout}}
	for _, x := range resp.Errors {
		if b, ok := x.Extensions["backend"]; ok {
			e.Message = fmt.Sprintf("the request deadline passed while the query waited for %v (the gateway is overloaded or the backend slow): retry later", b)
			e.Extensions["backend"] = b
			break
		}
	}
	return e
}
