package push_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/ingest/push"
)

// TestPushStrictNumbersAndIDs: numbers are JSON numbers or their canonical decimal text, ids are
// canonical; an event rejected for its id writes nothing and says so, and answers stay short
// whatever the event quotes.
func TestPushStrictNumbersAndIDs(t *testing.T) {
	f := newFixture(t, push.Config{MaxBodyBytes: 4 << 20})
	ev := func(id, temp string) string {
		return `{"streamName":"app_events","topic":"user_cdc","subTopic":"manner_updated","event":{"user_id":` + id +
			`,"temperature":` + temp + `,"updated_at":1760000000}}`
	}
	for _, tc := range []struct {
		name, body, status string
	}{
		{"Go digit separators", ev(`5`, `"1_000"`), push.StatusError},
		{"Go hex float", ev(`5`, `"0x1p-2"`), push.StatusError},
		{"spaces around a number", ev(`5`, `" 36.5"`), push.StatusError},
		{"id with a newline", ev(`"1\n"`, `36.5`), push.StatusError},
		{"id -0", ev(`"-0"`, `36.5`), push.StatusError},
		{"id -0 as a JSON number", ev(`-0`, `36.5`), push.StatusError},
		{"id with a leading zero", ev(`"01"`, `36.5`), push.StatusError},
		{"id 1.0", ev(`1.0`, `36.5`), push.StatusError},
		{"1 MiB id", ev(`"`+strings.Repeat("9", 1<<20)+`"`, `36.5`), push.StatusError},
		{"decimal text", ev(`"6"`, `"36.5"`), push.StatusOK},
		{"exponent", ev(`7`, `3.65e1`), push.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := f.post(t, tc.body)
			if len(body) > 2048 {
				t.Fatalf("answer is %d bytes", len(body))
			}
			r := decode(t, body)
			if len(r.Results) != 1 || r.Results[0].Status != tc.status {
				t.Fatalf("%d %s", code, body)
			}
			if tc.status == push.StatusError && (code != http.StatusUnprocessableEntity || r.Results[0].Writes != 0) {
				t.Fatalf("rejected event: %d %s", code, body)
			}
		})
	}
	// Only the two valid events were written; nothing of the rejected ones (user 0, 1, 5).
	dump := ingesttest.Dump(t, f.mem, ingesttest.Registry(t), map[string][]string{"user": {"0", "1", "5", "6", "7"}})
	if len(dump) != 2 || !strings.HasPrefix(dump[0], "u#6#manner_temperature = 36.5") || !strings.HasPrefix(dump[1], "u#7#manner_temperature = 36.5") {
		t.Fatalf("store: %v", dump)
	}
}

// TestPushRejectsHostileEvents: every hostile event (ingesttest.HostileEvents: numbers that
// would not be stored as sent, values over the registry's limits, invalid UTF-8, NUL, duplicate
// keys) is answered 422 naming the problem, and nothing of it is stored — not even its valid
// fields.
func TestPushRejectsHostileEvents(t *testing.T) {
	f := newFixture(t, push.Config{MaxBodyBytes: 4 << 20})
	for _, h := range ingesttest.HostileEvents() {
		t.Run(h.Name, func(t *testing.T) {
			code, body, _ := f.post(t, h.Envelope())
			r := decode(t, body)
			if code != http.StatusUnprocessableEntity || len(r.Results) != 1 || r.Results[0].Status != push.StatusError || r.Rejected != 1 {
				t.Fatalf("%d %.500s", code, body)
			}
			for _, s := range h.Says {
				if !strings.Contains(r.Results[0].Error, s) {
					t.Errorf("error %q does not say %q", r.Results[0].Error, s)
				}
			}
		})
	}
	if dump := ingesttest.Dump(t, f.mem, ingesttest.Registry(t), map[string][]string{"user": ingesttest.HostileUsers()}); len(dump) != 0 {
		t.Errorf("stored from hostile events: %.1000v", dump)
	}
	// An undeclared stream is rejected per event, naming the known streams (it was 200 unrouted).
	code, body, _ := f.post(t, `[{"streamName":"app_event","topic":"user_cdc","event":{"event_name":"user_updated","user_id":912,"device":{"os":"ios"}}}]`)
	if r := decode(t, body); code != http.StatusUnprocessableEntity || r.Rejected != 1 || !strings.Contains(r.Results[0].Error, `unknown streamName "app_event": the registry declares app_events, client_event`) {
		t.Errorf("unknown stream: %d %s", code, body)
	}
	// The same events, valid, are stored: the rules reject the hostile values, not the events.
	code, body, _ = f.post(t, `{"streamName":"app_events","topic":"user_cdc","event":{"event_name":"user_updated","user_id":903,"device":{"os":"ios"},"region":{"id":2},"verified":true,"updated_at":1760000000}}`)
	if code != http.StatusOK || decode(t, body).Accepted != 1 {
		t.Fatalf("valid event: %d %s", code, body)
	}
}
