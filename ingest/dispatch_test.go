package ingest_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
)

// testRegistry exercises what the example registry does not: every filter operator, String ids,
// a spec without sub-topic, flattened paths, list indexes, Time and JSON action fields.
const testRegistry = `
entities:
  user: { prefix: u, idType: Int }
  device: { prefix: d, idType: String }
streams:
  s: { subTopicField: meta.kind }
features:
  user:
    op_equal:     { featureType: static, type: String, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: v, condition: { optype: equal, values: [a] } }], fields: [{ name: v }] }] }
    op_not_equal: { featureType: static, type: String, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: v, condition: { optype: not_equal, values: [a] } }], fields: [{ name: id }] }] }
    op_in:        { featureType: static, type: String, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: v, condition: { optype: in, values: [a, b] } }], fields: [{ name: v }] }] }
    op_not_in:    { featureType: static, type: String, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: v, condition: { optype: not_in, values: [a, b] } }], fields: [{ name: id }] }] }
    op_contain:   { featureType: static, type: String, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: tags, condition: { optype: contain, values: [x] } }], fields: [{ name: id }] }] }
    op_gt:        { featureType: static, type: Int, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: n, type: Int, condition: { optype: gt, values: [10] } }], fields: [{ name: n }] }] }
    op_gte:       { featureType: static, type: Int, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: n, type: Int, condition: { optype: gte, values: [10] } }], fields: [{ name: n }] }] }
    op_lt:        { featureType: static, type: Float, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: n, type: Float, condition: { optype: lt, values: [10] } }], fields: [{ name: n }] }] }
    op_lte:       { featureType: static, type: Float, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: n, type: Float, condition: { optype: lte, values: [10] } }], fields: [{ name: n }] }] }
    op_time_gte:  { featureType: static, type: Time, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: ts, type: Time, condition: { optype: gte, values: ["2026-01-01T00:00:00Z"] } }], fields: [{ name: ts }] }] }
    op_exists:    { featureType: static, type: String, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: v, condition: { optype: exists } }], fields: [{ name: v }] }] }
    op_absent:    { featureType: static, type: String, events: [{ streamName: s, topic: ops, subTopic: e, entityId: id, timestamp: ts, filter: [{ name: v, condition: { optype: exists, values: [false] } }], fields: [{ name: id }] }] }
    any_kind:     { featureType: static, type: Int, events: [{ streamName: s, topic: wild, entityId: id, fields: [{ name: items.1.n }] }] }
    flat:         { featureType: static, type: String, events: [{ streamName: s, topic: flat, subTopic: f, entityId: id, timestamp: ts, fields: [{ name: params.source }] }] }
    raw:          { featureType: static, type: JSON, events: [{ streamName: s, topic: flat, subTopic: f, entityId: id, timestamp: ts, fields: [{ name: params }] }] }
    seen:
      featureType: action
      dedupe: false
      maxCount: 5
      ttl: 1h
      fields:
        - { name: device_id, type: String, join: device }
        - { name: at, type: Time }
        - { name: extra, type: JSON }
        - { name: ok, type: Boolean }
      events:
        - { streamName: s, topic: dev, subTopic: seen, entityId: user.id, timestamp: ts, fields: [{ name: dev, rename: device_id }, { name: at }, { name: extra }, { name: ok }] }
  device:
    model: { featureType: static, type: String, events: [{ streamName: s, topic: dev, subTopic: seen, entityId: dev, timestamp: ts, fields: [{ name: model }] }] }
`

func testDispatcher(t testing.TB) *ingest.Dispatcher {
	t.Helper()
	reg, err := registry.Parse(map[string][]byte{"test.yaml": []byte(testRegistry)})
	if err != nil {
		t.Fatalf("parse test registry: %v", err)
	}
	return ingest.NewDispatcher(reg, ingest.WithClock(func() time.Time { return fixedNow }))
}

func env(stream, topic, sub, event string) ingest.Envelope {
	return ingest.Envelope{StreamName: stream, Topic: topic, SubTopic: sub, Event: json.RawMessage(event)}
}

