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
	// Buffer is how many rows wait in memory for the spool; beyond it rows are dropped and
	// counted (the request is never held up). Default 100000.
	Buffer int
	// Batch is how many rows are appended to the spool at once (one fsync). Default 5000.
	Batch int
	// OnDrop is called with the number of rows dropped (a metric). Default nil.
	OnDrop func(n int)
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// ServedLog takes the rows of answered requests off the request path: Log puts them in a
// bounded buffer and returns at once; one goroutine appends them to the spool in batches.
type ServedLog struct {
	reg         *registry.Registry
	fingerprint string
	app         Appender[ServedRow]
	cfg         ServedConfig

	ch      chan []ServedRow
	flushCh chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once

	dropped, logged atomic.Int64
	buffered        atomic.Int64
}

// NewServedLog starts the log of reg's sampled operations, appending to app.
func NewServedLog(reg *registry.Registry, app Appender[ServedRow], cfg ServedConfig) *ServedLog {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 100000
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 5000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	l := &ServedLog{reg: reg, fingerprint: schema.Fingerprint(reg), app: app, cfg: cfg,
		ch: make(chan []ServedRow, 1024), flushCh: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
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

// Log queues the rows of one request; when the buffer is full they are dropped and counted.
func (l *ServedLog) Log(rows []ServedRow) {
	if len(rows) == 0 {
		return
	}
	for i := range rows {
		rows[i].Fingerprint = l.fingerprint
	}
	if l.buffered.Add(int64(len(rows))) > int64(l.cfg.Buffer) {
		l.buffered.Add(-int64(len(rows)))
		l.drop(len(rows))
		return
	}
	select {
	case l.ch <- rows:
	default:
		l.buffered.Add(-int64(len(rows)))
		l.drop(len(rows))
	}
}

func (l *ServedLog) drop(n int) {
	l.dropped.Add(int64(n))
	if l.cfg.OnDrop != nil {
		l.cfg.OnDrop(n)
	}
}

// Dropped is how many rows were dropped because the buffer was full.
func (l *ServedLog) Dropped() int64 { return l.dropped.Load() }

// Logged is how many rows reached the spool.
func (l *ServedLog) Logged() int64 { return l.logged.Load() }

func (l *ServedLog) run() {
	defer close(l.done)
	var batch []ServedRow
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	write := func() {
		if len(batch) == 0 {
			return
		}
		for attempt := 0; ; attempt++ {
			err := l.app.Append(context.Background(), batch)
			if err == nil {
				break
			}
			l.cfg.Logger.Warn("offline: served log: spool append failed, retrying", "rows", len(batch), "err", err)
			select {
			case <-l.stop:
				l.drop(len(batch))
				l.buffered.Add(-int64(len(batch)))
				batch = batch[:0]
				return
			case <-time.After(time.Duration(min(attempt+1, 50)) * 100 * time.Millisecond):
			}
		}
		l.logged.Add(int64(len(batch)))
		l.buffered.Add(-int64(len(batch)))
		batch = batch[:0]
	}
	for {
		select {
		case rows := <-l.ch:
			batch = append(batch, rows...)
			if len(batch) >= l.cfg.Batch {
				write()
			}
		case <-tick.C:
			write()
		case ack := <-l.flushCh:
			for drained := false; !drained; {
				select {
				case rows := <-l.ch:
					batch = append(batch, rows...)
				default:
					drained = true
				}
			}
			write()
			close(ack)
		case <-l.stop:
			for {
				select {
				case rows := <-l.ch:
					batch = append(batch, rows...)
					continue
				default:
				}
				break
			}
			write()
			return
		}
	}
}

// Flush appends every row logged so far to the spool.
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

// Close appends what is buffered and stops.
func (l *ServedLog) Close(ctx context.Context) error {
	l.closing.Do(func() { close(l.stop) })
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return errors.New("offline: served log: closed before the buffer was written")
	}
}
