package awslite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Credentials are an access key, with the session token and expiry of temporary credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Expires is when temporary credentials stop working; zero for long-term keys.
	Expires time.Time
	// Source names where they came from ("environment", "shared credentials file, profile
	// default", "web identity", "container", "instance role ...").
	Source string
}

// Provider returns credentials. Retrieve may be called on every request: providers that fetch
// credentials are wrapped in a Cache.
type Provider interface {
	Retrieve(ctx context.Context) (Credentials, error)
}

// Static is a Provider of fixed credentials.
type Static Credentials

// Retrieve implements Provider.
func (s Static) Retrieve(context.Context) (Credentials, error) {
	if s.AccessKeyID == "" || s.SecretAccessKey == "" {
		return Credentials{}, errors.New("aws credentials: the static access key ID or secret access key is empty")
	}
	return Credentials(s), nil
}

// ProviderFunc adapts a function to Provider.
type ProviderFunc func(ctx context.Context) (Credentials, error)

// Retrieve implements Provider.
func (f ProviderFunc) Retrieve(ctx context.Context) (Credentials, error) { return f(ctx) }

// RefreshWindow is how long before their expiry cached credentials are fetched again.
const RefreshWindow = 5 * time.Minute

// Cache keeps the credentials of a Provider until RefreshWindow before they expire (forever
// when they do not), then fetches new ones, one fetch at a time. When a refresh fails while the
// cached credentials are still valid, they are used on (and the refresh is tried again on the
// next call after a second); once expired, the refresh's error is returned.
type Cache struct {
	p   Provider
	now func() time.Time

	mu        sync.Mutex
	creds     Credentials
	ok        bool
	lastError time.Time // of the last failed refresh while the cached ones were valid
}

// NewCache wraps p in a Cache.
func NewCache(p Provider) *Cache { return &Cache{p: p, now: time.Now} }

// Retrieve implements Provider.
func (c *Cache) Retrieve(ctx context.Context) (Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.ok && (c.creds.Expires.IsZero() || now.Before(c.creds.Expires.Add(-RefreshWindow)) ||
		(now.Before(c.creds.Expires) && now.Sub(c.lastError) < time.Second)) {
		return c.creds, nil
	}
	creds, err := c.p.Retrieve(ctx)
	if err != nil {
		if c.ok && now.Before(c.creds.Expires) {
			c.lastError = now
			return c.creds, nil // still valid: ride out a failed refresh
		}
		return Credentials{}, err
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("aws credentials from %s: no access key ID or secret access key", creds.Source)
	}
	c.creds, c.ok, c.lastError = creds, true, time.Time{}
	return creds, nil
}

// Invalidate makes the next Retrieve fetch new credentials (after an ExpiredToken answer).
func (c *Cache) Invalidate() {
	c.mu.Lock()
	c.ok = false
	c.mu.Unlock()
}
