package load

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
)

// Loader loads files through a dispatcher into a batching writer. It is safe to load several
// files at once; each has its own summary and rejects file.
type Loader struct {
	d   *ingest.Dispatcher
	w   *ingest.Writer
	cfg Config
}

// New returns a Loader. The Writer is the caller's: share it, and close it when done.
func New(d *ingest.Dispatcher, w *ingest.Writer, cfg Config) (*Loader, error) {
	if d == nil || w == nil {
		return nil, errors.New("load: New needs a dispatcher and a writer")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Loader{d: d, w: w, cfg: cfg.withDefaults()}, nil
}

// Summary is the outcome of one load.
type Summary struct {
	File        string
	Format      Format
	Records     int64         // lines or rows read (blank lines skipped)
	Events      int64         // records that fed at least one feature
	Written     int64         // store writes stored
	Unrouted    int64         // event records that matched no feature spec
	Rejected    int64         // records that failed (see RejectsPath)
	RejectsPath string        // where the rejected records are; "" when none were
	Elapsed     time.Duration // wall time of the load
}

// PerSecond is the records read per second.
func (s Summary) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Records) / s.Elapsed.Seconds()
}

// String is a one-line report for people.
func (s Summary) String() string {
	out := fmt.Sprintf("%s: %d records read, %d fed features (%d store writes), %d unrouted, %d rejected in %s (%.0f records/s)",
		s.File, s.Records, s.Events, s.Written, s.Unrouted, s.Rejected, s.Elapsed.Round(time.Millisecond), s.PerSecond())
	if s.RejectsPath != "" {
		out += "; rejected records in " + s.RejectsPath
	}
	return out
}

