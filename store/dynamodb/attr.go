package dynamodb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
func valueAttr(v store.Value) (types.AttributeValue, error) {
	switch v.Kind {
	case store.Int:
		return attrN(v.Num), nil
	case store.Float:
		n, err := formatFloat(v.Float)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberN{Value: n}, nil
	case store.String:
		return &types.AttributeValueMemberS{Value: v.Str}, nil
	case store.Bool:
		return &types.AttributeValueMemberBOOL{Value: v.Bool()}, nil
	case store.Time:
		return &types.AttributeValueMemberS{Value: v.Time().Format(time.RFC3339Nano)}, nil
	case store.JSON:
		return toAttr(json.RawMessage(v.Str))
	case store.List:
		l := make([]types.AttributeValue, len(v.Items))
		for i, it := range v.Items {
			av, err := valueAttr(it)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case store.Map:
		m := make(map[string]types.AttributeValue, len(v.Keys))
		for i, k := range v.Keys {
			av, err := valueAttr(v.Items[i])
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			m[k] = av
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("cannot store a value of kind %d", v.Kind)
}

// toAttr converts a canonical value to an attribute value.
func toAttr(v any) (types.AttributeValue, error) {
	switch x := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case int64:
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(x, 10)}, nil
	case int:
		return &types.AttributeValueMemberN{Value: strconv.Itoa(x)}, nil
	case int32:
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(int64(x), 10)}, nil
	case float64:
		n, err := formatFloat(x)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberN{Value: n}, nil
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return nil, fmt.Errorf("bad number %q", string(x))
		}
		return &types.AttributeValueMemberN{Value: string(x)}, nil
	case string:
		return &types.AttributeValueMemberS{Value: x}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}, nil
	case time.Time:
		return &types.AttributeValueMemberS{Value: x.UTC().Format(time.RFC3339Nano)}, nil
	case json.RawMessage:
		dec := json.NewDecoder(bytes.NewReader(x))
		dec.UseNumber()
		var d any
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("bad JSON value: %v", err)
		}
		return toAttr(d)
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, it := range x {
			av, err := toAttr(it)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(x))
		for k, it := range x {
			av, err := toAttr(it)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			m[k] = av
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
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

// fromAttr converts an attribute value to a Go value (numbers as json.Number).
func fromAttr(av types.AttributeValue) (any, error) {
	switch x := av.(type) {
	case nil:
		return nil, nil
	case *types.AttributeValueMemberNULL:
		return nil, nil
	case *types.AttributeValueMemberS:
		return x.Value, nil
	case *types.AttributeValueMemberN:
		return json.Number(x.Value), nil
	case *types.AttributeValueMemberBOOL:
		return x.Value, nil
	case *types.AttributeValueMemberL:
		out := make([]any, len(x.Value))
		for i, it := range x.Value {
			v, err := fromAttr(it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *types.AttributeValueMemberM:
		out := make(map[string]any, len(x.Value))
		for k, it := range x.Value {
			v, err := fromAttr(it)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case *types.AttributeValueMemberSS: // written by other tools
		out := make([]any, len(x.Value))
		for i, s := range x.Value {
			out[i] = s
		}
		return out, nil
	case *types.AttributeValueMemberNS:
		out := make([]any, len(x.Value))
		for i, s := range x.Value {
			out[i] = json.Number(s)
		}
		return out, nil
	case *types.AttributeValueMemberB:
		return x.Value, nil
	}
	return nil, fmt.Errorf("unsupported attribute type %T", av)
}

func attrS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func attrN(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// staticKey is the primary key of the static item of pk.
func staticKey(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": attrS(pk), "sk": attrN(0)}
}

// stringAttr and intAttr read an attribute of an item.
func stringAttr(item map[string]types.AttributeValue, name string) (string, bool) {
	s, ok := item[name].(*types.AttributeValueMemberS)
	if !ok {
		return "", false
	}
	return s.Value, true
}

func intAttr(item map[string]types.AttributeValue, name string) (int64, bool) {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(n.Value, 64)
		if ferr != nil {
			return 0, false
		}
		i = int64(f)
	}
	return i, true
}
