package offline

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/store"
)

// ServedConfig configures a ServedLog. Zero fields take the defaults.
type ServedConfig struct {
	// Buffer is how many feature reads (of any number of requests) wait in memory to be
	// written; beyond it requests' rows are dropped and counted (the request is never held
	// up). Default 1000000 (about 50 MB of encoded reads).
	Buffer int
	// Batch is how many reads (of any number of requests) are written to the sink at once (one
	// file per partition). Default 500000.
	Batch int
	// FlushInterval is the longest a row waits before it is written. Default 10s.
	FlushInterval time.Duration
	// OnDrop is called with the number of rows dropped (a metric). Default nil.
	OnDrop func(n int)
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// ServedRequest is what the gateway captured of one sampled request: its identity and the
// store reads it made. Rows are built from it off the request path.
type ServedRequest struct {
	ID, Operation, OperationHash string
	// Client is the client the request came from (access control; "" without).
	Client string
	Time   time.Time
	Reads  []ServedRead
	// Encoded, when set, holds the reads already encoded by AppendRead after a '[', comma-
	// separated (the log closes the array), ReadCount and ErrorCount their numbers; Reads is
	// then unused. Log takes ownership of it. The
	// gateway encodes as it reads: a few pointer-free bytes per read are cheaper to keep until
	// the log drains them than the reads themselves.
	Encoded               []byte
	ReadCount, ErrorCount int
}

func (r *ServedRequest) reads() int {
	if r.Encoded != nil {
		return r.ReadCount
	}
	return len(r.Reads)
}

// ServedRead is one store read of a request: a static value (Events nil) or an action series.
type ServedRead struct {
	Key    store.Key
	Value  store.StaticValue   // statics; Kind Absent when nothing is stored
	Events []store.ActionEvent // actions (Action true), newest first
	Action bool
	Err    error // the read failed
}

// ServedLog takes what sampled requests read off the request path: Log puts the request in a
// bounded buffer and returns at once; one goroutine turns the reads into ServedRows and writes
// them to the sink in batches (Parquet files, or Kafka records). Unlike downsync rows, served
// rows are not spooled: what is buffered when the process dies is lost, as in Feast's logging.
type ServedLog struct {
	reg         *registry.Registry
	fingerprint string
	sink        Sink[ServedRow]
	cfg         ServedConfig
	entities    map[string]*registry.Entity

	ch      chan *ServedRequest
	flushCh chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once

	dropped, logged, shipped, sinkErrors atomic.Int64
	buffered                             atomic.Int64
	mu                                   sync.Mutex
	lastWrite                            time.Time
	lastError                            string
}

// NewServedLog starts the log of reg's sampled operations, writing to sink.
func NewServedLog(reg *registry.Registry, sink Sink[ServedRow], cfg ServedConfig) *ServedLog {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 1000000
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
	l := &ServedLog{reg: reg, fingerprint: schema.Fingerprint(reg), sink: sink, cfg: cfg, entities: map[string]*registry.Entity{},
		ch: make(chan *ServedRequest, 1<<16), flushCh: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	for _, e := range reg.Entities {
		l.entities[e.Prefix] = e
	}
	go l.run()
	return l
}

// Fingerprint is the registry fingerprint the rows carry.
func (l *ServedLog) Fingerprint() string { return l.fingerprint }

// Sampled reports whether a request of this operation (and request id) is logged: the share
// of the operation's ratio, by a hash of the request id.
func (l *ServedLog) Sampled(operation, requestID string) bool {
	return Sampled("served", requestID, l.reg.ServedLog.Ratio(operation))
}

// Log queues a request's reads; when the buffer is full they are dropped and counted.
func (l *ServedLog) Log(r *ServedRequest) {
	n := int64(r.reads())
	if n == 0 {
		return
	}
	if l.buffered.Add(n) > int64(l.cfg.Buffer) {
		l.buffered.Add(-n)
		l.drop(1)
		return
	}
	select {
	case l.ch <- r:
	default:
		l.buffered.Add(-n)
		l.drop(1)
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

// Stats returns the log's counters in the spool's terms (Appended: requests taken from the
// buffer; Shipped: requests written; Pending: reads buffered).
func (l *ServedLog) Stats() SpoolStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return SpoolStats{Appended: l.logged.Load(), Shipped: l.shipped.Load(), Pending: l.buffered.Load(),
		SinkErrors: l.sinkErrors.Load(), LastWrite: l.lastWrite, LastError: l.lastError}
}

func (l *ServedLog) run() {
	defer close(l.done)
	var batch []ServedRow
	var taken int64 // reads taken from the buffer into batch
	tick := time.NewTicker(l.cfg.FlushInterval)
	defer tick.Stop()
	write := func() {
		if len(batch) > 0 {
			l.write(batch)
		}
		l.buffered.Add(-taken)
		batch, taken = batch[:0], 0
	}
	take := func(r *ServedRequest) {
		batch = l.rows(batch, r)
		taken += int64(r.reads())
		l.logged.Add(1)
		if taken >= int64(l.cfg.Batch) {
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
	for {
		select {
		case r := <-l.ch:
			take(r)
		case <-tick.C:
			write()
		case ack := <-l.flushCh:
			drain()
			write()
			close(ack)
		case <-l.stop:
			drain()
			write()
			return
		}
	}
}

// write writes a batch, retrying a failing sink a few times (a second apart) before the rows
// are dropped and counted: the buffer, not the request, absorbs an outage.
func (l *ServedLog) write(rows []ServedRow) {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := l.sink.Write(ctx, rows)
		cancel()
		l.mu.Lock()
		if err == nil {
			l.lastWrite, l.lastError = time.Now(), ""
			l.mu.Unlock()
			l.shipped.Add(int64(len(rows)))
			return
		}
		l.lastError = err.Error()
		l.mu.Unlock()
		l.sinkErrors.Add(1)
		if attempt == 2 {
			l.cfg.Logger.Error("offline: served log: rows dropped, the sink keeps failing", "rows", len(rows), "err", err)
			l.drop(len(rows))
			return
		}
		select {
		case <-time.After(time.Second):
		case <-l.stop:
		}
	}
}

// rows appends the row of a request.
func (l *ServedLog) rows(out []ServedRow, r *ServedRequest) []ServedRow {
	row := ServedRow{RequestID: r.ID, Client: r.Client, Time: r.Time, Operation: r.Operation, OperationHash: r.OperationHash,
		Fingerprint: l.fingerprint}
	var b []byte
	if r.Encoded != nil {
		// Encoded is the log's once Log took it: the row's string aliases it (no copy).
		row.ReadCount, row.ErrorCount = int64(r.ReadCount), int64(r.ErrorCount)
		b = append(r.Encoded, ']')
		row.Reads = unsafe.String(unsafe.SliceData(b), len(b))
		return append(out, row)
	}
	row.ReadCount = int64(len(r.Reads))
	b = make([]byte, 0, 64*len(r.Reads))
	b = append(b, '[')
	for i, rd := range r.Reads {
		if i > 0 {
			b = append(b, ',')
		}
		if rd.Err != nil {
			row.ErrorCount++
		}
		b = l.AppendRead(b, rd)
	}
	b = append(b, ']')
	row.Reads = string(b)
	return append(out, row)
}

// AppendRead appends the JSON array of one read: [entity, entity_id, feature, status,
// event_time_ms, value, error?].
func (l *ServedLog) AppendRead(b []byte, rd ServedRead) []byte {
	e := l.entities[rd.Key.Prefix]
	name := rd.Key.Prefix
	if e != nil {
		name = e.Name
	}
	b = append(b, '[')
	b = store.AppendString(b, name)
	b = append(b, ',')
	b = store.AppendString(b, rd.Key.ID)
	b = append(b, ',')
	b = store.AppendString(b, rd.Key.Feature)
	switch {
	case rd.Err != nil:
		b = append(b, `,"error",null,null,`...)
		b = store.AppendString(b, rd.Err.Error())
	case rd.Action && len(rd.Events) == 0:
		b = append(b, `,"absent",null,null`...)
	case rd.Action:
		b = append(b, `,"present",`...)
		b = strconv.AppendInt(b, rd.Events[0].TS, 10)
		b = append(b, ",["...)
		for j, ev := range rd.Events {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"timestamp":"`...)
			b = time.UnixMilli(ev.TS).UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, `","fields":`...)
			b = append(b, ev.Member...)
			b = append(b, '}')
		}
		b = append(b, ']')
	case rd.Value.Kind == store.Absent:
		var f *registry.Feature
		if e != nil {
			f = e.Feature(rd.Key.Feature)
		}
		if f != nil && f.Default.Kind != store.Absent {
			b = append(b, `,"default",null,`...)
			b = f.Default.AppendJSON(b)
		} else {
			b = append(b, `,"absent",null,null`...)
		}
	default:
		b = append(b, `,"present",`...)
		b = strconv.AppendInt(b, rd.Value.TS, 10)
		b = append(b, ',')
		b = rd.Value.AppendJSON(b)
	}
	return append(b, ']')
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
