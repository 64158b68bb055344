package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unsafe"
)

// AppendBinary appends the compact binary form of v: one kind byte, then
//
//	Int, Time   zig-zag varint        Float   8 bytes, little-endian IEEE 754
//	Bool        one byte, 0 or 1      String, JSON   uvarint length, bytes
//	List        uvarint count, items  Map     uvarint count, (uvarint length, key, item) each
//	Absent      nothing
//
// DecodeBinary reads it back. The Redis backend stores static values in this form.
func (v Value) AppendBinary(dst []byte) []byte {
	dst = append(dst, byte(v.Kind))
	switch v.Kind {
	case Int, Time:
		dst = binary.AppendVarint(dst, v.Num)
	case Float:
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Float))
	case Bool:
		dst = append(dst, byte(v.Num&1))
	case String, JSON:
		dst = binary.AppendUvarint(dst, uint64(len(v.Str)))
		dst = append(dst, v.Str...)
	case List:
		dst = binary.AppendUvarint(dst, uint64(len(v.Items)))
		for _, it := range v.Items {
			dst = it.AppendBinary(dst)
		}
	case Map:
		dst = binary.AppendUvarint(dst, uint64(len(v.Keys)))
		for i, k := range v.Keys {
			dst = binary.AppendUvarint(dst, uint64(len(k)))
			dst = append(dst, k...)
			dst = v.Items[i].AppendBinary(dst)
		}
	}
	return dst
}

var errShort = errors.New("truncated value")

// DecodeBinary reads one value written by AppendBinary from the start of b and returns the
// bytes after it.
func DecodeBinary(b []byte) (Value, []byte, error) {
	return decodeBinary(b, 0)
}

// DecodeBinaryTo is DecodeBinary into *v, which it overwrites whole (Absent on an error). Ints,
// times and floats, most stored values, are written in place without building a Value to
// return (a Value is 88 bytes; a read of 5,000 values copied each several times).
func DecodeBinaryTo(b []byte, v *Value) ([]byte, error) {
	if len(b) > 0 {
		switch k := Kind(b[0]); k {
		case Int, Time:
			if n, w := binary.Varint(b[1:]); w > 0 {
				*v = Value{Kind: k, Num: n}
				return b[1+w:], nil
			}
		case Float:
			if len(b) >= 9 {
				*v = Value{Kind: Float, Float: math.Float64frombits(binary.LittleEndian.Uint64(b[1:]))}
				return b[9:], nil
			}
		}
	}
	val, rest, err := decodeBinary(b, 0)
	*v = val
	return rest, err
}

const maxDepth = 4 // a Value nests at most List/Map of scalars; a little slack

func decodeBinary(b []byte, depth int) (Value, []byte, error) {
	if len(b) == 0 {
		return Value{}, nil, errShort
	}
	v := Value{Kind: Kind(b[0])}
	b = b[1:]
	switch v.Kind {
	case Absent:
	case Int, Time:
		n, k := binary.Varint(b)
		if k <= 0 {
			return Value{}, nil, errShort
		}
		v.Num, b = n, b[k:]
	case Float:
		if len(b) < 8 {
			return Value{}, nil, errShort
		}
		v.Float, b = math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:]
	case Bool:
		if len(b) < 1 {
			return Value{}, nil, errShort
		}
		v.Num, b = int64(b[0]&1), b[1:]
	case String, JSON:
		s, rest, err := decodeBytes(b)
		if err != nil {
			return Value{}, nil, err
		}
		v.Str, b = string(s), rest
	case List, Map:
		if depth >= maxDepth {
			return Value{}, nil, errors.New("value nested too deeply")
		}
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) { // every item takes at least one byte
			return Value{}, nil, errShort
		}
		b = b[k:]
		v.Items = make([]Value, n)
		if v.Kind == Map {
			v.Keys = make([]string, n)
		}
		for i := range v.Items {
			if v.Kind == Map {
				s, rest, err := decodeBytes(b)
				if err != nil {
					return Value{}, nil, err
				}
				v.Keys[i], b = string(s), rest
			}
			it, rest, err := decodeBinary(b, depth+1)
			if err != nil {
				return Value{}, nil, err
			}
			v.Items[i], b = it, rest
		}
	default:
		return Value{}, nil, fmt.Errorf("unknown value kind %d", v.Kind)
	}
	return v, b, nil
}

