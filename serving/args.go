package serving

import (
	"fmt"
	"math"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// ActionQuery validates the arguments of an action field (count positive, lastNSec not
// negative) and builds its store query: count is EffectiveCount (defaultCount, clamped to the
// feature's maxCount and to maxCount, the server's limit); the window starts at
// end-lastNSec and never before now-TTL, where end is at when given (a point-in-time read,
// [at - lastNSec, at]) and now otherwise; the TTL still counts from now, since expired events
// are gone from the stores.
func ActionQuery(f *registry.Feature, id string, count, lastNSec *int, now time.Time, at *time.Time, maxCount int) (store.ActionQuery, error) {
	if count != nil && *count <= 0 {
		return store.ActionQuery{}, InputError("count must be positive, got %d", *count)
	}
	n := EffectiveCount(f, count, maxCount)
	nowMS := now.UnixMilli()
	endMS := nowMS
	var maxTS int64
	if at != nil {
		maxTS = at.UnixMilli()
		endMS = maxTS
	}
	var minTS int64
	if lastNSec != nil {
		if *lastNSec < 0 {
			return store.ActionQuery{}, InputError("lastNSec must not be negative, got %d", *lastNSec)
		}
		if sec := int64(*lastNSec); sec < math.MaxInt64/1000 {
			minTS = max(endMS-sec*1000, 0)
		}
	}
	if f.TTL > 0 {
		minTS = max(minTS, nowMS-f.TTL.Milliseconds())
	}
	return store.ActionQuery{
		MaxTS:    maxTS,
		Key:      store.Key{Prefix: f.Entity.Prefix, ID: id, Feature: f.Name},
		Count:    n,
		MinTS:    minTS,
		Dedupe:   f.Dedupe,
		MaxCount: f.MaxCount,
	}, nil
}

// EffectiveCount is the count an action field is answered with: the count argument (default
// the feature's defaultCount) clamped to the feature's maxCount and the server's maximum. The
// query cost check measures fields by it, so a large count is capped, not rejected.
func EffectiveCount(f *registry.Feature, count *int, serverMax int) int {
	n := f.DefaultCount
	if count != nil && *count > 0 {
		n = *count
	}
	return min(n, f.MaxCount, serverMax)
}

// TooManyIDs is the error of a batch field given more than max ids.
func TooManyIDs(n, max int) error {
	return InputError("too many ids: %d given, at most %d allowed per field", n, max)
}

// CheckAsOf validates an asOf argument.
func CheckAsOf(at *time.Time) error {
	if at != nil && at.UnixMilli() < 1 {
		return InputError("asOf %s is before 1970-01-01T00:00:00.001Z", at.Format(time.RFC3339Nano))
	}
	return nil
}

// PointInTime is the instant a field is answered for: its own asOf argument, else the asOf of
// the object it belongs to (its entity root, or the event query it was joined from), else nil
// (now).
func PointInTime(inherited, own *time.Time) *time.Time {
	if own != nil {
		return own
	}
	return inherited
}

// NoHistoryError is the error of a static feature read as of a time when it keeps no history.
func NoHistoryError(f *registry.Feature) error {
	return InputError("asOf: static feature %s.%s keeps no history, so it has no value as of a past time "+
		"(add `history: true` to its definition to keep one, or leave it out of point-in-time queries)", f.Entity.Name, f.Name)
}

// UnmarshalInt reads an Int argument or variable. The GraphQL specification's Int is a signed
// 32-bit integer, and a value outside that range is a coercion error (gqlgen's Int accepts 64
// bits). Entity ids beyond 2^31-1 need `idType: String`.
func UnmarshalInt(v any) (int, error) {
	n, err := graphql.UnmarshalInt64(v)
	if err != nil {
		return 0, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("Int cannot represent non 32-bit signed integer value: %d", n)
	}
	return int(n), nil
}

// UnmarshalTime reads the Time scalar as gqlgen's own Time does (RFC 3339), with an error that
// says what was given and what is expected.
func UnmarshalTime(v any) (time.Time, error) {
	t, err := graphql.UnmarshalTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("Time must be an RFC 3339 string such as \"2026-10-15T08:12:00Z\", got %.40q", fmt.Sprint(v))
	}
	return t, nil
}
