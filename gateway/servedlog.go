package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/auth"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/store"
)

// Served-feature logging (Config.ServedLog): every GraphQL request gets a request id
// (X-Request-Id, echoed; generated when absent). When the operation is sampled, the store reads
// it makes are recorded by a decorator of the reader (servedReader) into the request's typed
// columns (an offline.ServedRequest, pooled), and once the answer is written the request is
// handed to the log, which buffers it off the request path (a full buffer drops rows, counted;
// it never waits). Nothing of this is in the plan: the hook is the store reader.

// RequestIDHeader is the request id header, echoed in every GraphQL response.
const RequestIDHeader = "X-Request-Id"

// ServedLogger receives the reads of sampled requests (offline.ServedLog).
type ServedLogger interface {
	Sampled(operation, requestID string) bool
	// Request starts the capture of a sampled request; Log takes it back.
	Request(id string, t time.Time) *offline.ServedRequest
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

// capture collects the store reads of one request: req is nil until the operation is sampled.
type capture struct {
	mu   sync.Mutex
	id   string
	time time.Time
	log  ServedLogger
	req  *offline.ServedRequest
}

func captureOf(ctx context.Context) *capture {
	c, _ := ctx.Value(captureKey{}).(*capture)
	return c
}

// sampled returns the request's capture, locked, or nil when the request is not logged.
func sampled(ctx context.Context) *capture {
	c := captureOf(ctx)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	if c.req == nil {
		c.mu.Unlock()
		return nil
	}
	return c
}

// servedOperation is the gqlgen extension that names the operation and decides the sampling,
// once the operation is parsed and before it is executed (by either executor).
// fingerprint is the registry fingerprint of the generation the extension serves (a live
// registry builds one server per generation), stamped on the request's row.
type servedOperation struct {
	log         ServedLogger
	fingerprint string
}

func (servedOperation) ExtensionName() string                   { return "ServedLog" }
func (servedOperation) Validate(graphql.ExecutableSchema) error { return nil }

func (s servedOperation) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if c := captureOf(ctx); c != nil && graphql.HasOperationContext(ctx) {
		oc := graphql.GetOperationContext(ctx)
		name := oc.OperationName
		if name == "" && oc.Operation != nil {
			name = oc.Operation.Name
		}
		if s.log.Sampled(name, c.id) {
			r := s.log.Request(c.id, c.time)
			r.Operation, r.OperationHash, r.Fingerprint = name, operationHash(oc.RawQuery), s.fingerprint
			if cl := auth.ClientFrom(ctx); cl != nil {
				r.Client = cl.Name
			}
			c.mu.Lock()
			if c.req == nil {
				c.req = r
			} else { // a second operation of one request (not with this transport): keep the first
				s.log.Log(r)
			}
			c.mu.Unlock()
		}
	}
	return next(ctx)
}

// operationHashes caches the hash of query texts (a client sends the same few documents):
// up to maxOperationHashes of them, then new ones are hashed each time.
var (
	operationHashes    sync.Map // query text → hash
	operationHashesN   atomic.Int64
	maxOperationHashes int64 = 4096
)

// operationHash is the first 8 bytes of the SHA-256 of the query text, in hex.
func operationHash(query string) string {
	if h, ok := operationHashes.Load(query); ok {
		return h.(string)
	}
	sum := sha256.Sum256([]byte(query))
	h := hex.EncodeToString(sum[:8])
	if operationHashesN.Add(1) <= maxOperationHashes {
		operationHashes.Store(strings.Clone(query), h)
	}
	return h
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
	if c := sampled(ctx); c != nil {
		c.req.AppendStatic(q, out, err)
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
	if c := sampled(ctx); c != nil {
		for _, k := range keys {
			c.req.AppendValue(k, got[k], err)
		}
		c.mu.Unlock()
	}
	return got, err
}

func (r servedReader) ReadActions(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	got, err := r.next.ReadActions(ctx, queries)
	if c := sampled(ctx); c != nil {
		c.req.AppendActions(queries, got, err)
		c.mu.Unlock()
	}
	return got, err
}

// finish hands the request's reads to the log (which writes the row off the request path).
func (c *capture) finish() {
	c.mu.Lock()
	req := c.req
	c.req = nil
	c.mu.Unlock()
	if req != nil {
		c.log.Log(req)
	}
}
