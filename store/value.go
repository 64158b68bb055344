package store

import (
	"math"
	"strconv"
	"time"
)

// Kind says which field of a Value holds its data.
type Kind uint8

// The kinds of a Value. Absent means no value is stored (the reader answers the feature's
// default, or null); it is distinct from a stored JSON null.
const (
	Absent Kind = iota
	Int         // Num
	Float       // Float
	String      // Str
	Bool        // Num: 0 or 1
	Time        // Num: Unix nanoseconds, UTC
	JSON        // Str: compact JSON text
	List        // Items, in order (list and set containers; a set is sorted, without repeats)
	Map         // Keys (sorted) and Items (the value of each key, same index)
)

// Value is one typed value of a static feature, in the form the response is written from. It is
// decoded once where it enters the process (a store read, an ingested event) and never holds an
// interface: the registry knows each feature's type, so a value is a tagged struct, and the
// in-process cache keeps it as is. This one representation is shared by every store, the cache,
// gqlgen's resolvers and the compiled plans that write JSON straight from it.
type Value struct {
	Kind  Kind
	Num   int64
	Float float64
	Str   string
	Items []Value
	Keys  []string
}

// IntValue, FloatValue, ... build scalar values.
func IntValue(n int64) Value        { return Value{Kind: Int, Num: n} }
func FloatValue(f float64) Value    { return Value{Kind: Float, Float: f} }
func StringValue(s string) Value    { return Value{Kind: String, Str: s} }
func JSONValue(text string) Value   { return Value{Kind: JSON, Str: text} }
func TimeValue(t time.Time) Value   { return Value{Kind: Time, Num: t.UnixNano()} }
func ListValue(items []Value) Value { return Value{Kind: List, Items: items} }
func BoolValue(b bool) Value {
	if b {
		return Value{Kind: Bool, Num: 1}
	}
	return Value{Kind: Bool}
}

// MapValue builds a map value from sorted keys and their values.
func MapValue(keys []string, items []Value) Value { return Value{Kind: Map, Keys: keys, Items: items} }

// Bool returns the value of a Bool.
func (v Value) Bool() bool { return v.Num != 0 }

// Time returns the value of a Time, in UTC.
func (v Value) Time() time.Time { return time.Unix(0, v.Num).UTC() }

// AppendJSON appends the GraphQL JSON form of a scalar value (Absent is null). List values are
// written as JSON arrays of their items; Map values are the caller's to write, because their
// GraphQL form is a list of entry objects whose fields the query selects (AppendJSON writes a
// Map as a JSON object, the form of the JSON scalar).
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.Kind {
	case Int:
		return strconv.AppendInt(dst, v.Num, 10)
	case Float:
		return AppendFloat(dst, v.Float)
	case String:
		return AppendString(dst, v.Str)
	case Bool:
		return strconv.AppendBool(dst, v.Num != 0)
	case Time:
		dst = append(dst, '"')
		dst = v.Time().AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"')
	case JSON:
		if v.Str == "" {
			return append(dst, "null"...)
		}
		return append(dst, v.Str...)
	case List:
		dst = append(dst, '[')
		for i, it := range v.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = it.AppendJSON(dst)
		}
		return append(dst, ']')
	case Map:
		dst = append(dst, '{')
		for i, k := range v.Keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			dst = v.Items[i].AppendJSON(dst)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

// AppendFloat appends f as gqlgen writes a Float (fmt's %g, which is strconv's shortest 'g' form).
// NaN and infinities, which JSON cannot carry and ingestion never stores, are written as null.
//
// A float with at most three decimals between 0.001 and 1e6 in magnitude (prices, rates,
// scores as usually stored) takes a fast path that writes the same digits: there the double
// nearest to m/1000 has m/1000 as its shortest form (decimals 0.001 apart are far more than one
// ulp apart, so no shorter decimal rounds to it), and %g writes it without an exponent.
func AppendFloat(dst []byte, f float64) []byte {
	if a := math.Abs(f); a >= 1e-3 && a < 1e6 {
		if m := math.Round(f * 1000); m/1000 == f {
			return appendMilli(dst, int64(m))
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// appendMilli appends m/1000 in decimal, without trailing zeros after the point.
func appendMilli(dst []byte, m int64) []byte {
	if m < 0 {
		dst = append(dst, '-')
		m = -m
	}
	dst = strconv.AppendInt(dst, m/1000, 10)
	frac := m % 1000
	if frac == 0 {
		return dst
	}
	d := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for d[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, d[:n]...)
}

const hexDigits = "0123456789ABCDEF"

// AppendString appends s as a JSON string, byte for byte as gqlgen's graphql.MarshalString
// writes it (control characters as \u00XX with upper-case hex; other bytes as they are).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x20 && b != '"' && b != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch b {
		case '\\', '"':
			dst = append(dst, '\\', b)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
