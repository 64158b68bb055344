package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"runtime"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/store"
)

// Config configures the Redis backend. A zero field takes the default named in its comment;
// DefaultConfig returns them all filled in.
type Config struct {
	// Addrs is host:port of the single node, or the seed nodes of a Cluster.
	// Default ["127.0.0.1:6379"]. More than one address requires Cluster.
	Addrs []string
	// Cluster selects a Redis Cluster client, even with one seed address. Default false.
	Cluster bool
	// Username and Password authenticate (Redis ACL / requirepass). Default none.
	Username string
	Password string
	// TLS connects with TLS 1.2 or later, verifying the server's certificate against the
	// system roots (e.g. ElastiCache with in-transit encryption). Default false.
	TLS bool
	// DB selects the database of a single node (Cluster has only 0). Default 0.
	DB int
	// DialTimeout bounds establishing a connection. Default 1s.
	DialTimeout time.Duration
	// DialAttempts is how many times one connection is dialled before the command fails.
	// Default 1: when Redis is down, fail fast and let the caller fall back.
	DialAttempts int
	// ReadTimeout and WriteTimeout bound one socket read or write. Request deadlines are
	// honoured as well (the client always runs with ContextTimeoutEnabled). Default 500ms each.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// PoolSize is the maximum number of connections per node. Default 10 per CPU.
	PoolSize int
	// StaticScript reads static features with one Lua script per call (getStatic in
	// static.go) instead of one HGETALL or HMGET per entity: less client CPU per value, far
	// more Redis CPU.
	// Default false.
	StaticScript bool
	// MaxRetries is how often a failed command is retried by the client; -1 disables retries.
	// Default 1 (a request deadline is usually shorter than more retries would take).
	MaxRetries int
	// StaticTTL is the expiry of static values written by WriteStatic: Redis is only a cache
	// for static features. Default 0: no expiry.
	StaticTTL time.Duration
	// Observer is told about every pipeline round trip. Default store.NopObserver.
	Observer store.Observer
}

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		Addrs:        []string{"127.0.0.1:6379"},
		DialTimeout:  time.Second,
		DialAttempts: 1,
		ReadTimeout:  500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond,
		PoolSize:     10 * runtime.GOMAXPROCS(0),
		MaxRetries:   1,
		Observer:     store.NopObserver{},
	}
}

// Validate reports every invalid field. Zero values are valid: they take the defaults.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("redis config: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	for i, a := range c.Addrs {
		if a == "" {
			bad(fmt.Sprintf("Addrs[%d]", i), "empty address")
		}
	}
	if len(c.Addrs) > 1 && !c.Cluster {
		bad("Addrs", "%d addresses need Cluster: a single node takes one address", len(c.Addrs))
	}
	if c.Cluster && c.DB != 0 {
		bad("DB", "Redis Cluster has only database 0, got %d", c.DB)
	}
	if c.DB < 0 {
		bad("DB", "must not be negative, got %d", c.DB)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"DialTimeout", c.DialTimeout}, {"ReadTimeout", c.ReadTimeout}, {"WriteTimeout", c.WriteTimeout}, {"StaticTTL", c.StaticTTL}} {
		if d.v < 0 {
			bad(d.name, "must not be negative, got %s", d.v)
		}
	}
	if c.StaticTTL > 0 && c.StaticTTL < time.Millisecond {
		bad("StaticTTL", "must be at least 1ms, got %s", c.StaticTTL)
	}
	if c.DialAttempts < 0 {
		bad("DialAttempts", "must not be negative, got %d", c.DialAttempts)
	}
	if c.PoolSize < 0 {
		bad("PoolSize", "must not be negative, got %d", c.PoolSize)
	}
	if c.MaxRetries < -1 {
		bad("MaxRetries", "must be -1 (no retries) or more, got %d", c.MaxRetries)
	}
	return errors.Join(errs...)
}

// withDefaults fills zero fields with the defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if len(c.Addrs) == 0 {
		c.Addrs = d.Addrs
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = d.DialTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.DialAttempts == 0 {
		c.DialAttempts = d.DialAttempts
	}
	if c.PoolSize == 0 {
		c.PoolSize = d.PoolSize
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = d.MaxRetries
	}
	if c.Observer == nil {
		c.Observer = d.Observer
	}
	return c
}

// client builds the client: a ClusterClient when Cluster is set, else a single-node Client.
func (c Config) client() goredis.UniversalClient {
	u := c.universal()
	if c.Cluster {
		o := u.Cluster()
		o.DialerRetries = c.DialAttempts
		return goredis.NewClusterClient(o)
	}
	o := u.Simple()
	o.DialerRetries = c.DialAttempts
	return goredis.NewClient(o)
}

func (c Config) universal() *goredis.UniversalOptions {
	var tlsConfig *tls.Config
	if c.TLS {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12} // ServerName comes from each address
	}
	// PoolTimeout: a call waits for a free connection no longer than for an answer (go-redis's
	// default is ReadTimeout + 1s: with a slow Redis failed calls took 1.9 s against 500 ms).
	// PoolSize bounds the connections per node. Protocol 2 (RESP2): the store uses nothing of
	// RESP3 (push notifications, client-side caching), and on RESP3 go-redis looks for pending
	// push notifications before each reply of a pipeline (a P2 read has 100).
	return &goredis.UniversalOptions{
		Protocol:              2,
		PoolTimeout:           c.ReadTimeout,
		TLSConfig:             tlsConfig,
		Addrs:                 c.Addrs,
		IsClusterMode:         c.Cluster,
		Username:              c.Username,
		Password:              c.Password,
		DB:                    c.DB,
		DialTimeout:           c.DialTimeout,
		ReadTimeout:           c.ReadTimeout,
		WriteTimeout:          c.WriteTimeout,
		PoolSize:              c.PoolSize,
		MaxRetries:            c.MaxRetries,
		ContextTimeoutEnabled: true,
	}
}
