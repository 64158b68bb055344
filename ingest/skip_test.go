package ingest_test

import (
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/registry"
)

// skipRegistry has a static feature added after events were first produced (its path is
// missing from older events), a required static field and an action feature with a required
// field.
const skipRegistry = `
entities:
  user: { prefix: u }
streams:
  s: {}
features:
  user:
    os:
      featureType: static
      type: String
      events:
        - { streamName: s, topic: t, entityId: id, timestamp: ts, fields: [{ name: os }] }
    locale:
      featureType: static
      type: String
      events:
        - { streamName: s, topic: t, entityId: id, timestamp: ts, fields: [{ name: device.locale, rename: locale }] }
    country:
      featureType: static
      type: String
      events:
        - { streamName: s, topic: t, entityId: id, timestamp: ts, fields: [{ name: country, required: true }] }
    clicks:
      featureType: action
      fields:
        - { name: item, type: Int }
        - { name: source, type: String }
      events:
        - streamName: s
          topic: t
          entityId: id
          timestamp: ts
          fields:
            - { name: item, required: true }
            - { name: source }
`

type skipCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *skipCounter) FeatureSkipped(entity, feature, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[entity+"."+feature+":"+reason]++
}

func TestDispatchSkipsMissingPaths(t *testing.T) {
	reg, err := registry.Parse(map[string][]byte{"r.yaml": []byte(skipRegistry)})
	if err != nil {
		t.Fatal(err)
	}
	rec := &skipCounter{n: map[string]int{}}
	d := ingest.NewDispatcher(reg, ingest.WithClock(func() time.Time { return fixedNow }), ingest.WithSkipRecorder(rec))

	tests := []struct {
		name    string
		event   string
		static  []string // features written
		actions int
		skipped []ingest.Skip
		errs    []string
	}{
		{
			name:    "every path present",
			event:   `{"id":1,"ts":1,"os":"ios","device":{"locale":"ko"},"country":"kr","item":5}`,
			static:  []string{"country", "locale", "os"},
			actions: 1,
		},
		{
			name:    "older event without the new feature's path: skipped, the rest written",
			event:   `{"id":1,"ts":1,"os":"ios","country":"kr","item":5}`,
			static:  []string{"country", "os"},
			actions: 1,
			skipped: []ingest.Skip{{Feature: "user.locale", Path: "device.locale", Reason: ingest.SkipMissingPath}},
		},
		{
			name:    "required static field missing is an error",
			event:   `{"id":1,"ts":1,"os":"ios","device":{"locale":"ko"},"item":5}`,
			static:  []string{"locale", "os"},
			actions: 1,
			errs:    []string{`user.country: field "country": missing or null (the field is required)`},
		},
		{
			name:   "required action field missing is an error even when another field is there",
			event:  `{"id":1,"ts":1,"os":"ios","device":{"locale":"ko"},"country":"kr","source":"feed"}`,
			static: []string{"country", "locale", "os"},
			errs:   []string{`user.clicks: field "item": missing or null (the field is required)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := d.Dispatch(env("s", "t", "", tt.event))
			var msgs []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					msgs = append(msgs, e.Error())
				}
			}
			if !reflect.DeepEqual(msgs, tt.errs) {
				t.Errorf("errors %q, want %q", msgs, tt.errs)
			}
			var got []string
			for _, w := range res.Static {
				got = append(got, w.Key.Feature)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.static) || len(res.Actions) != tt.actions {
				t.Errorf("static writes %v and %d actions, want %v and %d", got, len(res.Actions), tt.static, tt.actions)
			}
			if !reflect.DeepEqual(res.Skipped, tt.skipped) {
				t.Errorf("skipped %+v, want %+v", res.Skipped, tt.skipped)
			}
			if res.Unrouted() {
				t.Error("an event with skipped features is not unrouted")
			}
		})
	}
	if want := map[string]int{"user.locale:missing_path": 1}; !reflect.DeepEqual(rec.n, want) {
		t.Errorf("recorded skips %v, want %v", rec.n, want)
	}
}

func TestRequiredMustBeBoolean(t *testing.T) {
	bad := strings.Replace(skipRegistry, "required: true", "required: yes please", 1)
	_, err := registry.Parse(map[string][]byte{"r.yaml": []byte(bad)})
	if err == nil || !strings.Contains(err.Error(), `required must be true or false, got "yes please"`) {
		t.Fatalf("want an error naming required, got %v", err)
	}
}
