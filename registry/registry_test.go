package registry

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// baseYAML declares the entities and streams most validation cases build on. It is parsed as
// base.yaml next to the case's own files, so the positions a case asserts are in its own file.
const baseYAML = `entities:
  user: {prefix: u, idType: Int, description: A user.}
  article: {prefix: "c:flea", idType: Int}
  shop: {prefix: s, idType: String}
streams:
  client_event: {subTopicField: event_name}
  app_events: {}
`

// want is one expected problem: its position as "file:line" and substrings of its message and
// fix ("" = not checked).
type want struct {
	at, msg, fix string
}

// parseProblems parses files (plus base.yaml unless noBase) and returns the problems, failing the
// test when Parse succeeds or returns anything but an *Error.
func parseProblems(t *testing.T, files map[string]string, noBase bool) []*Problem {
	t.Helper()
	in := map[string][]byte{}
	if !noBase {
		in["base.yaml"] = []byte(baseYAML)
	}
	for name, src := range files {
		in[name] = []byte(src)
	}
	reg, err := Parse(in)
	if err == nil {
		t.Fatalf("Parse succeeded with %d entities; want problems", len(reg.Entities))
	}
	var rerr *Error
	if !errors.As(err, &rerr) {
		t.Fatalf("Parse error is %T (%v); want *registry.Error", err, err)
	}
	return rerr.Problems
}

func checkProblems(t *testing.T, got []*Problem, wants []want) {
	t.Helper()
	dump := func() string {
		var b strings.Builder
		for _, p := range got {
			b.WriteString("\n  " + p.String())
		}
		return b.String()
	}
	if len(got) != len(wants) {
		t.Fatalf("got %d problems, want %d:%s", len(got), len(wants), dump())
	}
	for i, w := range wants {
		p := got[i]
		at := fmt.Sprintf("%s:%d", p.Pos.File, p.Pos.Line)
		if strings.Count(w.at, ":") == 2 { // file:line:column
			at = fmt.Sprintf("%s:%d", at, p.Pos.Column)
		}
		if at != w.at {
			t.Errorf("problem %d at %s, want %s:%s", i, at, w.at, dump())
		}
		if !strings.Contains(p.Msg, w.msg) {
			t.Errorf("problem %d message %q does not contain %q", i, p.Msg, w.msg)
		}
		if !strings.Contains(p.Fix, w.fix) {
			t.Errorf("problem %d fix %q does not contain %q", i, p.Fix, w.fix)
		}
	}
}

// clicksWithFilter is an action feature user.clicks whose one event has the given filter list
// (indented for the `filter:` key); the filter's first line is line 11 of the file.
func clicksWithFilter(filter string) string {
	return `features:
  user:
    clicks:
      featureType: action
      fields: [{name: article_id, type: Int}]
      events:
        - streamName: client_event
          topic: client_event_cleansed
          entityId: user_id
          filter:
` + filter + `          fields: [{name: article_id}]
`
}

// osWithEvent is a static feature user.os with one event (line 7) whose body follows.
func osWithEvent(event string) string {
	return `features:
  user:
    os:
      featureType: static
      type: String
      events:
` + event
}

// clicksWithEventFields is an action feature user.clicks (fields article_id Int, source String)
// with one event (line 9) whose field list starts at line 13.
func clicksWithEventFields(fields string) string {
	return `features:
  user:
    clicks:
      featureType: action
      fields:
        - {name: article_id, type: Int}
        - {name: source, type: String}
      events:
        - streamName: client_event
          topic: client_event_cleansed
          entityId: user_id
          fields:
` + fields
}

