package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Type is a scalar value type of a feature or event field.
type Type string

// The scalar types a registry may use.
const (
	Int     Type = "Int"
	Float   Type = "Float"
	String  Type = "String"
	Boolean Type = "Boolean"
	Time    Type = "Time"
	JSON    Type = "JSON"
)

// Types lists every scalar type, in documentation order.
var Types = []Type{Int, Float, String, Boolean, Time, JSON}

// Container says how many values a static feature holds.
type Container string

// The containers a static feature may use.
const (
	Single Container = "single"
	List   Container = "list"
	Set    Container = "set"
	Map    Container = "map"
)

// Containers lists every container, in documentation order.
var Containers = []Container{Single, List, Set, Map}

// Coerce converts v to the canonical Go form of a value of type t in container c:
// int64, float64, string, bool, time.Time (UTC) or json.RawMessage for a single value; []any for
// list and set (a set sorted and without repeats); map[string]any for map. It accepts the forms
// that JSON decoding, the stores and CSV files produce (json.Number, numeric strings, RFC 3339 or
// epoch times, ...) and returns an error naming the problem for anything else.
func Coerce(t Type, c Container, v any) (any, error) {
	switch c {
	case Single, "":
		return CoerceScalar(t, v)
	case List, Set:
		items, ok := asSlice(v)
		if !ok {
			return nil, fmt.Errorf("want a list of %s, got %s", t, describe(v))
		}
		out := make([]any, 0, len(items))
		for i, it := range items {
			cv, err := CoerceScalar(t, it)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, cv)
		}
		if c == Set {
			out = canonicalSet(t, out)
		}
		return out, nil
	case Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("want a map of string to %s, got %s", t, describe(v))
		}
		out := make(map[string]any, len(m))
		for k, it := range m {
			cv, err := CoerceScalar(t, it)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			out[k] = cv
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown container %q", c)
}

// CoerceScalar converts v to the canonical Go form of one value of type t.
func CoerceScalar(t Type, v any) (any, error) {
	if v == nil {
		return nil, fmt.Errorf("want %s, got null", t)
	}
	switch t {
	case Int:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case int32:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
		case json.Number:
			return parseInt(string(x))
		case string:
			return parseInt(x)
		}
	case Float:
		switch x := v.(type) {
		case float64:
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				return x, nil
			}
		case float32:
			if f := float64(x); !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f, nil
			}
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		case json.Number:
			return parseFloat(string(x))
		case string:
			return parseFloat(x)
		}
	case String:
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return string(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case int:
			return strconv.Itoa(x), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
	case Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, nil
			}
		}
	case Time:
		return ParseTime(v)
	case JSON:
		if raw, ok := v.(json.RawMessage); ok {
			if !json.Valid(raw) {
				return nil, fmt.Errorf("want JSON, got invalid JSON text")
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return nil, err
			}
			return json.RawMessage(buf.Bytes()), nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("want JSON: %w", err)
		}
		return json.RawMessage(b), nil
	default:
		return nil, fmt.Errorf("unknown type %q", t)
	}
	return nil, fmt.Errorf("want %s, got %s", t, describe(v))
}

// ParseTime reads a time from an RFC 3339 string, epoch seconds or epoch milliseconds (numbers
// below 1e11 are seconds: 1e11 s is the year 5138, 1e11 ms is 1973), or a time.Time.
func ParseTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		s := strings.TrimSpace(x)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
		if IsDecimal(s) {
			if n, err := strconv.ParseFloat(s, 64); err == nil {
				return epoch(n), nil
			}
		}
		return time.Time{}, fmt.Errorf("want a time (RFC 3339 or epoch seconds/milliseconds), got %q", x)
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			return time.Time{}, fmt.Errorf("want a time, got %q", string(x))
		}
		return epoch(n), nil
	case float64:
		return epoch(x), nil
	case int64:
		return epoch(float64(x)), nil
	case int:
		return epoch(float64(x)), nil
	}
	return time.Time{}, fmt.Errorf("want a time (RFC 3339 or epoch seconds/milliseconds), got %s", describe(v))
}

