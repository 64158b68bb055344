package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/featuregraph/featuregraph/store"
)

// WriterConfig configures a Writer. Zero fields take the defaults of DefaultWriterConfig.
type WriterConfig struct {
	// BatchSize seals a batch once it holds this many writes (static and action together).
	// Default 500. Backends split batches further as their APIs require.
	BatchSize int
	// Linger is how long a partial batch waits for more writes before it is written. Flush
	// writes at once. Default 10ms.
	Linger time.Duration
	// Concurrency is the number of batches written to the store at the same time. Default 4.
	Concurrency int
	// MaxPending bounds the writes queued or in flight; Enqueue blocks (backpressure) beyond
	// it. Default 100000.
	MaxPending int
	// CallTimeout bounds one store call; a call that times out is retried. Default 10s.
	CallTimeout time.Duration
	// Backoff paces the retries of a store that is down.
	Backoff Backoff
	// Retryable says which store errors are retried until they succeed; the others fail the
	// writes they concern. Default DefaultRetryable.
	Retryable func(error) bool
	// Logger receives a warning per retry. Default slog.Default().
	Logger *slog.Logger
	// Observer, when set, counts the writes stored and failed per feature. Default nil.
	Observer *FeatureObserver
	// Tap, when set, receives every write the store accepted before its ticket is done
	// (offline downsync). Default nil.
	Tap Tap
}

// DefaultWriterConfig returns the documented defaults.
func DefaultWriterConfig() WriterConfig {
	return WriterConfig{
		BatchSize:   500,
		Linger:      10 * time.Millisecond,
		Concurrency: 4,
		MaxPending:  100000,
		CallTimeout: 10 * time.Second,
		Backoff:     DefaultBackoff(),
	}
}

// Validate reports every field that cannot work.
func (c WriterConfig) Validate() error {
	var errs []error
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("writer: BatchSize %d must not be negative", c.BatchSize))
	}
	if c.Linger < 0 {
		errs = append(errs, fmt.Errorf("writer: Linger %v must not be negative", c.Linger))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("writer: Concurrency %d must not be negative", c.Concurrency))
	}
	if c.MaxPending < 0 {
		errs = append(errs, fmt.Errorf("writer: MaxPending %d must not be negative", c.MaxPending))
	}
	if c.CallTimeout < 0 {
		errs = append(errs, fmt.Errorf("writer: CallTimeout %v must not be negative", c.CallTimeout))
	}
	if err := c.Backoff.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("writer: %w", err))
	}
	return errors.Join(errs...)
}

func (c WriterConfig) withDefaults() WriterConfig {
	d := DefaultWriterConfig()
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.Linger == 0 {
		c.Linger = d.Linger
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.MaxPending == 0 {
		c.MaxPending = d.MaxPending
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = d.CallTimeout
	}
	c.Backoff = c.Backoff.WithDefaults()
	if c.Retryable == nil {
		c.Retryable = DefaultRetryable
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// DefaultRetryable retries a store that is down or slow: store.ErrUnavailable,
// store.ErrIncomplete and a store call that ran out of time.
func DefaultRetryable(err error) bool {
	return errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrIncomplete) ||
		errors.Is(err, context.DeadlineExceeded)
}

// ErrClosed is returned by a Writer that is closed, and by the tickets of writes it could not
// store before Close gave up.
var ErrClosed = errors.New("ingest: writer closed")

// Writer batches store writes from any number of goroutines (group commit). A batch is written
// when it holds BatchSize writes, when its first write has waited Linger, or on Flush. A store
// outage (Retryable errors) is retried with backoff for as long as the Writer is open: writes
// that were enqueued are stored, or reported failed on their Ticket, never silently dropped.
// When the store rejects a batch for good, each caller's writes are retried on their own so that
// only the writes at fault fail.
type Writer struct {
	st     store.Writer
	cfg    WriterConfig
	ctx    context.Context // lifetime: retries stop when it is canceled (Close)
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	cond       *sync.Cond // signals flushers: queue grew or closing
	cur        *batch     // open batch, accepting writes
	queue      []*batch   // sealed batches waiting for a flusher
	unfinished map[*batch]struct{}
	pending    int           // writes enqueued and not yet finished
	space      chan struct{} // closed (and replaced) whenever pending shrinks
	closed     bool
	lastErr    error // the latest retryable error, while a batch is retrying

	retrying atomic.Int64
	stats    writerCounters
}

type writerCounters struct {
	stored, failed, batches, retries atomic.Int64
}

// WriterStats are counters since the Writer started.
type WriterStats struct {
	Stored   int64 // writes the store accepted
	Failed   int64 // writes that failed for good (reported on their tickets)
	Batches  int64 // batches written
	Retries  int64 // store calls retried
	Pending  int64 // writes queued or in flight now
	Retrying bool  // a batch is waiting for the store to come back
}

type batch struct {
	tickets []*Ticket
	n       int
	done    chan struct{}
	timer   *time.Timer
	err     error // the first permanent error of its tickets
}

// Ticket follows one Enqueue call's writes.
type Ticket struct {
	source  string // WithSource of the Enqueue call
	static  []store.StaticWrite
	actions []store.ActionWrite
	done    chan struct{}
	err     error
}

// Done is closed when the writes are stored or have failed for good.
func (t *Ticket) Done() <-chan struct{} { return t.done }

// Err is the outcome once Done is closed: nil when the writes are stored.
func (t *Ticket) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return errors.New("ingest: writes still pending")
	}
}

