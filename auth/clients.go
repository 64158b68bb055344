package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/featuregraph/featuregraph/registry"
)

// File is the clients file (YAML), usually next to the registry:
//
//	oidc:                         # optional: JWTs of this issuer identify clients
//	  issuer: https://login.example.com/
//	  audience: featuregraph      # the token's aud must hold it
//	  claim: sub                  # the claim naming the client (default sub)
//	clients:
//	  recommender:
//	    apiKeys: ["sha256:9f86d081…"]   # SHA-256 of each key (several: rotation)
//	    subjects: [recommender-svc]     # values of the OIDC claim
//	    certSubjects: ["CN=recommender"]# TLS client certificate subjects
//	    read:
//	      entities: [article]           # every feature of these entities (names or globs)
//	      features: ["user.os", "user.recent_*"]  # entity.feature, globs allowed
//	      tags: [public]                # features with one of these tags
//	      owners: [recsys]              # features of these owners
//	    write:
//	      streams: [client_event]       # events of these streams…
//	      entities: [user]              # …writing only these entities (omitted: any)
//	    introspection: true             # and playground, catalog, metrics: default false
type File struct {
	OIDC    *OIDCConfig           `yaml:"oidc"`
	Clients map[string]ClientSpec `yaml:"clients"`
}

// OIDCConfig is the issuer whose JWTs identify clients.
type OIDCConfig struct {
	// Issuer is the issuer URL; its discovery document (/.well-known/openid-configuration)
	// is read at start and names the JWKS, fetched once then on an unknown key id.
	Issuer string `yaml:"issuer"`
	// Audience must be in the token's aud.
	Audience string `yaml:"audience"`
	// Claim names the client (matched with ClientSpec.Subjects). Default "sub".
	Claim string `yaml:"claim"`
	// Algorithms accepted. Default RS256 and ES256 ("none" is never accepted).
	Algorithms []string `yaml:"algorithms"`
}

// ClientSpec is one client of the clients file.
type ClientSpec struct {
	APIKeys      []string  `yaml:"apiKeys"`
	Subjects     []string  `yaml:"subjects"`
	CertSubjects []string  `yaml:"certSubjects"`
	Read         ReadSpec  `yaml:"read"`
	Write        WriteSpec `yaml:"write"`
	// Introspection, Playground, Catalog and Metrics allow __schema/__type (filtered to what the
	// client reads), the GraphiQL page, /catalog and /metrics. Default false.
	Introspection bool `yaml:"introspection"`
	Playground    bool `yaml:"playground"`
	Catalog       bool `yaml:"catalog"`
	Metrics       bool `yaml:"metrics"`
	// TrustedDocuments overrides --trusted-documents-mode for this client: "enforce",
	// "log-unknown" or "off". Default: the server's mode.
	TrustedDocuments string `yaml:"trustedDocuments"`
}

// ReadSpec says what a client reads: a feature is readable when any rule matches it.
type ReadSpec struct {
	Entities []string `yaml:"entities"`
	Features []string `yaml:"features"`
	Tags     []string `yaml:"tags"`
	Owners   []string `yaml:"owners"`
}

// WriteSpec says what a client pushes: an event of a listed stream whose writes are all on
// listed entities (Entities omitted: any entity).
type WriteSpec struct {
	Streams  []string `yaml:"streams"`
	Entities []string `yaml:"entities"`
}

// Trusted-document modes.
const (
	TrustedOff        = "off"
	TrustedEnforce    = "enforce"
	TrustedLogUnknown = "log-unknown"
)

// Options are the server-side settings of a Policy.
type Options struct {
	// OIDC, when the file has an oidc block, configures fetching its keys (tests, timeouts).
	OIDC OIDCOptions
	// Previous, when set, is the policy this one replaces (a reload): its OIDC key set and token
	// cache are kept when the oidc block is unchanged, so a reload fetches no keys.
	Previous *Policy
}

// LoadFile reads the clients file at name and compiles it against reg (see Compile).
func LoadFile(name string, reg *registry.Registry, opts Options) (*Policy, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("clients file: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("clients file %s: %w", name, err)
	}
	p, err := Compile(f, reg, opts)
	if err != nil {
		return nil, fmt.Errorf("clients file %s: %w", name, err)
	}
	p.Source = name
	return p, nil
}

