package store

import "time"

// StaticValue is the current value of one static feature and the event time (Unix ms) of the
// event that set it.
//
// Value holds one of the canonical Go forms: int64, float64, string, bool, time.Time,
// json.RawMessage (the JSON type), []any (list and set containers) or map[string]any (map
// containers). Backends may hand numbers back as json.Number and times as RFC 3339 strings;
// registry.Coerce with the feature's type turns any of these into the canonical form.
type StaticValue struct {
	Value any
	TS    int64
}

// StaticWrite sets a static feature. A write whose TS is older than the stored value's TS is
// ignored: an older event never overwrites a newer one. Equal TS overwrites, so a redelivered
// event is harmless.
type StaticWrite struct {
	Key   Key
	Value any
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
