package plan

import (
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// valueOf turns a canonical value (registry.Coerce's form) into a store.Value, keeping what the
// gqlgen glue keeps (resolvers/convert.go): a list drops items of the wrong form, a map is its
// entries sorted by key.
func valueOf(f *registry.Feature, v any) (store.Value, error) {
	switch f.Container {
	case registry.List, registry.Set:
		items, ok := v.([]any)
		if !ok {
			return store.Value{}, nil
		}
		out := make([]store.Value, 0, len(items))
		for _, it := range items {
			if x := scalarOf(f.Type, it); x.Kind != store.Absent {
				out = append(out, x)
			}
		}
		return store.ListValue(out), nil
	case registry.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return store.Value{}, nil
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		outK := keys[:0:0]
		outV := make([]store.Value, 0, len(keys))
		for _, k := range keys {
			if x := scalarOf(f.Type, m[k]); x.Kind != store.Absent {
				outK = append(outK, k)
				outV = append(outV, x)
			}
		}
		return store.MapValue(outK, outV), nil
	}
	return scalarOf(f.Type, v), nil
}

func scalarOf(t registry.Type, v any) store.Value {
	switch t {
	case registry.Int:
		if n, ok := v.(int64); ok {
			return store.IntValue(n)
		}
	case registry.Float:
		if x, ok := v.(float64); ok {
			return store.FloatValue(x)
		}
	case registry.String:
		if s, ok := v.(string); ok {
			return store.StringValue(s)
		}
	case registry.Boolean:
		if b, ok := v.(bool); ok {
			return store.BoolValue(b)
		}
	case registry.Time:
		if x, ok := v.(time.Time); ok && !x.IsZero() {
			return timeText(x)
		}
	case registry.JSON:
		if raw, ok := v.(json.RawMessage); ok {
			return store.JSONValue(string(raw))
		}
	}
	return store.Value{}
}

// timeText is a time as gqlgen's Time scalar writes it (RFC 3339 with nanoseconds, in the time's
// own zone), kept as JSON text so the zone is not lost.
func timeText(t time.Time) store.Value {
	var buf [48]byte
	b := append(buf[:0], '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return store.JSONValue(string(append(b, '"')))
}

var errNotBoolean = errors.New("not a boolean")

// decodeMember decodes a stored member into vals (one per field of the feature), field by field
// as the generated glue does (resolvers/member.go): unknown keys are ignored, a missing or null
// field is Absent.
func decodeMember(ai *actionInfo, member string, vals []store.Value) error {
	clear(vals)
	return store.MemberFields([]byte(member), func(key string, raw []byte) error {
		i, ok := ai.byMember[key]
		if !ok || string(raw) == "null" {
			return nil
		}
		switch ai.f.Fields[i].Type {
		case registry.Int:
			n, err := strconv.Atoi(string(raw))
			if err != nil {
				return err
			}
			vals[i] = store.IntValue(int64(n))
		case registry.Float:
			x, err := strconv.ParseFloat(string(raw), 64)
			if err != nil {
				return err
			}
			vals[i] = store.FloatValue(x)
		case registry.String:
			s, err := store.UnquoteMember(raw)
			if err != nil {
				return err
			}
			vals[i] = store.StringValue(s)
		case registry.Boolean:
			switch string(raw) {
			case "true":
				vals[i] = store.BoolValue(true)
			case "false":
				vals[i] = store.BoolValue(false)
			default:
				return errNotBoolean
			}
		case registry.Time:
			s, err := store.UnquoteMember(raw)
			if err != nil {
				return err
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return err
			}
			if !t.IsZero() {
				vals[i] = timeText(t)
			}
		case registry.JSON:
			vals[i] = store.JSONValue(string(raw))
		}
		return nil
	})
}
