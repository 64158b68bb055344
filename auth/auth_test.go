package auth_test

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/auth"
	"github.com/featuregraph/featuregraph/auth/authtest"
	"github.com/featuregraph/featuregraph/registry"
)

func loadRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg, err := registry.Load("../features")
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func compile(t *testing.T, yaml string, opts auth.Options) (*auth.Policy, error) {
	t.Helper()
	f, err := auth.Parse([]byte(yaml))
	if err != nil {
		return nil, err
	}
	return auth.Compile(f, loadRegistry(t), opts)
}

func mustCompile(t *testing.T, yaml string, opts auth.Options) *auth.Policy {
	t.Helper()
	p, err := compile(t, yaml, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClientsFileErrors: every mistake is an error naming the client and the problem, and
// nothing is compiled.
func TestClientsFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "clients:\n  a:\n    apiKey: [x]\n", "field apiKey not found"},
		{"plain key", "clients:\n  a:\n    apiKeys: [secret123]\n", "client a: apiKeys: \"secret123\" is not a key hash"},
		{"short hash", "clients:\n  a:\n    apiKeys: [sha256:abcd]\n", "64 hex digits"},
		{"no identity", "clients:\n  a:\n    read: {entities: [user]}\n", "client a: no identity"},
		{"unknown entity", "clients:\n  a:\n    apiKeys: [" + auth.HashKey("k") + "]\n    read: {entities: [usr]}\n", `read.entities: "usr" matches no entity`},
		{"unknown feature", "clients:\n  a:\n    apiKeys: [" + auth.HashKey("k") + "]\n    read: {features: [user.oss]}\n", `"user.oss" matches no feature`},
		{"feature without entity", "clients:\n  a:\n    apiKeys: [" + auth.HashKey("k") + "]\n    read: {features: [os]}\n", "must be entity.feature"},
		{"unknown tag", "clients:\n  a:\n    apiKeys: [" + auth.HashKey("k") + "]\n    read: {tags: [nope]}\n", `read.tags: "nope"`},
		{"unknown stream", "clients:\n  a:\n    apiKeys: [" + auth.HashKey("k") + "]\n    write: {streams: [nope]}\n", `write.streams: "nope"`},
		{"shared key", "clients:\n  a:\n    apiKeys: [" + auth.HashKey("k") + "]\n  b:\n    apiKeys: [" + auth.HashKey("k") + "]\n", "client b: apiKeys: the key"},
		{"subjects without oidc", "clients:\n  a:\n    subjects: [x]\n", "subjects need an oidc: block"},
		{"bad trusted mode", "clients:\n  a:\n    apiKeys: [" + auth.HashKey("k") + "]\n    trustedDocuments: always\n", "trustedDocuments \"always\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(t, tc.yaml, auth.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

// TestGrantsByNameGlobTagAndOwner: a feature is readable when any rule matches it; the entity
// of a readable feature is readable.
func TestGrantsByNameGlobTagAndOwner(t *testing.T) {
	p := mustCompile(t, `
clients:
  byname:
    apiKeys: [`+auth.HashKey("k1")+`]
    read: {features: [user.os, "user.recent_*"]}
  byowner:
    apiKeys: [`+auth.HashKey("k2")+`]
    read: {owners: [trust-safety]}
  byentity:
    apiKeys: [`+auth.HashKey("k3")+`]
    read: {entities: [article]}
  same:
    apiKeys: [`+auth.HashKey("k4")+`]
    read: {features: [user.os, "user.recent_*"]}
`, auth.Options{})
	got := p.Client("byname").Grant.Readable()
	want := []string{"user.os", "user.recent_clicked_articles", "user.recent_purchases", "user.recent_search_queries", "user.recent_searches"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("byname reads %v, want %v", got, want)
	}
	if got := p.Client("byowner").Grant.Readable(); fmt.Sprint(got) != "[user.manner_temperature]" {
		t.Errorf("byowner reads %v", got)
	}
	reg := p.Registry()
	if g := p.Client("byentity").Grant; !g.ReadsEntity(reg.Entity("article")) || g.ReadsEntity(reg.Entity("user")) {
		t.Errorf("byentity reads article %v, user %v", g.ReadsEntity(reg.Entity("article")), g.ReadsEntity(reg.Entity("user")))
	}
	if a, b := p.Client("byname").Grant.AccessID(), p.Client("same").Grant.AccessID(); a != b || a == p.Client("byowner").Grant.AccessID() {
		t.Errorf("access ids: byname %s, same %s, byowner %s: same reads must share one, others not", a, b, p.Client("byowner").Grant.AccessID())
	}
}

func request(h map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

// TestAPIKeys: several keys per client (rotation), either header; an unknown key and no key are
// refused with the errors the gateway answers 401.
func TestAPIKeys(t *testing.T) {
	p := mustCompile(t, `
clients:
  recommender:
    apiKeys: [`+auth.HashKey("old-key")+`, `+auth.HashKey("new-key")+`]
    read: {entities: [user]}
`, auth.Options{})
	for _, h := range []map[string]string{
		{"X-Api-Key": "old-key"}, {"X-Api-Key": "new-key"}, {"Authorization": "Bearer new-key"}, {"Authorization": "bearer old-key"},
	} {
		c, err := p.Authenticate(request(h))
		if err != nil || c.Name != "recommender" {
			t.Errorf("%v: got %v, %v", h, c, err)
		}
	}
	if _, err := p.Authenticate(request(map[string]string{"X-Api-Key": "guess"})); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := p.Authenticate(request(map[string]string{"Authorization": "Basic dXNlcjpwdw=="})); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("basic auth: %v", err)
	}
	if _, err := p.Authenticate(request(nil)); !errors.Is(err, auth.ErrNoCredentials) {
		t.Errorf("no credentials: %v", err)
	}
}

func oidcPolicy(t *testing.T, is *authtest.Issuer, minRefresh time.Duration) *auth.Policy {
	t.Helper()
	return mustCompile(t, `
oidc:
  issuer: `+is.URL()+`
  audience: featuregraph
clients:
  recommender:
    subjects: [recommender-svc]
    read: {entities: [user]}
`, auth.Options{OIDC: auth.OIDCOptions{MinRefresh: minRefresh}})
}

func bearer(tok string) *http.Request {
	return request(map[string]string{"Authorization": "Bearer " + tok})
}

// TestOIDCTokens: real tokens of a test issuer whose JWKS is served over HTTP. A valid token
// identifies its client; an expired one, one for another audience, one of another issuer's key,
// an unknown subject and an unsigned ("alg": "none") one are refused. The JWKS is fetched once
// at start, not per request.
func TestOIDCTokens(t *testing.T) {
	is := authtest.NewIssuer(t)
	p := oidcPolicy(t, is, time.Hour)
	if n := is.JWKSHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times at start, want 1", n)
	}
	good := is.Token(t, "k1", authtest.Claims{"sub": "recommender-svc", "aud": "featuregraph"})
	for range 20 {
		c, err := p.Authenticate(bearer(good))
		if err != nil || c.Name != "recommender" {
			t.Fatalf("valid token: %v, %v", c, err)
		}
	}
	for _, tc := range []struct {
		name, tok, want string
	}{
		{"expired", is.Token(t, "k1", authtest.Claims{"sub": "recommender-svc", "aud": "featuregraph", "exp": time.Now().Add(-time.Minute).Unix()}), "expired"},
		{"wrong audience", is.Token(t, "k1", authtest.Claims{"sub": "recommender-svc", "aud": "other-service"}), "audience"},
		{"alg none", is.UnsignedToken(authtest.Claims{"sub": "recommender-svc", "aud": "featuregraph"}), "token"},
		{"unknown subject", is.Token(t, "k1", authtest.Claims{"sub": "someone", "aud": "featuregraph"}), "is no client's"},
		{"forged with the known kid", is.TokenWithUnpublishedKey(t, "k1", authtest.Claims{"sub": "recommender-svc", "aud": "featuregraph"}), "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := p.Authenticate(bearer(tc.tok))
			if !errors.Is(err, auth.ErrBadCredentials) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, %v; want a bad-credentials error with %q", c, err, tc.want)
			}
		})
	}
	if n := is.JWKSHits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1 (the cached keys serve every request)", n)
	}
}

