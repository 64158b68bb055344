package ingest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
)

// Every hostile event is rejected whole by the dispatcher, naming the problem; none yields a
// write (the valid fields of the same event included).
func TestDispatchRejectsHostileEvents(t *testing.T) {
	d := ingest.NewDispatcher(ingesttest.Registry(t))
	for _, h := range ingesttest.HostileEvents() {
		t.Run(h.Name, func(t *testing.T) {
			res, err := d.Dispatch(ingest.Envelope{StreamName: h.StreamName(), Topic: h.Topic, Event: json.RawMessage(h.Event)})
			if err == nil {
				t.Fatalf("accepted: %d writes", res.Writes())
			}
			for _, s := range h.Says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %.300q does not say %q", err, s)
				}
			}
			if res.Writes() != 0 {
				t.Errorf("%d writes of a rejected event: %+v %+v", res.Writes(), res.Static, res.Actions)
			}
			if ingest.Reason(err) == "" {
				t.Errorf("no reason for %v", err)
			}
		})
	}
}

// A conversion error that is not a strict-value rule still lets the event's other specs write
// (a region id "six" does not reject the os of the same event).
func TestDispatchOrdinaryConversionErrorStaysPartial(t *testing.T) {
	d := ingest.NewDispatcher(ingesttest.Registry(t))
	res, err := d.Dispatch(ingest.Envelope{Topic: "user_cdc", Event: json.RawMessage(
		`{"event_name":"user_updated","user_id":4,"device":{"os":"ios"},"region":{"id":"six"},"verified":true,"updated_at":1760000000}`)})
	if err == nil || errors.Is(err, ingest.ErrRejectedValue) || res.Writes() != 2 {
		t.Fatalf("got %d writes, %v", res.Writes(), err)
	}
}

// Direct values (load): the same rules, and strings from typeless sources (CSV) checked too.
func TestDispatchValueRejectsHostileValues(t *testing.T) {
	d := ingest.NewDispatcher(ingesttest.Registry(t))
	keywords := make([]string, 10_001)
	for i := range keywords {
		keywords[i] = fmt.Sprintf(`"k%d"`, i)
	}
	for _, tc := range []struct {
		name    string
		feature string
		value   any
		says    string
	}{
		{"Float underflow", "manner_temperature", json.Number("1e-400"), "too small"},
		{"Float underflow as CSV text", "manner_temperature", "1e-400", "too small"},
		{"fraction for an Int", "region_id", json.Number("2.5"), "a fraction"},
		{"70 KiB string", "os", strings.Repeat("x", 70<<10), "more than the feature's limit of 65536"},
		{"invalid UTF-8 from CSV", "os", "a\xffb", "not valid UTF-8"},
		{"NUL from CSV", "os", "a\x00b", "NUL"},
		{"10,001-element set as JSON text", "notification_keywords", "[" + strings.Join(keywords, ",") + "]", "maxElements"},
		{"duplicate key in JSON text", "category_affinity", `{"a":1,"a":2}`, `duplicate key "a"`},
		{"70 KiB action field", "recent_clicked_articles", map[string]any{"article_id": json.Number("1"), "source": strings.Repeat("s", 70<<10)}, "maxStringBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := d.DispatchValue(ingest.Value{Entity: "user", ID: json.Number("5"), Feature: tc.feature, Value: tc.value, Timestamp: json.Number("1760000000")})
			if err == nil || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "user."+tc.feature) {
				t.Fatalf("error %.300v, want it to name user.%s and say %q", err, tc.feature, tc.says)
			}
			if res.Writes() != 0 {
				t.Errorf("%d writes", res.Writes())
			}
		})
	}
}

// An event naming a stream the registry does not declare is rejected, naming the known ones
// (before, it was accepted as unrouted: a typo lost every event silently).
func TestDispatchUnknownStream(t *testing.T) {
	d := ingest.NewDispatcher(ingesttest.Registry(t))
	res, err := d.Dispatch(ingest.Envelope{StreamName: "app_event", Topic: "user_cdc", Event: json.RawMessage(`{"event_name":"user_updated","user_id":1}`)})
	if !errors.Is(err, ingest.ErrMalformed) || !strings.Contains(err.Error(), `unknown streamName "app_event": the registry declares app_events, client_event`) || res.Writes() != 0 {
		t.Fatalf("got %d writes, %v", res.Writes(), err)
	}
}

func TestDecodeJSONStrict(t *testing.T) {
	many := func(dup bool) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range 100 {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		if dup {
			b.WriteString(`"k7":0,`)
		}
		b.WriteString(`"last":{"k1":1,"k2":[{"k1":2}]}}`)
		return b.String()
	}
	for _, tc := range []struct{ in, says string }{
		{`{"a":1,"b":{"a":2,"c":[{"a":3},{"a":4}]}}`, ""}, // the same key in other objects
		{`{"a":1,"a":2}`, `duplicate key "a"`},
		{`{"device":1,"\u0064evice":2}`, `duplicate key "device"`}, // escaped, still the same key
		{`{"a":{"x":1,"x":2}}`, `duplicate key "x"`},
		{many(false), ""},
		{many(true), `duplicate key "k7"`}, // past the linear scan: the set
		{`{"s":"a\u0000b"}`, "NUL"},
		{`{"s":"a\\u0000b"}`, ""}, // an escaped backslash, then the text u0000
		{`{"a\u0000":1}`, "NUL"},
		{"{\"s\":\"a\xffb\"}", "invalid UTF-8 at byte 7"},
		{`{"s":"\ud800"}`, ""}, // a lone surrogate decodes to U+FFFD, as JSON allows
		{strings.Repeat("[", 300) + strings.Repeat("]", 300), "nested more than 256 levels deep"},
		{`{"a":1} {"b":2}`, "unexpected data after the JSON value"},
		{`{"a":`, "unexpected EOF"},
	} {
		_, err := ingest.DecodeJSON([]byte(tc.in))
		if tc.says == "" && err != nil || tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)) {
			t.Errorf("%.60s: %v, want %q", tc.in, err, tc.says)
		}
	}
}

// Every prefix of a JSON text (truncated input) is an error or a value, never a panic, and the
// strict decoder accepts exactly what encoding/json accepts when no strict rule applies.
func TestDecodeJSONPrefixes(t *testing.T) {
	for _, doc := range []string{
		`{"a":[1,2,{"b":"c\"d\\e\u0041"}],"e":{"f":null,"g":true},"h":-1.5e3}`,
		`[{"k\u0031":"v"},{"k1":"\\u0000"}]`,
	} {
		for i := 0; i <= len(doc); i++ {
			_, err := ingest.DecodeJSON([]byte(doc[:i]))
			var v any
			stdErr := json.Unmarshal([]byte(doc[:i]), &v)
			if (err == nil) != (stdErr == nil) {
				t.Errorf("%q: strict %v, encoding/json %v", doc[:i], err, stdErr)
			}
		}
	}
}