func decodeBytes(b []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errShort
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// Equal reports whether a and b are the same value (Float compared by bits, so NaN equals NaN).
func Equal(a, b Value) bool {
	if a.Kind != b.Kind || len(a.Items) != len(b.Items) || len(a.Keys) != len(b.Keys) {
		return false
	}
	switch a.Kind {
	case Float:
		if math.Float64bits(a.Float) != math.Float64bits(b.Float) {
			return false
		}
	case Int, Time, Bool:
		if a.Num != b.Num {
			return false
		}
	case String, JSON:
		if a.Str != b.Str {
			return false
		}
	}
	for i := range a.Items {
		if !Equal(a.Items[i], b.Items[i]) {
			return false
		}
	}
	for i := range a.Keys {
		if a.Keys[i] != b.Keys[i] {
			return false
		}
	}
	return true
}

// Size estimates the bytes v holds in memory (the struct, its strings and items), for caches
// bounded in bytes.
func (v Value) Size() int {
	n := int(unsafe.Sizeof(v)) + len(v.Str)
	for _, it := range v.Items {
		n += it.Size()
	}
	for _, k := range v.Keys {
		n += int(unsafe.Sizeof(k)) + len(k)
	}
	return n
}

// String returns the value's JSON form (for messages and tests).
func (v Value) String() string {
	if v.Kind == Absent {
		return "<absent>"
	}
	return string(v.AppendJSON(nil))
}

// ValueDecoder turns a value that a backend holds without its type (DynamoDB keeps numbers,
// strings, lists and maps, but not whether a number is an Int or a Float, a string a Time)
// into the typed Value of its feature. registry.Registry implements it.
type ValueDecoder interface {
	DecodeStatic(prefix, feature string, v any) (Value, error)
}

// UntypedDecoder decodes without knowing the feature: json.Number as Int when it is integral,
// else Float; string as String; bool as Bool; nil as the JSON null; []any as List;
// map[string]any as Map (keys sorted). Backends use it when they are given no ValueDecoder.
type UntypedDecoder struct{}

// DecodeStatic implements ValueDecoder.
func (UntypedDecoder) DecodeStatic(_, _ string, v any) (Value, error) { return untyped(v) }

func untyped(v any) (Value, error) {
	switch x := v.(type) {
	case nil:
		return JSONValue("null"), nil
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return IntValue(n), nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return Value{}, fmt.Errorf("bad number %q", string(x))
		}
		return FloatValue(f), nil
	case int64:
		return IntValue(x), nil
	case float64:
		return FloatValue(x), nil
	case string:
		return StringValue(x), nil
	case bool:
		return BoolValue(x), nil
	case []any:
		items := make([]Value, len(x))
		for i, it := range x {
			iv, err := untyped(it)
			if err != nil {
				return Value{}, err
			}
			items[i] = iv
		}
		return ListValue(items), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		items := make([]Value, len(keys))
		for i, k := range keys {
			iv, err := untyped(x[k])
			if err != nil {
				return Value{}, err
			}
			items[i] = iv
		}
		return MapValue(keys, items), nil
	}
	return Value{}, fmt.Errorf("unsupported value type %T", v)
}

var kindNames = [...]string{Absent: "absent", Int: "Int", Float: "Float", String: "String", Bool: "Boolean", Time: "Time", JSON: "JSON", List: "list", Map: "map"}

// String names the kind as the registry names types.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(int(k))
}