// staticFeatures returns "feature=value" for each static write, sorted.
func staticFeatures(res *ingest.Result) []string {
	var out []string
	for _, w := range res.Static {
		v := ingesttest.Any(w.Value)
		if raw, ok := v.(json.RawMessage); ok {
			v = string(raw)
		}
		if tm, ok := v.(time.Time); ok {
			v = tm.Format(time.RFC3339)
		}
		out = append(out, w.Key.Feature+"="+strings.TrimSpace(strings.ReplaceAll(jsonString(v), "\"", "")))
	}
	sort.Strings(out)
	return out
}

func jsonString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestDispatchOperators(t *testing.T) {
	d := testDispatcher(t)
	tests := []struct {
		name  string
		event string
		want  []string
	}{
		{"equal, in, not_in fails, exists", `{"id": 1, "ts": 1700000000, "v": "a", "n": 10}`,
			[]string{"op_equal=a", "op_exists=a", "op_gte=10", "op_in=a", "op_lte=10"}},
		{"not_equal, in b", `{"id": 1, "ts": 1700000000, "v": "b", "n": 11}`,
			[]string{"op_exists=b", "op_gt=11", "op_gte=11", "op_in=b", "op_not_equal=1"}},
		{"neither a nor b", `{"id": 1, "ts": 1700000000, "v": "c", "n": 9.5}`,
			[]string{"op_exists=c", "op_lt=9.5", "op_lte=9.5", "op_not_equal=1", "op_not_in=1"}},
		{"absent value", `{"id": 1, "ts": 1700000000}`,
			[]string{"op_absent=1", "op_not_equal=1", "op_not_in=1"}},
		{"null counts as absent", `{"id": 1, "ts": 1700000000, "v": null}`,
			[]string{"op_absent=1", "op_not_equal=1", "op_not_in=1"}},
		{"contain in list", `{"id": 1, "ts": 1700000000, "v": "a", "tags": ["y", "x"]}`,
			[]string{"op_contain=1", "op_equal=a", "op_exists=a", "op_in=a"}},
		{"contain in string", `{"id": 1, "ts": 1700000000, "v": "b", "tags": "axb"}`,
			[]string{"op_contain=1", "op_exists=b", "op_in=b", "op_not_equal=1"}},
		{"contain misses", `{"id": 1, "ts": 1700000000, "tags": ["y"]}`,
			[]string{"op_absent=1", "op_not_equal=1", "op_not_in=1"}},
		{"numbers as strings compare as numbers", `{"id": "1", "ts": 1700000000, "n": "100"}`,
			[]string{"op_absent=1", "op_gt=100", "op_gte=100", "op_not_equal=1", "op_not_in=1"}},
		{"a value of the wrong type does not match", `{"id": 1, "ts": 1700000000, "n": "many"}`,
			[]string{"op_absent=1", "op_not_equal=1", "op_not_in=1"}},
		{"time filter", `{"id": 1, "ts": "2026-02-01T00:00:00Z"}`,
			[]string{"op_absent=1", "op_not_equal=1", "op_not_in=1", "op_time_gte=2026-02-01T00:00:00Z"}},
		{"time filter excludes older", `{"id": 1, "ts": "2025-02-01T00:00:00Z"}`,
			[]string{"op_absent=1", "op_not_equal=1", "op_not_in=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := d.Dispatch(env("s", "ops", "e", tt.event))
			if err != nil {
				t.Fatalf("Dispatch: %v", err)
			}
			if got := staticFeatures(res); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("writes\n got %v\nwant %v", got, tt.want)
			}
			if res.Matched+res.Filtered != 13-1 { // every ops spec was considered
				t.Errorf("matched %d + filtered %d, want 12 specs considered", res.Matched, res.Filtered)
			}
		})
	}
}

