package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Envelope carries one event with its routing: the stream it came from, its topic and, when the
// producer knows it, its sub-topic. Pushed and file events are written in this form:
//
//	{"streamName": "client_event", "topic": "client_event_cleansed", "subTopic": "view_article_v1", "event": {…}}
//
// An empty SubTopic is read from the event at the stream's subTopicField; an empty StreamName is
// taken from the registry when exactly one stream uses the topic.
type Envelope struct {
	StreamName string          `json:"streamName,omitempty"`
	Topic      string          `json:"topic"`
	SubTopic   string          `json:"subTopic,omitempty"`
	Event      json.RawMessage `json:"event"`

	// ReceivedAt is the event's ingestion time, used by specs without a timestamp path. Zero:
	// the dispatcher's clock. Sources that can, set a time that a redelivery repeats (the
	// Kafka consumer uses the record's timestamp), so that redelivered events stay idempotent.
	ReceivedAt time.Time `json:"-"`
}

// DecodeEnvelope reads one envelope from JSON text. Unknown keys are an error (a misspelt
// "subTopic" would otherwise route the event wrongly); a missing topic or event is an error.
// Every error matches ErrMalformed.
func DecodeEnvelope(data []byte) (Envelope, error) {
	if _, err := DecodeJSON(data); err != nil {
		return Envelope{}, malformed("envelope: %s", jsonProblem(err))
	}
	var env Envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return Envelope{}, malformed("envelope: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Envelope{}, malformed("envelope: unexpected data after the JSON object")
	}
	if env.Topic == "" {
		return Envelope{}, malformed("envelope has no \"topic\"")
	}
	if len(env.Event) == 0 || string(env.Event) == "null" {
		return Envelope{}, malformed("envelope has no \"event\"")
	}
	return env, nil
}

// DecodeEvent decodes an event's JSON text into maps, lists and json.Number (UseNumber keeps
// 64-bit ids exact), strictly (DecodeJSON). The event must be one JSON object.
func DecodeEvent(data []byte) (map[string]any, error) {
	v, err := DecodeJSON(data)
	if err != nil {
		return nil, malformed("event is not JSON (strict: valid UTF-8, no duplicate key, no NUL): %s", jsonProblem(err))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, malformed("event must be a JSON object, got %s", jsonKind(v))
	}
	return m, nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("%q must be %s, got %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("must be a JSON object, got %s", te.Value)
	case errors.Is(err, io.EOF):
		return "empty input"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of JSON input"
	}
	return err.Error()
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
