package store

import (
	"fmt"
	"time"
)

// StaticQuery asks for the same features of many entities of one kind.
type StaticQuery struct {
	Prefix   string   // entity key prefix
	IDs      []string // canonical ids
	Features []string // feature names (snake_case, as in the registry)
}

// Len is the number of values the query asks for: len(IDs) × len(Features).
func (q StaticQuery) Len() int { return len(q.IDs) * len(q.Features) }

// Key returns the key of value i of the answer (entity i/len(Features), feature i%len(Features)).
func (q StaticQuery) Key(i int) Key {
	n := len(q.Features)
	return Key{Prefix: q.Prefix, ID: q.IDs[i/n], Feature: q.Features[i%n]}
}

// Check returns an error wrapping ErrInvalid unless out has room for exactly the query's values.
func (q StaticQuery) Check(out []StaticValue) error {
	if len(out) != q.Len() {
		return fmt.Errorf("%w: static read: %d values for %d ids × %d features", ErrInvalid, len(out), len(q.IDs), len(q.Features))
	}
	return nil
}

// StaticValue is one stored value and the event time (Unix ms) that set it. Kind Absent means
// nothing is stored.
type StaticValue struct {
	Value
	TS int64
}

// StaticWrite sets a static feature. A write whose TS is older than the stored value's TS is
// ignored: an older event never overwrites a newer one. Equal TS overwrites, so a redelivered
// event is harmless. Value is the typed value (registry.ToValue builds it); it is never Absent.
type StaticWrite struct {
	Key   Key
	Value Value
	TS    int64
	// History keeps this version, besides the current value, for point-in-time reads
	// (StaticHistoryReader), until HistoryTTL after TS (0: forever). Set for features with
	// `history: true`.
	History    bool
	HistoryTTL time.Duration
}

// ActionEvent is one event of an action feature: its time (Unix ms) and its member, the event's
// fields as compact JSON with sorted keys. Members are compared byte for byte: with dedupe on,
// the same member written twice is one event whose time is the newer one.
type ActionEvent struct {
	TS     int64
	Member string
}

// StoredEvent is an action event with its expiry, as the source of truth holds it: what a
// refill carries to Redis.
type StoredEvent struct {
	ActionEvent
	ExpireAt int64 // Unix seconds; 0 = never
}

// ActionQuery asks for the newest Count events of Key with TS >= MinTS (0: no lower bound),
// newest first. MaxTS > 0 asks for the series as it was at that instant (point in time: events
// with TS <= MaxTS, see PointInTime); Filter (nil: none) keeps only matching events. Callers
// fold the feature's TTL into MinTS (now-TTL), so expired events that a backend still holds are
// never returned. Dedupe and MaxCount describe the feature so that a backend that does not keep
// sorted-set semantics itself (the DynamoDB fallback) can answer exactly as Redis would.
type ActionQuery struct {
	Key      Key
	Count    int
	MinTS    int64
	Dedupe   bool
	MaxCount int
	MaxTS    int64   // 0 = now
	Filter   *Filter // nil = every event; compared by pointer (one per field of a request)
}

// ActionWrite appends one event to an action feature. The stored series keeps at most MaxCount
// events (the oldest are trimmed); with TTL > 0 an event is invisible once TS+TTL has passed and
// the key expires no earlier than its newest event's TS+TTL.
type ActionWrite struct {
	Key      Key
	TS       int64
	Member   string
	MaxCount int
	TTL      time.Duration
}

// ExpireAt is the Unix time in seconds at which the event expires, or 0 when it never does.
func (w ActionWrite) ExpireAt() int64 {
	if w.TTL <= 0 {
		return 0
	}
	return (w.TS + w.TTL.Milliseconds()) / 1000
}