func TestValidationProblems(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		noBase bool
		want   []want
	}{
		// Unknown keys.
		{
			name: "unknown feature key suggests the closest",
			files: map[string]string{"a.yaml": `features:
  user:
    os:
      featureType: static
      type: String
      descripton: OS.
`},
			want: []want{{"a.yaml:6", `unknown key "descripton" in feature user.os`, `did you mean "description"?`}},
		},
		{
			name:  "unknown top-level key",
			files: map[string]string{"a.yaml": "entites:\n  item: {prefix: i}\n"},
			want:  []want{{"a.yaml:1", `unknown key "entites" in the file`, `did you mean "entities"?`}},
		},
		{
			name: "unknown key far from any lists the allowed keys",
			files: map[string]string{"a.yaml": `entities:
  item: {prefix: i, colour: red}
`},
			want: []want{{"a.yaml:2", `unknown key "colour" in entity item`, "allowed keys: prefix, idType, description, plural"}},
		},
		{
			name: "unknown event key ignores case and underscores",
			files: map[string]string{"a.yaml": osWithEvent(`        - streamName: app_events
          topic: user_cdc
          subtopic: user_updated
          entityId: user_id
          fields: [{name: os}]
`)},
			want: []want{{"a.yaml:9", `unknown key "subtopic" in feature user.os event`, `did you mean "subTopic"?`}},
		},
		{
			name: "duplicate key in a mapping",
			files: map[string]string{"a.yaml": `features:
  user:
    os:
      featureType: static
      type: String
      type: Int
`},
			want: []want{{"a.yaml:6", `duplicate key "type" in feature user.os (first at line 5)`, "remove one"}},
		},

		// Types.
		{
			name: "misspelt type",
			files: map[string]string{"a.yaml": `features:
  user:
    os:
      featureType: static
      type: Strng
`},
			want: []want{{"a.yaml:5", `type "Strng" is not a type`, `did you mean "String"?`}},
		},
		{
			name: "lower-case type",
			files: map[string]string{"a.yaml": `features:
  user:
    age: {featureType: static, type: int}
`},
			want: []want{{"a.yaml:3", `type "int" is not a type`, `did you mean "Int"?`}},
		},
		{
			name: "type far from any lists the types",
			files: map[string]string{"a.yaml": `features:
  user:
    age: {featureType: static, type: Decimal}
`},
			want: []want{{"a.yaml:3", `type "Decimal" is not a type`, "Int, Float, String, Boolean, Time, JSON"}},
		},
		{
			name: "misspelt action field type",
			files: map[string]string{"a.yaml": `features:
  user:
    clicks:
      featureType: action
      fields:
        - {name: n, type: Integr}
`},
			want: []want{{"a.yaml:6", `field type "Integr" is not a type`, `did you mean "Int"?`}},
		},
		{
			name: "unknown featureType and containerType",
			files: map[string]string{"a.yaml": `features:
  user:
    os: {featureType: dynamic, type: String}
    tags: {featureType: static, type: String, containerType: bag}
`},
			want: []want{
				{"a.yaml:3", `featureType "dynamic" is unknown`, "use static, action, service or derived"},
				{"a.yaml:4", `containerType "bag" is unknown`, "single, list, set or map"},
			},
		},
		{
			name: "set of Boolean",
			files: map[string]string{"a.yaml": `features:
  user:
    flags: {featureType: static, type: Boolean, containerType: set}
`},
			want: []want{{"a.yaml:3", "a set of Boolean is not supported", "use a list"}},
		},
		{
			name: "exampleId must be an id of the entity's idType",
			files: map[string]string{"a.yaml": `entities:
  item: {prefix: i, idType: Int, exampleId: abc}
  tag: {prefix: t, idType: String, exampleId: ""}
`},
			want: []want{
				{"a.yaml:2", `entity "item": exampleId "abc" is not an id of type Int`, "give an id the stores hold"},
				{"a.yaml:3", `entity "tag": exampleId "" is not an id of type String`, "give an id the stores hold"},
			},
		},
		{
			name: "idType must be Int or String",
			files: map[string]string{"a.yaml": `entities:
  item: {prefix: i, idType: Float}
`},
			want: []want{{"a.yaml:2", `entity "item": idType "Float" is not an id type`, "use Int or String"}},
		},

		// Missing required keys.
		{
			name: "missing featureType, type, fields and prefix",
			files: map[string]string{"a.yaml": `entities:
  item: {idType: Int}
features:
  user:
    os: {type: String}
    age: {featureType: static}
    clicks: {featureType: action}
`},
			want: []want{
				{"a.yaml:2", `entity "item" has no prefix`, "add `prefix: i`"},
				{"a.yaml:5", "feature user.os has no featureType", "featureType: static"},
				{"a.yaml:6", "feature user.age has no type", "type: String"},
				{"a.yaml:7", "feature user.clicks has no fields", "add `fields:`"},
			},
		},
		{
			name: "keys of the other feature type",
			files: map[string]string{"a.yaml": `features:
  user:
    os:
      featureType: static
      type: String
      maxCount: 10
    clicks:
      featureType: action
      type: Int
      fields: [{name: n, type: Int}]
`},
			want: []want{
				{"a.yaml:6", "feature user.os: maxCount applies to action features only", "remove it"},
				{"a.yaml:9", "feature user.clicks: type applies to static, service and derived features only", "remove it"},
			},
		},
		{
			name: "dedupe must be a boolean",
			files: map[string]string{"a.yaml": `features:
  user:
    clicks:
      featureType: action
      dedupe: sometimes
      fields: [{name: n, type: Int}]
`},
			want: []want{{"a.yaml:5", `dedupe must be true or false, got "sometimes"`, "use true or false"}},
		},

		// Duplicates.
		{
			name: "duplicate feature across two files names both positions",
			files: map[string]string{
				"a.yaml": `features:
  user:
    os: {featureType: static, type: String}
`,
				"b.yaml": `features:
  user:
    region_id: {featureType: static, type: Int}
    os: {featureType: static, type: String}
`,
			},
			want: []want{{"b.yaml:4", "feature user.os is defined twice (first at a.yaml:3)", "keep one definition"}},
		},
		{
			name: "duplicate feature in one file",
			files: map[string]string{"a.yaml": `features:
  user:
    os: {featureType: static, type: String}
    os: {featureType: static, type: String}
`},
			want: []want{{"a.yaml:4", `duplicate "os" in features of user (first at line 3)`, "remove or rename"}},
		},
		{
			name:  "duplicate entity across files",
			files: map[string]string{"z.yaml": "entities:\n  user: {prefix: u2}\n"},
			want:  []want{{"z.yaml:2", `entity "user" is defined twice (first at base.yaml:2)`, "keep one definition"}},
		},
		{
			name:  "duplicate stream across files",
			files: map[string]string{"z.yaml": "streams:\n  app_events: {}\n"},
			want:  []want{{"z.yaml:2", `stream "app_events" is defined twice (first at base.yaml:7)`, "keep one definition"}},
		},
		{
			name: "duplicate action field",
			files: map[string]string{"a.yaml": `features:
  user:
    clicks:
      featureType: action
      fields:
        - {name: n, type: Int}
        - {name: n, type: String}
`},
			want: []want{{"a.yaml:7", `field "n" is defined twice (first at line 6)`, "remove one"}},
		},

		// Entities and joins.
		{
			name: "feature of unknown entity",
			files: map[string]string{"a.yaml": `features:
  usr:
    os: {featureType: static, type: String}
`},
			want: []want{{"a.yaml:3", `feature "os" belongs to unknown entity "usr"`, `did you mean "user"?`}},
		},
		{
			name: "feature of unknown entity with nothing close",
			files: map[string]string{"a.yaml": `features:
  warehouse:
    stock: {featureType: static, type: Int}
`},
			want: []want{{"a.yaml:3", `unknown entity "warehouse"`, "declare it under `entities:`"}},
		},
		{
			name: "join to unknown entity",
			files: map[string]string{"a.yaml": `features:
  user:
    clicks:
      featureType: action
      fields:
        - {name: article_id, type: Int, join: articel}
`},
			want: []want{{"a.yaml:6", `feature user.clicks: field "article_id" joins unknown entity "articel"`, `did you mean "article"?`}},
		},
		{
			name: "join field type differs from the target's idType",
			files: map[string]string{"a.yaml": `features:
  user:
    visits:
      featureType: action
      fields:
        - {name: shop_id, type: Int, join: shop}
`},
			want: []want{{"a.yaml:6", `field "shop_id" is Int but joins "shop", whose ids are String`, "make the field's type String"}},
		},
		{
			name:  "prefix collision",
			files: map[string]string{"a.yaml": "entities:\n  visitor: {prefix: u}\n"},
			want:  []want{{"a.yaml:2", `entity "visitor" uses prefix "u", as entity "user" does`, "its own prefix"}},
		},
		{
			name:  "prefix with a separator",
			files: map[string]string{"a.yaml": "entities:\n  item: {prefix: \"i#x\"}\n"},
			want:  []want{{"a.yaml:2", `entity "item": prefix "i#x" must be non-empty and hold no '#'`, "letters, digits and ':'"}},
		},

		// Names that collide after GraphQL case conversion.
		{
			name: "features colliding after camelCase (digits)",
			files: map[string]string{"a.yaml": `features:
  user:
    region_id2: {featureType: static, type: Int}
    region_id_2: {featureType: static, type: Int}
`},
			want: []want{{"a.yaml:4", `feature user.region_id_2 would be field "regionId2", which feature user.region_id2 already is`, "rename one of them"}},
		},
		{
			name: "snake_case and camelCase spelling of one feature",
			files: map[string]string{"a.yaml": `features:
  user:
    recent_clicks: {featureType: static, type: Int}
    recentClicks: {featureType: static, type: Int}
`},
			want: []want{
				{"a.yaml:3", `feature user.recent_clicks would be field "recentClicks", which feature user.recentClicks already is`, "rename one of them"},
				{"a.yaml:4", "feature name user.recentClicks is not snake_case", "snake_case"},
			},
		},
		{
			name: "feature named id",
			files: map[string]string{"a.yaml": `features:
  user:
    id: {featureType: static, type: Int}
`},
			want: []want{{"a.yaml:3", `feature user.id would be field "id", which the id field already is`, "rename"}},
		},
		{
			name:  "entity named like another entity's plural",
			files: map[string]string{"a.yaml": "entities:\n  users: {prefix: us}\n"},
			want:  []want{{"a.yaml:2", `entity users would be Query field "users", which the plural of entity user already is`, "rename"}},
		},
		{
			name: "plural named like another entity",
			files: map[string]string{"a.yaml": `entities:
  person: {prefix: p, plural: people}
  people: {prefix: pp}
`},
			want: []want{{"a.yaml:2", `the plural of entity person would be Query field "people", which entity people already is`, "rename"}},
		},
		{
			name: "entities colliding after PascalCase",
			files: map[string]string{"a.yaml": `entities:
  user2: {prefix: u2}
  user_2: {prefix: u3}
`},
			want: []want{
				{"a.yaml:3", `entity user_2 would be GraphQL type "User2", which entity user2 already is`, "rename"},
				{"a.yaml:3", `entity user_2 would be Query field "user2", which entity user2 already is`, "rename"},
				{"a.yaml:3", `the plural of entity user_2 would be Query field "user2s", which the plural of entity user2 already is`, "rename"},
			},
		},
		{
			name:  "entity named like a built-in type",
			files: map[string]string{"a.yaml": "entities:\n  query: {prefix: q}\n  int_map_entry: {prefix: ime}\n"},
			want: []want{
				{"a.yaml:2", `entity query would be GraphQL type "Query", which a built-in type already is`, "rename"},
				{"a.yaml:3", `entity int_map_entry would be GraphQL type "IntMapEntry", which a built-in map entry type already is`, "rename"},
			},
		},
		{
			name: "entity named like an event type",
			files: map[string]string{"a.yaml": `entities:
  user_clicks_event: {prefix: uce}
features:
  user:
    clicks:
      featureType: action
      fields: [{name: article_id, type: Int}]
`},
			want: []want{{"a.yaml:2", `entity user_clicks_event would be GraphQL type "UserClicksEvent", which the events of user.clicks already is`, "rename"}},
		},
		{
			name: "event field named like a join",
			files: map[string]string{"a.yaml": `features:
  user:
    clicks:
      featureType: action
      fields:
        - {name: article_id, type: Int, join: article}
        - {name: article, type: String}
`},
			want: []want{{"a.yaml:7", `field "article" of user.clicks would be field "article", which the join of field "article_id" of user.clicks already is`, "rename"}},
		},
		{
			name: "event field named timestamp",
			files: map[string]string{"a.yaml": `features:
  user:
    clicks:
      featureType: action
      fields:
        - {name: timestamp, type: Time}
`},
			want: []want{{"a.yaml:6", `field "timestamp" of user.clicks would be field "timestamp", which the event time field already is`, "rename"}},
		},

		// Action feature limits.
		{
			name: "maxCount less than defaultCount",
			files: map[string]string{"a.yaml": `features:
  user:
    clicks:
      featureType: action
      maxCount: 10
      defaultCount: 20
      fields: [{name: article_id, type: Int}]
`},
			want: []want{{"a.yaml:6", "feature user.clicks: maxCount 10 is less than defaultCount 20", "raise maxCount to at least 20"}},
		},
		{
			name: "defaultCount above the default maxCount",
			files: map[string]string{"a.yaml": `features:
  user:
    clicks:
      featureType: action
      defaultCount: 150
      fields: [{name: article_id, type: Int}]
`},
			want: []want{{"a.yaml:5", "maxCount 100 is less than defaultCount 150", "raise maxCount to at least 150"}},
		},
		{
			name: "maxCount and defaultCount out of range",
			files: map[string]string{"a.yaml": `features:
  user:
    clicks:
      featureType: action
      maxCount: 0
      fields: [{name: article_id, type: Int}]
    views:
      featureType: action
      defaultCount: 0
      fields: [{name: article_id, type: Int}]
    likes:
      featureType: action
      maxCount: lots
      fields: [{name: article_id, type: Int}]
`},
			want: []want{
				{"a.yaml:5", "feature user.clicks: maxCount 0 is out of range", "use 1 to 100000"},
				{"a.yaml:9", "feature user.views: defaultCount 0 must be at least 1", "positive"},
				{"a.yaml:13", `maxCount must be a whole number, got "lots"`, ""},
			},
		},
		{
			name: "bad ttl",
			files: map[string]string{"a.yaml": `features:
  user:
    clicks:
      featureType: action
      ttl: 30 days
      fields: [{name: article_id, type: Int}]
    views:
      featureType: action
      ttl: 0s
      fields: [{name: article_id, type: Int}]
    likes:
      featureType: action
      ttl: 3600
      fields: [{name: article_id, type: Int}]
`},
			want: []want{
				{"a.yaml:5", `feature user.clicks: ttl "30 days" is not a duration`, "720h, 30d or 90m"},
				{"a.yaml:9", `feature user.views: ttl "0s" is not a duration`, "at least 1s"},
				{"a.yaml:13", `feature user.likes: ttl "3600" is not a duration`, "720h"},
			},
		},

		{
			name: "bad history options",
			files: map[string]string{"a.yaml": `features:
  user:
    os:
      featureType: static
      type: String
      historyTTL: 720h
    region_id:
      featureType: static
      type: Int
      history: true
      historyTTL: a year
    clicks:
      featureType: action
      history: true
      fields: [{name: article_id, type: Int}]
`},
			want: []want{
				{"a.yaml:6", "feature user.os: historyTTL is set but the feature keeps no history", "add `history: true`"},
				{"a.yaml:11", `feature user.region_id: historyTTL "a year" is not a duration`, "8760h"},
				{"a.yaml:14", "feature user.clicks: history applies to static features only", "remove it"},
			},
		},

		// Filters.
		{
			name: "unknown filter optype",
			files: map[string]string{"a.yaml": clicksWithFilter(`            - name: country_code
              condition: {optype: equals, values: [kr]}
`)},
			want: []want{{"a.yaml:12", `feature user.clicks: filter optype "equals" is unknown`, `did you mean "equal"?`}},
		},
		{
			name: "unknown filter optype with nothing close",
			files: map[string]string{"a.yaml": clicksWithFilter(`            - name: country_code
              condition: {optype: matches_regexp, values: [kr]}
`)},
			want: []want{{"a.yaml:12", `filter optype "matches_regexp" is unknown`, "use one of equal, not_equal, in, not_in, contain, gt, gte, lt, lte, exists"}},
		},
		{
			name: "in with no values",
			files: map[string]string{"a.yaml": clicksWithFilter(`            - name: country_code
              condition: {optype: in}
            - name: platform
              condition: {optype: not_in, values: []}
`)},
			want: []want{
				{"a.yaml:11", `filter "country_code" (in) needs at least one value`, "values: [a, b, ...]"},
				{"a.yaml:13", `filter "platform" (not_in) needs at least one value`, "values: [a, b, ...]"},
			},
		},
		{
			name: "equal with two values",
			files: map[string]string{"a.yaml": clicksWithFilter(`            - name: country_code
              condition: {optype: equal, values: [kr, jp]}
`)},
			want: []want{{"a.yaml:11", `filter "country_code" (equal) takes exactly one value, got 2`, "exactly one value"}},
		},
		{
			name: "gt on Boolean",
			files: map[string]string{"a.yaml": clicksWithFilter(`            - name: is_test
              type: Boolean
              condition: {optype: gt, values: [true]}
`)},
			want: []want{{"a.yaml:11", `filter "is_test": gt cannot compare Boolean values`, "use Int, Float, String or Time"}},
		},
		{
			name: "exists with two values",
			files: map[string]string{"a.yaml": clicksWithFilter(`            - name: params.query
              condition: {optype: exists, values: [true, false]}
`)},
			want: []want{{"a.yaml:11", `filter "params.query" (exists) takes at most one value`, "values: [true]"}},
		},
		{
			name: "filter value of the wrong type",
			files: map[string]string{"a.yaml": clicksWithFilter(`            - name: result_count
              type: Int
              condition:
                optype: gte
                values:
                  - many
`)},
			want: []want{{"a.yaml:16", `filter "result_count" value: want Int, got "many"`, "match the filter's type"}},
		},
		{
			name: "filter without condition or name",
			files: map[string]string{"a.yaml": clicksWithFilter(`            - name: country_code
            - condition: {optype: exists}
`)},
			want: []want{
				{"a.yaml:11", `filter "country_code" has no condition`, "condition: { optype: equal"},
				{"a.yaml:12", "a filter has no name", "add `name:`"},
			},
		},

		// Events.
		{
			name: "unknown stream",
			files: map[string]string{"a.yaml": osWithEvent(`        - streamName: client_events
          topic: user_cdc
          entityId: user_id
          fields: [{name: os}]
`)},
			want: []want{{"a.yaml:7", `feature user.os event: unknown stream "client_events"`, `did you mean "client_event"?`}},
		},
		{
			name: "unknown stream with nothing close",
			files: map[string]string{"a.yaml": osWithEvent(`        - streamName: kafka_main
          topic: user_cdc
          entityId: user_id
          fields: [{name: os}]
`)},
			want: []want{{"a.yaml:7", `unknown stream "kafka_main"`, "declare it under `streams:` (e.g. `kafka_main: { subTopicField: event_name }`)"}},
		},
		{
			name: "static event with two fields",
			files: map[string]string{"a.yaml": osWithEvent(`        - streamName: app_events
          topic: user_cdc
          entityId: user_id
          fields: [{name: os}, {name: device.os}]
`)},
			want: []want{{"a.yaml:7", "feature user.os event: a static feature's event has exactly one field, got 2", "keep one field"}},
		},
		{
			name: "static event renamed to another name",
			files: map[string]string{"a.yaml": osWithEvent(`        - streamName: app_events
          topic: user_cdc
          entityId: user_id
          fields:
            - {name: device.os, rename: platform}
`)},
			want: []want{{"a.yaml:11", `field "device.os" is renamed to "platform", not to the feature "os"`, "use `rename: os`"}},
		},
		{
			name: "static event field of another type",
			files: map[string]string{"a.yaml": osWithEvent(`        - streamName: app_events
          topic: user_cdc
          entityId: user_id
          fields:
            - {name: os, type: Int}
`)},
			want: []want{{"a.yaml:11", `field "os" has type Int but the feature is String`, "use type String or leave type out"}},
		},
		{
			name: "event without fields",
			files: map[string]string{"a.yaml": osWithEvent(`        - streamName: app_events
          topic: user_cdc
          entityId: user_id
`)},
			want: []want{{"a.yaml:7", "feature user.os event has no fields", "add `fields:`"}},
		},
		{
			name: "action event field feeding an unknown field",
			files: map[string]string{"a.yaml": clicksWithEventFields(`            - {name: params.article, rename: articleid}
`)},
			want: []want{{"a.yaml:13", `field "params.article" feeds "articleid", which is not a field of the feature`, "did you mean `rename: article_id`?"}},
		},
		{
			name: "action event field named by its last path element",
			files: map[string]string{"a.yaml": clicksWithEventFields(`            - {name: params.item_number}
`)},
			want: []want{{"a.yaml:13", `field "params.item_number" feeds "item_number", which is not a field of the feature`, "rename it to one of [article_id source]"}},
		},
		{
			name: "two event fields feeding one field",
			files: map[string]string{"a.yaml": clicksWithEventFields(`            - {name: params.article_id}
            - {name: article_id}
`)},
			want: []want{{"a.yaml:14", `two event fields feed "article_id"`, "remove one"}},
		},
		{
			name: "action event field of another type",
			files: map[string]string{"a.yaml": clicksWithEventFields(`            - {name: params.article_id, rename: article_id, type: String}
`)},
			want: []want{{"a.yaml:13", `field "params.article_id" has type String but "article_id" is Int`, "use type Int or leave type out"}},
		},
		{
			name: "event field without a name",
			files: map[string]string{"a.yaml": clicksWithEventFields(`            - {rename: article_id}
`)},
			want: []want{
				{"a.yaml:9", "feature user.clicks event has no fields", "add `fields:`"},
				{"a.yaml:13", "an event field has no name", "add `name:`"},
			},
		},

		// Default values.
		{
			name: "bad defaultValue for the type",
			files: map[string]string{"a.yaml": `features:
  user:
    age: {featureType: static, type: Int, defaultValue: many}
    ok: {featureType: static, type: Boolean, defaultValue: maybe}
    born: {featureType: static, type: Time, defaultValue: yesterday}
    scores: {featureType: static, type: Int, containerType: list, defaultValue: [1, x]}
    counts: {featureType: static, type: Int, containerType: map, defaultValue: [1]}
    settings: {featureType: static, type: JSON, defaultValue: ~}
`},
			want: []want{
				{"a.yaml:3", `feature user.age: defaultValue: want Int, got "many"`, "give a single Int value"},
				{"a.yaml:4", `feature user.ok: defaultValue: want Boolean, got string "maybe"`, "give a single Boolean value"},
				{"a.yaml:5", `feature user.born: defaultValue: want a time (RFC 3339 or epoch seconds/milliseconds), got "yesterday"`, "give a single Time value"},
				{"a.yaml:6", `feature user.scores: defaultValue: item 1: want Int, got "x"`, "give a list Int value"},
				{"a.yaml:7", `feature user.counts: defaultValue: want a map of string to Int, got a list`, "give a map Int value"},
				{"a.yaml:8", `feature user.settings: defaultValue: want JSON, got null`, "give a single JSON value"},
			},
		},
		{
			// GraphQL cannot serve NaN or ±Inf (gqlgen's MarshalFloat refuses them), so a Float
			// default of .nan or .inf must be rejected when the registry loads, not on every read.
			name: "non-finite Float defaultValue",
			files: map[string]string{"a.yaml": `features:
  user:
    score: {featureType: static, type: Float, defaultValue: .nan}
    rank: {featureType: static, type: Float, defaultValue: .inf}
`},
			want: []want{
				{"a.yaml:3", "feature user.score: defaultValue: want Float", "give a single Float value"},
				{"a.yaml:4", "feature user.rank: defaultValue: want Float", "give a single Float value"},
			},
		},

		// YAML syntax.
		{
			name:  "YAML syntax error: tab",
			files: map[string]string{"a.yaml": "entities:\n\titem: {prefix: i}\n"},
			want:  []want{{"a.yaml:2:1", `YAML syntax error: found character '\t' that cannot start any token`, "indent with spaces: YAML does not allow tabs"}},
		},
		{
			name:  "YAML syntax error: mapping value in a plain scalar",
			files: map[string]string{"a.yaml": "entities:\n  item:\n    prefix: i\n    description: a: b\n"},
			want:  []want{{"a.yaml:4:18", "YAML syntax error: mapping value is not allowed in this context", `quote a value that holds ": " (description: "a: b")`}},
		},
		{
			// yaml.v3 reports parser errors at its 0-based context mark ("line 3" here).
			name:  "YAML syntax error: unclosed flow sequence",
			files: map[string]string{"a.yaml": "entities:\n  item:\n    prefix: i\n    idType: [Int\n"},
			want:  []want{{"a.yaml:4:13", "YAML syntax error: sequence end token ']' not found", "close the list with ']'"}},
		},
		{
			// The most common YAML mistake; yaml.v3 reports it at "line 1".
			name:  "YAML syntax error: misindented key",
			files: map[string]string{"a.yaml": "entities:\n  item:\n    prefix: i\n   idType: Int\n"},
			want:  []want{{"a.yaml:4:4", "YAML syntax error: value is not allowed in this context", "indent the key by 4 spaces, as the keys above it"}},
		},
		{
			name: "YAML syntax error in one file does not hide problems in another",
			files: map[string]string{
				"a.yaml": "entities:\n  item:\n    prefix: i\n    description: a: b\n",
				"b.yaml": "entities:\n  order: {prefix: o, idType: Long}\n",
			},
			want: []want{
				{"a.yaml:4", "YAML syntax error", ""},
				{"b.yaml:2", `idType "Long" is not an id type`, "use Int or String"},
			},
		},
		{
			name:  "document that is not a mapping",
			files: map[string]string{"a.yaml": "- user\n- article\n"},
			want:  []want{{"a.yaml:1", "the file must be a mapping of keys to values, got a list", ""}},
		},

		// Empty registries.
		{
			name:   "empty registry",
			noBase: true,
			want:   []want{{"(registry):1", "the registry has no entities", "declare at least one entity under `entities:`"}},
		},
		{
			name:   "registry of comments and empty files",
			noBase: true,
			files:  map[string]string{"a.yaml": "# nothing yet\n", "b.yaml": ""},
			want:   []want{{"(registry):1", "the registry has no entities", ""}},
		},

		// Names.
		{
			name: "non-snake names",
			files: map[string]string{"a.yaml": `entities:
  ShopOwner: {prefix: so}
  seller: {prefix: sl, plural: Sellers}
streams:
  AppEvents: {}
features:
  user:
    regionId: {featureType: static, type: Int}
    clicks:
      featureType: action
      fields: [{name: articleId, type: Int}]
`},
			want: []want{
				{"a.yaml:2", `entity name "ShopOwner" is not snake_case`, "snake_case"},
				{"a.yaml:3", `entity "seller": plural "Sellers" is not a usable name`, "snake_case"},
				{"a.yaml:5", `stream name "AppEvents" is not snake_case`, "snake_case"},
				{"a.yaml:8", "feature name user.regionId is not snake_case", "snake_case"},
				{"a.yaml:11", `field name "articleId" is not snake_case`, "snake_case"},
			},
		},
		{
			name:  "plural equal to the name",
			files: map[string]string{"a.yaml": "entities:\n  sheep: {prefix: sh, plural: sheep}\n"},
			want: []want{
				{"a.yaml:2", `entity "sheep": plural "sheep" is not a usable name`, "different from the entity's"},
				{"a.yaml:2", `the plural of entity sheep would be Query field "sheep", which entity sheep already is`, "rename"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, parseProblems(t, tt.files, tt.noBase), tt.want)
		})
	}
}

