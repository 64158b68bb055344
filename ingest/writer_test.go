package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

func fastBackoff() ingest.Backoff {
	return ingest.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Multiplier: 2, Jitter: 0.2}
}

func newWriter(t *testing.T, st store.Writer, cfg ingest.WriterConfig) *ingest.Writer {
	t.Helper()
	cfg.Backoff = fastBackoff()
	w, err := ingest.NewWriter(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		w.Close(ctx)
	})
	return w
}

func sw(id string, v int64) []store.StaticWrite {
	return []store.StaticWrite{{Key: store.Key{Prefix: "u", ID: id, Feature: "n"}, Value: store.IntValue(v), TS: v}}
}

func readN(t *testing.T, st *memory.Store, id string) (int64, bool) {
	t.Helper()
	k := store.Key{Prefix: "u", ID: id, Feature: "n"}
	v, err := store.ReadKey(context.Background(), st, k)
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind == store.Absent {
		return 0, false
	}
	return v.Num, true
}

func TestWriterBatchesBySizeAndLinger(t *testing.T) {
	mem := memory.New()
	fl := &ingesttest.Flaky{Writer: mem}
	w := newWriter(t, fl, ingest.WriterConfig{BatchSize: 100, Linger: time.Hour, Concurrency: 2})
	ctx := context.Background()
	for i := range 1000 {
		if _, err := w.Enqueue(ctx, sw(fmt.Sprint(i), int64(i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if calls := fl.Calls.Load(); calls != 10 {
		t.Errorf("store calls %d, want 10 batches of 100", calls)
	}
	for _, id := range []string{"0", "500", "999"} {
		if _, ok := readN(t, mem, id); !ok {
			t.Errorf("id %s not stored", id)
		}
	}
	if s := w.Stats(); s.Stored != 1000 || s.Pending != 0 || s.Batches != 10 {
		t.Errorf("stats %+v", s)
	}

	// A partial batch is written after Linger without a Flush.
	w2 := newWriter(t, mem, ingest.WriterConfig{BatchSize: 100, Linger: 5 * time.Millisecond})
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := w2.Write(wctx, sw("lingered", 1), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := readN(t, mem, "lingered"); !ok {
		t.Error("lingered write not stored")
	}
}

func TestWriterRetriesOutage(t *testing.T) {
	mem := memory.New()
	fl := &ingesttest.Flaky{Writer: mem}
	fl.FailNext.Store(5)
	w := newWriter(t, fl, ingest.WriterConfig{Linger: time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Write(ctx, sw("1", 1), []store.ActionWrite{{Key: store.Key{Prefix: "u", ID: "1", Feature: "a"}, TS: 1, Member: "{}", MaxCount: 5}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := readN(t, mem, "1"); !ok {
		t.Error("not stored after the outage")
	}
	if s := w.Stats(); s.Retries != 5 || s.Stored != 2 || s.Retrying {
		t.Errorf("stats %+v, want 5 retries", s)
	}
}

func TestWriterKeepsWorkPastCallerDeadline(t *testing.T) {
	mem := memory.New()
	fl := &ingesttest.Flaky{Writer: mem}
	fl.Down.Store(true)
	w := newWriter(t, fl, ingest.WriterConfig{Linger: time.Millisecond, CallTimeout: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := w.Write(ctx, sw("1", 1), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write during an outage: %v, want deadline exceeded", err)
	}
	// The caller's deadline may pass before the writer's first attempt (a slow machine): wait
	// for the writer to have met the outage, then it must report it.
	h := w.Health()
	for deadline := time.Now().Add(5 * time.Second); h == nil && time.Now().Before(deadline); h = w.Health() {
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(h, store.ErrUnavailable) {
		t.Errorf("Health during outage: %v", h)
	}
	fl.Down.Store(false)
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer fcancel()
	if err := w.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := readN(t, mem, "1"); !ok {
		t.Error("write given up by its caller was dropped")
	}
	if w.Health() != nil {
		t.Errorf("Health after recovery: %v", w.Health())
	}
}

func TestWriterIsolatesRejectedWrites(t *testing.T) {
	mem := memory.New()
	fl := &ingesttest.Flaky{Writer: mem}
	fl.Reject("bad")
	w := newWriter(t, fl, ingest.WriterConfig{Linger: time.Hour})
	ctx := context.Background()
	var tickets []*ingest.Ticket
	for _, id := range []string{"a", "bad", "b"} {
		tk, err := w.Enqueue(ctx, sw(id, 1), nil)
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	if err := w.Flush(ctx); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Flush: %v, want the rejection", err)
	}
	for i, want := range []bool{true, false, true} {
		if ok := tickets[i].Err() == nil; ok != want {
			t.Errorf("ticket %d: err %v", i, tickets[i].Err())
		}
	}
	for _, id := range []string{"a", "b"} {
		if _, ok := readN(t, mem, id); !ok {
			t.Errorf("%s not stored next to a rejected write", id)
		}
	}
	if s := w.Stats(); s.Failed != 1 || s.Stored != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestWriterCloseReportsUnstoredWrites(t *testing.T) {
	fl := &ingesttest.Flaky{Writer: memory.New()}
	fl.Down.Store(true)
	w, err := ingest.NewWriter(fl, ingest.WriterConfig{Linger: time.Millisecond, CallTimeout: 10 * time.Millisecond, Backoff: fastBackoff()})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := w.Enqueue(context.Background(), sw("1", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err == nil {
		t.Fatal("Close during an outage reported no loss")
	}
	if !errors.Is(tk.Err(), ingest.ErrClosed) {
		t.Errorf("ticket: %v, want ErrClosed", tk.Err())
	}
	if _, err := w.Enqueue(context.Background(), sw("2", 1), nil); !errors.Is(err, ingest.ErrClosed) {
		t.Errorf("Enqueue after Close: %v", err)
	}
}

func TestWriterBackpressure(t *testing.T) {
	fl := &ingesttest.Flaky{Writer: memory.New()}
	fl.Down.Store(true)
	w := newWriter(t, fl, ingest.WriterConfig{MaxPending: 2, Linger: time.Millisecond, CallTimeout: 10 * time.Millisecond})
	ctx := context.Background()
	if _, err := w.Enqueue(ctx, sw("1", 1), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Enqueue(ctx, sw("2", 1), nil); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := w.Enqueue(short, sw("3", 1), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Enqueue over MaxPending: %v, want it to block", err)
	}
	fl.Down.Store(false)
	long, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	if _, err := w.Enqueue(long, sw("3", 1), nil); err != nil {
		t.Fatalf("Enqueue after recovery: %v", err)
	}
}

func TestWriterConfigValidate(t *testing.T) {
	if err := ingest.DefaultWriterConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := ingest.WriterConfig{BatchSize: -1, Linger: -1, Backoff: ingest.Backoff{Jitter: 2}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"BatchSize", "Linger", "Jitter"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	for i := range 10 {
		d := ingest.DefaultBackoff().Delay(i)
		if d <= 0 || d > 12*time.Second {
			t.Errorf("delay %d = %v", i, d)
		}
	}
}
