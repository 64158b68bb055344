package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/memory"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
	"github.com/featuregraph/featuregraph/store/traced"
	"github.com/featuregraph/featuregraph/tracing"
)

// The kinds of store OpenStore opens.
const (
	KindMemory   = "memory"
	KindDynamoDB = "dynamodb"
	KindTiered   = "dynamodb+redis"
)

// StoreOptions are the store flags of DESIGN.md plus the knobs of each backend.
type StoreOptions struct {
	dynamo dynamodb.Config
	redis  redis.Config
	tiered tiered.Config

	redisAddr    string
	redisTimeout time.Duration
	// tracer, when on, wraps the store and each of its backends in spans (store/traced).
	tracer tracing.Tracer
	// fs is the flag set the options were registered on: the flags it saw given (command line
	// or environment) tell "no store configured" (memory) from a configured one.
	fs *flag.FlagSet
}

// Store is an opened store and what kind it is.
type Store struct {
	store.Store
	Kind string
	// Table is the DynamoDB store, when there is one (init-table).
	Table *dynamodb.Store
}

// Unwrap makes the opened store a decorator: store.As finds the capabilities of the store it
// opened (point-in-time reads, the tiered store's health) through it and the tracing wrapper.
func (o *Store) Unwrap() store.Store { return o.Store }

// Degraded names the backends the store serves without (the tiered store's Redis breaker).
func (o *Store) Degraded() []string {
	if d, ok := store.As[store.Degrader](o.Store); ok {
		return d.Degraded()
	}
	return nil
}

// Pending is what the tiered store has yet to bring up to date in Redis: action series to
// drop and static features to write through (store/tiered/pending.go); 0 for other stores.
func (o *Store) Pending() (series, statics int) {
	if p, ok := store.As[store.Backlog](o.Store); ok {
		return p.StaleSeries(), p.PendingStatics()
	}
	return 0, 0
}

// Flags registers the store flags on fs.
func (o *StoreOptions) Flags(fs *flag.FlagSet) {
	o.fs = fs
	o.dynamo = dynamodb.DefaultConfig()
	o.redis = redis.DefaultConfig()
	o.tiered = tiered.DefaultConfig()
	d, r, t := &o.dynamo, &o.redis, &o.tiered
	fs.StringVar(&d.Endpoint, "dynamodb-endpoint", "", "DynamoDB endpoint URL, e.g. http://127.0.0.1:8000 for dynalite or DynamoDB Local (default: AWS's endpoint for the region)")
	fs.StringVar(&d.Region, "dynamodb-region", "", "AWS region of the table (default: from the AWS environment; us-east-1 with --dynamodb-endpoint)")
	fs.StringVar(&d.Table, "dynamodb-table", d.Table, "DynamoDB table holding every feature")
	fs.IntVar(&d.Concurrency, "dynamodb-concurrency", d.Concurrency, "DynamoDB calls one store call runs at once (BatchGetItem rounds, writes, queries)")
	fs.BoolVar(&d.ConsistentRead, "dynamodb-consistent-read", d.ConsistentRead, "strongly consistent DynamoDB reads (twice the read capacity)")
	fs.StringVar(&o.redisAddr, "redis-addr", "", "Redis host:port, or comma-separated Cluster seed nodes (needs DynamoDB: Redis holds the online copy, DynamoDB is the source of truth)")
	fs.BoolVar(&r.Cluster, "redis-cluster", false, "use a Redis Cluster client")
	fs.StringVar(&r.Username, "redis-username", "", "Redis ACL user name")
	fs.StringVar(&r.Password, "redis-password", "", "Redis password (prefer FEATUREGRAPH_REDIS_PASSWORD)")
	fs.BoolVar(&r.TLS, "redis-tls", false, "connect to Redis with TLS (certificates verified against the system roots)")
	fs.IntVar(&r.PoolSize, "redis-pool-size", r.PoolSize, "Redis connections per node")
	fs.BoolVar(&r.StaticScript, "redis-static-script", false, "read static features with one Lua script per 128 entities instead of one HGETALL or HMGET per entity: about a third of the client CPU of a read, 5-6x the Redis CPU")
	fs.DurationVar(&r.DialTimeout, "redis-dial-timeout", r.DialTimeout, "timeout of establishing a Redis connection")
	fs.DurationVar(&o.redisTimeout, "redis-timeout", r.ReadTimeout, "timeout of one Redis socket read or write")
	fs.DurationVar(&t.StaticCacheTTL, "static-cache-ttl", t.StaticCacheTTL, "in-process cache of static features: how long a value is served without asking Redis or DynamoDB, ±10% (0: off); writes by other processes show after at most this long")
	fs.Var((*byteSize)(&t.StaticCacheSize), "static-cache-size", "bytes the in-process static cache may hold, e.g. 64MiB, 512KiB or 1000000 (0: off)")
	fs.Var(deprecatedBool{}, "static-cache-redis", "deprecated, ignored: with --redis-addr, Redis always holds the online copy of static features")
	fs.DurationVar(&t.StaticNegativeTTL, "static-negative-ttl", t.StaticNegativeTTL, "how long Redis remembers that DynamoDB holds no value for a static feature, ±10% (negative: never)")
	fs.DurationVar(&t.NegativeTTL, "negative-cache-ttl", t.NegativeTTL, "how long an entity with no events in DynamoDB is answered empty without asking again")
}

