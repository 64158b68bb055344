package offline

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// Record is a row that a Spool and a Sink carry.
type Record interface {
	// Partition is the row's partition path: "<kind>/<key>=<value>/.../date=YYYY-MM-DD/hour=HH".
	Partition() string
	// Key is the row's Kafka record key (the entity id, the request id).
	Key() string
}

// Row is one downsynced online write: a static value or an action event. Exactly one value
// column is set for a static feature of a single scalar type; containers (list, set, map),
// JSON values and action events' fields are in ValueJSON.
type Row struct {
	Entity      string     `parquet:"entity" json:"entity"`
	EntityID    string     `parquet:"entity_id" json:"entity_id"`
	Feature     string     `parquet:"feature" json:"feature"`
	FeatureType string     `parquet:"feature_type" json:"feature_type"` // static | action
	ValueType   string     `parquet:"value_type" json:"value_type"`     // Int, list<String>, event, ...
	ValueInt    *int64     `parquet:"value_int,optional" json:"value_int,omitempty"`
	ValueFloat  *float64   `parquet:"value_float,optional" json:"value_float,omitempty"`
	ValueString *string    `parquet:"value_string,optional" json:"value_string,omitempty"`
	ValueBool   *bool      `parquet:"value_bool,optional" json:"value_bool,omitempty"`
	ValueTime   *time.Time `parquet:"value_time,optional,timestamp(nanosecond)" json:"value_time,omitempty"`
	ValueJSON   *string    `parquet:"value_json,optional" json:"value_json,omitempty"`
	EventTime   time.Time  `parquet:"event_time,timestamp(millisecond)" json:"event_time"`
	IngestTime  time.Time  `parquet:"ingest_time,timestamp(millisecond)" json:"ingest_time"`
	Source      string     `parquet:"source" json:"source"`
	Fingerprint string     `parquet:"registry_fingerprint" json:"registry_fingerprint"`
}

// Partition is downsync/entity=<e>/feature=<f>/date=<d>/hour=<h>, by event time (UTC).
func (r Row) Partition() string {
	b := make([]byte, 0, 64+len(r.Entity)+len(r.Feature))
	b = append(b, "downsync/entity="...)
	b = append(b, r.Entity...)
	b = append(b, "/feature="...)
	b = append(b, r.Feature...)
	return string(appendHour(b, r.EventTime))
}

// appendHour appends "/date=YYYY-MM-DD/hour=HH" of t in UTC.
func appendHour(b []byte, t time.Time) []byte {
	t = t.UTC()
	b = append(b, "/date="...)
	b = t.AppendFormat(b, "2006-01-02")
	b = append(b, "/hour="...)
	if h := t.Hour(); h < 10 {
		b = append(b, '0', byte('0'+h))
	} else {
		b = strconv.AppendInt(b, int64(h), 10)
	}
	return b
}

// Key is the entity id.
func (r Row) Key() string { return r.Entity + ":" + r.EntityID }

// staticRow builds the row of a static write of feature f.
func staticRow(f *registry.Feature, w store.StaticWrite) Row {
	r := Row{Entity: f.Entity.Name, EntityID: w.Key.ID, Feature: f.Name, FeatureType: string(registry.Static),
		EventTime: time.UnixMilli(w.TS).UTC()}
	r.ValueType = string(f.Type)
	if f.Container != "" && f.Container != registry.Single {
		r.ValueType = string(f.Container) + "<" + string(f.Type) + ">"
	}
	v := w.Value
	switch v.Kind {
	case store.Int:
		n := v.Num
		r.ValueInt = &n
	case store.Float:
		x := v.Float
		r.ValueFloat = &x
	case store.String:
		s := v.Str
		r.ValueString = &s
	case store.Bool:
		b := v.Bool()
		r.ValueBool = &b
	case store.Time:
		t := v.Time()
		r.ValueTime = &t
	default: // JSON, List, Map
		s := string(v.AppendJSON(nil))
		r.ValueJSON = &s
	}
	return r
}

// actionRow builds the row of an action event of feature f: its fields as JSON (without the
// member's dedupe time field).
func actionRow(f *registry.Feature, w store.ActionWrite) Row {
	fields := w.Member
	if strings.Contains(fields, `"`+store.TimeField+`"`) {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(fields), &m) == nil {
			delete(m, store.TimeField)
			if b, err := json.Marshal(m); err == nil {
				fields = string(b)
			}
		}
	}
	return Row{Entity: f.Entity.Name, EntityID: w.Key.ID, Feature: f.Name, FeatureType: string(registry.Action),
		ValueType: "event", ValueJSON: &fields, EventTime: time.UnixMilli(w.TS).UTC()}
}

// sanitize keeps a name usable as a path element.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '=' || r < ' ' || r == '\\' {
			return '_'
		}
		return r
	}, s)
}
