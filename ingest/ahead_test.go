package ingest_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
)

// An event time far in the future would pin a static value forever (no real event could be
// newer) and sit as the newest action event: it fails conversion instead.
func TestEventTimesTooFarAheadAreRejected(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	d := ingest.NewDispatcher(exampleRegistry(t), ingest.WithClock(func() time.Time { return now }), ingest.WithMaxAhead(time.Hour))
	for _, tc := range []struct {
		at string
		ok bool
	}{
		{"2026-11-01T00:59:00Z", true},
		{"2099-01-01T00:00:00Z", false},
	} {
		ev := json.RawMessage(`{"user_id": 1, "device": {"os": "ios"}, "updated_at": "` + tc.at + `"}`)
		res, err := d.Dispatch(ingest.Envelope{StreamName: "app_events", Topic: "user_cdc", SubTopic: "user_updated", Event: ev})
		if tc.ok {
			// (the event lacks region and verified: those specs fail, os is written)
			if len(res.Static) == 0 || (err != nil && strings.Contains(err.Error(), "future")) {
				t.Fatalf("%s: want the os write, got %v", tc.at, err)
			}
			continue
		}
		var ce *ingest.ConversionError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "in the future") || len(res.Static) != 0 {
			t.Fatalf("%s: want a conversion error about the future and no writes, got %v (%d writes)", tc.at, err, len(res.Static))
		}
	}
	// Direct values too.
	_, err := d.DispatchValue(ingest.Value{Entity: "user", ID: json.Number("1"), Feature: "os", Value: "ios", Timestamp: "2099-01-01T00:00:00Z"})
	if err == nil || !strings.Contains(err.Error(), "in the future") {
		t.Fatalf("direct value: want an error about the future, got %v", err)
	}
}