// multiMistakes holds one mistake of most kinds; every one must be reported in one error.
var multiMistakes = map[string]string{
	"m1.yaml": `entities:
  user: {prefix: u, idType: Float}
  item: {prefix: i}
streams:
  events: {subTopicFeild: name}
features:
  user:
    os:
      featureType: static
      type: Strng
      defaultValue: 3
    clicks:
      featureType: action
      maxCount: 5
      defaultCount: 10
      ttl: forever
      fields:
        - {name: item_id, type: Int, join: itme}
      events:
        - streamName: event
          topic: clicks
          entityId: user_id
          filter:
            - name: country
              condition: {optype: equal}
          fields: [{name: itemid}]
  shop:
    name: {featureType: static, type: String}
`,
	"m2.yaml": `features:
  item:
    title: {featureType: static, type: String, colour: red}
`,
}

func TestAllProblemsAtOnce(t *testing.T) {
	got := parseProblems(t, multiMistakes, true)
	checkProblems(t, got, []want{
		{"m1.yaml:2", `entity "user": idType "Float" is not an id type`, "use Int or String"},
		{"m1.yaml:5", `unknown key "subTopicFeild" in stream events`, `did you mean "subTopicField"?`},
		{"m1.yaml:10", `type "Strng" is not a type`, `did you mean "String"?`},
		{"m1.yaml:15", "maxCount 5 is less than defaultCount 10", "raise maxCount"},
		{"m1.yaml:16", `ttl "forever" is not a duration`, "720h"},
		{"m1.yaml:18", `field "item_id" joins unknown entity "itme"`, `did you mean "item"?`},
		{"m1.yaml:20", `unknown stream "event"`, `did you mean "events"?`},
		{"m1.yaml:24", `filter "country" (equal) takes exactly one value, got 0`, ""},
		{"m1.yaml:26", `field "itemid" feeds "itemid", which is not a field of the feature`, "did you mean `rename: item_id`?"},
		{"m1.yaml:28", `feature "name" belongs to unknown entity "shop"`, ""},
		{"m2.yaml:3", `unknown key "colour" in feature item.title`, ""},
	})

	// The error text lists them all, in the same order, under a count.
	_, err := Parse(toBytes(multiMistakes))
	text := err.Error()
	if !strings.HasPrefix(text, "invalid feature registry: 11 problem(s)\n  m1.yaml:2: ") {
		t.Errorf("error text starts %q", text[:min(len(text), 80)])
	}
	if !strings.Contains(text, `m1.yaml:10: type "Strng" is not a type (fix: did you mean "String"?)`) {
		t.Errorf("error text lacks the type problem with its fix:\n%s", text)
	}
}

