package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/metrics"
	"github.com/featuregraph/featuregraph/store/memory"
)

// benchEvents is a mix like the demo stream: CDC updates feeding several static features and
// client events feeding action features of two entities.
func benchEvents(n int) []ingest.Envelope {
	out := make([]ingest.Envelope, n)
	for i := range out {
		var ev string
		switch i % 4 {
		case 0:
			ev = fmt.Sprintf(`{"event_name":"user_updated","user_id":%d,"device":{"os":"ios"},"region":{"id":%d},"verified":true,"updated_at":%d}`, i%5000, i%40, 1760000000000+int64(i))
			out[i] = ingest.Envelope{StreamName: "app_events", Topic: "user_cdc", Event: json.RawMessage(ev)}
		case 1:
			ev = fmt.Sprintf(`{"event_name":"search_v2","user_id":%d,"event_time":%d,"params":{"query":"q%d","result_count":%d}}`, i%5000, 1760000000000+int64(i), i%100, i%50)
			out[i] = ingest.Envelope{StreamName: "client_event", Topic: "client_event_cleansed", Event: json.RawMessage(ev)}
		default:
			ev = fmt.Sprintf(`{"event_name":"view_article_v1","user_id":%d,"event_time":"2026-10-15T08:%02d:%02d.%03dZ","country_code":"kr","params":{"article_id_v1":%d,"source":"feed"}}`, i%5000, i/60%60, i%60, i%1000, i%2000)
			out[i] = ingest.Envelope{StreamName: "client_event", Topic: "client_event_cleansed", Event: json.RawMessage(ev)}
		}
	}
	return out
}

func BenchmarkDispatch(b *testing.B) {
	d := exampleDispatcher(b)
	evs := benchEvents(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Dispatch(evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIngestMemory measures the stream path end to end without a broker: dispatch, batch
// through a Writer, store into the memory backend, one Flush per 1000 events (as the Kafka
// consumer does per poll). It reports events/s; "features" adds the per-feature figures of the
// catalog (ingest.FeatureObserver into metrics), as serve and ingest run it.
func BenchmarkIngestMemory(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchIngestMemory(b, nil) })
	b.Run("features", func(b *testing.B) {
		benchIngestMemory(b, ingest.NewFeatureObserver(exampleRegistry(b), metrics.New()))
	})
}

func benchIngestMemory(b *testing.B, obs *ingest.FeatureObserver) {
	d := ingest.NewDispatcher(exampleRegistry(b), ingest.WithClock(func() time.Time { return fixedNow }), ingest.WithFeatureObserver(obs))
	evs := benchEvents(1000)
	w, err := ingest.NewWriter(memory.New(), ingest.WriterConfig{Observer: obs})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(context.Background())
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	events := 0
	for b.Loop() {
		for _, e := range evs {
			res, err := d.Dispatch(e)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.Enqueue(ctx, res.Static, res.Actions); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		events += len(evs)
	}
	b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s")
}