// TestOIDCKeyRotation: a token signed with a key published after start refreshes the key set
// once; a flood of tokens naming unknown key ids costs at most one fetch per refresh interval.
func TestOIDCKeyRotation(t *testing.T) {
	is := authtest.NewIssuer(t)
	is.AddKey(t, "k2") // made before the policy starts (key generation is slow), published later
	is.RemoveKey("k2")
	is.TokenWithUnpublishedKey(t, "x", nil)
	p := oidcPolicy(t, is, time.Second)
	time.Sleep(1100 * time.Millisecond) // the start's fetch is older than the interval
	is.AddKey(t, "k2")
	is.RemoveKey("k1")
	tok := is.Token(t, "k2", authtest.Claims{"sub": "recommender-svc", "aud": "featuregraph"})
	if c, err := p.Authenticate(bearer(tok)); err != nil || c.Name != "recommender" {
		t.Fatalf("token of the rotated key: %v, %v", c, err)
	}
	if n := is.JWKSHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (start, rotation)", n)
	}
	for i := range 50 {
		bad := is.TokenWithUnpublishedKey(t, fmt.Sprintf("made-up-%d", i), authtest.Claims{"sub": "recommender-svc", "aud": "featuregraph"})
		if _, err := p.Authenticate(bearer(bad)); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("token of an unknown key: %v", err)
		}
	}
	if n := is.JWKSHits.Load(); n > 3 {
		t.Errorf("JWKS fetched %d times for 50 tokens of unknown keys within the refresh interval, want at most one more", n)
	}
	if c, err := p.Authenticate(bearer(tok)); err != nil || c.Name != "recommender" {
		t.Fatalf("the good token after the flood: %v, %v", c, err)
	}
}

// TestClientCertificates: a verified TLS client certificate's subject names its client (a real
// TLS handshake with certificates made in the test); an unknown subject is refused, no
// certificate is no credentials.
func TestClientCertificates(t *testing.T) {
	p := mustCompile(t, `
clients:
  ingest:
    certSubjects: ["CN=ingest-svc,O=Acme"]
    write: {streams: [app_events]}
`, auth.Options{})
	ca := authtest.NewCA(t, "test CA")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := p.Authenticate(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, c.Name)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, pkix.Name{CommonName: "localhost"}, true)},
		ClientCAs: ca.Pool, ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	defer srv.Close()
	get := func(cert *tls.Certificate) (int, string) {
		cfg := &tls.Config{RootCAs: ca.Pool}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		res, err := cl.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	good := ca.Issue(t, pkix.Name{CommonName: "ingest-svc", Organization: []string{"Acme"}}, false)
	if code, body := get(&good); code != 200 || body != "ingest" {
		t.Errorf("client certificate: %d %s", code, body)
	}
	other := ca.Issue(t, pkix.Name{CommonName: "someone"}, false)
	if code, body := get(&other); code != 401 || !strings.Contains(body, "CN=someone") {
		t.Errorf("unknown subject: %d %s", code, body)
	}
	if code, body := get(nil); code != 401 || !strings.Contains(body, "no credentials") {
		t.Errorf("no certificate: %d %s", code, body)
	}
}
