package traced

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/tiered"
	"github.com/featuregraph/featuregraph/tracing"
)

// Cache wraps the Redis side of a tiered store: spans "redis.<Method>" with db.system.name
// "redis". ReadActionsCached reports hits (keys Redis held) and misses (queries that fall back
// to DynamoDB, tracing.Fallbacks). With t off it returns c itself.
func Cache(c tiered.Cache, t tracing.Tracer) tiered.Cache {
	if !t.Enabled() {
		return c
	}
	return &cache{next: c, t: t}
}

// Source wraps the DynamoDB side of a tiered store: spans "dynamodb.<Method>" with
// db.system.name "aws.dynamodb". Every action read a tiered store makes of its source stands in
// for Redis, so ReadEvents and ReadActions spans carry tracing.Fallback. With t off it returns s
// itself.
func Source(s tiered.Source, t tracing.Tracer) tiered.Source {
	if !t.Enabled() {
		return s
	}
	return &source{Store: Store{next: s, t: t, name: "dynamodb", system: dynamoSystem}, events: s}
}

var (
	redisSystem  = attribute.String(tracing.DBSystem, "redis")
	dynamoSystem = attribute.String(tracing.DBSystem, "aws.dynamodb")
)

type cache struct {
	next tiered.Cache
	t    tracing.Tracer
}

var _ tiered.Cache = (*cache)(nil)

func (c *cache) ReadActionsCached(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, []store.ActionQuery, error) {
	ctx, sp := start(ctx, c.t, "redis", "ReadActionsCached", redisSystem)
	sp.Int(tracing.Queries, len(queries))
	found, missing, err := c.next.ReadActionsCached(ctx, queries)
	if err == nil {
		sp.Int(tracing.Hits, len(found))
		sp.Int(tracing.Misses, len(missing))
	}
	sp.EndErr(err)
	return found, missing, err
}

func (c *cache) ReadStaticCached(ctx context.Context, q store.StaticQuery, out []store.StaticValue, missing []int) ([]int, error) {
	ctx, sp := start(ctx, c.t, "redis", "ReadStaticCached", redisSystem)
	sp.Int(tracing.Keys, q.Len())
	before := len(missing)
	missing, err := c.next.ReadStaticCached(ctx, q, out, missing)
	if err == nil {
		sp.Int(tracing.Hits, q.Len()-(len(missing)-before)) // values and known absences
		sp.Int(tracing.Misses, len(missing)-before)
	}
	sp.EndErr(err)
	return missing, err
}

func (c *cache) WriteStatic(ctx context.Context, writes []store.StaticWrite) error {
	return call(ctx, c.t, "redis", "WriteStatic", redisSystem, tracing.Writes, len(writes), func(ctx context.Context) error {
		return c.next.WriteStatic(ctx, writes)
	})
}

func (c *cache) FillStatic(ctx context.Context, writes []store.StaticWrite, absent []store.Key, negativeUntil int64) error {
	return call(ctx, c.t, "redis", "FillStatic", redisSystem, tracing.Writes, len(writes)+len(absent), func(ctx context.Context) error {
		return c.next.FillStatic(ctx, writes, absent, negativeUntil)
	})
}

func (c *cache) WriteActions(ctx context.Context, writes []store.ActionWrite) error {
	return call(ctx, c.t, "redis", "WriteActions", redisSystem, tracing.Writes, len(writes), func(ctx context.Context) error {
		return c.next.WriteActions(ctx, writes)
	})
}

func (c *cache) WriteActionsIfPresent(ctx context.Context, writes []store.ActionWrite) error {
	return call(ctx, c.t, "redis", "WriteActionsIfPresent", redisSystem, tracing.Writes, len(writes), func(ctx context.Context) error {
		return c.next.WriteActionsIfPresent(ctx, writes)
	})
}

func (c *cache) MarkRefill(ctx context.Context, keys []store.Key, ttl time.Duration) error {
	return call(ctx, c.t, "redis", "MarkRefill", redisSystem, tracing.Keys, len(keys), func(ctx context.Context) error {
		return c.next.MarkRefill(ctx, keys, ttl)
	})
}

func (c *cache) EndRefill(ctx context.Context, keys []store.Key, drop bool) error {
	return call(ctx, c.t, "redis", "EndRefill", redisSystem, tracing.Keys, len(keys), func(ctx context.Context) error {
		return c.next.EndRefill(ctx, keys, drop)
	})
}

func (c *cache) Ping(ctx context.Context) error { return c.next.Ping(ctx) }
func (c *cache) Close() error                   { return c.next.Close() }

type source struct {
	Store
	events tiered.Source
}

var _ tiered.Source = (*source)(nil)

func (s *source) ReadActions(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.ActionEvent, error) {
	ctx, sp := start(ctx, s.t, s.name, "ReadActions", s.system)
	sp.Bool(tracing.Fallback, true)
	sp.Int(tracing.Queries, len(queries))
	got, err := s.next.ReadActions(ctx, queries)
	if err == nil {
		setFound(sp, got)
	}
	sp.EndErr(err)
	return got, err
}

func (s *source) ReadStaticKeys(ctx context.Context, keys []store.Key, out []store.StaticValue) error {
	ctx, sp := start(ctx, s.t, s.name, "ReadStaticKeys", s.system)
	sp.Int(tracing.Keys, len(keys))
	err := s.events.ReadStaticKeys(ctx, keys, out)
	if err == nil {
		setStaticFound(sp, out)
	}
	sp.EndErr(err)
	return err
}

func (s *source) ReadEvents(ctx context.Context, queries []store.ActionQuery) (map[store.ActionQuery][]store.StoredEvent, error) {
	ctx, sp := start(ctx, s.t, s.name, "ReadEvents", s.system)
	sp.Bool(tracing.Fallback, true)
	sp.Int(tracing.Queries, len(queries))
	got, err := s.events.ReadEvents(ctx, queries)
	if err == nil {
		setFound(sp, got)
	}
	sp.EndErr(err)
	return got, err
}

// setFound sets the hits (series with events) and events of an action read.
func setFound[E any](sp tracing.Span, got map[store.ActionQuery][]E) {
	hits, events := 0, 0
	for _, evs := range got {
		if len(evs) > 0 {
			hits++
		}
		events += len(evs)
	}
	sp.Int(tracing.Hits, hits)
	sp.Int(tracing.Events, events)
}

// ReadStaticAsOf passes point-in-time static reads (static history) to the source (not traced).
func (s *source) ReadStaticAsOf(ctx context.Context, keys []store.Key, asOf int64) (map[store.Key]store.StaticValue, error) {
	return s.events.ReadStaticAsOf(ctx, keys, asOf)
}