// LoadFile loads one file; its format comes from Config.Format or its extension. The Summary
// is filled in even when an error stops the load (a file that cannot be read, a bad CSV header,
// ctx done while the store was down: what was stored stays stored).
func (l *Loader) LoadFile(ctx context.Context, path string) (Summary, error) {
	format, gz, err := FormatOf(path)
	if l.cfg.Format != "" {
		format, err = l.cfg.Format, nil
	}
	if err != nil {
		return Summary{File: path}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Summary{File: path}, fmt.Errorf("load: %w", err)
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	counter := &countingReader{r: f}
	var r io.Reader = counter
	if gz {
		zr, err := gzip.NewReader(counter)
		if err != nil {
			return Summary{File: path}, fmt.Errorf("load: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	rejects := l.cfg.RejectsPath
	if rejects == "" {
		rejects = path + ".rejected.jsonl"
	}
	return l.load(ctx, r, path, format, rejects, counter, size)
}

// Load loads from r (e.g. standard input); name is used in the summary and the rejects file's
// records. With an empty Config.RejectsPath, rejected records go to "<name>.rejected.jsonl".
func (l *Loader) Load(ctx context.Context, r io.Reader, name string, format Format) (Summary, error) {
	if format == "" {
		format = l.cfg.Format
	}
	if format == "" {
		return Summary{File: name}, errors.New("load: give the format of the input (jsonl or csv)")
	}
	rejects := l.cfg.RejectsPath
	if rejects == "" {
		rejects = name + ".rejected.jsonl"
	}
	counter := &countingReader{r: r}
	return l.load(ctx, counter, name, format, rejects, counter, 0)
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// run is the shared state of one load.
type run struct {
	l       *Loader
	name    string
	rejects *rejectsFile
	stats   struct{ records, events, written, unrouted, rejected atomic.Int64 }
}

func (l *Loader) load(ctx context.Context, r io.Reader, name string, format Format, rejectsPath string, counter *countingReader, size int64) (Summary, error) {
	start := time.Now()
	ru := &run{l: l, name: name, rejects: &rejectsFile{path: rejectsPath}}
	summary := func() Summary {
		s := Summary{
			File: name, Format: format, Elapsed: time.Since(start),
			Records: ru.stats.records.Load(), Events: ru.stats.events.Load(), Written: ru.stats.written.Load(),
			Unrouted: ru.stats.unrouted.Load(), Rejected: ru.stats.rejected.Load(),
		}
		if ru.rejects.opened() {
			s.RejectsPath = rejectsPath
		}
		return s
	}

	var rd reader
	switch format {
	case JSONL:
		rd = newJSONLReader(r, l.cfg.MaxLineBytes)
	case CSV:
		cr, err := newCSVReader(r)
		if err != nil {
			return summary(), fmt.Errorf("load: %s: %w", name, err)
		}
		rd = cr
	default:
		return summary(), fmt.Errorf("load: unknown format %q", format)
	}

	stopProgress := l.progress(name, counter, size, ru)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	chunks := make(chan []record, l.cfg.Concurrency)
	var wg sync.WaitGroup
	for range l.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range chunks {
				if err := ru.process(ctx, chunk); err != nil {
					cancel(err)
				}
			}
		}()
	}
	var readErr error
	chunk := make([]record, 0, l.cfg.ChunkSize)
	send := func() bool {
		if len(chunk) == 0 {
			return true
		}
		select {
		case chunks <- chunk:
			chunk = make([]record, 0, l.cfg.ChunkSize)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		rec, err := rd.next()
		if err == io.EOF {
			send()
			break
		}
		if err != nil {
			readErr = fmt.Errorf("load: %s: %w", name, err)
			send()
			break
		}
		ru.stats.records.Add(1)
		chunk = append(chunk, rec)
		if len(chunk) == l.cfg.ChunkSize && !send() {
			break
		}
	}
	close(chunks)
	wg.Wait()
	stopProgress()
	errs := []error{readErr}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		errs = append(errs, fmt.Errorf("load: %s: %w", name, cause))
	} else if cause != nil {
		errs = append(errs, fmt.Errorf("load: %s: interrupted: %w", name, cause))
	}
	errs = append(errs, ru.rejects.close())
	return summary(), errors.Join(errs...)
}

// process converts and stores one chunk. Records that fail go to the rejects file; the error
// returned is fatal to the load (ctx done, or the rejects file cannot be written).
func (ru *run) process(ctx context.Context, chunk []record) error {
	type pending struct {
		rec    *record
		ticket *ingest.Ticket
	}
	var waits []pending
	for i := range chunk {
		rec := &chunk[i]
		dec, err := decode(*rec)
		var res *ingest.Result
		if err == nil {
			if dec.env != nil {
				res, err = ru.l.d.Dispatch(*dec.env)
			} else {
				res, err = ru.l.d.DispatchValue(*dec.value)
			}
		}
		if res != nil && res.Writes() > 0 {
			t, werr := ru.l.w.Enqueue(ctx, res.Static, res.Actions)
			if werr != nil {
				return werr
			}
			waits = append(waits, pending{rec, t})
		}
		switch {
		case err != nil:
			if rerr := ru.reject(rec, err); rerr != nil {
				return rerr
			}
		case res.Unrouted():
			ru.stats.unrouted.Add(1)
		default:
			ru.stats.events.Add(1)
		}
	}
	for _, p := range waits {
		if err := p.ticket.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return err
			}
			if rerr := ru.reject(p.rec, err); rerr != nil {
				return rerr
			}
			continue
		}
		ru.stats.written.Add(int64(len(p.ticket.Static()) + len(p.ticket.Actions())))
	}
	return nil
}

func (ru *run) reject(rec *record, err error) error {
	ru.stats.rejected.Add(1)
	out := rejected{File: ru.name, Line: rec.line, Reason: ingest.Reason(err), Error: err.Error()}
	switch {
	case rec.row != nil:
		out.Record, _ = json.Marshal(rec.row)
	case rec.fields != nil:
		out.Record, _ = json.Marshal(rec.fields)
	case rec.raw != nil && json.Valid(rec.raw):
		out.Record = rec.raw
	case rec.raw != nil:
		out.Record, _ = json.Marshal(string(rec.raw))
	}
	return ru.rejects.write(out)
}

// rejected is one line of the rejects file.
type rejected struct {
	File   string          `json:"file"`
	Line   int             `json:"line"`
	Reason string          `json:"reason"` // malformed, conversion or store
	Error  string          `json:"error"`
	Record json.RawMessage `json:"record,omitempty"` // the original record (CSV rows as an object)
}

// rejectsFile is created on the first rejected record, so a clean load leaves no file behind.
type rejectsFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	enc  *json.Encoder
	err  error
}

func (r *rejectsFile) write(v rejected) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	if r.f == nil {
		f, err := os.Create(r.path)
		if err != nil {
			r.err = fmt.Errorf("rejects file: %w", err)
			return r.err
		}
		r.f = f
		r.enc = json.NewEncoder(f)
		r.enc.SetEscapeHTML(false)
	}
	if err := r.enc.Encode(v); err != nil {
		r.err = fmt.Errorf("rejects file %s: %w", r.path, err)
	}
	return r.err
}

func (r *rejectsFile) opened() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f != nil
}

func (r *rejectsFile) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	if err := r.f.Close(); err != nil && r.err == nil {
		return fmt.Errorf("rejects file %s: %w", r.path, err)
	}
	return nil
}
