package offline

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
)

// ServedConfig configures a ServedLog. Zero fields take the defaults.
type ServedConfig struct {
	// Buffer is how many feature values (of any number of requests) wait in memory for the
	// writer to take them; beyond it requests' rows are dropped and counted (the request is
	// never held up). Default 3000000 (at most about 60 MB of scalar values: 17 bytes and a
	// little each). Values the writer has taken are in the batch being built (at most Batch)
	// or in one of the at most 8 sealed batches being stored (4 at once) or waiting for the
	// store (a Parquet file: 4 to 6 bytes a value); when 4 wait, the writer waits and the
	// queue fills. (Counting the
	// batches in Buffer too left a P2 load about 60 ms of slack: an fsync that took longer
	// dropped rows.)
	Buffer int
	// Batch is how many feature values (rows, of any number of requests) are written to the
	// sink at once: one file per partition (operation and hour). Default 500000.
	Batch int
	// FlushInterval is the longest a row waits before it is written. Default 10s.
	FlushInterval time.Duration
	// OnDrop is called with the number of requests dropped (a metric). Default nil.
	OnDrop func(n int)
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// ServedLog takes what sampled requests read off the request path: Log puts the request in a
// bounded buffer and returns at once; one goroutine hands the buffered requests to the sink in
// batches (the Parquet sink writes their columns straight into files, the Kafka sink one
// record per request). Unlike downsync rows, served rows are not spooled: what is buffered
// when the process dies is lost, as in Feast's logging.
type ServedLog struct {
	gen  atomic.Pointer[servedGen] // the registry's settings and features (SetRegistry swaps them)
	sink ServedSink
	cfg  ServedConfig
	free chan *ServedRequest // requests written, to reuse (a pool the GC does not empty)

	ch      chan *ServedRequest
	jobs    chan servedJob // sealed batches, stored by the putter goroutine
	putDone chan struct{}
	puts    sync.WaitGroup // batches sealed and not yet stored
	flushCh chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once

	dropped, logged, shipped, sinkErrors atomic.Int64
	shippedReads                         atomic.Int64
	buffered                             atomic.Int64
	mu                                   sync.Mutex
	lastWrite                            time.Time
	lastError                            string
}

// NewServedLog starts the log of reg's sampled operations, writing to sink.
func NewServedLog(reg *registry.Registry, sink ServedSink, cfg ServedConfig) *ServedLog {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 3000000
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500000
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	l := &ServedLog{sink: sink, cfg: cfg,
		free: make(chan *ServedRequest, 512),
		ch:   make(chan *ServedRequest, 1<<16), jobs: make(chan servedJob, 4), putDone: make(chan struct{}),
		flushCh: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	l.SetRegistry(reg)
	go l.run()
	go l.put()
	return l
}

// ServedSealer is a ServedSink whose batch is sealed (encoded) on the log's goroutine and
// stored by others (the Parquet sink: its files put on the object store), so that a slow
// store — an fsync, an S3 round trip — does not stop the log from taking requests. Up to 4
// sealed batches are stored at once and 4 more wait (their store funcs run concurrently).
type ServedSealer interface {
	ServedSink
	// Seal ends the batch being built and returns what stores it; Add starts the next one.
	Seal() (store func(ctx context.Context) error, err error)
}

// servedJob is a sealed batch.
type servedJob struct {
	store        func(ctx context.Context) error
	reqs, values int
}

// maxPuts is how many sealed batches are stored at once: a file put waits on an fsync or an
// S3 round trip, and one at a time fell behind a P2 load (20 files a second) on a busy disk.
const maxPuts = 4

// put stores the sealed batches, up to maxPuts at once.
func (l *ServedLog) put() {
	defer close(l.putDone)
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxPuts)
	for j := range l.jobs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if l.retry(j.store, j.reqs) {
				l.shippedReads.Add(int64(j.values))
			}
			l.puts.Done()
		}()
	}
	wg.Wait()
}

