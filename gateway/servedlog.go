package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/loader"
)

// Served-feature logging (Config.ServedLog): every GraphQL request gets a request id
// (X-Request-Id, echoed; generated when absent). When the operation is sampled, the store reads
// it makes are recorded by a decorator of the reader (servedReader) in a per-request capture,
// and once the answer is written they become offline.ServedRows handed to the log, which
// buffers them off the request path (a full buffer drops rows, counted; it never waits).

// RequestIDHeader is the request id header, echoed in every GraphQL response.
const RequestIDHeader = "X-Request-Id"

// ServedLogger receives the served features of sampled requests (offline.ServedLog).
type ServedLogger interface {
	Sampled(operation, requestID string) bool
	Log(rows []offline.ServedRow)
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
	id        string
	start     time.Time
	mu        sync.Mutex
	on        bool // the operation is sampled
	operation string
	hash      string
	rows      []offline.ServedRow
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
		if s.log.Sampled(name, c.id) {
			sum := sha256.Sum256([]byte(oc.RawQuery))
			c.mu.Lock()
			c.on, c.operation, c.hash = true, name, hex.EncodeToString(sum[:8])
			c.mu.Unlock()
		}
	}
	return next(ctx)
}

// servedReader records the reads of sampled requests.
type servedReader struct {
	next     store.Reader
	entities map[string]*registry.Entity // by prefix
}

var (
	_ store.Reader              = servedReader{}
	_ store.StaticHistoryReader = servedReader{}
)

func newServedReader(reg *registry.Registry, next store.Reader) servedReader {
	r := servedReader{next: next, entities: map[string]*registry.Entity{}}
	for _, e := range reg.Entities {
		r.entities[e.Prefix] = e
	}
	return r
}

func (r servedReader) ReadStatic(ctx context.Context, q store.StaticQuery, out []store.StaticValue) error {
	err := r.next.ReadStatic(ctx, q, out)
	if c := captureOf(ctx); c != nil && c.sampled() {
		rows := make([]offline.ServedRow, 0, q.Len())
		for i := range q.Len() {
			var v *store.StaticValue
			if err == nil {
				v = &out[i]
			}
			rows = append(rows, r.staticRow(q.Key(i), v, err))
		}
		c.add(rows)
	}
	return err
}

func (r servedReader) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	h, ok := r.next.(store.StaticHistoryReader)
	if !ok {
		return nil, loader.ErrNoHistory
	}
	got, err := h.ReadStaticAsOf(ctx, keys, asOf)
	if c := captureOf(ctx); c != nil && c.sampled() {
		rows := make([]offline.ServedRow, 0, len(keys))
		for _, k := range keys {
			var v *store.StaticValue
			if err == nil {
				sv := got[k]
				v = &sv
			}
			rows = append(rows, r.staticRow(k, v, err))
		}
		c.add(rows)
	}
	return got, err
}

func (r servedReader) ReadActions(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	got, err := r.next.ReadActions(ctx, queries)
	if c := captureOf(ctx); c != nil && c.sampled() {
		rows := make([]offline.ServedRow, 0, len(queries))
		for _, q := range queries {
			row := r.row(q.Key)
			switch evs := got[q]; {
			case err != nil:
				row.Status, row.Error = offline.StatusError, ptr(err.Error())
			case len(evs) == 0:
				row.Status = offline.StatusAbsent
			default:
				row.Status = offline.StatusPresent
				b := []byte{'['}
				for i, ev := range evs {
					if i > 0 {
						b = append(b, ',')
					}
					b = append(b, `{"timestamp":`...)
					b = append(b, '"')
					b = time.UnixMilli(ev.TS).UTC().AppendFormat(b, time.RFC3339Nano)
					b = append(b, `","fields":`...)
					b = append(b, ev.Member...)
					b = append(b, '}')
				}
				b = append(b, ']')
				row.ValueJSON = ptr(string(b))
				t := time.UnixMilli(evs[0].TS).UTC()
				row.EventTime = &t
			}
			rows = append(rows, row)
		}
		c.add(rows)
	}
	return got, err
}

func (r servedReader) row(k store.Key) offline.ServedRow {
	row := offline.ServedRow{EntityID: k.ID, Feature: k.Feature, Entity: k.Prefix}
	if e := r.entities[k.Prefix]; e != nil {
		row.Entity = e.Name
	}
	return row
}

// staticRow is the row of one static value (nil: the read failed with err).
func (r servedReader) staticRow(k store.Key, v *store.StaticValue, err error) offline.ServedRow {
	row := r.row(k)
	switch {
	case v == nil:
		row.Status, row.Error = offline.StatusError, ptr(err.Error())
	case v.Kind == store.Absent:
		row.Status = offline.StatusAbsent
		if e := r.entities[k.Prefix]; e != nil {
			if f := e.Feature(k.Feature); f != nil && f.Default.Kind != store.Absent {
				row.Status, row.ValueJSON = offline.StatusDefault, ptr(string(f.Default.AppendJSON(nil)))
			}
		}
	default:
		row.Status = offline.StatusPresent
		row.ValueJSON = ptr(string(v.AppendJSON(nil)))
		t := time.UnixMilli(v.TS).UTC()
		row.EventTime = &t
	}
	return row
}

func ptr[T any](v T) *T { return &v }

func (c *capture) sampled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on
}

func (c *capture) add(rows []offline.ServedRow) {
	c.mu.Lock()
	c.rows = append(c.rows, rows...)
	c.mu.Unlock()
}

// finish stamps the captured rows with the request and hands them to the log.
func (c *capture) finish(log ServedLogger) {
	c.mu.Lock()
	rows, on := c.rows, c.on
	c.rows = nil
	c.mu.Unlock()
	if !on || len(rows) == 0 {
		return
	}
	for i := range rows {
		rows[i].RequestID, rows[i].Time, rows[i].Operation, rows[i].OperationHash = c.id, c.start, c.operation, c.hash
	}
	log.Log(rows)
}
