// Package redis is the Redis backend: action features as sorted sets (score = event time in ms,
// member = the event's fields as compact JSON), read with one pipeline per call, and static
// features as a plain read-through cache. It runs on redis.UniversalClient, so a single node and
// a Cluster share one code path.
package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/store"
)

const backend = "redis"

// Store is the Redis backend. It is safe for concurrent use.
type Store struct {
	client    goredis.UniversalClient
	cfg       Config
	ownClient bool
	sizes     hashSizes    // fields per static hash, by prefix (static_hash.go)
	readMode  atomic.Int32 // a staticReadMode: readAuto but in tests
}

var _ store.Store = (*Store)(nil)

// New validates cfg and connects lazily (the first command dials). Close closes the client.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Store{client: cfg.client(), cfg: cfg, ownClient: true}, nil
}

// NewFromClient uses an existing client; only the Observer and StaticTTL of cfg are used.
// Close does not close a client it did not create.
func NewFromClient(client goredis.UniversalClient, cfg Config) (*Store, error) {
	if client == nil {
		return nil, errors.New("redis: NewFromClient: nil client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{client: client, cfg: cfg.withDefaults()}, nil
}

// Client returns the underlying client (tests, health checks).
func (s *Store) Client() goredis.UniversalClient { return s.client }

// Ping implements store.Pinger.
func (s *Store) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.client.Ping(ctx).Err()
	s.cfg.Observer.BackendCall(backend, "ping", 1, time.Since(start), err)
	if err != nil {
		return wrap("ping", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	if !s.ownClient {
		return nil
	}
	return s.client.Close()
}

// exec runs the queued commands of pipe in one round trip and reports it to the Observer.
// Per-command errors are left on the commands; exec returns the first one, wrapped.
func (s *Store) exec(ctx context.Context, op string, pipe goredis.Pipeliner) error {
	n := pipe.Len()
	if n == 0 {
		return nil
	}
	start := time.Now()
	_, err := pipe.Exec(ctx)
	s.cfg.Observer.BackendCall(backend, "pipeline", n, time.Since(start), err)
	if err != nil {
		err = wrap(op, err)
		s.reloadSlots(err)
		return err
	}
	return nil
}

// reloadSlots asks a Cluster client to reload the slot map after an unavailable error: go-redis
// reloads it on MOVED but not when a pipeline cannot reach a node, so after a failover it kept
// dialling the dead master until its periodic reload (13–53 s). LazyReload runs at most one
// reload at a time.
func (s *Store) reloadSlots(err error) {
	if cc, ok := s.client.(*goredis.ClusterClient); ok && errors.Is(err, store.ErrUnavailable) {
		cc.ReloadState(context.Background())
	}
}

// wrap maps a client error to a store error: a Redis error reply that says the server cannot
// serve right now, and every connection, timeout or context error, is store.ErrUnavailable;
// other error replies (WRONGTYPE, a bad argument) are store.ErrInvalid.
func wrap(op string, err error) error {
	var sentinel error = store.ErrUnavailable
	var rerr goredis.Error
	var nerr net.Error
	if errors.As(err, &rerr) && !errors.As(err, &nerr) && !transientReply(rerr.Error()) {
		sentinel = store.ErrInvalid
	}
	return &store.BackendError{Backend: backend, Op: op, Err: fmt.Errorf("%w: %w", sentinel, err)}
}

func transientReply(msg string) bool {
	// OOM (maxmemory reached) and EXECABORT (a MULTI aborted, e.g. by OOM) pass once memory is
	// freed: retrying beats dead-lettering events DynamoDB already holds.
	for _, p := range []string{"LOADING", "READONLY", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "BUSY", "MOVED", "ASK", "NOREPLICAS", "OOM", "EXECABORT"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