// TestProblemOrderIsDeterministic parses registries whose problems share a line many times: the
// error must read the same every time (CI logs, golden tests and humans compare it).
func TestProblemOrderIsDeterministic(t *testing.T) {
	files := map[string]string{"a.yaml": osWithEvent(`        - subTopic: user_updated
          fields: [{name: os}]
`)}
	wantOrder := []want{
		{"a.yaml:7", "an event has no streamName", "add `streamName:`"},
		{"a.yaml:7", "an event has no topic", "add `topic:`"},
		{"a.yaml:7", "an event has no entityId", "add `entityId:`"},
	}
	for i := range 30 {
		got := parseProblems(t, files, false)
		checkProblems(t, got, wantOrder)
		if t.Failed() {
			t.Fatalf("run %d: problems at one line come out in a different order", i)
		}
	}
	first := mustFail(t, toBytes(multiMistakes))
	for range 10 {
		if again := mustFail(t, toBytes(multiMistakes)); again != first {
			t.Fatalf("error text differs between runs:\n%s\n---\n%s", first, again)
		}
	}
}

func mustFail(t *testing.T, files map[string][]byte) string {
	t.Helper()
	_, err := Parse(files)
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	return err.Error()
}

func toBytes(files map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for k, v := range files {
		out[k] = []byte(v)
	}
	return out
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("testdata/does-not-exist"); err == nil || !strings.Contains(err.Error(), "feature registry:") {
		t.Errorf("Load(missing dir) = %v; want a feature registry error", err)
	}
	if _, err := Load("testdata/merge/entities.yaml"); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("Load(file) = %v; want \"is not a directory\"", err)
	}
	_, err := LoadFS(fstest.MapFS{"README.md": {Data: []byte("hi")}}, "empty")
	if err == nil || !strings.Contains(err.Error(), "no *.yaml files under empty") {
		t.Errorf("LoadFS(no yaml) = %v; want \"no *.yaml files under empty\"", err)
	}
	var rerr *Error
	if errors.As(err, &rerr) {
		t.Errorf("LoadFS(no yaml) returned a *registry.Error; want a plain error")
	}

	// Positions name the file under the root given to LoadFS.
	_, err = LoadFS(fstest.MapFS{"sub/a.yml": {Data: []byte("entities:\n  item: {prefix: i, idType: Long}\n")}}, "feats")
	if !errors.As(err, &rerr) || len(rerr.Problems) != 1 || rerr.Problems[0].Pos != (Pos{File: "feats/sub/a.yml", Line: 2}) {
		t.Errorf("LoadFS problem = %v; want one at feats/sub/a.yml:2", err)
	}
}
