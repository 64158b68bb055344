package ingesttest

import (
	"fmt"
	"strings"
)

// Hostile is an event that strict ingestion must reject whole (ingest/strict.go): Topic, the
// event's JSON text (its sub-topic in event_name), the user it is about (nothing of the event
// may be stored for them) and what the error must say.
type Hostile struct {
	Name, Topic, Event, User string
	Says                     []string
	Stream                   string // "" = app_events
}

// Envelope is the event in a push or JSONL envelope.
func (h Hostile) Envelope() string {
	return fmt.Sprintf(`{"streamName":%q,"topic":%q,"event":%s}`, h.StreamName(), h.Topic, h.Event)
}

// StreamName is the event's stream.
func (h Hostile) StreamName() string {
	if h.Stream == "" {
		return "app_events"
	}
	return h.Stream
}

// HostileEvents are the hostile events of the backend-isolation issue, users 901 to 911: each
// user_updated one also carries valid fields, which must not be written either.
func HostileEvents() []Hostile {
	user := func(id int, os, region string) string {
		return fmt.Sprintf(`{"event_name":"user_updated","user_id":%d,"device":{"os":%s},"region":{"id":%s},"verified":true,"updated_at":1760000000}`, id, os, region)
	}
	keywords := make([]string, 10_001)
	for i := range keywords {
		keywords[i] = fmt.Sprintf(`"k%d"`, i)
	}
	return []Hostile{
		{"Float underflow", "user_cdc", `{"event_name":"manner_updated","user_id":901,"temperature":1e-400,"updated_at":1760000000}`, "901",
			[]string{"user.manner_temperature", `"temperature"`, "too small: it would be stored as 0"}, ""},
		{"Float overflow", "user_cdc", `{"event_name":"manner_updated","user_id":902,"temperature":-1e400,"updated_at":1760000000}`, "902",
			[]string{"user.manner_temperature", "out of the 64-bit range"}, ""},
		{"fraction for an Int", "user_cdc", user(903, `"ios"`, `1.5`), "903", []string{"user.region_id", `"region.id"`, "a fraction"}, ""},
		{"Int overflow", "user_cdc", user(904, `"ios"`, `1e19`), "904", []string{"user.region_id", "out of the 64-bit range"}, ""},
		{"70 KiB string", "user_cdc", user(905, `"`+strings.Repeat("x", 70<<10)+`"`, `3`), "905",
			[]string{"user.os", `"device.os"`, "string of 71680 bytes, more than the feature's limit of 65536"}, ""},
		{"10,001-element set", "keyword_cdc", `{"event_name":"keywords_updated","user_id":906,"keywords":[` + strings.Join(keywords, ",") + `],"updated_at":1760000000}`, "906",
			[]string{"user.notification_keywords", "10001 elements, more than the feature's limit of 10000"}, ""},
		{"invalid UTF-8", "user_cdc", user(907, "\"a\xffb\"", `3`), "907", []string{"invalid UTF-8"}, ""},
		{"NUL", "user_cdc", user(908, `"a\u0000b"`, `3`), "908", []string{"NUL"}, ""},
		{"duplicate key", "user_cdc", `{"event_name":"user_updated","user_id":909,"device":{"os":"ios"},"device":{"os":"android"},"region":{"id":3},"verified":true,"updated_at":1760000000}`, "909",
			[]string{`duplicate key "device"`}, ""},
		{"duplicate entity id", "user_cdc", `{"event_name":"user_updated","user_id":910,"user_id":1,"device":{"os":"ios"},"region":{"id":3},"verified":true,"updated_at":1760000000}`, "910",
			[]string{`duplicate key "user_id"`}, ""},
		{"70 KiB action field", "client_event_cleansed", `{"event_name":"view_article_v1","user_id":911,"event_time":1760000000000,"country_code":"kr","params":{"article_id_v1":101,"source":"` + strings.Repeat("s", 70<<10) + `"}}`, "911",
			[]string{"user.recent_clicked_articles", "string of 71680 bytes"}, "client_event"},
	}
}

// HostileUsers are the users of HostileEvents, for Dump.
func HostileUsers() []string {
	var out []string
	for _, h := range HostileEvents() {
		out = append(out, h.User)
	}
	return out
}
