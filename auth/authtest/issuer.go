// Package authtest is a test OIDC issuer: a discovery document and a JWKS served over HTTP by
// an httptest server, RSA keys that can be rotated, and tokens signed with them, so that tests
// verify real tokens the way the gateway does in production.
package authtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is a test OIDC issuer.
type Issuer struct {
	Server *httptest.Server
	mu     sync.Mutex
	keys   map[string]*rsa.PrivateKey // published, by key id
	made   map[string]*rsa.PrivateKey // every key made, by key id (published again as it was)
	rogue  *rsa.PrivateKey            // never published (TokenWithUnpublishedKey)
	// JWKSHits counts the requests for the key set.
	JWKSHits atomic.Int64
}

// NewIssuer starts an issuer publishing one key, kid "k1".
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	is := &Issuer{keys: map[string]*rsa.PrivateKey{}, made: map[string]*rsa.PrivateKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.URL(), "jwks_uri": is.URL() + "/jwks",
			"authorization_endpoint": is.URL() + "/authorize", "token_endpoint": is.URL() + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		is.JWKSHits.Add(1)
		is.mu.Lock()
		var set jose.JSONWebKeySet
		for kid, k := range is.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		is.mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	})
	is.Server = httptest.NewServer(mux)
	t.Cleanup(is.Server.Close)
	is.AddKey(t, "k1")
	return is
}

// URL is the issuer URL.
func (is *Issuer) URL() string { return is.Server.URL }

// AddKey publishes a key (a rotation publishes the new key, then signs with it); a key id
// published before gets its key back.
func (is *Issuer) AddKey(t testing.TB, kid string) {
	t.Helper()
	is.mu.Lock()
	k := is.made[kid]
	is.mu.Unlock()
	if k == nil {
		var err error
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	}
	is.mu.Lock()
	is.keys[kid], is.made[kid] = k, k
	is.mu.Unlock()
}

// RemoveKey stops publishing a key.
func (is *Issuer) RemoveKey(kid string) {
	is.mu.Lock()
	delete(is.keys, kid)
	is.mu.Unlock()
}

// Claims of a token; Token fills iss, iat and exp (an hour) when absent.
type Claims map[string]any

// Token signs claims with the key kid (RS256).
func (is *Issuer) Token(t testing.TB, kid string, c Claims) string {
	t.Helper()
	is.mu.Lock()
	k := is.keys[kid]
	is.mu.Unlock()
	if k == nil {
		t.Fatalf("no key %s", kid)
	}
	return is.sign(t, k, kid, c)
}

// TokenWithUnpublishedKey signs with a key that the JWKS does not hold (a forger's).
func (is *Issuer) TokenWithUnpublishedKey(t testing.TB, kid string, c Claims) string {
	t.Helper()
	is.mu.Lock()
	if is.rogue == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		is.rogue = k
	}
	k := is.rogue
	is.mu.Unlock()
	return is.sign(t, k, kid, c)
}

func (is *Issuer) fill(c Claims) Claims {
	out := Claims{"iss": is.URL(), "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range c {
		out[k] = v
	}
	return out
}

func (is *Issuer) sign(t testing.TB, k *rsa.PrivateKey, kid string, c Claims) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(is.fill(c))
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// UnsignedToken is a token with "alg": "none" (and no signature), as an attacker sends it.
func (is *Issuer) UnsignedToken(c Claims) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": "k1"})
	p, _ := json.Marshal(is.fill(c))
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(p) + "."
}
