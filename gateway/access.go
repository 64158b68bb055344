package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/auth"
	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/plan"
)

// Access control (docs/access-control.md). With a Policy every request but the probes is
// authenticated once, here, before it is routed: no credentials or bad ones are a 401, a path
// the client's grant does not open (/metrics, /catalog, the playground, /v1/events) a 403. The
// client and its grant go into the request's context: plans are compiled per operation and
// grant (package plan), pushes checked per event (PushCheck), admission shares its budgets
// between clients (fair.go), the audit log and the served log name the client.

// AccessConfig holds the access-control options of the gateway. Every field documents its
// default.
type AccessConfig struct {
	// Policy, when set, turns access control on: the clients, how each is recognised and what
	// each may do (auth.LoadFile). Default nil: off, every request is anonymous and may do
	// everything the flags allow.
	Policy *auth.Policy
	// TrustedDocuments is the allowlist of operations (trusted.go). Default nil: any operation.
	TrustedDocuments *TrustedDocuments
	// TrustedMode is auth.TrustedEnforce (an operation not in TrustedDocuments is refused) or
	// auth.TrustedLogUnknown (it is served and logged); a client's trustedDocuments overrides
	// it. Default enforce.
	TrustedMode string
	// Audit, when set, receives one line per audited request (audit.go). Default nil: none.
	Audit *slog.Logger
	// AuditSample is the fraction of requests audited, in [0, 1]. Default 0: 1 (all).
	AuditSample float64
}

func (c AccessConfig) validate() error {
	if c.AuditSample < 0 || c.AuditSample > 1 {
		return fmt.Errorf("audit sample %v must be between 0 and 1", c.AuditSample)
	}
	switch c.TrustedMode {
	case "", auth.TrustedEnforce, auth.TrustedLogUnknown:
	default:
		return fmt.Errorf("trusted documents mode %q: use enforce or log-unknown", c.TrustedMode)
	}
	return nil
}

// Error codes of access control.
const (
	codeUnauthenticated = "UNAUTHENTICATED"
	codeForbidden       = plan.CodeForbidden
	codeUntrusted       = "DOCUMENT_NOT_TRUSTED"
)

// anonymous is the client label of requests when access control is off, unauthenticated that of
// refused credentials: with the policy's client names, the client label's only values.
const (
	anonymous       = "anonymous"
	unauthenticated = "unauthenticated"
)

// serve authenticates the request (when a policy is set), checks the path against the grant,
// audits and counts it per client, and routes it.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	p := g.policy.Load()
	if p == nil && g.audit == nil {
		g.mux.ServeHTTP(w, r)
		return
	}
	path := r.URL.Path
	if path == "/healthz" || path == "/readyz" {
		g.mux.ServeHTTP(w, r)
		return
	}
	rec := g.audit.start(r)
	sw := &accessStatus{ResponseWriter: w, code: http.StatusOK}
	defer func() {
		if g.cfg.Metrics != nil && p != nil {
			g.cfg.Metrics.ClientRequest(rec.client, endpointOf(path), sw.code)
		}
		g.audit.finish(rec, sw.code)
	}()
	ctx := r.Context()
	if rec != nil {
		ctx = context.WithValue(ctx, auditKey{}, rec)
	}
	if p == nil {
		g.mux.ServeHTTP(sw, r.WithContext(ctx))
		return
	}
	c, err := p.Authenticate(r)
	if err != nil {
		rec.client = unauthenticated
		sw.Header().Set("WWW-Authenticate", `Bearer realm="featuregraph"`)
		writeGraphQLError(sw, http.StatusUnauthorized, codeUnauthenticated, err.Error())
		return
	}
	rec.client = c.Name
	if what, ok := pathAllowed(c.Grant, path, g.cfg); !ok {
		writeGraphQLError(sw, http.StatusForbidden, codeForbidden,
			fmt.Sprintf("client %s may not use %s (grant %s: true in the clients file)", c.Name, path, what))
		return
	}
	ctx = plan.WithAccess(auth.WithClient(ctx, c), c.Grant)
	g.mux.ServeHTTP(sw, r.WithContext(ctx))
}

// pathAllowed says whether the grant opens path, and else which grant would.
func pathAllowed(gr *auth.Grant, path string, cfg Config) (string, bool) {
	switch {
	case path == "/graphql":
		return "", true
	case path == "/metrics":
		return "metrics", gr.Metrics
	case path == "/catalog" || strings.HasPrefix(path, "/catalog/"):
		return "catalog", gr.Catalog
	case path == "/v1/events":
		return "write.streams", gr.CanPush()
	case path == "/" || strings.HasPrefix(path, "/playground/"):
		return "playground", gr.Playground
	}
	return "", true // not found, or a handler mounted by the caller
}

