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
// when they do not), then fetches new ones, one fetch at a time: calls meanwhile get the old
// credentials while they are valid, else wait for the fetch. When a refresh fails while the
// cached credentials are still valid, they are used on (and the refresh is tried again after a
// second); once expired, the refresh's error is returned.
type Cache struct {
	p   Provider
	now func() time.Time

	mu        sync.Mutex
	creds     Credentials
	ok        bool
	lastError time.Time     // of the last failed refresh while the cached ones were valid
	inflight  chan struct{} // closed when the fetch in flight ends
}

// NewCache wraps p in a Cache.
func NewCache(p Provider) *Cache { return &Cache{p: p, now: time.Now} }

// Retrieve implements Provider.
func (c *Cache) Retrieve(ctx context.Context) (Credentials, error) {
	for {
		c.mu.Lock()
		now := c.now()
		valid := c.ok && (c.creds.Expires.IsZero() || now.Before(c.creds.Expires))
		if c.ok && (c.creds.Expires.IsZero() || now.Before(c.creds.Expires.Add(-RefreshWindow))) ||
			valid && (c.inflight != nil || now.Sub(c.lastError) < time.Second) {
			creds := c.creds
			c.mu.Unlock()
			return creds, nil
		}
		if ch := c.inflight; ch != nil {
			c.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return Credentials{}, ctx.Err()
			}
		}
		ch := make(chan struct{})
		c.inflight = ch
		c.mu.Unlock()

		creds, err := c.p.Retrieve(ctx)
		if err == nil && (creds.AccessKeyID == "" || creds.SecretAccessKey == "") {
			err = fmt.Errorf("aws credentials from %s: no access key ID or secret access key", creds.Source)
		}
		c.mu.Lock()
		c.inflight = nil
		close(ch)
		if err != nil {
			if c.ok && now.Before(c.creds.Expires) {
				c.lastError = now
				creds = c.creds
				c.mu.Unlock()
				return creds, nil // still valid: ride out a failed refresh
			}
			c.mu.Unlock()
			return Credentials{}, err
		}
		c.creds, c.ok, c.lastError = creds, true, time.Time{}
		c.mu.Unlock()
		return creds, nil
	}
}

// Invalidate makes the next Retrieve fetch new credentials (after an ExpiredToken answer).
func (c *Cache) Invalidate() {
	c.mu.Lock()
	c.ok = false
	c.mu.Unlock()
}
