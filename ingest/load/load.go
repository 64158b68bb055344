package load

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
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
// ctx done while the store was down: what was stored stays stored). An s3:// path is LoadURL's.
func (l *Loader) LoadFile(ctx context.Context, path string) (Summary, error) {
	format, gz, err := l.formatOf(path)
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
	rejects := &rejectsFile{path: l.cfg.RejectsPath}
	if rejects.path == "" {
		rejects.path = path + ".rejected.jsonl"
	}
	sum, err := l.loadFrom(ctx, source{name: path, format: format, gz: gz, r: f, ra: f, size: size}, rejects)
	return sum, errors.Join(err, rejects.close())
}

// formatOf is the format of a file: Config.Format, else by its name.
func (l *Loader) formatOf(name string) (Format, bool, error) {
	format, gz, err := FormatOf(name)
	if l.cfg.Format != "" {
		format, err = l.cfg.Format, nil
		if format == Parquet {
			gz = false
		}
	}
	return format, gz, err
}

// Load loads from r (e.g. standard input); name is used in the summary and the rejects file's
// records. With an empty Config.RejectsPath, rejected records go to "<name>.rejected.jsonl".
// Parquet, which is read from its end, needs LoadFile or LoadURL.
func (l *Loader) Load(ctx context.Context, r io.Reader, name string, format Format) (Summary, error) {
	if format == "" {
		format = l.cfg.Format
	}
	if format == "" {
		return Summary{File: name}, errors.New("load: give the format of the input (jsonl, csv or parquet)")
	}
	rejects := &rejectsFile{path: l.cfg.RejectsPath}
	if rejects.path == "" {
		rejects.path = name + ".rejected.jsonl"
	}
	ra, _ := r.(io.ReaderAt)
	sum, err := l.loadFrom(ctx, source{name: name, format: format, r: r, ra: ra}, rejects)
	return sum, errors.Join(err, rejects.close())
}

// source is one input: a stream (JSONL, CSV, optionally gzipped) or, for Parquet, random access
// over size bytes.
type source struct {
	name   string
	format Format
	gz     bool
	r      io.Reader
	ra     io.ReaderAt
	size   int64
}

// loadFrom reads src, counting the bytes read for the progress bar, and loads its records.
func (l *Loader) loadFrom(ctx context.Context, src source, rejects *rejectsFile) (Summary, error) {
	counter := &countingReader{r: src.r, ra: src.ra}
	var rd reader
	switch src.format {
	case JSONL, CSV:
		var r io.Reader = counter
		if src.gz {
			zr, err := gzip.NewReader(counter)
			if err != nil {
				return Summary{File: src.name, Format: src.format}, fmt.Errorf("load: %s: %w", src.name, err)
			}
			defer zr.Close()
			r = zr
		}
		if src.format == JSONL {
			rd = newJSONLReader(r, l.cfg.MaxLineBytes)
		} else {
			cr, err := newCSVReader(r)
			if err != nil {
				return Summary{File: src.name, Format: src.format}, fmt.Errorf("load: %s: %w", src.name, err)
			}
			rd = cr
		}
	case Parquet:
		if src.ra == nil || src.size <= 0 {
			return Summary{File: src.name, Format: src.format}, fmt.Errorf("load: %s: Parquet is read from a file or S3 (its footer is at the end), not from a stream", src.name)
		}
		pr, err := newParquetReader(counter, src.size, l.d.Registry(), l.cfg.Parquet)
		if err != nil {
			return Summary{File: src.name, Format: src.format}, fmt.Errorf("load: %s: %w", src.name, err)
		}
		rd = pr
	default:
		return Summary{File: src.name}, fmt.Errorf("load: unknown format %q", src.format)
	}
	return l.load(ctx, rd, src.name, src.format, rejects, counter, src.size)
}

// countingReader counts the bytes read through it, sequentially or at offsets.
type countingReader struct {
	r  io.Reader
	ra io.ReaderAt
	n  atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.ra.ReadAt(p, off)
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

func (l *Loader) load(ctx context.Context, rd reader, name string, format Format, rejects *rejectsFile, counter *countingReader, size int64) (Summary, error) {
	start := time.Now()
	ru := &run{l: l, name: name, rejects: rejects}
	rejected := rejects.count()
	summary := func() Summary {
		s := Summary{
			File: name, Format: format, Elapsed: time.Since(start),
			Records: ru.stats.records.Load(), Events: ru.stats.events.Load(), Written: ru.stats.written.Load(),
			Unrouted: ru.stats.unrouted.Load(), Rejected: ru.stats.rejected.Load(),
		}
		if rejects.count() > rejected {
			s.RejectsPath = rejects.path
		}
		return s
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
			switch {
			case dec.env != nil:
				res, err = ru.l.d.Dispatch(*dec.env)
			case dec.value != nil:
				res, err = ru.l.d.DispatchValue(*dec.value)
			default:
				res, err = ru.dispatchRow(dec)
			}
		}
		if res != nil && res.Writes() > 0 {
			src := ingest.WithSource(ctx, "file:"+ru.name+"#"+strconv.Itoa(rec.line))
			t, werr := ru.l.w.Enqueue(src, res.Static, res.Actions)
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

// dispatchRow converts the values of a Parquet row. Like an event that feeds several features,
// the cells that convert are written and the row is rejected for those that do not (each error
// names its column); a row whose cells are all null is unrouted.
func (ru *run) dispatchRow(dec decoded) (*ingest.Result, error) {
	res := &ingest.Result{}
	var errs []error
	for i, v := range dec.values {
		r, err := ru.l.d.DispatchValue(v)
		if err != nil {
			if i < len(dec.columns) {
				err = fmt.Errorf("column %s: %w", dec.columns[i], err)
			}
			errs = append(errs, err)
		}
		if r != nil {
			res.Static = append(res.Static, r.Static...)
			res.Actions = append(res.Actions, r.Actions...)
			res.Matched += r.Matched
		}
	}
	return res, errors.Join(errs...)
}

func (ru *run) reject(rec *record, err error) error {
	ru.stats.rejected.Add(1)
	out := rejected{File: ru.name, Line: rec.line, Reason: ingest.Reason(err), Error: err.Error()}
	switch {
	case rec.row != nil:
		out.Record, _ = json.Marshal(rec.row)
	case rec.obj != nil:
		out.Record, _ = json.Marshal(rec.obj)
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
// The loads of the objects under one S3 prefix share one.
type rejectsFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	enc  *json.Encoder
	err  error
	n    int64 // records written
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
	r.n++
	return r.err
}

// count is the number of rejected records written so far.
func (r *rejectsFile) count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
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