func TestDispatchExampleRegistry(t *testing.T) {
	d := exampleDispatcher(t)
	user1 := func(f string) store.Key { return store.Key{Prefix: "u", ID: "1", Feature: f} }
	tests := []struct {
		name    string
		env     ingest.Envelope
		static  []store.StaticWrite
		actions []store.ActionWrite
		matched int
	}{
		{
			name: "one event feeds three static features, nested paths and renames",
			env:  env("app_events", "user_cdc", "", `{"event_name":"user_updated","user_id":1,"device":{"os":"ios"},"region":{"id":"6"},"verified":"true","updated_at":"2026-10-10T12:01:00Z"}`),
			static: []store.StaticWrite{
				{Key: user1("is_verified"), Value: ingesttest.Val(true), TS: ms("2026-10-10T12:01:00Z")},
				{Key: user1("os"), Value: ingesttest.Val("ios"), TS: ms("2026-10-10T12:01:00Z"), History: true, HistoryTTL: 87600 * time.Hour}, // os keeps history
				{Key: user1("region_id"), Value: ingesttest.Val(int64(6)), TS: ms("2026-10-10T12:01:00Z")},
			},
			matched: 3,
		},
		{
			name: "sub-topic from the envelope wins over the event, epoch seconds",
			env:  env("app_events", "user_cdc", "manner_updated", `{"user_id":"1","temperature":41,"updated_at":1760000000}`),
			static: []store.StaticWrite{
				{Key: user1("manner_temperature"), Value: ingesttest.Val(41.0), TS: 1760000000000},
			},
			matched: 1,
		},
		{
			name: "set is sorted and deduplicated, epoch milliseconds",
			env:  env("app_events", "keyword_cdc", "", `{"event_name":"keywords_updated","user_id":1,"keywords":["lego","bicycle","lego"],"updated_at":1760000000123}`),
			static: []store.StaticWrite{
				{Key: user1("notification_keywords"), Value: ingesttest.Val([]any{"bicycle", "lego"}), TS: 1760000000123},
			},
			matched: 1,
		},
		{
			name: "map and JSON values",
			env:  env("", "user_cdc", "settings_updated", `{"user_id":1,"settings":{"theme":"dark", "push":true},"updated_at":"2026-10-11T10:00:00.5+09:00"}`),
			static: []store.StaticWrite{
				{Key: user1("settings"), Value: ingesttest.Val(json.RawMessage(`{"push":true,"theme":"dark"}`)), TS: ms("2026-10-11T01:00:00.5Z")},
			},
			matched: 1,
		},
		{
			name: "one event feeds features of two entities (many-to-many)",
			env:  env("client_event", "client_event_cleansed", "", `{"event_name":"view_article_v1","user_id":1,"event_time":"2026-10-15T08:01:00Z","country_code":"kr","params":{"article_id_v1":101,"source":"feed"}}`),
			actions: []store.ActionWrite{
				{Key: store.Key{Prefix: "c:flea", ID: "101", Feature: "recent_viewers"}, TS: ms("2026-10-15T08:01:00Z"), Member: `{"user_id":1}`, MaxCount: 50, TTL: 87600 * time.Hour},
				{Key: user1("recent_clicked_articles"), TS: ms("2026-10-15T08:01:00Z"), Member: `{"article_id":101,"source":"feed"}`, MaxCount: 100, TTL: 87600 * time.Hour},
			},
			matched: 2,
		},
		{
			name: "a filter that does not hold skips one spec, not the other",
			env:  env("client_event", "client_event_cleansed", "", `{"event_name":"view_article_v1","user_id":1,"event_time":"2026-10-15T08:01:00Z","country_code":"jp","params":{"article_id_v1":"101"}}`),
			actions: []store.ActionWrite{
				{Key: store.Key{Prefix: "c:flea", ID: "101", Feature: "recent_viewers"}, TS: ms("2026-10-15T08:01:00Z"), Member: `{"user_id":1}`, MaxCount: 50, TTL: 87600 * time.Hour},
			},
			matched: 1,
		},
		{
			name: "a second event type feeds the same feature; missing optional fields are left out",
			env:  env("client_event", "client_event_cleansed", "", `{"event_name":"push_opened","user_id":1,"event_time":"2026-10-15T08:25:00Z","params":{"target_type":"article","target_id":"105"}}`),
			actions: []store.ActionWrite{
				{Key: user1("recent_clicked_articles"), TS: ms("2026-10-15T08:25:00Z"), Member: `{"article_id":105}`, MaxCount: 100, TTL: 87600 * time.Hour},
			},
			matched: 1,
		},
		{
			name: "no dedupe: the member carries the event time",
			env:  env("app_events", "order_cdc", "", `{"event_name":"order_completed","buyer_id":1,"article_id":106,"amount":30000,"status":"settled","completed_at":"2026-10-16T11:00:00Z"}`),
			actions: []store.ActionWrite{
				{Key: user1("recent_purchases"), TS: ms("2026-10-16T11:00:00Z"), Member: `{"_t":1792148400000,"article_id":106,"price":30000}`, MaxCount: 200, TTL: 87600 * time.Hour},
			},
			matched: 1,
		},
		{
			name: "in filter excludes",
			env:  env("app_events", "order_cdc", "", `{"event_name":"order_completed","buyer_id":1,"article_id":106,"amount":30000,"status":"cancelled","completed_at":"2026-10-16T11:00:00Z"}`),
		},
		{
			name: "unknown sub-topic is unrouted",
			env:  env("client_event", "client_event_cleansed", "", `{"event_name":"scroll","user_id":1}`),
		},
		{
			name: "unknown topic is unrouted",
			env:  env("client_event", "other_topic", "x", `{"user_id":1}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := d.Dispatch(tt.env)
			if err != nil {
				t.Fatalf("Dispatch: %v", err)
			}
			sortWrites(res)
			if !reflect.DeepEqual(res.Static, tt.static) {
				t.Errorf("static writes\n got %#v\nwant %#v", res.Static, tt.static)
			}
			if !reflect.DeepEqual(res.Actions, tt.actions) {
				t.Errorf("action writes\n got %#v\nwant %#v", res.Actions, tt.actions)
			}
			if res.Matched != tt.matched || res.Unrouted() != (tt.matched == 0) {
				t.Errorf("matched %d (unrouted %v), want %d", res.Matched, res.Unrouted(), tt.matched)
			}
		})
	}
}

func sortWrites(res *ingest.Result) {
	sort.Slice(res.Static, func(i, j int) bool { return res.Static[i].Key.String() < res.Static[j].Key.String() })
	sort.Slice(res.Actions, func(i, j int) bool { return res.Actions[i].Key.String() < res.Actions[j].Key.String() })
}

func TestDispatchPathsAndTypes(t *testing.T) {
	d := testDispatcher(t)
	t.Run("spec without sub-topic matches any; list index; ingestion time", func(t *testing.T) {
		res, err := d.Dispatch(env("s", "wild", "", `{"meta":{"kind":"whatever"},"id":7,"items":[{"n":1},{"n":2}]}`))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.StaticWrite{{Key: store.Key{Prefix: "u", ID: "7", Feature: "any_kind"}, Value: ingesttest.Val(int64(2)), TS: fixedNow.UnixMilli()}}
		if !reflect.DeepEqual(res.Static, want) || res.SubTopic != "whatever" {
			t.Errorf("got %#v (sub-topic %q)", res.Static, res.SubTopic)
		}
		// A source's receive time (a Kafka record's timestamp) wins over the clock, so a
		// redelivery gets the same time.
		e := env("s", "wild", "", `{"meta":{"kind":"whatever"},"id":7,"items":[{"n":1},{"n":2}]}`)
		e.ReceivedAt = time.UnixMilli(1234567)
		res, _ = d.Dispatch(e)
		if len(res.Static) != 1 || res.Static[0].TS != 1234567 {
			t.Errorf("with ReceivedAt: %#v", res.Static)
		}
	})
	t.Run("flattened keys and JSON passthrough", func(t *testing.T) {
		res, err := d.Dispatch(env("s", "flat", "f", `{"id":7,"ts":1,"params.source":"feed","params":{"b":[1,2.50],"a":null}}`))
		if err != nil {
			t.Fatal(err)
		}
		sortWrites(res)
		if got := staticFeatures(res); !reflect.DeepEqual(got, []string{"flat=feed", `raw={a:null,b:[1,2.50]}`}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("String ids, Time, JSON and Boolean action fields", func(t *testing.T) {
		res, err := d.Dispatch(env("s", "dev", "seen", `{"user":{"id":3},"dev":12345678901234567890,"ts":"2026-01-02T03:04:05.123456789+01:00","at":1767225600,"extra":{"z":1,"a":[true]},"ok":"false","model":"pixel"}`))
		if err != nil {
			t.Fatal(err)
		}
		ts := ms("2026-01-02T02:04:05.123Z")
		wantA := []store.ActionWrite{{Key: store.Key{Prefix: "u", ID: "3", Feature: "seen"}, TS: ts,
			Member: `{"_t":` + jsonString(ts) + `,"at":"2026-01-01T00:00:00Z","device_id":"12345678901234567890","extra":{"a":[true],"z":1},"ok":false}`, MaxCount: 5, TTL: time.Hour}}
		wantS := []store.StaticWrite{{Key: store.Key{Prefix: "d", ID: "12345678901234567890", Feature: "model"}, Value: ingesttest.Val("pixel"), TS: ts}}
		if !reflect.DeepEqual(res.Actions, wantA) {
			t.Errorf("actions\n got %#v\nwant %#v", res.Actions, wantA)
		}
		if !reflect.DeepEqual(res.Static, wantS) {
			t.Errorf("static\n got %#v\nwant %#v", res.Static, wantS)
		}
	})
}

func TestDispatchErrors(t *testing.T) {
	d := exampleDispatcher(t)
	tests := []struct {
		name      string
		env       ingest.Envelope
		malformed bool
		errs      []string      // substrings, one per failed spec
		writes    int           // writes of the specs that still succeeded
		skipped   []ingest.Skip // specs skipped for a missing value
	}{
		{name: "not JSON", env: env("app_events", "user_cdc", "", `{"user_id":`), malformed: true},
		{name: "not an object", env: env("app_events", "user_cdc", "", `[1,2]`), malformed: true},
		{name: "trailing data", env: env("app_events", "user_cdc", "", `{} {}`), malformed: true},
		{name: "empty event", env: env("app_events", "user_cdc", "", ``), malformed: true},
		{name: "no topic", env: env("app_events", "", "", `{}`), malformed: true},
		{name: "sub-topic is an object", env: env("app_events", "user_cdc", "", `{"event_name":{}}`), malformed: true},
		{
			name:   "missing timestamp fails every spec",
			env:    env("app_events", "user_cdc", "user_updated", `{"user_id":1,"device":{"os":"ios"},"region":{"id":6},"verified":true}`),
			errs:   []string{`user.is_verified: timestamp "updated_at": missing`, `user.os: timestamp "updated_at": missing`, `user.region_id: timestamp "updated_at": missing`},
			writes: 0,
		},
		{
			name:   "one bad field fails one spec, the others write",
			env:    env("app_events", "user_cdc", "user_updated", `{"user_id":1,"device":{"os":"ios"},"region":{"id":"six"},"verified":true,"updated_at":"2026-10-10T12:01:00Z"}`),
			errs:   []string{`user.region_id: field "region.id": want Int, got "six"`},
			writes: 2,
		},
		{
			name:    "missing static value skips the feature",
			env:     env("app_events", "user_cdc", "user_updated", `{"user_id":1,"region":{"id":6},"verified":true,"updated_at":"2026-10-10T12:01:00Z"}`),
			skipped: []ingest.Skip{{Feature: "user.os", Path: "device.os", Reason: ingest.SkipMissingPath}},
			writes:  2,
		},
		{
			name:    "null static value skips the feature",
			env:     env("app_events", "user_cdc", "user_updated", `{"user_id":1,"device":{"os":null},"region":{"id":6},"verified":true,"updated_at":"2026-10-10T12:01:00Z"}`),
			skipped: []ingest.Skip{{Feature: "user.os", Path: "device.os", Reason: ingest.SkipMissingPath}},
			writes:  2,
		},
		{
			name:   "bad entity id",
			env:    env("app_events", "user_cdc", "manner_updated", `{"user_id":"abc","temperature":1,"updated_at":1}`),
			errs:   []string{`user.manner_temperature: entity id "user_id": want Int, got "abc"`},
			writes: 0,
		},
		{
			name: "missing entity id",
			env:  env("app_events", "user_cdc", "manner_updated", `{"temperature":1,"updated_at":1}`),
			errs: []string{`user.manner_temperature: entity id "user_id": missing`},
		},
		{
			name: "bad timestamp",
			env:  env("app_events", "user_cdc", "manner_updated", `{"user_id":1,"temperature":1,"updated_at":"yesterday"}`),
			errs: []string{`user.manner_temperature: timestamp "updated_at": want a time`},
		},
		{
			name: "timestamp before 1970",
			env:  env("app_events", "user_cdc", "manner_updated", `{"user_id":1,"temperature":1,"updated_at":-5}`),
			errs: []string{`user.manner_temperature: timestamp "updated_at": time -5 is out of range`},
		},
		{
			name: "wrong container",
			env:  env("app_events", "keyword_cdc", "keywords_updated", `{"user_id":1,"keywords":"lego","updated_at":1}`),
			errs: []string{`user.notification_keywords: field "keywords": want a list of String`},
		},
		{
			name: "action field of the wrong type",
			env:  env("client_event", "client_event_cleansed", "search_v2", `{"user_id":1,"event_time":1,"params":{"query":{"q":1},"result_count":3}}`),
			errs: []string{`user.recent_searches: field "params.query": want String, got an object`},
		},
		{
			name:   "action event with none of the fields",
			env:    env("client_event", "client_event_cleansed", "view_article_v1", `{"user_id":1,"event_time":1,"country_code":"kr","params":{"article_id_v1":5}}`),
			writes: 1, // recent_viewers has user_id; recent_clicked_articles gets article_id — both write
		},
		{
			name:    "action event with none of the fields skips the feature",
			env:     env("client_event", "client_event_cleansed", "push_opened", `{"user_id":1,"event_time":1,"params":{"target_type":"article"}}`),
			skipped: []ingest.Skip{{Feature: "user.recent_clicked_articles", Path: "params.target_id, channel", Reason: ingest.SkipMissingPath}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := d.Dispatch(tt.env)
			if tt.malformed {
				if !errors.Is(err, ingest.ErrMalformed) || res.Writes() != 0 || ingest.Reason(err) != "malformed" {
					t.Fatalf("want a malformed error and no writes, got %v, %d writes", err, res.Writes())
				}
				return
			}
			if tt.errs == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
			} else {
				if ingest.Reason(err) != "conversion" {
					t.Fatalf("want a conversion error, got %v", err)
				}
				var msgs []string
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var ce *ingest.ConversionError
					if !errors.As(e, &ce) {
						t.Fatalf("error %v is not a *ConversionError", e)
					}
					msgs = append(msgs, e.Error())
				}
				sort.Strings(msgs)
				if len(msgs) != len(tt.errs) {
					t.Fatalf("errors %q, want %d", msgs, len(tt.errs))
				}
				for i := range msgs {
					if !strings.HasPrefix(msgs[i], tt.errs[i]) {
						t.Errorf("error %d: %q, want prefix %q", i, msgs[i], tt.errs[i])
					}
				}
			}
			if tt.writes != 0 && res.Writes() < tt.writes || tt.writes == 0 && tt.errs != nil && res.Writes() != 0 {
				t.Errorf("writes %d, want %d", res.Writes(), tt.writes)
			}
			if !reflect.DeepEqual(res.Skipped, tt.skipped) {
				t.Errorf("skipped %+v, want %+v", res.Skipped, tt.skipped)
			}
		})
	}
}

func TestDispatchDemoEvents(t *testing.T) {
	lines := demoEvents(t)
	if lines == nil {
		t.Skip("features/demo/events.jsonl not there yet")
	}
	d := exampleDispatcher(t)
	for i, line := range lines {
		e, err := ingest.DecodeEnvelope(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if _, err := d.Dispatch(e); err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
	}
}

func TestDecodeEnvelope(t *testing.T) {
	tests := []struct {
		in, err string
	}{
		{`{"streamName":"s","topic":"t","subTopic":"x","event":{"a":1}}`, ""},
		{`{"topic":"t","event":{}}`, ""},
		{`{"topic":"t","subtopik":"x","event":{}}`, `unknown field "subtopik"`},
		{`{"topic":"t"}`, `no "event"`},
		{`{"topic":"t","event":null}`, `no "event"`},
		{`{"event":{}}`, `no "topic"`},
		{`{"topic":5,"event":{}}`, `"topic" must be string`},
		{`[]`, `must be a JSON object, got array`},
		{`{"topic":"t","event":{}} x`, `unexpected data`},
		{`{`, `unexpected end`},
	}
	for _, tt := range tests {
		_, err := ingest.DecodeEnvelope([]byte(tt.in))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ingest.ErrMalformed)):
			t.Errorf("%s: error %v, want %q", tt.in, err, tt.err)
		}
	}
}

func TestDispatchValue(t *testing.T) {
	d := exampleDispatcher(t)
	u := func(f string) store.Key { return store.Key{Prefix: "u", ID: "42", Feature: f} }
	tests := []struct {
		name string
		in   ingest.Value
		want any // store.StaticWrite, store.ActionWrite or an error substring
	}{
		{"static from CSV text", ingest.Value{Entity: "user", ID: "42", Feature: "region_id", Value: "6", Timestamp: "2026-10-10T00:00:00Z"},
			store.StaticWrite{Key: u("region_id"), Value: ingesttest.Val(int64(6)), TS: ms("2026-10-10T00:00:00Z")}},
		{"set from JSON text", ingest.Value{Entity: "user", ID: json.Number("42"), Feature: "notification_keywords", Value: `["b","a","b"]`, Timestamp: json.Number("1760000000")},
			store.StaticWrite{Key: u("notification_keywords"), Value: ingesttest.Val([]any{"a", "b"}), TS: 1760000000000}},
		{"map value", ingest.Value{Entity: "user", ID: 42, Feature: "category_affinity", Value: map[string]any{"toys": json.Number("0.5")}},
			store.StaticWrite{Key: u("category_affinity"), Value: ingesttest.Val(map[string]any{"toys": 0.5}), TS: fixedNow.UnixMilli()}},
		{"JSON from CSV text", ingest.Value{Entity: "user", ID: "42", Feature: "settings", Value: ` {"a": 1} `, Timestamp: "1"},
			store.StaticWrite{Key: u("settings"), Value: ingesttest.Val(json.RawMessage(`{"a":1}`)), TS: 1000}},
		{"action from JSON text", ingest.Value{Entity: "user", ID: "42", Feature: "recent_clicked_articles", Value: `{"article_id":"7","source":"feed"}`, Timestamp: "2026-10-10T00:00:00Z"},
			store.ActionWrite{Key: u("recent_clicked_articles"), TS: ms("2026-10-10T00:00:00Z"), Member: `{"article_id":7,"source":"feed"}`, MaxCount: 100, TTL: 87600 * time.Hour}},
		{"unknown entity", ingest.Value{Entity: "shop", ID: "1", Feature: "x", Value: "1"}, `unknown entity "shop"`},
		{"unknown feature", ingest.Value{Entity: "user", ID: "1", Feature: "osx", Value: "1"}, `has no feature "osx"`},
		{"bad value", ingest.Value{Entity: "user", ID: "1", Feature: "region_id", Value: "x"}, `value: want Int`},
		{"bad list text", ingest.Value{Entity: "user", ID: "1", Feature: "notification_keywords", Value: "a,b"}, `want JSON text`},
		{"unknown action field", ingest.Value{Entity: "user", ID: "1", Feature: "recent_searches", Value: `{"q":"x"}`}, `unknown field "q"`},
		{"action needs an object", ingest.Value{Entity: "user", ID: "1", Feature: "recent_searches", Value: `[1]`}, `an action value is an object`},
		{"missing id", ingest.Value{Entity: "user", Feature: "os", Value: "ios"}, `entity id: missing`},
		{"missing value", ingest.Value{Entity: "user", ID: 1, Feature: "os"}, `value: missing`},
		{"bad time", ingest.Value{Entity: "user", ID: 1, Feature: "os", Value: "ios", Timestamp: "noon"}, `timestamp: want a time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := d.DispatchValue(tt.in)
			switch want := tt.want.(type) {
			case string:
				if err == nil || !strings.Contains(err.Error(), want) || ingest.Reason(err) != "conversion" {
					t.Fatalf("error %v, want %q", err, want)
				}
			case store.StaticWrite:
				if err != nil || len(res.Static) != 1 || !reflect.DeepEqual(res.Static[0], want) {
					t.Fatalf("got %#v, %v; want %#v", res.Static, err, want)
				}
			case store.ActionWrite:
				if err != nil || len(res.Actions) != 1 || !reflect.DeepEqual(res.Actions[0], want) {
					t.Fatalf("got %#v, %v; want %#v", res.Actions, err, want)
				}
			}
		})
	}
}
