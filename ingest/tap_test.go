package ingest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/store/memory"
)

// recordingTap fails its first calls, then records what it is given.
type recordingTap struct {
	mu    sync.Mutex
	fails int
	got   []ingest.Stored
}

func (r *recordingTap) Stored(_ context.Context, ws []ingest.Stored) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fails > 0 {
		r.fails--
		return errors.New("spool disk full")
	}
	r.got = append(r.got, ws...)
	return nil
}

// TestTapBeforeTicket: a ticket is done only once the tap holds its writes (a failing tap is
// retried meanwhile), with the source its Enqueue named; writes the store rejected are not
// tapped.
func TestTapBeforeTicket(t *testing.T) {
	st := memory.New()
	tap := &recordingTap{fails: 3}
	w := newWriter(t, st, ingest.WriterConfig{Tap: tap, Linger: time.Millisecond})
	ctx := ingest.WithSource(context.Background(), "kafka:t/0/42")
	if err := w.Write(ctx, sw("1", 5), nil); err != nil {
		t.Fatal(err)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if tap.fails != 0 || len(tap.got) != 1 || tap.got[0].Source != "kafka:t/0/42" || len(tap.got[0].Static) != 1 {
		t.Fatalf("tap got %+v (fails left %d), want the write once its three failures were retried", tap.got, tap.fails)
	}
	if s := w.Stats(); s.Retries != 3 || s.Stored != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestTapClosedFailsTicket: when the writer closes while the tap still fails, the ticket fails
// with ErrClosed (so a Kafka consumer does not commit it) although the store holds the write.
func TestTapClosedFailsTicket(t *testing.T) {
	st := memory.New()
	tap := &recordingTap{fails: 1 << 30}
	w, err := ingest.NewWriter(st, ingest.WriterConfig{Tap: tap, Linger: time.Millisecond, Backoff: fastBackoff()})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := w.Enqueue(context.Background(), sw("1", 5), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_ = w.Close(ctx)
	<-tk.Done()
	if !errors.Is(tk.Err(), ingest.ErrClosed) {
		t.Fatalf("ticket error %v, want ErrClosed", tk.Err())
	}
	if n, ok := readN(t, st, "1"); !ok || n != 5 {
		t.Errorf("store holds %d, %v", n, ok)
	}
}
