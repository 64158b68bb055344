package kafka_test

import (
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/ingest/kafka"
	"github.com/featuregraph/featuregraph/store/memory"
)

// TestConsumerRejectsHostileEvents: every hostile event (ingesttest.HostileEvents) goes to the
// dead letters with its reason and an error naming the problem; nothing of it is stored, and the
// valid record after them is.
func TestConsumerRejectsHostileEvents(t *testing.T) {
	reg := ingesttest.Registry(t)
	d := ingest.NewDispatcher(reg)
	c := cluster(t, reg, "h.dlq")
	hostile := ingesttest.HostileEvents()
	var recs []rec
	for _, h := range hostile {
		recs = append(recs, rec{h.Topic, h.Event})
	}
	recs = append(recs, rec{"user_cdc", `{"event_name":"user_updated","user_id":903,"device":{"os":"ios"},"region":{"id":2},"verified":true,"updated_at":1760000000}`})
	produce(t, c, recs)
	mem := memory.New()
	cons, stop := start(t, d, mem, config(c, "h"))
	ingesttest.Eventually(t, 20*time.Second, "every record committed", func() bool {
		s := cons.Stats()
		return s.Records >= int64(len(recs)) && s.Lag == 0 && s.DeadLetters == int64(len(hostile))
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	dl := deadLetters(t, c, "h.dlq", len(hostile))
	byValue := map[string]string{}
	for _, r := range dl {
		byValue[string(r.Value)] = header(r, kafka.HeaderReason) + ": " + header(r, kafka.HeaderError)
	}
	for _, h := range hostile {
		got, ok := byValue[h.Event]
		if !ok {
			t.Errorf("%s: no dead letter", h.Name)
			continue
		}
		for _, s := range h.Says {
			if !strings.Contains(got, s) {
				t.Errorf("%s: dead letter %.300q does not say %q", h.Name, got, s)
			}
		}
	}
	got := ingesttest.Dump(t, mem, reg, map[string][]string{"user": ingesttest.HostileUsers()})
	if len(got) != 3 || !strings.HasPrefix(got[0], "u#903#is_verified = true") {
		t.Errorf("store holds %v, want only the valid event's 3 features of user 903", got)
	}
}
