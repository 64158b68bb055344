package plan

import (
	"errors"
	"strconv"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

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
