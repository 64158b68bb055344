package offline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/featuregraph/featuregraph/internal/backoff"
)

// SpoolConfig configures a Spool. Zero fields take the defaults of DefaultSpoolConfig, except
// Dir, which is required.
type SpoolConfig struct {
	// Dir holds the spool's segments. Required. It must survive a restart (a volume, not a
	// container's temporary directory) for the spool to keep what it acknowledged; one process
	// at a time uses it (a lock file says so).
	Dir string
	// SegmentRows seals the open segment once it holds this many rows. Default 50000.
	SegmentRows int
	// FlushInterval seals the open segment once its first row has waited this long: the delay
	// from an online write to its Parquet file. Default 1m.
	FlushInterval time.Duration
	// MaxBytes bounds the segments not yet shipped; Append waits (backpressure) beyond it.
	// Default 1 GiB.
	MaxBytes int64
	// Backoff paces the retries of a sink that fails.
	Backoff backoff.Backoff
	// Logger receives sink retries. Default slog.Default().
	Logger *slog.Logger
}

// DefaultSpoolConfig returns the documented defaults (Dir left empty).
func DefaultSpoolConfig() SpoolConfig {
	return SpoolConfig{SegmentRows: 50000, FlushInterval: time.Minute, MaxBytes: 1 << 30}
}

// Validate reports every field that cannot work.
func (c SpoolConfig) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("offline: spool Dir: give a directory that survives a restart"))
	}
	if c.SegmentRows < 0 {
		errs = append(errs, fmt.Errorf("offline: spool SegmentRows %d must not be negative", c.SegmentRows))
	}
	if c.FlushInterval < 0 {
		errs = append(errs, fmt.Errorf("offline: spool FlushInterval %v must not be negative", c.FlushInterval))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("offline: spool MaxBytes %d must not be negative", c.MaxBytes))
	}
	return errors.Join(errs...)
}

func (c SpoolConfig) withDefaults() SpoolConfig {
	d := DefaultSpoolConfig()
	if c.SegmentRows == 0 {
		c.SegmentRows = d.SegmentRows
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = d.MaxBytes
	}
	c.Backoff = c.Backoff.WithDefaults()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Spool is a durable queue in front of a Sink. Append writes rows to the open segment file
// and fsyncs it before returning: an acknowledged row survives a crash. Sealed segments are
// shipped to the sink in order by one goroutine, retried while the sink fails, and removed
// once the sink holds them. At start every segment left by an earlier process is shipped
// first. A crash between a sink write and the removal of its segment ships the segment again:
// rows may be duplicated, never lost.
type Spool[T Record] struct {
	cfg    SpoolConfig
	sink   Sink[T]
	unlock func()

	mu       sync.Mutex
	cond     *sync.Cond // shipper: a segment was sealed, or closing
	space    *sync.Cond // appenders: bytes were shipped
	open     *os.File
	openSeq  int64
	openRows int
	openAt   time.Time
	sealed   []segment
	bytes    int64 // of every segment not shipped
	closed   bool
	timer    *time.Timer
	shipped  chan struct{} // closed and replaced when a segment has been shipped
	stats    SpoolStats

	ctx    context.Context // the shipper's; canceled by Close after its wait
	cancel context.CancelFunc
	done   chan struct{}
}

type segment struct {
	seq   int64
	bytes int64
}

// SpoolStats are counters since the spool opened.
type SpoolStats struct {
	Appended   int64     // rows appended (durable)
	Shipped    int64     // rows written to the sink
	Pending    int64     // rows appended and not yet shipped, this process's
	Segments   int       // segments waiting to be shipped (the open one included when not empty)
	Bytes      int64     // their size
	SinkErrors int64     // failed sink writes (retried)
	LastWrite  time.Time // the latest successful sink write
	LastError  string    // the latest sink error, "" once a write succeeds again
}

// OpenSpool opens (or creates) the spool directory, locks it, and starts shipping to sink.
func OpenSpool[T Record](cfg SpoolConfig, sink Sink[T]) (*Spool[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, errors.New("offline: spool: no sink")
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("offline: spool: %w", err)
	}
	unlock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	s := &Spool[T]{cfg: cfg, sink: sink, unlock: unlock, shipped: make(chan struct{}), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	s.space = sync.NewCond(&s.mu)
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("offline: spool: %w", err)
	}
	for _, e := range entries {
		var seq int64
		if _, err := fmt.Sscanf(e.Name(), "seg-%d.jsonl", &seq); err != nil || e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if info.Size() == 0 {
			_ = os.Remove(filepath.Join(cfg.Dir, e.Name()))
			continue
		}
		s.sealed = append(s.sealed, segment{seq: seq, bytes: info.Size()})
		s.bytes += info.Size()
		s.openSeq = max(s.openSeq, seq)
	}
	sort.Slice(s.sealed, func(i, j int) bool { return s.sealed[i].seq < s.sealed[j].seq })
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.ship()
	return s, nil
}

func (s *Spool[T]) segPath(seq int64) string {
	return filepath.Join(s.cfg.Dir, fmt.Sprintf("seg-%020d.jsonl", seq))
}

// Append writes rows durably: when it returns nil they are on disk, and will reach the sink.
// It waits while MaxBytes are waiting to be shipped, until ctx is done.
func (s *Spool[T]) Append(ctx context.Context, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("offline: spool: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.bytes+int64(buf.Len()) > s.cfg.MaxBytes && s.bytes > 0 && !s.closed {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		stop := context.AfterFunc(ctx, func() { s.mu.Lock(); s.space.Broadcast(); s.mu.Unlock() })
		s.space.Wait()
		stop()
	}
	if s.closed {
		return errors.New("offline: spool closed")
	}
	if s.open == nil {
		s.openSeq++
		f, err := os.OpenFile(s.segPath(s.openSeq), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("offline: spool: %w", err)
		}
		if err := syncDir(s.cfg.Dir); err != nil {
			f.Close()
			return err
		}
		s.open, s.openRows, s.openAt = f, 0, time.Now()
		seq := s.openSeq
		s.timer = time.AfterFunc(s.cfg.FlushInterval, func() {
			s.mu.Lock()
			if s.open != nil && s.openSeq == seq {
				s.sealLocked()
			}
			s.mu.Unlock()
		})
	}
	n, err := s.open.Write(buf.Bytes())
	if err == nil {
		err = s.open.Sync()
	}
	s.bytes += int64(n)
	if err != nil {
		// The segment may hold part of these rows: seal it (a torn last line is skipped when it
		// is shipped) and report the rows not written.
		s.sealLocked()
		return fmt.Errorf("offline: spool: write: %w", err)
	}
	s.openRows += len(rows)
	s.stats.Appended += int64(len(rows))
	s.stats.Pending += int64(len(rows))
	if s.openRows >= s.cfg.SegmentRows {
		s.sealLocked()
	}
	return nil
}

// sealLocked closes the open segment and hands it to the shipper.
func (s *Spool[T]) sealLocked() {
	if s.open == nil {
		return
	}
	s.timer.Stop()
	info, err := s.open.Stat()
	_ = s.open.Close()
	s.open = nil
	size := int64(0)
	if err == nil {
		size = info.Size()
	}
	s.sealed = append(s.sealed, segment{seq: s.openSeq, bytes: size})
	s.cond.Broadcast()
}

// Flush seals the open segment and waits until every row appended before the call is in the
// sink, or ctx is done.
func (s *Spool[T]) Flush(ctx context.Context) error {
	s.mu.Lock()
	s.sealLocked()
	last := s.openSeq
	s.mu.Unlock()
	for {
		s.mu.Lock()
		pending := len(s.sealed) > 0 && s.sealed[0].seq <= last
		ch := s.shipped
		s.mu.Unlock()
		if !pending {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("offline: spool: rows not shipped to %s yet (they stay spooled): %w", s.sink, ctx.Err())
		}
	}
}

// Close flushes until ctx is done, stops the shipper and unlocks the directory. What was not
// shipped stays in the spool for the next process.
func (s *Spool[T]) Close(ctx context.Context) error {
	err := s.Flush(ctx)
	s.mu.Lock()
	s.closed = true
	s.sealLocked()
	s.cond.Broadcast()
	s.space.Broadcast()
	s.mu.Unlock()
	s.cancel()
	<-s.done
	s.unlock()
	return err
}

// Stats returns the counters.
func (s *Spool[T]) Stats() SpoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Segments = len(s.sealed)
	if s.open != nil {
		st.Segments++
	}
	st.Bytes = s.bytes
	return st
}

