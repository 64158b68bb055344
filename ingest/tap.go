package ingest

import (
	"context"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// Stored is what one Enqueue call wrote, once the store accepted it, and where it came from.
type Stored struct {
	Source  string // WithSource's, e.g. "kafka:topic/partition/offset", "push", "file:name#line"
	Static  []store.StaticWrite
	Actions []store.ActionWrite
}

// Tap receives the writes the store accepted (package offline copies them to the offline
// store). The Writer calls it once per batch, after the store call and before the batch's
// tickets are done, so whoever waits for a ticket (a Kafka commit, a push answer, a load) knows
// the tap holds its writes. An error is retried with the writer's backoff until it succeeds or
// the writer closes (the tickets then fail with ErrClosed, and a Kafka consumer does not commit
// them): a tap may see the same writes twice, never miss one that a ticket reported stored.
type Tap interface {
	Stored(ctx context.Context, writes []Stored) error
}

type sourceKey struct{}

// WithSource names the source of the writes enqueued with ctx (Stored.Source).
func WithSource(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, sourceKey{}, source)
}

// SourceOf returns the source named by WithSource, or "".
func SourceOf(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

// tap hands the stored tickets of a batch to the Tap, retrying until it holds them or the
// Writer closes; it returns the error that fails the tickets then.
func (w *Writer) tap(tickets []*Ticket) error {
	var stored []Stored
	for _, t := range tickets {
		if t.err == nil {
			stored = append(stored, Stored{Source: t.source, Static: t.static, Actions: t.actions})
		}
	}
	if len(stored) == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		err := w.call(func(ctx context.Context) error { return w.cfg.Tap.Stored(ctx, stored) })
		if err == nil {
			return nil
		}
		if w.ctx.Err() != nil {
			return &closedError{err: err}
		}
		w.stats.retries.Add(1)
		delay := w.cfg.Backoff.Delay(attempt)
		w.cfg.Logger.Warn("ingest: offline tap failed, retrying", "err", err, "attempt", attempt+1, "delay", delay)
		tm := time.NewTimer(delay)
		select {
		case <-tm.C:
		case <-w.ctx.Done():
			tm.Stop()
		}
	}
}

type closedError struct{ err error }

func (e *closedError) Error() string {
	return ErrClosed.Error() + " before the offline tap held the writes (last error: " + e.err.Error() + ")"
}
func (e *closedError) Unwrap() error { return ErrClosed }