// servedGen is what the log takes from one registry: its servedLog block (the sampling), its
// features by entity key prefix (names, types, defaults: how values are written) and its
// schema fingerprint (the rows of requests that name none).
type servedGen struct {
	reg         *registry.Registry
	fingerprint string
	entities    map[string]*servedEntity // by key prefix
}

// SetRegistry makes the log follow a reloaded registry: requests started from now on are
// sampled by its servedLog block, and their values written by its features' types and
// defaults. What is buffered is written as it was captured.
func (l *ServedLog) SetRegistry(reg *registry.Registry) {
	g := &servedGen{reg: reg, fingerprint: schema.Fingerprint(reg), entities: map[string]*servedEntity{}}
	for _, e := range reg.Entities {
		se := &servedEntity{name: e.Name, features: map[string]*servedFeature{}}
		for _, f := range e.Features() {
			se.features[f.Name] = newServedFeature(e.Name, f)
		}
		g.entities[e.Prefix] = se
	}
	l.gen.Store(g)
}

// Enabled reports whether the registry followed enables served-feature logging.
func (l *ServedLog) Enabled() bool { return l.gen.Load().reg.ServedLog.Enabled }

// Fingerprint is the registry fingerprint the rows carry (of requests that name none).
func (l *ServedLog) Fingerprint() string { return l.gen.Load().fingerprint }

// Sampled reports whether a request of this operation (and request id) is logged: the share
// of the operation's ratio, by a hash of the request id.
func (l *ServedLog) Sampled(operation, requestID string) bool {
	return Sampled("served", requestID, l.gen.Load().reg.ServedLog.Ratio(operation))
}

// Request starts the capture of a sampled request (its arenas come from a free list: hand it
// to Log, which puts it back once written).
func (l *ServedLog) Request(id string, t time.Time) *ServedRequest {
	var r *ServedRequest
	select {
	case r = <-l.free:
	default:
		r = &ServedRequest{log: l}
	}
	r.ID, r.Time, r.gen = id, t, l.gen.Load()
	return r
}

// drainInterval is how often the writer takes the queued requests.
const drainInterval = 5 * time.Millisecond

// maxFreeValues bounds the arenas kept for reuse: a request that read more is let go.
const maxFreeValues = 1 << 16

func (l *ServedLog) release(r *ServedRequest) {
	if r.log != l || cap(r.tag) > maxFreeValues {
		return
	}
	r.reset()
	select {
	case l.free <- r:
	default:
	}
}

// generation is the registry r was captured with (the current one for a request not started by
// Request).
func (l *ServedLog) generation(r *ServedRequest) *servedGen {
	if r.gen != nil {
		return r.gen
	}
	return l.gen.Load()
}

// entityName is the entity of a key prefix (the prefix when the registry has none).
func (g *servedGen) entityName(prefix []byte) string {
	if e := g.entities[string(prefix)]; e != nil {
		return e.name
	}
	return string(prefix)
}

// Log queues a request's row; when the buffer is full it is dropped and counted. Log takes r.
func (l *ServedLog) Log(r *ServedRequest) {
	if r.log == nil {
		r.log = l
	}
	n := int64(r.values)
	if n == 0 {
		l.release(r)
		return
	}
	if l.buffered.Add(n) > int64(l.cfg.Buffer) {
		l.buffered.Add(-n)
		l.drop(1)
		l.release(r)
		return
	}
	select {
	case l.ch <- r:
	default:
		l.buffered.Add(-n)
		l.drop(1)
		l.release(r)
	}
}

func (l *ServedLog) drop(n int) {
	l.dropped.Add(int64(n))
	if l.cfg.OnDrop != nil {
		l.cfg.OnDrop(n)
	}
}

// Dropped is how many rows (requests) were dropped because the buffer was full or the sink
// kept failing.
func (l *ServedLog) Dropped() int64 { return l.dropped.Load() }

