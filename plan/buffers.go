package plan

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// Response buffers are pooled per request: the gateway's handler calls the release function
// of WithBuffers after the response is written, which returns the buffer to the pool. Without
// it (tests calling the gqlgen server directly) buffers are simply garbage collected.

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

type buffersKey struct{}

type buffers struct {
	mu     sync.Mutex
	bufs   []*[]byte
	answer *graphql.Response
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

// keepAnswer records the response a plan gave for this request (see Answer).
func keepAnswer(ctx context.Context, r *graphql.Response) {
	if bs, ok := ctx.Value(buffersKey{}).(*buffers); ok {
		bs.mu.Lock()
		bs.answer = r
		bs.mu.Unlock()
	}
}

// Answer is the response the run-time executor gave for this request (in a context of
// WithBuffers), or nil. gqlgen's executor drops a response whose request context has ended
// before handing it on; the gateway still reads from it which backend the end cut short.
func Answer(ctx context.Context) *graphql.Response {
	bs, ok := ctx.Value(buffersKey{}).(*buffers)
	if !ok {
		return nil
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.answer
}