func endpointOf(path string) string {
	switch {
	case path == "/graphql":
		return "graphql"
	case path == "/v1/events":
		return "events"
	case path == "/metrics":
		return "metrics"
	case strings.HasPrefix(path, "/catalog"):
		return "catalog"
	case path == "/" || strings.HasPrefix(path, "/playground/"):
		return "playground"
	}
	return "other"
}

// accessStatus remembers the status written.
type accessStatus struct {
	http.ResponseWriter
	code int
}

func (w *accessStatus) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *accessStatus) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// fairKey is whom admission shares its budgets between: the client, under access control; ""
// (no sharing) without.
func fairKey(ctx context.Context) string {
	if c := auth.ClientFrom(ctx); c != nil {
		return c.Name
	}
	return ""
}

// clientHost is the caller's address without the port (the audit line of an anonymous request).
func clientHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// accessCheck is the gqlgen extension that applies the client's grant to an operation once it
// is parsed and validated: introspection off unless granted, the trusted-documents mode, and the
// plan compiled for the grant (a forbidden field refuses the whole operation, FORBIDDEN).
type accessCheck struct {
	ex      *plan.Executor
	trusted *TrustedDocuments
	mode    string
	log     *slog.Logger
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*accessCheck)(nil)

func (a *accessCheck) ExtensionName() string                   { return "AccessCheck" }
func (a *accessCheck) Validate(graphql.ExecutableSchema) error { return nil }

func (a *accessCheck) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	c := auth.ClientFrom(ctx)
	if rec := auditFrom(ctx); rec != nil {
		rec.operation(rc)
	}
	if e := a.checkTrusted(ctx, c, rc); e != nil {
		return e
	}
	if c == nil || rc.Operation == nil {
		return nil
	}
	if !c.Grant.Introspection {
		rc.DisableIntrospection = true
	}
	if a.ex == nil {
		return nil
	}
	errs := a.ex.Forbidden(ctx, rc)
	if len(errs) == 0 {
		if rec := auditFrom(ctx); rec != nil {
			rec.reads(a.ex, ctx, rc)
		}
		return nil
	}
	if req := requestFrom(ctx); req != nil {
		req.forbidden.Store(true)
	}
	e := *errs[0]
	if len(errs) > 1 {
		var more []string
		for _, o := range errs[1:] {
			more = append(more, o.Path.String())
		}
		e.Message += fmt.Sprintf(" (and %d more forbidden: %s)", len(more), excerpt(strings.Join(more, ", "), 200))
	}
	return &e
}

func (a *accessCheck) checkTrusted(ctx context.Context, c *auth.Client, rc *graphql.OperationContext) *gqlerror.Error {
	if a.trusted == nil {
		return nil
	}
	mode := a.mode
	if c != nil && c.Grant.TrustedDocuments != "" {
		mode = c.Grant.TrustedDocuments
	}
	if mode == auth.TrustedOff || a.trusted.Trusted(rc.RawQuery) {
		return nil
	}
	name := "anonymous"
	if c != nil {
		name = c.Name
	}
	if mode == auth.TrustedLogUnknown {
		a.log.WarnContext(ctx, "operation not in the trusted documents", "client", name,
			"operation", rc.OperationName, "hash", documentHash(rc.RawQuery))
		return nil
	}
	if req := requestFrom(ctx); req != nil {
		req.forbidden.Store(true)
	}
	return &gqlerror.Error{
		Message: "this operation is not one of the trusted documents (--trusted-documents): send the hash of a trusted one " +
			`({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": …}}}) or add it to the allowlist`,
		Extensions: map[string]any{"code": codeUntrusted},
	}
}

// PushCheck is the push endpoint's per-event check (push.Config.Check): under access control an
// event is stored only when the request's client may write its stream and every entity it
// writes; it also records the event for the audit log. Without a client (access control off) it
// allows everything.
func PushCheck(ctx context.Context, res *ingest.Result) error {
	var err error
	if c := auth.ClientFrom(ctx); c != nil {
		err = c.Grant.Writes(res.StreamName, res.Static, res.Actions)
	}
	if rec := auditFrom(ctx); rec != nil {
		rec.pushed(res, err != nil)
	}
	return err
}

// SetPolicy replaces the access policy (a live reload: the clients file compiled against the
// new registry). Requests admitted from now on are checked against p; access control must have
// been on from the start (Config.Access.Policy), as the GraphQL checks are installed then.
func (g *Gateway) SetPolicy(p *auth.Policy) {
	if p != nil && g.cfg.Access.Policy != nil {
		g.policy.Store(p)
	}
}

// Policy is the access policy served now (nil: access control is off).
func (g *Gateway) Policy() *auth.Policy { return g.policy.Load() }