// Sink is the spool's sink.
func (s *Spool[T]) Sink() Sink[T] { return s.sink }

func (s *Spool[T]) ship() {
	defer close(s.done)
	for {
		s.mu.Lock()
		for len(s.sealed) == 0 && !s.closed {
			s.cond.Wait()
		}
		if len(s.sealed) == 0 || s.ctx.Err() != nil {
			s.mu.Unlock()
			return
		}
		seg := s.sealed[0]
		s.mu.Unlock()
		rows, err := s.read(seg.seq)
		if err != nil {
			s.cfg.Logger.Error("offline: spool: unreadable segment kept aside", "segment", s.segPath(seg.seq), "err", err)
			_ = os.Rename(s.segPath(seg.seq), s.segPath(seg.seq)+".bad")
		} else if !s.write(rows) {
			return // closing: the segment stays for the next process
		}
		_ = os.Remove(s.segPath(seg.seq))
		_ = syncDir(s.cfg.Dir)
		s.mu.Lock()
		s.sealed = s.sealed[1:]
		s.bytes -= seg.bytes
		s.stats.Pending = max(0, s.stats.Pending-int64(len(rows)))
		close(s.shipped)
		s.shipped = make(chan struct{})
		s.space.Broadcast()
		s.mu.Unlock()
	}
}

// write writes rows to the sink, retrying until it succeeds (true) or the spool closes.
func (s *Spool[T]) write(rows []T) bool {
	if len(rows) == 0 {
		return true
	}
	for attempt := 0; ; attempt++ {
		err := s.sink.Write(s.ctx, rows)
		s.mu.Lock()
		if err == nil {
			s.stats.Shipped += int64(len(rows))
			s.stats.LastWrite = time.Now()
			s.stats.LastError = ""
			s.mu.Unlock()
			return true
		}
		s.stats.SinkErrors++
		s.stats.LastError = err.Error()
		s.mu.Unlock()
		if s.ctx.Err() != nil {
			return false
		}
		delay := s.cfg.Backoff.Delay(attempt)
		s.cfg.Logger.Warn("offline: sink write failed, retrying", "sink", s.sink.String(), "rows", len(rows), "err", err, "delay", delay)
		select {
		case <-time.After(delay):
		case <-s.ctx.Done():
			return false
		}
	}
}

// read decodes a segment; a torn last line (a crash during a write that was never
// acknowledged) is left out.
func (s *Spool[T]) read(seq int64) ([]T, error) {
	b, err := os.ReadFile(s.segPath(seq))
	if err != nil {
		return nil, err
	}
	var rows []T
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var r T
		if err := json.Unmarshal(line, &r); err != nil {
			if !bytes.HasSuffix(b, []byte("\n")) && bytes.HasSuffix(b, line) {
				break // the torn last line
			}
			return nil, fmt.Errorf("line: %w", err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}
