package redis

import (
	"context"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/featuregraph/featuregraph/store"
)

// rangeArgs is the ZRANGE of q: the window [MinTS, MaxTS] (MaxTS 0: +inf), newest first, Count
// events, or with a Filter the whole window up to MaxCount (the series never holds more), which
// the filter then picks from in the gateway: a filtered read costs up to MaxCount members
// instead of Count.
func rangeArgs(key string, q store.ActionQuery) goredis.ZRangeArgs {
	start := "+inf"
	if q.MaxTS > 0 {
		start = strconv.FormatInt(q.MaxTS, 10)
	}
	n := int64(q.Count)
	if q.Filter != nil {
		n = int64(q.MaxCount)
		if n <= 0 {
			n = -1 // unbounded series: the whole window
		}
	}
	return goredis.ZRangeArgs{Key: key, Start: start, Stop: strconv.FormatInt(q.MinTS, 10),
		ByScore: true, Rev: true, Offset: 0, Count: n}
}

// coverage holds what tells whether the sorted set, as it is now, still holds the answer of a
// point-in-time query: its size, its oldest score and how many members are newer than MaxTS.
type coverage struct {
	card   *goredis.IntCmd
	oldest *goredis.ZSliceCmd
	newer  *goredis.IntCmd
}

// queueCoverage adds the three commands to pipe for a query with MaxTS, else returns nil.
func queueCoverage(ctx context.Context, pipe goredis.Pipeliner, key string, q store.ActionQuery) *coverage {
	if q.MaxTS <= 0 {
		return nil
	}
	return &coverage{
		card:   pipe.ZCard(ctx, key),
		oldest: pipe.ZRangeWithScores(ctx, key, 0, 0),
		newer:  pipe.ZCount(ctx, key, "("+strconv.FormatInt(q.MaxTS, 10), "+inf"),
	}
}

// covers reports whether the answer read for q (got members) is the one the series gave at
// q.MaxTS. With no member newer than MaxTS the set is the series of then. Otherwise, with
// Dedupe, a member repeated since has lost its older time, so Redis cannot tell; without it,
// the set holds a newest-first run of the events of then, trimmed only at its old end, so the
// answer is whole when the set was never trimmed (fewer than MaxCount members), when it reaches
// below the window, or when an unfiltered read already got Count events.
func (c *coverage) covers(q store.ActionQuery, got int) bool {
	if c.newer.Val() == 0 {
		return true
	}
	if q.Dedupe {
		return false
	}
	if q.MaxCount <= 0 || c.card.Val() < int64(q.MaxCount) {
		return true
	}
	if o := c.oldest.Val(); len(o) == 1 && int64(o[0].Score) < q.MinTS {
		return true
	}
	return q.Filter == nil && got >= q.Count
}