var dynamoFlags = []string{"dynamodb-endpoint", "dynamodb-region", "dynamodb-table"}

// dynamoConfigured reports whether a DynamoDB flag was given.
func (o *StoreOptions) dynamoConfigured() bool {
	if o.fs == nil {
		return false
	}
	given := false
	o.fs.Visit(func(f *flag.Flag) {
		for _, name := range dynamoFlags {
			given = given || f.Name == name
		}
	})
	return given
}

// Configured reports whether any store flag was given (else the store is the in-memory one).
func (o *StoreOptions) Configured() bool { return o.dynamoConfigured() || o.redisAddr != "" }

// RequireDynamoDB makes OpenStore open DynamoDB even when no DynamoDB flag was given (the
// table's default name then): init-table always means DynamoDB.
func (o *StoreOptions) RequireDynamoDB() error {
	return o.fs.Set("dynamodb-table", o.dynamo.Table)
}

// OpenStore opens the configured stores: DynamoDB alone, DynamoDB + Redis (the tiered store),
// or with no DynamoDB or Redis flag the in-memory store. obs counts the backends' calls (nil:
// none). vals types static values read from DynamoDB (the registry; nil: untyped, for
// init-table).
func OpenStore(ctx context.Context, o *StoreOptions, log *slog.Logger, obs store.Observer, vals store.ValueDecoder) (*Store, error) {
	useDynamo, useRedis := o.dynamoConfigured(), o.redisAddr != ""
	switch {
	case !useDynamo && !useRedis:
		return &Store{Store: traced.Wrap(memory.New(), o.tracer, KindMemory), Kind: KindMemory}, nil
	case useRedis && !useDynamo:
		return nil, errors.New("--redis-addr needs DynamoDB (--dynamodb-endpoint, --dynamodb-region or --dynamodb-table): " +
			"Redis holds the online copy, DynamoDB is the source of truth")
	}
	if obs == nil {
		obs = store.NopObserver{}
	}
	o.dynamo.Observer = obs
	o.dynamo.Values = vals
	ddb, err := dynamodb.New(ctx, o.dynamo)
	if err != nil {
		return nil, err
	}
	if !useRedis {
		log.Debug("store: DynamoDB only; action features are read with Query (add --redis-addr for Redis)", "table", o.dynamo.Table)
		st := traced.Wrap(traced.DynamoDB(ddb, o.tracer), o.tracer, KindDynamoDB)
		return &Store{Store: st, Kind: KindDynamoDB, Table: ddb}, nil
	}
	o.redis.Addrs = SplitList(o.redisAddr)
	o.redis.ReadTimeout, o.redis.WriteTimeout = o.redisTimeout, o.redisTimeout
	o.redis.Observer = obs
	rs, err := redis.New(o.redis)
	if err != nil {
		return nil, errors.Join(err, ddb.Close())
	}
	o.tiered.Observer = obs
	if o.tiered.StaticCacheTTL > 0 {
		limitMemoryForCache(o.tiered.StaticCacheSize, log) // memlimit.go
	}
	ts, err := tiered.New(traced.Cache(rs, o.tracer), traced.Source(ddb, o.tracer), o.tiered)
	if err != nil {
		return nil, errors.Join(err, rs.Close(), ddb.Close())
	}
	return &Store{Store: traced.Wrap(ts, o.tracer, KindTiered), Kind: KindTiered, Table: ddb}, nil
}

// CheckAtStart stops a command whose DynamoDB table is missing (naming init-table) and logs a
// backend unreachable at start (dynamodb.CheckAtStart).
func (s *Store) CheckAtStart(ctx context.Context, log *slog.Logger) error {
	if s.Table == nil {
		return nil
	}
	var cache store.Pinger
	if p, ok := store.As[interface{ PingCache(context.Context) error }](s.Store); ok {
		cache = pingFunc(p.PingCache)
	}
	return dynamodb.CheckAtStart(ctx, s.Table, cache, log)
}

type pingFunc func(context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

// SplitList splits a comma-separated flag value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// byteSize is a flag holding a number of bytes, written plain or with a KiB, MiB or GiB suffix.
type byteSize int

func (b *byteSize) String() string {
	n := int(*b)
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.Itoa(n>>u.shift) + u.suffix
		}
	}
	return strconv.Itoa(n)
}

func (b *byteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	shift := uint(0)
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}} {
		if strings.HasSuffix(s, u.suffix) {
			s, shift = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.shift
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > (1<<40)>>shift {
		return fmt.Errorf("want a size in bytes such as 64MiB, 512KiB or 1000000, got %q", s)
	}
	*b = byteSize(n << shift)
	return nil
}

// deprecatedBool is a boolean flag kept so old command lines still start; its value is ignored.
type deprecatedBool struct{}

func (deprecatedBool) String() string   { return "false" }
func (deprecatedBool) Set(string) error { return nil }
func (deprecatedBool) IsBoolFlag() bool { return true }