// Wait waits for the outcome or for ctx. When ctx ends first the writes stay queued and are still
// written; Wait returns ctx's error.
func (t *Ticket) Wait(ctx context.Context) error {
	select {
	case <-t.done:
		return t.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NewWriter starts a Writer over st. Close it to flush and stop it.
func NewWriter(st store.Writer, cfg WriterConfig) (*Writer, error) {
	if st == nil {
		return nil, errors.New("writer: no store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer{st: st, cfg: cfg, ctx: ctx, cancel: cancel, unfinished: map[*batch]struct{}{}, space: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	for range cfg.Concurrency {
		w.wg.Add(1)
		go w.flusher()
	}
	return w, nil
}

// Enqueue queues writes and returns at once with their Ticket; it blocks only while MaxPending
// writes are already queued (until ctx is done). The writes of one call are never split between
// store calls' outcomes: they succeed or fail together.
func (w *Writer) Enqueue(ctx context.Context, static []store.StaticWrite, actions []store.ActionWrite) (*Ticket, error) {
	t := &Ticket{source: SourceOf(ctx), static: static, actions: actions, done: make(chan struct{})}
	n := len(static) + len(actions)
	if n == 0 {
		close(t.done)
		return t, nil
	}
	w.mu.Lock()
	for {
		if w.closed {
			w.mu.Unlock()
			return nil, ErrClosed
		}
		if w.pending == 0 || w.pending+n <= w.cfg.MaxPending {
			break
		}
		space := w.space
		w.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		w.mu.Lock()
	}
	w.pending += n
	if w.cur == nil {
		b := &batch{done: make(chan struct{})}
		w.cur = b
		w.unfinished[b] = struct{}{}
		b.timer = time.AfterFunc(w.cfg.Linger, func() {
			w.mu.Lock()
			if w.cur == b {
				w.sealLocked()
			}
			w.mu.Unlock()
		})
	}
	w.cur.tickets = append(w.cur.tickets, t)
	w.cur.n += n
	if w.cur.n >= w.cfg.BatchSize {
		w.sealLocked()
	}
	w.mu.Unlock()
	return t, nil
}

// Write enqueues writes and waits until they are stored (nil), failed for good (the store's
// error), or ctx is done (ctx's error; the writes stay queued and are still written).
func (w *Writer) Write(ctx context.Context, static []store.StaticWrite, actions []store.ActionWrite) error {
	t, err := w.Enqueue(ctx, static, actions)
	if err != nil {
		return err
	}
	return t.Wait(ctx)
}

// Flush writes every batch at once and waits until all writes enqueued before the call are stored
// or failed. It returns ctx's error if ctx ends first (the writes stay queued), else the joined
// permanent errors of those writes (also reported on their tickets).
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	if w.cur != nil {
		w.sealLocked()
	}
	waits := make([]*batch, 0, len(w.unfinished))
	for b := range w.unfinished {
		waits = append(waits, b)
	}
	w.mu.Unlock()
	var errs []error
	for _, b := range waits {
		select {
		case <-b.done:
			if b.err != nil {
				errs = append(errs, b.err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// Close flushes, waiting until ctx is done, and stops the Writer. Writes that could not be stored
// by then fail with ErrClosed on their tickets and Close reports how many.
func (w *Writer) Close(ctx context.Context) error {
	ferr := w.Flush(ctx)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	if w.cur != nil {
		w.sealLocked()
	}
	left := w.pending
	w.cond.Broadcast()
	w.mu.Unlock()
	if ferr != nil && left > 0 {
		w.cancel() // stop retrying: what is left fails with ErrClosed
	}
	w.wg.Wait()
	w.cancel()
	if left > 0 && ferr != nil {
		return fmt.Errorf("ingest: writer closed with %d writes not stored: %w", left, ferr)
	}
	return ferr
}

// Stats returns the counters.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	pending := w.pending
	w.mu.Unlock()
	return WriterStats{
		Stored:   w.stats.stored.Load(),
		Failed:   w.stats.failed.Load(),
		Batches:  w.stats.batches.Load(),
		Retries:  w.stats.retries.Load(),
		Pending:  int64(pending),
		Retrying: w.retrying.Load() > 0,
	}
}

// Health returns the store's latest retryable error while a batch is waiting for the store to
// come back, else nil.
func (w *Writer) Health() error {
	if w.retrying.Load() == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

func (w *Writer) sealLocked() {
	b := w.cur
	w.cur = nil
	b.timer.Stop()
	w.queue = append(w.queue, b)
	w.cond.Signal()
}

func (w *Writer) flusher() {
	defer w.wg.Done()
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.closed {
			w.cond.Wait()
		}
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return
		}
		b := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		w.mu.Unlock()
		w.writeBatch(b)
	}
}

func (w *Writer) writeBatch(b *batch) {
	var static []store.StaticWrite
	var actions []store.ActionWrite
	if len(b.tickets) == 1 {
		static, actions = b.tickets[0].static, b.tickets[0].actions
	} else {
		for _, t := range b.tickets {
			static = append(static, t.static...)
			actions = append(actions, t.actions...)
		}
	}
	err := w.writeRetry(static, actions)
	if err != nil && len(b.tickets) > 1 && !errors.Is(err, ErrClosed) {
		// Rejected for good: isolate the writes at fault, one caller's writes at a time.
		for _, t := range b.tickets {
			t.err = w.writeRetry(t.static, t.actions)
		}
	} else {
		for _, t := range b.tickets {
			t.err = err
		}
	}
	if w.cfg.Tap != nil {
		if err := w.tap(b.tickets); err != nil {
			for _, t := range b.tickets {
				if t.err == nil {
					t.err = err
				}
			}
		}
	}
	w.stats.batches.Add(1)
	for _, t := range b.tickets {
		n := int64(len(t.static) + len(t.actions))
		if w.cfg.Observer != nil {
			w.cfg.Observer.writesDone(t.static, t.actions, t.err)
		}
		if t.err != nil {
			w.stats.failed.Add(n)
			if b.err == nil {
				b.err = t.err
			}
		} else {
			w.stats.stored.Add(n)
		}
	}
	w.mu.Lock()
	w.pending -= b.n
	close(w.space)
	w.space = make(chan struct{})
	delete(w.unfinished, b)
	w.mu.Unlock()
	for _, t := range b.tickets {
		close(t.done)
	}
	close(b.done)
}

// writeRetry writes static then action writes, retrying retryable errors with backoff until the
// Writer's lifetime ends. A part that succeeded is not written again.
func (w *Writer) writeRetry(static []store.StaticWrite, actions []store.ActionWrite) error {
	staticDone, actionsDone := len(static) == 0, len(actions) == 0
	for attempt := 0; ; attempt++ {
		var err error
		if !staticDone {
			if err = w.call(func(ctx context.Context) error { return w.st.WriteStatic(ctx, static) }); err == nil {
				staticDone = true
			}
		}
		if err == nil && !actionsDone {
			if err = w.call(func(ctx context.Context) error { return w.st.WriteActions(ctx, actions) }); err == nil {
				actionsDone = true
			}
		}
		if err == nil {
			if attempt > 0 {
				w.retrying.Add(-1)
				w.cfg.Logger.Info("ingest: store is back", "attempts", attempt+1)
			}
			return nil
		}
		if w.ctx.Err() != nil {
			if attempt > 0 {
				w.retrying.Add(-1)
			}
			return fmt.Errorf("%w before the writes were stored (last error: %v)", ErrClosed, err)
		}
		if !w.cfg.Retryable(err) {
			if attempt > 0 {
				w.retrying.Add(-1)
			}
			return err
		}
		if attempt == 0 {
			w.retrying.Add(1)
		}
		w.mu.Lock()
		w.lastErr = err
		w.mu.Unlock()
		w.stats.retries.Add(1)
		delay := w.cfg.Backoff.Delay(attempt)
		w.cfg.Logger.Warn("ingest: store write failed, retrying", "err", err, "attempt", attempt+1, "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
		}
	}
}

func (w *Writer) call(f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.CallTimeout)
	defer cancel()
	return f(ctx)
}

// Static returns the ticket's static writes.
func (t *Ticket) Static() []store.StaticWrite { return t.static }

// Actions returns the ticket's action writes.
func (t *Ticket) Actions() []store.ActionWrite { return t.actions }
