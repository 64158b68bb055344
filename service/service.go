// Package service calls the HTTP services that answer service features (`source:` in the
// registry): one client per service with its timeout, circuit breaker, bounded concurrency,
// in-process TTL cache (with negative entries) and metrics. A Set is built from a registry as a
// plain value (no global state but the Observer it reports to), so a new registry generation
// gets its own; the executor (package plan) calls it through plan.ServiceFetcher.
//
// The request and response contract is in docs/on-demand.md.
package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// Config holds the options of every client. Every field documents its default.
type Config struct {
	// HTTP is the client calls are made with (its own timeout is not used: each call has the
	// service's timeout within the request's deadline). Default: a client with pooled
	// keep-alive connections (64 idle per host).
	HTTP *http.Client
	// Observer is told about every call (BackendCall, backend "service:<name>", op "batch" or
	// "get", the ids carried) and cache lookup (Cache, cache "service:<name>"). Default none.
	Observer store.Observer
	// BreakerFailures is how many consecutive failed calls open a service's breaker. Default 5.
	BreakerFailures int
	// BreakerCooldown is how long an open breaker fails calls without making them, before it
	// lets one trial call through. Default 5s.
	BreakerCooldown time.Duration
	// CacheEntries bounds each service's cache (one entry per id and feature). Default 100000.
	CacheEntries int
	// Getenv expands ${NAME} in header values. Default os.Getenv.
	Getenv func(string) string
	// Now is the clock of the caches and breakers. Default time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		HTTP:            &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}},
		Observer:        store.NopObserver{},
		BreakerFailures: 5,
		BreakerCooldown: 5 * time.Second,
		CacheEntries:    100000,
		Getenv:          os.Getenv,
		Now:             time.Now,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.HTTP == nil {
		c.HTTP = d.HTTP
	}
	if c.Observer == nil {
		c.Observer = d.Observer
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = d.BreakerFailures
	}
	if c.BreakerCooldown == 0 {
		c.BreakerCooldown = d.BreakerCooldown
	}
	if c.CacheEntries == 0 {
		c.CacheEntries = d.CacheEntries
	}
	if c.Getenv == nil {
		c.Getenv = d.Getenv
	}
	if c.Now == nil {
		c.Now = d.Now
	}
}

// Validate reports options that cannot work.
func (c Config) Validate() error {
	if c.BreakerFailures < 0 || c.BreakerCooldown < 0 || c.CacheEntries < 0 {
		return errors.New("service: breaker failures, breaker cooldown and cache entries must not be negative")
	}
	return nil
}

// Set is the clients of a registry's services.
type Set struct {
	clients map[string]*Client
}

// New builds a client for every service of reg.
func New(reg *registry.Registry, cfg Config) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill()
	s := &Set{clients: map[string]*Client{}}
	for name, svc := range reg.Services {
		s.clients[name] = newClient(svc, cfg)
	}
	return s, nil
}

// Client returns the client of a service, or nil.
func (s *Set) Client(name string) *Client {
	if s == nil {
		return nil
	}
	return s.clients[name]
}

// ErrNoClient is the error of a feature whose service has no client in the set.
var ErrNoClient = errors.New("no client for the service")

// FetchService implements plan.ServiceFetcher: the features (all of entity e, all answered by
// svc) of ids, into vals[i*len(features)+j], with errs[i*len(features)+j] the error of a cell
// that has none (nil: answered; vals Absent: the service has no value).
func (s *Set) FetchService(ctx context.Context, svc *registry.Service, e *registry.Entity, features []*registry.Feature, ids []string, asOf int64, vals []store.Value, errs []error) {
	c := s.Client(svc.Name)
	if c == nil {
		err := &store.BackendError{Backend: Backend(svc.Name), Op: "call", Err: ErrNoClient}
		for i := range errs {
			errs[i] = err
		}
		return
	}
	c.Fetch(ctx, e, features, ids, asOf, vals, errs)
}

// Backend is the backend name of a service in errors and metrics: "service:<name>".
func Backend(name string) string { return "service:" + name }

// breaker is a consecutive-failure circuit breaker: closed, open for a cooldown after
// `failures` failed calls in a row, then half open (one trial call; its outcome closes or
// reopens it).
type breaker struct {
	mu       sync.Mutex
	failures int // in a row
	openTill time.Time
	trial    bool // a half-open trial call is in flight
	limit    int
	cooldown time.Duration
	now      func() time.Time
}

// ErrBreakerOpen is the error of a call the breaker refused.
var ErrBreakerOpen = errors.New("circuit breaker open")

// allow reports whether a call may be made now.
func (b *breaker) allow() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.limit {
		return nil
	}
	if b.now().Before(b.openTill) || b.trial {
		return fmt.Errorf("%w after %d failed calls in a row", ErrBreakerOpen, b.failures)
	}
	b.trial = true
	return nil
}

func (b *breaker) done(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
	if err == nil {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.limit {
		b.openTill = b.now().Add(b.cooldown)
	}
}

// release ends a call that says nothing about the service (the caller gave up first).
func (b *breaker) release() {
	b.mu.Lock()
	b.trial = false
	b.mu.Unlock()
}
