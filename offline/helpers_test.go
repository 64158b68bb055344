package offline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/registry"
)

func TestMain(m *testing.M) {
	if childMain() {
		return
	}
	testenv.Main(m)
}

// testYAML is the registry of these tests: a static feature with history and an action feature
// fed by one Kafka topic, downsynced for half of the users (ratio) — the dataset tests read the
// same registry online.
func testYAML(ratio float64) string {
	return fmt.Sprintf(`
entities:
  user: {prefix: u, idType: Int}
streams:
  app: {subTopicField: event_name}
downsync: {enabled: true, samplingRatio: %v}
servedLog: {samplingRatio: 1}
features:
  user:
    score:
      featureType: static
      type: Int
      history: true
      events:
        - {streamName: app, topic: activity, subTopic: score_set, entityId: user_id, timestamp: ts, fields: [{name: score}]}
    tier:
      featureType: static
      type: String
      history: true
      defaultValue: none
      downsync: {enabled: false}
      events:
        - {streamName: app, topic: activity, subTopic: tier_set, entityId: user_id, timestamp: ts, fields: [{name: tier}]}
    clicks:
      featureType: action
      maxCount: 1000
      dedupe: false
      fields: [{name: item, type: Int}]
      events:
        - {streamName: app, topic: activity, subTopic: click, entityId: user_id, timestamp: ts, fields: [{name: item}]}
`, ratio)
}

func testRegistry(t testing.TB, ratio float64) *registry.Registry {
	t.Helper()
	reg, err := registry.Parse(map[string][]byte{"features.yaml": []byte(testYAML(ratio))})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func eventually(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