func epoch(n float64) time.Time {
	if math.Abs(n) < 1e11 {
		return time.UnixMilli(int64(math.Round(n * 1000))).UTC()
	}
	return time.UnixMilli(int64(math.Round(n))).UTC()
}

// IsDecimal reports whether s is a number as JSON writes one: an optional minus, digits without
// leading zeros, an optional fraction and exponent. Go's own syntax (1_000, 0x1p-2, Inf, +1) and
// surrounding spaces are not numbers in events.
func IsDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// ErrNotExact is matched (errors.Is) by the error of a number that is not exactly a value of the
// type asked for: a fraction for an Int, a number out of the type's range, a Float so small it
// would be stored as 0. Such numbers are rejected, never rounded, clamped or flushed to 0.
var ErrNotExact = errors.New("number not exact in the feature's type")

func parseInt(s string) (any, error) {
	if !IsDecimal(s) {
		return nil, fmt.Errorf("want Int, got %q", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return n, nil
	}
	// A fraction or an exponent: accepted only when the number is exactly a 64-bit integer
	// (1e3, 2.0), never rounded (1.5, 1.0000000000000000001) nor clamped (1e19).
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	if e, err := strconv.Atoi(exp); exp != "" && (err != nil || e > 40 || e < -40) {
		if zeroDecimal(mant) {
			return int64(0), nil
		}
		return nil, fmt.Errorf("%w: want Int, got %q (out of the 64-bit range, or a fraction)", ErrNotExact, s)
	}
	r, ok := new(big.Rat).SetString(s)
	switch {
	case !ok:
		return nil, fmt.Errorf("want Int, got %q", s)
	case !r.IsInt():
		return nil, fmt.Errorf("%w: want Int, got %q (a fraction)", ErrNotExact, s)
	case !r.Num().IsInt64():
		return nil, fmt.Errorf("%w: want Int, got %q (out of the 64-bit range)", ErrNotExact, s)
	}
	return r.Num().Int64(), nil
}

func parseFloat(s string) (any, error) {
	if !IsDecimal(s) {
		return nil, fmt.Errorf("want Float, got %q", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		return nil, fmt.Errorf("%w: want Float, got %q (out of the 64-bit range)", ErrNotExact, s)
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		return nil, fmt.Errorf("want Float, got %q", s)
	case f == 0 && !zeroDecimal(s):
		return nil, fmt.Errorf("%w: want Float, got %q (too small: it would be stored as 0)", ErrNotExact, s)
	}
	return f, nil
}

// zeroDecimal reports whether the decimal number s (IsDecimal) is zero: no digit of its
// mantissa is other than 0.
func zeroDecimal(s string) bool {
	mant, _, _ := strings.Cut(strings.ToLower(s), "e")
	return strings.Trim(mant, "-0.") == ""
}

func asSlice(v any) ([]any, bool) {
	if s, ok := v.([]any); ok {
		return s, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// canonicalSet sorts a set's values and drops repeats, so equal sets compare equal.
func canonicalSet(t Type, vs []any) []any {
	sort.SliceStable(vs, func(i, j int) bool { return lessScalar(t, vs[i], vs[j]) })
	out := vs[:0]
	for i, v := range vs {
		if i > 0 && !lessScalar(t, out[len(out)-1], v) {
			continue
		}
		out = append(out, v)
	}
	return out
}

func lessScalar(t Type, a, b any) bool {
	switch t {
	case Int:
		return a.(int64) < b.(int64)
	case Float:
		return a.(float64) < b.(float64)
	case Boolean:
		return !a.(bool) && b.(bool)
	case Time:
		return a.(time.Time).Before(b.(time.Time))
	case JSON:
		return string(a.(json.RawMessage)) < string(b.(json.RawMessage))
	}
	return a.(string) < b.(string)
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case json.Number, float64, int64, int:
		return fmt.Sprintf("number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
