package store

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strconv"
	"time"
)

// FilterOp is one comparison of a filter condition.
type FilterOp uint8

// The filter operators. Eq, In, the ordered comparisons and Exists(true) need the field to be
// present (not null); Ne, NotIn and Exists(false) hold for an event that lacks the field.
const (
	OpEq FilterOp = iota + 1
	OpNe
	OpIn
	OpNotIn
	OpGt
	OpGte
	OpLt
	OpLte
	OpExists // Values[0] is a Bool: true = the field is present
)

// Cond is one condition on one event field: Field (the stored member key, snake_case) compared
// with Values (one, or any number for In/NotIn) of the field's registry type (Kind Int, Float,
// String, Bool or Time).
type Cond struct {
	Field  string
	Op     FilterOp
	Values []Value
}

// Filter keeps the events for which every condition holds (AND). A query's Filter selects
// among the events the series holds: the newest Count matching events of the window, counted
// among the feature's newest MaxCount events, exactly as a filter applied to the Redis sorted set.
type Filter struct {
	Conds []Cond
}

// Match reports whether the event with this member passes f. A member that is not a JSON
// object matches no condition that needs a field.
func (f *Filter) Match(member string) bool {
	if f == nil || len(f.Conds) == 0 {
		return true
	}
	fields := decodeFields(member)
	for _, c := range f.Conds {
		if !c.holds(fields) {
			return false
		}
	}
	return true
}

// Apply returns the events of evs (newest first) that match f, at most n (n <= 0: all). evs is
// not modified.
func (f *Filter) Apply(evs []ActionEvent, n int) []ActionEvent {
	var out []ActionEvent
	for _, e := range evs {
		if n > 0 && len(out) == n {
			break
		}
		if f.Match(e.Member) {
			out = append(out, e)
		}
	}
	return out
}

func decodeFields(member string) map[string]any {
	dec := json.NewDecoder(bytes.NewReader([]byte(member)))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil
	}
	return fields
}

func (c Cond) holds(fields map[string]any) bool {
	raw, present := fields[c.Field]
	if raw == nil {
		present = false
	}
	switch c.Op {
	case OpExists:
		return len(c.Values) == 0 || present == c.Values[0].Bool()
	case OpNe:
		return !present || compare(raw, c.Values[0]) != 0
	case OpNotIn:
		if !present {
			return true
		}
		for _, v := range c.Values {
			if compare(raw, v) == 0 {
				return false
			}
		}
		return true
	}
	if !present {
		return false
	}
	switch c.Op {
	case OpEq:
		return compare(raw, c.Values[0]) == 0
	case OpIn:
		for _, v := range c.Values {
			if compare(raw, v) == 0 {
				return true
			}
		}
		return false
	case OpGt:
		r := compare(raw, c.Values[0])
		return r != incomparable && r > 0
	case OpGte:
		r := compare(raw, c.Values[0])
		return r != incomparable && r >= 0
	case OpLt:
		r := compare(raw, c.Values[0])
		return r != incomparable && r < 0
	case OpLte:
		r := compare(raw, c.Values[0])
		return r != incomparable && r <= 0
	}
	return false
}

// incomparable is what compare returns when the stored value is not of the condition's type.
const incomparable = 2

// compare orders a stored member value (as decoded with UseNumber) against v: -1, 0, 1, or
// incomparable.
func compare(raw any, v Value) int {
	switch v.Kind {
	case Int:
		n, ok := raw.(json.Number)
		if !ok {
			return incomparable
		}
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return cmp.Compare(i, v.Num)
		}
		f, err := n.Float64()
		if err != nil {
			return incomparable
		}
		return cmp.Compare(f, float64(v.Num))
	case Float:
		n, ok := raw.(json.Number)
		if !ok {
			return incomparable
		}
		f, err := n.Float64()
		if err != nil {
			return incomparable
		}
		return cmp.Compare(f, v.Float)
	case String:
		s, ok := raw.(string)
		if !ok {
			return incomparable
		}
		return cmp.Compare(s, v.Str)
	case Bool:
		b, ok := raw.(bool)
		if !ok {
			return incomparable
		}
		if b == v.Bool() {
			return 0
		}
		return incomparable
	case Time:
		s, ok := raw.(string)
		if !ok {
			return incomparable
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return incomparable
		}
		return cmp.Compare(t.UnixNano(), v.Num)
	}
	return incomparable
}

// PointInTime answers q from every event a feature ever stored (all, newest first: time, then
// member, descending; each event once), as the sorted set would have answered at q.MaxTS
// (0: now): the events with time <= MaxTS; with Dedupe only the newest occurrence of a member;
// the newest MaxCount of those (0: unbounded) inside [MinTS, MaxTS]; the newest Count of them
// that match q.Filter. Backends that keep the full history (memory, DynamoDB) answer from it.
func PointInTime(all []ActionEvent, q ActionQuery) []ActionEvent {
	if q.Count <= 0 {
		return nil
	}
	var series []ActionEvent
	seen := map[string]bool{}
	for _, e := range all {
		if q.MaxTS > 0 && e.TS > q.MaxTS {
			continue
		}
		if e.TS < q.MinTS || (q.MaxCount > 0 && len(series) == q.MaxCount) {
			break
		}
		if q.Dedupe {
			if seen[e.Member] {
				continue
			}
			seen[e.Member] = true
		}
		series = append(series, e)
	}
	return q.Filter.Apply(series, q.Count)
}
