package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// OIDCOptions configure how the issuer's keys are fetched.
type OIDCOptions struct {
	// HTTPClient fetches the discovery document and the JWKS. Default: a client with a 10 s
	// timeout.
	HTTPClient *http.Client
	// MinRefresh is the least time between two fetches of the JWKS: a token with an unknown key
	// id refreshes the keys at most this often (a flood of made-up key ids costs one fetch per
	// interval, not one per request). Default 30s.
	MinRefresh time.Duration
	// CacheSize is how many verified tokens are remembered (until they expire), so that a
	// client reusing its token pays the signature check once. Default 10000.
	CacheSize int
}

// verifier checks JWTs of one issuer: go-oidc's verifier (issuer, audience, expiry, algorithms)
// over a key set fetched at start and refreshed only on an unknown key id.
type verifier struct {
	cfg  OIDCConfig
	v    *oidc.IDTokenVerifier
	keys *keySet

	mu     sync.Mutex
	cache  map[string]cachedToken
	maxLen int
}

type cachedToken struct {
	sub string
	exp time.Time
}

func newVerifier(cfg OIDCConfig, opts OIDCOptions) (*verifier, error) {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.MinRefresh == 0 {
		opts.MinRefresh = 30 * time.Second
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 10000
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = []string{oidc.RS256, oidc.ES256}
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), opts.HTTPClient), 15*time.Second)
	defer cancel()
	prov, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery of %s: %w", cfg.Issuer, err)
	}
	var disc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := prov.Claims(&disc); err != nil || disc.JWKS == "" {
		return nil, fmt.Errorf("oidc: the discovery document of %s names no jwks_uri", cfg.Issuer)
	}
	ks := &keySet{url: disc.JWKS, client: opts.HTTPClient, minRefresh: opts.MinRefresh}
	for _, a := range algs {
		ks.algs = append(ks.algs, jose.SignatureAlgorithm(a))
	}
	if err := ks.fetch(ctx); err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	v := oidc.NewVerifier(cfg.Issuer, ks, &oidc.Config{ClientID: cfg.Audience, SupportedSigningAlgs: algs})
	return &verifier{cfg: cfg, v: v, keys: ks, cache: map[string]cachedToken{}, maxLen: opts.CacheSize}, nil
}

// verify returns the value of the client claim of a valid token.
func (v *verifier) verify(ctx context.Context, raw string) (string, error) {
	now := time.Now()
	v.mu.Lock()
	c, ok := v.cache[raw]
	v.mu.Unlock()
	if ok && now.Before(c.exp) {
		return c.sub, nil
	}
	tok, err := v.v.Verify(ctx, raw)
	if err != nil {
		return "", err
	}
	sub := tok.Subject
	if v.cfg.Claim != "sub" {
		var claims map[string]any
		if err := tok.Claims(&claims); err != nil {
			return "", err
		}
		s, ok := claims[v.cfg.Claim].(string)
		if !ok || s == "" {
			return "", fmt.Errorf("the token has no string claim %q", v.cfg.Claim)
		}
		sub = s
	}
	v.mu.Lock()
	if len(v.cache) >= v.maxLen {
		clear(v.cache)
	}
	v.cache[raw] = cachedToken{sub: sub, exp: tok.Expiry}
	v.mu.Unlock()
	return sub, nil
}

// keySet is an oidc.KeySet over the issuer's JWKS: fetched at start, then again only when a
// token names a key id it does not have, and then at most once per minRefresh.
type keySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration
	algs       []jose.SignatureAlgorithm

	keys    atomic.Pointer[jose.JSONWebKeySet]
	mu      sync.Mutex // one fetch at a time
	last    time.Time  // of the last fetch (under mu)
	fetches atomic.Int64
}

var _ oidc.KeySet = (*keySet)(nil)

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a token must have one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	if p, found, err := k.try(jws, kid); found {
		return p, err
	}
	if !k.refresh(ctx) {
		return nil, fmt.Errorf("unknown key id %q (the issuer's keys were fetched less than %s ago)", kid, k.minRefresh)
	}
	if p, found, err := k.try(jws, kid); found {
		return p, err
	}
	return nil, fmt.Errorf("unknown key id %q: not in the issuer's key set", kid)
}

func (k *keySet) try(jws *jose.JSONWebSignature, kid string) (payload []byte, found bool, err error) {
	set := k.keys.Load()
	if set == nil {
		return nil, false, nil
	}
	for i := range set.Keys {
		key := &set.Keys[i]
		if kid != "" && key.KeyID != kid {
			continue
		}
		if p, err := jws.Verify(key); err == nil {
			return p, true, nil
		}
		if kid != "" {
			return nil, true, errors.New("bad signature")
		}
	}
	return nil, false, nil
}

// refresh fetches the keys unless they were fetched within minRefresh; it reports whether the
// set may have changed.
func (k *keySet) refresh(ctx context.Context) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if time.Since(k.last) < k.minRefresh {
		return false
	}
	return k.fetchLocked(ctx) == nil
}

func (k *keySet) fetch(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetchLocked(ctx)
}

func (k *keySet) fetchLocked(ctx context.Context) error {
	k.last = time.Now()
	k.fetches.Add(1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetching the JWKS %s: %w", k.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching the JWKS %s: status %d %v", k.url, resp.StatusCode, err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return fmt.Errorf("the JWKS %s: %w", k.url, err)
	}
	k.keys.Store(&set)
	return nil
}
