package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/auth"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/store"
)

// Served-feature logging (Config.ServedLog): every GraphQL request gets a request id
// (X-Request-Id, echoed; generated when absent). When the operation is sampled, the store reads
// it makes are recorded by a decorator of the reader (servedReader) in a per-request capture,
// and once the answer is written they become offline.ServedRows handed to the log, which
// buffers them off the request path (a full buffer drops rows, counted; it never waits).

// RequestIDHeader is the request id header, echoed in every GraphQL response.
const RequestIDHeader = "X-Request-Id"

// ServedLogger receives the reads of sampled requests (offline.ServedLog).
type ServedLogger interface {
	Sampled(operation, requestID string) bool
	// AppendRead encodes one read (the request keeps a few bytes per read, not the read).
	AppendRead(b []byte, rd offline.ServedRead) []byte
	Log(r *offline.ServedRequest)
}

var _ ServedLogger = (*offline.ServedLog)(nil)

// maxRequestID bounds an echoed request id; a longer or odd one is replaced.
const maxRequestID = 128

// requestID returns the caller's X-Request-Id when it is a short printable token, else a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get(RequestIDHeader); id != "" && len(id) <= maxRequestID && printable(id) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

type captureKey struct{}

// capture collects the store reads of one request.
type capture struct {
	mu  sync.Mutex
	on  bool // the operation is sampled
	log ServedLogger
	req offline.ServedRequest
}

// record encodes one read (under c.mu).
func (c *capture) record(rd offline.ServedRead) {
	if c.req.ReadCount == 0 {
		c.req.Encoded = append(c.req.Encoded, '[')
	} else {
		c.req.Encoded = append(c.req.Encoded, ',')
	}
	c.req.Encoded = c.log.AppendRead(c.req.Encoded, rd)
	c.req.ReadCount++
	if rd.Err != nil {
		c.req.ErrorCount++
	}
}

func captureOf(ctx context.Context) *capture {
	c, _ := ctx.Value(captureKey{}).(*capture)
	return c
}

// servedOperation is the gqlgen extension that names the operation and decides the sampling,
// once the operation is parsed and before it is executed (by either executor).
type servedOperation struct{ log ServedLogger }

func (servedOperation) ExtensionName() string                   { return "ServedLog" }
func (servedOperation) Validate(graphql.ExecutableSchema) error { return nil }

func (s servedOperation) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if c := captureOf(ctx); c != nil && graphql.HasOperationContext(ctx) {
		oc := graphql.GetOperationContext(ctx)
		name := oc.OperationName
		if name == "" && oc.Operation != nil {
			name = oc.Operation.Name
		}
		if s.log.Sampled(name, c.req.ID) {
			sum := sha256.Sum256([]byte(oc.RawQuery))
			c.mu.Lock()
			c.on, c.req.Operation, c.req.OperationHash = true, name, hex.EncodeToString(sum[:8])
			if cl := auth.ClientFrom(ctx); cl != nil {
				c.req.Client = cl.Name
			}
			c.mu.Unlock()
		}
	}
	return next(ctx)
}

// servedReader records the reads of sampled requests.
type servedReader struct {
	next store.Reader
}

var (
	_ store.Reader              = servedReader{}
	_ store.StaticHistoryReader = servedReader{}
)

func newServedReader(next store.Reader) servedReader { return servedReader{next: next} }

func (r servedReader) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	err := r.next.ReadStatic(ctx, q, out)
	if c := captureOf(ctx); c != nil && c.sampled() {
		c.mu.Lock()
		c.req.Encoded = slices.Grow(c.req.Encoded, 48*q.Len())
		for i := range q.Len() {
			rd := offline.ServedRead{Key: q.Key(i), Err: err}
			if err == nil {
				rd.Value = out[i]
			}
			c.record(rd)
		}
		c.mu.Unlock()
	}
	return err
}

func (r servedReader) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	h, ok := store.As[store.StaticHistoryReader](r.next)
	if !ok {
		return nil, store.ErrNoHistory
	}
	got, err := h.ReadStaticAsOf(ctx, keys, asOf)
	if c := captureOf(ctx); c != nil && c.sampled() {
		c.mu.Lock()
		for _, k := range keys {
			c.record(offline.ServedRead{Key: k, Value: got[k], Err: err})
		}
		c.mu.Unlock()
	}
	return got, err
}

func (r servedReader) ReadActions(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	got, err := r.next.ReadActions(ctx, queries)
	if c := captureOf(ctx); c != nil && c.sampled() {
		c.mu.Lock()
		for _, q := range queries {
			c.record(offline.ServedRead{Key: q.Key, Events: got[q], Action: true, Err: err})
		}
		c.mu.Unlock()
	}
	return got, err
}

func (c *capture) sampled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on
}

// finish hands the request's reads to the log (which builds the rows off the request path).
func (c *capture) finish(log ServedLogger) {
	c.mu.Lock()
	on := c.on
	req := c.req
	c.req = offline.ServedRequest{}
	c.mu.Unlock()
	if on && req.ReadCount > 0 {
		log.Log(&req)
	}
}
