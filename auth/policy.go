package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/featuregraph/featuregraph/plan"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// Policy is a compiled clients file: the clients, how each is recognised and what each may do.
// It is immutable (safe for concurrent use) and meant to be swapped as a whole, with the
// registry it was compiled against.
type Policy struct {
	// Source is the file it was loaded from ("" when compiled in memory).
	Source   string
	clients  map[string]*Client
	names    []string
	keys     map[[8]byte][]keyEntry // by the first 8 bytes of the key's SHA-256
	subjects map[string]*Client     // OIDC claim value → client
	certs    map[string]*Client     // certificate subject → client
	oidc     *verifier
	reg      *registry.Registry
}

// Client is one client of the policy.
type Client struct {
	Name  string
	Grant *Grant
}

// Clients returns the client names, sorted.
func (p *Policy) Clients() []string { return append([]string(nil), p.names...) }

// Client returns the named client, or nil.
func (p *Policy) Client(name string) *Client { return p.clients[name] }

// Registry is the registry the policy was compiled against.
func (p *Policy) Registry() *registry.Registry { return p.reg }

// JWKSFetches is how many times the OIDC issuer's key set was fetched (0 without OIDC).
func (p *Policy) JWKSFetches() int64 {
	if p.oidc == nil {
		return 0
	}
	return p.oidc.keys.fetches.Load()
}

// Errors of Authenticate: both are answered 401.
var (
	// ErrNoCredentials: the request carries no API key, token or client certificate.
	ErrNoCredentials = errors.New("no credentials: send an API key (X-Api-Key or Authorization: Bearer), an OIDC token (Authorization: Bearer) or a client certificate")
	// ErrBadCredentials: the credentials presented identify no client (the error says why).
	ErrBadCredentials = errors.New("invalid credentials")
)

// Authenticate returns the client a request comes from: its API key (X-Api-Key, or
// Authorization: Bearer <key>), its JWT (Authorization: Bearer <jwt>, when the file has an oidc
// block) or its verified TLS client certificate, in that order of precedence.
func (p *Policy) Authenticate(r *http.Request) (*Client, error) {
	key := r.Header.Get("X-Api-Key")
	if key == "" {
		if a := r.Header.Get("Authorization"); a != "" {
			scheme, tok, ok := strings.Cut(a, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
				return nil, errBad("the Authorization header must be Bearer <API key or token>")
			}
			if p.oidc != nil && strings.Count(tok, ".") == 2 {
				return p.fromJWT(r.Context(), tok)
			}
			key = tok
		}
	}
	if key != "" {
		return p.fromKey(key)
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
		subj := r.TLS.PeerCertificates[0].Subject.String()
		if c := p.certs[subj]; c != nil {
			return c, nil
		}
		return nil, errBad("the client certificate " + subj + " is no client's (certSubjects)")
	}
	return nil, ErrNoCredentials
}

type keyEntry struct {
	hash   [32]byte
	client *Client
}

// fromKey finds the client of an API key. The key is hashed before any comparison, the hash's
// first 8 bytes find the candidates (a lookup whose timing says something about the key's hash,
// nothing about the key) and the whole hash is compared in constant time.
func (p *Policy) fromKey(key string) (*Client, error) {
	sum := sha256.Sum256([]byte(key))
	for _, e := range p.keys[[8]byte(sum[:8])] {
		if subtle.ConstantTimeCompare(e.hash[:], sum[:]) == 1 {
			return e.client, nil
		}
	}
	return nil, errBad("unknown API key")
}

func (p *Policy) fromJWT(ctx context.Context, raw string) (*Client, error) {
	sub, err := p.oidc.verify(ctx, raw)
	if err != nil {
		return nil, errBad("token: " + err.Error())
	}
	if c := p.subjects[sub]; c != nil {
		return c, nil
	}
	return nil, errBad("the token's " + p.oidc.cfg.Claim + " " + excerpt(sub) + " is no client's (subjects)")
}

type badCredentials struct{ why string }

func (e badCredentials) Error() string        { return "invalid credentials: " + e.why }
func (e badCredentials) Is(target error) bool { return target == ErrBadCredentials }

func errBad(why string) error { return badCredentials{why} }

// Grant is what one client may do. It implements plan.Access: plans are compiled per grant (by
// AccessID, shared by clients with the same reads).
type Grant struct {
	id            string
	features      map[string]bool // "entity.feature" (names, not pointers: the registry may be reloaded)
	entities      map[string]bool // entity names
	streams       map[string]bool
	writeEntities map[string]bool // by key prefix
	anyEntity     bool

	Introspection, Playground, Catalog, Metrics bool
	// TrustedDocuments is the client's trusted-documents mode ("": the server's).
	TrustedDocuments string
}

var _ plan.Access = (*Grant)(nil)

// AccessID implements plan.Access.
func (g *Grant) AccessID() string { return g.id }

// ReadsEntity implements plan.Access.
func (g *Grant) ReadsEntity(e *registry.Entity) bool { return g.entities[e.Name] }

// ReadsFeature implements plan.Access.
func (g *Grant) ReadsFeature(f *registry.Feature) bool { return g.features[f.Entity.Name+"."+f.Name] }

// Readable lists the readable features as entity.feature, sorted.
func (g *Grant) Readable() []string {
	var out []string
	for f := range g.features {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// WritesStream reports whether the client may push events of the stream.
func (g *Grant) WritesStream(stream string) bool { return g.streams[stream] }

// CanPush reports whether the client may push at all.
func (g *Grant) CanPush() bool { return len(g.streams) > 0 }

// Writes reports whether the client may store an event of stream with these writes; when not,
// the error says why (the stream, or the first entity it may not write).
func (g *Grant) Writes(stream string, static []store.StaticWrite, actions []store.ActionWrite) error {
	if !g.streams[stream] {
		if stream == "" {
			stream = "(unresolved)"
		}
		return &ForbiddenError{What: "stream " + stream}
	}
	if g.anyEntity {
		return nil
	}
	for _, w := range static {
		if !g.writeEntities[w.Key.Prefix] {
			return &ForbiddenError{What: "entity with key prefix " + w.Key.Prefix + " (feature " + w.Key.Feature + ")"}
		}
	}
	for _, w := range actions {
		if !g.writeEntities[w.Key.Prefix] {
			return &ForbiddenError{What: "entity with key prefix " + w.Key.Prefix + " (feature " + w.Key.Feature + ")"}
		}
	}
	return nil
}

// ForbiddenError is a write the client may not make.
type ForbiddenError struct{ What string }

func (e *ForbiddenError) Error() string {
	return "forbidden: this client may not write the " + e.What + " (its write grants in the clients file)"
}

// readID identifies the reads (and introspection) of the grant.
func (g *Grant) readID() string {
	h := sha256.New()
	for _, f := range g.Readable() {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	var ents []string
	for e := range g.entities {
		ents = append(ents, e)
	}
	sort.Strings(ents)
	for _, e := range ents {
		h.Write([]byte("e:" + e))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

type clientKey struct{}

// WithClient returns ctx carrying the request's client.
func WithClient(ctx context.Context, c *Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the client of ctx, or nil.
func ClientFrom(ctx context.Context) *Client {
	c, _ := ctx.Value(clientKey{}).(*Client)
	return c
}
