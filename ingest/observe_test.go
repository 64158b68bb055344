package ingest_test

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

type recorded struct {
	mu     sync.Mutex
	writes map[string]int
	newest map[string]int64
	failed map[string]int
}

func (r *recorded) FeatureWritten(entity, feature string, n int, ts int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes[entity+"."+feature] += n
	r.newest[entity+"."+feature] = max(r.newest[entity+"."+feature], ts)
}

func (r *recorded) FeatureFailed(entity, feature string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed[entity+"."+feature] += n
}

func (r *recorded) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, n := range r.writes {
		out = append(out, k+" wrote "+strconv.Itoa(n)+" newest "+time.UnixMilli(r.newest[k]).UTC().Format(time.RFC3339))
	}
	for k, n := range r.failed {
		out = append(out, k+" failed "+strconv.Itoa(n))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// The observer counts what the store accepted per feature (with the newest event time), and
// every conversion failure and store rejection as lost to its feature.
func TestFeatureObserverCountsWritesAndFailures(t *testing.T) {
	reg := exampleRegistry(t)
	rec := &recorded{writes: map[string]int{}, newest: map[string]int64{}, failed: map[string]int{}}
	obs := ingest.NewFeatureObserver(reg, rec)
	d := ingest.NewDispatcher(reg, ingest.WithClock(func() time.Time { return fixedNow }), ingest.WithFeatureObserver(obs))
	fl := &ingesttest.Flaky{Writer: memory.New()}
	fl.Reject("77") // the store rejects every write of user 77 for good
	w := newWriter(t, fl, ingest.WriterConfig{Linger: time.Millisecond, Observer: obs})
	ctx := context.Background()
	view := func(user, article, ts string) ingest.Envelope {
		return ingest.Envelope{StreamName: "client_event", Topic: "client_event_cleansed", SubTopic: "view_article_v1",
			Event: []byte(`{"user_id": ` + user + `, "event_time": "` + ts + `", "country_code": "kr", "params": {"article_id_v1": ` + article + `, "source": "feed"}}`)}
	}
	for _, env := range []ingest.Envelope{
		view("1", "101", "2026-10-15T08:00:00Z"),
		view("2", "102", "2026-10-15T09:00:00Z"),
		view(`"x"`, "103", "2026-10-15T10:00:00Z"), // user id is not an Int: fails both (it is a field of article.recent_viewers)
		view("77", "104", "2026-10-15T11:00:00Z"),  // both writes of this event: user 77 rejected, article 104 stored
	} {
		res, err := d.Dispatch(env)
		var ce *ingest.ConversionError
		if err != nil && !errors.As(err, &ce) {
			t.Fatal(err)
		}
		// One ticket per feature write, so that the rejection of user 77 fails only its own.
		for _, a := range res.Actions {
			tk, err := w.Enqueue(ctx, nil, []store.ActionWrite{a})
			if err != nil {
				t.Fatal(err)
			}
			_ = tk.Wait(ctx)
		}
	}
	want := strings.Join([]string{
		"article.recent_viewers failed 1",
		"article.recent_viewers wrote 3 newest 2026-10-15T11:00:00Z",
		"user.recent_clicked_articles failed 2",
		"user.recent_clicked_articles wrote 2 newest 2026-10-15T09:00:00Z",
	}, "\n")
	if got := rec.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
