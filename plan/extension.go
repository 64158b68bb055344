package plan

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// Extension plugs an Executor into a gqlgen server (srv.Use). As an OperationInterceptor it
// runs after gqlgen has parsed and validated the operation (query cache, APQ) and after the
// operation context mutators (limits) accepted it; it answers with the plan when the operation
// is covered and falls through to gqlgen's executor otherwise. Transports, limits and the error
// presenter are shared by both paths.
type Extension struct {
	Executor *Executor
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = Extension{}

// ExtensionName implements graphql.HandlerExtension.
func (Extension) ExtensionName() string { return "CompiledPlans" }

// Validate implements graphql.HandlerExtension.
func (Extension) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (x Extension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	buf := getBuffer(ctx)
	resp, out := x.Executor.Execute(ctx, buf)
	if resp == nil {
		putBuffer(ctx, out)
		return next(ctx)
	}
	keepBuffer(ctx, out)
	return graphql.OneShot(resp)
}

// Response buffers are pooled per request: the gateway's handler calls the release function
// of WithBuffers after the response is written, which returns the buffer to the pool. Without
// it (tests calling the gqlgen server directly) buffers are simply garbage collected.

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

type buffersKey struct{}

type buffers struct {
	mu   sync.Mutex
	bufs []*[]byte
}

// WithBuffers returns ctx in which plan responses use pooled buffers, and the function that
// returns them to the pool once the response has been written.
func WithBuffers(ctx context.Context) (context.Context, func()) {
	bs := &buffers{}
	return context.WithValue(ctx, buffersKey{}, bs), func() {
		bs.mu.Lock()
		defer bs.mu.Unlock()
		for _, b := range bs.bufs {
			if cap(*b) <= 1<<20 {
				*b = (*b)[:0]
				bufPool.Put(b)
			}
		}
		bs.bufs = nil
	}
}

func getBuffer(ctx context.Context) []byte {
	if _, ok := ctx.Value(buffersKey{}).(*buffers); !ok {
		return nil
	}
	return (*bufPool.Get().(*[]byte))[:0]
}

func putBuffer(ctx context.Context, b []byte) {
	if _, ok := ctx.Value(buffersKey{}).(*buffers); ok && b != nil {
		b = b[:0]
		bufPool.Put(&b)
	}
}

func keepBuffer(ctx context.Context, b []byte) {
	if bs, ok := ctx.Value(buffersKey{}).(*buffers); ok && b != nil {
		bs.mu.Lock()
		bs.bufs = append(bs.bufs, &b)
		bs.mu.Unlock()
	}
}

// Wrote reports whether data is the data of a response this request's plan wrote (valid JSON by
// construction: a transport need not check it again).
func Wrote(ctx context.Context, data []byte) bool {
	bs, ok := ctx.Value(buffersKey{}).(*buffers)
	if !ok || len(data) == 0 {
		return false
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	for _, b := range bs.bufs {
		if len(*b) > 0 && &(*b)[0] == &data[0] {
			return true
		}
	}
	return false
}