// Parse reads a clients file; an unknown key is an error naming its line.
func Parse(b []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("reading YAML: %w", err)
	}
	return &f, nil
}

// HashKey is how an API key is stored in the clients file: "sha256:" and the hex SHA-256 of the
// key (printf %s "$KEY" | sha256sum).
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func parseKeyHash(s string) ([32]byte, error) {
	var out [32]byte
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok {
		return out, fmt.Errorf("%q is not a key hash: write sha256:<64 hex digits> (printf %%s \"$KEY\" | sha256sum), never the key itself", excerpt(s))
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return out, fmt.Errorf("%q: sha256: must be followed by 64 hex digits", excerpt(s))
	}
	copy(out[:], b)
	return out, nil
}

func excerpt(s string) string {
	if len(s) > 24 {
		return s[:12] + "…"
	}
	return s
}

// Compile validates the file against reg and builds the Policy: every client needs an identity,
// a key hash or subject belongs to one client, and every name or pattern must match something in
// the registry (a typo would silently grant nothing).
func Compile(f *File, reg *registry.Registry, opts Options) (*Policy, error) {
	var errs []error
	if len(f.Clients) == 0 {
		errs = append(errs, errors.New("no clients: list at least one under clients:"))
	}
	p := &Policy{
		clients: map[string]*Client{}, keys: map[[8]byte][]keyEntry{}, subjects: map[string]*Client{},
		certs: map[string]*Client{}, reg: reg,
	}
	names := make([]string, 0, len(f.Clients))
	for n := range f.Clients {
		names = append(names, n)
	}
	sort.Strings(names)
	grants := map[string]*Grant{} // by read id: clients with the same reads share one
	for _, name := range names {
		spec := f.Clients[name]
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("client %s: "+format, append([]any{name}, args...)...))
		}
		if name == "" || strings.ContainsAny(name, " \t\n\"") {
			bad("a client name must be a plain word")
		}
		c := &Client{Name: name}
		if len(spec.APIKeys)+len(spec.Subjects)+len(spec.CertSubjects) == 0 {
			bad("no identity: give apiKeys, subjects (OIDC) or certSubjects")
		}
		for _, k := range spec.APIKeys {
			h, err := parseKeyHash(k)
			if err != nil {
				bad("apiKeys: %v", err)
				continue
			}
			for _, o := range p.keys[[8]byte(h[:8])] {
				if o.hash == h {
					bad("apiKeys: the key %s is also client %s's", excerpt(k), o.client.Name)
				}
			}
			p.keys[[8]byte(h[:8])] = append(p.keys[[8]byte(h[:8])], keyEntry{hash: h, client: c})
		}
		if len(spec.Subjects) > 0 && f.OIDC == nil {
			bad("subjects need an oidc: block (issuer and audience)")
		}
		for _, s := range spec.Subjects {
			if o := p.subjects[s]; o != nil {
				bad("subjects: %q is also client %s's", s, o.Name)
			}
			p.subjects[s] = c
		}
		for _, s := range spec.CertSubjects {
			if o := p.certs[s]; o != nil {
				bad("certSubjects: %q is also client %s's", s, o.Name)
			}
			p.certs[s] = c
		}
		switch spec.TrustedDocuments {
		case "", TrustedOff, TrustedEnforce, TrustedLogUnknown:
		default:
			bad("trustedDocuments %q: use enforce, log-unknown or off", spec.TrustedDocuments)
		}
		g, err := compileGrant(spec, reg)
		if err != nil {
			bad("%v", err)
			continue
		}
		if shared := grants[g.readID()]; shared != nil {
			g.id = shared.id // same reads: same plans and filtered schema
		} else {
			g.id = g.readID()
			grants[g.id] = g
		}
		c.Grant = g
		p.clients[name] = c
	}
	if f.OIDC != nil {
		if f.OIDC.Issuer == "" || f.OIDC.Audience == "" {
			errs = append(errs, errors.New("oidc: issuer and audience are required"))
		}
		if f.OIDC.Claim == "" {
			f.OIDC.Claim = "sub"
		}
		for _, a := range f.OIDC.Algorithms {
			if strings.EqualFold(a, "none") {
				errs = append(errs, errors.New("oidc: algorithm none is never accepted"))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if prev := opts.Previous; f.OIDC != nil && prev != nil && prev.oidc != nil && reflect.DeepEqual(prev.oidc.cfg, *f.OIDC) {
		p.oidc = prev.oidc
	} else if f.OIDC != nil {
		v, err := newVerifier(*f.OIDC, opts.OIDC)
		if err != nil {
			return nil, err
		}
		p.oidc = v
	}
	p.names = names
	return p, nil
}

func compileGrant(spec ClientSpec, reg *registry.Registry) (*Grant, error) {
	g := &Grant{
		features: map[string]bool{}, entities: map[string]bool{},
		streams: map[string]bool{}, writeEntities: map[string]bool{},
		Introspection: spec.Introspection, Playground: spec.Playground, Catalog: spec.Catalog, Metrics: spec.Metrics,
		TrustedDocuments: spec.TrustedDocuments,
	}
	var errs []error
	r := spec.Read
	for _, pat := range r.Entities {
		n := 0
		for _, e := range reg.Entities {
			if match(pat, e.Name) {
				n++
				g.entities[e.Name] = true
				for _, f := range e.Features() {
					g.features[e.Name+"."+f.Name] = true
				}
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("read.entities: %q matches no entity of the registry (%s)", pat, entityNames(reg)))
		}
	}
	for _, pat := range r.Features {
		ep, fp, ok := strings.Cut(pat, ".")
		if !ok {
			errs = append(errs, fmt.Errorf("read.features: %q must be entity.feature (globs allowed: user.*, *.os)", pat))
			continue
		}
		n := 0
		for _, e := range reg.Entities {
			if !match(ep, e.Name) {
				continue
			}
			for _, f := range e.Features() {
				if match(fp, f.Name) {
					n++
					g.features[e.Name+"."+f.Name] = true
				}
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("read.features: %q matches no feature of the registry", pat))
		}
	}
	for _, set := range []struct {
		what string
		pats []string
		of   func(*registry.Feature) []string
	}{
		{"read.tags", r.Tags, func(f *registry.Feature) []string { return f.Tags }},
		{"read.owners", r.Owners, func(f *registry.Feature) []string { return []string{f.Owner} }},
	} {
		for _, pat := range set.pats {
			n := 0
			for _, e := range reg.Entities {
				for _, f := range e.Features() {
					if slices.ContainsFunc(set.of(f), func(v string) bool { return v != "" && match(pat, v) }) {
						n++
						g.features[e.Name+"."+f.Name] = true
					}
				}
			}
			if n == 0 {
				errs = append(errs, fmt.Errorf("%s: %q matches no feature of the registry", set.what, pat))
			}
		}
	}
	for f := range g.features {
		e, _, _ := strings.Cut(f, ".")
		g.entities[e] = true
	}
	for _, pat := range spec.Write.Streams {
		n := 0
		for name := range reg.Streams {
			if match(pat, name) {
				n++
				g.streams[name] = true
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("write.streams: %q matches no stream of the registry", pat))
		}
	}
	if len(spec.Write.Entities) > 0 && len(spec.Write.Streams) == 0 {
		errs = append(errs, errors.New("write.entities without write.streams: list the streams the client pushes"))
	}
	for _, pat := range spec.Write.Entities {
		n := 0
		for _, e := range reg.Entities {
			if match(pat, e.Name) {
				n++
				g.writeEntities[e.Prefix] = true
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("write.entities: %q matches no entity of the registry (%s)", pat, entityNames(reg)))
		}
	}
	g.anyEntity = len(spec.Write.Entities) == 0
	return g, errors.Join(errs...)
}

// match is a glob match (path.Match: *, ?, [...]); a malformed pattern matches nothing.
func match(pat, s string) bool {
	ok, err := path.Match(pat, s)
	return err == nil && ok
}

func entityNames(reg *registry.Registry) string {
	var n []string
	for _, e := range reg.Entities {
		n = append(n, e.Name)
	}
	return "it has " + strings.Join(n, ", ")
}
