package dynamodb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// Static values are stored in the native DynamoDB type of their kind, so the table reads
// naturally in any DynamoDB tool:
//
//	Int, Float → N   String → S   Bool → BOOL   Time → S (RFC 3339, nanoseconds)
//	JSON → the decoded JSON: M, L, S, N, BOOL or NULL
//	List (list and set) → L   Map → M
//
// Every list is an L: SS/NS cannot be empty, and sets arrive sorted and unique, so L
// round-trips both. Values read back as string, json.Number, bool, nil, []any and
// map[string]any, which Config.Values (the registry) types again.

// valueAttr converts a typed value to its attribute value, as the layout above says.
func valueAttr(v store.Value) (attrValue, error) {
	switch v.Kind {
	case store.Int:
		return attrN(v.Num), nil
	case store.Float:
		n, err := formatFloat(v.Float)
		if err != nil {
			return attrValue{}, err
		}
		return attrNum(n), nil
	case store.String:
		return attrS(v.Str), nil
	case store.Bool:
		return attrBool(v.Bool()), nil
	case store.Time:
		return attrS(v.Time().Format(time.RFC3339Nano)), nil
	case store.JSON:
		return toAttr(json.RawMessage(v.Str))
	case store.List:
		l := make([]field, len(v.Items))
		for i, it := range v.Items {
			av, err := valueAttr(it)
			if err != nil {
				return attrValue{}, fmt.Errorf("item %d: %w", i, err)
			}
			l[i].val = av
		}
		return attrValue{kind: avL, elems: l}, nil
	case store.Map:
		m := make([]field, len(v.Keys))
		for i, k := range v.Keys {
			av, err := valueAttr(v.Items[i])
			if err != nil {
				return attrValue{}, fmt.Errorf("key %q: %w", k, err)
			}
			m[i] = field{k, av}
		}
		return attrValue{kind: avM, elems: m}, nil
	}
	return attrValue{}, fmt.Errorf("cannot store a value of kind %d", v.Kind)
}

// toAttr converts a canonical value to an attribute value.
func toAttr(v any) (attrValue, error) {
	switch x := v.(type) {
	case nil:
		return attrValue{kind: avNULL, boolean: true}, nil
	case int64:
		return attrN(x), nil
	case int:
		return attrN(int64(x)), nil
	case int32:
		return attrN(int64(x)), nil
	case float64:
		n, err := formatFloat(x)
		if err != nil {
			return attrValue{}, err
		}
		return attrNum(n), nil
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return attrValue{}, fmt.Errorf("bad number %q", string(x))
		}
		return attrNum(string(x)), nil
	case string:
		return attrS(x), nil
	case bool:
		return attrBool(x), nil
	case time.Time:
		return attrS(x.UTC().Format(time.RFC3339Nano)), nil
	case json.RawMessage:
		dec := json.NewDecoder(bytes.NewReader(x))
		dec.UseNumber()
		var d any
		if err := dec.Decode(&d); err != nil {
			return attrValue{}, fmt.Errorf("bad JSON value: %v", err)
		}
		return toAttr(d)
	case []any:
		l := make([]field, len(x))
		for i, it := range x {
			av, err := toAttr(it)
			if err != nil {
				return attrValue{}, fmt.Errorf("item %d: %w", i, err)
			}
			l[i].val = av
		}
		return attrValue{kind: avL, elems: l}, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // stable requests
		m := make([]field, len(keys))
		for i, k := range keys {
			av, err := toAttr(x[k])
			if err != nil {
				return attrValue{}, fmt.Errorf("key %q: %w", k, err)
			}
			m[i] = field{k, av}
		}
		return attrValue{kind: avM, elems: m}, nil
	}
	return attrValue{}, fmt.Errorf("unsupported value type %T", v)
}

// formatFloat writes a float as a DynamoDB number: plain decimal in the usual range, exponent
// notation for very large or small magnitudes (DynamoDB keeps 38 significant digits).
func formatFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("number %v cannot be stored", f)
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	}
	return strconv.FormatFloat(f, 'e', -1, 64), nil
}

// fromAttr converts an attribute value to a Go value (numbers as json.Number). A missing
// attribute (nil) is nil.
func fromAttr(av *attrValue) (any, error) {
	if av == nil {
		return nil, nil
	}
	switch av.kind {
	case avNULL:
		return nil, nil
	case avS:
		return av.str, nil
	case avN:
		return json.Number(av.str), nil
	case avBOOL:
		return av.boolean, nil
	case avL, avSS, avNS, avBS: // sets are written by other tools
		out := make([]any, len(av.elems))
		for i := range av.elems {
			v, err := fromAttr(&av.elems[i].val)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case avM:
		out := make(map[string]any, len(av.elems))
		for i := range av.elems {
			v, err := fromAttr(&av.elems[i].val)
			if err != nil {
				return nil, err
			}
			out[av.elems[i].name] = v
		}
		return out, nil
	case avB:
		b, err := av.bytes()
		if err != nil {
			return nil, fmt.Errorf("binary attribute: %v", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("unsupported attribute type %d", av.kind)
}

// staticKey is the primary key of the static item of pk.
func staticKey(pk string) item {
	return item{{"pk", attrS(pk)}, {"sk", attrN(0)}}
}

// stringAttr and intAttr read an attribute of an item.
func stringAttr(it item, name string) (string, bool) {
	v := it.get(name)
	if v == nil || v.kind != avS {
		return "", false
	}
	return v.str, true
}

func intAttr(it item, name string) (int64, bool) {
	v := it.get(name)
	if v == nil || v.kind != avN {
		return 0, false
	}
	i, err := strconv.ParseInt(v.str, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(v.str, 64)
		if ferr != nil {
			return 0, false
		}
		i = int64(f)
	}
	return i, true
}
