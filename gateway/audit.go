package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/plan"
)

// The audit log (AccessConfig.Audit): one structured line per audited request (a sample of
// AccessConfig.AuditSample), written once the answer is: the client, the method and path, for
// GraphQL the operation's name and hash, the entities asked for and the features read (from its
// plan), for a push the events and the features written, the status and the latency.

type auditor struct {
	log    *slog.Logger
	sample float64
}

func newAuditor(cfg AccessConfig) *auditor {
	if cfg.Audit == nil && cfg.Policy == nil {
		return nil
	}
	s := cfg.AuditSample
	if s == 0 {
		s = 1
	}
	return &auditor{log: cfg.Audit, sample: s}
}

// auditRecord is what one request did, for its audit line and its per-client metrics.
type auditRecord struct {
	sampled      bool
	client       string
	method, path string
	host         string
	start        time.Time

	opName, opHash string
	entities       int
	read           []string
	written        map[string]bool
	events         int
	forbidden      int
}

type auditKey struct{}

func auditFrom(ctx context.Context) *auditRecord {
	r, _ := ctx.Value(auditKey{}).(*auditRecord)
	if r == nil || !r.sampled {
		return nil
	}
	return r
}

// start begins the record of a request (nil when neither auditing nor access control is on).
func (a *auditor) start(r *http.Request) *auditRecord {
	if a == nil {
		return nil
	}
	rec := &auditRecord{client: anonymous}
	if a.log != nil && (a.sample >= 1 || rand.Float64() < a.sample) {
		rec.sampled, rec.method, rec.path, rec.host, rec.start = true, r.Method, r.URL.Path, clientHost(r), time.Now()
	}
	return rec
}

func (a *auditor) finish(rec *auditRecord, status int) {
	if a == nil || rec == nil || !rec.sampled {
		return
	}
	attrs := []slog.Attr{
		slog.String("client", rec.client), slog.String("method", rec.method), slog.String("path", rec.path),
		slog.String("remote", rec.host),
	}
	if rec.opHash != "" {
		attrs = append(attrs, slog.String("operation", rec.opName), slog.String("hash", rec.opHash),
			slog.Int("entities", rec.entities), slog.Any("read", rec.read))
	}
	if rec.events > 0 {
		w := make([]string, 0, len(rec.written))
		for f := range rec.written {
			w = append(w, f)
		}
		sort.Strings(w)
		attrs = append(attrs, slog.Int("events", rec.events), slog.Any("written", w), slog.Int("forbidden_events", rec.forbidden))
	}
	attrs = append(attrs, slog.Int("status", status), slog.Float64("latency_ms", float64(time.Since(rec.start).Microseconds())/1000))
	a.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}

func (rec *auditRecord) operation(rc *graphql.OperationContext) {
	rec.opName = rc.OperationName
	if rec.opName == "" && rc.Operation != nil {
		rec.opName = rc.Operation.Name
	}
	rec.opHash = documentHash(rc.RawQuery)
}

func (rec *auditRecord) reads(ex *plan.Executor, ctx context.Context, rc *graphql.OperationContext) {
	rec.read, rec.entities = ex.Reads(ctx, rc)
}

// pushed records one pushed event: the features it writes, or that it was refused.
func (rec *auditRecord) pushed(res *ingest.Result, refused bool) {
	rec.events++
	if refused {
		rec.forbidden++
		return
	}
	if rec.written == nil {
		rec.written = map[string]bool{}
	}
	for _, w := range res.Static {
		rec.written[res.StreamName+":"+w.Key.Prefix+"."+w.Key.Feature] = true
	}
	for _, w := range res.Actions {
		rec.written[res.StreamName+":"+w.Key.Prefix+"."+w.Key.Feature] = true
	}
}

// documentHash is the hex SHA-256 of a query text: the APQ and trusted-documents hash.
func documentHash(q string) string {
	sum := sha256.Sum256([]byte(q))
	return hex.EncodeToString(sum[:])
}