// ShippedValues is how many feature values the rows written to the sink held.
func (l *ServedLog) ShippedValues() int64 { return l.shippedReads.Load() }

// Stats returns the log's counters in the spool's terms (Appended: requests taken from the
// buffer; Shipped: requests written; Pending: values queued, not yet taken by the writer).
func (l *ServedLog) Stats() SpoolStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return SpoolStats{Appended: l.logged.Load(), Shipped: l.shipped.Load(), Pending: l.buffered.Load(),
		SinkErrors: l.sinkErrors.Load(), LastWrite: l.lastWrite, LastError: l.lastError}
}

func (l *ServedLog) run() {
	defer close(l.done)
	var reqs, values int // in the sink's batch
	tick := time.NewTicker(l.cfg.FlushInterval)
	defer tick.Stop()
	rows := &ServedRows{log: l}
	sealer, _ := l.sink.(ServedSealer)
	write := func() {
		switch {
		case reqs == 0:
		case sealer != nil:
			st, err := sealer.Seal()
			if err != nil {
				st = func(context.Context) error { return err }
			}
			l.puts.Add(1)
			l.jobs <- servedJob{store: st, reqs: reqs, values: values} // waits when 4 wait already (and 4 are being stored)
			reqs, values = 0, 0
			return
		default:
			if l.retry(l.sink.Write, reqs) {
				l.shippedReads.Add(int64(values))
			}
		}
		reqs, values = 0, 0
	}
	take := func(r *ServedRequest) {
		// The sink copies the request's rows into its batch's columns at once, so the
		// request's arenas are reused at once.
		rows.req = r
		l.sink.Add(rows)
		rows.req = nil
		reqs++
		values += r.values
		l.buffered.Add(-int64(r.values)) // out of the queue: the batch's
		l.release(r)
		l.logged.Add(1)
		if values >= l.cfg.Batch {
			write()
		}
	}
	drain := func() {
		for {
			select {
			case r := <-l.ch:
				take(r)
			default:
				return
			}
		}
	}
	// The writer does not wait on the queue (a receiver parked on it would be woken, a
	// futex and a scheduling, by every request's send): it drains it every drainInterval, so
	// that the request path's one send per request finds a buffered channel and nobody to wake.
	drainTick := time.NewTicker(drainInterval)
	defer drainTick.Stop()
	for {
		select {
		case <-drainTick.C:
			drain()
		case <-tick.C:
			write()
		case ack := <-l.flushCh:
			drain()
			write()
			l.puts.Wait()
			close(ack)
		case <-l.stop:
			drain()
			write()
			close(l.jobs)
			<-l.putDone
			return
		}
	}
}

// retry stores a batch (of reqs requests), retrying a failing sink a few times (a second
// apart) before the rows are dropped and counted: the buffer, not the request, absorbs an
// outage.
func (l *ServedLog) retry(store func(ctx context.Context) error, reqs int) bool {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := store(ctx)
		cancel()
		l.mu.Lock()
		if err == nil {
			l.lastWrite, l.lastError = time.Now(), ""
			l.mu.Unlock()
			l.shipped.Add(int64(reqs))
			return true
		}
		l.lastError = err.Error()
		l.mu.Unlock()
		l.sinkErrors.Add(1)
		if attempt == 2 {
			l.cfg.Logger.Error("offline: served log: rows dropped, the sink keeps failing", "requests", reqs, "err", err)
			if _, sealed := l.sink.(ServedSealer); !sealed {
				l.sink.Discard()
			}
			l.drop(reqs)
			return false
		}
		select {
		case <-time.After(time.Second):
		case <-l.stop:
		}
	}
}

// Flush writes every request logged so far.
func (l *ServedLog) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case l.flushCh <- ack:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is buffered and stops.
func (l *ServedLog) Close(ctx context.Context) error {
	l.closing.Do(func() { close(l.stop) })
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return errors.New("offline: served log: closed before the buffer was written")
	}
}
